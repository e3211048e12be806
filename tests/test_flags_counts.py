"""Attention flags end with their cause, and ``scf status`` counts what ``scf issues list``
lists (one definition of stuck); then what staff read: times in the organization's zone, a
comment made here by Staff, and why an issue went with an address its check did not accept."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from scf_plugins.store.tables import issues

MAPPED = 'closed_statuses = ["CLOSED", "COMPLETE"]'


def listed(w: Any, status: str) -> list[dict[str, Any]]:
    """``scf issues list --status STATUS --json``."""
    rows: list[dict[str, Any]] = json.loads(
        w.cli_ok("issues", "list", "--status", status, "--json").stdout
    )
    return rows


def status_of(w: Any) -> dict[str, Any]:
    """``scf status --json`` (whatever its exit code)."""
    data: dict[str, Any] = json.loads(w.cli("status", "--json").stdout)
    return data


def set_row(w: Any, issue_id: int, **values: Any) -> None:
    """Put an issue in a state that takes many passes to reach (or an older release left)."""
    with w.store().transaction() as conn:
        conn.execute(update(issues).where(issues.c.id == issue_id).values(**values))


# -- flags end with their cause -----------------------------------------------------------------


def test_an_unmapped_flag_ends_when_the_status_is_mapped_and_the_issue_closes(world: Any) -> None:
    w = world()
    issue_id = w.report()
    w.sync()
    w.emulator.state.staff("close", w.remote_id(issue_id), status="INPROG")
    w.sync()
    assert w.show(issue_id)["sync"]["attention_kind"] == "unmapped"
    assert [r["id"] for r in listed(w, "stuck")] == [issue_id]
    assert status_of(w)["integrations"][0]["stuck"] == 1

    # The city maps the status; the next pass (a new engine reads the config) closes it.
    w.path.write_text(w.path.read_text().replace(MAPPED, MAPPED[:-1] + ', "INPROG"]'))
    assert w.sync().closed == 1
    shown = w.show(issue_id)
    assert shown["status"] == "closed" and shown["sync"]["attention"] is None
    assert "ATTENTION" not in w.cli_ok("issues", "show", str(issue_id)).output
    assert listed(w, "stuck") == listed(w, "attention") == []
    data = status_of(w)
    assert data["stuck"] == data["integrations"][0]["stuck"] == 0


def test_a_gone_request_is_flagged_missing_and_the_flag_ends_when_it_is_back(world: Any) -> None:
    w = world()
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    state = w.emulator.state
    kept = state.requests.pop(rid)
    report = w.sync()
    assert report.errors == 1 and "no longer exists" in report.problems[0]
    shown = w.show(issue_id)
    assert shown["sync"]["attention_kind"] == "missing"
    assert [r["id"] for r in listed(w, "attention")] == [issue_id]
    assert w.sync().errors == 0  # said once
    state.requests[rid] = kept
    w.sync()
    assert w.show(issue_id)["sync"]["attention"] is None and listed(w, "attention") == []


def test_withdrawing_ends_a_flag(world: Any) -> None:
    w = world()
    issue_id = w.report()
    w.sync()
    w.emulator.state.requests[w.remote_id(issue_id)]["OtherSystemId"] = "scf-somebody-else"
    w.sync()
    assert w.show(issue_id)["sync"]["attention_kind"] == "mismatch"
    w.cli_ok("issues", "withdraw", str(issue_id), "--reason", "a mix-up")
    assert w.show(issue_id)["sync"]["attention"] is None
    assert listed(w, "stuck") == []


# -- one definition of stuck --------------------------------------------------------------------


@pytest.fixture
def every_kind(world: Any) -> Iterator[tuple[Any, dict[str, int]]]:
    """A host with an issue of each kind of stuck, and issues that look stuck but are not."""
    w = world(first_request_id=3000)
    made = {name: w.report(summary=name) for name in (
        "mismatch", "missing", "unmapped", "canceled", "conflict", "failing", "closed_flagged",
        "held_failing", "nearly_failing", "closed_failing", "fine")}  # fmt: skip
    assert w.sync().acknowledged == len(made)
    state = w.emulator.state
    state.requests[w.remote_id(made["mismatch"])]["OtherSystemId"] = "scf-another-store-9-1"
    state.requests.pop(w.remote_id(made["missing"]))
    state.staff("close", w.remote_id(made["unmapped"]), status="INPROG")
    state.staff("cancel", w.remote_id(made["canceled"]))
    state.staff("close", w.remote_id(made["closed_flagged"]))
    state.staff("close", w.remote_id(made["closed_failing"]))
    w.sync()
    # What takes many passes, or what an older release left behind.
    set_row(
        w,
        made["conflict"],
        status="open",
        remote_id=None,
        link_endpoint=None,
        attention="request 3000 is linked to another issue",
        attention_kind="conflict",
    )
    set_row(
        w,
        made["failing"],
        status="open",
        remote_id=None,
        link_endpoint=None,
        attempts=5,
        last_error="503 from Cityworks",
        last_error_kind="transient",
    )
    set_row(
        w,
        made["held_failing"],
        status="open",
        remote_id=None,
        link_endpoint=None,
        attempts=7,
        held=True,
        last_error="address not verified",
        last_error_kind="held",
    )
    set_row(
        w,
        made["nearly_failing"],
        status="open",
        remote_id=None,
        link_endpoint=None,
        attempts=4,
        last_error="503 from Cityworks",
        last_error_kind="transient",
    )
    set_row(w, made["closed_flagged"], attention="closed as INPROG", attention_kind="unmapped")
    set_row(w, made["closed_failing"], attempts=9, last_error="old")  # fmt: skip
    yield w, made


def test_status_counts_exactly_what_issues_list_lists_as_stuck(
    every_kind: tuple[Any, dict[str, int]],
) -> None:
    w, made = every_kind
    stuck = listed(w, "stuck")
    expected = {"mismatch", "missing", "unmapped", "canceled", "conflict", "failing"}
    assert sorted(r["id"] for r in stuck) == sorted(made[name] for name in expected)
    data = status_of(w)
    assert data["stuck"] == len(stuck)
    [cityworks] = data["integrations"]
    assert cityworks["stuck"] == sum(r["integration"] == "cityworks" for r in stuck)
    assert cityworks["stuck"] == len(stuck) - 1  # the cancelled one is unrouted
    text = w.cli("status").output
    assert f"stuck         {cityworks['stuck']} " in text
    assert f"stuck: {len(stuck)} in all, 1 of them unrouted" in text
    attention = {r["id"] for r in listed(w, "attention")}
    assert attention == {made[n] for n in expected - {"failing"}}
    failing = {r["id"] for r in listed(w, "failing")}
    assert failing == {made[n] for n in ("missing", "failing", "nearly_failing")}
    assert cityworks["failing"] == len(failing)  # the same definition


# -- what staff read ----------------------------------------------------------------------------


def test_status_prints_times_in_the_organizations_zone_and_json_stays_utc(world: Any) -> None:
    w = world()
    w.path.write_text(
        w.path.read_text().replace(
            'bot_name = "Testville 311"',
            'bot_name = "Testville 311"\ntimezone = "America/New_York"',
        )
    )
    w.report()
    w.sync()
    text = w.cli("status").output
    assert re.search(r"last pass     \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T \(", text), text
    assert re.search(r"last reached  \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", text), text
    assert "UTC" not in text and "+00:00" not in text
    [cityworks] = status_of(w)["integrations"]
    assert cityworks["last_pass_at"].endswith("Z")


def test_a_comment_without_an_author_is_by_staff(world: Any) -> None:
    w = world()
    issue_id = w.report()
    w.cli_ok("comment", str(issue_id), "We are on it")
    w.cli_ok("comment", str(issue_id), "Seen it too", "--author", "Pat Resident")
    authors = [c["author"] for c in w.show(issue_id)["comments"] if c["kind"] == "comment"]
    assert authors == ["Staff", "Pat Resident"]
    w.sync()
    rid = w.remote_id(issue_id)
    pushed = [c["Comments"] for c in w.emulator.state.comments[rid]]
    assert any("Staff: We are on it" in text for text in pushed)


@pytest.fixture
def gis() -> Iterator[Any]:
    """A fake ArcGIS GeocodeServer on loopback."""
    from scf_arcgis.fake import FakeGeocodeServer

    with FakeGeocodeServer() as server:
        yield server


GEOCODER = """
[geocoders.county_gis]
plugin = "arcgis"
url = "{url}"
min_score = 85
on_reject = "{on_reject}"
"""


@pytest.mark.parametrize(
    ("on_reject", "why"),
    [
        ("submit", '[geocoders.county_gis] on_reject = "submit" sends such a report on'),
        ("hold", "staff released it (`scf issues release`)"),
    ],
)
def test_an_issue_sent_with_an_address_its_check_refused_says_why(
    world: Any, gis: Any, on_reject: str, why: str
) -> None:
    w = world(
        extra='address_validation = "county_gis"',
        tail=GEOCODER.format(url=gis.url, on_reject=on_reject),
    )
    issue_id = w.report(address="Elm St")
    verified = w.report(address="165 church st")
    if on_reject == "hold":
        w.sync()
        w.cli_ok("issues", "release", str(issue_id))
    w.sync()
    shown = w.show(issue_id)
    assert shown["status"] == "acknowledged" and not shown["address_check"]["accepted"]
    assert shown["sent_unverified"].endswith(why)
    text = w.cli_ok("issues", "show", str(issue_id)).output
    assert "  sent anyway   sent as reported although the address check did not accept it" in text
    assert w.show(verified)["sent_unverified"] is None
    assert "sent anyway" not in w.cli_ok("issues", "show", str(verified)).output
