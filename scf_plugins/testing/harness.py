"""One way to test a host: :class:`Harness` builds a config file, a store, a plugin host and
passes on a clock that moves only when told, and drives the host the way a city does (the
CLI, sync passes, the Open311 door).

::

    def test_a_report_is_acknowledged(tmp_path):
        with Harness(tmp_path, CONFIG, passwords={"cityworks.test": PASSWORD}) as host:
            issue_id = host.report("POTHOLE", "501=Yes")
            assert host.sync().acknowledged == 1
            host.later(minutes=5)   # the engine's clock, not the wall's
            assert host.show(issue_id)["status"] == "acknowledged"

The store is a fresh SQLite file in the test's folder, or, when ``SCF_TEST_DATABASE_URL``
names one (CI points it at a throwaway PostgreSQL), that database emptied first. Under pytest
the kit's ``harness`` fixture makes one per call and closes it with the test.

This is host code: it wraps the host's internals (config, store, engine, CLI, door) so that
a plugin's tests need import nothing but :mod:`scf_plugins.testing`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

from ..config.credentials import SECRETS_ENV, env_var_name
from ..config.settings import Settings, load_config
from ..plugins import PluginHost, build_manager
from .config_text import to_toml, with_database
from .databases import fresh_database
from .door import Door, Leaving

if TYPE_CHECKING:
    from click.testing import Result

    from ..cli.app import App
    from ..engine.loop import Engine
    from ..engine.outcomes import PassReport
    from ..store.store import Store

# Where a report is, unless a test says otherwise (inside the stand-ins' service areas).
REPORT_DEFAULTS: Mapping[str, str] = {
    "summary": "Deep pothole", "lat": "41.3083", "lng": "-72.9279"
}  # fmt: skip


class Stoppable(Protocol):
    """Anything the harness stops when it closes (a stand-in server, a served door)."""

    def stop(self) -> None:
        """Stop serving."""


class Clock:
    """The engine's clock in a test: it starts at ``start`` (default: now) and moves only when
    told, so back-offs, leases and retention are tested without waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move on by ``timedelta(**delta)`` (``minutes=5``); returns the new time."""
        self.now += timedelta(**delta)
        return self.now


class Harness:
    """A host under test: its config file, store, plugins and passes.

    :param folder: where the config (``scf.toml``), the SQLite store and the secrets file go.
    :param config: the config as TOML text or as a dict of tables. Without
        ``organization.database`` the harness's database is added.
    :param host: the plugin host; default: every installed plugin (entry points).
    :param database: the store's URL; default: :func:`fresh_database`.
    :param clock: the engine's clock; default: a :class:`Clock` at now (``later`` moves it).
        Any callable returning an aware datetime will do (``utcnow`` for the wall clock).
    :param passwords: integration passwords by ``"name.environment"`` (or ``"name"``), set in
        the environment (``SCF_<NAME>_<ENV>_PASSWORD``) until :meth:`close`.
    :param default_answers: answers a :meth:`report` of a type gives when it names none.
    :param emulator: the stand-in remote system the config points at, if the test started
        one; the harness stops it when it closes.
    """

    def __init__(
        self,
        folder: Path,
        config: str | Mapping[str, Any],
        *,
        host: PluginHost | None = None,
        database: str | None = None,
        clock: Callable[[], datetime] | None = None,
        passwords: Mapping[str, str] | None = None,
        default_answers: Mapping[str, tuple[str, ...]] | None = None,
        emulator: Any = None,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.database = database or fresh_database(self.folder)
        self.path = self.folder / "scf.toml"
        self.write_config(config)
        self.host = host if host is not None else build_manager(disabled=set())
        self.clock = clock or Clock()
        self.default_answers = dict(default_answers or {})
        self.emulator = emulator
        self._stores: dict[str, Store] = {}
        self._running: list[Stoppable] = [emulator] if emulator is not None else []
        self._saved_env: dict[str, str | None] = {}
        environ = {SECRETS_ENV: str(self.folder / "secrets.json")}
        for key, password in (passwords or {}).items():
            name, _, environment = key.partition(".")
            environ[env_var_name(name, environment or None)] = password
        for name, value in environ.items():
            self.setenv(name, value)

    # -- config and store ---------------------------------------------------------------------

    def write_config(self, config: str | Mapping[str, Any]) -> Path:
        """(Re)write the config file, adding the harness's database where none is named."""
        text = config if isinstance(config, str) else to_toml(config)
        self.path.write_text(with_database(text, self.database), encoding="utf-8")
        return self.path

    @property
    def settings(self) -> Settings:
        """The config as the host reads it, read again each time (a test may rewrite it)."""
        return load_config(self.path, plugin_options=self.host.plugin_options)

    def store(self) -> Store:
        """The store the config names (one per database URL, kept open until :meth:`close`)."""
        return self.store_at(self.settings.organization.database)

    def store_at(self, url: str) -> Store:
        """The store at ``url``, opened on first use and kept open until :meth:`close` (the
        CLI commands the harness runs use it too: opening a store checks its schema)."""
        from ..store.store import Store

        if url not in self._stores:
            self._stores[url] = Store.open(url)
        return self._stores[url]

    def setenv(self, name: str, value: str) -> None:
        """Set an environment variable until :meth:`close` (the CLI reads its secrets there)."""
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    # -- passes -------------------------------------------------------------------------------

    def engine(self, **options: Any) -> Engine:
        """A new engine on the harness's clock; ``options`` are the Engine's own."""
        from ..engine.loop import Engine

        options.setdefault("clock", self.clock)
        return Engine(self.settings, self.host, self.store(), **options)

    def sync(self, **options: Any) -> PassReport:
        """One pass of a new engine (as one ``scf sync --once`` would make)."""
        return self.engine(**options).run_pass()

    def later(self, **delta: float) -> datetime:
        """Move the engine's clock on by ``timedelta(**delta)``.

        :raises TypeError: when the harness was given a clock that is not a :class:`Clock`.
        """
        if not isinstance(self.clock, Clock):
            raise TypeError("later() moves the harness's own Clock; this one was given another")
        return self.clock.advance(**delta)

    # -- the CLI ------------------------------------------------------------------------------

    def cli(self, *args: str, input: str | None = None) -> Result:
        """Run ``scf ARGS`` against this config and these plugins; the result, whatever it is."""
        from click.testing import CliRunner

        from ..cli import cli

        app = _app(self)(str(self.path), host=self.host)
        return CliRunner().invoke(cli, list(args), obj=app, input=input)

    def cli_ok(self, *args: str, input: str | None = None) -> Result:
        """:meth:`cli`, insisting that the command succeeds (its output is the failure)."""
        result = self.cli(*args, input=input)
        assert result.exit_code == 0, result.output
        return result

    def report(self, code: str = "POTHOLE", *answers: str, **fields: str | list[str]) -> int:
        """Report an issue of type ``code`` with ``answers`` (``"501=Yes"``) through
        ``scf report``; fields are its options (``summary=``, ``image=[...]`` repeats one).
        Without answers, the type's ``default_answers``. Returns the new issue's id."""
        values: dict[str, str | list[str]] = {**REPORT_DEFAULTS, **fields}
        args = ["report", "--type", code, "--json"]
        for key, value in values.items():
            for each in [value] if isinstance(value, str) else value:
                args += [f"--{key.replace('_', '-')}", each]
        for answer in answers or self.default_answers.get(code, ()):
            args += ["--answer", answer]
        return int(json.loads(self.cli_ok(*args).stdout)["id"])

    def show(self, issue_id: int) -> dict[str, Any]:
        """``scf issues show ID --json``: the issue as the CLI shows it."""
        data: dict[str, Any] = json.loads(
            self.cli_ok("issues", "show", str(issue_id), "--json").stdout
        )
        return data

    def remote_id(self, issue_id: int) -> int:
        """The remote request's id of the issue, as a number (the stand-ins number theirs)."""
        return int(self.show(issue_id)["remote_id"])

    # -- the door -----------------------------------------------------------------------------

    def serve(self, key_name: str = "fixmystreet", *, refresh: bool = True) -> Door:
        """Serve the Open311 door on a free loopback port until :meth:`close`, with a new API
        key called ``key_name``; ``refresh`` loads the request types first."""
        from ..intake.catalog import refresh as refresh_types
        from ..server.apikeys import create
        from ..server.running import Background
        from ..server.web import create_app

        settings, store = self.settings, self.store()
        if refresh:
            refresh_types(settings, self.host, store)
        key = create(store, key_name, actor="scf testing (kit)")
        server = Background(create_app(settings, self.host, store))
        self._running.append(Leaving(server))
        return Door(server.url, key, store, settings)

    def keep(self, server: Any) -> Any:
        """Stop ``server`` (anything with ``stop()``) when the harness closes; returns it."""
        self._running.append(server)
        return server

    # -- the end ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop what it serves, close its stores, and put the environment back."""
        running, self._running = self._running, []
        for server in reversed(running):
            server.stop()
        stores, self._stores = self._stores, {}
        for store in stores.values():
            store.close()
        saved, self._saved_env = self._saved_env, {}
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _app(harness: Harness) -> type[App]:
    """The CLI's :class:`~scf_plugins.cli.app.App` whose store is the harness's own for the
    database the config names (the config is read as the command would read it)."""
    from ..cli.app import App

    class HarnessApp(App):
        @cached_property
        def store(self) -> Store:
            return harness.store_at(self.settings.organization.database)

    return HarnessApp
