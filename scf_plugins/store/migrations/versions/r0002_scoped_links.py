"""Schema 2: store-unique markers and links scoped to environment and endpoint.

Links made before keep ``marker`` NULL (read as ``scf-<id>``) and no scope: the first poll
that finds their marker adopts them. The store's id (in ``scf_meta``) is written by the code
that opens the store, not here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    """Add the link's marker, generation and scope, and the attention flag, to issues."""
    op.add_column("issues", sa.Column("marker", sa.String(30)))
    op.add_column(
        "issues", sa.Column("generation", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("issues", sa.Column("link_environment", sa.String(100)))
    op.add_column("issues", sa.Column("link_endpoint", sa.String(500)))
    op.add_column("issues", sa.Column("attention", sa.Text()))
    op.add_column("issues", sa.Column("attention_kind", sa.String(20)))
    op.create_index("uq_issues_link", "issues", ["link_endpoint", "remote_id"], unique=True)
