"""Step 3 of a pass: push local comments of Acknowledged issues, each once."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from . import circuits, leases, transitions
from .links import Scope
from .models import Comment, Integration, Issue, Status
from .outcomes import PassReport, describe, error_kind, uncertain
from .schema import comments, fit, issues
from .store import comment_from_row, issue_from_row

if TYPE_CHECKING:
    from .sync import Engine


log = logging.getLogger(__name__)


def _claim(engine: Engine, integration: Integration) -> list[tuple[Comment, Issue]]:
    now = engine.clock()
    with engine.store.transaction() as conn:
        acknowledged = select(issues.c.id).where(
            issues.c.status == Status.ACKNOWLEDGED.value,
            # Only to links made on the live environment and endpoint (old links are adopted
            # by the poll that runs before this step, once their marker is verified).
            Scope.live(integration).condition(),
            issues.c.attention_kind.is_distinct_from("mismatch"),
        )
        rows = leases.claim(
            conn,
            comments,
            [
                comments.c.kind == "comment",
                comments.c.pushed_at.is_(None),
                comments.c.kept_here.is_(None),
                comments.c.issue_id.in_(acknowledged),
                (comments.c.next_attempt_at.is_(None)) | (comments.c.next_attempt_at <= now),
                # A push that may still be in flight (its sender killed) is looked up only
                # once it cannot be (see submitting._settled).
                or_(
                    comments.c.push_attempted.is_(False),
                    comments.c.push_attempted_at.is_(None),
                    comments.c.push_attempted_at
                    <= now - timedelta(seconds=integration.timeout_seconds),
                ),
            ],
            owner=engine.owner,
            now=now,
            lease=engine.lease,
            limit=integration.max_concurrency * leases.ROUNDS_PER_CLAIM,
        )
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        conn.execute(
            comments.update()
            .where(comments.c.id.in_(ids))
            .values(push_attempted=True, push_attempted_at=now)
        )
        issue_ids = sorted({r["issue_id"] for r in rows})
        issue_rows = {
            r["id"]: r
            for r in conn.execute(select(issues).where(issues.c.id.in_(issue_ids))).mappings()
        }
    return [(comment_from_row(r), issue_from_row(issue_rows[r["issue_id"]])) for r in rows]


def keep_here(engine: Engine, integration: Integration) -> int:
    """Mark the local comments of an integration that takes none (``push_comments`` False)
    as kept here, once: not sent, not counted, never retried. Returns how many."""
    reason = f"kept here: {integration.plugin} has no comment API"
    with engine.store.transaction() as conn:
        mine = select(issues.c.id).where(issues.c.integration == integration.name)
        return int(
            conn.execute(
                comments.update()
                .where(
                    comments.c.kind == "comment",
                    comments.c.pushed_at.is_(None),
                    comments.c.kept_here.is_(None),
                    comments.c.issue_id.in_(mine),
                )
                .values(kept_here=reason)
            ).rowcount
        )


def push_comments(engine: Engine, integration: Integration, report: PassReport) -> None:
    """Step 3 for one integration."""
    if not engine.host.capabilities(integration).push_comments:
        keep_here(engine, integration)
        return
    with engine.workers(f"comments-{integration.name}", integration.max_concurrency) as pool:
        while not engine.stop.is_set() and not engine.tripped(integration):
            batch = _claim(engine, integration)
            if not batch:
                return
            futures = {
                pool.submit(engine.host.push_comment, integration, issue, comment): (
                    comment,
                    issue,
                )
                for comment, issue in batch
            }
            failures = 0
            for future in list(futures):
                comment, issue = futures[future]
                now = engine.clock()
                try:
                    remote_id = future.result()
                except Exception as exc:  # a plugin bug costs this comment a retry
                    failures += 1
                    if circuits.integration_wide(exc):
                        # Down as a whole: nothing was sent; the comment is not charged.
                        engine.trip(integration, exc, report)
                        with engine.store.transaction() as conn:
                            conn.execute(
                                comments.update()
                                .where(comments.c.id == comment.id)
                                .values(
                                    push_attempted=comment.push_attempted,
                                    push_attempted_at=None,
                                    lease_owner=None,
                                    lease_until=None,
                                )
                            )
                        continue
                    engine.failed(
                        report,
                        f"comment {comment.id} of issue {issue.id}",
                        exc,
                        integration=integration.name,
                        issue_id=issue.id,
                    )
                    engine.pause(integration, exc)
                    kind = error_kind(exc)
                    with engine.store.transaction() as conn:
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
                                next_attempt_at=now
                                + transitions.backoff(
                                    kind, attempts + 1, getattr(exc, "retry_after", None)
                                ),
                                push_attempted=comment.push_attempted or uncertain(exc),
                                # This process saw the push end: nothing of it is in flight.
                                push_attempted_at=None,
                                lease_owner=None,
                                lease_until=None,
                            )
                        )
                    continue
                with engine.store.transaction() as conn:
                    conn.execute(
                        comments.update()
                        .where(comments.c.id == comment.id, comments.c.lease_owner == engine.owner)
                        .values(
                            remote_id=fit(comments.c.remote_id, remote_id),
                            pushed_at=now,
                            last_error=None,
                            remote_key=fit(
                                comments.c.remote_key,
                                f"{integration.name}:{issue.remote_id}:{remote_id}",
                            ),
                            lease_owner=None,
                            lease_until=None,
                        )
                    )
                report.comments_out += 1
            if failures == len(batch):
                return  # nothing went through: leave the rest for the next pass
