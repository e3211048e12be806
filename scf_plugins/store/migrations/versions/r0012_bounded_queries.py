"""Schema 12: what runs per status, scrape, pass, heartbeat and start reads the work that can
still change, never the history: partial indexes of the held issues, of the leased rows of the
four tables workers claim from, and of the photos whose bytes are kept; and ``tallies``, the
counts of the history that status shows (issues archived per integration, photos purged), kept
by triggers in the transaction that archives or purges, filled here with what the store holds.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"

LEASED = ("issues", "comments", "attachments", "notifications")

# The triggers as this revision made them (scf_plugins.store.tallies has today's).
SQLITE_TRIGGERS = (
    """CREATE TRIGGER tally_issues_insert AFTER INSERT ON issues
WHEN NEW.status = 'archived' AND NEW.integration IS NOT NULL
BEGIN
    INSERT INTO tallies (tally, integration, count) VALUES ('archived', NEW.integration, 1)
    ON CONFLICT (tally, integration) DO UPDATE SET count = count + excluded.count;
END""",
    """CREATE TRIGGER tally_issues_delete AFTER DELETE ON issues
WHEN OLD.status = 'archived' AND OLD.integration IS NOT NULL
BEGIN
    INSERT INTO tallies (tally, integration, count) VALUES ('archived', OLD.integration, -1)
    ON CONFLICT (tally, integration) DO UPDATE SET count = count + excluded.count;
END""",
    """CREATE TRIGGER tally_issues_update AFTER UPDATE OF status, integration ON issues
WHEN (OLD.status = 'archived' AND OLD.integration IS NOT NULL)
    OR (NEW.status = 'archived' AND NEW.integration IS NOT NULL)
BEGIN
    INSERT INTO tallies (tally, integration, count)
    SELECT 'archived', OLD.integration, -1
    WHERE OLD.status = 'archived' AND OLD.integration IS NOT NULL
    ON CONFLICT (tally, integration) DO UPDATE SET count = count + excluded.count;
    INSERT INTO tallies (tally, integration, count)
    SELECT 'archived', NEW.integration, 1
    WHERE NEW.status = 'archived' AND NEW.integration IS NOT NULL
    ON CONFLICT (tally, integration) DO UPDATE SET count = count + excluded.count;
END""",
    """CREATE TRIGGER tally_photos_insert AFTER INSERT ON attachments
WHEN NEW.purged_at IS NOT NULL
BEGIN
    INSERT INTO tallies (tally, integration, count) VALUES ('photos_purged', '', 1)
    ON CONFLICT (tally, integration) DO UPDATE SET count = count + excluded.count;
END""",
    """CREATE TRIGGER tally_photos_delete AFTER DELETE ON attachments
WHEN OLD.purged_at IS NOT NULL
BEGIN
    INSERT INTO tallies (tally, integration, count) VALUES ('photos_purged', '', -1)
    ON CONFLICT (tally, integration) DO UPDATE SET count = count + excluded.count;
END""",
    """CREATE TRIGGER tally_photos_update AFTER UPDATE OF purged_at ON attachments
WHEN (OLD.purged_at IS NULL) != (NEW.purged_at IS NULL)
BEGIN
    INSERT INTO tallies (tally, integration, count)
    VALUES ('photos_purged', '', CASE WHEN NEW.purged_at IS NULL THEN -1 ELSE 1 END)
    ON CONFLICT (tally, integration) DO UPDATE SET count = count + excluded.count;
END""",
)

POSTGRESQL_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION scf_tally_archived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tallies (tally, integration, count)
        SELECT 'archived', integration, count(*) FROM new_rows
        WHERE status = 'archived' AND integration IS NOT NULL GROUP BY integration
        ON CONFLICT (tally, integration) DO UPDATE SET count = tallies.count + excluded.count;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO tallies (tally, integration, count)
        SELECT 'archived', integration, -count(*) FROM old_rows
        WHERE status = 'archived' AND integration IS NOT NULL GROUP BY integration
        ON CONFLICT (tally, integration) DO UPDATE SET count = tallies.count + excluded.count;
    ELSE
        INSERT INTO tallies (tally, integration, count)
        SELECT 'archived', integration, sum(delta) FROM (
            SELECT integration, 1 AS delta FROM new_rows
            WHERE status = 'archived' AND integration IS NOT NULL
            UNION ALL
            SELECT integration, -1 AS delta FROM old_rows
            WHERE status = 'archived' AND integration IS NOT NULL
        ) AS changed GROUP BY integration HAVING sum(delta) <> 0
        ON CONFLICT (tally, integration) DO UPDATE SET count = tallies.count + excluded.count;
    END IF;
    RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION scf_tally_photos() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tallies (tally, integration, count)
        SELECT 'photos_purged', '', count(*) FROM new_rows WHERE purged_at IS NOT NULL
        HAVING count(*) > 0
        ON CONFLICT (tally, integration) DO UPDATE SET count = tallies.count + excluded.count;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO tallies (tally, integration, count)
        SELECT 'photos_purged', '', -count(*) FROM old_rows WHERE purged_at IS NOT NULL
        HAVING count(*) > 0
        ON CONFLICT (tally, integration) DO UPDATE SET count = tallies.count + excluded.count;
    ELSE
        INSERT INTO tallies (tally, integration, count)
        SELECT 'photos_purged', '', sum(delta) FROM (
            SELECT 1 AS delta FROM new_rows WHERE purged_at IS NOT NULL
            UNION ALL
            SELECT -1 AS delta FROM old_rows WHERE purged_at IS NOT NULL
        ) AS changed HAVING sum(delta) <> 0
        ON CONFLICT (tally, integration) DO UPDATE SET count = tallies.count + excluded.count;
    END IF;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER tally_issues_insert AFTER INSERT ON issues
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE PROCEDURE scf_tally_archived()""",
    """CREATE TRIGGER tally_issues_delete AFTER DELETE ON issues
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE PROCEDURE scf_tally_archived()""",
    """CREATE TRIGGER tally_issues_update AFTER UPDATE ON issues
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE PROCEDURE scf_tally_archived()""",
    """CREATE TRIGGER tally_photos_insert AFTER INSERT ON attachments
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE PROCEDURE scf_tally_photos()""",
    """CREATE TRIGGER tally_photos_delete AFTER DELETE ON attachments
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE PROCEDURE scf_tally_photos()""",
    """CREATE TRIGGER tally_photos_update AFTER UPDATE ON attachments
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE PROCEDURE scf_tally_photos()""",
)


def upgrade() -> None:
    """Create the indexes and the tallies; fill the tallies, then give them their triggers."""
    op.create_index(
        "ix_issues_held",
        "issues",
        ["integration"],
        sqlite_where=sa.text("held IS 1"),
        postgresql_where=sa.text("held IS true"),
    )
    for table in LEASED:
        op.create_index(
            f"ix_{table}_leased",
            table,
            ["lease_owner", "lease_until"],
            sqlite_where=sa.text("lease_owner IS NOT NULL"),
            postgresql_where=sa.text("lease_owner IS NOT NULL"),
        )
    op.create_index(
        "ix_attachments_kept",
        "attachments",
        ["id", "issue_id", "size"],
        sqlite_where=sa.text("purged_at IS NULL"),
        postgresql_where=sa.text("purged_at IS NULL"),
    )
    op.create_table(
        "tallies",
        sa.Column("tally", sa.String(40), primary_key=True),
        sa.Column("integration", sa.String(100), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    # In the upgrade's one transaction, under its lock: nothing archives between the fill
    # and the triggers.
    op.execute(
        "INSERT INTO tallies (tally, integration, count) "
        "SELECT 'archived', integration, count(*) FROM issues "
        "WHERE status = 'archived' AND integration IS NOT NULL GROUP BY integration"
    )
    op.execute(
        "INSERT INTO tallies (tally, integration, count) "
        "SELECT 'photos_purged', '', count(*) FROM attachments WHERE purged_at IS NOT NULL"
    )
    dialect = op.get_bind().dialect.name
    triggers = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(dialect, ())
    for statement in triggers:
        op.execute(statement)
