"""The crash suite: a real ``scf sync`` killed with SIGKILL at many moments, then restarted.

The store never needs repair, and the invariants hold: one remote request per issue, one
acknowledgement each, every comment once in each direction.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scf_plugins.testing import wait_for

pytestmark = pytest.mark.slow  # the crash suite: real `scf sync` processes killed and restarted
SCF = str(Path(sys.executable).parent / "scf")
# When each worker is killed (the moments are the test; start-up is ~0.3 s).
KILL_AFTER = [0.3, 0.38, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.95, 1.2]


def settled(w, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    """Every lease a worker took has lapsed, every call it made has had ``timeout`` seconds
    (so a restarted worker may look a possibly-made create up), and the emulator has
    finished every call it got: what a restart after a kill needs. The workers' clock is
    the wall's."""
    from sqlalchemy import func, select

    from scf_plugins.store.tables import attachments, comments, issues, poll_batches

    leases = [t.c.lease_until for t in (issues, comments, attachments, poll_batches)]
    attempts = [issues.c.submit_attempted_at, comments.c.push_attempted_at,
                attachments.c.push_attempted_at]  # fmt: skip
    with w.store().read() as conn:
        ends = [conn.execute(select(func.max(c))).scalar() for c in leases]
        ends += [
            at + timedelta(seconds=timeout)
            for at in (conn.execute(select(func.max(c))).scalar() for c in attempts)
            if at is not None
        ]
    now = datetime.now(UTC)
    return w.emulator.server.in_flight == 0 and all(end is None or end < now for end in ends)


def sync(world, lease: float = 0.5) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [SCF, "--config", str(world.path), "sync", "--once", "--lease-seconds", str(lease)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def creating(w, proc: subprocess.Popen[Any]) -> bool:  # type: ignore[no-untyped-def]
    """True once the emulator got a create; the worker must still be running."""
    assert proc.poll() is None, "scf sync ended before it created anything"
    return bool(w.emulator.state.counts["ams/servicerequest/create"])


def add_work(w, issues: list[int], round_: int) -> None:  # type: ignore[no-untyped-def]
    """New issues, and comments both ways on some acknowledged ones."""
    for issue_id in issues[-40:]:
        shown = w.show(issue_id)
        if shown["remote_id"] and round_ % 2 == issue_id % 2:
            w.cli("comment", str(issue_id), f"resident {issue_id} round {round_}")
            w.emulator.state.staff(
                "comment", int(shown["remote_id"]), text=f"To SCF: staff {issue_id} round {round_}"
            )
    issues += [w.report(summary=f"round {round_} #{n}") for n in range(12)]


def test_sigkill_at_many_moments_then_restart(world) -> None:  # type: ignore[no-untyped-def]
    # A short call timeout: a killed worker's creates are looked up once it has passed.
    w = world(latency=0.03, extra="timeout_seconds = 1")
    issues: list[int] = []
    killed = 0
    for round_, delay in enumerate(KILL_AFTER):
        add_work(w, issues, round_)
        proc = sync(w)
        time.sleep(delay)  # the moment of the kill: what this test varies
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.communicate(timeout=60)
    assert killed >= 3, "the kills must land while passes are running"
    for _ in range(3):
        wait_for(lambda: settled(w, timeout=1), 30, "the dead workers' leases and calls to lapse")
        proc = sync(w)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    requests = w.emulator.state.requests
    markers = collections.Counter(r["OtherSystemId"] for r in requests.values())
    assert len(requests) == len(issues) and set(markers.values()) == {1}
    for issue_id in issues:
        shown = w.show(issue_id)
        assert shown["status"] == "acknowledged"
        system = [c["text"] for c in shown["comments"] if c["kind"] == "system"]
        assert sum("has received it as service request" in t for t in system) == 1
        local = [c for c in shown["comments"] if c["kind"] == "comment"]
        pulled = [c["text"] for c in shown["comments"] if c["kind"] == "remote"]
        remote = [c["Comments"] for c in w.emulator.state.comments.get(w.remote_id(issue_id), [])]
        assert len(pulled) == len(set(pulled))
        for comment in local:
            assert sum(comment["text"] in text for text in remote) == 1
        assert sorted(pulled) == sorted(
            t.removeprefix("To SCF: ") for t in remote if t.startswith("To SCF: ")
        )


def test_sigterm_finishes_the_current_step_and_stops_cleanly(world) -> None:  # type: ignore[no-untyped-def]
    w = world(latency=0.02)
    for n in range(40):
        w.report(summary=f"term {n}")
    proc = subprocess.Popen(
        [SCF, "--config", str(w.path), "sync", "--interval", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    wait_for(lambda: creating(w, proc), 30, "the first create (mid-way through a pass)")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopping: calls in flight are abandoned (SIGTERM)" in err
    assert "pass 1 (submit):" in out
    # Nothing half-done: every issue is acknowledged, untouched, or marked as possibly
    # created (looked up first), and later passes finish the rest with no duplicate.
    wait_for(lambda: w.emulator.server.in_flight == 0, 10, "the emulator's last answers")
    w.later(minutes=10)
    w.sync()
    markers = [r["OtherSystemId"] for r in w.emulator.state.requests.values()]
    assert len(markers) == len(set(markers)) == 40
    assert all(w.show(i)["status"] == "acknowledged" for i in range(1, 41))


def test_a_killed_workers_claims_are_taken_over_at_once_on_the_same_machine(world) -> None:  # type: ignore[no-untyped-def]
    w = world(latency=0.3)
    ids = [w.report(summary=f"kill {n}") for n in range(12)]
    proc = subprocess.Popen(
        [SCF, "--config", str(w.path), "sync", "--once"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    wait_for(lambda: creating(w, proc), 30, "the first create")
    proc.kill()
    proc.wait()
    claimed = w.show(ids[0])["sync"]
    assert claimed["claimed_by"] and claimed["claimed_by"].split(":")[2] == str(proc.pid)
    assert "claimed       by" in w.cli("issues", "show", str(ids[0])).output
    w.emulator.state.latency = 0.0
    # A new worker on this machine takes the dead one's claims at once and looks its creates
    # up (those landed are linked), but sends none: those not found may still be carried out
    # remotely (0.3 s each here). It waits out the call timeout for those (tests/test_takeover).
    sent = w.emulator.state.counts["ams/servicerequest/create"]
    report = w.sync()
    first = report.acknowledged
    assert report.errors == 0 and w.emulator.state.counts["ams/servicerequest/create"] == sent
    assert "claimed       by" not in w.cli("issues", "show", str(ids[0])).output
    # The dead worker's creates land remotely meanwhile.
    wait_for(lambda: w.emulator.server.in_flight == 0, 10, "the dead worker's creates to land")
    w.clock.now = datetime.now(UTC) + timedelta(seconds=31)  # past timeout_seconds (30)
    report = w.sync()
    assert first + report.acknowledged == 12
    markers = [r["OtherSystemId"] for r in w.emulator.state.requests.values()]
    assert len(markers) == len(set(markers)) == 12


def test_claims_of_a_worker_elsewhere_wait_for_their_lease(world) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from scf_plugins.store.tables import issues

    w = world()
    issue_id = w.report()
    store = w.store()
    with store.transaction() as conn:  # a worker on another machine holds the issue
        conn.execute(
            issues.update().values(
                lease_owner="elsewhere:0badb007:4242:abcdef",
                lease_until=w.clock.now + timedelta(seconds=60),
            )
        )
    assert w.sync().acknowledged == 0
    w.later(seconds=61)
    assert w.sync().acknowledged == 1 and w.show(issue_id)["status"] == "acknowledged"
