"""An outage is one outage: calls that get no answer mark the integration down as a refused
connection does, with one warning when it goes down, one when it comes back, and nothing but
debug lines between (failed probes included)."""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from scf_plugins import TransientError
from scf_plugins.engine import circuits
from scf_plugins.engine.gate import SILENT_CALLS, Gate
from scf_plugins.engine.outcomes import PassReport
from scf_plugins.ops import telemetry
from scf_plugins.testing import StandInServer, wait_for
from tests import hostile

TIMEOUT = "timeout_seconds = 0.5"


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


class Silent(StandInServer):
    """A server on 127.0.0.1 that accepts every connection and never answers."""

    def __init__(self) -> None:
        self.accepted: list[socket.socket] = []
        self._done = threading.Event()
        owner = self

        class Hold(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner.accepted.append(self.request)  # held open, never read, never answered
                owner._done.wait()

        super().__init__(("127.0.0.1", 0), Hold, name="silent")
        self.start()

    def stop(self) -> None:
        """Stop at once, closing every connection held."""
        self._done.set()
        super().stop()


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    yield server
    server.stop()


def status(w: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(w.cli("status", "--json").stdout)["integrations"][0]
    return data


def test_a_server_that_never_answers_is_down_with_one_warning(
    world: Any, silent: Silent, caplog: pytest.LogCaptureFixture
) -> None:
    w = world(extra=TIMEOUT)
    ids = [w.report(summary=f"pothole {n}") for n in range(3)]
    w.path.write_text(w.path.read_text().replace(w.emulator.root, silent.root))
    caplog.set_level(logging.DEBUG)
    report = w.sync()
    assert report.acknowledged == 0 and report.errors == 1
    [problem] = report.problems
    assert problem.startswith("cityworks is down: it does not answer")
    [warning] = warnings_of(caplog)
    assert "cityworks is down: it does not answer (no call got an answer this pass)" in warning
    assert "did not answer within 0.5 s" in warning
    for issue_id in ids:  # nothing was carried out (the login got no answer): not charged
        sync = w.show(issue_id)["sync"]
        assert (sync["attempts"], sync["last_error"]) == (0, None)
    shown = status(w)
    assert shown["down"] and "does not answer" in shown["down_reason"]
    assert shown["failing"] == 0
    prometheus = w.cli("status", "--prometheus").stdout
    assert 'scf_integration_down{integration="cityworks"} 1.0' in prometheus

    # Before the probe is due: no call, nothing said.
    caplog.clear()
    connections = len(silent.accepted)
    assert w.sync().errors == 0
    assert len(silent.accepted) == connections and not caplog.records

    # The probe is due and gets no answer either: debug lines only.
    caplog.set_level(logging.DEBUG, logger="scf_plugins.engine.circuits")
    w.later(seconds=16)
    report = w.sync()
    assert report.errors == 1 and len(silent.accepted) > connections
    assert not warnings_of(caplog)
    assert any("still down" in r.getMessage() for r in caplog.records)


def test_a_hanging_server_that_comes_back_is_one_outage(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    w = world(extra=TIMEOUT)
    w.report()
    with hostile.Hostile(w.emulator.root) as proxy:
        w.path.write_text(w.path.read_text().replace(w.emulator.root, proxy.root))
        assert w.sync().acknowledged == 1  # through the proxy while it answers
        later = [w.report(summary=f"later {n}") for n in range(4)]
        release = threading.Event()
        proxy.arm(lambda *_: release.wait(30), count=1_000_000)  # answers nothing now
        caplog.set_level(logging.WARNING)
        for _ in range(3):  # the first pass, a pass before the probe, a failed probe
            w.sync()
            w.later(seconds=16)
        proxy.armed.clear()
        release.set()
        w.later(minutes=5)
        report = w.sync()
    lines = warnings_of(caplog)
    assert len(lines) == 2, lines
    assert "cityworks is down: it does not answer" in lines[0]
    assert "cityworks is back after" in lines[1]
    # The creates that got no answer were looked up, not found, and sent: once each.
    assert report.acknowledged == len(later)
    markers = [r["OtherSystemId"] for r in w.emulator.state.requests.values()]
    assert len(markers) == len(set(markers)) == 1 + len(later)


def test_slow_calls_between_answers_are_not_an_outage(world: Any) -> None:
    """Two creates time out while a third is answered at once: those are the issues'
    failures (each its own warning), not an outage."""
    w = world(extra="timeout_seconds = 0.6")
    w.emulator.state.slow_seconds = 1.2
    ids = [w.report(summary=f"n{n}") for n in range(3)]
    w.emulator.state.inject("slow", count=2, match="servicerequest/create")
    report = w.sync()
    assert report.acknowledged == 1 and report.errors == 2
    assert not status(w)["down"]
    assert sum(w.show(i)["sync"]["last_error_kind"] == "ambiguous" for i in ids) == 2
    wait_for(lambda: w.emulator.server.in_flight == 0, 10, "the emulator's late answers")


def timed_out() -> TransientError:
    error = TransientError("Ams/ServiceRequest/ByIds: Cityworks did not answer within 1 s")
    error.outcome = "timeout"  # type: ignore[attr-defined]
    return error


def test_calls_in_a_row_with_no_answer_between_trip_it(world: Any) -> None:
    """A pass that got answers at first: the SILENT_CALLS-th call in a row with no answer
    between marks it down; an answer between starts the count again."""
    w = world()
    integration = w.settings.integrations["cityworks"]
    gate = Gate(w.store(), w.host, w.clock)
    report = PassReport()
    assert gate.opens(integration, report)
    telemetry.record_call("cityworks", "Ams/ServiceRequest/ByIds", "ok", 0.01)
    for _ in range(SILENT_CALLS - 1):
        assert not gate.unanswered("cityworks", timed_out(), report)
    telemetry.record_call("cityworks", "Ams/ServiceRequest/ByIds", "ok", 0.01)  # answered
    for _ in range(SILENT_CALLS - 1):
        assert not gate.unanswered("cityworks", timed_out(), report)
    assert gate.unanswered("cityworks", timed_out(), report)
    assert gate.tripped(integration)
    assert report.problems == [
        f"cityworks is down: it does not answer ({SILENT_CALLS} calls in a row got none): "
        "Ams/ServiceRequest/ByIds: Cityworks did not answer within 1 s"
    ]
    with w.store().read() as conn:
        assert circuits.read(conn, "cityworks") is not None


def test_calls_abandoned_on_the_way_out_are_not_an_outage(world: Any) -> None:
    w = world()
    engine = w.engine()
    engine.run_pass()
    engine.stop.set()
    report = PassReport()
    engine.failed(report, "poll cityworks", timed_out(), integration="cityworks")
    assert report.errors == 1
    with w.store().read() as conn:
        assert circuits.read(conn, "cityworks") is None


def test_a_refused_connection_probed_again_says_nothing_more(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    w = world()
    w.report()
    w.emulator.stop()
    caplog.set_level(logging.WARNING)
    assert "cannot reach" in w.sync().problems[0]
    assert len(warnings_of(caplog)) == 1
    for _ in range(3):
        w.later(minutes=6)
        assert w.sync().errors == 1  # a probe each time, still refused
    assert len(warnings_of(caplog)) == 1
