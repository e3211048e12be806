"""Schema 4: Open311 intake (API keys, the reporter's phone, which key reported an issue),
when each create or comment was last attempted, comments kept here, open circuits, and each
integration's health."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    """Add the intake and attempt columns; create api_keys, circuits and health."""
    op.add_column("issues", sa.Column("reporter_phone", sa.String(50)))
    op.add_column("issues", sa.Column("reported_via", sa.String(100)))
    op.add_column("issues", sa.Column("submit_attempted_at", sa.DateTime()))
    op.add_column("comments", sa.Column("push_attempted_at", sa.DateTime()))
    op.add_column("comments", sa.Column("kept_here", sa.String(300)))
    op.create_index("ix_issues_created_at", "issues", ["created_at"])
    op.create_index("ix_issues_reported_via", "issues", ["reported_via", "created_at"])
    op.create_table(
        "api_keys",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime()),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "circuits",
        sa.Column("integration", sa.String(100), primary_key=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("probe_at", sa.DateTime(), nullable=False),
        sa.Column("probes", sa.Integer(), nullable=False),
    )
    op.create_table(
        "health",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("last_pass_at", sa.DateTime()),
        sa.Column("last_pass_seconds", sa.Float()),
        sa.Column("last_pass_errors", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_error_at", sa.DateTime()),
        sa.Column("last_success_at", sa.DateTime()),
        sa.Column("latency_p50_ms", sa.Float()),
        sa.Column("latency_p95_ms", sa.Float()),
    )
