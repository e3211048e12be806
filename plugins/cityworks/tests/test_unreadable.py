"""An unreadable answer is not an outage: a poll answer that cannot be read whole costs only
the records it cannot read. A lone surrogate or a stray byte is read as U+FFFD; a record
nested too deeply, broken or cut off is UNREADABLE on its own issue (or, for comments, its
status is applied and the error kept on it); the rest of the batch is applied.

At the wire with requests-mock, then end to end: the engine against the emulator's
``surrogate`` and ``deep`` faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from scf_cityworks import mapping, plugin, records
from scf_cityworks.emulator import Emulator

from scf_plugins import (
    Gap,
    Integration,
    Issue,
    RemoteState,
    RemoteUpdate,
    Salvaged,
    Tracked,
    TransientError,
)
from scf_plugins.testing import Harness

from .conftest import PASSWORD

SITE = "http://127.0.0.1:9/Cityworks/Services"
AUTH = f"{SITE}/General/Authentication/Authenticate"
BYIDS = f"{SITE}/Ams/ServiceRequest/ByIds"
COMMENTS = f"{SITE}/Ams/Comment/ByActivitySids"
PROBLEMS = f"{SITE}/Ams/ServiceRequest/Problems"
DEEP = b"[" * 5000 + b"]" * 5000
RIDS = (11, 12, 13)


def envelope(value: bytes) -> bytes:
    return b'{"Status": 0, "Message": null, "ErrorMessages": [], "Value": ' + value + b"}"


def request(rid: int, status: str = "OPEN") -> bytes:
    return json.dumps(
        {"RequestId": rid, "Status": status, "OtherSystemId": f"scf-{rid}", "IsClosed": False}
    ).encode()


def comment(cid: int, text: bytes = b"To SCF: on our way") -> bytes:
    return b'{"CommentId": %d, "Comments": "%s", "AuthorName": "Hayes, D"}' % (cid, text)


def requests_answer(*records: bytes) -> bytes:
    return envelope(b"[" + b", ".join(records) + b"]")


def comments_answer(by_rid: dict[int, list[bytes]]) -> bytes:
    items = [b'"%d": [%s]' % (rid, b", ".join(found)) for rid, found in by_rid.items()]
    return envelope(b"{" + b", ".join(items) + b"}")


def poll(requests_mock: Any, cw: Integration, byids: bytes, comments: bytes) -> dict[int, Any]:
    requests_mock.post(AUTH, json={"Status": 0, "Value": {"Token": "tok-unreadable-1"}})
    requests_mock.post(BYIDS, content=byids)
    requests_mock.post(COMMENTS, content=comments)
    tracked = [Tracked(rid, str(rid), f"scf-{rid}") for rid in (*RIDS, 14)]
    return {u.issue_id: u for u in plugin.poll(integration=cw, tracked=tracked)}


def texts(update: RemoteUpdate) -> list[str]:
    return [c.text for c in update.comments]


def test_a_lone_surrogate_in_a_comment_is_read_as_a_replacement_character(
    requests_mock: Any, make_integration: Callable[..., Integration]
) -> None:
    updates = poll(
        requests_mock,
        make_integration(),
        requests_answer(request(11), request(12, "CLOSED"), request(13), request(14)),
        comments_answer(
            {
                11: [comment(1, b"To SCF: fixed \\ud800 today")],
                12: [comment(2, b"To SCF: closed it")],
                13: [comment(3, b"To SCF: caf\xe9 crew")],
            }
        ),
    )
    assert texts(updates[11]) == ["fixed \ufffd today"]
    assert texts(updates[12]) == ["closed it"] and updates[12].state is RemoteState.CLOSED
    assert texts(updates[13]) == ["caf\ufffd crew"]
    assert all(u.error is None for u in updates.values())


def test_a_comment_nested_too_deeply_is_flagged_on_its_issue_and_the_batch_is_applied(
    requests_mock: Any, make_integration: Callable[..., Integration]
) -> None:
    deep = b'{"CommentId": 5, "Comments": ' + DEEP + b', "AuthorName": "Hayes, D"}'
    updates = poll(
        requests_mock,
        make_integration(),
        requests_answer(request(11), request(12, "CLOSED"), request(13), request(14)),
        comments_answer(
            {
                11: [comment(1, b"To SCF: first"), deep, comment(6, b"To SCF: third")],
                12: [comment(2, b"To SCF: closed it")],
                13: [comment(3)],
            }
        ),
    )
    flagged = updates[11]
    assert flagged.state is RemoteState.OPEN and flagged.status == "OPEN"
    assert texts(flagged) == ["first", "third"]  # its readable comments still arrive
    assert flagged.error and "comments in Cityworks could not be read" in flagged.error
    assert "nested too deeply" in flagged.error
    assert updates[12].state is RemoteState.CLOSED and texts(updates[12]) == ["closed it"]
    assert texts(updates[13]) == ["on our way"]
    assert updates[12].error is None and updates[13].error is None
    assert updates[14].state is RemoteState.OPEN


def test_a_request_record_nested_too_deeply_is_unreadable_on_its_own_issue(
    requests_mock: Any, make_integration: Callable[..., Integration]
) -> None:
    deep = b'{"RequestId": 12, "Status": ' + DEEP + b', "OtherSystemId": "scf-12"}'
    updates = poll(
        requests_mock,
        make_integration(),
        requests_answer(request(11), deep, request(13, "CLOSED"), request(14)),
        comments_answer({11: [comment(1)], 13: [comment(3)]}),
    )
    assert updates[12].state is RemoteState.UNREADABLE
    assert "Cityworks sent request 12 damaged: nested too deeply" in str(updates[12].error)
    assert updates[13].state is RemoteState.CLOSED and texts(updates[13]) == ["on our way"]
    assert updates[11].state is RemoteState.OPEN and texts(updates[11]) == ["on our way"]
    asked = parse_qs(requests_mock.last_request.text)  # the comments of readable requests
    assert json.loads(asked["data"][0])["ActivitySids"] == [11, 13, 14]


def test_an_answer_cut_off_applies_the_records_before_the_cut(
    requests_mock: Any, make_integration: Callable[..., Integration]
) -> None:
    whole = requests_answer(request(11, "CLOSED"), request(12), request(13), request(14))
    cut = whole[: whole.index(b'"RequestId": 13') + 30]
    updates = poll(requests_mock, make_integration(), cut, comments_answer({}))
    assert updates[11].state is RemoteState.CLOSED and updates[12].state is RemoteState.OPEN
    assert updates[13].state is RemoteState.UNREADABLE
    assert str(updates[13].error).startswith("Cityworks sent request 13 damaged: not JSON")
    assert updates[14].state is RemoteState.UNREADABLE  # never seen: not taken for MISSING
    assert "may be in the part of Cityworks' answer that could not be read" in str(
        updates[14].error
    )


def test_comments_of_a_request_whose_whole_list_is_unreadable_are_flagged() -> None:
    got = Salvaged(
        {"11": None, "12": [{"CommentId": 1}, None], "13": [{"CommentId": 3}]},
        (Gap(("11",), "nested too deeply"), Gap(("12", 1), "not JSON")),
    )
    comments, problems = records.comments_of(got, [11, 12, 13, 14])
    assert comments == {"12": [{"CommentId": 1}], "13": [{"CommentId": 3}]}
    assert problems == {"11": "nested too deeply", "12": "not JSON (at 1)"}
    cut = Salvaged({"11": []}, (Gap((), "the answer ends"),))
    assert records.comments_of(cut, [11, 12]) == ({"11": []}, {"12": "the answer ends"})


def test_a_field_holding_an_object_makes_the_record_unreadable_not_a_status(
    make_integration: Callable[..., Integration],
) -> None:
    cw = make_integration()
    record = {"RequestId": 11, "Status": {"Code": "OPEN"}, "OtherSystemId": "scf-11"}
    update = mapping.update_from(Tracked(11, "11", "scf-11"), record, [], cw)
    assert update.state is RemoteState.UNREADABLE
    assert update.error == "Cityworks sent a dict as the Status of request 11, not a value"


def test_an_unreadable_answer_outside_a_poll_is_one_clear_error_never_a_recursion(
    requests_mock: Any, make_integration: Callable[..., Integration]
) -> None:
    requests_mock.post(AUTH, json={"Status": 0, "Value": {"Token": "tok-unreadable-2"}})
    requests_mock.post(PROBLEMS, content=envelope(b"[" * 200_000))
    with pytest.raises(TransientError, match=r"not JSON .*nested too deeply"):
        plugin.list_request_types(integration=make_integration())


@pytest.mark.parametrize(
    ("description", "details"),
    [
        ("", "Deep pothole"),
        ("Deep pothole", "Deep pothole"),
        (" Deep pothole ", "Deep pothole"),
        ("Near the school", "Deep pothole\nNear the school"),
    ],
)
def test_details_carry_a_description_equal_to_the_summary_once(
    make_integration: Callable[..., Integration], description: str, details: str
) -> None:
    issue = Issue(1, "POTHOLE", "Deep pothole", 41.3, -72.9, description=description)
    assert mapping.create_fields(make_integration(), issue, 1.0, 2.0)["Details"] == details


# -- end to end ----------------------------------------------------------------------------------

CONFIG = """
[organization]
name = "Testville"

[integrations.cityworks]
plugin = "cityworks"
environment = "test"
version = "15.8"
srid = 3857
closed_statuses = ["CLOSED"]
cancel_statuses = ["CANCEL"]
timezone = "America/New_York"

[integrations.cityworks.test]
url = "{url}"
user = "scf-int"
"""
ANSWERS = {"POTHOLE": ("501=Yes", "502=Smaller than a dinner plate", "503=jane@example.org")}


@pytest.fixture
def city(emulator: Emulator, harness: Callable[..., Harness]) -> tuple[Harness, list[int]]:
    """A host on the emulator with three acknowledged issues."""
    host = harness(
        CONFIG.format(url=emulator.url),
        passwords={"cityworks.test": PASSWORD},
        default_answers=ANSWERS,
    )
    host.cli_ok("request-types", "--refresh")
    issues = [host.report(summary=f"hole {n}") for n in range(3)]
    assert host.sync().acknowledged == 3
    return host, sorted(issues, key=host.remote_id)  # the first has the lowest request id


def pulled(host: Harness, issue_id: int) -> list[str]:
    return [c["text"] for c in host.show(issue_id)["comments"] if c["kind"] == "remote"]


def test_a_surrogate_in_the_comments_answer_costs_nothing_end_to_end(
    city: tuple[Harness, list[int]], emulator: Emulator
) -> None:
    host, (first, second, third) = city
    for issue_id in (first, second, third):
        emulator.state.staff("comment", host.remote_id(issue_id), text=f"To SCF: note {issue_id}")
    emulator.state.staff("close", host.remote_id(second))
    emulator.state.inject("surrogate", match="comment/byactivitysids")
    report = host.sync()
    assert not emulator.state.faults, "the fault was never hit"
    assert report.closed == 1 and report.errors == 0, report.problems
    assert pulled(host, first) == [f"note {first}\ufffd"]
    assert pulled(host, third) == [f"note {third}"]
    assert host.show(second)["status"] == "closed"


def test_a_deep_comment_is_flagged_on_its_issue_and_the_rest_arrives_end_to_end(
    city: tuple[Harness, list[int]], emulator: Emulator
) -> None:
    host, (first, second, third) = city
    for issue_id in (first, second, third):
        emulator.state.staff("comment", host.remote_id(issue_id), text=f"To SCF: note {issue_id}")
    emulator.state.staff("close", host.remote_id(second))
    emulator.state.inject("deep", match="comment/byactivitysids")
    report = host.sync()
    assert not emulator.state.faults, "the fault was never hit"
    assert report.closed == 1 and report.errors == 1, report.problems
    assert host.show(second)["status"] == "closed"
    assert pulled(host, third) == [f"note {third}"]
    assert pulled(host, first) == []
    error = host.show(first)["sync"]["last_error"]
    assert error.startswith("part of its remote record could not be read: some of its comments")
    assert "nested too deeply" in error
    assert host.sync().errors == 0  # the same comment, readable again: it arrives
    assert pulled(host, first) == [f"note {first}"]
    assert host.show(first)["sync"]["last_error"] is None


def test_a_deep_request_record_is_unreadable_on_its_issue_and_the_others_move_end_to_end(
    city: tuple[Harness, list[int]], emulator: Emulator
) -> None:
    host, (first, second, third) = city
    emulator.state.staff("close", host.remote_id(first))
    emulator.state.staff("close", host.remote_id(third))
    emulator.state.staff("comment", host.remote_id(second), text="To SCF: on our way")
    emulator.state.inject("deep", match="servicerequest/byids")
    report = host.sync()
    assert not emulator.state.faults, "the fault was never hit"
    assert report.closed == 1 and report.errors == 1, report.problems
    assert host.show(first)["status"] == "acknowledged"
    assert "nested too deeply" in host.show(first)["sync"]["last_error"]
    assert host.show(third)["status"] == "closed"
    assert pulled(host, second) == ["on our way"]
    assert host.sync().closed == 1  # readable again: it closes
