"""The door's writer on SQLite: reports waiting while one is written share the next
transaction (group commit), each request gets its own id once its report is committed, a
report that cannot be stored fails alone, and the process's writers take turns on one lock
before SQLite's."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select

from scf_plugins.models import Answer, NewIssue
from scf_plugins.server.report_writer import ReportWriter
from scf_plugins.store.base import writer_lock
from scf_plugins.store.links import marker_of
from scf_plugins.store.store import Store
from scf_plugins.store.tables import answers, issues
from scf_plugins.testing import Harness
from scf_plugins.testing.waiting import wait_for


def report(n: int) -> NewIssue:
    """A report numbered ``n``, with one answer."""
    return NewIssue(
        request_type="POTHOLE",
        integration="cityworks",
        type_ref="101",
        summary=f"Pothole {n}",
        lat=41.3,
        lng=-72.9,
        answers=(Answer("501", "Is it in the road?", f"Yes {n}"),),
    )


def commits(store: Store) -> list[int]:
    """A list that grows by one each time the store commits."""
    seen: list[int] = []
    event.listen(store.engine, "commit", lambda conn: seen.append(1))
    return seen


def sqlite_only(store: Store) -> None:
    """The door's writer thread serves SQLite stores only: on PostgreSQL, reports are written
    concurrently from the thread pool, so these tests have nothing to show there."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("the door's report writer serves SQLite stores only")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own (the server's, in these tests)."""
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, daemon=True)
    thread.start()
    yield running
    running.call_soon_threadsafe(running.stop)
    thread.join(10)
    running.close()


def queued_behind_a_write(
    store: Store,
    writer: ReportWriter,
    loop: asyncio.AbstractEventLoop,
    reports: list[NewIssue],
) -> dict[int, Any]:
    """Send ``reports`` to ``writer`` from ``loop`` while this thread holds the write lock:
    the first is written alone (and waits for the lock), the others queue behind it; then
    let them go. Each report's id, or the error its request got, by position."""
    lock = writer_lock(store.engine)
    assert lock is not None

    def send(new: NewIssue) -> Future[int]:
        return asyncio.run_coroutine_threadsafe(writer.create_issue(new), loop)

    lock.acquire()
    try:
        sent = [send(reports[0])]
        wait_for(lambda: writer.busy and not writer.waiting(), 5, "the first to be written")
        sent += [send(new) for new in reports[1:]]
        wait_for(lambda: writer.waiting() == len(reports) - 1, 5, "the others to queue")
    finally:
        lock.release()
    outcome: dict[int, Any] = {}
    for i, answer in enumerate(sent):
        try:
            outcome[i] = answer.result(10)
        except Exception as exc:
            outcome[i] = exc
    return outcome


def test_reports_queued_behind_a_write_are_stored_in_one_transaction(
    basic: Harness, loop: asyncio.AbstractEventLoop
) -> None:
    store = basic.store()
    sqlite_only(store)
    writer = ReportWriter(store)
    seen = commits(store)
    outcome = queued_behind_a_write(store, writer, loop, [report(n) for n in range(6)])
    assert len(seen) == 2  # the first report's transaction, then the five queued behind it
    ids = [outcome[n] for n in range(6)]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 6
    with store.read() as conn:
        rows = {r.id: r for r in conn.execute(select(issues)).all()}
        stored = dict(conn.execute(select(answers.c.issue_id, answers.c.answer)).all())
    for n, issue_id in enumerate(ids):
        row = rows[issue_id]
        assert row.summary == f"Pothole {n}" and row.status == "open" and row.generation == 1
        assert marker_of(row._mapping).endswith(f"-{issue_id}-1")
        assert stored[issue_id] == f"Yes {n}"


def test_a_report_that_cannot_be_stored_fails_alone(
    basic: Harness, loop: asyncio.AbstractEventLoop
) -> None:
    store = basic.store()
    sqlite_only(store)
    writer = ReportWriter(store)
    # A summary is NOT NULL: the third report's insert fails, and with it its group's.
    reports = [report(0), report(1), dataclasses.replace(report(2), summary=None), report(3)]
    outcome = queued_behind_a_write(store, writer, loop, reports)
    assert isinstance(outcome[2], Exception)
    good = [outcome[n] for n in (0, 1, 3)]
    assert all(isinstance(i, int) for i in good)
    with store.read() as conn:
        summaries = sorted(conn.execute(select(issues.c.summary)).scalars())
    assert summaries == ["Pothole 0", "Pothole 1", "Pothole 3"]
    later = asyncio.run_coroutine_threadsafe(writer.create_issue(report(4)), loop).result(10)
    assert later > max(good)  # the writer goes on


def test_one_report_alone_is_stored_at_once(basic: Harness) -> None:
    store = basic.store()
    seen = commits(store)
    issue_id = asyncio.run(ReportWriter(store).create_issue(report(7)))
    record = store.get(issue_id)
    assert record is not None and record.issue.summary == "Pothole 7" and len(seen) == 1


def test_writers_on_one_sqlite_file_share_a_lock(basic: Harness, tmp_path: Any) -> None:
    sqlite_only(basic.store())
    url = basic.settings.organization.database
    first, second = basic.store(), Store.open(url)
    try:
        assert writer_lock(first.engine) is writer_lock(second.engine) is not None
    finally:
        second.close()
    elsewhere = create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    assert writer_lock(elsewhere) is not writer_lock(first.engine)
    memory = [create_engine("sqlite://"), create_engine("sqlite://")]
    assert writer_lock(memory[0]) is not writer_lock(memory[1])


@pytest.mark.parametrize("url", ["postgresql+psycopg://scf@localhost/scf"])
def test_other_databases_write_concurrently(url: str) -> None:
    pytest.importorskip("psycopg")
    assert writer_lock(create_engine(url)) is None
