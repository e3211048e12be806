"""A step of a pass runs on a context built by hand: no Engine, a FakeRemote plugin host, a
temporary SQLite store, and callbacks that record what the step asked of the engine."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from scf_plugins import Comment, DefiniteError, Integration, Issue, LoginRefused, hookimpl
from scf_plugins.config.settings import Settings, load_config
from scf_plugins.engine.comments import push_comments
from scf_plugins.engine.context import StepContext
from scf_plugins.engine.outcomes import PassReport
from scf_plugins.engine.submit import submit
from scf_plugins.models import NewIssue
from scf_plugins.plugins import PluginHost, build_manager
from scf_plugins.store.store import Store
from scf_plugins.store.tables import comments
from scf_plugins.testing.fake import FakeRemote

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass(eq=False)
class Remote(FakeRemote):
    """The fake remote system, made to refuse every comment with ``refuse`` when it is set."""

    refuse: BaseException | None = None

    @hookimpl
    def push_comment(self, integration: Integration, issue: Issue, comment: Comment) -> str:
        if self.refuse is not None:
            raise self.refuse
        return super().push_comment(integration, issue, comment)


@dataclass
class Calls:
    """The engine's side of a context, played by lists: what a step reported, tripped,
    paused and said."""

    failures: list[tuple[str, BaseException, str | None, int | None]] = field(default_factory=list)
    trips: list[tuple[str, BaseException]] = field(default_factory=list)
    pauses: list[tuple[str, BaseException]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def failed(
        self,
        where: str,
        exc: BaseException,
        *,
        integration: str | None = None,
        issue_id: int | None = None,
    ) -> None:
        self.failures.append((where, exc, integration, issue_id))

    def trip(self, integration: Integration, exc: BaseException) -> None:
        self.trips.append((integration.name, exc))

    def tripped(self, integration: Integration) -> bool:
        return any(name == integration.name for name, _ in self.trips)

    def pause(self, integration: Integration, exc: BaseException) -> None:
        self.pauses.append((integration.name, exc))


@dataclass
class Bench:
    """Settings, a plugin host with one FakeRemote, a store, and a context maker."""

    settings: Settings
    host: PluginHost
    plugin: Remote
    store: Store

    @property
    def alpha(self) -> Integration:
        return self.settings.integrations["alpha"]

    def context(self, calls: Calls) -> StepContext:
        return StepContext(
            store=self.store,
            host=self.host,
            settings=self.settings,
            report=PassReport(),
            clock=lambda: NOW,
            owner="steps-test:1",
            lease=timedelta(seconds=60),
            stop=threading.Event(),
            failed=calls.failed,
            trip=calls.trip,
            tripped=calls.tripped,
            pause=calls.pause,
            paused=lambda integration: None,
            poll_gap=lambda integration: timedelta(0),
            say=calls.said.append,
        )

    def acknowledged_issue(self) -> int:
        """An issue made Acknowledged by the submit step on its own context."""
        issue_id = self.store.create_issue(
            NewIssue("POTHOLE", "alpha", "101", "Deep pothole", 41.3083, -72.9279)
        )
        calls = Calls()
        ctx = self.context(calls)
        submit(ctx, self.alpha)
        assert ctx.report.acknowledged == 1 and not calls.failures
        return issue_id

    def comment_row(self, comment_id: int) -> dict[str, object]:
        with self.store.read() as conn:
            row = conn.execute(select(comments).where(comments.c.id == comment_id)).mappings()
            return dict(row.one())


CONFIG = """
[organization]
name = "City of Testville"

[integrations.alpha]
plugin = "fake-a"
environment = "test"
request_types = ["*"]

[integrations.alpha.test]
url = "http://127.0.0.1:9/nothing-listens-here"
user = "scf-int"
"""


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    path = tmp_path / "scf.toml"  # its SQLite store goes beside it
    path.write_text(CONFIG, encoding="utf-8")
    settings = load_config(path)
    host = build_manager(load_entry_points=False)
    plugin = Remote("fake-a")
    host.register(plugin, "fake-a")
    store = Store.open(settings.organization.database)
    try:
        yield Bench(settings, host, plugin, store)
    finally:
        store.close()


def test_the_comment_step_pushes_a_comment_on_a_context_built_by_hand(bench: Bench) -> None:
    issue_id = bench.acknowledged_issue()
    comment_id = bench.store.add_comment(issue_id, "Resident", "Still there")
    calls = Calls()
    ctx = bench.context(calls)

    push_comments(ctx, bench.alpha)

    assert ctx.report.comments_out == 1 and ctx.report.errors == 0
    assert not calls.failures and not calls.trips
    [request] = bench.plugin.remote.values()
    [(remote_id, text, _)] = request["comments"]
    assert text == "[311] Resident: Still there"
    row = bench.comment_row(comment_id)
    assert row["remote_id"] == remote_id and row["pushed_at"] is not None
    assert row["lease_owner"] is None
    push_comments(ctx, bench.alpha)  # sent once: nothing is left to push
    assert ctx.report.comments_out == 1 and len(request["comments"]) == 1


def test_a_failed_push_goes_to_the_contexts_failure_callback(bench: Bench) -> None:
    issue_id = bench.acknowledged_issue()
    comment_id = bench.store.add_comment(issue_id, "Resident", "Still there")
    bench.plugin.remote.clear()  # the remote request is gone: its comment is refused
    calls = Calls()
    ctx = bench.context(calls)

    push_comments(ctx, bench.alpha)

    [(where, exc, integration, failed_issue)] = calls.failures
    assert where == f"comment {comment_id} of issue {issue_id}"
    assert isinstance(exc, DefiniteError) and integration == "alpha" and failed_issue == issue_id
    assert [name for name, _ in calls.pauses] == ["alpha"] and not calls.trips
    # The step counts nothing itself: the callback is the engine's side of the failure.
    assert ctx.report.errors == 0 and ctx.report.comments_out == 0
    row = bench.comment_row(comment_id)
    assert row["attempts"] == 1 and row["pushed_at"] is None
    assert row["next_attempt_at"] == NOW + timedelta(minutes=5)  # a definite failure


def test_an_integration_down_as_a_whole_trips_through_the_context(bench: Bench) -> None:
    issue_id = bench.acknowledged_issue()
    comment_id = bench.store.add_comment(issue_id, "Resident", "Still there")
    refused = LoginRefused("the password was refused")
    bench.plugin.refuse = refused
    calls = Calls()

    push_comments(bench.context(calls), bench.alpha)

    assert calls.trips == [("alpha", refused)] and not calls.failures
    row = bench.comment_row(comment_id)  # not the comment's fault: it is not charged
    assert row["attempts"] == 0 and row["next_attempt_at"] is None and row["lease_owner"] is None


def test_the_steps_import_without_the_loop() -> None:
    code = (
        "import sys\n"
        "from scf_plugins.engine import archive, comments, outbox, photos, poll, resolve, submit\n"
        "assert 'scf_plugins.engine.loop' not in sys.modules, 'a step imports the loop'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
