"""Schema 5: plugin kit v2, pending creates and the plugin's own state per issue."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    """Add pending_token, pending_since and plugin_state to issues."""
    op.add_column("issues", sa.Column("pending_token", sa.String(200)))
    op.add_column("issues", sa.Column("pending_since", sa.DateTime()))
    op.add_column("issues", sa.Column("plugin_state", sa.Text()))
