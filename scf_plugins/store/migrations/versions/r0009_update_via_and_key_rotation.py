"""Schema 9: which API key posted a comment through the Open311 door (shown to staff, and the
comment prefix's ``{via}``), and a rotated API key's previous hash with the end of its grace
period (the old key keeps working until then)."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    """Add comments.via, api_keys.previous_hash (uniquely indexed) and previous_until."""
    op.add_column("comments", sa.Column("via", sa.String(100)))
    # Comments posted before schema 9 carry their key's name in client_ref ("name:update_id");
    # key names have no colon, so the name is everything before the first one.
    comments = sa.table("comments", sa.column("via", sa.String()), sa.column("client_ref"))
    colon = sa.func.instr(comments.c.client_ref, ":")
    if op.get_bind().dialect.name == "postgresql":
        colon = sa.func.strpos(comments.c.client_ref, ":")
    op.execute(
        comments.update()
        .where(comments.c.client_ref.is_not(None), colon > 1)
        .values(via=sa.func.substr(comments.c.client_ref, 1, colon - 1))
    )
    op.add_column("api_keys", sa.Column("previous_hash", sa.String(64)))
    op.add_column("api_keys", sa.Column("previous_until", sa.DateTime()))
    op.create_index("uq_api_keys_previous_hash", "api_keys", ["previous_hash"], unique=True)
