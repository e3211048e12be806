"""``scf serve`` rows of ``make bench``: the Open311 door under load while its engine runs
against the emulator at 20 ms a call and polls tracked issues.

- rate: 8 clients POSTing back to back for a few seconds: sustained POSTs a second, p99;
- fixed load: POSTs sent at 100 a second on a schedule, latency measured from each one's
  scheduled time (so a slow answer also delays the ones queued behind it): p99;
- GET ``requests?service_request_id=`` with 50 ids: p99;
- report-to-create: reports POSTed at random gaps, each created remotely (acknowledged)
  how long after it was stored: p50 and p95.

The load generator is bounded (a fixed number of threads, one keep-alive session each) and
runs in this process on the same two cores as the server, so the figures are a floor.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from run import SCF, RemoteEmulator, _acknowledged, _world
from scale import LATENCY

REPORT = {
    "service_code": "POTHOLE",
    "lat": "41.3083",
    "long": "-72.9279",
    "description": "Deep pothole by the school gate",
    "attribute[501]": "Yes",
    "attribute[502]": "Smaller than a dinner plate",
    "attribute[503]": "r@example.org",
}


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else float("nan")


def _serve(config: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [SCF, "--config", str(config), "serve", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert process.stderr is not None
    while True:
        line = process.stderr.readline()
        if not line:
            raise RuntimeError("scf serve exited before it listened")
        if "serving Open311 at" in line:
            url = line.split(" at ", 1)[1].split(" ", 1)[0].removesuffix("/open311/v2")
            # Keep reading stderr so the server never blocks on a full pipe.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, url


def _post(session: requests.Session, url: str, key: str) -> float:
    started = time.perf_counter()
    answer = session.post(f"{url}/requests.json", data={"api_key": key, **REPORT}, timeout=30)
    assert answer.status_code == 200, answer.text
    return time.perf_counter() - started


def _rate(url: str, key: str, clients: int = 8, seconds: float = 4.0) -> tuple[float, float]:
    """Sustained POSTs a second with ``clients`` sending back to back, and their p99."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    ends = time.perf_counter() + seconds

    def client(i: int) -> None:
        with requests.Session() as session:
            while time.perf_counter() < ends:
                latencies[i].append(_post(session, url, key))

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [x for mine in latencies for x in mine]
    return len(every) / (time.perf_counter() - started), _p(every, 99)


def _fixed_load(url: str, key: str, per_second: float, seconds: float) -> list[float]:
    """Latencies (from each POST's scheduled time) at a fixed offered load."""
    local = threading.local()
    start = time.perf_counter() + 0.2
    count = int(per_second * seconds)

    def send(i: int) -> float:
        due = start + i / per_second
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        if not hasattr(local, "session"):
            local.session = requests.Session()
        _post(local.session, url, key)
        return time.perf_counter() - due

    with ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(send, range(count)))


def _gets(url: str, ids: list[int], times: int = 300) -> list[float]:
    query = ",".join(str(i) for i in ids)
    out = []
    with requests.Session() as session:
        for _ in range(times):
            started = time.perf_counter()
            answer = session.get(f"{url}/requests.json", params={"service_request_id": query})
            assert answer.status_code == 200 and len(answer.json()) == len(ids)
            out.append(time.perf_counter() - started)
    return out


def phase_serve(tracked: int) -> dict[str, Any]:
    """Start the emulator, N tracked issues, ``scf serve``; measure the rows."""
    from scf_plugins.intake import catalog
    from scf_plugins.server import apikeys
    from scf_plugins.store.tables import issues

    emulator = RemoteEmulator(LATENCY)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first = emulator.control("seed", {"count": tracked})["first"]
            settings, host, store = _world(Path(tmp), emulator.url)
            with (Path(tmp) / "scf.toml").open("a") as config:  # the load is one client
                config.write("\n[server]\nrequests_per_minute = 0\n")
            _acknowledged(settings, store, first, tracked)
            catalog.refresh(settings, host, store)
            key = apikeys.create(store, "bench", actor="bench")
            process, base = _serve(Path(tmp) / "scf.toml")
            url = f"{base}/open311/v2"
            try:
                time.sleep(2.0)  # start-up, and the first poll round under way
                with requests.Session() as session:
                    rng = random.Random(311)
                    timed = []
                    for _ in range(50):
                        answer = session.post(
                            f"{url}/requests.json", data={"api_key": key, **REPORT}, timeout=30
                        )
                        timed.append(int(answer.json()[0]["service_request_id"]))
                        time.sleep(rng.uniform(0.05, 0.4))
                rate, rate_p99 = _rate(url, key)
                fixed = _fixed_load(url, key, 100, 5)
                gets = _gets(url, timed[:50])
                ends = time.monotonic() + 120
                while time.monotonic() < ends:  # let the engine catch up with the load
                    with store.read() as conn:
                        waiting = conn.execute(
                            issues.select().where(issues.c.id.in_(timed), issues.c.status == "open")
                        ).first()
                    if waiting is None:
                        break
                    time.sleep(0.2)
            finally:
                process.terminate()
                stopped = process.wait(timeout=120)
            with store.read() as conn:
                rows = conn.execute(issues.select().where(issues.c.id.in_(timed))).mappings()
                delays = [
                    (r["acknowledged_at"] - r["created_at"]).total_seconds()
                    for r in rows
                    if r["acknowledged_at"] is not None
                ]
        q = statistics.quantiles(delays, n=20) if len(delays) >= 2 else [float("nan")] * 19
        return {
            "rate": rate,
            "rate_p99": rate_p99,
            "fixed_p99": _p(fixed, 99),
            "fixed_count": len(fixed),
            "get50_p99": _p(gets, 99),
            "count": len(delays),
            "p50": statistics.median(delays) if delays else float("nan"),
            "p95": q[18],
            "exit": stopped,
        }
    finally:
        emulator.close()
