"""The door-against-its-framework rows of ``make bench``: ``scf serve --no-sync`` and the bare
Starlette + SQLite app of ``bare.py``, each in its own process, under the same client in the
same run.

- POST ``requests.json`` (the same urlencoded report, with its ``api_key``), 8 clients back
  to back on keep-alive connections: requests a second, the server process's CPU per request
  (utime + stime from ``/proc/<pid>/stat``, all its threads), p50 and p99;
- GET ``requests/{id}.json`` of the ids just stored, the same way.

Both servers are measured in turns, three times each, and each figure is the median of its
three (the machine is shared). The client is raw sockets with the requests built
beforehand, so it costs little beside either server; it runs on the same two cores, so the
throughputs are a floor. ``scf serve`` runs without its engine here (``--no-sync``): the
rows compare the door with the framework, not with the sync work beside it (the ``scf
serve`` rows above measure it with its engine running).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from run import SCF, RemoteEmulator, _world
from serving import REPORT

CLIENTS = 8
SECONDS = 2.5
ROUNDS = 3
HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system, every thread)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Connection:
    """One keep-alive HTTP/1.1 connection that sends prepared requests."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def ask(self, raw: bytes) -> tuple[int, bytes]:
        """Send ``raw``; the answer's status and body."""
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        return int(head[9:12]), rest[:length]

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


def post_bytes(port: int, key: str) -> bytes:
    """The report POST, as sent."""
    body = urlencode({"api_key": key, **REPORT}).encode()
    return (
        f"POST /open311/v2/requests.json HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def get_bytes(port: int, issue_id: int) -> bytes:
    """A GET of one request by id, as sent."""
    return (
        f"GET /open311/v2/requests/{issue_id}.json HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    ).encode()


def load(
    port: int, pid: int, requests: Callable[[int], bytes], seconds: float = SECONDS
) -> dict[str, Any]:
    """``CLIENTS`` connections sending back to back for ``seconds``: the rate, the server's
    CPU per request, latencies, and the answers' bodies (for the ids of POSTs)."""
    connections = [Connection(port) for _ in range(CLIENTS)]
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    bodies: list[list[bytes]] = [[] for _ in range(CLIENTS)]
    ends = 0.0
    go = threading.Barrier(CLIENTS + 1)

    def client(i: int) -> None:
        conn, mine, got = connections[i], latencies[i], bodies[i]
        go.wait()
        n = i
        while True:
            started = time.perf_counter()
            if started >= ends:
                return
            status, body = conn.ask(requests(n))
            assert status == 200, (status, body[:200])
            mine.append(time.perf_counter() - started)
            got.append(body)
            n += CLIENTS

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    ends = started + seconds
    go.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu
    for conn in connections:
        conn.close()
    every = [x for mine in latencies for x in mine]
    return {
        "rate": len(every) / wall,
        "cpu_ms": cpu / len(every) * 1000,
        "p50_ms": statistics.median(every) * 1000,
        "p99_ms": statistics.quantiles(every, n=100)[98] * 1000,
        "count": len(every),
        "bodies": [b for got in bodies for b in got],
    }


def _started(
    args: list[str], env: dict[str, str], marker: str
) -> tuple[subprocess.Popen[str], int]:
    """A server process and its port, once it says it listens (its output drained after)."""
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{args[0]} exited before it listened")
        if marker in line:
            url = line.split(" at ", 1)[1].split()[0]
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, int(url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def _ids(bodies: list[bytes]) -> list[int]:
    import orjson

    return [int(orjson.loads(b)[0]["service_request_id"]) for b in bodies]


def _median(turns: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the turns (the machine is shared: one turn may be unlucky)."""
    keys = ("rate", "cpu_ms", "p50_ms", "p99_ms")
    return {key: statistics.median(t[key] for t in turns) for key in keys}


def phase_door() -> dict[str, Any]:
    """Both servers, the same loads in turns; the rows and their ratios."""
    from scf_plugins.intake import catalog
    from scf_plugins.server import apikeys

    with tempfile.TemporaryDirectory() as tmp:
        emulator = RemoteEmulator(0.0)
        try:
            settings, host, store = _world(Path(tmp), emulator.url)
            catalog.refresh(settings, host, store)
        finally:
            emulator.close()
        with (Path(tmp) / "scf.toml").open("a") as config:  # the load is one client
            config.write("\n[server]\nrequests_per_minute = 0\ngets_per_minute = 0\n")
        key = apikeys.create(store, "bench", actor="bench")
        store.close()
        env = dict(os.environ)
        bare, bare_port = _started(
            [sys.executable, str(HERE / "bare.py"), str(Path(tmp) / "bare.db")], env, "serving at"
        )
        door, door_port = _started(
            [SCF, "--config", str(Path(tmp) / "scf.toml"), "serve", "--no-sync", "--port", "0"],
            env,
            "serving Open311 at",
        )
        servers = {"bare": (bare, bare_port), "door": (door, door_port)}
        try:
            posts: dict[str, list[dict[str, Any]]] = {"bare": [], "door": []}
            gets: dict[str, list[dict[str, Any]]] = {"bare": [], "door": []}
            ids: dict[str, list[int]] = {}
            for name, (process, port) in servers.items():  # warm up: imports, caches, pages
                raw = post_bytes(port, key)
                warm = load(port, process.pid, lambda _n, raw=raw: raw, 0.5)
                ids[name] = _ids(warm["bodies"])
            for _ in range(ROUNDS):
                for name, (process, port) in servers.items():
                    raw = post_bytes(port, key)
                    turn = load(port, process.pid, lambda _n, raw=raw: raw)
                    ids[name] += _ids(turn.pop("bodies"))
                    posts[name].append(turn)
                for name, (process, port) in servers.items():
                    wanted = [get_bytes(port, i) for i in ids[name]]
                    turn = load(port, process.pid, lambda n, w=wanted: w[n % len(w)])
                    turn.pop("bodies")
                    gets[name].append(turn)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=60)
    out: dict[str, Any] = {"clients": CLIENTS, "seconds": SECONDS, "rounds": ROUNDS}
    for name in servers:
        out[f"{name}_post"] = _median(posts[name])
        out[f"{name}_get"] = _median(gets[name])
    return out
