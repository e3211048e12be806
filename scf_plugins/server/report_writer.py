"""The door's writer on SQLite: one thread stores the reports the event loop has checked,
as many as are waiting in one transaction (group commit).

SQLite writes one transaction at a time, and each costs a commit (its pages written to the
WAL) and the round trips around it, whatever it holds. A report checked on the event loop
(:meth:`~.open311.Open311.check`: no I/O) is queued here; the writer takes every report
waiting, at most :data:`MOST`, stores them in one transaction and hands each request its
own id (or its own error) back on its event loop, once committed. When a group's transaction
fails, its reports are stored again one by one, so one bad report fails alone. No request
holds a thread while it waits, and none waits on SQLite's lock: this process's other writers
(the engine, the console) take turns with the writer on the store's lock
(:func:`~scf_plugins.store.base.writer_lock`).

On PostgreSQL the door stores each report from Starlette's thread pool as before: its
transactions run concurrently there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..intake.images import Photo
    from ..models import NewIssue
    from ..store.store import Store

log = logging.getLogger(__name__)
MOST = 32  # reports in one transaction: a bounded wait for the first of them


@dataclass
class _Report:
    """A queued report, and where its answer goes."""

    new: NewIssue
    photos: Sequence[Photo]
    answer: asyncio.Future[int]
    loop: asyncio.AbstractEventLoop
    issue_id: int | None = None
    error: BaseException | None = None


class ReportWriter:
    """One writer thread over one store, started with the first report."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cond = threading.Condition()
        self._queue: list[_Report] = []
        self._thread: threading.Thread | None = None
        self._writing = False

    async def create_issue(self, new: NewIssue, photos: Sequence[Photo] = ()) -> int:
        """Store a new Open issue with its answers and photos, as
        :meth:`~scf_plugins.store.writes.IssueWrites.create_issue` does; its id, once it is
        committed."""
        loop = asyncio.get_running_loop()
        report = _Report(new, photos, loop.create_future(), loop)
        with self._cond:
            self._queue.append(report)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="door-writer", daemon=True)
                self._thread.start()
            self._cond.notify()
        # A request cancelled meanwhile leaves its report to be stored all the same.
        return await report.answer

    def waiting(self) -> int:
        """Reports queued behind the group being written."""
        with self._cond:
            return len(self._queue)

    @property
    def busy(self) -> bool:
        """Whether a group is being written now."""
        return self._writing

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                group, self._queue = self._queue[:MOST], self._queue[MOST:]
                self._writing = True
            try:
                _store(self.store, group)
            except Exception as exc:  # a fault of this code, not a report's: they fail
                log.error("the door's writer failed: %s", exc)
                for report in group:
                    if report.issue_id is None and report.error is None:
                        report.error = exc
            finally:  # whatever happened (the next report starts a new thread if this ends)
                self._writing = False
                for report in group:
                    if report.issue_id is None and report.error is None:
                        report.error = RuntimeError("the report was not stored; send it again")
                _answer(group)


def _store(store: Store, group: list[_Report]) -> None:
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


def _answer(group: list[_Report]) -> None:
    """Hand each report's outcome to its event loop (one wake-up per loop for the group)."""
    loops: dict[asyncio.AbstractEventLoop, list[_Report]] = {}
    for report in group:
        loops.setdefault(report.loop, []).append(report)
    for loop, reports in loops.items():
        with contextlib.suppress(RuntimeError):  # a closed loop (server stopped): no one waits
            loop.call_soon_threadsafe(_settle, reports)


def _settle(reports: list[_Report]) -> None:
    for report in reports:
        if report.answer.done():  # cancelled
            continue
        if report.error is not None:
            report.answer.set_exception(report.error)
        else:
            assert report.issue_id is not None
            report.answer.set_result(report.issue_id)
