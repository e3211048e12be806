"""Looking after the store's database: ``scf db current``, ``db upgrade`` and ``db backup``."""

from __future__ import annotations

import click

from .app import App
from .root import cli, echo, pass_app


@cli.group("db")
def db_group() -> None:
    """The store's schema revision, its upgrade, and a copy of a SQLite store."""


@db_group.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def current_cmd(app: App, as_json: bool) -> None:
    """The schema revision the store is at, and whether it is this scf's head."""
    from ..ops.views import dumps
    from ..store import migrate

    state = migrate.status(app.settings.organization.database)
    if as_json:
        echo(
            dumps(
                {
                    "revision": state.revision,
                    "head": migrate.HEAD,
                    "at_head": state.at_head,
                    "legacy": state.legacy,
                    "newer": state.newer,
                }
            )
        )
    elif state.at_head:
        echo(f"schema revision {state.revision} (head)")
    elif state.empty:
        echo(f"empty: no schema yet (the first scf command creates it at {migrate.HEAD})")
    elif state.newer:
        echo(f"{state.describe()}, newer than this scf ({migrate.HEAD}): upgrade scf-plugins")
    else:
        echo(f"{state.describe()}; this scf needs {migrate.HEAD}: run `scf db upgrade`")


@db_group.command("upgrade")
@click.option("--yes", is_flag=True, help="Do not ask (PostgreSQL: you have run pg_dump).")
@pass_app
def upgrade_cmd(app: App, yes: bool) -> None:
    """Bring the store's schema to this scf's head.

    A SQLite store is copied beside itself first (the copy's name is printed). A PostgreSQL
    store is not copied: back it up with pg_dump, then confirm (or pass --yes). Two upgrades
    at once are safe: the second waits for the first and finds nothing to do.
    """
    from ..store import migrate
    from ..store.connect import sqlite_path

    url = app.settings.organization.database
    state = migrate.status(url)
    if state.at_head:
        echo(f"schema revision {state.revision} is this scf's head; nothing to do")
        return
    if state.behind and not state.newer and sqlite_path(url) is None:
        echo(
            f"this changes the store from {state.describe()} to {migrate.HEAD} in place; "
            f"back it up first (pg_dump --format=custom --file=scf.dump DBNAME)"
        )
        if not yes:
            click.confirm("Has it been backed up, and should the upgrade start?", abort=True)
    done = migrate.upgrade_store(url)
    if done.before.at_head:
        echo(f"schema revision {migrate.HEAD} (another scf upgraded it meanwhile)")
    elif done.before.empty:
        echo(f"created the schema at revision {migrate.HEAD}")
    else:
        echo(f"upgraded from {done.before.describe()} to {migrate.HEAD}")
    if done.copy is not None:
        echo(f"the store as it was is in {done.copy}")


@db_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@pass_app
def backup_cmd(app: App, path: str, force: bool) -> None:
    """Copy a SQLite store to PATH while scf runs (a consistent snapshot, owner-only).

    A PostgreSQL store is backed up with pg_dump instead.
    """
    from ..store import backup

    copied = backup.backup_store(app.settings.organization.database, path, force=force)
    echo(f"copied the store to {copied}")
