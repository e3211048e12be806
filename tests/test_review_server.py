"""``scf serve`` under review: a reload that drops ``public_url`` beyond loopback, a client
that leaves mid-body, a key over its rate, what ``/healthz`` tells strangers, the connection
counts, and the one token bucket behind both rate limits."""

from __future__ import annotations

import asyncio
import logging
import pkgutil
from collections.abc import Callable, Sequence
from typing import Any

import pytest

import scf_plugins.server as package
from scf_plugins.config.server import Server
from scf_plugins.ops import health as health_rows
from scf_plugins.ops import liveness
from scf_plugins.plugins import PluginHost
from scf_plugins.server.apikeys import create
from scf_plugins.server.connections import Connections
from scf_plugins.server.limits import MAX_BUCKETS, RateLimit
from scf_plugins.server.running import build, serves_loopback_only
from scf_plugins.server.web import build_app, create_app
from scf_plugins.testing import FakeRemote, Harness
from scf_plugins.timeutil import utcnow

FORM = "application/x-www-form-urlencoded"


def call(
    app: Any,
    path: str,
    *,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
    chunks: Sequence[bytes] = (),
    leaves: bool = False,
    client: str = "127.0.0.1",
) -> tuple[int, bytes, int]:
    """One request straight to the ASGI app: the body sent in ``chunks`` (then the client
    goes away when ``leaves``); the status, the body, and how many chunks the app read."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": c, "more_body": leaves or i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ] or [{"type": "http.request", "body": b"", "more_body": leaves}]
    read = 0
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read < len(messages):
            read += 1
            return messages[read - 1]
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": (client, 50000),
        "server": ("127.0.0.1", 8311),
    }
    asyncio.run(app(scope, receive, send))
    return answer["status"], answer["body"], read


PUBLIC = '[server]\npublic_url = "https://311.example.gov"\n'


# -- a reload beyond loopback keeps public_url ------------------------------------------------


@pytest.mark.parametrize(
    ("address", "used"), [("192.0.2.10", False), ("::", False), ("127.0.0.2", True)]
)
def test_a_reload_without_public_url_is_refused_when_bound_beyond_loopback(
    harness: Callable[..., Harness],
    fake_host: tuple[PluginHost, FakeRemote],
    basic_config: str,
    caplog: pytest.LogCaptureFixture,
    address: str,
    used: bool,
) -> None:
    host, _ = fake_host
    w = harness(basic_config + PUBLIC, host=host)
    serving = build(w.settings, w.host, w.store(), address=address, port=0, sync=False)
    assert serving.context is not None and serving.watch is not None
    w.write_config(basic_config + "[server]\nmax_page_size = 7\n")
    caplog.set_level(logging.WARNING)
    serving.reload()
    serving.reload_if_changed()
    settings = serving.context.settings
    if used:
        assert settings.server.public_url is None and settings.server.max_page_size == 7
        return
    assert settings.server.public_url == "https://311.example.gov"
    refused = [r for r in caplog.records if "needs [server] public_url" in r.getMessage()]
    assert len(refused) == 1 and address in refused[0].getMessage()
    assert serving.watch.current is settings  # the next change is compared with what is used
    serving.reload_if_changed()  # the same file, not asked again: no second warning
    assert len([r for r in caplog.records if "needs [server]" in r.getMessage()]) == 1


def test_loopback_only_addresses() -> None:
    assert all(map(serves_loopback_only, ["127.0.0.1", "127.8.0.1", "::1", "localhost"]))
    assert not any(map(serves_loopback_only, ["::", "10.0.0.1", "::ffff:10.0.0.1", "door.example"]))


# -- a client that leaves mid-body ------------------------------------------------------------


@pytest.mark.parametrize("path", ["requests.json", "servicerequestupdates.json"])
def test_a_client_leaving_mid_form_is_a_400_and_no_warning(
    harness: Callable[..., Harness],
    fake_host: tuple[PluginHost, FakeRemote],
    basic_config: str,
    caplog: pytest.LogCaptureFixture,
    path: str,
) -> None:
    host, _ = fake_host
    w = harness(basic_config, host=host)
    app = create_app(w.settings, w.host, w.store())
    caplog.set_level(logging.DEBUG)
    status, body, _ = call(
        app,
        f"/open311/v2/{path}",
        method="POST",
        headers=[("content-type", FORM), ("content-length", "400")],
        chunks=[b"service_code=POTHOLE&description=a+de"],
        leaves=True,
    )
    assert status == 400 and b"ended before it was complete" in body
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- a key over its rate is answered before its photos ----------------------------------------


def test_a_multipart_report_over_its_keys_rate_is_refused_before_its_photos_are_read(
    harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote], basic_config: str
) -> None:
    host, _ = fake_host
    w = harness(basic_config + "[server]\nrequests_per_minute = 1\n", host=host)
    key = create(w.store(), "fixmystreet", actor="test")
    app = create_app(w.settings, w.host, w.store())
    spent, said, _ = call(  # the key's one request this minute
        app,
        "/open311/v2/requests.json",
        method="POST",
        headers=[("content-type", FORM)],
        chunks=[f"api_key={key}".encode()],
    )
    assert spent == 400 and b"service_code" in said, said  # taken, then checked
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="api_key"\r\n\r\n{key}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo1"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    photo = [bytes(64 * 1024)] * 40  # 2.5 MB of photo after the key
    status, body, read = call(
        app,
        "/open311/v2/requests.json",
        method="POST",
        headers=[("content-type", f"multipart/form-data; boundary={boundary}")],
        chunks=[head, *photo, f"\r\n--{boundary}--\r\n".encode()],
    )
    assert status == 429 and b"too many requests for this api_key" in body
    assert read <= 2  # the key's chunk, not the photo's


# -- /healthz tells strangers the status, not the error texts -------------------------------


def test_healthz_gives_last_errors_only_to_those_who_may_read_metrics(
    harness: Callable[..., Harness],
    fake_host: tuple[PluginHost, FakeRemote],
    basic_config: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCF_METRICS_PASSWORD", "scrape-token-1")
    host, _ = fake_host
    w = harness(basic_config, host=host)
    store = w.store()
    with store.transaction() as conn:
        health_rows.note(
            conn, "alpha", "integration", now=utcnow(), last_error="cw.internal.lan: refused"
        )
    now = utcnow()
    ages = liveness.judge(w.settings, now, {"alpha": now}, now, since=now)
    app, _ = build_app(w.settings, w.host, store, last_pass=lambda: now, loops=lambda: ages)
    seen = {}
    for who, client, headers in [
        ("stranger", "203.0.113.9", []),
        ("wrong token", "203.0.113.9", [("authorization", "Bearer nope")]),
        ("mapped stranger", "::ffff:203.0.113.9", []),
        ("token", "203.0.113.9", [("authorization", "Bearer scrape-token-1")]),
        ("this machine", "127.0.0.1", []),
        ("this machine, mapped", "::ffff:127.0.0.1", []),
    ]:
        status, body, _ = call(app, "/healthz", headers=headers, client=client)
        assert status == 200 and b'"status":"ok"' in body and b'"loops"' in body, who
        seen[who] = b"cw.internal.lan" in body and b'"last_errors"' in body
    assert seen == {
        "stranger": False,
        "wrong token": False,
        "mapped stranger": False,
        "token": True,
        "this machine": True,
        "this machine, mapped": True,
    }


# -- connections: this host's own count in the total ------------------------------------------


def test_loopback_connections_count_in_the_total_but_not_per_address() -> None:
    connections = Connections(lambda: Server(max_connections_per_address=2), most=5)
    local = ["127.0.0.1", "::1", "127.0.0.2", "::ffff:127.0.0.1"]
    assert [connections.admit(peer) for peer in local] == [None] * 4
    assert connections.open == 4 and not connections.by_peer  # no per-address count for them
    assert connections.admit("203.0.113.9") is None
    refused = connections.admit("127.0.0.1")  # a local proxy's connection, past the total
    assert refused is not None and refused[0] == 503
    for peer in local:
        connections.release(peer)
    assert connections.admit("203.0.113.9") is None
    refused = connections.admit("203.0.113.9")
    assert refused is not None and refused[0] == 429
    connections.release("203.0.113.9")
    connections.release("203.0.113.9")
    assert connections.open == 0 and not connections.by_peer


# -- one token bucket, one declared-length check ---------------------------------------------


def test_keys_and_addresses_share_one_bounded_bucket_and_a_declared_size_is_checked_unread(
    harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote], basic_config: str
) -> None:
    host, _ = fake_host
    w = harness(basic_config + "[server]\nmax_body_kb = 16\n", host=host)
    app, ctx = build_app(w.settings, w.host, w.store())
    assert isinstance(ctx.limit, RateLimit) and isinstance(ctx.gets, RateLimit)
    assert ctx.limit.most == ctx.gets.most == MAX_BUCKETS
    now = [0.0]
    keys = RateLimit(1, most=2, clock=lambda: now[0])
    assert [keys.take(k) for k in ("a", "b", "a", "c")] == [0, 0, 60, 0]
    assert len(keys) == 2 and keys.take("b") == 0  # b was forgotten: a full bucket again
    for kind in (FORM, "multipart/form-data; boundary=x"):
        for declared in ("999999999", "12abc"):
            status, body, read = call(
                app,
                "/open311/v2/requests.json",
                method="POST",
                headers=[("content-type", kind), ("content-length", declared)],
                chunks=[b"x" * 100],
            )
            assert (status, read) == (413, 0), (kind, declared)
            assert b"larger than" in body


def test_the_package_docstring_names_every_module_of_the_server() -> None:
    assert package.__doc__ is not None
    for module in pkgutil.iter_modules(package.__path__):
        assert f":mod:`.{module.name}`" in package.__doc__, module.name
