"""The engine's shared state under its two loops (a trip seen by the thread whose pass it
stopped, the first pass's take-over), a resubmit that races a worker's claim, and how long
stopping the loops may take."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from scf_plugins import TransientError
from scf_plugins.engine import leases, transitions
from scf_plugins.engine.continuous import STOP_GRACE, run_until_stopped
from scf_plugins.engine.gate import Gate
from scf_plugins.engine.outcomes import PassReport
from scf_plugins.server.running import ENGINE_GRACE
from scf_plugins.store.tables import issues
from scf_plugins.testing import Harness


def _on_a_thread(call: Any) -> Any:
    """``call()`` on a thread of its own (another loop of the same worker); its result."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(call()))
    thread.start()
    thread.join(10)
    assert out, "the call did not return"
    return out[0]


def test_a_trip_holds_for_its_pass_when_the_other_loop_opens_the_integration(
    basic: Harness,
) -> None:
    gate = Gate(basic.store(), basic.host, basic.clock)
    alpha = basic.settings.integrations["alpha"]
    polls, submits = PassReport(), PassReport()
    assert gate.opens(alpha, submits)
    assert _on_a_thread(lambda: gate.opens(alpha, polls))  # the poll pass, under way too
    gate.trip(alpha, TransientError("cannot reach it"), submits)
    # The poll loop's next pass reads the circuit open and leaves it alone...
    assert not _on_a_thread(lambda: gate.opens(alpha, PassReport()))
    # ...and does not undo the trip for the submit pass still running,
    assert gate.tripped(alpha)
    # which counts the outage once, however often its calls find it down.
    gate.trip(alpha, TransientError("cannot reach it"), submits)
    assert submits.errors == 1


def test_the_first_pass_take_over_is_done_again_when_the_store_failed_it(
    basic: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = leases.take_over_dead

    def take_over(*args: Any) -> int:
        calls.append("take over")
        if len(calls) == 1:
            raise OperationalError("BEGIN", {}, Exception("the database is not answering"))
        return real(*args)

    monkeypatch.setattr(leases, "take_over_dead", take_over)
    engine = basic.engine()
    with pytest.raises(OperationalError):
        engine.run_pass()
    engine.run_pass()
    engine.run_pass()
    assert calls == ["take over", "take over"]  # again after the failure, then never again


def _claimed_by_a_worker(w: Harness, issue_id: int, *, sending: bool) -> None:
    """What a worker's claim commits: its lease and, when it sends, the create's intent."""
    now = datetime.now(UTC)
    intent = {"submit_attempted": True, "submit_attempted_at": now} if sending else {}
    with w.store().transaction() as conn:
        conn.execute(
            update(issues)
            .where(issues.c.id == issue_id)
            .values(
                lease_owner="elsewhere:0:4242:abcdef",
                lease_until=now + timedelta(minutes=1),
                **intent,
            )
        )


def _marker(w: Harness, issue_id: int) -> tuple[str | None, bool]:
    with w.store().read() as conn:
        row = conn.execute(
            select(issues.c.marker, issues.c.submit_attempted).where(issues.c.id == issue_id)
        ).one()
    return row.marker, bool(row.submit_attempted)


def test_a_resubmit_changes_nothing_once_a_worker_has_marked_the_create_as_sent(
    world: Any,
) -> None:
    # As on PostgreSQL when the worker commits between the command's read and its change.
    w = world()
    issue_id = w.report()
    _claimed_by_a_worker(w, issue_id, sending=True)
    before = _marker(w, issue_id)
    with w.store().transaction() as conn:
        done = transitions.resubmit(conn, w.settings, issue_id, "sent twice?", datetime.now(UTC))
    assert not done
    assert _marker(w, issue_id) == before  # the create under way keeps its marker


def test_resubmitting_an_issue_a_worker_holds_is_refused_saying_why(world: Any) -> None:
    w = world()
    issue_id = w.report()
    _claimed_by_a_worker(w, issue_id, sending=False)
    result = w.cli("issues", "resubmit", str(issue_id))
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        f"issue {issue_id} not resubmitted: a worker is sending it now; see "
        f"`scf issues show {issue_id}` after its pass"
    ]


def test_each_loop_gets_the_whole_grace_and_stopping_takes_one_grace_in_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop, release = threading.Event(), threading.Event()
    busy = {"submit": threading.Event(), "poll": threading.Event()}

    def stuck(kind: str) -> Any:
        def one_pass() -> PassReport:
            busy[kind].set()
            release.wait(30)  # a step that does not end when asked to stop
            return PassReport()

        return one_pass

    grace = 0.5
    runner = threading.Thread(
        target=run_until_stopped,
        args=(stuck("submit"), stuck("poll"), lambda kind, report: None),
        kwargs={"stop": stop, "stop_grace": grace},
    )
    runner.start()
    try:
        assert all(event.wait(10) for event in busy.values())
        told = time.monotonic()
        stop.set()
        runner.join(10)
        took = time.monotonic() - told
    finally:
        release.set()
    assert not runner.is_alive()
    assert grace <= took < 2 * grace  # each loop its whole grace, side by side: not one each
    named = [r.getMessage() for r in caplog.records if "did not stop within" in r.getMessage()]
    assert [line.split()[1] for line in named] == ["submit", "poll"]


def test_scf_serve_waits_for_the_engine_longer_than_the_engine_waits_for_its_loops() -> None:
    assert ENGINE_GRACE > STOP_GRACE  # so the line naming a loop that overran is said first
