"""The crash suite for residents' emails: real ``scf sync`` workers killed with SIGKILL while
they send, then restarted, against an SMTP server on 127.0.0.1.

Some rounds kill the worker after a delay (wherever its pass is then); the others kill it from
the mail server itself, the moment a message has arrived and the worker waits for the reply:
the one moment that makes a notification uncertain, so the test cannot pass without it.

SMTP cannot be asked whether a message arrived, so the promise is "never twice": every
notification ends sent or uncertain (a send a killed worker may have finished), and no message
reaches the server twice. How many ended uncertain, and how many of those had in fact arrived,
is printed (``pytest -s``) for the record.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scf_plugins.testing import wait_for
from scf_plugins.testing.smtp_sink import Received, SmtpSink

pytestmark = pytest.mark.slow  # real `scf sync` processes killed and restarted
SCF = str(Path(sys.executable).parent / "scf")
# When each worker is killed: seconds after its start (start-up is ~0.3 s), or by the mail
# server as a message arrives (the moments are the test).
HOOK = "as a message arrives"
KILLS: list[float | str] = [0.35, HOOK, 0.5, 0.55, HOOK, 0.65, 0.7, HOOK, 0.9, 1.0, HOOK, 1.5]
MAIL = """
[email]
host = "127.0.0.1"
port = {port}
security = "none"
from = "Testville 311 <no-reply@testville.gov>"

[server]
public_url = "http://127.0.0.1:8311"
"""


class Killer:
    """The mail server's hook on each message it keeps, before it answers: it SIGKILLs the
    worker it was armed with (once), then takes 20 ms to answer, so that the kills of the
    other rounds too land between a message's arrival and the worker's record of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self.kills = 0

    def arm(self, pid: int | None) -> None:
        """Kill ``pid`` as the next message arrives (None: kill nobody)."""
        with self._lock:
            self._pid = pid

    def __call__(self, _: Received) -> None:
        with self._lock:
            pid, self._pid = self._pid, None
            if pid is not None:
                os.kill(pid, signal.SIGKILL)  # the worker waits for this message's reply
                self.kills += 1
        time.sleep(0.02)


@pytest.fixture
def killer() -> Killer:
    """The hook that kills a worker from the mail server."""
    return Killer()


@pytest.fixture
def slow_sink(killer: Killer) -> Iterator[SmtpSink]:
    """A mail server that answers each message 20 ms after keeping it, killing the worker
    that sent it when ``killer`` is armed."""
    with SmtpSink(on_message=killer) as sink:
        yield sink


def sync(path: Path) -> subprocess.Popen[str]:
    """One ``scf sync --once`` worker with short leases."""
    return subprocess.Popen(
        [SCF, "--config", str(path), "sync", "--once", "--lease-seconds", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def rows(w: Any) -> list[Any]:
    """Every notification row."""
    from sqlalchemy import select

    from scf_plugins.store.tables import notifications

    with w.store().read() as conn:
        return list(conn.execute(select(notifications).order_by(notifications.c.id)).all())


def leases_lapsed(w: Any) -> bool:
    """Every lease a killed worker took has run out (the workers' clock is the wall's)."""
    from sqlalchemy import func, select

    from scf_plugins.store.tables import comments, issues, notifications, poll_batches

    now = datetime.now(UTC)
    with w.store().read() as conn:
        ends = [
            conn.execute(select(func.max(t.c.lease_until))).scalar()
            for t in (issues, comments, notifications, poll_batches)
        ]
    return w.emulator.server.in_flight == 0 and all(end is None or end < now for end in ends)


def received_ids(sink: SmtpSink) -> Counter[int]:
    """How many times each notification arrived (by its Message-ID)."""
    found: Counter[int] = Counter()
    for message in sink.received:
        match = re.search(r"scf-notification-(\d+)@", str(message.message["Message-ID"]))
        assert match, message.message["Message-ID"]
        found[int(match.group(1))] += 1
    return found


def test_workers_killed_while_sending_send_no_email_twice(
    world: Any, slow_sink: SmtpSink, killer: Killer
) -> None:
    w = world(latency=0.02, extra="timeout_seconds = 1", tail=MAIL.format(port=slow_sink.port))
    issues: list[int] = []
    killed = 0
    for round_, kill in enumerate(KILLS):
        for issue_id in issues[-12:]:  # closings: a second email for some
            shown = w.show(issue_id)
            if shown["status"] == "acknowledged" and issue_id % 3 == round_ % 3:
                w.emulator.state.staff("close", int(shown["remote_id"]))
        issues += [
            w.report(summary=f"round {round_} #{n}", email=f"r{round_}-{n}@example.org")
            for n in range(8)
        ]
        proc = sync(w.path)
        if kill == HOOK:
            killer.arm(proc.pid)
        else:
            time.sleep(float(kill))  # the moment of the kill: what this test varies
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
        proc.communicate(timeout=60)
        killer.arm(None)  # the worker is gone: its pid may be another process's soon
    assert killed >= 4, "the timed kills must land while passes are running"
    assert killer.kills == KILLS.count(HOOK), "a worker must be killed as each hook round sends"
    for _ in range(3):
        wait_for(lambda: leases_lapsed(w), 30, "the dead workers' leases to lapse")
        proc = sync(w.path)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    arrived = received_ids(slow_sink)
    assert set(arrived.values()) <= {1}, "a message reached the server twice"
    everything = rows(w)
    sent = [r for r in everything if r.sent_at is not None]
    uncertain = [r for r in everything if r.uncertain_at is not None]
    assert uncertain, "a worker killed as its message arrived leaves that message uncertain"
    assert len(sent) + len(uncertain) == len(everything), (
        "a notification neither sent nor uncertain"
    )
    assert all(r.id in arrived for r in sent)
    assert set(arrived) <= {r.id for r in everything}
    # One email per message: an acknowledgement per issue, a closing per closed one.
    kinds = Counter((r.issue_id, r.kind) for r in everything)
    assert set(kinds.values()) == {1}
    assert sum(1 for (_, kind) in kinds if kind == "acknowledged") == len(issues)
    landed = sum(1 for r in uncertain if r.id in arrived)
    print(
        f"\nnotifications: {len(everything)}, workers killed: {killed} after a delay and "
        f"{killer.kills} as a message arrived, ended uncertain: "
        f"{len(uncertain)} (of which {landed} had in fact arrived), sent twice: 0"
    )
