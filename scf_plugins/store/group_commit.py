"""New reports from many threads stored a few at a time in one transaction (group commit).

On SQLite one transaction writes at a time, and each costs a commit (its pages written to the
WAL) and the round trips around it, whatever it holds. When the door's threads each store a
report, a burst makes them queue one transaction each; here the thread that finds no write
under way stores its own report and every report queued behind it, at most
:data:`MOST` in one transaction, then hands over to the next thread waiting, which does the
same. Each thread still returns only once its report is committed, with its own id or its
own error: when a group's transaction fails, its reports are stored again one by one, so one
bad report fails alone.

On another database the threads write concurrently, each its own transaction, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..intake.images import Photo
    from ..models import NewIssue
    from .writes import IssueWrites

MOST = 32  # reports in one transaction: a bounded wait for the first of them


@dataclass
class _Report:
    """One thread's report, and what became of it."""

    new: NewIssue
    photos: Sequence[Photo]
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to write the next group, not because its own is stored
    issue_id: int | None = None
    error: BaseException | None = None


class GroupCommit:
    """:meth:`create_issue` for many threads over one store."""

    def __init__(self, store: IssueWrites) -> None:
        self.store = store
        self.grouped = store.engine.dialect.name == "sqlite"
        self._lock = threading.Lock()  # guards the queue and who writes
        self._queue: list[_Report] = []
        self._writing = False

    def waiting(self) -> int:
        """Reports queued behind the group being written."""
        with self._lock:
            return len(self._queue)

    @property
    def busy(self) -> bool:
        """Whether a group is being written now."""
        return self._writing

    def create_issue(self, new: NewIssue, photos: Sequence[Photo] = ()) -> int:
        """Store a new Open issue with its answers and photos, as
        :meth:`~.writes.IssueWrites.create_issue` does; returns its id once it is committed."""
        if not self.grouped:
            return self.store.create_issue(new, photos)
        mine = _Report(new, photos)
        with self._lock:
            self._queue.append(mine)
            lead = not self._writing
            self._writing = True
        while not lead:
            mine.done.wait()
            if not mine.lead:
                break
            mine.done.clear()
            mine.lead, lead = False, True
        if lead:
            self._write_next()
        if mine.error is not None:
            raise mine.error
        assert mine.issue_id is not None
        return mine.issue_id

    def _write_next(self) -> None:
        """Store the group at the head of the queue (this thread's report is in it, or was
        stored already), then wake the thread that writes the next group, if any."""
        with self._lock:
            group, self._queue = self._queue[:MOST], self._queue[MOST:]
        try:
            _store(self.store, group)
        finally:
            for report in group:
                if report.issue_id is None and report.error is None:  # interrupted
                    report.error = RuntimeError("the report was not stored; send it again")
                report.done.set()
            with self._lock:
                if self._queue:
                    head = self._queue[0]
                    head.lead = True
                    head.done.set()
                else:
                    self._writing = False


def _store(store: IssueWrites, group: list[_Report]) -> None:
    """Store ``group`` in one transaction; when that fails, each report in its own."""
    try:
        ids = store.create_issues([(r.new, r.photos) for r in group])
    except Exception as exc:
        if len(group) == 1:
            group[0].error = exc
            return
    else:
        for report, issue_id in zip(group, ids, strict=True):
            report.issue_id = issue_id
        return
    for report in group:
        try:
            report.issue_id = store.create_issue(report.new, report.photos)
        except Exception as exc:
            report.error = exc
