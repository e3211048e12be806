"""``scf status``: the overview, its stable JSON, its exit code, and the same figures as
Prometheus metrics (``--prometheus`` and ``GET /metrics``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from scf_plugins.server.web import create_app

from .served import Served

KEYS = {"name", "plugin", "environment", "counts", "waiting", "failing", "stuck", "held",
        "oldest_waiting_seconds", "last_pass_at", "last_error"}  # fmt: skip


def status(w: Any, *args: str) -> tuple[int, Any]:
    result = w.cli("status", *args)
    return result.exit_code, result.stdout


def test_an_overview_with_a_stable_shape_and_exit_0_when_all_is_well(world: Any) -> None:
    w = world()
    for n in range(3):
        w.report(summary=f"pothole {n}")
    assert w.sync().acknowledged == 3
    w.report(summary="waiting")
    code, out = status(w, "--json")
    assert code == 0
    data = json.loads(out)
    [entry] = data["integrations"]
    assert set(entry) >= KEYS
    assert entry["counts"] == {"open": 1, "acknowledged": 3, "closed": 0, "archived": 0}
    assert entry["waiting"] == 1 and entry["failing"] == 0 and entry["stuck"] == 0
    assert entry["oldest_waiting_seconds"] is not None
    assert entry["last_pass_at"] and entry["last_pass_errors"] == 0
    assert entry["last_success_at"] and entry["latency_p95_ms"] >= entry["latency_p50_ms"]
    assert data["geocoders"] == [] and data["unrouted"] == 0
    code, screen = status(w)
    assert code == 0 and "cityworks (cityworks, test): ok" in screen
    assert "open 1, acknowledged 3" in screen and "waiting       1" in screen


def test_failing_issues_and_a_down_integration_exit_1(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world()
    w.report()
    w.emulator.state.inject("html", count=1, match="servicerequest/create")
    assert w.sync().errors == 1
    code, out = status(w, "--json")
    [entry] = json.loads(out)["integrations"]
    assert code == 1 and entry["failing"] == 1 and entry["failing_by_kind"] == {"ambiguous": 1}
    assert "HTML" in entry["last_error"]
    code, screen = status(w)
    assert code == 1 and "FAILING" in screen and "failing       1 (ambiguous 1)" in screen

    monkeypatch.setenv("SCF_CITYWORKS_TEST_PASSWORD", "wrong-password-3")
    w.later(minutes=5)
    w.sync()
    code, out = status(w, "--json")
    [entry] = json.loads(out)["integrations"]
    assert code == 1 and entry["down"] is True and "refused the login" in entry["down_reason"]
    assert entry["next_probe_at"]
    assert "DOWN since" in status(w)[1]


def test_prometheus_text_and_the_metrics_endpoint(world: Any) -> None:
    w = world()
    w.report()
    w.sync()
    code, text = status(w, "--prometheus")
    assert code == 0
    assert 'scf_issues{integration="cityworks",status="acknowledged"} 1.0' in text
    assert 'scf_integration_down{integration="cityworks"} 0.0' in text
    assert "# TYPE scf_oldest_waiting_seconds gauge" in text
    assert 'scf_photos_waiting{integration="cityworks"} 0.0' in text
    assert 'scf_photos_failing{integration="cityworks"} 0.0' in text
    assert "scf_photos_stored_bytes 0.0" in text

    store = w.store()
    served = Served(create_app(w.settings, w.host, store))
    try:
        requests.get(f"{served.url}/open311/v2/services.json", timeout=10)
        requests.get(f"{served.url}/open311/v2/requests/1.xml", timeout=10)
        # Each request is counted once its answer is sent: ask until the last one shows.
        for _ in range(50):
            body = requests.get(f"{served.url}/metrics", timeout=10)
            if 'route="open311/requests/{id}"' in body.text:
                break
    finally:
        served.stop()
    assert body.status_code == 200 and body.headers["content-type"].startswith("text/plain")
    metrics = body.text
    assert 'scf_issues{integration="cityworks",status="acknowledged"} 1.0' in metrics
    assert 'scf_open311_requests_total{route="open311/services",status="200"}' in metrics
    assert 'scf_open311_requests_total{route="open311/requests/{id}",status="200"}' in metrics
    # This process made the pass above: its remote calls and transitions are counted.
    assert 'scf_remote_calls_total{method="Ams/ServiceRequest/Create",outcome="ok"' in metrics
    assert "scf_remote_call_duration_seconds_bucket" in metrics
    assert 'scf_transitions_total{integration="cityworks",transition="acknowledged"}' in metrics
    assert "scf_pass_duration_seconds_count" in metrics
