"""Schema 13: what an idle worker reads to know when its work is next due, and how it hears of
new work. Partial indexes of the local comments and of the photos still to push (the outboxes);
and on PostgreSQL the triggers that NOTIFY ``scf_work`` in every transaction that stores work
or makes it due again, so a sleeping worker wakes at once (see
:mod:`scf_plugins.store.signals`)."""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"

_COMMENTS_OUTBOX = "kind = 'comment' AND pushed_at IS NULL AND kept_here IS NULL"
_PHOTOS_OUTBOX = "pushed_at IS NULL AND kept_here IS NULL AND purged_at IS NULL"

# The function and triggers as this revision made them (scf_plugins.store.signals has today's).
_ISSUE_DUE = (
    "{r}.status = 'open' AND {r}.remote_id IS NULL AND NOT {r}.held "
    "AND {r}.lease_owner IS NULL AND {r}.next_attempt_at IS NULL"
)
_PUSH_DUE = (
    "{r}.pushed_at IS NULL AND {r}.kept_here IS NULL AND {r}.lease_owner IS NULL "
    "AND {r}.next_attempt_at IS NULL"
)
_EMAIL_DUE = (
    "{r}.sent_at IS NULL AND {r}.skipped IS NULL AND {r}.uncertain_at IS NULL "
    "AND {r}.send_attempted_at IS NULL AND {r}.lease_owner IS NULL"
)


def _became(due: str, also: str = "") -> str:
    new, old = due.format(r="NEW"), due.format(r="OLD")
    return f"({new}) AND (NOT ({old}){f' OR {also}' if also else ''})"


POSTGRESQL_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION scf_work_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('scf_work', '');
  RETURN NULL;
END $$""",
    """CREATE TRIGGER scf_work_issues_insert AFTER INSERT ON issues
FOR EACH STATEMENT EXECUTE FUNCTION scf_work_notify()""",
    f"""CREATE TRIGGER scf_work_issues_update AFTER UPDATE ON issues
FOR EACH ROW WHEN ({_became(_ISSUE_DUE)}) EXECUTE FUNCTION scf_work_notify()""",
    """CREATE TRIGGER scf_work_comments_insert AFTER INSERT ON comments
FOR EACH ROW WHEN (NEW.kind = 'comment') EXECUTE FUNCTION scf_work_notify()""",
    f"""CREATE TRIGGER scf_work_comments_update AFTER UPDATE ON comments
FOR EACH ROW WHEN (NEW.kind = 'comment' AND {_became(_PUSH_DUE)})
EXECUTE FUNCTION scf_work_notify()""",
    """CREATE TRIGGER scf_work_attachments_insert AFTER INSERT ON attachments
FOR EACH STATEMENT EXECUTE FUNCTION scf_work_notify()""",
    f"""CREATE TRIGGER scf_work_attachments_update AFTER UPDATE ON attachments
FOR EACH ROW WHEN (NEW.purged_at IS NULL AND {_became(_PUSH_DUE)})
EXECUTE FUNCTION scf_work_notify()""",
    """CREATE TRIGGER scf_work_notifications_insert AFTER INSERT ON notifications
FOR EACH STATEMENT EXECUTE FUNCTION scf_work_notify()""",
    f"""CREATE TRIGGER scf_work_notifications_update AFTER UPDATE ON notifications
FOR EACH ROW WHEN ({_became(_EMAIL_DUE, "NEW.next_try_at < OLD.next_try_at")})
EXECUTE FUNCTION scf_work_notify()""",
    """CREATE TRIGGER scf_work_circuits_delete AFTER DELETE ON circuits
FOR EACH STATEMENT EXECUTE FUNCTION scf_work_notify()""",
    """CREATE TRIGGER scf_work_circuits_update AFTER UPDATE ON circuits
FOR EACH ROW WHEN (NEW.probe_at < OLD.probe_at) EXECUTE FUNCTION scf_work_notify()""",
)


def upgrade() -> None:
    """Create the outboxes' indexes, and on PostgreSQL the triggers."""
    op.create_index(
        "ix_comments_outbox",
        "comments",
        ["issue_id"],
        sqlite_where=sa.text(_COMMENTS_OUTBOX),
        postgresql_where=sa.text(_COMMENTS_OUTBOX),
    )
    op.create_index(
        "ix_attachments_outbox",
        "attachments",
        ["issue_id"],
        sqlite_where=sa.text(_PHOTOS_OUTBOX),
        postgresql_where=sa.text(_PHOTOS_OUTBOX),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
