"""The kit's harness (``scf_plugins.testing.Harness``): a config from TOML text or a dict with
the test's database added, passes on a clock that moves when told, the CLI, the door, and the
environment put back when it closes."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scf_plugins.plugins import build_manager
from scf_plugins.testing import Clock, FakeRemote, Harness
from scf_plugins.testing.config_text import to_toml, with_database

CONFIG = {
    "organization": {"name": "City of Testville"},
    "integrations": {
        "alpha": {
            "plugin": "fake-a",
            "environment": "test",
            "request_types": ["*"],
            "activity": [{"field": "DispatchTo", "message": "Assigned to {value}."}],
            "test": {"url": "http://127.0.0.1:9/api", "user": "scf-int"},
        }
    },
}


def fake_host() -> tuple[object, FakeRemote]:
    host = build_manager(load_entry_points=False)
    plugin = FakeRemote("fake-a")
    host.register(plugin, "fake-a")
    return host, plugin


def test_a_dict_config_is_written_as_toml_with_the_tests_database(
    harness: Callable[..., Harness], scf_database: str
) -> None:
    host, _ = fake_host()
    h = harness(CONFIG, host=host)
    written = tomllib.loads(h.path.read_text())
    assert written["organization"] == {"name": "City of Testville", "database": scf_database}
    assert written["integrations"] == CONFIG["integrations"]
    assert h.settings.organization.database == scf_database


def test_report_sync_show_and_a_clock_that_moves_only_when_told(
    harness: Callable[..., Harness],
) -> None:
    host, plugin = fake_host()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    h = harness(CONFIG, host=host, clock=Clock(start))
    issue_id = h.report("GRAFFITI", summary="Tag", lat="1", lng="2")
    assert h.sync().acknowledged == 1
    assert h.show(issue_id)["status"] == "acknowledged"
    assert h.remote_id(issue_id) == int(h.show(issue_id)["remote_id"])
    assert h.clock() == start
    assert h.later(minutes=5) == datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    assert plugin.calls  # the plugin the harness was given is the one that ran


def test_a_failing_command_is_reported_with_its_output(harness: Callable[..., Harness]) -> None:
    host, _ = fake_host()
    h = harness(CONFIG, host=host)
    assert h.cli("issues", "show", "42").exit_code == 1
    with pytest.raises(AssertionError, match="there is no issue 42"):
        h.cli_ok("issues", "show", "42")


def test_passwords_and_the_secrets_file_are_set_until_it_closes(tmp_path: Path) -> None:
    name = "SCF_ALPHA_TEST_PASSWORD"
    before = os.environ.get(name), os.environ.get("SCF_SECRETS_FILE")
    host, _ = fake_host()
    with Harness(tmp_path, CONFIG, host=host, passwords={"alpha.test": "Harness-Pass-1"}) as h:
        assert os.environ[name] == "Harness-Pass-1"
        assert os.environ["SCF_SECRETS_FILE"] == str(tmp_path / "secrets.json")
        assert h.settings.integrations["alpha"].password.reveal() == "Harness-Pass-1"
    assert (os.environ.get(name), os.environ.get("SCF_SECRETS_FILE")) == before


def test_the_door_is_served_with_a_live_key(harness: Callable[..., Harness]) -> None:
    host, _ = fake_host()
    door = harness(CONFIG, host=host).serve()
    assert door.get("/healthz").json()["database"] == "ok"
    answer = door.post(service_code="GRAFFITI", lat="1", long="2", description="Tag")
    assert answer.status_code == 200, answer.text
    assert door.post(key="not-a-key", service_code="GRAFFITI").status_code in (400, 403)


def test_the_database_line_goes_into_the_organization_table() -> None:
    text = '[organization] # the city\nname = "X"\n\n[integrations.a]\nplugin = "p"\n'
    added = tomllib.loads(with_database(text, "sqlite:///x.db"))
    assert added["organization"] == {"name": "X", "database": "sqlite:///x.db"}
    named = '[organization]\ndatabase = "sqlite:///mine.db"\n'
    assert with_database(named, "sqlite:///x.db") == named
    assert tomllib.loads(with_database("", "sqlite:///x.db")) == {
        "organization": {"database": "sqlite:///x.db"}
    }


def test_to_toml_round_trips_what_a_config_holds() -> None:
    config = {
        "a": {"s": 'quote " and \\ and é', "n": 3, "f": 0.5, "b": True, "l": ["x", 1]},
        "t": {"inner": {"k": "v"}, "rows": [{"x": 1}, {"x": 2}], "inline": [{"y": 1}, 2]},
        "empty": {},
    }
    assert tomllib.loads(to_toml(config)) == config
