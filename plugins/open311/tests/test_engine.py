"""The open311 plugin under the host's engine: a batch service's token is pending until the
back office makes the request, then the issue is acknowledged naming the real id; comments
go both ways through mySociety's updates; a duplicate closes as a cancellation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scf_open311.emulator import Open311Emulator

from scf_plugins.cli import cli
from scf_plugins.cli.app import App
from scf_plugins.config.settings import load_config
from scf_plugins.engine.loop import Engine
from scf_plugins.plugins import build_manager
from scf_plugins.store.store import Store

from .conftest import KEY

CONFIG = """
[organization]
name = "Testville"
database = "sqlite:///{db}"

[integrations.county]
plugin = "open311"
environment = "test"
updates = "mysociety"
cancel_notes = ["duplicate"]

[integrations.county.test]
url = "{url}"
user = "scf"
"""


class Host:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.host = build_manager(disabled=set())
        self.settings = load_config(path)
        self.store = Store.open(self.settings.organization.database)
        self.now = datetime.now(UTC)
        self.engine = Engine(self.settings, self.host, self.store, clock=lambda: self.now)

    def cli(self, *args: str) -> Any:
        result = CliRunner().invoke(cli, list(args), obj=App(str(self.path), host=self.host))
        assert result.exit_code == 0, result.output
        return result

    def show(self, issue_id: int) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            self.cli("issues", "show", str(issue_id), "--json").stdout
        )
        return data

    def report(self, code: str, *answers: str) -> int:
        args = ["report", "--type", code, "--summary", "Out since Monday", "--lat", "41.3",
                "--lng", "-72.9", "--json"]  # fmt: skip
        for answer in answers:
            args += ["--answer", answer]
        return int(json.loads(self.cli(*args).stdout)["id"])


@pytest.fixture
def county(emulator: Open311Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    monkeypatch.setenv("SCF_COUNTY_TEST_PASSWORD", KEY)
    monkeypatch.setenv("SCF_SECRETS_FILE", str(tmp_path / "secrets.json"))
    path = tmp_path / "scf.toml"
    path.write_text(CONFIG.format(db=tmp_path / "scf.db", url=emulator.url))
    host = Host(path)
    host.cli("request-types", "--refresh")
    return host


def test_a_batch_create_is_pending_then_acknowledged_naming_the_real_id(
    county: Host, emulator: Open311Emulator
) -> None:
    issue_id = county.report("LIGHT", "pole=P-77")
    first = county.engine.run_pass()
    assert (first.pending, first.acknowledged) == (1, 0)
    shown = county.show(issue_id)
    token = shown["sync"]["pending"]["token"]
    assert shown["status"] == "open" and token.startswith("tok-")
    [made] = emulator.state.process_batch()
    county.now += timedelta(seconds=6)
    assert county.engine.run_pass().acknowledged == 1
    shown = county.show(issue_id)
    assert shown["remote_id"] == made and shown["sync"]["pending"] is None
    assert made in shown["comments"][0]["text"] and token not in shown["comments"][0]["text"]


def test_comments_both_ways_and_a_duplicate_reopens_the_issue(
    county: Host, emulator: Open311Emulator
) -> None:
    issue_id = county.report("GRAF")
    county.engine.run_pass()
    rid = county.show(issue_id)["remote_id"]
    county.cli("comment", str(issue_id), "It is bigger now", "--author", "Resident")
    emulator.state.staff("comment", rid, text="To SCF: a crew comes Tuesday")
    emulator.state.staff("comment", rid, text="internal: bring the blaster")
    report = county.engine.run_pass()
    assert (report.comments_out, report.comments_in) == (1, 1)
    sent = [u["description"] for u in emulator.state.updates if u["author"] == "client"]
    assert sent and sent[0].startswith("Resident: It is bigger now")
    texts = [c["text"] for c in county.show(issue_id)["comments"]]
    assert "a crew comes Tuesday" in texts and not any("blaster" in t for t in texts)
    emulator.state.staff("cancel", rid, notes="Duplicate of an older report")
    assert county.engine.run_pass().cancelled == 1
    shown = county.show(issue_id)
    assert shown["status"] == "open" and shown["remote_id"] is None
