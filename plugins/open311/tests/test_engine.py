"""The open311 plugin under the host's engine: a batch service's token is pending until the
back office makes the request, then the issue is acknowledged naming the real id; comments
go both ways through mySociety's updates; a duplicate closes as a cancellation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scf_open311.emulator import Open311Emulator

from scf_plugins.testing import Harness

from .conftest import KEY

CONFIG = """
[organization]
name = "Testville"

[integrations.county]
plugin = "open311"
environment = "test"
updates = "mysociety"
cancel_notes = ["duplicate"]

[integrations.county.test]
url = "{url}"
user = "scf"
"""
# Where each report is, and what it says.
WHERE = {"summary": "Out since Monday", "lat": "41.3", "lng": "-72.9"}


@pytest.fixture
def county(emulator: Open311Emulator, harness: Callable[..., Harness]) -> Harness:
    """A host whose ``county`` integration is the emulator, its request types loaded."""
    host = harness(CONFIG.format(url=emulator.url), passwords={"county.test": KEY})
    host.cli_ok("request-types", "--refresh")
    return host


def test_a_batch_create_is_pending_then_acknowledged_naming_the_real_id(
    county: Harness, emulator: Open311Emulator
) -> None:
    issue_id = county.report("LIGHT", "pole=P-77", **WHERE)
    first = county.sync()
    assert (first.pending, first.acknowledged) == (1, 0)
    shown = county.show(issue_id)
    token = shown["sync"]["pending"]["token"]
    assert shown["status"] == "open" and token.startswith("tok-")
    [made] = emulator.state.process_batch()
    county.later(seconds=6)
    assert county.sync().acknowledged == 1
    shown = county.show(issue_id)
    assert shown["remote_id"] == made and shown["sync"]["pending"] is None
    assert made in shown["comments"][0]["text"] and token not in shown["comments"][0]["text"]


def test_comments_both_ways_and_a_duplicate_reopens_the_issue(
    county: Harness, emulator: Open311Emulator
) -> None:
    issue_id = county.report("GRAF", **WHERE)
    county.sync()
    rid = county.show(issue_id)["remote_id"]
    county.cli_ok("comment", str(issue_id), "It is bigger now", "--author", "Resident")
    emulator.state.staff("comment", rid, text="To SCF: a crew comes Tuesday")
    emulator.state.staff("comment", rid, text="internal: bring the blaster")
    report = county.sync()
    assert (report.comments_out, report.comments_in) == (1, 1)
    sent = [u["description"] for u in emulator.state.updates if u["author"] == "client"]
    assert sent and sent[0].startswith("Resident: It is bigger now")
    texts = [c["text"] for c in county.show(issue_id)["comments"]]
    assert "a crew comes Tuesday" in texts and not any("blaster" in t for t in texts)
    emulator.state.staff("cancel", rid, notes="Duplicate of an older report")
    assert county.sync().cancelled == 1
    shown = county.show(issue_id)
    assert shown["status"] == "open" and shown["remote_id"] is None
