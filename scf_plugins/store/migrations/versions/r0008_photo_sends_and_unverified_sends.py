"""Schema 8: where each photo went before its issue left a remote request (resubmitted, moved
to another environment, withdrawn, cancelled), and why an issue whose address check was not
accepted was sent all the same.

Two fixes to what earlier releases left: a photo sent to a request its issue has since left
(the issue Open and unlinked now) is recorded as sent there and starts afresh, so it goes to
the next request too; and an attention flag on a closed or archived issue goes, since nothing
is left for a person to do on it.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

_attachments = sa.table(
    "attachments",
    sa.column("id", sa.Integer()),
    sa.column("issue_id", sa.Integer()),
    sa.column("remote_id", sa.String()),
    sa.column("pushed_at", sa.DateTime()),
    sa.column("push_attempted", sa.Boolean()),
    sa.column("push_attempted_at", sa.DateTime()),
    sa.column("attempts", sa.Integer()),
    sa.column("next_attempt_at", sa.DateTime()),
    sa.column("last_error", sa.Text()),
    sa.column("lease_owner", sa.String()),
    sa.column("lease_until", sa.DateTime()),
    sa.column("kept_here", sa.String()),
    sa.column("purged_at", sa.DateTime()),
)
_sends = sa.table(
    "attachment_sends",
    sa.column("attachment_id", sa.Integer()),
    sa.column("remote_id", sa.String()),
    sa.column("sent_at", sa.DateTime()),
    sa.column("left_at", sa.DateTime()),
)
_issues = sa.table(
    "issues",
    sa.column("id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("remote_id", sa.String()),
    sa.column("attention", sa.Text()),
    sa.column("attention_kind", sa.String()),
)


def upgrade() -> None:
    """Create attachment_sends, add issues.sent_unverified, and fix the two leftovers."""
    op.create_table(
        "attachment_sends",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "attachment_id",
            sa.Integer(),
            sa.ForeignKey("attachments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("remote_id", sa.String(200)),
        sa.Column("request", sa.String(200)),
        sa.Column("integration", sa.String(100)),
        sa.Column("environment", sa.String(100)),
        sa.Column("endpoint", sa.String(500)),
        sa.Column("sent_at", sa.DateTime()),
        sa.Column("left_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_attachment_sends_attachment", "attachment_sends", ["attachment_id", "id"])
    op.add_column("issues", sa.Column("sent_unverified", sa.String(300)))

    now = datetime.now(UTC).replace(tzinfo=None)  # the store keeps naive UTC
    unlinked = sa.select(_issues.c.id).where(
        _issues.c.status == "open", _issues.c.remote_id.is_(None)
    )
    # Which request they went to is not known any more: only that it was an earlier one.
    left = sa.select(
        _attachments.c.id, _attachments.c.remote_id, _attachments.c.pushed_at, sa.literal(now)
    ).where(_attachments.c.issue_id.in_(unlinked), _attachments.c.pushed_at.is_not(None))
    op.execute(
        _sends.insert().from_select(["attachment_id", "remote_id", "sent_at", "left_at"], left)
    )
    op.execute(
        _attachments.update()
        .where(
            _attachments.c.issue_id.in_(unlinked),
            _attachments.c.kept_here.is_(None),
            _attachments.c.purged_at.is_(None),
        )
        .values(
            remote_id=None,
            pushed_at=None,
            push_attempted=False,
            push_attempted_at=None,
            attempts=0,
            next_attempt_at=None,
            last_error=None,
            lease_owner=None,
            lease_until=None,
        )
    )
    op.execute(
        _issues.update()
        .where(_issues.c.status.in_(("closed", "archived")), _issues.c.attention.is_not(None))
        .values(attention=None, attention_kind=None)
    )
