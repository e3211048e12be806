"""Two hosts chained over Open311: host A's ``open311`` integration reports to host B's
``scf serve`` door; host B sends the issue on to its Cityworks emulator; city staff close it
there, and host A's issue closes with the closing message that came down the chain."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scf_plugins.cli import cli
from scf_plugins.cli.app import App
from scf_plugins.config.settings import load_config
from scf_plugins.engine.loop import Engine
from scf_plugins.plugins import build_manager
from scf_plugins.server.apikeys import create
from scf_plugins.server.web import create_app
from scf_plugins.store.store import Store

from .served import Served

HOST_A = """
[organization]
name = "Testville County"
database = "sqlite:///{db}"

[integrations.county]
plugin = "open311"
environment = "test"
request_types = ["*"]
closed_statuses = ["closed"]
{extra}

[integrations.county.test]
url = "{url}"
user = "county-a"

[integrations.county.messages]
closed = "Request {{remote_id}} is closed: {{reason}}"
"""


class HostA:
    """The upstream host: its config, store, plugins and CLI."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.host = build_manager(disabled=set())
        self.settings = load_config(path)
        self.store = Store.open(self.settings.organization.database)

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), obj=App(str(self.path), host=self.host))

    def sync(self) -> Any:
        return Engine(
            self.settings, self.host, self.store, clock=lambda: datetime.now(UTC)
        ).run_pass()

    def show(self, issue_id: int) -> dict[str, Any]:
        result = self.cli("issues", "show", str(issue_id), "--json")
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data


@pytest.fixture
def chain(
    world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], tuple[Any, HostA]]]:  # type: ignore[no-untyped-def]
    served: list[Served] = []

    def make(extra: str = "") -> tuple[Any, HostA]:
        b = world()
        assert b.cli("request-types", "--refresh").exit_code == 0
        store_b = b.store()
        key = create(store_b, "county-a")
        door = Served(create_app(b.settings, b.host, store_b))
        served.append(door)
        monkeypatch.setenv("SCF_COUNTY_TEST_PASSWORD", key)
        path = tmp_path / "a" / "scf.toml"
        path.parent.mkdir()
        path.write_text(
            HOST_A.format(db=tmp_path / "a" / "a.db", url=f"{door.url}/open311/v2", extra=extra)
        )
        return b, HostA(path)

    yield make
    for door in served:
        door.stop()


def test_a_report_travels_down_the_chain_and_its_closing_comes_back(chain) -> None:  # type: ignore[no-untyped-def]
    b, a = chain()
    assert a.cli("request-types", "--refresh").exit_code == 0
    types = {t["code"]: t for t in json.loads(a.cli("request-types", "--json").stdout)}
    assert [q["id"] for q in types["POTHOLE"]["questions"]] == ["501", "502", "503"]
    assert types["POTHOLE"]["questions"][2]["private"]  # an email question, private here too
    result = a.cli("report", "--type", "POTHOLE", "--summary", "Deep pothole", "--lat", "41.3083",
                   "--lng", "-72.9279", "--description", "By the school gate",
                   "--answer", "501=Yes", "--answer", "502=Smaller than a dinner plate",
                   "--answer", "503=r@example.org", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    issue_a = json.loads(result.stdout)["id"]

    # A -> B's door: A's issue is acknowledged with B's issue id.
    assert a.sync().acknowledged == 1
    shown_a = a.show(issue_a)
    issue_b = int(shown_a["remote_id"])
    record_b = b.show(issue_b)
    assert record_b["reported_via"] == "county-a" and record_b["summary"] == "Deep pothole"
    assert [x["answer"] for x in record_b["answers"]] == [
        "Yes", "Smaller than a dinner plate", "r@example.org"
    ]  # fmt: skip
    assert record_b["description"].endswith(f"[{shown_a['link']['marker']}]")

    # B -> Cityworks, and staff close it there.
    assert b.sync().acknowledged == 1
    rid = b.remote_id(issue_b)
    b.emulator.state.staff("close", rid, status="CLOSED")
    assert b.sync().closed == 1
    closing_b = [c["text"] for c in b.show(issue_b)["comments"] if c["kind"] == "system"][-1]

    # A polls B's door: closed, with B's closing message as the reason.
    assert a.sync().closed == 1
    shown_a = a.show(issue_a)
    assert shown_a["status"] == "closed"
    assert shown_a["comments"][-1]["text"] == f"Request {issue_b} is closed: {closing_b}"


def test_a_comment_made_upstream_reaches_the_crews_once(chain) -> None:  # type: ignore[no-untyped-def]
    """A's comment goes to B's door as a mySociety update, and B sends it on to Cityworks."""
    b, a = chain(extra='updates = "mysociety"')
    assert a.cli("request-types", "--refresh").exit_code == 0
    result = a.cli("report", "--type", "POTHOLE", "--summary", "Deep pothole", "--lat", "41.3083",
                   "--lng", "-72.9279", "--answer", "501=Yes",
                   "--answer", "502=Smaller than a dinner plate", "--answer", "503=r@example.org",
                   "--json")  # fmt: skip
    issue_a = json.loads(result.stdout)["id"]
    assert a.sync().acknowledged == 1
    issue_b = int(a.show(issue_a)["remote_id"])
    assert a.cli("comment", str(issue_a), "Is anyone coming?", "--author", "Ann Lee").exit_code == 0
    assert a.sync().comments_out == 1
    assert a.sync().comments_out == 0  # once
    [comment_b] = [c for c in b.show(issue_b)["comments"] if c["kind"] == "comment"]
    assert comment_b["author"] == "Ann Lee" and "Is anyone coming?" in comment_b["text"]
    report = b.sync()
    assert report.acknowledged == 1 and report.comments_out == 1
    sent = [c["Comments"] for c in b.emulator.state.comments[b.remote_id(issue_b)]]
    assert sum("Is anyone coming?" in text for text in sent) == 1


def test_doctor_checks_the_door_key_and_a_revoked_key_is_refused(chain) -> None:  # type: ignore[no-untyped-def]
    from scf_plugins.server.apikeys import revoke

    b, a = chain()
    result = a.cli("doctor")
    assert result.exit_code == 0, result.output
    assert "api_key accepted" in result.output
    revoke(b.store(), "county-a")
    result = a.cli("doctor")
    assert result.exit_code == 1
    assert "api_key is missing or not valid" in result.output
    assert "scf credentials set county --env test" in result.output
