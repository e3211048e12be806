"""Schema 7: photo retention (when a photo's bytes were purged) and comments posted through
the Open311 door (the API key's name and the client's update_id, once per issue)."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    """Add attachments.purged_at, comments.client_ref and its unique index."""
    op.add_column("attachments", sa.Column("purged_at", sa.DateTime()))
    op.add_column("comments", sa.Column("client_ref", sa.String(300)))
    op.create_index("uq_comments_client_ref", "comments", ["issue_id", "client_ref"], unique=True)
