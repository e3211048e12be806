"""Scale-out rows of ``make bench``: several workers on one PostgreSQL, shared poll rounds,
and how soon a new report reaches the remote system while polls run.

- workers: 1, 2 and 4 ``scf sync --once`` processes on PostgreSQL, N new issues, 20 ms a
  call, ``max_concurrency`` 4 each: wall time, speed-up over one, remote creates.
- pollers: 1 and then 2 ``scf sync --once`` processes polling the same tracked issues on
  PostgreSQL: the ``ByIds`` calls each run makes.
- latency: reports stored at random gaps while ``scf sync --interval 60`` runs over tracked
  issues at 20 ms a call: report-to-acknowledged (the create's answer) p50 and p95.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from run import SCF, RemoteEmulator, _acknowledged, _world

LATENCY = 0.020


def _reset(database: str) -> None:
    from sqlalchemy import create_engine

    from scf_plugins.store import migrate

    engine = create_engine(database)
    with engine.begin() as conn:
        migrate.drop_all(conn)  # the store's tables and Alembic's
    engine.dispose()


def _template(settings: Any, store: Any) -> Any:
    """A valid new POTHOLE issue (the request types are loaded into the store first)."""
    from scf_plugins.intake import catalog
    from scf_plugins.intake.reporting import Report, build_issue
    from scf_plugins.plugins import build_manager

    catalog.refresh(settings, build_manager(), store)
    return build_issue(
        Report(
            request_type="POTHOLE",
            summary="Scale",
            lat=41.3,
            lng=-72.9,
            answers=(("501", "Yes"), ("502", "Smaller than a dinner plate"), ("503", "r@x.org")),
        ),
        store.request_type("POTHOLE"),
        "cityworks",
    )


def _bulk_open(store: Any, new: Any, n: int) -> None:
    """N new Open issues like ``new``, inserted in bulk (as many reports at once would be)."""
    from scf_plugins.store.tables import answers, issues
    from scf_plugins.timeutil import utcnow

    now = utcnow()
    row = {
        "request_type": new.request_type, "integration": new.integration, "status": "open",
        "summary": new.summary, "description": "", "lat": new.lat, "lng": new.lng,
        "type_ref": new.type_ref, "created_at": now, "updated_at": now, "attempts": 0,
        "submit_attempted": False, "held": False, "generation": 1,
    }  # fmt: skip
    for start in range(0, n, 1000):
        with store.transaction() as conn:
            ids = conn.execute(
                issues.insert().returning(issues.c.id), [row] * min(1000, n - start)
            ).scalars()
            conn.execute(
                answers.insert(),
                [
                    {
                        "issue_id": i,
                        "position": p,
                        "question_id": a.question_id,
                        "question": a.question,
                        "answer": a.answer,
                        "private": a.private,
                        "ref": a.ref,
                    }
                    for i in ids
                    for p, a in enumerate(new.answers)
                ],
            )


def _run_workers(path: Path, count: int, *extra: str) -> float:
    env = dict(os.environ)
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [SCF, "--config", str(path), "sync", "--once", *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(count)
    ]
    for proc in procs:
        proc.wait(timeout=600)
    return time.perf_counter() - started


def phase_workers(database: str, n: int) -> dict[str, Any]:
    """Wall time of 1, 2 and 4 workers submitting the same N new issues."""
    out: dict[str, Any] = {}
    for count in (1, 2, 4):
        _reset(database)
        emulator = RemoteEmulator(LATENCY)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                settings, _, store = _world(Path(tmp), emulator.url, 4, database)
                _bulk_open(store, _template(settings, store), n)
                wall = _run_workers(Path(tmp) / "scf.toml", count)
                creates = emulator.control("counts").get("ams/servicerequest/create", 0)
                with store.read() as conn:
                    acked = conn.exec_driver_sql(
                        "SELECT count(*) FROM issues WHERE status = 'acknowledged'"
                    ).scalar()
                store.close()
            out[str(count)] = {"wall": wall, "creates": creates, "acknowledged": acked}
        finally:
            emulator.close()
    return out


def phase_pollers(database: str, n: int) -> dict[str, Any]:
    """``ByIds`` calls of one worker, then of two together, polling the same N issues."""
    _reset(database)
    emulator = RemoteEmulator(0.010)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first = emulator.control("seed", {"count": n})["first"]
            settings, _, store = _world(Path(tmp), emulator.url, 4, database)
            _acknowledged(settings, store, first, n)
            store.close()
            out = {}
            for count in (1, 2):
                before = emulator.control("counts").get("ams/servicerequest/byids", 0)
                wall = _run_workers(Path(tmp) / "scf.toml", count)
                calls = emulator.control("counts").get("ams/servicerequest/byids", 0) - before
                out[str(count)] = {"calls": calls, "wall": wall}
            return out
    finally:
        emulator.close()


def phase_latency(tracked: int, reports: int) -> dict[str, Any]:
    """Report-to-acknowledged while ``scf sync --interval 60`` runs over tracked issues."""
    from scf_plugins.store.tables import issues

    emulator = RemoteEmulator(LATENCY)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first = emulator.control("seed", {"count": tracked})["first"]
            settings, _, store = _world(Path(tmp), emulator.url)
            _acknowledged(settings, store, first, tracked)
            new = _template(settings, store)
            sync = subprocess.Popen(
                [SCF, "--config", str(Path(tmp) / "scf.toml"), "sync", "--interval", "60"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=dict(os.environ),
            )
            try:
                time.sleep(2.0)  # start-up, and the first poll round under way
                rng = random.Random(311)
                for _ in range(reports):
                    _bulk_open(store, new, 1)
                    time.sleep(rng.uniform(0.05, 0.4))
                ends = time.monotonic() + 60
                while time.monotonic() < ends:
                    with store.read() as conn:
                        waiting = conn.execute(
                            issues.select().where(issues.c.status == "open")
                        ).first()
                    if waiting is None:
                        break
                    time.sleep(0.2)
            finally:
                sync.terminate()
                sync.wait(timeout=60)
            with store.read() as conn:
                rows = conn.execute(
                    issues.select().where(issues.c.summary == "Scale").order_by(issues.c.id)
                ).mappings()
                delays = [
                    (r["acknowledged_at"] - r["created_at"]).total_seconds()
                    for r in rows
                    if r["acknowledged_at"] is not None
                ]
        q = statistics.quantiles(delays, n=20) if len(delays) >= 2 else [float("nan")] * 19
        return {"count": len(delays), "p50": statistics.median(delays), "p95": q[18]}
    finally:
        emulator.close()
