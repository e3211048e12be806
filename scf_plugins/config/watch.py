"""Noticing a changed config file in a long run (``scf sync``, ``scf serve``).

Between passes the runner asks :meth:`ConfigWatch.check`: when the file's identity (inode,
size, modification time) changed and then stayed the same from one check to the next (so a
file half written by an editor is not read), and its content's hash changed too, or at once
on ``SIGHUP`` (:meth:`ConfigWatch.ask`, which reads it again whatever changed: a password in
the environment or secrets file too), the file is read and checked as ``scf config check``
reads it. A config that passes
is used from the next pass, said in one line naming what changed; one that does not is not
used: one warning gives its problem lines and says the old config stays (said again only when
the file changes again).

What changes live: the integrations (settings, statuses, messages, activity rules, request
types routed, endpoints and passwords, added or removed), the geocoders, the organization's
texts, service area and retention, ``[server]`` and ``[images]``. What needs a restart:
``organization.database`` (the store is opened once; the old one stays in use), and the
address ``scf serve`` listens on (``--host``/``--port``, not in the file).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .settings import MAX_CONFIG_BYTES, PluginOptions, Settings, check_config

log = logging.getLogger(__name__)

RESTART_ONLY = "organization.database"
_UNSEEN = object()


class ConfigWatch:
    """One running process's config file and the settings it runs on.

    :param current: the settings in use (read from ``current.path``).
    :param prepare: applied to every config read again, as to the first (``scf sync
        --interval`` overrides each integration's poll interval).
    :param plugin_options: the plugins' declared options, checked as at start-up.
    """

    def __init__(
        self,
        current: Settings,
        prepare: Callable[[Settings], Settings] | None = None,
        plugin_options: PluginOptions | None = None,
    ) -> None:
        self.path = current.path
        self.current = current
        self.prepare = prepare or (lambda settings: settings)
        self.plugin_options = plugin_options
        self._identity = _identity(self.path)
        self._settling: object = _UNSEEN  # a new identity seen once, or none
        self._digest = _digest(self.path)
        self._refused: str | None = None  # the digest of the content last refused
        self._asked = threading.Event()

    def ask(self) -> None:
        """Read the file again at the next check, changed or not (``SIGHUP``; safe in a
        signal handler: it only sets a flag)."""
        self._asked.set()

    def check(self) -> Settings | None:
        """The new settings when the file changed (or a read was asked) and its config
        passes the checks; None when nothing is to change."""
        asked = self._asked.is_set()
        self._asked.clear()
        identity = _identity(self.path)
        if not asked and identity == self._identity:
            return None
        if not asked and identity != self._settling:
            self._settling = identity  # changed since the last check: maybe still being written
            return None
        self._identity, self._settling = identity, _UNSEEN
        digest = _digest(self.path)
        if not asked and digest == self._digest:
            return None  # touched, or written with the same content
        why = "read on SIGHUP" if asked else "changed on disk"
        settings, problems = check_config(self.path, plugin_options=self.plugin_options)
        if settings is None or problems:
            if digest != self._refused or asked:
                self._refused = digest
                log.warning(  # each problem names the file
                    "config %s is not used: %s; the old config stays in use",
                    why,
                    "; ".join(problems) or f"{self.path} cannot be read",
                    extra={"event": "config-refused"},
                )
            return None
        self._digest, self._refused = digest, None
        fresh, restart = self._keeping_restart_only(self.prepare(settings))
        changed = changes(self.current, fresh)
        self.current = fresh
        log.warning(
            "config %s %s: %s%s",
            self.path,
            why,
            f"{', '.join(changed)} changed, used from the next pass" if changed else
            "no setting changed",
            f"; {restart}" if restart else "",
            extra={"event": "config-reloaded"},
        )  # fmt: skip
        return fresh

    def _keeping_restart_only(self, fresh: Settings) -> tuple[Settings, str]:
        """``fresh`` with what needs a restart kept as it is now, and a line saying so."""
        old = self.current.organization.database
        if fresh.organization.database == old:
            return fresh, ""
        organization = dataclasses.replace(fresh.organization, database=old)
        kept = dataclasses.replace(fresh, organization=organization)
        return kept, f"{RESTART_ONLY} changed: that needs a restart (the old database stays)"


def changes(old: Settings, new: Settings) -> list[str]:
    """The sections (and named tables) that differ: ``integrations.cityworks``, ``server``."""
    found = [
        name
        for name in ("organization", "server", "images")
        if not _same(getattr(old, name), getattr(new, name))
    ]
    found += _tables("integrations", old.integrations, new.integrations)
    found += _tables("geocoders", old.geocoders, new.geocoders)
    return found


def _tables(section: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for name in dict.fromkeys([*old, *new]):
        if name not in new:
            out.append(f"{section}.{name} (removed)")
        elif name not in old:
            out.append(f"{section}.{name} (added)")
        elif not _same(old[name], new[name]):
            out.append(f"{section}.{name}")
    return out


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # a value that cannot be compared: say it changed
        return False


def _identity(path: Path) -> tuple[int, int, int] | None:
    """Inode, size and modification time (an editor's rename, a write, a touch)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _digest(path: Path) -> str | None:
    """The content's hash (None: it cannot be read; the check says why)."""
    try:
        with path.open("rb") as fh:
            return hashlib.sha256(fh.read(MAX_CONFIG_BYTES + 1)).hexdigest()
    except OSError:
        return None
