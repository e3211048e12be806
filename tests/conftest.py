"""Shared fixtures for the host tests: a config writer, a fake remote plugin, a CLI runner."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scf_plugins.app import App
from scf_plugins.cli import cli
from scf_plugins.plugins import PluginHost, build_manager
from scf_plugins.testing.fake import FakeRemote


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
