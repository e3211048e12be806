"""Address validation in the pass: the verified address reaches Cityworks; on_reject both ways."""

from __future__ import annotations

import pytest

GEOCODER = """
[geocoders.county_gis]
plugin = "arcgis"
url = "{url}"
min_score = 85
on_reject = "{on_reject}"
"""


@pytest.fixture
def gis():  # type: ignore[no-untyped-def]
    from scf_arcgis.fake import FakeGeocodeServer

    with FakeGeocodeServer() as server:
        yield server


def make(world, gis, on_reject: str = "submit"):  # type: ignore[no-untyped-def]
    return world(
        extra='address_validation = "county_gis"',
        tail=GEOCODER.format(url=gis.url, on_reject=on_reject),
    )


def test_the_created_request_carries_the_verified_address(world, gis) -> None:  # type: ignore[no-untyped-def]
    w = make(world, gis)
    issue_id = w.report(address="165 church st")
    assert w.sync().acknowledged == 1
    shown = w.show(issue_id)
    check = shown["address_check"]
    assert check["accepted"] and check["score"] == 100
    assert check["address"] == "165 CHURCH ST, NEW HAVEN, CT, 06510"
    assert check["candidate_type"] == "PointAddress"
    remote = w.emulator.state.requests[int(shown["remote_id"])]
    assert remote["ProbAddress"] == "165 CHURCH ST, NEW HAVEN, CT, 06510"
    text = w.cli("issues", "show", str(issue_id)).output
    assert "address check accepted: 165 CHURCH ST, NEW HAVEN, CT, 06510 score 100.0" in text


def test_on_reject_submit_sends_the_reported_address_and_notes_the_check(world, gis) -> None:  # type: ignore[no-untyped-def]
    w = make(world, gis)
    issue_id = w.report(address="Elm St")
    assert w.sync().acknowledged == 1
    shown = w.show(issue_id)
    assert not shown["address_check"]["accepted"]
    assert "StreetName" in shown["address_check"]["reason"]
    assert w.emulator.state.requests[int(shown["remote_id"])]["ProbAddress"] == "Elm St"
    assert "address check NOT accepted" in w.cli("issues", "show", str(issue_id)).output


def test_on_reject_hold_waits_for_staff(world, gis) -> None:  # type: ignore[no-untyped-def]
    w = make(world, gis, on_reject="hold")
    issue_id = w.report(address="Elm St")
    report = w.sync()
    assert (report.acknowledged, report.held) == (0, 1)
    shown = w.show(issue_id)
    assert shown["status"] == "open" and shown["sync"]["held"]
    assert "could not be verified" in shown["sync"]["last_error"]
    assert "HELD" in w.cli("issues", "show", str(issue_id)).output
    w.later(days=30)
    assert w.sync().acknowledged == 0 and not w.emulator.state.requests
    assert w.cli("issues", "release", str(issue_id), "--address", "1 Broadway").exit_code == 0
    assert w.sync().acknowledged == 1
    shown = w.show(issue_id)
    remote = w.emulator.state.requests[int(shown["remote_id"])]
    assert remote["ProbAddress"] == "1 BROADWAY, NEW HAVEN, CT, 06511"
    assert w.cli("issues", "release", str(issue_id)).exit_code == 1


def test_an_unreachable_geocoder_keeps_the_issue_for_later(world, gis) -> None:  # type: ignore[no-untyped-def]
    w = make(world, gis)
    issue_id = w.report(address="165 Church St")
    gis.locator.fail_next.append({"error": {"code": 500, "message": "Locator busy", "details": []}})
    report = w.sync()
    assert report.errors == 1 and w.show(issue_id)["sync"]["last_error_kind"] == "transient"
    assert not w.emulator.state.requests
    w.later(minutes=1)
    assert w.sync().acknowledged == 1
