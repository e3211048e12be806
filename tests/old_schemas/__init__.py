"""The DDL each old store really had, frozen, and helpers to build, fill and compare stores.

- ``sqlite/schema_N.sql``: the ``sqlite_master`` of a new store made by the last commit of
  scf-plugins at schema N (its ``scf_plugins/schema.py``), with its ``scf_meta`` rows;
- ``sqlite/schema_7_upgraded_from_1.sql``: a schema 1 store after those old hand-written
  upgrades took it to schema 7 (columns appended by ``ALTER TABLE``, other defaults);
- ``postgresql/schema_N.sql``: what ``metadata.create_all`` ran on PostgreSQL at that commit.

Generated once from the history and never again: they are what stores in the field have.
The store id in each is a fixed one (``k3m9qz2a``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, inspect, text

HERE = Path(__file__).parent
STORE_ID = "k3m9qz2a"
VERSIONS = range(1, 8)
PHOTO = b"\xff\xd8 jpeg bytes"


def statements(name: str, dialect: str = "sqlite") -> list[str]:
    """The SQL statements of one frozen schema (``schema_3``) for ``dialect``."""
    script = (HERE / dialect / f"{name}.sql").read_text(encoding="utf-8")
    lines = [line for line in script.splitlines() if not line.startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip()]


def build_sqlite(path: Path, name: str) -> str:
    """A SQLite store at ``path`` as frozen in ``name``; returns its URL."""
    con = sqlite3.connect(path)
    try:
        con.executescript(";\n".join(statements(name)) + ";")
    finally:
        con.close()
    return f"sqlite:///{path}"


def build(conn: Connection, name: str) -> None:
    """Run the frozen schema ``name`` on ``conn`` (an empty database of its dialect)."""
    for statement in statements(name, conn.dialect.name):
        conn.exec_driver_sql(statement)


def put_rows(conn: Connection, version: int) -> None:
    """Rows an old store of ``version`` holds, in its own columns: issue 1, acknowledged and
    linked before markers (remote request 77), its answer and a comment, and from schema 6 a
    photo."""
    when = "2026-11-20 10:00:00"
    conn.execute(
        text(
            "INSERT INTO issues (id, request_type, integration, status, summary, description, "
            "lat, lng, type_ref, remote_id, created_at, updated_at, attempts, "
            "submit_attempted, held) VALUES (1, 'POTHOLE', 'cw', 'acknowledged', 'Hole', '', "
            "1.0, 2.0, '101', '77', :when, :when, 0, :no, :no)"
        ),
        {"when": when, "no": False},
    )
    conn.execute(
        text(
            "INSERT INTO answers (issue_id, position, question_id, question, answer, private) "
            "VALUES (1, 0, '1', 'Q', 'Yes', :no)"
        ),
        {"no": False},
    )
    conn.execute(
        text(
            "INSERT INTO comments (issue_id, author, text, kind, created_at, push_attempted, "
            "attempts) VALUES (1, 'Crew', 'On our way', 'remote', :when, :no, 0)"
        ),
        {"when": when, "no": False},
    )
    if version >= 6:
        conn.execute(
            text(
                "INSERT INTO attachments (id, issue_id, filename, content_type, size, width, "
                "height, path_token, created_at, push_attempted, attempts) VALUES (1, 1, "
                "'scf-1.jpg', 'image/jpeg', 15, 4, 3, 'token-1', :when, :no, 0)"
            ),
            {"when": when, "no": False},
        )
        conn.execute(
            text("INSERT INTO attachment_contents (attachment_id, content) VALUES (1, :c)"),
            {"c": PHOTO},
        )


def shape(conn: Connection) -> dict[str, Any]:
    """What two stores must agree on: per table, its columns (type, nullable), primary key,
    indexes (columns, unique), unique constraints and foreign keys. Column order and
    server defaults are left out (old upgrades appended columns and wrote defaults their way)."""
    inspector = inspect(conn)
    out: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        out[name] = {
            "columns": {
                c["name"]: (str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)
            },
            "primary key": tuple(inspector.get_pk_constraint(name)["constrained_columns"]),
            "indexes": {
                i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(name)
                if not i.get("duplicates_constraint")  # PostgreSQL: a unique constraint's own
            },
            "unique": sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(name)
            ),
            "foreign keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                for f in inspector.get_foreign_keys(name)
            ),
        }
    return out
