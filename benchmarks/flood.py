"""The flood row of ``make bench``: an honest client's POST latency while ``scf serve`` is
abused, against the same client's latency when it is not.

The abuse, all from this machine to 127.0.0.1, bounded in count and time: 600 connections from
127.0.0.2-5 trickling one header line a second (slow clients the door must cut off), and 8
clients uploading 48 MB multipart bodies back to back without a valid key (half with no key
before their file, half with a wrong one). The honest client sends reports from 127.0.0.9, one
after another; its p99 is set against its p99 before the flood. The server's peak RSS
(VmHWM, /proc) is read at the end.

The flood runs in a process of its own, the honest client in the bench's; both run on the same
cores as the server, so the ratio is a ceiling. Each figure is the median of three turns.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from run import RemoteEmulator, _world
from serving import REPORT

MB = 1024 * 1024
HONEST = 200  # honest POSTs in each run
TURNS = 3  # quiet and flooded turns, each figure the median of its turns (the cores are shared)
TRICKLERS = 600
UPLOADERS = 8
FLOOD_SECONDS = 60.0  # the flood's bound, whatever the honest client's pace
BOUNDARY = "bench-flood"


class SourceAdapter(requests.adapters.HTTPAdapter):
    """Connections from a chosen local address."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


# The flood comes from 127.0.0.2-5, which scf serve counts as this machine (exempt from the
# per-address cap, as a local proxy is). This scf holds them to the cap as it holds clients of
# other machines, so each source stands for one remote attacker, as in the hostile-client
# tests; only the one rule differs from a real `scf serve`.
AS_REMOTE = (
    "from scf_plugins.server import connections; "
    "connections.is_loopback = lambda a: a in ('127.0.0.1', '::1'); "
    "from scf_plugins.cli import main; main()"
)


def _serve(config: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            AS_REMOTE,
            "--config",
            str(config),
            "serve",
            "--no-sync",
            "--port",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = ""
    while "serving Open311 at" not in line:
        line = process.stderr.readline()
        if not line:
            raise RuntimeError("scf serve exited before it listened")
    threading.Thread(target=process.stderr.read, daemon=True).start()
    return process, line.split(" at ", 1)[1].split("/open311")[0]


def _honest(url: str, key: str, count: int = HONEST) -> list[float]:
    """Latencies of ``count`` reports sent one after another from 127.0.0.9."""
    out = []
    with requests.Session() as session:
        session.mount("http://", SourceAdapter("127.0.0.9"))
        for _ in range(count):
            started = time.perf_counter()
            answer = session.post(f"{url}/open311/v2/requests.json",
                                  data={"api_key": key, **REPORT}, timeout=30)  # fmt: skip
            assert answer.status_code == 200, answer.text
            out.append(time.perf_counter() - started)
    return out


def _upload(port: int, prefix: bytes, stop: Any) -> None:
    """Keyless 48 MB uploads, back to back, until ``stop``."""
    end = f"\r\n--{BOUNDARY}--\r\n".encode()
    size = 48 * MB
    head = (
        f"POST /open311/v2/requests.json HTTP/1.1\r\nHost: door\r\nContent-Type: "
        f"multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(prefix) + size + len(end)}\r\n\r\n"
    ).encode()
    chunk = bytes(256 * 1024)
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
                conn.sendall(head + prefix)
                for _ in range(size // len(chunk)):
                    if stop.is_set():
                        break
                    conn.sendall(chunk)
                else:
                    conn.sendall(end)
                    conn.recv(256)
        except OSError:
            time.sleep(0.05)  # cut off; try again, as an attacker would


def _trickle(port: int, stop: Any) -> None:
    """TRICKLERS slow connections until ``stop``; one the server cuts off or turns away is
    replaced at the next line (once a second: a trickle, not a connection flood)."""
    chooser = selectors.DefaultSelector()
    open_: dict[int, socket.socket] = {}
    sources = [f"127.0.0.{n}" for n in range(2, 6)]

    def connect(n: int) -> None:
        conn = socket.socket()
        try:
            conn.bind((sources[n % len(sources)], 0))
            conn.settimeout(5)
            conn.connect(("127.0.0.1", port))
            conn.setblocking(False)
            conn.send(b"POST /open311/v2/requests.json HTTP/1.1\r\n")
        except OSError:
            conn.close()
            return
        open_[n] = conn
        chooser.register(conn, selectors.EVENT_READ, n)

    try:
        for n in range(TRICKLERS):
            connect(n)
        next_line = time.monotonic() + 1
        closed: list[int] = []
        while not stop.is_set():
            for key, _ in chooser.select(timeout=0.1):  # answered or cut off
                closed.append(key.data)
                chooser.unregister(key.fileobj)
                open_.pop(key.data).close()
            if time.monotonic() >= next_line:
                next_line += 1
                for conn in list(open_.values()):
                    with contextlib.suppress(OSError):
                        conn.send(b"X-Slow: yes\r\n")
                for n in closed:  # replaced at the trickle's pace, not in a tight loop
                    connect(n)
                closed.clear()
    finally:
        for conn in open_.values():
            conn.close()
        chooser.close()


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def _flood(port: int, stop: Any) -> None:
    """The flood, in a process of its own until ``stop`` is set (or its bound passes): its
    threads then take no turns from the honest client's, whose latency is the server's."""
    no_key = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photo1"; '
              f'filename="a.jpg"\r\n\r\n').encode()  # fmt: skip
    wrong = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="api_key"'
             f"\r\n\r\nnot-a-key\r\n").encode() + no_key  # fmt: skip
    flood = [threading.Thread(target=_trickle, args=(port, stop), daemon=True)]
    flood += [threading.Thread(target=_upload, daemon=True,
                               args=(port, wrong if n % 2 else no_key, stop))
              for n in range(UPLOADERS)]  # fmt: skip
    for thread in flood:
        thread.start()
    stop.wait(FLOOD_SECONDS)
    stop.set()
    for thread in flood:
        thread.join(30)


def _flooded(url: str, key: str, port: int) -> list[float]:
    """The honest client's latencies while the flood runs (started here, stopped after)."""
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    flood = spawn.Process(target=_flood, args=(port, stop), daemon=True)
    flood.start()
    try:
        time.sleep(2.0)  # the trickle connections open, uploads under way
        return _honest(url, key)
    finally:
        stop.set()
        flood.join(40)
        if flood.is_alive():
            flood.kill()


def phase_flood() -> dict[str, Any]:
    """Start the emulator (for the request types) and ``scf serve --no-sync``; measure."""
    from scf_plugins.intake import catalog
    from scf_plugins.server import apikeys

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    if soft < wanted:  # the trickle's sockets
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    emulator = RemoteEmulator(0.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings, host, store = _world(Path(tmp), emulator.url)
            with (Path(tmp) / "scf.toml").open("a") as config:
                config.write("\n[server]\nrequests_per_minute = 0\nrequest_timeout_seconds = 10\n")
            catalog.refresh(settings, host, store)
            key = apikeys.create(store, "bench", actor="bench")
            process, url = _serve(Path(tmp) / "scf.toml")
            port = int(url.rsplit(":", 1)[1])
            try:
                _honest(url, key, 20)  # warm up: imports, the first connections
                quiet, loud = [], []
                for _ in range(TURNS):
                    quiet.append(_p99(_honest(url, key)))
                    quiet_peak = _peak_mb(process.pid)
                    loud.append(_p99(_flooded(url, key, port)))
                peak = _peak_mb(process.pid)
            finally:
                process.terminate()
                process.wait(timeout=60)
        return {
            "quiet_p99": statistics.median(quiet),
            "flood_p99": statistics.median(loud),
            "ratio": statistics.median(loud) / statistics.median(quiet),
            "turns": TURNS,
            "quiet_peak_mb": quiet_peak,
            "peak_mb": peak,
            "honest": HONEST,
            "cores": os.cpu_count(),
        }
    finally:
        emulator.close()
