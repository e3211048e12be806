"""Shared fixtures for the host tests: a config writer, a fake remote plugin, a CLI runner."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scf_plugins.cli import cli
from scf_plugins.cli.app import App
from scf_plugins.config.settings import load_config
from scf_plugins.intake.catalog import refresh
from scf_plugins.plugins import PluginHost, build_manager
from scf_plugins.server.apikeys import create
from scf_plugins.server.web import create_app
from scf_plugins.store.store import Store
from scf_plugins.testing.fake import FakeRemote

from .served import GEOCODER, SERVER, Door, FakeGeocoder, Served


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write ``scf.toml`` (dedented) in a temp folder; its store is beside it."""

    def write(text: str) -> Path:
        path = tmp_path / "scf.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


BASIC = """
[organization]
name = "City of Testville"

[integrations.alpha]
plugin = "fake-a"
environment = "test"
request_types = ["*"]

[integrations.alpha.test]
url = "http://127.0.0.1:9/Cityworks/Services/AMS"
user = "scf-int"
"""


@pytest.fixture
def basic_config() -> str:
    """The text of the basic config: one integration ``alpha`` on the fake plugin."""
    return BASIC


@pytest.fixture
def fake_host() -> tuple[PluginHost, FakeRemote]:
    """A plugin host with no entry points and one fake plugin named ``fake-a``."""
    host = build_manager(load_entry_points=False)
    plugin = FakeRemote("fake-a")
    host.register(plugin, "fake-a")
    return host, plugin


@pytest.fixture
def run(
    fake_host: tuple[PluginHost, FakeRemote],
    write_config: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Callable[..., Result]:
    """Run the CLI against the basic config and the fake host: ``run("issues", "list")``."""
    monkeypatch.setenv("SCF_SECRETS_FILE", str(tmp_path / "secrets.json"))
    path = write_config(BASIC)
    host, _ = fake_host

    def invoke(*args: str, config: Path | None = None, input: str | None = None) -> Result:
        app = App(str(config or path), host=host)
        return CliRunner().invoke(cli, list(args), obj=app, input=input)

    return invoke


PASSWORD = "World-Pass-5521"
# Run the emulator-backed tests on another database (the CI points this at PostgreSQL).
DATABASE_ENV = "SCF_TEST_DATABASE_URL"


def empty_database(url: str) -> None:
    """Drop every table of the store, so each test starts from an empty database."""
    from sqlalchemy import create_engine

    from scf_plugins.store import tables

    engine = create_engine(url)
    with engine.begin() as conn:
        tables.metadata.drop_all(conn)
    engine.dispose()


WORLD_CONFIG = """
[organization]
name = "City of Testville"
bot_name = "Testville 311"
database = "{db}"

[integrations.cityworks]
plugin = "cityworks"
environment = "test"
version = "15.8"
srid = 3857
closed_statuses = ["CLOSED", "COMPLETE"]
cancel_statuses = ["CANCEL", "DUP"]
timezone = "America/New_York"
max_concurrency = 4
{extra}

[integrations.cityworks.test]
url = "{url}"
user = "scf-int"

[integrations.cityworks.messages]
closed_by_status = {{ COMPLETE = "Work on {{remote_id}} is complete." }}
canceled_by_status = {{ DUP = "Request {{remote_id}} duplicates another one." }}

[[integrations.cityworks.activity]]
field = "DispatchTo"
message = "Your request has been assigned to {{value}}."
{tail}
"""


@dataclass
class World:
    """A running emulator, a config pointing at it, its store and the real plugins."""

    emulator: Any
    path: Path
    host: PluginHost
    tmp: Path
    clock: list[datetime]

    @property
    def settings(self) -> Any:
        from scf_plugins.config.settings import load_config

        return load_config(self.path)

    def store(self) -> Any:
        from scf_plugins.store.store import Store

        return Store.open(self.settings.organization.database)

    def engine(self, **options: Any) -> Any:
        from scf_plugins.engine.loop import Engine

        options.setdefault("clock", lambda: self.clock[0])
        return Engine(self.settings, self.host, self.store(), **options)

    def sync(self, **options: Any) -> Any:
        return self.engine(**options).run_pass()

    def later(self, **delta: float) -> None:
        self.clock[0] = self.clock[0] + timedelta(**delta)

    def cli(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(
            cli, list(args), obj=App(str(self.path), host=self.host), input=input
        )

    def report(self, code: str = "POTHOLE", *answers: str, **fields: str | list[str]) -> int:
        defaults: dict[str, str | list[str]] = {
            "summary": "Deep pothole", "lat": "41.3083", "lng": "-72.9279"
        }  # fmt: skip
        defaults.update(fields)
        args = ["report", "--type", code, "--json"]
        for key, value in defaults.items():
            for each in [value] if isinstance(value, str) else value:  # a list: repeated
                args += [f"--{key.replace('_', '-')}", each]
        if code == "POTHOLE" and not answers:
            answers = ("501=Yes", "502=Smaller than a dinner plate", "503=r@example.org")
        for answer in answers:
            args += ["--answer", answer]
        result = self.cli(*args)
        assert result.exit_code == 0, result.output
        return int(json.loads(result.stdout)["id"])

    def show(self, issue_id: int) -> dict[str, Any]:
        result = self.cli("issues", "show", str(issue_id), "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def remote_id(self, issue_id: int) -> int:
        return int(self.show(issue_id)["remote_id"])


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., World]]:
    """Start the emulator and write a config for it: ``world(extra=..., tail=...)``."""
    from scf_cityworks.emulator import Emulator, EmulatorState
    from scf_cityworks.plugin import forget_sites

    monkeypatch.setenv("SCF_CITYWORKS_TEST_PASSWORD", PASSWORD)
    monkeypatch.setenv("SCF_SECRETS_FILE", str(tmp_path / "secrets.json"))
    servers: list[Any] = []

    database = os.environ.get(DATABASE_ENV) or f"sqlite:///{tmp_path / 'scf.db'}"
    if os.environ.get(DATABASE_ENV):
        empty_database(database)

    def make(
        extra: str = "", tail: str = "", latency: float = 0.0, first_request_id: int | None = None
    ) -> World:
        state = EmulatorState(
            users={"scf-int": PASSWORD}, latency=latency, first_request_id=first_request_id
        )
        emulator = Emulator(state).start()
        servers.append(emulator)
        path = tmp_path / "scf.toml"
        path.write_text(WORLD_CONFIG.format(db=database, url=emulator.url, extra=extra, tail=tail))
        host = build_manager(disabled=set())
        return World(emulator, path, host, tmp_path, [datetime.now(UTC)])

    yield make
    for server in servers:
        server.stop()
    forget_sites()


@pytest.fixture
def make_door(
    fake_host: Any, write_config: Callable[[str], Path], basic_config: str, monkeypatch: Any
) -> Iterator[Callable[..., Door]]:
    monkeypatch.setenv("SCF_SECRETS_FILE", str(write_config("").parent / "secrets.json"))
    served: list[Served] = []

    def make(rpm: int = 600, geocoder: bool = False) -> Door:
        host, _ = fake_host
        text = basic_config + SERVER.format(rpm=rpm)
        if geocoder:
            host.register(FakeGeocoder(), "fake-geo")
            text = text.replace('user = "scf-int"', 'user = "scf-int"\n') + GEOCODER
            text = text.replace(
                'request_types = ["*"]', 'request_types = ["*"]\naddress_validation = "city"'
            )
        settings = load_config(write_config(text))
        store = Store.open(settings.organization.database)
        refresh(settings, host, store)
        key = create(store, "fixmystreet")
        server = Served(create_app(settings, host, store))
        served.append(server)
        return Door(server.url, key, store, settings)

    yield make
    for server in served:
        server.stop()


@pytest.fixture
def door(make_door: Callable[..., Door]) -> Door:
    return make_door()
