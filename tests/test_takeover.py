"""In-flight work after a crash is looked up at once: a create, comment or photo a dead worker
left in flight is looked up by its marker in the first pass of the worker that takes it over.
Found, it is linked (or marked sent) at once; not found, it waits out the call timeout,
counted from when it was sent, and only then goes, once. Never a duplicate.

The first tests leave the dead worker's state in the store by hand (a claim whose lease ran
out, the intent and its time set); the slow ones kill a real ``scf sync`` with SIGKILL."""

from __future__ import annotations

import collections
import io
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Table

from scf_plugins.store.tables import attachments, comments, issues
from scf_plugins.testing import wait_for

SCF = str(Path(sys.executable).parent / "scf")
CREATE = "ams/servicerequest/create"
LOOKUP = "ams/servicerequest/byothersystemid"
ELSEWHERE = "elsewhere:0badb007:4242:abcdef"  # a worker on another machine, lease run out


def calls(w: Any, path: str) -> int:
    return int(w.emulator.state.counts[path])


def died_sending(w: Any, table: Table, row_id: int, attempted: str) -> None:
    """Leave ``row_id`` as a worker that died mid-call does: its intent and when it sent,
    no back-off, and a lease that has run out."""
    now = w.clock.now
    with w.store().transaction() as conn:
        conn.execute(
            table.update()
            .where(table.c.id == row_id)
            .values(
                **{attempted: True, f"{attempted}_at": now - timedelta(seconds=1)},
                next_attempt_at=None,
                lease_owner=ELSEWHERE,
                lease_until=now - timedelta(seconds=1),
            )
        )


def markers(w: Any) -> list[str]:
    return [r["OtherSystemId"] for r in w.emulator.state.requests.values()]


def test_a_create_that_landed_is_linked_in_the_first_pass(world: Any) -> None:
    w = world()
    issue_id = w.report()
    w.emulator.state.inject("drop_after_commit", count=1, match="servicerequest/create")
    assert w.sync().acknowledged == 0  # created remotely, the answer lost
    died_sending(w, issues, issue_id, "submit_attempted")
    report = w.sync()  # the same moment: no waiting out the call timeout
    assert report.acknowledged == 1 and report.submitted == 0 and report.errors == 0
    assert calls(w, CREATE) == 1 and len(markers(w)) == 1
    assert w.show(issue_id)["status"] == "acknowledged"


def test_a_create_that_did_not_land_waits_the_timeout_then_goes_once(world: Any) -> None:
    w = world()
    issue_id = w.report()
    died_sending(w, issues, issue_id, "submit_attempted")
    assert w.sync().acknowledged == 0
    assert (calls(w, LOOKUP), calls(w, CREATE)) == (1, 0)  # looked up, not sent
    shown = w.show(issue_id)["sync"]
    assert shown["attempts"] == 0 and shown["last_error"] is None  # not charged
    assert w.sync().acknowledged == 0
    assert calls(w, LOOKUP) == 1  # it waits: not looked up again every pass

    # Retried by hand meanwhile: looked up again, still not sent while it may be under way.
    said = w.cli_ok("issues", "retry", str(issue_id)).output
    assert "1 may have been created by a worker that stopped mid-call" in said
    assert w.sync().acknowledged == 0
    assert (calls(w, LOOKUP), calls(w, CREATE)) == (2, 0)

    w.later(seconds=31)  # past timeout_seconds (30) since it was sent
    assert w.sync().acknowledged == 1
    assert calls(w, CREATE) == 1 and len(markers(w)) == 1


def comment_on(w: Any, issue_id: int, text: str) -> int:
    w.cli_ok("comment", str(issue_id), text)
    with w.store().read() as conn:
        return int(
            conn.execute(
                comments.select()
                .with_only_columns(comments.c.id)
                .where(comments.c.issue_id == issue_id, comments.c.kind == "comment")
            ).scalar_one()
        )


def remote_comments(w: Any, issue_id: int) -> list[str]:
    return [c["Comments"] for c in w.emulator.state.comments.get(w.remote_id(issue_id), [])]


def test_a_comment_that_landed_is_marked_sent_in_the_first_pass(world: Any) -> None:
    w = world()
    issue_id = w.report()
    assert w.sync().acknowledged == 1
    comment_id = comment_on(w, issue_id, "the hole is deeper now")
    w.emulator.state.inject("drop_after_commit", count=1, match="comment/add")
    assert w.sync().comments_out == 0  # added remotely, the answer lost
    died_sending(w, comments, comment_id, "push_attempted")
    assert w.sync().comments_out == 1  # found at once
    assert sum("the hole is deeper now" in t for t in remote_comments(w, issue_id)) == 1


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (255, 0, 0)).save(out, "JPEG")
    return out.getvalue()


def test_a_photo_that_did_not_land_waits_the_timeout_then_goes_once(
    world: Any, tmp_path: Path
) -> None:
    w = world()
    path = tmp_path / "hole.jpg"
    path.write_bytes(jpeg())
    issue_id = w.report(image=str(path))
    assert w.sync().photos_out == 1
    with w.store().transaction() as conn:  # as if it had not been sent yet
        photo_id = int(conn.execute(attachments.select().with_only_columns(attachments.c.id))
                       .scalar_one())  # fmt: skip
        back = attachments.update().values(pushed_at=None, remote_id=None)
        conn.execute(back.where(attachments.c.id == photo_id))
    w.emulator.state.attachments.clear()
    died_sending(w, attachments, photo_id, "push_attempted")
    assert w.sync().photos_out == 0  # looked for, not found: it may still be uploading
    assert not w.emulator.state.attachments
    w.later(seconds=31)
    assert w.sync().photos_out == 1
    [sent] = w.emulator.state.attachments[w.remote_id(issue_id)]
    assert sent["Attachment"]


# -- a real worker killed with SIGKILL ----------------------------------------------------------


def start_sync(w: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SCF, "--config", str(w.path), "sync", "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def kill_when_sent(w: Any, proc: subprocess.Popen[str], creates: int) -> None:
    """SIGKILL the worker once the emulator got ``creates`` creates (all still running)."""

    def sent() -> bool:
        assert proc.poll() is None, "scf sync ended before it was killed"
        return calls(w, CREATE) >= creates

    wait_for(sent, 30, f"{creates} creates")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def no_duplicate(w: Any, count: int) -> None:
    found = collections.Counter(markers(w))
    assert len(found) == count and set(found.values()) == {1}, found


@pytest.mark.slow
def test_sigkill_mid_create_every_create_landed(world: Any) -> None:
    w = world(latency=0.3)
    ids = [w.report(summary=f"kill {n}") for n in range(4)]  # max_concurrency: all at once
    proc = start_sync(w)
    kill_when_sent(w, proc, 4)
    wait_for(lambda: w.emulator.server.in_flight == 0, 10, "the dead worker's creates to land")
    assert len(w.emulator.state.requests) == 4
    w.emulator.state.latency = 0.0
    restarted = start_sync(w)  # a worker on this machine: it takes the claims over at once
    out, err = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, err
    assert all(w.show(i)["status"] == "acknowledged" for i in ids), out
    assert calls(w, CREATE) == 4
    no_duplicate(w, 4)


@pytest.mark.slow
def test_sigkill_mid_create_some_did_not_land(world: Any) -> None:
    w = world(latency=0.3)
    ids = [w.report(summary=f"kill {n}") for n in range(12)]  # claimed at once, 4 sent at once
    proc = start_sync(w)
    kill_when_sent(w, proc, 1)
    wait_for(lambda: w.emulator.server.in_flight == 0, 10, "the dead worker's creates to land")
    landed = len(w.emulator.state.requests)
    assert 1 <= landed < 12
    w.emulator.state.latency = 0.0
    report = w.sync()
    assert report.acknowledged == landed and report.errors == 0
    assert calls(w, CREATE) == landed  # the others wait: they might still be under way
    assert w.sync().acknowledged == 0
    w.clock.now = datetime.now(UTC) + timedelta(seconds=31)  # past timeout_seconds (30)
    assert w.sync().acknowledged == 12 - landed
    assert all(w.show(i)["status"] == "acknowledged" for i in ids)
    no_duplicate(w, 12)


@pytest.mark.slow
def test_sigkill_while_the_creates_are_still_under_way_remotely(world: Any) -> None:
    """The dangerous case: the worker that takes over looks while the dead one's creates are
    still being carried out. It finds nothing, and must not send them again."""
    w = world()
    w.emulator.state.slow_seconds = 3.0
    ids = [w.report(summary=f"slow {n}") for n in range(4)]
    w.emulator.state.inject("slow", count=4, match="servicerequest/create")
    proc = start_sync(w)
    kill_when_sent(w, proc, 4)
    report = w.sync()  # while the emulator still works on them
    assert report.acknowledged == 0 and calls(w, CREATE) == 4
    wait_for(lambda: w.emulator.server.in_flight == 0, 10, "the dead worker's creates to land")
    assert len(w.emulator.state.requests) == 4
    assert w.sync().acknowledged == 0 and calls(w, CREATE) == 4
    w.clock.now = datetime.now(UTC) + timedelta(seconds=31)
    assert w.sync().acknowledged == 4
    assert calls(w, CREATE) == 4 and all(w.show(i)["status"] == "acknowledged" for i in ids)
    no_duplicate(w, 4)
