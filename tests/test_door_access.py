"""What the door gives without an API key, and to whom: ``/metrics`` only to this machine or
with the metrics token, every GET within a per-address rate; and the passwords an
integration or geocoder would send in the clear (``config check`` and ``doctor`` warn).

"Not loopback" is tested two honest ways: the access rule through an ASGI scope whose peer is
a public address, and end to end through uvicorn's proxy headers (a loopback peer naming the
client in ``X-Forwarded-For``, as a reverse proxy on this machine does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import requests
import xmltodict

from scf_plugins import redact
from scf_plugins.models import Secret
from scf_plugins.ops import cleartext, config_check, doctor
from scf_plugins.server.guards import is_loopback, may_read_metrics
from scf_plugins.server.limits import RateLimit
from scf_plugins.server.web import build_app
from scf_plugins.testing import Door, FakeRemote, Harness

from .conftest import BASIC

TOKEN = "m3trics-t0ken-for-tests"
PUBLIC = "203.0.113.7"  # TEST-NET-3: never this machine


def scope(path: str, client: str | None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTTP GET's ASGI scope from ``client``."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": (client, 40000) if client else None,
        "server": ("127.0.0.1", 8311),
    }


def call(app: Any, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Serve one request through the ASGI app: status, headers, body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(request, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


# -- /metrics --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "local"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("::ffff:127.0.0.1", True),
     (PUBLIC, False), ("10.0.0.5", False), ("::ffff:203.0.113.7", False), ("testclient", False),
     (None, False)],
)  # fmt: skip
def test_loopback_is_this_machine_only(address: str | None, local: bool) -> None:
    assert is_loopback(address) is local


def test_the_metrics_rule_from_a_public_peer() -> None:
    token = Secret(TOKEN)
    assert may_read_metrics(scope("/metrics", "127.0.0.1"), None)
    assert not may_read_metrics(scope("/metrics", PUBLIC), None)
    assert not may_read_metrics(scope("/metrics", PUBLIC), token)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert may_read_metrics(scope("/metrics", PUBLIC, bearer), token)
    assert not may_read_metrics(scope("/metrics", PUBLIC, bearer), None)  # no token set
    for wrong in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer ", TOKEN):
        assert not may_read_metrics(scope("/metrics", PUBLIC, {"Authorization": wrong}), token)


def test_metrics_through_the_app_from_a_public_peer(
    basic: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCF_METRICS_PASSWORD", raising=False)
    app, ctx = build_app(basic.settings, basic.host, basic.store())
    status, headers, body = call(app, scope("/metrics", PUBLIC))
    assert status == 403 and headers["content-type"].startswith("text/plain")
    assert b"scf_" not in body
    assert call(app, scope("/metrics", "127.0.0.1"))[0] == 200
    monkeypatch.setenv("SCF_METRICS_PASSWORD", TOKEN)
    ctx.use(basic.settings)  # a reload reads the token again
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    status, _, body = call(app, scope("/metrics", PUBLIC, bearer))
    assert status == 200 and b"scf_open311_requests_total" in body
    assert call(app, scope("/metrics", PUBLIC))[0] == 403


def test_metrics_end_to_end_behind_a_proxy_needs_the_token(
    fake_host: tuple[Any, FakeRemote],
    harness: Callable[..., Harness],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SCF_METRICS_PASSWORD", TOKEN)
    door = harness(BASIC, host=fake_host[0]).serve()
    # A reverse proxy on this machine names the client; uvicorn trusts a loopback peer's word.
    proxied = {"X-Forwarded-For": PUBLIC}
    assert requests.get(f"{door.url}/metrics", timeout=10).status_code == 200  # this machine
    refused = requests.get(f"{door.url}/metrics", headers=proxied, timeout=10)
    assert refused.status_code == 403 and "scf_" not in refused.text
    wrong = {**proxied, "Authorization": "Bearer nope"}
    assert requests.get(f"{door.url}/metrics", headers=wrong, timeout=10).status_code == 403
    right = {**proxied, "Authorization": f"Bearer {TOKEN}"}
    answer = requests.get(f"{door.url}/metrics", headers=right, timeout=10)
    assert answer.status_code == 200 and "scf_open311_requests_total" in answer.text
    assert TOKEN not in caplog.text


def test_the_metrics_token_may_come_from_the_server_section(
    fake_host: tuple[Any, FakeRemote],
    harness: Callable[..., Harness],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``[server] metrics_token`` (the one secret the config may hold) opens /metrics to a
    scraper off this machine as the stored credential does, and is redacted everywhere."""
    monkeypatch.delenv("SCF_METRICS_PASSWORD", raising=False)
    config = BASIC + f'\n[server]\nmetrics_token = "{TOKEN}"\n'
    door = harness(config, host=fake_host[0]).serve()
    proxied = {"X-Forwarded-For": PUBLIC}
    assert requests.get(f"{door.url}/metrics", headers=proxied, timeout=10).status_code == 403
    right = {**proxied, "Authorization": f"Bearer {TOKEN}"}
    answer = requests.get(f"{door.url}/metrics", headers=right, timeout=10)
    assert answer.status_code == 200 and "scf_open311_requests_total" in answer.text
    assert TOKEN not in caplog.text
    assert redact(f"Authorization: Bearer {TOKEN}") == "Authorization: Bearer ***"


@pytest.mark.parametrize("token", ["short", " padded-but-long-enough-token "])
def test_a_guessable_metrics_token_is_refused_by_config_check(token: str, tmp_path: Any) -> None:
    from scf_plugins.config.settings import check_config

    path = tmp_path / "scf.toml"
    path.write_text(BASIC + f'\n[server]\nmetrics_token = "{token}"\n')
    _, problems = check_config(path)
    assert any("server.metrics_token" in p and "16 characters" in p for p in problems)
    assert not any("passwords and tokens are never stored" in p for p in problems)


# -- GETs per address ------------------------------------------------------------------------


def limited_door(fake_host: tuple[Any, FakeRemote], harness: Callable[..., Harness]) -> Door:
    """The basic config's door at 3 GETs a minute per address."""
    return harness(BASIC + "\n[server]\ngets_per_minute = 3\n", host=fake_host[0]).serve()


def test_gets_over_the_rate_get_429_with_retry_after_in_their_format(
    fake_host: tuple[Any, FakeRemote], harness: Callable[..., Harness]
) -> None:
    door = limited_door(fake_host, harness)
    for _ in range(3):
        assert door.get("/open311/v2/services.json").status_code == 200
    over = door.get("/open311/v2/services.json")
    assert over.status_code == 429 and 1 <= int(over.headers["Retry-After"]) <= 20
    assert over.headers["content-type"] == "application/json; charset=utf-8"
    [error] = over.json()
    assert error["code"] == 429 and "try again" in error["description"]
    as_xml = door.get("/open311/v2/requests.xml")
    assert as_xml.status_code == 429
    assert xmltodict.parse(as_xml.content)["errors"]["error"]["code"] == "429"
    assert door.get("/healthz").status_code == 429  # every GET counts, in plain text
    # Another client (named by the proxy in front) has its own bucket; /metrics is not limited.
    other = requests.get(
        f"{door.url}/open311/v2/services.json", headers={"X-Forwarded-For": PUBLIC}, timeout=10
    )
    assert other.status_code == 200
    assert door.get("/metrics").status_code == 200


def test_posts_are_not_counted_as_gets(
    fake_host: tuple[Any, FakeRemote], harness: Callable[..., Harness]
) -> None:
    door = limited_door(fake_host, harness)
    for _ in range(4):
        assert door.post(service_code="NOPE").status_code != 429


def test_the_address_buckets_are_bounded_and_refill() -> None:
    now = [0.0]
    limit = RateLimit(60, most=3, clock=lambda: now[0])
    for i in range(10):
        assert limit.take(f"198.51.100.{i}") == 0
    assert len(limit) == 3
    for _ in range(60):
        limit.take("198.51.100.9")
    assert limit.take("198.51.100.9") == 1  # one a second at 60 a minute
    now[0] += 1.0
    assert limit.take("198.51.100.9") == 0
    assert RateLimit(0).take("anyone") == 0  # 0: no limit


def test_gets_per_minute_and_its_bounds_in_config_check(
    fake_host: tuple[Any, FakeRemote], harness: Callable[..., Harness]
) -> None:
    w = harness(BASIC + "\n[server]\ngets_per_minute = 120\n", host=fake_host[0])
    assert w.settings.server.gets_per_minute == 120
    w.path.write_text(BASIC + "\n[server]\ngets_per_minute = -1\n", encoding="utf-8")
    result = w.cli("config", "check")
    assert result.exit_code != 0 and "server.gets_per_minute" in result.output


# -- passwords in the clear ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "clear"),
    [("http://cityworks.example.gov/AMS", True), ("https://cityworks.example.gov/AMS", False),
     ("http://127.0.0.1:9/AMS", False), ("http://localhost/AMS", False),
     ("http://[::1]:8080/AMS", False), ("HTTP://10.1.2.3/AMS", True)],
)  # fmt: skip
def test_plain_http_to_another_host(url: str, clear: bool) -> None:
    assert cleartext.sends_in_clear(url) is clear


def test_config_check_and_doctor_warn_of_a_password_over_plain_http(
    fake_host: tuple[Any, FakeRemote], harness: Callable[..., Harness]
) -> None:
    text = BASIC.replace("http://127.0.0.1:9/", "http://cityworks.invalid/")
    w = harness(text, host=fake_host[0])
    data = config_check.gather(w.path, w.host, w.store)
    assert data["ok"] and not data["problems"]
    [warning] = [line for line in data["warnings"] if "plain http" in line]
    assert "integrations.alpha.test.url" in warning and "cityworks.invalid" in warning
    [finding] = doctor.diagnose(w.settings, w.host)
    assert any("plain http" in note for note in finding.notes)
    loopback = harness(BASIC, host=fake_host[0])  # http to this machine: no warning
    assert not [
        line
        for line in config_check.gather(loopback.path, loopback.host, loopback.store)["warnings"]
        if "plain http" in line
    ]
