"""The sync engine: one pass keeps every local issue in step with its remote request.

:func:`run_pass` is the whole lifecycle as one function call:

1. **Submit** Open issues routed to an integration (address validation first where
   configured): success acknowledges the issue; failures are recorded with a back-off.
2. **Poll** the Acknowledged issues of each integration in batches, and apply what changed:
   closing, cancelling, activity messages, remote ``To SCF:`` comments.
3. **Push** local comments of Acknowledged issues.
4. **Archive** issues closed longer than ``archive_after_days``.

Remote calls run outside any transaction, on up to ``max_concurrency`` threads per
integration; every write happens on the calling thread, one short transaction at a time, so
SQLite keeps a single writer and a crash loses at most the calls in flight, which the next
pass reconciles (``submit`` looks before it creates again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from . import leases, messages, transitions
from .config import Settings
from .errors import AmbiguousError, RemoteError, ScfError, TransientError
from .models import (
    AddressCheck,
    Comment,
    Integration,
    Issue,
    RemoteState,
    RemoteUpdate,
    Status,
    Tracked,
)
from .plugins import PluginHost
from .redaction import redact
from .schema import comments, issues
from .store import Store, comment_from_row, issue_from_row
from .timeutil import utcnow

log = logging.getLogger(__name__)

# Work is claimed a few rounds of calls at a time: everything claimed must be done well
# before its lease runs out, or another process (or this one) would take it over mid-call.
ROUNDS_PER_CLAIM = 2
BREAKER_AFTER = 5  # consecutive transient failures before an integration is skipped this pass


@dataclass
class PassReport:
    """What one pass did; ``errors`` counts every failed remote operation."""

    submitted: int = 0
    acknowledged: int = 0
    closed: int = 0
    cancelled: int = 0
    activity: int = 0
    comments_in: int = 0
    comments_out: int = 0
    archived: int = 0
    held: int = 0
    errors: int = 0
    polled: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for a log or a terminal."""
        return (
            f"submitted {self.submitted}, acknowledged {self.acknowledged}, closed "
            f"{self.closed}, cancelled {self.cancelled}, comments in {self.comments_in} "
            f"out {self.comments_out}, archived {self.archived}, errors {self.errors} "
            f"({self.seconds:.2f} s)"
        )


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, AmbiguousError):
        return "ambiguous"
    if isinstance(exc, TransientError):
        return "transient"
    return "definite"  # refused, misconfigured, or a plugin bug: retry slowly


def _uncertain(exc: BaseException) -> bool:
    """Whether the remote call may have been carried out (so the retry must look first)."""
    return isinstance(exc, AmbiguousError) or not isinstance(exc, ScfError)


def describe(exc: BaseException) -> str:
    """One redacted line for an error; a plugin's unexpected exception is named as such."""
    if isinstance(exc, ScfError):
        return redact(str(exc))
    return redact(f"unexpected {type(exc).__name__} in the plugin: {exc}")


@dataclass
class Engine:
    """Everything a pass needs. ``clock`` and ``owner`` are injectable for tests and the demo."""

    settings: Settings
    host: PluginHost
    store: Store
    clock: Callable[[], datetime] = utcnow
    owner: str = field(default_factory=leases.worker_id)
    lease: timedelta = leases.DEFAULT_LEASE
    stop: threading.Event = field(default_factory=threading.Event)
    progress: Callable[[str], None] | None = None

    def _say(self, text: str) -> None:
        if self.progress:
            self.progress(text)

    def _failed(self, report: PassReport, where: str, exc: BaseException) -> None:
        report.errors += 1
        text = describe(exc)
        report.problems.append(f"{where}: {text}")
        log.warning("%s: %s", where, text, extra={"error_kind": _error_kind(exc)})

    # -- 1. submit -------------------------------------------------------------------------

    def _claim_submissions(self, integration: Integration, busy: set[int]) -> list[Issue]:
        """Lease the next few Open issues (never one this process is still sending)."""
        now = self.clock()
        with self.store.transaction() as conn:
            rows = leases.claim(
                conn,
                issues,
                [
                    issues.c.status == Status.OPEN.value,
                    issues.c.integration == integration.name,
                    issues.c.remote_id.is_(None),
                    issues.c.held.is_(False),
                    (issues.c.next_attempt_at.is_(None)) | (issues.c.next_attempt_at <= now),
                    issues.c.id.not_in(busy),
                ],
                owner=self.owner,
                now=now,
                lease=self.lease,
                limit=integration.max_concurrency * ROUNDS_PER_CLAIM,
            )
            if not rows:
                return []
            ids = [row["id"] for row in rows]
            answers = self.store.answers_of(conn, ids)
            # The intent: from here on, a create for these issues may reach the remote system.
            conn.execute(
                issues.update()
                .where(issues.c.id.in_(ids), issues.c.lease_owner == self.owner)
                .values(submit_attempted=True)
            )
        return [issue_from_row(row, answers[row["id"]]) for row in rows]

    def _submit_one(
        self, integration: Integration, issue: Issue
    ) -> tuple[str, Any, AddressCheck | None]:
        """Runs on a worker thread: validate the address, then submit. No store access here."""
        check = issue.address_check
        geocoder = self.settings.geocoder_for(integration)
        if geocoder is not None and check is None:
            check = self.host.validate_address(geocoder, issue)
            if check is not None and not check.accepted and geocoder.on_reject == "hold":
                return "held", None, check
        if check is not issue.address_check:
            issue = _with_check(issue, check)
        return "submitted", self.host.submit(integration, issue), check

    def submit(self, integration: Integration, report: PassReport) -> None:
        """Step 1 for one integration.

        Keeps ``max_concurrency`` submissions in flight, claiming the next batch as soon as the
        queue runs dry (not when the batch is done), so no slot idles at batch boundaries.
        """
        queue: deque[Issue] = deque()
        pending: dict[Future[Any], Issue] = {}
        failures_in_a_row = 0
        exhausted = False
        with ThreadPoolExecutor(
            max_workers=integration.max_concurrency, thread_name_prefix=f"submit-{integration.name}"
        ) as pool:
            while True:
                stopping = self.stop.is_set() or failures_in_a_row >= BREAKER_AFTER
                while not stopping and len(pending) < integration.max_concurrency:
                    if not queue and not exhausted:
                        busy = {i.id for i in pending.values()}
                        batch = self._claim_submissions(integration, busy)
                        exhausted = not batch
                        queue.extend(batch)
                        if batch:
                            self._say(f"{integration.name}: submitting {len(batch)} more")
                    if not queue:
                        break
                    issue = queue.popleft()
                    pending[pool.submit(self._submit_one, integration, issue)] = issue
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    issue = pending.pop(future)
                    kind = self._apply_submission(integration, issue, future, report)
                    failures_in_a_row = failures_in_a_row + 1 if kind == "transient" else 0
        if failures_in_a_row >= BREAKER_AFTER:
            report.problems.append(
                f"{integration.name}: {failures_in_a_row} failures in a row; "
                f"the rest waits for the next pass"
            )
        if queue:
            self._release(list(queue))

    def _release(self, unsent: list[Issue]) -> None:
        """Give back claimed issues that were never sent, with their intent mark undone."""
        with self.store.transaction() as conn:
            for issue in unsent:
                conn.execute(
                    issues.update()
                    .where(issues.c.id == issue.id, issues.c.lease_owner == self.owner)
                    .values(submit_attempted=issue.submit_attempted)
                )
            leases.release(conn, issues, [i.id for i in unsent], self.owner)

    def _apply_submission(
        self, integration: Integration, issue: Issue, future: Future[Any], report: PassReport
    ) -> str | None:
        now = self.clock()
        try:
            outcome, submission, check = future.result()
        except Exception as exc:  # a plugin bug must cost one issue a retry, not the pass
            kind = _error_kind(exc)
            self._failed(report, f"issue {issue.id} ({integration.name})", exc)
            with self.store.transaction() as conn:
                transitions.record_failure(
                    conn,
                    issue.id,
                    self.owner,
                    kind,
                    describe(exc),
                    now,
                    submit_attempted=issue.submit_attempted or _uncertain(exc),
                )
            return kind
        if outcome == "held":
            report.held += 1
            reason = check.reason if check else "not verified"
            template = (
                self.settings.organization.address_rejected_message
                or messages.DEFAULTS["address_rejected"]
            )
            note = messages.render(
                template,
                "address_rejected",
                issue_id=issue.id,
                address=issue.address or "",
                reason=reason,
            )
            with self.store.transaction() as conn:
                transitions.record_failure(
                    conn,
                    issue.id,
                    self.owner,
                    "held",
                    note,
                    now,
                    submit_attempted=issue.submit_attempted,
                    check=check,
                    held=True,
                )
            return None
        with self.store.transaction() as conn:
            if transitions.acknowledge(
                conn,
                self.settings,
                integration,
                issue,
                self.owner,
                submission.remote_id,
                submission.status,
                now,
                check,
            ):
                report.acknowledged += 1
                report.submitted += int(submission.created)
                log.info(
                    "issue %s acknowledged as %s",
                    issue.id,
                    submission.remote_id,
                    extra={
                        "integration": integration.name,
                        "issue_id": issue.id,
                        "remote_id": submission.remote_id,
                        "transition": "acknowledged",
                    },
                )
        return None

    # -- 2. poll ---------------------------------------------------------------------------

    def _poll_batches(self, integration: Integration) -> Iterator[list[dict[str, Any]]]:
        last_id = 0
        while not self.stop.is_set():
            now = self.clock()
            with self.store.transaction() as conn:
                rows = [
                    dict(r)
                    for r in leases.claim(
                        conn,
                        issues,
                        [
                            issues.c.status == Status.ACKNOWLEDGED.value,
                            issues.c.integration == integration.name,
                            issues.c.id > last_id,
                        ],
                        owner=self.owner,
                        now=now,
                        lease=self.lease,
                        limit=integration.poll_batch_size,
                    )
                ]
            if not rows:
                return
            last_id = rows[-1]["id"]
            yield rows

    def poll(self, integration: Integration, report: PassReport) -> None:
        """Step 2 for one integration.

        Up to ``max_concurrency`` batches are in flight while earlier ones are applied, so the
        remote round trips overlap the local work; batches are applied in the order claimed.
        """
        batches = self._poll_batches(integration)
        in_flight: deque[tuple[list[dict[str, Any]], Future[list[RemoteUpdate]]]] = deque()
        with ThreadPoolExecutor(
            max_workers=integration.max_concurrency, thread_name_prefix=f"poll-{integration.name}"
        ) as pool:

            def fill() -> None:
                while len(in_flight) < integration.max_concurrency and not self.stop.is_set():
                    rows = next(batches, None)
                    if rows is None:
                        return
                    tracked = [Tracked(int(r["id"]), str(r["remote_id"])) for r in rows]
                    in_flight.append((rows, pool.submit(self.host.poll, integration, tracked)))

            fill()
            while in_flight:
                rows, future = in_flight.popleft()
                self._say(f"{integration.name}: polling {report.polled + len(rows)}")
                try:
                    updates = future.result()
                except Exception as exc:  # a plugin bug costs this batch a retry, not the pass
                    self._failed(report, f"poll {integration.name}", exc)
                    abandoned = [r["id"] for r in rows]
                    down = isinstance(exc, RemoteError) and _error_kind(exc) == "transient"
                    if down:  # drop what is in flight; the next pass tries again
                        for more, pending in in_flight:
                            pending.cancel()
                            abandoned += [r["id"] for r in more]
                        in_flight.clear()
                    with self.store.transaction() as conn:
                        leases.release(conn, issues, abandoned, self.owner)
                    if down:
                        return
                    fill()
                    continue
                report.polled += len(rows)
                self._apply_updates(integration, rows, updates, report)
                fill()

    def _apply_updates(
        self,
        integration: Integration,
        rows: list[dict[str, Any]],
        updates: list[RemoteUpdate],
        report: PassReport,
    ) -> None:
        now = self.clock()
        by_id = {r["id"]: r for r in rows}
        seen: transitions.Seen | None = None
        with self.store.transaction() as conn:
            for update in updates:
                row = by_id.get(update.issue_id)
                if row is None or str(row["remote_id"]) != update.remote_id:
                    continue
                if update.state is RemoteState.MISSING:
                    error = (
                        f"remote request {update.remote_id} no longer exists in {integration.name}"
                    )
                    if row["last_error"] != error:
                        report.errors += 1
                        report.problems.append(f"issue {row['id']}: {error}")
                        conn.execute(
                            issues.update()
                            .where(issues.c.id == row["id"])
                            .values(last_error=error, last_error_kind="definite", updated_at=now)
                        )
                    continue
                if update.fields or update.comments:
                    seen = seen or transitions.seen_for(conn, list(by_id))
                    for field_name, value in update.fields:
                        report.activity += transitions.announce(
                            conn, self.settings, integration, row, field_name, value, now, seen
                        )
                    for comment in update.comments:
                        report.comments_in += transitions.pull_comment(
                            conn, integration, row, comment, now, seen
                        )
                if update.state is RemoteState.CLOSED:
                    if transitions.close(conn, self.settings, integration, row, update.status, now):
                        report.closed += 1
                        _log_transition(integration, row, "closed")
                elif update.state is RemoteState.CANCELED:
                    if transitions.cancel(
                        conn, self.settings, integration, row, update.status, now
                    ):
                        report.cancelled += 1
                        _log_transition(integration, row, "cancelled")
                elif update.status != row["remote_status"] or row["last_error"]:
                    conn.execute(
                        issues.update()
                        .where(issues.c.id == row["id"])
                        .values(remote_status=update.status, last_error=None, last_error_kind=None)
                    )
            leases.release(conn, issues, list(by_id), self.owner)

    # -- 3. comments out ---------------------------------------------------------------------

    def _claim_comments(self, integration: Integration) -> list[tuple[Comment, Issue]]:
        now = self.clock()
        with self.store.transaction() as conn:
            acknowledged = select(issues.c.id).where(
                issues.c.status == Status.ACKNOWLEDGED.value,
                issues.c.integration == integration.name,
            )
            rows = leases.claim(
                conn,
                comments,
                [
                    comments.c.kind == "comment",
                    comments.c.pushed_at.is_(None),
                    comments.c.issue_id.in_(acknowledged),
                    (comments.c.next_attempt_at.is_(None)) | (comments.c.next_attempt_at <= now),
                ],
                owner=self.owner,
                now=now,
                lease=self.lease,
                limit=integration.max_concurrency * ROUNDS_PER_CLAIM,
            )
            if not rows:
                return []
            ids = [row["id"] for row in rows]
            conn.execute(
                comments.update().where(comments.c.id.in_(ids)).values(push_attempted=True)
            )
            issue_ids = sorted({r["issue_id"] for r in rows})
            issue_rows = {
                r["id"]: r
                for r in conn.execute(select(issues).where(issues.c.id.in_(issue_ids))).mappings()
            }
        return [(comment_from_row(r), issue_from_row(issue_rows[r["issue_id"]])) for r in rows]

    def push_comments(self, integration: Integration, report: PassReport) -> None:
        """Step 3 for one integration."""
        with ThreadPoolExecutor(
            max_workers=integration.max_concurrency,
            thread_name_prefix=f"comments-{integration.name}",
        ) as pool:
            while not self.stop.is_set():
                batch = self._claim_comments(integration)
                if not batch:
                    return
                futures = {
                    pool.submit(self.host.push_comment, integration, issue, comment): (
                        comment,
                        issue,
                    )
                    for comment, issue in batch
                }
                failures = 0
                for future in list(futures):
                    comment, issue = futures[future]
                    now = self.clock()
                    try:
                        remote_id = future.result()
                    except Exception as exc:  # a plugin bug costs this comment a retry
                        failures += 1
                        self._failed(report, f"comment {comment.id} of issue {issue.id}", exc)
                        kind = _error_kind(exc)
                        with self.store.transaction() as conn:
                            attempts = (
                                conn.execute(
                                    select(comments.c.attempts).where(comments.c.id == comment.id)
                                ).scalar()
                                or 0
                            )
                            conn.execute(
                                comments.update()
                                .where(comments.c.id == comment.id)
                                .values(
                                    attempts=attempts + 1,
                                    last_error=describe(exc)[:2000],
                                    next_attempt_at=now + transitions.backoff(kind, attempts + 1),
                                    push_attempted=comment.push_attempted or _uncertain(exc),
                                    lease_owner=None,
                                    lease_until=None,
                                )
                            )
                        continue
                    with self.store.transaction() as conn:
                        conn.execute(
                            comments.update()
                            .where(
                                comments.c.id == comment.id, comments.c.lease_owner == self.owner
                            )
                            .values(
                                remote_id=remote_id,
                                pushed_at=now,
                                last_error=None,
                                remote_key=f"{integration.name}:{issue.remote_id}:{remote_id}",
                                lease_owner=None,
                                lease_until=None,
                            )
                        )
                    report.comments_out += 1
                if failures == len(batch):
                    return  # nothing went through: leave the rest for the next pass

    # -- 4. archive --------------------------------------------------------------------------

    def archive(self, report: PassReport) -> None:
        """Step 4: Closed -> Archived after ``archive_after_days``."""
        after = timedelta(days=self.settings.organization.archive_after_days)
        with self.store.transaction() as conn:
            report.archived += transitions.archive(conn, self.clock(), after)

    # -- the pass ----------------------------------------------------------------------------

    def run_pass(self) -> PassReport:
        """One whole pass over every integration; never raises for a remote failure."""
        report = PassReport()
        started = time.perf_counter()
        for integration in self.settings.integrations.values():
            for step in (self.submit, self.poll, self.push_comments):
                if self.stop.is_set():
                    break
                try:
                    step(integration, report)
                except Exception as exc:  # one broken integration never blocks the others
                    self._failed(report, f"{integration.name} {step.__name__}", exc)
        if not self.stop.is_set():
            self.archive(report)
        report.seconds = time.perf_counter() - started
        log.info("pass: %s", report.summary(), extra={"event": "pass"})
        return report


def run_pass(settings: Settings, host: PluginHost, store: Store, **options: Any) -> PassReport:
    """Run one sync pass (submit, poll, push comments, archive) for every integration.

    :param options: :class:`Engine` fields (``clock``, ``owner``, ``lease``, ``stop``,
        ``progress``).
    :returns: what the pass did, including every error it met (it never raises for them).
    """
    return Engine(settings, host, store, **options).run_pass()


def _with_check(issue: Issue, check: AddressCheck | None) -> Issue:
    import dataclasses

    return dataclasses.replace(issue, address_check=check)


def _log_transition(integration: Integration, row: dict[str, Any], transition: str) -> None:
    log.info(
        "issue %s %s",
        row["id"],
        transition,
        extra={
            "integration": integration.name,
            "issue_id": row["id"],
            "remote_id": row["remote_id"],
            "transition": transition,
        },
    )
