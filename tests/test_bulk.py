"""``scf issues resubmit`` and ``scf issues withdraw`` over several issues: by ids or by the
filters of ``issues list`` (with ``--integration``), one line (or JSON object) per issue,
exit 1 when any could not be done, and each issue done whole or not at all."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update

from scf_plugins.store.tables import issues


def messages(w: Any, issue_id: int) -> list[str]:
    return [c["text"] for c in w.show(issue_id)["comments"] if c["kind"] == "system"]


def listed(w: Any, status: str) -> list[int]:
    rows = json.loads(w.cli_ok("issues", "list", "--status", status, "--json").stdout)
    return sorted(r["id"] for r in rows)


def test_resubmit_takes_several_ids_and_reports_each(world: Any) -> None:
    w = world(first_request_id=500)
    made = [w.report(summary=f"hole {n}") for n in range(3)]
    w.sync()
    before = {i: w.remote_id(i) for i in made}
    result = w.cli("issues", "resubmit", *map(str, made))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [
        f"issue {i} resubmitted: sent anew on the next pass, its photos too "
        f"(it leaves request {before[i]} in test)"
        for i in made
    ]
    assert w.sync().acknowledged == 3
    assert all(w.remote_id(i) != before[i] for i in made)


def test_what_cannot_be_done_is_said_per_issue_and_exits_1(world: Any) -> None:
    w = world()
    done, closed = w.report(), w.report()
    w.sync()
    w.emulator.state.staff("close", w.remote_id(closed))
    w.sync()
    said = messages(w, closed)
    result = w.cli("issues", "resubmit", str(done), str(closed), "4242", "--json")
    assert result.exit_code == 1
    outcomes = json.loads(result.stdout)
    assert [(o["id"], o["action"], o["done"]) for o in outcomes] == [
        (done, "resubmit", True), (closed, "resubmit", False), (4242, "resubmit", False)
    ]  # fmt: skip
    assert outcomes[1]["text"] == "it is closed already"
    assert "there is no such issue" in outcomes[2]["text"]
    assert messages(w, closed) == said and w.show(closed)["status"] == "closed"
    text = w.cli("issues", "withdraw", str(closed), "--reason", "done").output
    assert text == f"issue {closed} not withdrawn: it is closed already\n"


def test_resubmit_attention_sends_anew_the_linked_issues_whose_request_is_gone(
    world: Any,
) -> None:
    w = world(first_request_id=600)
    gone = [w.report(summary=f"gone {n}") for n in range(2)]
    unmapped, fine = w.report(summary="unmapped"), w.report(summary="fine")
    w.sync()
    state = w.emulator.state
    for issue_id in gone:
        state.requests.pop(w.remote_id(issue_id))
    state.staff("close", w.remote_id(unmapped), status="INPROG")
    w.sync()
    assert listed(w, "attention") == sorted([*gone, unmapped])

    result = w.cli("issues", "resubmit", "--attention", "--integration", "cityworks", "--json")
    assert result.exit_code == 1  # the unmapped one is not sent anew
    outcomes = {o["id"]: o for o in json.loads(result.stdout)}
    assert sorted(outcomes) == sorted([*gone, unmapped])
    assert all(outcomes[i]["done"] for i in gone)
    assert not outcomes[unmapped]["done"]
    assert "'INPROG', which nothing maps: add it to closed_statuses" in outcomes[unmapped]["text"]
    assert w.sync().acknowledged == 2
    assert listed(w, "attention") == [unmapped]
    assert all(w.show(i)["status"] == "acknowledged" for i in [*gone, fine])


def test_withdraw_stuck_closes_every_stuck_issue_and_the_count_follows(world: Any) -> None:
    w = world(first_request_id=700)
    gone, cancelled, fine = w.report(), w.report(), w.report()
    w.sync()
    w.emulator.state.requests.pop(w.remote_id(gone))
    w.emulator.state.staff("cancel", w.remote_id(cancelled))
    w.sync()
    assert listed(w, "stuck") == sorted([gone, cancelled])
    assert json.loads(w.cli("status", "--json").stdout)["stuck"] == 2
    result = w.cli("issues", "withdraw", "--stuck", "--reason", "handled by phone")
    assert result.exit_code == 0, result.output
    assert result.output.count("withdrawn: closed here") == 2
    for issue_id in (gone, cancelled):
        assert w.show(issue_id)["status"] == "closed"
        assert "handled by phone" in messages(w, issue_id)[-1]
    assert w.show(fine)["status"] == "acknowledged"
    assert listed(w, "stuck") == [] and json.loads(w.cli("status", "--json").stdout)["stuck"] == 0


def test_withdraw_failing_of_one_integration(world: Any) -> None:
    w = world()
    gone = w.report()
    w.sync()
    w.emulator.state.requests.pop(w.remote_id(gone))
    w.sync()
    result = w.cli("issues", "withdraw", "--failing", "--integration", "cityworks", "--reason", "x")
    assert result.exit_code == 0 and result.output.startswith(f"issue {gone} withdrawn")


def test_resubmit_refuses_what_would_do_harm(world: Any) -> None:
    w = world()
    in_flight, held = w.report(), w.report()
    with w.store().transaction() as conn:  # a create whose answer was lost; an address held
        conn.execute(update(issues).where(issues.c.id == in_flight).values(submit_attempted=True))
        conn.execute(update(issues).where(issues.c.id == held).values(held=True))
    result = w.cli("issues", "resubmit", str(in_flight), str(held))
    assert result.exit_code == 1
    first, second = result.output.splitlines()
    assert first.startswith(f"issue {in_flight} not resubmitted: its create may have reached")
    assert f"`scf issues retry {in_flight}`" in first
    assert second.startswith(f"issue {held} not resubmitted: it is held for its address")
    assert w.show(in_flight)["link"]["marker"].endswith("-1")  # the marker it was sent under
    # Withdrawing is always possible.
    assert w.cli("issues", "withdraw", str(in_flight), "--reason", "duplicate").exit_code == 0


@pytest.mark.parametrize(("args", "says"), [
    (("resubmit",), "give issue ids, or --failing, --stuck or --attention"),
    (("resubmit", "1", "--stuck"), "give issue ids, or --failing, --stuck or --attention"),
    (("resubmit", "--stuck", "--failing"), "give one of --failing, --stuck or --attention"),
    (("resubmit", "1", "--integration", "cityworks"), "--integration goes with --failing"),
    (("resubmit", "--stuck", "--integration", "nope"), "there is no integration 'nope'"),
    (("withdraw", "--attention", "--reason", "x"), "no issue is waiting for a person; nothing to withdraw"),
])  # fmt: skip
def test_bulk_refuses_what_does_not_apply(world: Any, args: tuple[str, ...], says: str) -> None:
    w = world()
    result = w.cli("issues", *args)
    assert result.exit_code == 1 and says in result.output


def test_an_issue_that_fails_midway_is_left_as_it_was(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scf_plugins.engine import transitions

    w = world(first_request_id=800)
    first, second = w.report(), w.report()
    w.sync()
    said = messages(w, second)
    real = transitions.leave_request

    def breaks_on_the_second(conn: Any, issue: Any, now: Any) -> int:
        if issue["id"] == second:
            raise RuntimeError("the database went away")
        return real(conn, issue, now)

    monkeypatch.setattr(transitions, "leave_request", breaks_on_the_second)
    result = w.cli("issues", "resubmit", str(first), str(second))
    assert isinstance(result.exception, RuntimeError)
    assert result.output.startswith(f"issue {first} resubmitted")  # said before the failure
    assert w.show(first)["remote_id"] is None
    untouched = w.show(second)
    assert untouched["status"] == "acknowledged" and untouched["remote_id"] == "801"
    assert messages(w, second) == said  # no message without its change
