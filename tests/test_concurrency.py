"""Two real ``scf sync`` processes on one SQLite store never do anything twice."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real `scf sync` processes side by side
SCF = str(Path(sys.executable).parent / "scf")


def run_two(world) -> list[subprocess.CompletedProcess[str]]:  # type: ignore[no-untyped-def]
    procs = [
        subprocess.Popen(
            [SCF, "--config", str(world.path), "sync", "--once"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for _ in range(2)
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def test_two_sync_processes_submit_message_and_push_each_thing_once(world) -> None:  # type: ignore[no-untyped-def]
    w = world(latency=0.01)
    ids = [w.report(summary=f"Pothole {n}") for n in range(30)]
    results = run_two(w)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert sum(int(r.stdout.split("acknowledged ")[1].split(",")[0]) for r in results) == 30
    requests = w.emulator.state.requests
    assert len(requests) == 30
    owners = collections.Counter(r["OtherSystemId"] for r in requests.values())
    assert set(owners.values()) == {1}

    for issue_id in ids[:15]:
        assert w.cli("comment", str(issue_id), f"resident note {issue_id}").exit_code == 0
    for issue_id in ids[15:]:
        w.emulator.state.staff("comment", w.remote_id(issue_id), text=f"To SCF: staff {issue_id}")
    for issue_id in ids[:5]:
        w.emulator.state.staff(
            "set_field", w.remote_id(issue_id), field="DispatchTo", value="Crew 9"
        )
    results = run_two(w)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    for issue_id in ids:
        shown = w.show(issue_id)
        kinds = collections.Counter(c["kind"] for c in shown["comments"])
        system = [c["text"] for c in shown["comments"] if c["kind"] == "system"]
        assert sum("has received it as service request" in t for t in system) == 1
        if issue_id in ids[:5]:
            assert sum("assigned to Crew 9" in t for t in system) == 1
        if issue_id in ids[15:]:
            assert kinds["remote"] == 1
        remote = w.emulator.state.comments.get(w.remote_id(issue_id), [])
        pushed = [c for c in remote if "resident note" in c["Comments"]]
        assert len(pushed) == (1 if issue_id in ids[:15] else 0)


def test_two_pollers_poll_each_issue_once_per_round(world) -> None:  # type: ignore[no-untyped-def]
    """Workers share a round's batches: together they make the batch calls of one."""
    w = world(extra="poll_batch_size = 10", latency=0.05)  # the round outlasts start-up
    for n in range(100):
        w.report(summary=f"Pothole {n}")
    w.sync()
    asked: collections.Counter[int] = collections.Counter()
    by_ids = w.emulator.state.by_ids

    def counting(ids):  # type: ignore[no-untyped-def]
        asked.update(ids)
        return by_ids(ids)

    w.emulator.state.by_ids = counting
    w.emulator.state.counts.clear()
    results = run_two(w)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert w.emulator.state.counts["ams/servicerequest/byids"] == 10
    assert len(asked) == 100 and set(asked.values()) == {1}
