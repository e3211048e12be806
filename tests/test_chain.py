"""Two hosts chained over Open311: host A's ``open311`` integration reports to host B's
``scf serve`` door; host B sends the issue on to its Cityworks emulator; city staff close it
there, and host A's issue closes with the closing message that came down the chain."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from scf_plugins.testing import Harness
from scf_plugins.timeutil import utcnow

HOST_A = """
[organization]
name = "Testville County"

[integrations.county]
plugin = "open311"
environment = "test"
request_types = ["*"]
closed_statuses = ["closed"]
{extra}

[integrations.county.test]
url = "{url}"
user = "county-a"

[integrations.county.messages]
closed = "Request {{remote_id}} is closed: {{reason}}"
"""


@pytest.fixture
def chain(
    world: Callable[..., Harness], harness: Callable[..., Harness]
) -> Callable[..., tuple[Harness, Harness]]:
    """Host B (``world``, its door serving) and host A, whose ``county`` integration is B's
    door; A is on its own SQLite store and the wall clock."""

    def make(extra: str = "") -> tuple[Harness, Harness]:
        b = world()
        assert b.cli("request-types", "--refresh").exit_code == 0
        door = b.serve("county-a", refresh=False)
        a = harness(
            HOST_A.format(url=f"{door.url}/open311/v2", extra=extra),
            clock=utcnow,
            passwords={"county.test": door.key},
        )
        return b, a

    return make


def test_a_report_travels_down_the_chain_and_its_closing_comes_back(chain) -> None:  # type: ignore[no-untyped-def]
    b, a = chain()
    assert a.cli("request-types", "--refresh").exit_code == 0
    types = {t["code"]: t for t in json.loads(a.cli("request-types", "--json").stdout)}
    assert [q["id"] for q in types["POTHOLE"]["questions"]] == ["501", "502", "503"]
    assert types["POTHOLE"]["questions"][2]["private"]  # an email question, private here too
    result = a.cli("report", "--type", "POTHOLE", "--summary", "Deep pothole", "--lat", "41.3083",
                   "--lng", "-72.9279", "--description", "By the school gate",
                   "--answer", "501=Yes", "--answer", "502=Smaller than a dinner plate",
                   "--answer", "503=r@example.org", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    issue_a = json.loads(result.stdout)["id"]

    # A -> B's door: A's issue is acknowledged with B's issue id.
    assert a.sync().acknowledged == 1
    shown_a = a.show(issue_a)
    issue_b = int(shown_a["remote_id"])
    record_b = b.show(issue_b)
    assert record_b["reported_via"] == "county-a" and record_b["summary"] == "Deep pothole"
    assert [x["answer"] for x in record_b["answers"]] == [
        "Yes", "Smaller than a dinner plate", "r@example.org"
    ]  # fmt: skip
    assert record_b["description"].endswith(f"[{shown_a['link']['marker']}]")

    # B -> Cityworks, and staff close it there.
    assert b.sync().acknowledged == 1
    rid = b.remote_id(issue_b)
    b.emulator.state.staff("close", rid, status="CLOSED")
    assert b.sync().closed == 1
    closing_b = [c["text"] for c in b.show(issue_b)["comments"] if c["kind"] == "system"][-1]

    # A polls B's door: closed, with B's closing message as the reason.
    assert a.sync().closed == 1
    shown_a = a.show(issue_a)
    assert shown_a["status"] == "closed"
    assert shown_a["comments"][-1]["text"] == f"Request {issue_b} is closed: {closing_b}"


def test_a_comment_made_upstream_reaches_the_crews_once(chain) -> None:  # type: ignore[no-untyped-def]
    """A's comment goes to B's door as a mySociety update, and B sends it on to Cityworks."""
    b, a = chain(extra='updates = "mysociety"')
    assert a.cli("request-types", "--refresh").exit_code == 0
    result = a.cli("report", "--type", "POTHOLE", "--summary", "Deep pothole", "--lat", "41.3083",
                   "--lng", "-72.9279", "--answer", "501=Yes",
                   "--answer", "502=Smaller than a dinner plate", "--answer", "503=r@example.org",
                   "--json")  # fmt: skip
    issue_a = json.loads(result.stdout)["id"]
    assert a.sync().acknowledged == 1
    issue_b = int(a.show(issue_a)["remote_id"])
    assert a.cli("comment", str(issue_a), "Is anyone coming?", "--author", "Ann Lee").exit_code == 0
    assert a.sync().comments_out == 1
    assert a.sync().comments_out == 0  # once
    [comment_b] = [c for c in b.show(issue_b)["comments"] if c["kind"] == "comment"]
    assert comment_b["author"] == "Ann Lee" and "Is anyone coming?" in comment_b["text"]
    report = b.sync()
    assert report.acknowledged == 1 and report.comments_out == 1
    sent = [c["Comments"] for c in b.emulator.state.comments[b.remote_id(issue_b)]]
    assert sum("Is anyone coming?" in text for text in sent) == 1


def test_doctor_checks_the_door_key_and_a_revoked_key_is_refused(chain) -> None:  # type: ignore[no-untyped-def]
    from scf_plugins.server.apikeys import revoke

    b, a = chain()
    result = a.cli("doctor")
    assert result.exit_code == 0, result.output
    assert "api_key accepted" in result.output
    revoke(b.store(), "county-a", actor="test")
    result = a.cli("doctor")
    assert result.exit_code == 1
    assert "api_key is missing or not valid" in result.output
    assert "scf credentials set county --env test" in result.output
