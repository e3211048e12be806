"""Pending creates (a token now, the remote id later) and the plugin's own state per issue."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import Result

from scf_plugins import AmbiguousError, Integration, Issue, Submission, hookimpl
from scf_plugins.engine.loop import Engine
from scf_plugins.plugins import PluginHost
from scf_plugins.testing import Clock, Harness
from scf_plugins.testing.fake import FakeRemote, FakeStaff

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def batch(
    fake_host: tuple[PluginHost, FakeRemote], basic: Harness
) -> tuple[Engine, FakeRemote, Clock, Callable[..., Result]]:
    _, plugin = fake_host
    plugin.batch = True
    clock = Clock(START)
    return basic.engine(clock=clock), plugin, clock, basic.cli


def report(run: Callable[..., Result]) -> int:
    result = run("report", "--type", "GRAFFITI", "--summary", "Tag", "--lat", "1", "--lng", "2",
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)["id"])


def show(run: Callable[..., Result], issue_id: int) -> dict[str, Any]:
    result = run("issues", "show", str(issue_id), "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_a_token_is_pending_until_resolved_then_the_message_names_the_real_id(batch) -> None:  # type: ignore[no-untyped-def]
    engine, plugin, clock, run = batch
    issue_id = report(run)
    first = engine.run_pass()
    assert (first.submitted, first.pending, first.acknowledged) == (1, 1, 0)
    shown = show(run, issue_id)
    assert shown["status"] == "open" and shown["remote_id"] is None
    token = shown["sync"]["pending"]["token"]
    assert token.startswith("tok-") and not shown["comments"]
    text = run("issues", "show", str(issue_id)).stdout
    assert f"accepted as token {token}" in text
    status = json.loads(run("status", "--json").stdout)["integrations"][0]
    assert (status["pending"], status["waiting"]) == (1, 0)

    # Not processed yet: asked, still pending, never submitted again.
    clock.advance(seconds=6)
    assert engine.run_pass().acknowledged == 0
    assert show(run, issue_id)["sync"]["pending"]["token"] == token
    assert [c for c in plugin.calls if c[0] == "submit"] == [("submit", "alpha")]
    assert ("resolve_pending", "alpha") in plugin.calls

    FakeStaff(plugin).process_batch()
    clock.advance(seconds=1)
    assert engine.run_pass().acknowledged == 0  # not asked again before its delay
    clock.advance(seconds=10)
    assert engine.run_pass().acknowledged == 1
    shown = show(run, issue_id)
    rid = plugin.tokens[token]
    assert shown["status"] == "acknowledged" and shown["remote_id"] == rid
    assert shown["sync"]["pending"] is None
    [ack] = shown["comments"]
    assert rid in ack["text"] and token not in ack["text"]
    assert [c for c in plugin.calls if c[0] == "submit"] == [("submit", "alpha")]
    assert len(plugin.remote) == 1


def test_a_lost_token_sends_the_issue_again_after_a_look_up(batch) -> None:  # type: ignore[no-untyped-def]
    engine, plugin, clock, run = batch
    issue_id = report(run)
    engine.run_pass()
    token = show(run, issue_id)["sync"]["pending"]["token"]
    FakeStaff(plugin).forget_token(token)
    clock.advance(seconds=6)
    lost = engine.run_pass()
    assert lost.acknowledged == 0
    shown = show(run, issue_id)
    assert shown["sync"]["pending"] is None
    assert "was lost" in shown["sync"]["last_error"]
    clock.advance(seconds=60)
    plugin.batch = False
    assert engine.run_pass().acknowledged == 1
    assert show(run, issue_id)["status"] == "acknowledged"


def test_the_plugin_state_of_an_uncertain_create_reaches_its_retry(fake_host, basic) -> None:  # type: ignore[no-untyped-def]
    host, _ = fake_host
    seen: list[dict[str, Any]] = []

    class Remembers(FakeRemote):
        @hookimpl
        def submit(self, integration: Integration, issue: Issue) -> Submission:
            seen.append(dict(issue.plugin_state))
            if not issue.submit_attempted:
                raise AmbiguousError("lost", plugin_state={"sent_at": "2026-03-02T09:00:00Z"})
            return Submission(remote_id="77", created=False, plugin_state={"seen": 2})

    host.unregister("fake-a")
    host.register(Remembers("fake-a"), "fake-a")
    clock = Clock(START)
    store = basic.store()
    engine = basic.engine(clock=clock)
    issue_id = report(basic.cli)
    engine.run_pass()
    clock.advance(seconds=120)
    assert engine.run_pass().acknowledged == 1
    assert seen == [{}, {"sent_at": "2026-03-02T09:00:00Z"}]
    record = store.get(issue_id)
    assert record is not None and dict(record.issue.plugin_state) == {"seen": 2}


@pytest.mark.parametrize(
    "state",
    [["a list"], {"big": "x" * 5000}, {"not json": object()}],
    ids=["a-list", "too-big", "not-json"],  # the same names in every process (pytest -n)
)
def test_a_plugin_state_the_store_cannot_keep_is_a_plugin_error_not_a_crash(
    fake_host, basic, state
) -> None:  # type: ignore[no-untyped-def]
    host, _ = fake_host

    class Bad(FakeRemote):
        @hookimpl
        def submit(self, integration: Integration, issue: Issue) -> Submission:
            return Submission(remote_id="78", plugin_state=state)

    host.unregister("fake-a")
    host.register(Bad("fake-a"), "fake-a")
    engine = basic.engine(clock=Clock(START))
    issue_id = report(basic.cli)
    outcome = engine.run_pass()
    assert outcome.acknowledged == 0 and outcome.errors == 1
    assert "plugin_state" in show(basic.cli, issue_id)["sync"]["last_error"]


def test_poll_hands_the_plugin_its_state(fake_host, basic) -> None:  # type: ignore[no-untyped-def]
    host, _ = fake_host
    seen: list[dict[str, Any]] = []

    class Stateful(FakeRemote):
        @hookimpl
        def submit(self, integration: Integration, issue: Issue) -> Submission:
            made = FakeRemote.submit(self, integration, issue)
            return Submission(remote_id=made.remote_id, plugin_state={"site": "north"})

        @hookimpl
        def poll(self, integration, tracked):  # type: ignore[no-untyped-def]
            seen.extend(dict(t.plugin_state) for t in tracked)
            return FakeRemote.poll(self, integration, tracked)

    host.unregister("fake-a")
    host.register(Stateful("fake-a"), "fake-a")
    engine = basic.engine(clock=Clock(START))
    report(basic.cli)
    engine.run_pass()
    engine.run_pass()
    assert seen and seen[-1] == {"site": "north"}
