"""The "cost follows the work" rows of ``make bench``: what runs per status, scrape, pass,
heartbeat and start, on stores of 10,000, 100,000 and 1,000,000 issues with the same live work
(:mod:`history`), so each row's growth with the size is the cost of the history alone.

- status: ``scf status --json``, the whole command; and its figures gathered in process
  (``ops.status.gather``), without the command's start-up;
- metrics: the ``/metrics`` collector's text, in process;
- idle pass: ``scf sync --once`` with nothing due (2,000 Acknowledged issues polled against the
  emulator, no news, after one pass that settles the store); and the same pass in process;
- take-over: freeing the claims of a dead worker on this machine (200 issues), as every
  worker does at its start;
- heartbeat: one renewal of a worker's leases (100 issues), every 20 s while a pass runs.

The first five are CPU time (user and system, of the command or of this process), which
the machine's other work changes less than wall time; the take-over and the heartbeat are
wall time, as they hold the store's write lock that long. Each is the best of 5.

``python benchmarks/bounded.py --statements N`` prints instead the slowest statements each of
these runs on a store of N issues (to find what still reads the history).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import history
from run import PASSWORD, SCF, RemoteEmulator

CONFIG = """
[organization]
name = "Bench City"
database = "sqlite:///{database}"

[images]
purge_after_days = 90

[privacy]
purge_contact_after_days = 365

[email]
host = "127.0.0.1"
port = 9
from = "311 <no-reply@example.gov>"

[server]
public_url = "http://127.0.0.1:8311"

[integrations.cityworks]
plugin = "cityworks"
environment = "test"
version = "15.8"
srid = 3857
poll_batch_size = 500
max_concurrency = 4
timeout_seconds = 60

[integrations.cityworks.test]
url = "{url}"
user = "scf-int"
"""


RUNS = 5  # each time is the best of this many


def _best(runs: int, once: Callable[[], float]) -> float:
    return min(once() for _ in range(runs))


def _timed(action: Callable[[], object]) -> float:
    """The wall time of ``action``."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _cpu(action: Callable[[], object]) -> float:
    """The CPU time of ``action`` (this process, all its threads)."""
    started = time.process_time()
    action()
    return time.process_time() - started


@contextmanager
def _world(n: int, cache: Path) -> Iterator[tuple[Path, Any, Any]]:
    """The built store of ``n`` issues linked to a fresh emulator, its config, and the
    settings and store opened in this process."""
    from scf_plugins.config.settings import load_config
    from scf_plugins.store.links import endpoint_key
    from scf_plugins.store.store import Store

    path = history.stored(cache, n)
    emulator = RemoteEmulator(0.0)
    try:
        first = emulator.control("seed", {"count": history.ACKNOWLEDGED})["first"]
        history.link_to(path, first, endpoint_key(emulator.url))
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "scf.toml"
            config.write_text(CONFIG.format(database=path, url=emulator.url))
            os.environ["SCF_CITYWORKS_TEST_PASSWORD"] = PASSWORD
            settings = load_config(config)
            store = Store.open(settings.organization.database)
            try:
                yield config, settings, store
            finally:
                store.engine.dispose()
    finally:
        emulator.close()


def _command(config: Path, *args: str, ok: tuple[int, ...] = (0,)) -> float:
    """Run ``scf ARGS`` on the config; its CPU time, user and system (its exit code one of
    ``ok``)."""
    env = dict(os.environ, SCF_CITYWORKS_TEST_PASSWORD=PASSWORD)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([SCF, "--config", str(config), *args], env=env, check=False,
                          capture_output=True, text=True)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode in ok, (args, done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _lease_dead(store: Any) -> list[int]:
    """Give the dead worker its claims back (the take-over frees them); their ids."""
    from sqlalchemy import select

    from scf_plugins.store.tables import issues

    with store.transaction() as conn:
        ids = list(
            conn.execute(
                select(issues.c.id)
                .where(
                    issues.c.status == "open",
                    issues.c.next_attempt_at.is_not(None),
                    issues.c.lease_owner.is_(None),
                )
                .order_by(issues.c.id)
                .limit(history.FAILING_DEAD)
            ).scalars()
        )
        now = _now()
        conn.execute(
            issues.update()
            .where(issues.c.id.in_(ids))
            .values(lease_owner=history.dead_worker(), lease_until=now + timedelta(hours=1))
        )
    return ids


def _now() -> Any:
    from scf_plugins.timeutil import utcnow

    return utcnow()


def take_over(store: Any) -> float:
    """One start's take-over of a dead worker's 200 claims; seconds."""
    from scf_plugins.engine import leases
    from scf_plugins.engine.loop import LEASED

    _lease_dead(store)
    me = leases.worker_id()
    started = time.perf_counter()
    with store.transaction() as conn:
        freed = leases.take_over_dead(conn, LEASED, me, _now())
    seconds = time.perf_counter() - started
    assert freed >= history.FAILING_DEAD, freed
    return seconds


def heartbeat(store: Any) -> float:
    """One beat of the measuring worker's heartbeat (its 100 leases renewed); seconds."""
    from scf_plugins.engine import leases
    from scf_plugins.engine.loop import LEASED

    started = time.perf_counter()
    with store.transaction() as conn:
        until = _now() + timedelta(hours=1)
        renewed = sum(leases.renew(conn, t, history.MEASURING_WORKER, until) for t in LEASED)
    seconds = time.perf_counter() - started
    assert renewed == history.MINE, renewed
    return seconds


def metrics_text(settings: Any, store: Any) -> float:
    """The ``/metrics`` collector's text; CPU seconds."""
    from scf_plugins.ops.metrics import prometheus_text

    return _cpu(lambda: prometheus_text(settings, store, _now()))


def status_gather(settings: Any, store: Any) -> float:
    """``scf status``'s figures, in process; CPU seconds."""
    from scf_plugins.ops.status import gather

    return _cpu(lambda: gather(settings, store, _now()))


def phase_bounded(n: int, cache: Path) -> dict[str, Any]:
    """The rows at one size."""
    from scf_plugins.engine.loop import Engine
    from scf_plugins.plugins import build_manager

    with _world(n, cache) as (config, settings, store):
        _command(config, "sync", "--once")  # settles the store: the dead worker's claims
        host = build_manager()
        polled: list[int] = []

        def idle() -> float:
            started = time.process_time()
            report = Engine(settings, host, store).run_pass()
            seconds = time.process_time() - started
            assert report.errors == 0, report.problems
            polled.append(report.polled)
            return seconds

        return {
            "n": n,
            # Exit 1: the store has failing issues, which status reports.
            "status": _best(RUNS, lambda: _command(config, "status", "--json", ok=(0, 1))),
            "status_in_process": _best(RUNS, lambda: status_gather(settings, store)),
            "metrics": _best(RUNS, lambda: metrics_text(settings, store)),
            "idle_pass": _best(RUNS, lambda: _command(config, "sync", "--once")),
            "idle_pass_in_process": _best(RUNS, idle),
            "polled": min(polled),
            "take_over": _best(RUNS, lambda: take_over(store)),
            "heartbeat": _best(RUNS, lambda: heartbeat(store)),
        }


# Per row: the result's key, what it measures, its unit (and scale), and its target: at most
# RATIO times its time at the smallest store ("ratio"), under LIMIT ("limit"), or none (a
# figure that explains another).
ROWS = (
    ("status", "scf status --json, CPU", "s", 1, "ratio"),
    ("status_in_process", "  its figures in process, CPU", "ms", 1000, None),
    ("metrics", "/metrics text in process, CPU", "ms", 1000, "ratio"),
    ("idle_pass", "scf sync --once, nothing due, CPU", "s", 1, "ratio"),
    ("idle_pass_in_process", "  the same pass in process, CPU", "ms", 1000, None),
    ("take_over", "take-over of 200 claims of a dead worker", "ms", 1000, "limit"),
    ("heartbeat", "heartbeat renewing 100 leases", "ms", 1000, "limit"),
)
RATIO = 1.5
LIMIT = 0.005  # seconds


def rows(results: list[dict[str, Any]]) -> list[tuple[str, bool | None]]:
    """Print a row per measured run (a column per store size, and the largest store's time
    over the smallest's); return the targets."""
    small, large = results[0], results[-1]
    sizes = "".join(f"{r['n']:>12,}" for r in results)
    print(f"\n{'stored issues (same live work)':<44}{sizes}  {'largest/smallest':>17}")
    for key, label, unit, scale, _ in ROWS:
        cells = "".join(f"{r[key] * scale:>12.{3 if scale == 1 else 1}f}" for r in results)
        print(f"{f'{label}, {unit}':<44}{cells}  {large[key] / small[key]:>16.2f}x")
    targets: list[tuple[str, bool | None]] = []
    for key, label, _, _, target in ROWS:
        if target == "ratio":
            targets.append((f"{label} at {large['n']:,} stored issues <= {RATIO}x at "
                            f"{small['n']:,}", large[key] <= RATIO * small[key]))  # fmt: skip
        elif target == "limit":
            targets.append((f"{label} < {LIMIT * 1000:.0f} ms at {large['n']:,} stored issues",
                            large[key] < LIMIT))  # fmt: skip
    return targets


# -- which statements each of them runs, and how long each takes -----------------------------


def statements(n: int, cache: Path, top: int = 12) -> None:
    """Print the slowest statements of each measured run on a store of ``n`` issues, with
    their query plans. Each statement is run again alone, all its rows fetched, in a
    transaction rolled back (a cursor's execute returns at the first row, so timing it in
    the run would miss the rest)."""
    from sqlalchemy import event

    from scf_plugins.engine.loop import Engine
    from scf_plugins.plugins import build_manager

    with _world(n, cache) as (_, settings, store):
        Engine(settings, build_manager(), store).run_pass()  # settle, as the rows do
        seen: list[tuple[str, Any, bool]] = []

        @event.listens_for(store.engine, "before_cursor_execute")
        def _record(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> None:
            seen.append((statement, parameters, many))

        host = build_manager()
        runs: dict[str, Callable[[], object]] = {
            "status": lambda: status_gather(settings, store),
            "idle pass": lambda: Engine(settings, host, store).run_pass(),
            "take-over": lambda: take_over(store),
            "heartbeat": lambda: heartbeat(store),
        }
        for name, run in runs.items():
            seen.clear()
            total = _timed(run)
            timed = _again(store, list(seen))
            print(f"== {name}: {total * 1000:.1f} ms, {len(seen)} statements, "
                  f"{sum(s for s, _, _ in timed) * 1000:.1f} ms in them run alone")  # fmt: skip
            for seconds, statement, plan in sorted(timed, reverse=True)[:top]:
                print(f"{seconds * 1000:9.2f} ms  {' '.join(statement.split())[:400]}")
                if seconds > 0.002:
                    print("             plan: " + "; ".join(plan))


def _again(store: Any, seen: list[tuple[str, Any, bool]]) -> list[tuple[float, str, list[str]]]:
    """Each statement of ``seen`` run again alone (rolled back): seconds, text, plan."""
    raw = store.engine.raw_connection()
    out = []
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        for statement, parameters, many in seen:
            if statement.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
                continue
            plan = [str(r[-1]) for r in cursor.execute(
                "EXPLAIN QUERY PLAN " + statement, parameters[0] if many else parameters
            ).fetchall()]  # fmt: skip
            started = time.perf_counter()
            if many:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters).fetchall()
            out.append((time.perf_counter() - started, statement, plan))
        cursor.execute("ROLLBACK")
    finally:
        raw.close()
    return out


def main() -> None:
    """``--statements N``: the slowest statements at N issues (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, required=True)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "scf-bench")
    args = parser.parse_args()
    statements(args.statements, args.cache)


if __name__ == "__main__":
    main()
