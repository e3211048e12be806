"""The store: schema revisions and upgrades, transactions, and the SQLite set-up."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from scf_plugins.errors import ConfigError
from scf_plugins.models import Answer, NewIssue
from scf_plugins.store import migrate, tables
from scf_plugins.store.store import Store

from .old_schemas import PHOTO, build_sqlite, put_rows

HEAD = migrate.HEAD
NEXT = f"{int(HEAD) + 1:04d}"  # the revision a later release adds
NEXT_REVISION = f"""
import sqlalchemy as sa
from alembic import op

revision = "{NEXT}"
down_revision = "{HEAD}"


def upgrade() -> None:
    op.add_column("issues", sa.Column("priority", sa.String(20)))
"""


def url(tmp_path: Path) -> str:
    """The URL of the test's SQLite store."""
    return f"sqlite:///{tmp_path / 'scf.db'}"


@pytest.fixture
def newer_scf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Turns this scf into a later release: one more revision (NEXT adds issues.priority)."""

    def become(revision: str = NEXT_REVISION) -> None:
        folder = tmp_path / "migrations"
        shutil.copytree(migrate.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
        (folder / "versions" / f"r{NEXT}_priority.py").write_text(revision)
        monkeypatch.setattr(migrate, "MIGRATIONS", folder)
        monkeypatch.setattr(migrate, "HEAD", NEXT)
        migrate.known_revisions.cache_clear()

    yield become
    monkeypatch.undo()
    migrate.known_revisions.cache_clear()


def old_store(tmp_path: Path, version: int) -> str:
    """A store written by schema ``version`` (its frozen DDL), with an old issue in it."""
    database = build_sqlite(tmp_path / "scf.db", f"schema_{version}")
    engine = create_engine(database)
    with engine.begin() as conn:
        put_rows(conn, version)
    engine.dispose()
    return database


def test_a_new_database_gets_the_current_schema(tmp_path: Path) -> None:
    store = Store.open(url(tmp_path))
    assert migrate.current(store.engine).at_head
    with store.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_an_older_database_is_upgraded_in_place(
    tmp_path: Path, newer_scf: Callable[..., None]
) -> None:
    store = Store.open(url(tmp_path))
    issue_id = store.create_issue(
        NewIssue("POTHOLE", "cw", "101", "Hole", 1.0, 2.0, answers=(Answer("1", "Q", "Yes"),))
    )
    store.close()
    newer_scf()
    store = Store.open(url(tmp_path))
    assert migrate.current(store.engine) == migrate.SchemaState(NEXT)
    with store.read() as conn:
        assert conn.execute(text("SELECT priority FROM issues")).all() == [(None,)]
        version = conn.execute(text("SELECT value FROM scf_meta WHERE key = 'schema_version'"))
        assert version.scalar() == str(int(NEXT))
    record = store.get(issue_id)
    assert record is not None and record.issue.answers[0].answer == "Yes"
    assert len(list(tmp_path.glob(f"scf.db.before-{HEAD}-*"))) == 1


def test_an_upgrade_that_fails_half_way_leaves_the_store_as_it_was(
    tmp_path: Path, newer_scf: Callable[..., None]
) -> None:
    Store.open(url(tmp_path)).close()
    newer_scf(NEXT_REVISION + '    op.execute("CREATE INDEX ix_x ON no_such_table (x)")\n')
    with pytest.raises(ConfigError, match=rf"to {NEXT} failed and was undone \(.*no_such_table"):
        Store.open(url(tmp_path))
    with sqlite3.connect(tmp_path / "scf.db") as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert "priority" not in {row[1] for row in con.execute("PRAGMA table_info(issues)")}
    con.close()


def test_a_schema_1_database_keeps_its_links_and_gets_a_store_id(tmp_path: Path) -> None:
    """Links made before markers had a store id keep their ``scf-<id>`` marker, unscoped."""
    store = Store.open(old_store(tmp_path, 1))
    with store.read() as conn:
        assert migrate.read_state(conn).at_head
        assert len(tables.store_id(conn)) == 8
    record = store.get(1)
    assert record is not None
    assert record.issue.marker == "scf-1" and record.issue.remote_id == "77"
    assert record.link_endpoint is None  # adopted by the first poll that finds its marker
    new_id = store.create_issue(NewIssue("POTHOLE", "cw", "101", "Hole", 1.0, 2.0))
    new = store.get(new_id)
    assert new is not None and new.issue.marker == f"scf-{store.store_id}-{new_id}-1"


def test_a_schema_6_database_gets_the_head_and_keeps_its_photos(tmp_path: Path) -> None:
    store = Store.open(old_store(tmp_path, 6))
    with store.read() as conn:
        assert migrate.read_state(conn) == migrate.SchemaState(HEAD)
    record = store.get(1)
    assert record is not None
    (kept,) = record.attachments
    assert kept.purged_at is None
    assert store.media(kept.path_token) == ("image/jpeg", PHOTO)


def test_a_newer_database_is_refused(
    tmp_path: Path, newer_scf: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    Store.open(url(tmp_path)).close()
    newer_scf()
    Store.open(url(tmp_path)).close()  # the later release took it to NEXT
    monkeypatch.undo()  # and this one is back
    migrate.known_revisions.cache_clear()
    with pytest.raises(ConfigError, match=rf"revision {NEXT}, newer than this scf \({HEAD}\)"):
        Store.open(url(tmp_path))
    with sqlite3.connect(tmp_path / "scf.db") as con:  # one from before Alembic, but newer
        con.execute("DROP TABLE alembic_version")
        con.execute("UPDATE scf_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(ConfigError, match=r"revision 0099 \(schema version 99\), newer than"):
        Store.open(url(tmp_path))


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    store = Store.open(url(tmp_path))
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute(tables.issues.delete())
        conn.execute(text("INSERT INTO scf_meta (key, value) VALUES ('x', 'y')"))
        raise RuntimeError("crash mid-transaction")
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM scf_meta WHERE key = 'x'")).scalar() == 0


def test_an_unusable_database_url_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"check organization\.database"):
        Store.open("nosuchdialect://x/y")
    with pytest.raises(ConfigError) as info:
        Store.open("postgresql://scf:Sekr3t-pw@127.0.0.1:1/scf")
    assert "Sekr3t" not in str(info.value) and "postgresql://scf:***@127.0.0.1:1" in str(info.value)
    with pytest.raises(ConfigError, match="its folder is writable"):
        Store.open(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'scf.db'}")
