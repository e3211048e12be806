"""Quiet when idle, and parseable always: a pass that changed nothing logs at debug, and under
``--log-format json`` every line on stderr is a JSON object (uvicorn's, Alembic's, warnings,
the CLI's own notices), checked on real ``scf sync --once`` and ``scf serve`` processes."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from scf_plugins.ops import logs
from scf_plugins.testing import wait_for

SCF = str(Path(sys.executable).parent / "scf")


def records(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` parsed as a JSON object (a line that is not one fails)."""
    parsed = []
    for line in text.splitlines():
        record = json.loads(line)
        assert isinstance(record, dict), line
        parsed.append(record)
    return parsed


def test_an_idle_pass_logs_at_debug_and_a_busy_one_at_info(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    w = world()
    caplog.set_level(logging.DEBUG, logger="scf_plugins.engine.loop")
    w.sync()
    [idle] = [r for r in caplog.records if getattr(r, "event", None) == "pass"]
    assert idle.levelno == logging.DEBUG
    caplog.clear()
    w.report()
    w.sync()
    [busy] = [r for r in caplog.records if getattr(r, "event", None) == "pass"]
    assert busy.levelno == logging.INFO and busy.submitted == 1  # type: ignore[attr-defined]
    caplog.clear()
    w.sync()  # polls the acknowledged issue, which did not change: still idle
    [polled] = [r for r in caplog.records if getattr(r, "event", None) == "pass"]
    assert polled.levelno == logging.DEBUG and polled.polled == 1  # type: ignore[attr-defined]


@contextmanager
def json_logging() -> Iterator[None]:
    """``logs.setup("json")`` for a while, with the process's logging put back after (set up
    inside the test: pytest swaps ``sys.stderr`` between a test's setup and its call)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook, sys.stderr)
    logs.setup("json", "info")
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "_scf", False):
                root.removeHandler(handler)
        for handler in saved[0]:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(saved[1])
        logging.captureWarnings(False)
        sys.excepthook, sys.stderr = saved[2], saved[3]


def test_json_makes_warnings_and_printed_lines_json(capsys: pytest.CaptureFixture[str]) -> None:
    with json_logging(), warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("an old call", DeprecationWarning, stacklevel=1)
        print("serving Open311 at http://127.0.0.1:1/open311/v2", file=sys.stderr)
        print("warning: something to look at\n\n", file=sys.stderr, end="")
        sys.stderr.write("half a ")
        sys.stderr.write("line\n")
        logging.getLogger("uvicorn.error").info("Uvicorn running")
        logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
        sys.excepthook(RuntimeError, RuntimeError("boom"), None)
    found = records(capsys.readouterr().err)
    by_message = {r["message"]: r for r in found}
    assert by_message["serving Open311 at http://127.0.0.1:1/open311/v2"]["logger"] == "stderr"
    assert by_message["warning: something to look at"]["level"] == "warning"
    assert "half a line" in by_message
    assert any("an old call" in r["message"] and r["logger"] == "py.warnings" for r in found)
    assert by_message["Uvicorn running"]["logger"] == "uvicorn.error"
    assert by_message["Context impl SQLiteImpl."]["logger"] == "alembic.runtime.migration"
    [crash] = [r for r in found if r["level"] == "critical"]
    assert crash["error"] == "RuntimeError: boom"


def _drain(stream: IO[str], into: list[str]) -> threading.Thread:
    """Read ``stream`` line by line into ``into`` in a thread (so the pipe never fills)."""

    def read() -> None:
        for line in stream:
            into.append(line)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow  # subprocesses
def test_every_stderr_line_of_sync_and_serve_is_json(world: Any, tmp_path: Path) -> None:
    w = world()
    env = {**os.environ, "PYTHONWARNINGS": "always"}
    base = [SCF, "--config", str(w.path), "--log-format", "json"]
    # A config whose store does not exist yet: the first command creates it through Alembic.
    fresh = tmp_path / "fresh.toml"
    new_store = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh.write_text(w.path.read_text().replace(w.database, new_store), encoding="utf-8")
    once = subprocess.run(
        [
            SCF,
            "--config",
            str(fresh),
            "--log-format",
            "json",
            "--log-level",
            "debug",
            "sync",
            "--once",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert once.returncode == 0, once.stderr
    synced = records(once.stderr)
    assert any(r["logger"].startswith("alembic") for r in synced)  # "Context impl …"
    assert any(r.get("event") == "pass" and r["level"] == "debug" for r in synced)

    assert w.cli("request-types", "--refresh").exit_code == 0
    process = subprocess.Popen(
        [*base, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        reader = _drain(process.stderr, lines)
        announced = wait_for(
            lambda: next((line for line in list(lines) if "serving Open311 at" in line), None),
            30,
            "scf serve to say where it listens",
        )
        url = json.loads(announced)["message"].split(" at ", 1)[1].split("/open311")[0]
        assert requests.get(f"{url}/open311/v2/services.json", timeout=10).status_code == 200
        assert requests.get(f"{url}/nowhere.json", timeout=10).status_code == 404
        wait_for(
            lambda: any('"scf_plugins.server.access"' in line for line in list(lines)),
            10,
            "the access log's line",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        reader.join(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    served = records("".join(lines))
    loggers = {r["logger"] for r in served}
    assert {"uvicorn.error", "scf_plugins.server.access", "stderr"} <= loggers
    assert not [r for r in served if r.get("event") == "pass" and r["level"] != "debug"]
