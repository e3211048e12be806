"""The loop outlives any plugin: whatever a hook raises (a ``RecursionError`` on an answer
nested without end, a ``KeyError``, a ``ValueError``) is one error of the pass naming the
plugin and the hook, the other integration's issues are served, ``scf status`` names it, and
stopping never waits for ever."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from scf_plugins import Integration, Issue, Submission, hookimpl
from scf_plugins.engine import continuous
from scf_plugins.engine.loop import ALL_STEPS
from scf_plugins.engine.outcomes import PassReport
from scf_plugins.plugins import build_manager
from scf_plugins.store import tables
from scf_plugins.testing import FakeRemote, Harness, wait_for
from scf_plugins.timeutil import utcnow

from .raising import CONFIG, POTHOLE, RAISE_ENV, Failing, Raising, register

KINDS = ("RecursionError", "KeyError", "ValueError")


class City:
    """A host with ``boom`` (its plugin and geocoder failing on cue) beside ``fine``."""

    def __init__(self, harness: Callable[..., Harness], boom: str = "") -> None:
        self.failing = Failing()
        host = build_manager(load_entry_points=False)
        self.boom, self.fine, _ = register(host, self.failing)
        self.w = harness(CONFIG.format(boom=boom, tail=""), host=host,
                         default_answers={"POTHOLE": POTHOLE})  # fmt: skip

    def graffiti(self) -> int:
        """A report for ``fine``."""
        return self.w.report("GRAFFITI", summary="a tagged wall")

    def status(self, name: str) -> dict[str, Any]:
        """``scf status --json``'s entry of integration ``name``."""
        data = json.loads(self.w.cli("status", "--json").stdout)
        entry: dict[str, Any] = next(i for i in data["integrations"] if i["name"] == name)
        return entry


@pytest.fixture
def city(harness: Callable[..., Harness]) -> Callable[..., City]:
    """Make a :class:`City` (``boom=`` adds keys to the failing integration's table)."""
    return lambda boom="": City(harness, boom)


def photo(tmp_path: Path) -> str:
    """A small PNG to report with."""
    path = tmp_path / "hole.png"
    Image.new("RGB", (40, 30), (200, 30, 30)).save(path)
    return str(path)


def linked(c: City, **fields: Any) -> int:
    """A pothole, sent to ``boom`` and acknowledged (nothing failing yet)."""
    issue_id = c.w.report("POTHOLE", *POTHOLE, **fields)
    assert c.w.sync().acknowledged == 1
    return issue_id


def setup_and_run(c: City, hook: str, kind: str, tmp_path: Path) -> tuple[PassReport, int | None]:
    """Get ``boom`` to the point where ``hook`` is called, make it raise ``kind``, run the pass
    that calls it; returns that pass's report and the issue concerned (if one)."""
    fail = {hook: kind}
    if hook in ("submit", "validate_address", "check_integration"):
        issue_id = c.w.report("POTHOLE", *POTHOLE)
        c.failing.fail = fail
    elif hook == "push_attachment":
        c.failing.fail = fail  # the photo goes in the pass that acknowledges its issue
        issue_id = c.w.report("POTHOLE", *POTHOLE, image=photo(tmp_path))
    elif hook == "resolve_pending":
        c.boom.batch = True  # a create accepted under a token, asked about later
        issue_id = c.w.report("POTHOLE", *POTHOLE)
        assert c.w.sync().pending == 1
        c.w.later(hours=1)
        c.failing.fail = fail
    elif hook == "push_comment":
        issue_id = linked(c)
        c.w.cli_ok("comment", str(issue_id), "Is anyone coming?")
        c.failing.fail = fail
    elif hook == "poll":
        issue_id = linked(c)
        c.failing.fail = fail
    else:
        assert hook == "list_request_types"
        issue_id = None
        c.graffiti()  # loads both integrations' types
        c.failing.fail = fail
        c.w.later(hours=2)  # request_types_refresh_hours = 1: due
    c.graffiti()
    report = c.w.engine().run_pass(ALL_STEPS, refresh_types=True)
    return report, issue_id


CASES = [
    ("submit", "boom"),
    ("poll", "boom"),
    ("push_comment", "boom"),
    ("push_attachment", "boom"),
    ("list_request_types", "boom"),
    ("resolve_pending", "boom"),
    ("validate_address", "geo-boom"),
    ("check_integration", "boom"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("hook", "plugin"), CASES)
def test_whatever_a_hook_raises_is_one_error_naming_it_and_the_rest_is_served(
    city: Callable[..., City],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    hook: str,
    plugin: str,
    kind: str,
) -> None:
    c = city('address_validation = "geo"' if hook == "validate_address" else "")
    caplog.set_level(logging.WARNING)
    report, issue_id = setup_and_run(c, hook, kind, tmp_path)
    said = f"plugin {plugin}, hook {hook}: {kind}"
    assert report.errors >= 1
    assert [p for p in report.problems if said in p], report.problems
    # The healthy integration's report went through in the same pass.
    assert report.acknowledged >= 1
    assert c.fine.remote and all(r["status"] == "OPEN" for r in c.fine.remote.values())
    # One warning line for it, without a traceback.
    lines = [r for r in caplog.records if said in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert "Traceback" not in lines[0].getMessage() and lines[0].exc_info is None
    # `scf status` names it.
    assert said in (c.status("boom")["last_error"] or "")
    if issue_id is not None and hook in ("submit", "validate_address"):
        shown = c.w.show(issue_id)["sync"]
        assert said in shown["last_error"]
        # A create that may have gone through is looked up first; a geocoder's bug is not.
        assert shown["last_error_kind"] == ("ambiguous" if hook == "submit" else "definite")


def test_the_traceback_is_at_debug(
    city: Callable[..., City], caplog: pytest.LogCaptureFixture
) -> None:
    c = city()
    caplog.set_level(logging.DEBUG, logger="scf_plugins")
    c.w.report("POTHOLE", *POTHOLE)
    c.failing.fail = {"submit": "KeyError"}
    c.w.sync()
    traced = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG
              and "plugin boom, hook submit: KeyError" in r.getMessage()]  # fmt: skip
    assert traced and "Traceback (most recent call last)" in traced[0]
    assert "in check" in traced[0]  # where in the plugin it was raised


def test_a_create_that_raised_is_looked_up_before_it_is_sent_again(
    city: Callable[..., City],
) -> None:
    """The plugin made the request, then failed reading the answer: the retry finds it by
    its marker instead of making a second one."""

    @dataclass(eq=False)
    class MadeThenFailed(Raising):
        made: list[str] = field(default_factory=list)

        @hookimpl
        def submit(self, integration: Integration, issue: Issue) -> Submission:
            result = FakeRemote.submit(self, integration, issue)
            if not self.made:
                self.made.append(str(result.remote_id))
                raise KeyError("RequestId")  # the answer misread after the create was made
            return result

    c = city()
    issue_id = c.w.report("POTHOLE", *POTHOLE)
    boom = MadeThenFailed("boom")
    c.w.host.unregister("boom")
    c.w.host.register(boom, "boom")
    assert c.w.sync().errors == 1
    assert c.w.show(issue_id)["sync"]["last_error_kind"] == "ambiguous"
    c.w.later(hours=2)
    assert c.w.sync().acknowledged == 1
    assert len(boom.remote) == 1  # found by its marker, not made twice
    assert c.w.show(issue_id)["remote_id"] == boom.made[0]


def test_the_long_run_goes_on_after_a_failing_poll_and_refresh(city: Callable[..., City]) -> None:
    """The filed case: a RecursionError from the scheduled refresh of request types (and from
    polls) in the continuous loop; closures, comments and submits of the other integration
    go on, and the loop stops when asked."""
    c = city()
    linked(c)
    c.graffiti()  # both integrations' types are loaded
    c.failing.fail = {"list_request_types": "RecursionError", "poll": "RecursionError"}
    engine = c.w.engine(clock=lambda: utcnow() + timedelta(hours=2))  # the types are due
    reports: list[tuple[str, PassReport]] = []
    worker = threading.Thread(
        target=engine.run_continuously,
        args=(lambda kind, r: reports.append((kind, r)),),
        kwargs={"submit_every": 0.05, "poll_check_every": 0.05},
    )
    worker.start()
    try:
        wait_for(lambda: any("hook list_request_types: RecursionError" in p
                             for _, r in reports for p in r.problems), 20,
                 "the refresh's failure reported")  # fmt: skip
        fine_id = c.graffiti()
        wait_for(lambda: c.w.show(fine_id)["status"] == "acknowledged", 20, "fine served")
        rid = c.w.show(fine_id)["remote_id"]
        c.fine.remote[rid]["status"] = "CLOSED"
        wait_for(lambda: c.w.show(fine_id)["status"] == "closed", 20, "fine's closure applied")
    finally:
        engine.request_stop()
        worker.join(20)
    assert not worker.is_alive()
    assert any("hook poll: RecursionError" in p for _, r in reports for p in r.problems)


def test_a_pass_that_fails_as_a_whole_is_said_once_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = threading.Event()
    calls = {"submit": 0, "poll": 0}

    def broken() -> PassReport:
        calls["submit"] += 1
        if calls["submit"] >= 5:
            stop.set()
        raise RuntimeError("the database went away")

    def polled() -> PassReport:
        calls["poll"] += 1
        return PassReport()

    seen: list[PassReport] = []
    caplog.set_level(logging.WARNING, logger="scf_plugins")
    continuous.run_until_stopped(broken, polled, lambda kind, r: seen.append(r), stop=stop,
                                 submit_every=0.01, poll_check_every=0.01)  # fmt: skip
    assert calls["submit"] >= 5 and calls["poll"] >= 1
    assert all(r.errors == 1 for r in seen) and len(seen) >= 5
    said = [r for r in caplog.records if "the submit pass failed" in r.getMessage()]
    assert len(said) == 1  # said once while it stays the same


def test_stopping_is_bounded_and_says_which_loop_did_not_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop, release = threading.Event(), threading.Event()
    entered = threading.Event()

    def stuck() -> PassReport:
        entered.set()
        release.wait(30)  # a call that ignores being abandoned
        return PassReport()

    caplog.set_level(logging.WARNING, logger="scf_plugins")
    runner = threading.Thread(
        target=continuous.run_until_stopped,
        args=(stuck, PassReport, lambda kind, r: None),
        kwargs={"stop": stop, "stop_grace": 0.3},
    )
    runner.start()
    try:
        assert entered.wait(10)
        began = time.monotonic()
        stop.set()
        runner.join(10)
        assert not runner.is_alive() and time.monotonic() - began < 5
    finally:
        release.set()
    assert any("the submit loop did not stop within 0.3 s" in r.getMessage()
               for r in caplog.records)  # fmt: skip


# -- the real loop: `scf sync` in a process of its own ------------------------------------------


@pytest.fixture
def scf_sync(tmp_path: Path, harness: Callable[..., Harness]) -> Iterator[Callable[..., Any]]:
    """Start ``scf sync`` with the failing plugins (``tests/raising.py``) in a subprocess."""
    started: list[subprocess.Popen[str]] = []

    def start(w: Harness, fail: str, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, RAISE_ENV: fail, "PYTHONUNBUFFERED": "1"}
        script = Path(__file__).with_name("raising.py")
        n = len(started)
        process = subprocess.Popen(  # output to files: a full pipe would stop the process
            [sys.executable, str(script), "--config", str(w.path), "sync", *args],
            stdout=(tmp_path / f"sync{n}.out").open("w"),
            stderr=(tmp_path / f"sync{n}.err").open("w"),
            text=True,
            env=env,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.slow  # a subprocess
def test_scf_sync_goes_on_past_a_plugin_that_raises(
    harness: Callable[..., Harness], scf_sync: Callable[..., Any], tmp_path: Path
) -> None:
    """The filed case in the real loop: the scheduled refresh of request types raises
    RecursionError, boom's polls and creates raise too; fine's reports are served all along,
    status names boom's plugin and hook, and SIGTERM still stops it at once."""
    host = build_manager(load_entry_points=False)
    register(host, Failing())
    w = harness(CONFIG.format(boom="", tail=""), host=host, default_answers={"POTHOLE": POTHOLE})
    linked_id = w.report("POTHOLE", *POTHOLE)
    assert w.sync().acknowledged == 1  # boom has a request to poll
    failing_id = w.report("POTHOLE", *POTHOLE)
    first = w.report("GRAFFITI", summary="a wall")
    store = w.store()
    with store.transaction() as conn:  # loaded two hours ago: the refresh is due
        conn.execute(tables.request_types.update().values(fetched_at=utcnow() - timedelta(hours=2)))
    fail = "submit=RecursionError,list_request_types=RecursionError,poll=ValueError"
    process = scf_sync(w, fail, "--interval", "1")
    err = tmp_path / "sync0.err"

    def acknowledged(issue_id: int) -> bool:
        record = store.get(issue_id)
        return record is not None and record.issue.status.value == "acknowledged"

    try:
        wait_for(lambda: acknowledged(first), 30, "fine's issue acknowledged by scf sync")
        for said in ("plugin boom, hook list_request_types: RecursionError",
                     "plugin boom, hook poll: ValueError",
                     "plugin boom, hook submit: RecursionError"):  # fmt: skip
            wait_for(lambda said=said: said in err.read_text(), 30, f"{said!r} logged")
        later = w.report("GRAFFITI", summary="another wall")
        wait_for(lambda: acknowledged(later), 30, "a later report served: the loop goes on")
        assert "plugin boom, hook submit" in (w.show(failing_id)["sync"]["last_error"] or "")
        assert w.show(linked_id)["status"] == "acknowledged"
        data = json.loads(w.cli("status", "--json").stdout)
        boom = next(i for i in data["integrations"] if i["name"] == "boom")
        assert "plugin boom, hook" in (boom["last_error"] or "")
        assert data["loops"]["submit"]["age_seconds"] is not None
        assert not data["loops"]["submit"]["stale"] and not data["loops"]["poll"]["stale"]
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        assert time.monotonic() - began < 10
    finally:
        if process.poll() is None:
            process.kill()
    text = err.read_text()
    assert process.returncode == 0, text
    assert "Traceback" not in text
    # Each failure is a line of its own, said where it happened, not again by the loop.
    assert text.count("hook list_request_types: RecursionError") == 1
