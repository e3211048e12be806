"""Reading issues: one with everything ``issues show`` needs, listings, and id selections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from ..models import Answer, Status
from .base import StoreBase
from .rows import ATTACHMENT_INFO, AttachmentInfo, IssueRecord, comment_from_row, issue_from_row
from .tables import answers, attachments, comments, issues


class IssueReads(StoreBase):
    """The queries behind ``scf issues`` and the Open311 GETs."""

    def answers_of(self, conn: Connection, issue_ids: Sequence[int]) -> dict[int, list[Answer]]:
        """The answers of several issues, in their stored order."""
        out: dict[int, list[Answer]] = {i: [] for i in issue_ids}
        if not issue_ids:
            return out
        rows = conn.execute(
            select(answers)
            .where(answers.c.issue_id.in_(issue_ids))
            .order_by(answers.c.issue_id, answers.c.position)
        ).mappings()
        for r in rows:
            out[r["issue_id"]].append(
                Answer(r["question_id"], r["question"], r["answer"], bool(r["private"]), r["ref"])
            )
        return out

    def get(self, issue_id: int) -> IssueRecord | None:
        """An issue with its comments and sync state, or None."""
        with self.read() as conn:
            row = conn.execute(select(issues).where(issues.c.id == issue_id)).mappings().first()
            if row is None:
                return None
            issue = issue_from_row(row, self.answers_of(conn, [issue_id])[issue_id])
            rows = conn.execute(
                select(comments).where(comments.c.issue_id == issue_id).order_by(comments.c.id)
            ).mappings()
            return IssueRecord(
                issue=issue,
                integration=row["integration"],
                remote_status=row["remote_status"],
                comments=tuple(comment_from_row(r) for r in rows),
                attempts=row["attempts"],
                next_attempt_at=row["next_attempt_at"],
                last_error=row["last_error"],
                last_error_kind=row["last_error_kind"],
                held=bool(row["held"]),
                attention=row["attention"],
                attention_kind=row["attention_kind"],
                link_environment=row["link_environment"],
                link_endpoint=row["link_endpoint"],
                lease_owner=row["lease_owner"],
                lease_until=row["lease_until"],
                reporter_phone=row["reporter_phone"],
                reported_via=row["reported_via"],
                pending_token=row["pending_token"],
                pending_since=row["pending_since"],
                attachments=tuple(
                    AttachmentInfo(**r)
                    for r in conn.execute(
                        select(*ATTACHMENT_INFO)
                        .where(attachments.c.issue_id == issue_id)
                        .order_by(attachments.c.id)
                    ).mappings()
                ),
            )

    def list(
        self,
        status: str | None = None,
        *,
        stuck_after: int | None = None,
        attention: bool = False,
        limit: int = 1000,
    ) -> list[RowMapping]:
        """Issue rows, newest first; ``status`` filters, ``stuck_after`` keeps failing ones
        (and those waiting for a person), ``attention`` only those waiting for a person."""
        query = select(issues).order_by(issues.c.id.desc()).limit(limit)
        if status:
            query = query.where(issues.c.status == status)
        if attention:
            query = query.where(issues.c.attention.is_not(None))
        if stuck_after is not None:
            query = query.where(
                ((issues.c.attempts >= stuck_after) & issues.c.last_error.is_not(None))
                | issues.c.attention.is_not(None)
            )
        with self.read() as conn:
            return list(conn.execute(query).mappings())

    def rows(self, issue_ids: Sequence[int]) -> Sequence[RowMapping]:
        """Issue rows by id, newest first."""
        if not issue_ids:
            return []
        with self.read() as conn:
            query = select(issues).where(issues.c.id.in_(list(issue_ids)))
            return list(conn.execute(query.order_by(issues.c.id.desc())).mappings())

    def select_ids(
        self, which: str, integration: str | None = None, stuck_after: int = 5
    ) -> Sequence[int]:
        """The ids of the issues ``which`` names: ``failing`` (the last attempt failed),
        ``stuck`` (failing ``stuck_after`` times, or waiting for a person), ``held`` or
        ``unrouted`` (Open with no integration, as a remote cancel leaves them)."""
        live = issues.c.status.in_((Status.OPEN.value, Status.ACKNOWLEDGED.value))
        conditions: Any = {
            "failing": [live, issues.c.last_error_kind.is_not(None),
                        issues.c.last_error_kind != "held"],
            "stuck": [live, ((issues.c.attempts >= stuck_after) & issues.c.last_error.is_not(None))
                      | issues.c.attention.is_not(None)],
            "held": [issues.c.status == Status.OPEN.value, issues.c.held.is_(True)],
            "unrouted": [issues.c.status == Status.OPEN.value, issues.c.integration.is_(None)],
        }[which]  # fmt: skip
        query = select(issues.c.id).where(*conditions).order_by(issues.c.id.desc())
        if integration is not None:
            query = query.where(issues.c.integration == integration)
        with self.read() as conn:
            return [int(i) for i in conn.execute(query).scalars()]
