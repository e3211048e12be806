"""Consistent copies of a SQLite store, through SQLite's online backup API.

The copy is a snapshot of one moment even while workers write (WAL readers see one
committed state). It is written to a temporary owner-only file beside its destination and
then renamed into place, so a failed or interrupted copy leaves nothing under the
destination's name. PostgreSQL stores are copied with ``pg_dump``, not here.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import make_url

from ..errors import UserError
from ..timeutil import utcnow
from .connect import SQLITE_BUSY_MS, sqlite_path


def backup_store(url: str, destination: str, *, force: bool = False) -> Path:
    """Copy the SQLite store at ``url`` to ``destination`` (``scf db backup``).

    :raises UserError: for a store that is not a SQLite file (PostgreSQL: use ``pg_dump``),
        and as :func:`copy_to`.
    """
    path = sqlite_path(url)
    if path is not None:
        return copy_to(path, destination, force=force)
    try:
        backend = make_url(url).get_backend_name()
    except Exception:
        backend = "not a SQLAlchemy URL"
    if backend == "postgresql":
        raise UserError(
            "scf db backup copies SQLite stores; back up a PostgreSQL store with pg_dump "
            "(e.g. pg_dump --format=custom --file=scf.dump DBNAME), then restore it with "
            "pg_restore"
        )
    raise UserError(
        f"scf db backup copies a SQLite store's file; this store ({backend}) has none: "
        f"use the database's own backup tool"
    )


def copy_to(source: str, destination: str, *, force: bool = False) -> Path:
    """Copy the SQLite store ``source`` to ``destination``; returns where it went.

    :param force: replace ``destination`` when it exists (else it is refused).
    :raises UserError: a missing store, a destination that is the store, a folder, an
        existing file (without ``force``), or in a missing folder; a copy that failed.
    """
    store = Path(source)
    target = Path(destination)
    if not store.is_file():
        raise UserError(f"there is no SQLite store at {store}")
    if target.is_dir():
        raise UserError(f"{target} is a folder; give the path of the copy to write")
    if not target.parent.is_dir():
        raise UserError(f"the folder {target.parent} does not exist")
    if target.exists() and os.path.samefile(target, store):
        raise UserError(f"{target} is the store itself; give another path")
    if target.exists() and not force:
        raise UserError(f"{target} exists; pass --force to replace it")
    try:
        fd, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise UserError(f"cannot write in {target.parent}: {exc.strerror}") from None
    os.close(fd)
    try:
        _backup(store, Path(temporary))
        _publish(Path(temporary), target, force=force)
    except OSError as exc:
        raise UserError(f"the copy of {store} to {target} failed: {exc.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return target


def copy_beside(source: str, revision: str) -> Path:
    """Copy the store ``source`` beside itself before an upgrade from ``revision``:
    ``<store>.before-<revision>-<UTC time>``; returns the copy's path."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    base = f"{source}.before-{revision}-{stamp}"
    candidate, n = base, 1
    while os.path.lexists(candidate):  # two upgrades in one second: keep both copies
        n += 1
        candidate = f"{base}-{n}"
    return copy_to(source, candidate)


def _backup(store: Path, temporary: Path) -> None:
    """The online backup of ``store`` into ``temporary``, flushed to disk."""
    try:
        # mode=rw: the store must exist (a typo must not create an empty one to copy).
        source = sqlite3.connect(
            f"file:{quote(str(store))}?mode=rw", uri=True, timeout=SQLITE_BUSY_MS / 1000
        )
        try:
            target = sqlite3.connect(temporary)
            try:
                source.backup(target)  # all pages in one step: one consistent snapshot
            finally:
                target.close()
        finally:
            source.close()
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
    except sqlite3.Error as exc:
        raise UserError(f"the copy of {store} failed: {exc}") from None


def _publish(temporary: Path, target: Path, *, force: bool) -> None:
    """Rename the finished copy to ``target``; without ``force``, never over an existing file
    (even one that appeared while the copy was written)."""
    if force:
        os.replace(temporary, target)
    else:
        try:
            os.link(temporary, target)  # atomic, and fails if target exists
        except FileExistsError:
            raise UserError(f"{target} exists; pass --force to replace it") from None
    with contextlib.suppress(OSError):  # make the rename itself durable where we can
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
