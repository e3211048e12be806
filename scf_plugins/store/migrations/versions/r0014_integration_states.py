"""Schema 14: each integration's own small JSON object (``Integration.state``: a changes
feed's cursor, an ETag), shared by every worker and written with compare-and-set on its
version."""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    """Create integration_states."""
    op.create_table(
        "integration_states",
        sa.Column("integration", sa.String(100), primary_key=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
