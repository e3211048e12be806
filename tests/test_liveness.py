"""Liveness you can alert on: ``scf status``, ``/metrics`` and ``/healthz`` give the age of the
last submit pass and of each integration's poll loop, and ``/healthz`` answers 503 naming a
loop that stopped going round; under ``scf serve`` a plugin that raises is named while the
other integration is served."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import requests

from scf_plugins import Integration, RemoteUpdate, Tracked, hookimpl
from scf_plugins.config.settings import check_config
from scf_plugins.engine.loop import ALL_STEPS
from scf_plugins.ops import liveness, metrics, status
from scf_plugins.plugins import build_manager
from scf_plugins.server.running import Serving, bound_url, build
from scf_plugins.testing import Clock, Harness, wait_for

from .raising import CONFIG, POTHOLE, Failing, Raising, register


@dataclass(eq=False)
class HangingPoll(Raising):
    """A remote system whose polls hang until released (a call that never ends)."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    @hookimpl
    def poll(self, integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
        """Hang until released, then answer."""
        self.entered.set()
        self.release.wait(30)
        return Raising.poll(self, integration, tracked)


def city(harness: Callable[..., Harness], boom: Raising | None = None, **options: Any) -> Harness:
    """The two integrations of ``tests/raising.py`` (``boom`` replaced by ``boom``)."""
    host = build_manager(load_entry_points=False)
    failing = boom.failing if boom is not None else Failing()
    register(host, failing)
    if boom is not None:
        host.unregister("boom")
        host.register(boom, "boom")
    return harness(CONFIG.format(boom="", tail=""), host=host,
                   default_answers={"POTHOLE": POTHOLE}, **options)  # fmt: skip


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[Serving, str]]]:
    """Run ``scf serve`` (the door and its engine) in a thread: ``serve(w, clock=...)``
    returns the serving and its root URL; it stops with the test."""
    running: list[tuple[Serving, threading.Thread]] = []

    def start(w: Harness, **options: Any) -> tuple[Serving, str]:
        serving = build(w.settings, w.host, w.store(), port=0, sync=True, **options)
        thread = threading.Thread(target=serving.run, daemon=True)
        thread.start()
        running.append((serving, thread))
        wait_for(lambda: serving.server.started, 10, "scf serve to start")
        return serving, bound_url(serving.server)

    yield start
    for serving, thread in running:
        serving.server.should_exit = True
        thread.join(30)
        assert not thread.is_alive()


def healthz(url: str) -> tuple[int, dict[str, Any]]:
    """``GET /healthz``: its status code and body."""
    answer = requests.get(f"{url}/healthz", timeout=10)
    body: dict[str, Any] = answer.json()
    return answer.status_code, body


def test_a_plugin_that_raises_under_scf_serve_is_named_and_the_other_is_served(
    harness: Callable[..., Harness], serve: Callable[..., tuple[Serving, str]]
) -> None:
    boom = Raising("boom", failing=Failing({"submit": "RecursionError", "poll": "KeyError"}))
    w = city(harness, boom)
    linked = w.report("POTHOLE", *POTHOLE)
    boom.failing.fail = {}
    assert w.sync().acknowledged == 1  # a request of boom's to poll
    boom.failing.fail = {"submit": "RecursionError", "poll": "KeyError"}
    failing = w.report("POTHOLE", *POTHOLE)
    w.later(minutes=5)  # the next poll round is due
    _, url = serve(w, clock=w.clock)
    fine = w.report("GRAFFITI", summary="a wall")
    store = w.store()
    wait_for(lambda: store.get(fine).issue.status.value == "acknowledged",  # type: ignore[union-attr]
             10, "fine's report served by the engine of scf serve")  # fmt: skip
    # Its create and its poll fail, in whichever order the two loops get there.
    wait_for(lambda: "plugin boom, hook" in str(healthz(url)[1].get("last_errors")), 10,
             "healthz naming boom's failing plugin")  # fmt: skip
    code, body = healthz(url)
    assert code == 200 and body["status"] == "ok" and body["stale"] == []
    assert "plugin boom, hook" in body["last_errors"]["boom"]["error"]
    assert set(body["loops"]) == {"submit", "poll"}
    assert set(body["loops"]["poll"]["integrations"]) == {"boom", "fine"}
    shown = w.show(failing)["sync"]
    assert "plugin boom, hook submit: RecursionError" in shown["last_error"]
    assert w.show(linked)["status"] == "acknowledged"
    entry = json.loads(w.cli("status", "--json").stdout)
    [row] = [i for i in entry["integrations"] if i["name"] == "boom"]
    assert "plugin boom, hook" in row["last_error"]


def test_a_poll_loop_that_stops_going_round_makes_healthz_503_naming_it(
    harness: Callable[..., Harness], serve: Callable[..., tuple[Serving, str]]
) -> None:
    boom = HangingPoll("boom")
    boom.release.set()  # no hanging while the first request is made
    w = city(harness, boom)
    w.report("POTHOLE", *POTHOLE)
    assert w.sync().acknowledged == 1
    boom.release.clear()
    assert isinstance(w.clock, Clock)
    w.later(minutes=5)  # the next poll round is due: it hangs
    serving, url = serve(w, clock=w.clock)
    try:
        assert boom.entered.wait(10), "the poll never started"
        code, body = healthz(url)
        assert code == 200 and body["status"] == "ok"
        w.later(hours=1)  # an hour on the engine's clock; the submit loop goes on
        engine = serving.engine
        assert engine is not None
        # The loops sleep in real time until their work is due: moving the test's clock does
        # not end a sleep, so tell them, as a new report would.
        engine.wake()
        wait_for(lambda: engine.last_submit_at == w.clock.now, 10, "a submit pass after it")
        code, body = healthz(url)
        assert code == 503 and body["status"] == "stale"
        # Its first poll hangs: it has made no pass since the engine started, an hour ago.
        assert body["stale"][0] == (
            "the poll loop of boom has made no pass in 3600 s (STALE: stale after 300 s)"
        )
        assert not body["loops"]["submit"]["stale"] and body["loops"]["poll"]["stale"]
        assert body["loops"]["poll"]["integrations"]["boom"]["age_seconds"] >= 3600
        assert body["database"] == "ok"
    finally:
        boom.release.set()
    wait_for(lambda: healthz(url)[0] == 200, 10, "healthz ok once the poll loop goes round")


def test_status_and_metrics_age_the_loops_from_the_store(harness: Callable[..., Harness]) -> None:
    w = city(harness)
    assert isinstance(w.clock, Clock)
    data = status.gather(w.settings, w.store(), w.clock.now)
    assert data["loops"]["submit"]["age_seconds"] is None  # nothing recorded: not stale
    assert not data["loops"]["submit"]["stale"] and not data["loops"]["poll"]["stale"]
    w.report("GRAFFITI", summary="a wall")
    w.engine().run_pass(ALL_STEPS)
    now = w.later(seconds=30)
    data = status.gather(w.settings, w.store(), now)
    assert data["loops"]["submit"]["age_seconds"] == 30.0
    assert data["loops"]["submit"]["stale_after_seconds"] == 150.0  # 5 x the 30 s timeout
    [boom] = [i for i in data["integrations"] if i["name"] == "boom"]
    assert boom["poll_loop"]["age_seconds"] == 30.0
    assert boom["poll_loop"]["stale_after_seconds"] == 300.0  # 5 x the 60 s poll interval
    assert data["loops"]["poll"]["integrations"]["fine"]["stale_after_seconds"] == 150.0
    screen = status.text(data, now)
    assert "polled        30 s ago (ok; stale after 300 s)" in screen
    assert "submit loop: 30 s ago (ok; stale after 150 s)" in screen

    now = w.later(minutes=10)
    data = status.gather(w.settings, w.store(), now)
    assert data["loops"]["poll"]["stale"] and data["loops"]["submit"]["stale"]
    assert data["loops"]["poll"]["age_seconds"] == 630.0
    assert "STALE" in status.text(data, now)
    text = metrics.prometheus_text(w.settings, w.store(), now).decode()
    assert 'scf_loop_stale{loop="poll"} 1.0' in text
    assert 'scf_loop_stale{loop="submit"} 1.0' in text
    assert 'scf_loop_age_seconds{loop="submit"} 630.0' in text
    assert 'scf_poll_loop_age_seconds{integration="boom"} 630.0' in text
    # `scf status` in a process of its own reads the same rows.
    shown = json.loads(w.cli("status", "--json").stdout)
    assert shown["loops"]["submit"]["age_seconds"] is not None
    assert "poll_loop" in shown["integrations"][0]


def test_the_threshold_has_a_floor_and_the_multiple_is_configured(
    harness: Callable[..., Harness],
) -> None:
    w = city(harness)
    settings = w.settings
    start = w.clock()

    def ages(seconds: float, **config: Any) -> dict[str, liveness.LoopAge]:
        judged = liveness.judge(config.get("settings", settings), start,
                                {"boom": start, "fine": start},
                                start + timedelta(seconds=seconds))  # fmt: skip
        return {a.integration or "submit": a for a in judged}

    assert not ages(61)["boom"].stale  # a 60 s poll interval is not stale after 61 s
    assert not ages(299)["boom"].stale and ages(301)["boom"].stale
    assert ages(121)["fine"].stale_after_seconds == 150.0  # 1 s polls: the 30 s timeout
    assert not ages(149)["submit"].stale and ages(151)["submit"].stale

    text = w.path.read_text()
    w.path.write_text(text + "\n[server]\nstale_after_intervals = 2\n")
    two = w.settings
    assert liveness.stale_after(two, 60.0) == 120.0
    assert liveness.stale_after(two, 1.0) == liveness.STALE_FLOOR  # 2 x 30 s is under it
    w.path.write_text(text + "\n[server]\nstale_after_intervals = 1\n")
    _, problems = check_config(w.path)
    assert problems == [f"{w.path}: server.stale_after_intervals: 1 is out of range; use 2 to 1000"]


def test_a_loop_that_has_made_no_pass_is_aged_from_the_engine_start(
    harness: Callable[..., Harness],
) -> None:
    w = city(harness)
    start = w.clock()
    judged = liveness.judge(w.settings, None, {}, start + timedelta(minutes=10), since=start)
    assert all(a.stale and a.last_at is None for a in judged)
    assert (
        judged[0].line() == "the submit loop has made no pass in 600 s (STALE: stale after 150 s)"
    )
    assert liveness.stale(liveness.judge(w.settings, None, {}, start)) == []
