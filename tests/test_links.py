"""Links that can never cross: each situation where a link once went to the wrong request.

1. the environment switched on the same store; 2. a lost create after cancel and
recategorize; 3. a second store against the same Cityworks; 4. a restarted emulator reusing
numbers; 5. one remote id for two issues, and ids of the wrong shape; 6. a Create answer that
cannot be read. Plus statuses nobody mapped, and the advice on time zones.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from scf_plugins.store import tables
from tests.conftest import PASSWORD


def texts(w: Any, issue_id: int, kind: str | None = None) -> list[str]:
    return [c["text"] for c in w.show(issue_id)["comments"] if kind in (None, c["kind"])]


def other_people(state: Any, count: int) -> list[int]:
    """Requests of another system on an emulator, with staff comments and news."""
    ids = state.seed(count, prefix="cw-native-")
    for rid in ids:
        state.staff("comment", rid, text=f"To SCF: a stranger's note on {rid}")
        state.staff("set_field", rid, field="DispatchTo", value="Stranger Crew")
    return ids


def switch_to_production(w: Any, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCF_CITYWORKS_PRODUCTION_PASSWORD", PASSWORD)
    config = w.path.read_text().replace('environment = "test"', 'environment = "production"')
    w.path.write_text(
        config + f'\n[integrations.cityworks.production]\nurl = "{url}"\nuser = "scf-int"\n'
    )


def test_1_links_of_the_test_environment_are_never_polled_against_production(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scf_cityworks.emulator import Emulator, EmulatorState

    w = world(first_request_id=1520672)
    issues = [w.report(summary=f"hole {n}") for n in range(4)]
    assert w.sync().acknowledged == 4
    assert sorted(w.remote_id(i) for i in issues) == [1520672, 1520673, 1520674, 1520675]
    before = {i: texts(w, i) for i in issues}

    # Production has the same numbers: other people's requests, closed, cancelled, commented.
    production = EmulatorState(users={"scf-int": PASSWORD}, first_request_id=1520672)
    with Emulator(production) as prod:
        ids = other_people(production, 4)
        production.staff("close", ids[0])
        production.staff("cancel", ids[1])
        switch_to_production(w, prod.url, monkeypatch)
        report = w.sync()
        assert (report.closed, report.cancelled, report.comments_in, report.activity) == (0,) * 4
        assert production.counts["ams/servicerequest/byids"] == 0
        assert all(w.show(i)["status"] == "acknowledged" for i in issues)
        assert {i: texts(w, i) for i in issues} == before
        assert any("4 issue(s) linked to environment 'test'" in p for p in report.problems)
        # A resident's comment on such an issue is not pushed to a stranger's request either.
        w.cli("comment", str(issues[2]), "Still there")
        assert w.sync().comments_out == 0
        assert not any("Still there" in c["Comments"] for c in production.comments[ids[2]])

        check = w.cli("config", "check")
        assert check.exit_code == 0, check.output
        assert "4 issue(s) linked to environment 'test'" in check.output
        assert "scf links withdraw cityworks --environment test" in check.output
        [finding] = json.loads(w.cli("doctor", "--json").stdout)
        assert any("linked to environment 'test'" in note for note in finding["notes"])
        listing = json.loads(w.cli("links", "--json").stdout)
        assert [(r["environment"], r["count"], r["live"]) for r in listing] == [("test", 4, False)]

        # The admin decides: two go to production anew, the rest are closed here.
        result = w.cli("issues", "resubmit", str(issues[0]), "--reason", "we went live")
        assert result.exit_code == 0, result.output
        result = w.cli("links", "withdraw", "cityworks", "--environment", "test")
        assert result.exit_code == 0 and "withdrew 3 issue(s)" in result.output
        assert w.sync().acknowledged == 1
        moved = w.show(issues[0])
        assert moved["status"] == "acknowledged" and moved["link"]["environment"] == "production"
        assert (
            production.requests[int(moved["remote_id"])]["OtherSystemId"]
            == (moved["link"]["marker"])
        )
        assert "we went live" in texts(w, issues[0], "system")[-2]
        for issue_id in issues[1:]:
            shown = w.show(issue_id)
            assert shown["status"] == "closed" and shown["remote_id"] is None
            assert "made in a test system" in texts(w, issue_id, "system")[-1]
        assert w.cli("config", "check").output.count("linked to environment") == 0


def test_1_a_new_url_for_the_same_environment_is_another_endpoint(world: Any) -> None:
    from scf_cityworks.emulator import Emulator, EmulatorState

    w = world(first_request_id=4000)
    issue_id = w.report()
    w.sync()
    other = EmulatorState(users={"scf-int": PASSWORD}, first_request_id=4000)
    with Emulator(other) as moved:
        other_people(other, 1)
        w.path.write_text(w.path.read_text().replace(w.emulator.url, moved.url))
        w.sync()
        assert other.counts["ams/servicerequest/byids"] == 0
        assert texts(w, issue_id, "remote") == []


def test_1_an_old_unscoped_link_is_verified_before_it_is_adopted(world: Any) -> None:
    w = world(first_request_id=6000)
    mine, theirs = w.report(), w.report()
    w.sync()
    store = w.store()
    with store.transaction() as conn:  # as schema 1 left them: no scope, marker scf-<id>
        conn.execute(text("UPDATE issues SET marker = NULL, link_environment = NULL, "
                          "link_endpoint = NULL"))  # fmt: skip
    state = w.emulator.state
    state.requests[w.remote_id(mine)]["OtherSystemId"] = f"scf-{mine}"  # made here, before
    state.requests[w.remote_id(theirs)]["OtherSystemId"] = "scf-77"  # somebody else's request
    state.staff("comment", w.remote_id(theirs), text="To SCF: not yours")
    report = w.sync()
    assert report.errors == 1 and texts(w, theirs, "remote") == []
    shown = w.show(theirs)
    assert shown["sync"]["attention_kind"] == "mismatch"
    assert "carries marker 'scf-77', not this issue's 'scf-" in shown["sync"]["attention"]
    adopted = w.show(mine)
    assert adopted["link"]["environment"] == "test" and adopted["link"]["marker"] == f"scf-{mine}"
    assert w.sync().errors == 0  # flagged once, not once per pass
    listed = w.cli("issues", "list", "--status", "attention", "--json")
    assert [r["id"] for r in json.loads(listed.stdout)] == [theirs]


def test_2_a_lost_create_after_recategorize_never_finds_the_cancelled_request(
    world: Any,
) -> None:
    w = world()
    issue_id = w.report()
    w.sync()
    old = w.remote_id(issue_id)
    w.emulator.state.staff("cancel", old)
    assert w.sync().cancelled == 1
    result = w.cli(
        "issues",
        "recategorize",
        str(issue_id),
        "--type",
        "DoorWall",
        "--answer",
        "40=Broken window",
    )
    assert result.exit_code == 0, result.output
    w.emulator.state.inject("drop_after_commit", match="servicerequest/create")
    assert w.sync().errors == 1
    w.later(minutes=1)
    report = w.sync()
    assert (report.acknowledged, report.submitted) == (1, 0)  # found by its new marker
    shown = w.show(issue_id)
    new = int(shown["remote_id"])
    assert new != old and w.emulator.state.requests[new]["ProblemCode"] == "DoorWall"
    markers = {r["OtherSystemId"] for r in w.emulator.state.requests.values()}
    assert len(markers) == 2 and shown["link"]["marker"].endswith(f"-{issue_id}-2")
    system = texts(w, issue_id, "system")
    assert sum("has received it as service request" in t for t in system) == 2
    assert sum("was cancelled" in t for t in system) == 1


def test_3_a_second_store_never_claims_the_first_stores_requests(
    world: Any, harness: Any, tmp_path: Any
) -> None:
    w = world()
    first = w.report()
    w.sync()
    w.emulator.state.staff("comment", w.remote_id(first), text="To SCF: for the first store")
    # A rebuilt database against the same Cityworks: issue numbers start again at 1.
    config = w.path.read_text()
    database = w.settings.organization.database
    rebuilt = tmp_path / "rebuilt"
    config = config.replace(database, f"sqlite:///{rebuilt / 'scf.db'}")
    w2 = harness(config, folder=rebuilt, host=w.host, clock=w.clock,
                 default_answers=w.default_answers)  # fmt: skip
    second = w2.report()
    assert second == first
    w.emulator.state.inject("drop_after_commit", match="servicerequest/create")
    w2.sync()
    w2.later(minutes=1)
    assert w2.sync().acknowledged == 1
    assert w2.remote_id(second) != w.remote_id(first)
    assert texts(w2, second, "remote") == []
    assert len(w.emulator.state.requests) == 2


def test_4_a_restarted_emulator_reusing_numbers_links_nothing_twice(world: Any) -> None:
    from scf_cityworks.emulator import Emulator, EmulatorState

    w = world(first_request_id=7000)
    old = w.report()
    w.sync()
    port = w.emulator.server.server_address[1]
    w.emulator.stop()
    fresh = EmulatorState(users={"scf-int": PASSWORD}, first_request_id=7000)
    with Emulator(fresh, port=port):
        new = w.report()
        report = w.sync()
        # The new issue's request got number 7000 again: the old issue is linked to 7000.
        assert report.acknowledged == 0 and fresh.requests[7000]["OtherSystemId"].endswith(
            f"-{new}-1"
        )
        shown_new, shown_old = w.show(new), w.show(old)
        assert shown_new["status"] == "open" and shown_new["sync"]["attention_kind"] == "conflict"
        assert f"already linked to issue {old}" in shown_new["sync"]["attention"]
        assert shown_old["sync"]["attention_kind"] == "mismatch"  # its poll saw another marker
        fresh.staff("close", 7000)
        assert w.sync().closed == 0 and w.show(old)["status"] == "acknowledged"
        stuck = json.loads(w.cli("issues", "list", "--status", "stuck", "--json").stdout)
        assert {r["id"] for r in stuck} == {old, new}
        # Staff sort it out: the old link is withdrawn, the new issue is tried again.
        assert w.cli("issues", "withdraw", str(old), "--reason", "test data").exit_code == 0
        assert w.cli("issues", "retry", str(new)).exit_code == 0
        report = w.sync()
        assert (report.acknowledged, report.submitted, report.closed) == (1, 0, 1)
        assert w.show(new)["remote_id"] == "7000" and len(fresh.requests) == 1


def test_5_one_remote_id_for_two_issues_is_refused(run: Any, fake_host: Any) -> None:
    from scf_plugins import Submission, hookimpl
    from scf_plugins.testing.fake import FakeRemote

    class SameId(FakeRemote):
        @hookimpl
        def submit(self, integration, issue):  # type: ignore[no-untyped-def]
            FakeRemote.submit(self, integration, issue)
            return Submission(remote_id="1001")

    host, _ = fake_host
    host.unregister("fake-a")
    host.register(SameId("fake-a"), "fake-a")
    for _ in range(2):
        args = ("report", "--type", "GRAFFITI", "--summary", "x", "--lat", "1", "--lng", "2")
        assert run(*args).exit_code == 0
    result = run("sync", "--once")
    assert result.exit_code == 1
    shown = [json.loads(run("issues", "show", str(i), "--json").stdout) for i in (1, 2)]
    linked, refused = sorted(shown, key=lambda s: s["remote_id"] is None)
    assert linked["remote_id"] == "1001" and refused["remote_id"] is None
    assert f"already linked to issue {linked['id']}" in refused["sync"]["attention"]
    assert run("sync", "--once").exit_code == 0  # waits for a person; not retried in a loop


def test_5_an_id_of_the_wrong_shape_costs_only_its_own_issue(world: Any) -> None:
    w = world()
    issues = [w.report(summary=f"hole {n}") for n in range(3)]
    w.sync()
    bad = issues[1]
    store = w.store()
    for weird in ("²", "1.5", "-3"):
        with store.transaction() as conn:
            conn.execute(
                tables.issues.update().where(tables.issues.c.id == bad).values(remote_id=weird)
            )
        for issue_id in (issues[0], issues[2]):
            w.emulator.state.staff("comment", w.remote_id(issue_id), text=f"To SCF: {weird}")
        w.sync()
        assert "is not a Cityworks request id" in w.show(bad)["sync"]["last_error"]
        for issue_id in (issues[0], issues[2]):
            assert texts(w, issue_id, "remote")[-1] == weird
    w.emulator.state.staff("close", w.remote_id(issues[2]))
    assert w.sync().closed == 1


def test_5_a_record_sent_twice_is_reported_not_applied_twice(world: Any) -> None:
    w = world()
    first, second = w.report(), w.report()
    w.sync()
    w.emulator.state.staff("close", w.remote_id(first))
    w.emulator.state.staff("close", w.remote_id(second))
    w.emulator.state.inject("duplicate", match="servicerequest/byids")
    # The plugin asks for ids in ascending order and the fault repeats the first record, so
    # the doubled one is the lower id (emulator ids are random, so it is not always `first`).
    doubled = min((first, second), key=w.remote_id)
    report = w.sync()
    assert report.closed == 1
    assert "sent 2 records for request" in w.show(doubled)["sync"]["last_error"]
    assert w.sync().closed == 1
    assert sum("completed" in t for t in texts(w, doubled, "system")) == 1


def test_6_an_unreadable_create_answer_is_ambiguous_for_that_issue_only(world: Any) -> None:
    w = world()
    issues = [w.report(summary=f"hole {n}") for n in range(6)]
    w.emulator.state.inject("garble", count=4, match="servicerequest/create")
    report = w.sync()
    assert report.acknowledged == 2 and report.errors == 4
    kinds = [w.show(i)["sync"]["last_error_kind"] for i in issues]
    assert sorted(k or "" for k in kinds) == ["", "", *["ambiguous"] * 4]
    store = w.store()
    with store.read() as conn:  # nothing is left claimed
        assert (
            conn.execute(text("SELECT count(*) FROM issues WHERE lease_owner IS NOT NULL")).scalar()
            == 0
        )
    w.later(minutes=1)
    report = w.sync()
    assert (report.acknowledged, report.submitted) == (4, 0)
    assert len(w.emulator.state.requests) == 6


def test_a_closed_status_nobody_mapped_is_flagged_once(world: Any) -> None:
    w = world()
    issue_id = w.report()
    w.sync()
    w.emulator.state.staff("close", w.remote_id(issue_id), status="INPROG")
    first = w.sync()
    assert first.errors == 1 and "neither closed_statuses nor cancel_statuses" in first.problems[0]
    assert w.sync().errors == 0
    shown = w.show(issue_id)
    assert shown["status"] == "acknowledged" and shown["sync"]["attention_kind"] == "unmapped"
    assert "ATTENTION     [unmapped]" in w.cli("issues", "show", str(issue_id)).output
    w.emulator.state.staff("close", w.remote_id(issue_id), status="COMPLETE")
    assert w.sync().closed == 1


def test_config_check_warns_about_naive_dates_without_a_zone(world: Any) -> None:
    w = world()
    w.path.write_text(w.path.read_text().replace('timezone = "America/New_York"\n', ""))
    result = w.cli("config", "check", "--json")
    data = json.loads(result.stdout)
    assert data["ok"] and any("timezone: not set" in line for line in data["warnings"])
    w.path.write_text(w.path.read_text().replace("[integrations.cityworks.test]",
                                                 'timezone = "UTC"\n[integrations.cityworks.test]'))  # fmt: skip
    assert json.loads(w.cli("config", "check", "--json").stdout)["warnings"] == []


def test_the_capabilities_and_list_statuses_hooks_of_cityworks(world: Any) -> None:
    w = world()
    integration = w.settings.integrations["cityworks"]
    assert w.host.capabilities(integration).naive_local_dates is True
    statuses = w.host.list_statuses(integration)
    assert statuses is not None and "CLOSED" in statuses and "DUP" in statuses


def test_the_emulator_numbers_from_the_clock_and_says_its_zone() -> None:
    from click.testing import CliRunner
    from scf_cityworks.emulator import EmulatorState
    from scf_cityworks.emulator.state import clock_id

    first, second = EmulatorState(), EmulatorState()
    assert first.next_request_id >= clock_id() - 10
    a = first.create({"ProblemSid": 101}, "scf-int")["RequestId"]
    b = second.create({"ProblemSid": 101}, "scf-int")["RequestId"]
    assert b >= a  # a later emulator never starts behind an earlier one
    from scf_cityworks.commands import emulator_command

    help_text = CliRunner().invoke(emulator_command, ["--help"]).output
    assert "in memory" in help_text and "start from the clock" in help_text
