"""Shared fixtures for the host tests: a config writer, a fake remote plugin, a CLI runner,
and hosts under test (``scf_plugins.testing.Harness``): ``world`` against the Cityworks
emulator, ``basic`` on the fake plugin, and the Open311 door (``door``, ``make_door``)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scf_plugins.cli import cli
from scf_plugins.cli.app import App
from scf_plugins.plugins import PluginHost, build_manager
from scf_plugins.testing import Door, FakeRemote, Harness

from .served import GEOCODER, SERVER, FakeGeocoder


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
# The answers a POTHOLE report gives unless a test names its own (the emulator's questions).
POTHOLE_ANSWERS = ("501=Yes", "502=Smaller than a dinner plate", "503=r@example.org")

WORLD_CONFIG = """
[organization]
name = "City of Testville"
bot_name = "Testville 311"

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


@pytest.fixture
def world(harness: Callable[..., Harness]) -> Iterator[Callable[..., Harness]]:
    """Start the Cityworks emulator and a host whose config points at it, with the real
    plugins: ``world(extra=..., tail=..., latency=..., first_request_id=...)``. ``extra`` goes
    into the integration's table, ``tail`` after it; the harness's ``emulator`` is it."""
    from scf_cityworks.emulator import Emulator, EmulatorState

    def make(
        extra: str = "", tail: str = "", latency: float = 0.0, first_request_id: int | None = None
    ) -> Harness:
        state = EmulatorState(
            users={"scf-int": PASSWORD}, latency=latency, first_request_id=first_request_id
        )
        emulator = Emulator(state).start()
        try:
            return harness(
                WORLD_CONFIG.format(url=emulator.url, extra=extra, tail=tail),
                passwords={"cityworks.test": PASSWORD},
                default_answers={"POTHOLE": POTHOLE_ANSWERS},
                emulator=emulator,  # stopped with the harness
            )
        except BaseException:
            emulator.stop()
            raise

    yield make  # the kit closes the Cityworks sessions after each test


@pytest.fixture
def basic(harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote]) -> Harness:
    """The basic config on the fake plugin, as a harness whose store is the test's database."""
    host, _ = fake_host
    return harness(BASIC, host=host)


@pytest.fixture
def make_door(
    fake_host: tuple[PluginHost, FakeRemote], harness: Callable[..., Harness]
) -> Callable[..., Door]:
    """Serve the basic config's Open311 door: ``make_door(rpm=..., geocoder=...)``;
    ``server`` adds lines to its ``[server]`` section."""

    def make(rpm: int = 600, geocoder: bool = False, server: str = "") -> Door:
        host, _ = fake_host
        text = BASIC + SERVER.format(rpm=rpm) + server
        if geocoder:
            host.register(FakeGeocoder(), "fake-geo")
            text = text.replace('user = "scf-int"', 'user = "scf-int"\n') + GEOCODER
            text = text.replace(
                'request_types = ["*"]', 'request_types = ["*"]\naddress_validation = "city"'
            )
        return harness(text, host=host).serve()

    return make


@pytest.fixture
def door(make_door: Callable[..., Door]) -> Door:
    """The basic config's door, at 600 requests a minute."""
    return make_door()
