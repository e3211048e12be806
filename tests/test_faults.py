"""The fault suite: every fault the emulator offers, then passes until the work is done.

Invariants after each: exactly one remote request per issue, every message once, every
comment once in each direction, no issue lost.
"""

from __future__ import annotations

import collections

import pytest

from scf_plugins.testing import wait_for

FAULTS = [
    ("503", 4, ""),
    ("503", 3, "servicerequest/create"),
    ("slow", 2, "servicerequest/create"),
    ("slow", 1, "servicerequest/byids"),
    ("html", 3, ""),
    ("html", 2, "comment/add"),
    ("malformed", 3, ""),
    ("malformed", 2, "servicerequest/create"),
    ("expire_token", 3, ""),
    ("drop_after_commit", 2, "servicerequest/create"),
    ("drop_after_commit", 2, "comment/add"),
    ("reset", 3, ""),
    ("reset", 2, "comment/byactivitysids"),
    ("garble", 2, "servicerequest/create"),
    ("duplicate", 1, "servicerequest/byids"),
]
SLOW_SECONDS = 1.2


def setup_issues(w) -> tuple[list[int], list[int]]:  # type: ignore[no-untyped-def]
    old = [w.report(summary=f"old {n}") for n in range(3)]
    assert w.sync().acknowledged == 3
    for issue_id in old:
        rid = w.remote_id(issue_id)
        assert w.cli("comment", str(issue_id), f"resident {issue_id}").exit_code == 0
        w.emulator.state.staff("comment", rid, text=f"To SCF: staff {issue_id}")
        w.emulator.state.staff("set_field", rid, field="DispatchTo", value=f"Crew {issue_id}")
    new = [w.report(summary=f"new {n}") for n in range(3)]
    return old, new


def check_invariants(w, old: list[int], new: list[int]) -> None:  # type: ignore[no-untyped-def]
    markers = collections.Counter(r["OtherSystemId"] for r in w.emulator.state.requests.values())
    assert sum(markers.values()) == len(old) + len(new)
    for issue_id in old + new:
        shown = w.show(issue_id)
        assert shown["status"] == "acknowledged", shown
        assert markers[shown["link"]["marker"]] == 1
        system = [c["text"] for c in shown["comments"] if c["kind"] == "system"]
        assert sum("has received it as service request" in t for t in system) == 1
    for issue_id in old:
        shown = w.show(issue_id)
        system = [c["text"] for c in shown["comments"] if c["kind"] == "system"]
        assert system.count(f"Your request has been assigned to Crew {issue_id}.") == 1
        pulled = [c["text"] for c in shown["comments"] if c["kind"] == "remote"]
        assert pulled == [f"staff {issue_id}"]
        remote = [c["Comments"] for c in w.emulator.state.comments[w.remote_id(issue_id)]]
        assert sum(f"resident {issue_id}" in text for text in remote) == 1


@pytest.mark.parametrize(("kind", "count", "match"), FAULTS)
def test_a_pass_through_the_fault_then_the_work_finishes(world, kind, count, match) -> None:  # type: ignore[no-untyped-def]
    w = world(extra="timeout_seconds = 0.6")
    w.emulator.state.slow_seconds = SLOW_SECONDS
    old, new = setup_issues(w)
    w.emulator.state.inject(kind, count=count, match=match)
    first = w.sync()
    if kind != "expire_token":  # a refused token is renewed within the call
        assert first.errors >= 1, first
        assert first.problems
    for _ in range(6):
        # A slow answer outlives the call's timeout: let the emulator finish that late work.
        wait_for(lambda: w.emulator.server.in_flight == 0, 10, "the emulator's late answers")
        w.later(hours=2)
        report = w.sync()
        if report.errors == 0 and not (
            report.acknowledged or report.comments_out or report.comments_in or report.activity
        ):
            break
    assert not w.emulator.state.faults, "the fault was never hit"
    check_invariants(w, old, new)


def test_errors_are_recorded_on_the_affected_issues(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report()
    w.emulator.state.inject("503", count=1, match="servicerequest/create")
    w.sync()
    shown = w.show(issue_id)
    assert shown["status"] == "open"
    assert shown["sync"]["last_error"] == (
        f"Ams/ServiceRequest/Create: Cityworks at {w.emulator.root}/Cityworks is unavailable "
        f"(HTTP 503)"
    )
    assert shown["sync"]["attempts"] == 1 and shown["sync"]["next_attempt_at"]


def test_one_broken_issue_never_blocks_the_others(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    broken = w.report()
    store = w.store()
    from scf_plugins.store.tables import answers

    with store.transaction() as conn:
        conn.execute(answers.update().where(answers.c.issue_id == broken).values(ref="999999"))
    healthy = [w.report(summary=f"ok {n}") for n in range(3)]
    report = w.sync()
    assert report.acknowledged == 3 and report.errors == 1
    assert all(w.show(i)["status"] == "acknowledged" for i in healthy)
    assert w.show(broken)["sync"]["last_error_kind"] == "definite"


def test_an_issue_that_keeps_failing_is_listed_as_stuck(world) -> None:  # type: ignore[no-untyped-def]
    import json

    w = world()
    broken = w.report()
    fine = w.report("DoorWall", "40=Broken window", summary="fine")
    w.emulator.state.problem(101)["Active"] = False
    for _ in range(5):
        w.sync()
        w.later(days=2)
    assert w.show(fine)["status"] == "acknowledged"
    stuck = json.loads(w.cli("issues", "list", "--status", "stuck", "--json").stdout)
    assert [s["id"] for s in stuck] == [broken]
    assert "Problem is not active" in stuck[0]["last_error"] and stuck[0]["attempts"] == 5


def test_a_plugin_bug_is_recorded_not_raised(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from scf_cityworks import mapping

    w = world()
    issue_id = w.report()

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyError("Details")

    monkeypatch.setattr(mapping, "create_fields", broken)
    report = w.sync()
    assert report.errors == 1
    shown = w.show(issue_id)
    assert shown["sync"]["last_error"] == "plugin cityworks, hook submit: KeyError: 'Details'"


def test_oversized_remote_values_are_kept_within_the_store_limits(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    staff = w.emulator.state.staff
    staff("comment", rid, text="To SCF: " + "y" * 200_000, author="A" * 300)
    staff("set_field", rid, field="DispatchTo", value="Crew " + "z" * 5000)
    staff("status", rid, status="S" * 300)
    report = w.sync()
    assert report.errors == 0, report.problems
    assert (report.comments_in, report.activity) == (1, 1)
    shown = w.show(issue_id)
    [pulled] = [c for c in shown["comments"] if c["kind"] == "remote"]
    assert len(pulled["text"]) == 5000 and pulled["text"].endswith("…[cut]")
    assert len(pulled["author"]) == 200
    assert len(shown["remote_status"]) == 200
    assert w.sync().activity == 0  # the long value is remembered as announced
