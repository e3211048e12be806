"""The idle-engine row of ``make bench``: what ``scf sync`` and ``scf serve`` cost with nothing
to do.

Both start on stores of their own (so neither wakes the other), settle, and are then measured
side by side over the same window (60 s by default): CPU of a core from
``/proc/<pid>/stat`` (utime + stime, every thread; and from the scheduler's own nanosecond
count, ``/proc/<pid>/task/*/schedstat``, which does not round to clock ticks), wake-ups as
the voluntary context switches of all their threads (each sleep that ends is one), and
resident memory at the end. The integration points at a closed port: with no issues nothing
calls it. Target: under 0.3% of a core each.

Usage: ``python benchmarks/idle.py [--seconds 60]`` (one JSON line), or the ``idle`` phase of
``run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCF = str(Path(sys.executable).parent / "scf")
PASSWORD = "idle-password-1"  # of the integration nothing calls: its checks want one
SETTLE = 5.0  # seconds after start-up before the window opens (imports, first passes)
CONFIG = """
[organization]
name = "Idle City"
database = "sqlite:///{database}"

[integrations.cityworks]
plugin = "cityworks"
environment = "test"
version = "15.8"
srid = 3857

[integrations.cityworks.test]
url = "http://127.0.0.1:9/Cityworks/Services/AMS"
user = "scf-int"
"""


def _ticks(pid: int) -> int:
    """utime + stime of the whole process (every thread), in clock ticks."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _run_ns(pid: int) -> int:
    """Nanoseconds the process's threads have run, as the scheduler counts them."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as fh:
                total += int(fh.read().split()[0])
        except OSError:
            continue  # a thread that ended meanwhile (its time is lost: a little low)
    return total


def _switches(pid: int) -> int:
    """Voluntary context switches of all the process's threads: how often one went to sleep
    (so woke up again)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except OSError:
            continue  # a thread that ended meanwhile
    return total


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _start(folder: Path, name: str, command: list[str]) -> subprocess.Popen[bytes]:
    config = folder / f"{name}.toml"
    config.write_text(CONFIG.format(database=folder / f"{name}.db"))
    env = dict(os.environ, SCF_CITYWORKS_TEST_PASSWORD=PASSWORD)
    return subprocess.Popen(
        [SCF, "--config", str(config), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def phase_idle(seconds: float = 60.0) -> dict[str, Any]:
    """CPU share of a core, wake-ups a minute and RSS of an idle ``scf sync`` and an idle
    ``scf serve`` (its engine running), measured over the same ``seconds``."""
    hertz = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        processes = {
            "sync": _start(folder, "sync", ["sync"]),
            "serve": _start(folder, "serve", ["serve", "--port", "0"]),
        }
        try:
            time.sleep(SETTLE)
            for name, process in processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"scf {name} exited early ({process.returncode})")
            began = time.monotonic()
            before = {
                n: (_ticks(p.pid), _switches(p.pid), _run_ns(p.pid)) for n, p in processes.items()
            }
            time.sleep(seconds)
            elapsed = time.monotonic() - began
            result: dict[str, Any] = {"seconds": round(elapsed, 1)}
            for name, process in processes.items():
                ticks, switches = _ticks(process.pid), _switches(process.pid)
                ran = _run_ns(process.pid) - before[name][2]
                result[name] = {
                    "cpu_percent": (ticks - before[name][0]) / hertz / elapsed * 100,
                    "sched_cpu_percent": ran / 1e9 / elapsed * 100,
                    "wakeups_per_minute": (switches - before[name][1]) / elapsed * 60,
                    "rss_mb": _rss_mb(process.pid),
                }
        finally:
            for process in processes.values():
                process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
    return result


def rows(idle: dict[str, Any]) -> list[tuple[str, bool]]:
    """Print the idle rows of ``make bench`` (``run.py``'s table); return their targets."""
    for name in ("sync", "serve"):
        r, label = idle[name], f"idle scf {name}, {idle['seconds']:.0f} s"
        print(
            f"{label:<38} {'':>8} {'':>7} {'':>8}   "
            f"{r['cpu_percent']:.2f}% of a core (scheduler: {r['sched_cpu_percent']:.2f}%), "
            f"{r['wakeups_per_minute']:.0f} wake-ups a minute, RSS {r['rss_mb']:.0f} MB"
        )
    return [
        (f"idle scf {name} < 0.3% of a core", idle[name]["cpu_percent"] < 0.3)
        for name in ("sync", "serve")
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    print(json.dumps(phase_idle(args.seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
