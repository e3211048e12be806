"""Attention flags: something on an issue a person must look at, set once, cleared once its
cause is gone.

Each kind, and what ends it:

- ``mismatch``: the remote request does not carry the issue's marker. Ends when a poll finds
  the marker (an old link adopted), or the issue is resubmitted or withdrawn.
- ``missing``: the remote request no longer exists. Ends when a poll finds it again, or the
  issue is resubmitted or withdrawn (``scf issues resubmit --attention``).
- ``unmapped``: the request is closed remotely with a status neither ``closed_statuses`` nor
  ``cancel_statuses`` names. Ends when the request is open again, or the status is mapped (the
  next poll then closes or cancels the issue), or the issue is withdrawn (a resubmit is refused:
  the work is done remotely).
- ``conflict``: the remote request is already linked to another issue. Ends with ``scf
  issues retry`` (staff say it is resolved), a resubmit or a withdrawal.
- ``canceled``: the request was cancelled remotely. Ends when the issue is recategorized or
  withdrawn.

Closing an issue ends any flag (:func:`~.transitions.close`), and so does leaving its request
(:mod:`.transitions`); :mod:`scf_plugins.ops.counts` counts only Open and Acknowledged issues.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..store.tables import issues

# The flags a poll that reads the request as it should be ends (its cause was the request).
ENDED_BY_A_GOOD_POLL = ("mismatch", "missing")


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
