"""Schema 3: shared poll rounds, split into batches that every worker claims from."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    """Create poll_rounds and poll_batches."""
    op.create_table(
        "poll_rounds",
        sa.Column("integration", sa.String(100), primary_key=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
    )
    op.create_table(
        "poll_batches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(100), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer()),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_until", sa.DateTime()),
    )
    op.create_index("ix_poll_batches_round", "poll_batches", ["integration", "round", "done"])
