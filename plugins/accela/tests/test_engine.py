"""The accela plugin under the host's engine, configured as a city would (the endpoint's
agency, environment and app in its table, the password and the app secret as secrets): the
whole lifecycle, and a token that runs out in the middle of a pass."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from scf_accela.emulator import AccelaEmulator

from scf_plugins.testing import Harness

from .conftest import APP_ID, APP_SECRET, PASSWORD

CONFIG = """
[organization]
name = "Islandton"

[integrations.permits]
plugin = "accela"
environment = "test"
request_types = ["*"]
module = "ServiceRequest"
timezone = "America/Chicago"
cancel_statuses = ["Withdrawn"]

[integrations.permits.test]
url = "{url}"
auth_url = "{url}"
agency = "ISLANDTON"
accela_environment = "TEST"
app_id = "{app_id}"
user = "scf-int"
"""
GRAFFITI = "ServiceRequest-Graffiti-Graffiti-NA"
WALL = "SR_GRAF-DETAILS/Surface=Wall"


@pytest.fixture
def city(emulator: AccelaEmulator, harness: Callable[..., Harness]) -> Harness:
    """A host whose ``permits`` integration is the emulator, its request types loaded."""
    host = harness(
        CONFIG.format(url=emulator.url, app_id=APP_ID), passwords={"permits.test": PASSWORD}
    )
    host.setenv("SCF_PERMITS_TEST_APP_SECRET", APP_SECRET)
    host.cli_ok("request-types", "--refresh")
    return host


def test_a_report_is_created_with_its_answers_and_followed_to_its_close(
    city: Harness, emulator: AccelaEmulator
) -> None:
    issue_id = city.report(GRAFFITI, WALL, summary="Tag on the library wall")
    assert city.sync().acknowledged == 1
    rid = city.show(issue_id)["remote_id"]
    record = emulator.state.records[rid]
    assert record["shortNotes"] == city.show(issue_id)["link"]["marker"]
    assert record["customForms"] == [{"id": "SR_GRAF-DETAILS", "Surface": "Wall"}]
    city.cli_ok("comment", str(issue_id), "It is bigger now", "--author", "Resident")
    emulator.state.staff("comment", rid, text="To SCF: the crew comes Tuesday")
    emulator.state.staff("comment", rid, text="bring the pressure washer")
    report = city.sync()
    assert (report.comments_out, report.comments_in, report.errors) == (1, 1, 0)
    texts = [c["text"] for c in city.show(issue_id)["comments"]]
    assert "the crew comes Tuesday" in texts and not any("washer" in t for t in texts)
    assert emulator.state.comments[rid][-1]["text"] == "[311] Resident: It is bigger now"
    emulator.state.staff("close", rid, status="Complete")
    assert city.sync().closed == 1
    assert city.show(issue_id)["status"] == "closed"


def test_a_token_that_runs_out_mid_pass_costs_one_renewal_and_no_issue(
    city: Harness, emulator: AccelaEmulator
) -> None:
    issues = [city.report(GRAFFITI, WALL) for _ in range(3)]
    # Every token stops working after the first create, just before its answers are
    # written: that call is refused 401 (token_expired), with more of the pass to come.
    emulator.state.inject("expire_token", match="put /v4/records/")
    report = city.sync()
    assert (report.acknowledged, report.errors) == (3, 0), report.problems
    assert emulator.state.logins == {"password": 1, "refresh_token": 1}
    assert all(emulator.state.with_marker(city.show(i)["link"]["marker"]) == 1 for i in issues)


def test_a_lapsed_refresh_logs_in_again_with_the_password(
    city: Harness, emulator: AccelaEmulator
) -> None:
    issue_id = city.report(GRAFFITI, WALL)
    assert city.sync().acknowledged == 1
    emulator.state.expire_tokens(refresh=True)  # eight hours later
    emulator.state.staff("close", city.show(issue_id)["remote_id"])
    city.later(hours=8)
    report = city.sync()
    assert (report.closed, report.errors) == (1, 0), report.problems
    assert emulator.state.logins["password"] == 2


REASON = "The resident painted over it"


def test_withdraw_remote_voids_the_record_once_with_the_reason(
    emulator: AccelaEmulator, harness: Callable[..., Harness]
) -> None:
    config = CONFIG.format(url=emulator.url, app_id=APP_ID).replace(
        'module = "ServiceRequest"', 'module = "ServiceRequest"\nwithdraw_status = "Withdrawn"'
    )
    city = harness(config, passwords={"permits.test": PASSWORD})
    city.setenv("SCF_PERMITS_TEST_APP_SECRET", APP_SECRET)
    city.cli_ok("request-types", "--refresh")
    issue_id = city.report(GRAFFITI, WALL)
    assert city.sync().acknowledged == 1
    rid = city.show(issue_id)["remote_id"]
    # The first answer is lost: the record is voided, the CLI cannot know it.
    emulator.state.inject("drop_after_commit", match=f"put /v4/records/{rid.lower()} ")
    lost = city.cli("issues", "withdraw", str(issue_id), "--remote", "--reason", REASON)
    assert lost.exit_code == 1 and "did not cancel" in lost.output, lost.output
    assert city.show(issue_id)["status"] == "acknowledged"  # nothing changed here
    done = city.cli("issues", "withdraw", str(issue_id), "--remote", "--reason", REASON)
    assert done.exit_code == 0, done.output
    assert f"request {rid} cancelled in permits (it was cancelled already" in done.output
    record = emulator.state.records[rid]
    assert record["status"]["value"] == "Withdrawn" and record["statusType"] == ["VOID"]
    assert emulator.state.cancellations[rid] == [REASON]  # voided once
    notes = [c["text"] for c in emulator.state.comments[rid]]
    assert notes.count(f"Withdrawn: {REASON}") == 1
    assert city.show(issue_id)["status"] == "closed"


def test_withdraw_remote_says_plainly_where_the_agency_lets_it_cancel_nothing(
    city: Harness, emulator: AccelaEmulator
) -> None:
    issue_id = city.report(GRAFFITI, WALL)
    assert city.sync().acknowledged == 1
    rid = city.show(issue_id)["remote_id"]
    refused = city.cli("issues", "withdraw", str(issue_id), "--remote", "--reason", REASON)
    assert refused.exit_code == 1
    assert "the accela plugin cannot cancel a request from here" in refused.output
    assert emulator.state.records[rid]["status"]["value"] == "Submitted"
    assert city.show(issue_id)["status"] == "acknowledged"


def test_a_field_whose_text_names_a_private_keyword_is_a_private_question(city: Harness) -> None:
    listed = json.loads(city.cli_ok("request-types", "--json").stdout)
    [graffiti] = [t for t in listed if t["code"] == GRAFFITI]
    private = {q["id"]: q["private"] for q in graffiti["questions"]}
    assert private["SR_GRAF-CONTACT/Email for follow-up"] and not private["SR_GRAF-DETAILS/Surface"]


def test_doctor_and_config_check_take_the_city_config(city: Harness) -> None:
    checked = city.cli("config", "check")
    assert checked.exit_code == 0, checked.output
    assert "app_secret" not in checked.output
