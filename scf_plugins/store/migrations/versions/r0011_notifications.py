"""Schema 11: emails to residents. A notification per system message or pulled comment that is
sent to the reporter (one per message: the unique comment id), with its send state; a
resident's "stop emails about this report" on the issue; addresses that asked for no email,
kept as hashes; and when an archived issue's contact details were purged."""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"

# The rows the sender still has to look at: its claims and counts read this index alone.
_WAITING = "sent_at IS NULL AND skipped IS NULL AND uncertain_at IS NULL"
_UNCERTAIN = "uncertain_at IS NOT NULL"
_CONTACT_KEPT = "contact_purged_at IS NULL"


def upgrade() -> None:
    """Create notifications and email_optouts; add issues.notify_off and contact_purged_at."""
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "issue_id",
            sa.Integer(),
            sa.ForeignKey("issues.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "comment_id",
            sa.Integer(),
            sa.ForeignKey("comments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text()),
        sa.Column("send_attempted_at", sa.DateTime()),
        sa.Column("sent_at", sa.DateTime()),
        sa.Column("uncertain_at", sa.DateTime()),
        sa.Column("skipped", sa.String(300)),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_until", sa.DateTime()),
        sa.UniqueConstraint("comment_id", name="uq_notifications_comment"),
    )
    op.create_index("ix_notifications_issue", "notifications", ["issue_id", "id"])
    op.create_index(
        "ix_notifications_waiting",
        "notifications",
        ["id"],
        sqlite_where=sa.text(_WAITING),
        postgresql_where=sa.text(_WAITING),
    )
    op.create_index(
        "ix_notifications_uncertain",
        "notifications",
        ["id"],
        sqlite_where=sa.text(_UNCERTAIN),
        postgresql_where=sa.text(_UNCERTAIN),
    )
    op.create_table(
        "email_optouts",
        sa.Column("address_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.add_column(
        "issues",
        sa.Column("notify_off", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("issues", sa.Column("contact_purged_at", sa.DateTime()))
    op.create_index(
        "ix_issues_contact_due",
        "issues",
        ["archived_at"],
        sqlite_where=sa.text(_CONTACT_KEPT),
        postgresql_where=sa.text(_CONTACT_KEPT),
    )
