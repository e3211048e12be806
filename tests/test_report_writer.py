"""Reports stored from many threads at once share a transaction on SQLite (group commit):
each thread gets its own id once its report is committed, a report that cannot be stored
fails alone, and the process's writers take turns on one lock before SQLite's."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select

from scf_plugins.models import Answer, NewIssue
from scf_plugins.store.base import writer_lock
from scf_plugins.store.group_commit import GroupCommit
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


def queued_behind_a_write(
    store: Store, group: GroupCommit, reports: list[NewIssue]
) -> dict[int, Any]:
    """Store ``reports`` from a thread each while this thread holds the write lock, so
    the first waits for it and the others queue behind; then let them go. Each report's id,
    or the error its thread got, by position."""
    lock = writer_lock(store.engine)
    assert lock is not None
    outcome: dict[int, Any] = {}

    def send(i: int) -> None:
        try:
            outcome[i] = group.create_issue(reports[i])
        except Exception as exc:
            outcome[i] = exc

    lock.acquire()
    try:
        first = threading.Thread(target=send, args=(0,))
        first.start()
        wait_for(lambda: group.busy, 5, "the first report to be written")
        rest = [threading.Thread(target=send, args=(i,)) for i in range(1, len(reports))]
        for t in rest:
            t.start()
        wait_for(lambda: group.waiting() == len(rest), 5, "the others to queue")
    finally:
        lock.release()
    for t in [first, *rest]:
        t.join(10)
    return outcome


def test_reports_queued_behind_a_write_are_stored_in_one_transaction(basic: Harness) -> None:
    store = basic.store()
    group = GroupCommit(store)
    assert group.grouped
    seen = commits(store)
    outcome = queued_behind_a_write(store, group, [report(n) for n in range(6)])
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


def test_a_report_that_cannot_be_stored_fails_alone(basic: Harness) -> None:
    store = basic.store()
    group = GroupCommit(store)
    # A summary is NOT NULL: the third report's insert fails, and with it its group's.
    reports = [report(0), report(1), dataclasses.replace(report(2), summary=None), report(3)]
    outcome = queued_behind_a_write(store, group, reports)
    assert isinstance(outcome[2], Exception)
    good = [outcome[n] for n in (0, 1, 3)]
    assert all(isinstance(i, int) for i in good)
    with store.read() as conn:
        summaries = sorted(conn.execute(select(issues.c.summary)).scalars())
    assert summaries == ["Pothole 0", "Pothole 1", "Pothole 3"]
    assert group.create_issue(report(4)) > max(good)  # the queue is free again


def test_one_report_alone_is_stored_at_once(basic: Harness) -> None:
    store = basic.store()
    seen = commits(store)
    issue_id = GroupCommit(store).create_issue(report(7))
    record = store.get(issue_id)
    assert record is not None and record.issue.summary == "Pothole 7" and len(seen) == 1


def test_writers_on_one_sqlite_file_share_a_lock(basic: Harness, tmp_path: Any) -> None:
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
