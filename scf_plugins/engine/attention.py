"""Attention flags: something on an issue a person must look at (a marker mismatch, a
remote request linked twice, an unmapped closing status, a cancel), set once, cleared once
its cause is gone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..store.tables import issues


def flag(conn: Connection, issue_id: int, kind: str, text: str, now: datetime) -> bool:
    """Put something a person must look at on the issue; True when it is new (so the caller
    warns once, not once per pass)."""
    text = text[:2000]
    return bool(
        conn.execute(
            issues.update()
            .where(
                issues.c.id == issue_id,
                (issues.c.attention.is_(None)) | (issues.c.attention != text),
            )
            .values(attention=text, attention_kind=kind, updated_at=now)
        ).rowcount
    )


def unflag(conn: Connection, issue_id: int, kinds: tuple[str, ...]) -> None:
    """Clear a flag of one of ``kinds`` once what caused it is gone."""
    conn.execute(
        issues.update()
        .where(issues.c.id == issue_id, issues.c.attention_kind.in_(kinds))
        .values(attention=None, attention_kind=None)
    )
