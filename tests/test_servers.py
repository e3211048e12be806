"""The stand-in server base (``scf_plugins.testing.servers``): it stops at once, a keep-alive
client sees it gone, and it counts the requests it is answering."""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from scf_plugins.testing import LoopbackServer, Reply, StandInHTTPServer, wait_for


class _Slow(BaseHTTPRequestHandler):
    """Answers ``/slow`` after the test releases it, anything else at once."""

    protocol_version = "HTTP/1.1"
    release = threading.Event()

    def do_GET(self) -> None:
        if self.path == "/slow":
            self.release.wait(10)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_stop_returns_at_once_and_a_keep_alive_client_sees_the_server_gone() -> None:
    server = StandInHTTPServer(("127.0.0.1", 0), _Slow).start()
    session = requests.Session()
    assert session.get(f"{server.url}/", timeout=5).text == "ok"  # a kept-alive connection
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 0.25  # no poll interval, no wait for handler threads
    assert not server.serving
    with pytest.raises(requests.ConnectionError):
        session.get(f"{server.url}/", timeout=5)


def test_stop_does_not_wait_for_a_request_being_answered() -> None:
    _Slow.release.clear()
    server = StandInHTTPServer(("127.0.0.1", 0), _Slow).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/slow")
    wait_for(lambda: server.in_flight == 1, 5, "the slow request to be under way")
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 0.25
    _Slow.release.set()
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.getresponse().read()  # its connection was shut down with the server
    conn.close()


def test_in_flight_counts_requests_not_idle_connections() -> None:
    _Slow.release.clear()
    with StandInHTTPServer(("127.0.0.1", 0), _Slow) as server:
        idle = requests.Session()
        idle.get(f"{server.url}/", timeout=5)
        # The answer reaches the client a moment before its handler uncounts it; then the
        # keep-alive connection, idle and still open, is not a request.
        wait_for(lambda: server.in_flight == 0, 5, "the answered request to be uncounted")
        worker = threading.Thread(target=requests.get, args=(f"{server.url}/slow",),
                                  kwargs={"timeout": 5})  # fmt: skip
        worker.start()
        wait_for(lambda: server.in_flight == 1, 5, "the slow request to be counted")
        _Slow.release.set()
        wait_for(lambda: server.in_flight == 0, 5, "the slow request to be answered")
        worker.join(5)


def test_the_loopback_server_stops_at_once_mid_delay() -> None:
    server = LoopbackServer().start()
    server.route("GET", "/late", Reply(200, b"late", delay=5))
    failed: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(f"{server.url}/late", timeout=10)
        except requests.RequestException as exc:
            failed.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    wait_for(lambda: server.requests, 5, "the delayed request to arrive")
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 0.25
    caller.join(10)
    assert not caller.is_alive() and failed  # the caller saw the server gone, at once


def test_stop_is_idempotent_and_a_server_never_started_stops_too() -> None:
    server = StandInHTTPServer(("127.0.0.1", 0), _Slow)
    server.stop()
    server.stop()
    started = StandInHTTPServer(("127.0.0.1", 0), _Slow).start()
    started.stop()
    started.stop()


def test_wait_for_names_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"after 0\.05 s waiting for the emulator's 3rd call"):
        wait_for(lambda: 0, 0.05, "the emulator's 3rd call")
    assert wait_for(lambda: [1], 1, "a list") == [1]
