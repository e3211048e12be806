"""Tallies the database keeps itself: the figures of the history that ``scf status`` and
``/metrics`` show (issues archived per integration, photos purged), so that they are read from
one row instead of counted over every issue ever stored.

Triggers on ``issues`` and ``attachments`` change a tally in the transaction that archives an
issue or purges a photo (or inserts, deletes or changes such a row), whatever code or person
does it, so a tally always equals the count it stands for. A tally's row is made by its first
change (an upsert). An issue with no integration is not tallied: status counts issues per
integration. SQLite's triggers run per row, their bodies inline; PostgreSQL's per statement,
calling a function. :mod:`.tables` creates them with the tables; schema 12 created them in the
stores that existed before, with the tallies of what those held.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, column, select, table

ARCHIVED = "archived"  # issues archived, per integration
PHOTOS_PURGED = "photos_purged"  # photos whose bytes were purged, for the store ("" integration)
DIALECTS = ("sqlite", "postgresql")  # the databases the triggers are written for
# The table as read here (tables.py defines it, and imports this module for the triggers).
_tallies = table("tallies", column("tally"), column("integration"), column("count"))


def kept(conn: Connection) -> bool:
    """Whether this database keeps the tallies (another dialect has no triggers for them:
    its readers count instead)."""
    return conn.dialect.name in DIALECTS


def read(conn: Connection, tally: str) -> dict[str, int]:
    """A tally's counts by integration ("" for a tally of the whole store); a count never
    changed yet is not there (it is 0)."""
    rows = conn.execute(
        select(_tallies.c.integration, _tallies.c.count).where(_tallies.c.tally == tally)
    )
    return {str(integration): int(count) for integration, count in rows}


SQLITE = (
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

# PostgreSQL's are per statement, reading the statement's rows as transition tables: one
# upsert per statement and integration. Per row, archiving thousands in one transaction would
# update the tally's row thousands of times, each a new row version to walk past (quadratic).
POSTGRESQL = (
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

# Dropping the tables drops their triggers; the functions go after them.
POSTGRESQL_DROP = (
    "DROP FUNCTION IF EXISTS scf_tally_archived()",
    "DROP FUNCTION IF EXISTS scf_tally_photos()",
)


def install(_target: Any, connection: Connection, **_: Any) -> None:
    """Create the triggers (``metadata``'s ``after_create``: a new store's tables are there)."""
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


def uninstall(_target: Any, connection: Connection, **_: Any) -> None:
    """Drop what dropping the tables leaves (``metadata``'s ``after_drop``): PostgreSQL's
    functions."""
    if connection.dialect.name == "postgresql":
        for statement in POSTGRESQL_DROP:
            connection.exec_driver_sql(statement)
