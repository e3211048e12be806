"""Alembic migrations: the chain reproduces each old schema and ends equal to today's tables;
stores written by every old schema (frozen in old_schemas/) are adopted and upgraded without
loss; workers starting together upgrade once; ``scf db current``, ``upgrade`` and ``backup``."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from scf_plugins.cli import cli
from scf_plugins.cli.app import App
from scf_plugins.errors import ConfigError
from scf_plugins.models import NewIssue
from scf_plugins.store import migrate, tables
from scf_plugins.store.connect import connect
from scf_plugins.store.store import Store

from .old_schemas import PHOTO, STORE_ID, VERSIONS, build, build_sqlite, put_rows, shape

SCF = str(Path(sys.executable).parent / "scf")
HEAD = migrate.HEAD
NEWER = f"{int(HEAD) + 1:04d}"  # a revision only a later release has
OLD_STORES = [f"schema_{n}" for n in VERSIONS] + ["schema_7_upgraded_from_1"]


def fresh_shape(folder: Path) -> dict[str, Any]:
    """The shape of a new store made by this scf."""
    folder.mkdir()
    store = Store.open(f"sqlite:///{folder / 'scf.db'}")
    try:
        with store.read() as conn:
            return shape(conn)
    finally:
        store.close()


def fill(url: str, version: int) -> None:
    """Put an old store's rows in it, through a plain engine (no scf set-up, no upgrade)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        put_rows(conn, version)
    engine.dispose()


def config_for(folder: Path, database: str) -> Path:
    """A config with no integrations whose store is ``database``."""
    path = folder / "scf.toml"
    path.write_text(f'[organization]\nname = "Testville"\ndatabase = "{database}"\n')
    return path


def scf(config: Path, *args: str, input: str | None = None) -> Result:
    """Run ``scf --config CONFIG ARGS`` in this process."""
    return CliRunner().invoke(cli, ["--config", str(config), *args], obj=App(), input=input)


def test_the_head_is_the_newest_revision_and_revisions_are_numbered_in_a_chain() -> None:
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    assert script.get_current_head() == migrate.HEAD
    chain = list(reversed(list(script.walk_revisions())))
    numbers = [f"{n:04d}" for n in range(1, int(migrate.HEAD) + 1)]
    assert [r.revision for r in chain] == numbers
    assert [r.down_revision for r in chain] == [None, *numbers[:-1]]


def test_the_chain_from_an_empty_database_ends_equal_to_the_tables(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'chain.db'}")
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "head")
        assert compare_metadata(MigrationContext.configure(conn), tables.metadata) == []
        chained = shape(conn)
    engine.dispose()
    assert chained == fresh_shape(tmp_path / "fresh")


@pytest.mark.parametrize("version", VERSIONS)
def test_the_chain_up_to_revision_n_builds_the_schema_n_stores_had(
    tmp_path: Path, version: int
) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'chain.db'}")
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), migrate.legacy_revision(version))
        chained = shape(conn)
    engine.dispose()
    del chained[migrate.VERSION_TABLE]
    old = create_engine(build_sqlite(tmp_path / "old.db", f"schema_{version}"))
    with old.connect() as conn:
        assert chained == shape(conn)
    old.dispose()


@pytest.mark.parametrize("name", OLD_STORES)
def test_an_old_store_is_upgraded_to_the_head_without_loss(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    version = int(name.split("_")[1])
    url = build_sqlite(tmp_path / "scf.db", name)
    fill(url, version)
    with caplog.at_level(logging.WARNING, logger="scf_plugins.store.migrate"):
        store = Store.open(url)
    with store.read() as conn:
        assert shape(conn) == fresh_shape(tmp_path / "fresh")
        meta = dict(conn.execute(text("SELECT key, value FROM scf_meta")).all())
    assert migrate.current(store.engine).at_head and meta["schema_version"] == str(int(HEAD))
    # Schema 1 had no store id: it gets one; a later store keeps its own.
    assert store.store_id == STORE_ID if version > 1 else len(store.store_id) == 8
    record = store.get(1)
    assert record is not None
    assert (record.issue.summary, record.issue.remote_id, record.issue.marker) == (
        "Hole", "77", "scf-1"
    )  # fmt: skip
    assert record.link_endpoint is None  # adopted by the first poll that finds its marker
    assert [a.answer for a in record.issue.answers] == ["Yes"]
    assert [c.text for c in record.comments] == ["On our way"]
    if version >= 6:
        (photo,) = record.attachments
        assert photo.purged_at is None and store.media("token-1") == ("image/jpeg", PHOTO)
    new_id = store.create_issue(_new_issue())
    new = store.get(new_id)
    assert new is not None and new.issue.marker == f"scf-{store.store_id}-{new_id}-1"
    store.close()
    copies = sorted(tmp_path.glob("scf.db.before-*"))
    (copy,) = copies
    assert copy.name.startswith(f"scf.db.before-000{version}-")
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    assert str(copy) in caplog.text and "reinstall the previous scf release" in caplog.text
    old = sqlite3.connect(copy)  # the store as the previous release left it
    assert old.execute("SELECT value FROM scf_meta WHERE key = 'schema_version'").fetchone() == (
        str(version),
    )
    assert old.execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'"
    ).fetchone() == (0,)
    old.close()


def _new_issue() -> NewIssue:
    """A report as ``scf report`` stores it."""
    return NewIssue("POTHOLE", "cw", "101", "Hole", 1.0, 2.0)


def test_two_stores_opened_at_once_in_threads_upgrade_once(tmp_path: Path) -> None:
    url = build_sqlite(tmp_path / "scf.db", "schema_3")
    fill(url, 3)
    start = threading.Barrier(2)
    opened: list[Store] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        start.wait(timeout=10)
        try:
            opened.append(Store.open(url))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=open_store) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == [] and len(opened) == 2
    assert len(list(tmp_path.glob("scf.db.before-0003-*"))) == 1
    assert opened[0].store_id == opened[1].store_id == STORE_ID
    for store in opened:
        store.close()


@pytest.mark.slow
def test_two_workers_starting_together_on_an_old_store_both_start(tmp_path: Path) -> None:
    url = build_sqlite(tmp_path / "scf.db", "schema_1")
    fill(url, 1)
    config = config_for(tmp_path, url)
    workers = [
        subprocess.Popen(
            [SCF, "--config", str(config), "sync", "--once"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(w.wait(timeout=120), *w.communicate()) for w in workers]
    assert [r[0] for r in results] == [0, 0], results
    assert sum(r[2].count("upgrading the store") for r in results) == 1, results
    assert len(list(tmp_path.glob("scf.db.before-0001-*"))) == 1
    assert migrate.status(url).at_head


def test_a_new_store_is_created_at_the_head_without_a_copy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scf.db'}"
    assert migrate.status(url).empty and not (tmp_path / "scf.db").exists()  # not created
    Store.open(url).close()
    assert migrate.status(url).at_head
    assert sorted(p.name for p in tmp_path.iterdir() if "before" in p.name) == []


def test_a_store_whose_tables_were_dropped_is_created_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scf.db'}"
    Store.open(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        tables.metadata.drop_all(conn)  # what a test run leaves: Alembic's table stays
    engine.dispose()
    store = Store.open(url)
    assert migrate.current(store.engine).at_head
    store.close()


# -- scf db -----------------------------------------------------------------------------------


def test_db_current_says_the_revision_and_whether_it_is_the_head(tmp_path: Path) -> None:
    url = build_sqlite(tmp_path / "scf.db", "schema_5")
    config = config_for(tmp_path, url)
    result = scf(config, "db", "current")
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"schema revision 0005 (schema version 5); this scf needs {HEAD}: run `scf db upgrade`\n"
    )
    assert json.loads(scf(config, "db", "current", "--json").output) == {
        "revision": "0005", "head": HEAD, "at_head": False, "legacy": True, "newer": False
    }  # fmt: skip
    assert not list(tmp_path.glob("scf.db.before-*"))  # looking changes nothing
    result = scf(config, "db", "upgrade")
    assert result.exit_code == 0, result.output
    (copy,) = tmp_path.glob("scf.db.before-0005-*")
    assert f"a copy of it from before is {copy}" in result.stderr  # the log line
    assert result.stdout == (
        f"upgraded from schema revision 0005 (schema version 5) to {HEAD}\n"
        f"the store as it was is in {copy}\n"
    )
    assert scf(config, "db", "current").output == f"schema revision {HEAD} (head)\n"
    assert scf(config, "db", "upgrade").output == (
        f"schema revision {HEAD} is this scf's head; nothing to do\n"
    )
    assert json.loads(scf(config, "db", "current", "--json").output)["at_head"] is True


def test_db_current_of_a_newer_store_and_of_an_empty_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scf.db'}"
    config = config_for(tmp_path, url)
    assert scf(config, "db", "current").output == (
        f"empty: no schema yet (the first scf command creates it at {HEAD})\n"
    )
    Store.open(url).close()
    with sqlite3.connect(tmp_path / "scf.db") as con:
        con.execute("UPDATE alembic_version SET version_num = ?", (NEWER,))
    con.close()
    assert scf(config, "db", "current").output == (
        f"schema revision {NEWER}, newer than this scf ({HEAD}): upgrade scf-plugins\n"
    )
    result = scf(config, "db", "upgrade")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert f"newer than this scf ({HEAD}); upgrade scf-plugins" in result.output


def test_db_backup_copies_a_running_store_and_refuses_what_it_should(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scf.db'}"
    config = config_for(tmp_path, url)
    store = Store.open(url)  # running: open, with a write in its WAL
    store.create_issue(_new_issue())
    target = tmp_path / "copy.db"
    result = scf(config, "db", "backup", str(target))
    assert result.exit_code == 0 and result.output == f"copied the store to {target}\n"
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT summary FROM issues").fetchall() == [("Hole",)]
    copy.close()
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    before = target.read_bytes()
    for args, says in [
        ((str(target),), f"Error: {target} exists; pass --force to replace it\n"),
        ((str(tmp_path / "no" / "x.db"),), f"Error: the folder {tmp_path / 'no'} does not exist\n"),
        ((str(tmp_path / "scf.db"), "--force"), f"Error: {tmp_path / 'scf.db'} is the store itself; give another path\n"),
    ]:  # fmt: skip
        result = scf(config, "db", "backup", *args)
        assert (result.exit_code, result.output) == (1, says)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "copy.db",
        "scf.db",
        "scf.db-shm",
        "scf.db-wal",
        "scf.toml",
    ]  # fmt: skip  (no temporary file left behind)
    store.create_issue(_new_issue())
    assert scf(config, "db", "backup", str(target), "--force").exit_code == 0
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM issues").fetchone() == (2,)
    copy.close()
    store.close()


def test_db_backup_of_a_postgresql_store_says_to_use_pg_dump(tmp_path: Path) -> None:
    config = config_for(tmp_path, "postgresql+psycopg://scf@127.0.0.1:1/scf")
    result = scf(config, "db", "backup", str(tmp_path / "x.db"))
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "back up a PostgreSQL store with pg_dump" in result.output
    assert not (tmp_path / "x.db").exists()


# -- PostgreSQL (when SCF_TEST_DATABASE_URL names one) ---------------------------------------


@pytest.fixture
def postgres(scf_database: str) -> Iterator[str]:
    """The test PostgreSQL, emptied (Alembic's table too); skipped on SQLite."""
    if not scf_database.startswith("postgresql"):
        pytest.skip("a PostgreSQL test: set SCF_TEST_DATABASE_URL (see .ci/test-postgres)")
    empty(scf_database)
    yield scf_database
    empty(scf_database)


def empty(url: str) -> None:
    """Drop every table of the store at ``url``, Alembic's included."""
    engine = create_engine(url)
    with engine.begin() as conn:
        migrate.drop_all(conn)
    engine.dispose()


def old_postgres(url: str, version: int) -> None:
    """Make the PostgreSQL at ``url`` a store of schema ``version`` with its old rows."""
    engine = create_engine(url)
    with engine.begin() as conn:
        build(conn, f"schema_{version}")
        put_rows(conn, version)
    engine.dispose()


def postgres_shape(url: str) -> dict[str, Any]:
    """The shape (see old_schemas.shape) of the store at ``url``."""
    engine = create_engine(url)
    with engine.connect() as conn:
        out = shape(conn)
    engine.dispose()
    return out


def run_together(commands: list[list[str]]) -> list[tuple[int, str, str]]:
    """Start the processes at once; their exit codes and outputs."""
    started = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    return [(p.wait(timeout=120), *p.communicate()) for p in started]


@pytest.mark.slow
def test_an_old_postgresql_store_waits_for_scf_db_upgrade_and_two_at_once_are_safe(
    tmp_path: Path, postgres: str
) -> None:
    old_postgres(postgres, 3)
    before = postgres_shape(postgres)
    with pytest.raises(ConfigError) as refused:
        Store.open(postgres)
    assert str(refused.value) == (
        f"the database is at schema revision 0003 (schema version 3), this scf needs {HEAD}: "
        "back it up (pg_dump), then run `scf db upgrade`"
    )
    config = config_for(tmp_path, postgres)
    result = scf(config, "db", "upgrade", input="n\n")
    assert result.exit_code == 1 and "back it up first (pg_dump" in result.output
    assert postgres_shape(postgres) == before  # refused and declined: nothing changed
    upgrade = [SCF, "--config", str(config), "db", "upgrade", "--yes"]
    results = run_together([upgrade, upgrade])
    assert [r[0] for r in results] == [0, 0], results
    outputs = sorted(r[1].splitlines()[-1] for r in results)
    assert outputs == [
        f"schema revision {HEAD} (another scf upgraded it meanwhile)",
        f"upgraded from schema revision 0003 (schema version 3) to {HEAD}",
    ]
    upgraded = postgres_shape(postgres)
    store = Store.open(postgres)
    record = store.get(1)
    assert store.store_id == STORE_ID and record is not None
    assert (record.issue.marker, [a.answer for a in record.issue.answers]) == ("scf-1", ["Yes"])
    store.close()
    empty(postgres)
    Store.open(postgres).close()
    assert upgraded == postgres_shape(postgres)


@pytest.mark.slow
def test_a_new_postgresql_store_is_created_by_any_command_once(
    tmp_path: Path, postgres: str
) -> None:
    config = config_for(tmp_path, postgres)
    sync = [SCF, "--config", str(config), "sync", "--once"]
    results = run_together([sync, sync])
    assert [r[0] for r in results] == [0, 0], results
    assert migrate.status(postgres).at_head


@pytest.mark.parametrize("version", [1, 7])
def test_a_postgresql_store_from_before_alembic_is_refused_unchanged(
    postgres: str, version: int
) -> None:
    old_postgres(postgres, version)
    before = postgres_shape(postgres)
    with pytest.raises(ConfigError, match=rf"revision 000{version} .* then run `scf db upgrade`"):
        Store.open(postgres)
    assert migrate.status(postgres) == migrate.SchemaState(f"000{version}", legacy=True)
    assert postgres_shape(postgres) == before
