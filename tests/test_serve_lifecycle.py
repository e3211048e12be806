"""``scf serve`` end to end against the Cityworks emulator: a report POSTed over Open311 is
created remotely within a second, its status and updates follow the remote request, and a
SIGTERM lets requests in flight finish before the process exits 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from scf_plugins.server.apikeys import create
from scf_plugins.server.running import bound_url, build
from scf_plugins.testing import wait_for

REPORT = {
    "service_code": "POTHOLE",
    "lat": "41.3083",
    "long": "-72.9279",
    "description": "Deep pothole by the school gate",
    "attribute[501]": "Yes",
    "attribute[502]": "Smaller than a dinner plate",
    "attribute[503]": "r@example.org",
}


LISTEN = 0x0A  # the state /proc/net/tcp gives a listening socket


def sockets_on(port: int) -> list[tuple[int, int, int]]:
    """This machine's IPv4 TCP sockets on local ``port``: (state, remote port, bytes received
    that the process has not read yet), from /proc/net/tcp (Linux)."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, queues = fields[1], fields[2], fields[3], fields[4]
        if int(local.split(":")[1], 16) == port:
            unread = int(queues.split(":")[1], 16)
            found.append((int(state, 16), int(remote.split(":")[1], 16), unread))
    return found


def test_post_acknowledge_close_and_the_updates_feed(world) -> None:  # type: ignore[no-untyped-def]
    w = world(extra="poll_interval_seconds = 1")
    assert w.cli("request-types", "--refresh").exit_code == 0
    store = w.store()
    key = create(store, "fixmystreet", actor="test")
    serving = build(w.settings, w.host, store, port=0, sync=True)
    thread = threading.Thread(target=serving.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: serving.server.started, 10, "scf serve to start")
        url = f"{bound_url(serving.server)}/open311/v2"
        posted = time.monotonic()
        response = requests.post(
            f"{url}/requests.json", data={"api_key": key, **REPORT}, timeout=10
        )
        assert response.status_code == 200, response.text
        issue_id = response.json()[0]["service_request_id"]

        def record() -> dict[str, Any]:
            got = requests.get(f"{url}/requests/{issue_id}.json", timeout=10)
            return got.json()[0]  # type: ignore[no-any-return]

        acknowledged = wait_for(
            lambda: "status_notes" in record() and record(), 10, "the issue acknowledged"
        )
        # Woken by the POST: created remotely well within the second the issue asks for
        # (generous here: CI machines are slow; `make bench` measures the real figure).
        assert time.monotonic() - posted < 5
        rid = w.remote_id(int(issue_id))
        assert acknowledged["status"] == "open" and str(rid) in acknowledged["status_notes"]
        # The feed reads a message written within a second of the closing as "closed": let
        # that second pass before staff close it, so the acknowledgement is "open" there.
        written = max(datetime.fromisoformat(c["created_at"])
                      for c in w.show(int(issue_id))["comments"])  # fmt: skip
        wait_for(lambda: datetime.now(UTC) > written + timedelta(seconds=1), 5,
                 "a second past the acknowledgement")  # fmt: skip

        w.emulator.state.staff("close", rid)
        closed = wait_for(lambda: record()["status"] == "closed" and record(), 10, "it closed")
        assert closed["status_notes"] == w.show(int(issue_id))["comments"][-1]["text"]
        assert closed["updated_datetime"].endswith("Z")

        feed = requests.get(f"{url}/servicerequestupdates.json", timeout=10).json()
        again = requests.get(f"{url}/servicerequestupdates.json", timeout=10).json()
        assert feed == again  # stable ids, nothing new on a second read
        mine = [u for u in feed if u["service_request_id"] == issue_id]
        assert [u["status"] for u in mine] == ["open", "closed"]
        assert len({u["update_id"] for u in mine}) == len(mine) == 2
        assert str(rid) in mine[0]["description"]
        assert mine[1]["description"] == closed["status_notes"]
        health = requests.get(url.replace("/open311/v2", "/healthz"), timeout=10).json()
        assert health["status"] == "ok" and health["sync"] is True
        assert health["last_pass_age_seconds"] is not None
    finally:
        serving.server.should_exit = True
        thread.join(30)
    assert not thread.is_alive()


@pytest.mark.slow  # a subprocess
def test_sigterm_finishes_requests_in_flight_then_exits_0(world) -> None:  # type: ignore[no-untyped-def]
    w = world()
    assert w.cli("request-types", "--refresh").exit_code == 0
    key = create(w.store(), "fixmystreet", actor="test")
    env = dict(os.environ)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "scf"), "--config", str(w.path), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        line = ""
        while "serving Open311 at" not in line:
            line = process.stderr.readline()
            assert line, "scf serve exited before it listened"
        base = line.split(" at ", 1)[1].split("/open311")[0]
        host, port = base.removeprefix("http://").split(":")
        form = "&".join(f"{k}={v}" for k, v in {"api_key": key, **REPORT}.items())
        data = form.replace(" ", "+").replace("[", "%5B").replace("]", "%5D").encode()
        # A request in flight: headers and half the body sent, the rest after the signal.
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(
                b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {len(data)}\r\n\r\n".encode()
                + data[:20]
            )
            mine = conn.getsockname()[1]
            wait_for(
                lambda: any(
                    remote == mine and not unread for _, remote, unread in sockets_on(int(port))
                ),
                10,
                "scf serve to read the request's first part",
            )
            process.send_signal(signal.SIGTERM)
            wait_for(
                lambda: all(state != LISTEN for state, _, _ in sockets_on(int(port))),
                10,
                "scf serve to stop listening after SIGTERM",
            )
            conn.sendall(data[20:])
            answer = b""
            while b"service_request_id" not in answer:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # The report it accepted is stored.
    listed = w.cli("issues", "list", "--json")
    assert '"Deep pothole by the school gate"' in listed.stdout
