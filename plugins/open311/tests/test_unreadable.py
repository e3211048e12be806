"""An unreadable answer is not an outage: deeply nested XML or JSON never raises
RecursionError. A services answer that cannot be read whole is a definite error naming the
service; a poll reads every request and update it can, flags the damaged ones on their
issues, and applies the rest. At the wire with requests-mock, then end to end: the engine
against the emulator's ``deep`` fault."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scf_open311 import plugin
from scf_open311.emulator import Open311Emulator

from scf_plugins import (
    ActivityRule,
    DefiniteError,
    Integration,
    RemoteState,
    RemoteUpdate,
    Tracked,
)
from scf_plugins.testing import Harness, make_integration

from .conftest import KEY

BASE = "http://127.0.0.1:9/open311/v2"
DEEP_XML = b"<x>" * 100_000 + b"</x>" * 100_000
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


def integration(fmt: str) -> Integration:
    return make_integration(
        "open311", BASE, options={"format": fmt, "updates": "mysociety"},
        closed_statuses=("closed",), cancel_statuses=(),
        activity=(ActivityRule("agency_responsible", "Assigned to {value}."),),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _low_recursion_limit() -> Iterator[None]:
    """Nothing reading an answer may recurse on its depth: a low limit shows it at once."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(300, len(_stack()) + 200))
    yield
    sys.setrecursionlimit(limit)


def _stack() -> list[Any]:
    frames, frame = [], sys._getframe()
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back  # type: ignore[assignment]
    return frames


def xml_request(rid: str, status: str = "open", extra: bytes = b"") -> bytes:
    return (
        b"<request>" + extra + b"<service_request_id>" + rid.encode() + b"</service_request_id>"
        b"<status>" + status.encode() + b"</status><description>hole [scf-" + rid.encode()
        + b"]</description></request>"
    )  # fmt: skip


def json_request(rid: str, status: str = "open", extra: bytes = b"") -> bytes:
    return (
        b'{"service_request_id": "' + rid.encode() + b'", ' + extra + b'"status": "'
        + status.encode() + b'", "description": "hole [scf-' + rid.encode() + b']"}'
    )  # fmt: skip


def xml_update(uid: str, rid: str, text: str, extra: bytes = b"") -> bytes:
    return (
        b"<request_update>" + extra + b"<update_id>" + uid.encode() + b"</update_id>"
        b"<service_request_id>" + rid.encode() + b"</service_request_id><description>"
        + text.encode() + b"</description></request_update>"
    )  # fmt: skip


def poll(requests_mock: Any, fmt: str, requests: bytes, updates: bytes) -> dict[int, RemoteUpdate]:
    requests_mock.get(f"{BASE}/requests.{fmt}", content=requests)
    requests_mock.get(f"{BASE}/servicerequestupdates.{fmt}", content=updates)
    tracked = [Tracked(n, str(n), f"scf-{n}") for n in (1, 2, 3, 4)]
    return {u.issue_id: u for u in plugin.poll(integration=integration(fmt), tracked=tracked)}


def test_deep_xml_in_a_service_is_a_definite_error_naming_it(requests_mock: Any) -> None:
    services = (
        b"<services><service><service_code>POT</service_code>" + DEEP_XML + b"</service>"
        b"<service><service_code>GRAF</service_code></service></services>"
    )
    requests_mock.get(f"{BASE}/services.xml", content=services)
    with pytest.raises(DefiniteError) as info:
        plugin.list_request_types(integration=integration("xml"))
    text = str(info.value)
    assert "answered GET services with something unreadable" in text
    assert "nested too deeply" in text and "in the record of service_code POT" in text


def test_deep_json_in_a_services_answer_is_a_definite_error(requests_mock: Any) -> None:
    services = b'[{"service_code": "POT", "keywords": ' + DEEP_JSON + b"}]"
    requests_mock.get(f"{BASE}/services.json", content=services)
    with pytest.raises(DefiniteError, match="nested too deeply"):
        plugin.list_request_types(integration=integration("json"))


def test_a_deep_service_definition_is_a_definite_error(requests_mock: Any) -> None:
    requests_mock.get(
        f"{BASE}/services.xml",
        content=b"<services><service><service_code>POT</service_code><metadata>true"
        b"</metadata></service></services>",
    )
    requests_mock.get(
        f"{BASE}/services/POT.xml",
        content=b"<service_definition><service_code>POT</service_code><attributes><attribute>"
        + DEEP_XML
        + b"</attribute></attributes></service_definition>",
    )
    with pytest.raises(DefiniteError, match=r"GET services/POT .*nested too deeply"):
        plugin.list_request_types(integration=integration("xml"))


@pytest.mark.parametrize(
    ("fmt", "requests", "deep"),
    [
        ("xml", b"<service_requests>%s</service_requests>", DEEP_XML),
        ("json", b"[%s]", DEEP_JSON),
    ],
)
def test_a_deep_request_record_is_unreadable_on_its_issue_and_the_rest_applies(
    requests_mock: Any, fmt: str, requests: bytes, deep: bytes
) -> None:
    if fmt == "xml":
        records = [xml_request("1"), xml_request("2", extra=deep), xml_request("3", "closed")]
        join = b""
    else:
        records = [
            json_request("1"),
            json_request("2", extra=b'"nested": ' + deep + b", "),
            json_request("3", "closed"),
        ]
        join = b", "
    updates = poll(
        requests_mock, fmt, requests % join.join(records), b"[]" if fmt == "json" else b"<x/>"
    )
    assert updates[2].state is RemoteState.UNREADABLE
    assert "the server sent request 2 damaged: nested too deeply" in str(updates[2].error)
    assert updates[1].state is RemoteState.OPEN and updates[1].marker == "scf-1"
    assert updates[3].state is RemoteState.CLOSED
    assert updates[4].state is RemoteState.MISSING  # the answer was whole: 4 is not there


def test_a_lone_surrogate_and_a_stray_byte_in_json_are_read_as_replacement_characters(
    requests_mock: Any,
) -> None:
    records = [
        json_request("1", "closed", extra=b'"status_notes": "fixed \\ud800", '),
        json_request("2", extra=b'"agency_responsible": "caf\xe9", '),
    ]
    updates = b'[{"update_id": "u1", "service_request_id": "2", "description": "To SCF: \\udc00"}]'
    found = poll(requests_mock, "json", b"[%s]" % b", ".join(records), updates)
    assert found[1].state is RemoteState.CLOSED and found[1].reason == "fixed \ufffd"
    assert found[2].fields == (("agency_responsible", "caf\ufffd"),)
    assert [c.text for c in found[2].comments] == ["\ufffd"]


def test_a_requests_answer_cut_off_keeps_the_records_before_the_cut(requests_mock: Any) -> None:
    whole = b"<service_requests>" + xml_request("1", "closed") + xml_request("2")
    updates = poll(requests_mock, "xml", whole[:-30], b"<service_request_updates/>")
    assert updates[1].state is RemoteState.CLOSED
    assert updates[2].state is RemoteState.UNREADABLE
    assert "not XML" in str(updates[2].error)
    assert updates[3].state is RemoteState.UNREADABLE  # not taken for MISSING
    assert "may be in the part of the server's answer" in str(updates[3].error)


def test_a_deep_update_leaves_its_request_applied_and_flagged_and_the_others_arrive(
    requests_mock: Any,
) -> None:
    requests = b"<service_requests>%s</service_requests>" % b"".join(
        [xml_request("1", "closed"), xml_request("2"), xml_request("3")]
    )
    updates = b"<service_request_updates>%s</service_request_updates>" % b"".join(
        [
            xml_update("u1", "1", "To SCF: first"),
            xml_update("u2", "1", "To SCF: lost", extra=DEEP_XML),
            xml_update("u3", "3", "To SCF: on our way"),
        ]
    )
    found = poll(requests_mock, "xml", requests, updates)
    assert found[1].state is RemoteState.CLOSED
    assert [c.text for c in found[1].comments] == ["first"]
    assert "some of its comments (updates) could not be read" in str(found[1].error)
    assert [c.text for c in found[3].comments] == ["on our way"] and found[3].error is None
    assert found[2].error is None and not found[2].comments


def test_a_damaged_update_naming_no_request_is_logged_for_the_integration(
    requests_mock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    requests = b"<service_requests>%s</service_requests>" % xml_request("1")
    updates = b"<service_request_updates><request_update>%s</request_update>" % DEEP_XML
    found = poll(requests_mock, "xml", requests, updates + b"</service_request_updates>")
    assert found[1].state is RemoteState.OPEN and found[1].error is None
    assert "part of the comments (updates) answer could not be read" in caplog.text


# -- end to end ----------------------------------------------------------------------------------

CONFIG = """
[organization]
name = "Testville"

[integrations.county]
plugin = "open311"
environment = "test"
updates = "mysociety"
format = "{fmt}"
closed_statuses = ["closed"]

[integrations.county.test]
url = "{url}"
user = "scf"
"""
WHERE = {"summary": "Paint on the wall", "lat": "41.3", "lng": "-72.9"}


@pytest.fixture(params=["xml", "json"])
def county(
    request: pytest.FixtureRequest, emulator: Open311Emulator, harness: Callable[..., Harness]
) -> Harness:
    """A host whose ``county`` integration is the emulator (in XML, then JSON)."""
    return harness(CONFIG.format(url=emulator.url, fmt=request.param),
                   passwords={"county.test": KEY})  # fmt: skip


def test_a_deep_services_answer_fails_the_refresh_with_one_clear_line(
    county: Harness, emulator: Open311Emulator
) -> None:
    emulator.state.inject("deep", match="services")
    result = county.cli("request-types", "--refresh")
    assert result.exit_code != 0
    assert "nested too deeply" in result.output and "RecursionError" not in result.output
    county.cli_ok("request-types", "--refresh")  # readable again


def test_deep_records_cost_only_their_own_issues_end_to_end(
    county: Harness, emulator: Open311Emulator
) -> None:
    county.cli_ok("request-types", "--refresh")
    first, second, third = (county.report("GRAF", **WHERE) for _ in range(3))
    assert county.sync().acknowledged == 3
    rid = {i: str(county.remote_id(i)) for i in (first, second, third)}
    emulator.state.staff("comment", rid[first], text="To SCF: first note")  # the first update
    emulator.state.staff("comment", rid[third], text="To SCF: third note")
    emulator.state.staff("close", rid[second])
    emulator.state.inject("deep", match="servicerequestupdates")
    report = county.sync()
    assert not emulator.state.faults, "the fault was never hit"
    assert report.closed == 1 and report.errors == 1, report.problems
    assert county.show(second)["status"] == "closed"
    assert "third note" in [c["text"] for c in county.show(third)["comments"]]
    assert "could not be read" in county.show(first)["sync"]["last_error"]
    county.later(minutes=5)
    county.sync()
    assert "first note" in [c["text"] for c in county.show(first)["comments"]]
    assert county.show(first)["sync"]["last_error"] is None

    # The fault damages the first record the server sends: of the requests still polled, the
    # one it made first (the creates went concurrently, so either may be).
    by_rid = {remote: issue_id for issue_id, remote in rid.items()}
    polled = [by_rid[r] for r in emulator.state.requests if by_rid.get(r) in (first, third)]
    damaged, other = polled
    emulator.state.staff("close", rid[other])
    emulator.state.inject("deep", match="requests")
    county.later(minutes=5)
    report = county.sync()
    assert not emulator.state.faults, "the fault was never hit"
    assert report.closed == 1 and report.errors == 1, report.problems
    assert county.show(other)["status"] == "closed"
    assert "nested too deeply" in county.show(damaged)["sync"]["last_error"]
