"""Config changes without a restart: ``scf sync`` and ``scf serve`` notice a changed config file
(and read it on SIGHUP), check it, and use it from the next pass; a config that does not pass
the checks is not used, with one warning naming its problems."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from scf_plugins.config.watch import ConfigWatch
from scf_plugins.plugins import build_manager
from scf_plugins.server.running import Serving, build
from scf_plugins.testing import FakeRemote, Harness, wait_for
from scf_plugins.timeutil import utcnow

SCF = str(Path(sys.executable).parent / "scf")
CONFIG = """
[organization]
name = "City of Testville"

[integrations.alpha]
plugin = "fake-a"
environment = "test"
request_types = ["*"]
closed_statuses = ["CLOSED"]
cancel_statuses = ["CANCEL"]
poll_interval_seconds = 1

[integrations.alpha.test]
url = "http://127.0.0.1:9/alpha"
user = "scf-int"
"""
WITH_COMPLETE = CONFIG.replace('["CLOSED"]', '["CLOSED", "COMPLETE"]')
BROKEN = CONFIG.replace("poll_interval_seconds = 1", "poll_interval_seconds = -5")


@pytest.fixture
def alpha(harness: Callable[..., Harness]) -> tuple[Harness, FakeRemote]:
    """One integration on the in-memory remote, closed only by ``CLOSED`` for now."""
    host = build_manager(load_entry_points=False)
    fake = FakeRemote("fake-a")
    host.register(fake, "fake-a")
    return harness(CONFIG, host=host, clock=utcnow), fake


def completed(w: Harness, fake: FakeRemote) -> int:
    """An acknowledged issue whose remote request staff then completed (``COMPLETE``)."""
    issue_id = w.report("GRAFFITI", summary="a tagged wall")
    assert w.sync().acknowledged == 1
    fake.remote[str(w.show(issue_id)["remote_id"])]["status"] = "COMPLETE"
    return issue_id


def status_of(w: Harness, issue_id: int) -> str:
    """The issue's local status."""
    record = w.store().get(issue_id)
    assert record is not None
    return record.issue.status.value


def rewrite(path: Path, text: str) -> None:
    """Write ``text`` in place (a new size or time, as an editor saving it)."""
    path.write_text(text, encoding="utf-8")


# -- the watch -------------------------------------------------------------------------------


def test_a_change_is_read_once_the_file_settles_and_a_touch_is_not_a_change(
    alpha: tuple[Harness, FakeRemote], caplog: pytest.LogCaptureFixture
) -> None:
    w, _ = alpha
    caplog.set_level(logging.WARNING, logger="scf_plugins")
    watch = ConfigWatch(w.settings)
    assert watch.check() is None
    os.utime(w.path)  # touched: same content
    assert watch.check() is None and watch.check() is None
    w.write_config(WITH_COMPLETE)
    assert watch.check() is None  # it may still be being written
    fresh = watch.check()
    assert fresh is not None and fresh.integrations["alpha"].closed_statuses == (
        "CLOSED",
        "COMPLETE",
    )
    assert watch.check() is None
    [line] = [r.getMessage() for r in caplog.records]
    assert (
        line
        == f"config {w.path} changed on disk: integrations.alpha changed, used from the next pass"
    )


def test_an_invalid_config_is_kept_out_with_one_warning_naming_its_problems(
    alpha: tuple[Harness, FakeRemote], caplog: pytest.LogCaptureFixture
) -> None:
    w, _ = alpha
    caplog.set_level(logging.WARNING, logger="scf_plugins")
    watch = ConfigWatch(w.settings)
    w.write_config(BROKEN)
    assert watch.check() is None and watch.check() is None and watch.check() is None
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"config changed on disk is not used: {w.path}: ")
    assert "integrations.alpha.poll_interval_seconds" in line
    assert line.endswith("; the old config stays in use")
    assert watch.current.integrations["alpha"].poll_interval_seconds == 1
    rewrite(w.path, "[organization\n")  # not TOML at all: said too
    watch.check()
    watch.check()
    assert "not valid TOML" in caplog.records[-1].getMessage()


def test_sighup_reads_it_whatever_changed_and_the_database_needs_a_restart(
    alpha: tuple[Harness, FakeRemote], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    w, _ = alpha
    caplog.set_level(logging.WARNING, logger="scf_plugins")
    watch = ConfigWatch(w.settings)
    watch.ask()
    fresh = watch.check()  # asked: read at once, though nothing changed
    assert fresh is not None
    assert caplog.records[-1].getMessage() == f"config {w.path} read on SIGHUP: no setting changed"
    database = w.settings.organization.database
    other = f"sqlite:///{tmp_path / 'other.db'}"
    w.write_config(WITH_COMPLETE.replace("[organization]", f'[organization]\ndatabase = "{other}"'))
    watch.ask()
    fresh = watch.check()
    assert fresh is not None and fresh.organization.database == database
    assert fresh.integrations["alpha"].closed_statuses == ("CLOSED", "COMPLETE")
    said = caplog.records[-1].getMessage()
    assert "integrations.alpha changed, used from the next pass" in said
    assert "organization.database changed: that needs a restart (the old database stays)" in said


# -- the loops -------------------------------------------------------------------------------


def test_a_running_engine_closes_with_a_status_added_to_the_config(
    alpha: tuple[Harness, FakeRemote],
) -> None:
    """The filed case: COMPLETE added to closed_statuses is used by the running loop."""
    w, fake = alpha
    issue_id = completed(w, fake)
    engine = w.engine()
    watch = ConfigWatch(w.settings)

    def reload() -> None:
        fresh = watch.check()
        if fresh is not None:
            engine.use(fresh)

    worker = threading.Thread(
        target=engine.run_continuously,
        args=(lambda kind, report: None,),
        kwargs={"between": reload, "submit_every": 0.05, "poll_check_every": 0.05},
    )
    worker.start()
    try:
        polls = fake.calls.count(("poll", "alpha"))
        wait_for(lambda: fake.calls.count(("poll", "alpha")) > polls, 10, "a poll")
        assert status_of(w, issue_id) == "acknowledged"  # COMPLETE means nothing yet
        w.write_config(WITH_COMPLETE)
        wait_for(lambda: status_of(w, issue_id) == "closed", 10, "closed under the new config")
    finally:
        engine.request_stop()
        worker.join(20)
    assert not worker.is_alive()


def test_scf_serve_uses_a_changed_config_in_its_engine_and_its_door(
    alpha: tuple[Harness, FakeRemote],
) -> None:
    w, fake = alpha
    issue_id = completed(w, fake)
    serving: Serving = build(w.settings, w.host, w.store(), port=0, sync=True)
    thread = threading.Thread(target=serving.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: serving.server.started, 10, "scf serve to start")
        w.write_config(
            WITH_COMPLETE.replace(
                "[organization]", "[server]\nmax_page_size = 7\n\n[organization]"
            ),
        )
        serving.reload()  # as SIGHUP does: read at the next pass, not once it settles
        wait_for(lambda: status_of(w, issue_id) == "closed", 10, "closed under the new config")
        assert serving.context is not None and serving.engine is not None
        assert serving.context.settings is serving.engine.settings
        assert serving.context.open311.settings.server.max_page_size == 7
    finally:
        serving.server.should_exit = True
        thread.join(30)
    assert not thread.is_alive()


# -- `scf sync` in a process of its own -------------------------------------------------------


@pytest.fixture
def scf_sync(tmp_path: Path) -> Iterator[Callable[[Harness], subprocess.Popen[str]]]:
    """Start ``scf sync`` (the installed command, its plugins) on a harness's config."""
    started: list[subprocess.Popen[str]] = []

    def start(w: Harness) -> subprocess.Popen[str]:
        process = subprocess.Popen(  # output to files: a full pipe would stop the process
            [SCF, "--config", str(w.path), "sync", "--interval", "1"],
            stdout=(tmp_path / "sync.out").open("w"),
            stderr=(tmp_path / "sync.err").open("w"),
            text=True,
            env=os.environ.copy(),
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def without_complete(w: Harness, placeholder: str = "COMPLETE") -> str:
    """The world's config with COMPLETE taken out of ``closed_statuses`` (``placeholder``, a
    status no request has, in its place); returns the original text."""
    text = w.path.read_text(encoding="utf-8")
    old = 'closed_statuses = ["CLOSED", "COMPLETE"]'
    assert old in text
    w.path.write_text(text.replace(old, f'closed_statuses = ["CLOSED", "{placeholder}"]'))
    return text


def closed_remotely(w: Harness, process: subprocess.Popen[str]) -> int:
    """An issue acknowledged by the running ``scf sync``, then COMPLETE in Cityworks, and
    polled since without being closed."""
    issue_id = w.report()
    wait_for(lambda: w.store().get(issue_id).issue.status.value == "acknowledged", 30,  # type: ignore[union-attr]
             "acknowledged by scf sync")  # fmt: skip
    w.emulator.state.staff("close", w.remote_id(issue_id), status="COMPLETE")
    counts = w.emulator.state.counts
    polled = counts["ams/servicerequest/byids"]
    wait_for(lambda: counts["ams/servicerequest/byids"] > polled, 30, "a poll since")
    assert process.poll() is None, "scf sync ended"
    assert w.show(issue_id)["status"] == "acknowledged"
    return issue_id


@pytest.mark.slow  # a subprocess
def test_scf_sync_picks_up_a_changed_config_and_keeps_an_invalid_one_out(
    world: Callable[..., Harness], scf_sync: Callable[[Harness], subprocess.Popen[str]],
    tmp_path: Path,
) -> None:  # fmt: skip
    w = world()
    original = without_complete(w, "DONE")
    process = scf_sync(w)
    issue_id = closed_remotely(w, process)
    store = w.store()  # the harness reads the config for each: kept while it is broken
    err = tmp_path / "sync.err"
    rewrite(w.path, original.replace("max_concurrency = 4", "max_concurrency = 0"))
    wait_for(lambda: "the old config stays in use" in err.read_text(), 30, "the refusal")
    counts = w.emulator.state.counts
    polled = counts["ams/servicerequest/byids"]
    wait_for(lambda: counts["ams/servicerequest/byids"] > polled, 30, "a poll, on the old config")
    refused = [line for line in err.read_text().splitlines() if "is not used" in line]
    assert len(refused) == 1 and "max_concurrency: 0 is out of range" in refused[0]
    record = store.get(issue_id)
    assert record is not None and record.issue.status.value == "acknowledged"
    rewrite(w.path, original)
    wait_for(lambda: w.show(issue_id)["status"] == "closed", 30, "closed under the new config")
    assert "integrations.cityworks changed, used from the next pass" in err.read_text()
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0


@pytest.mark.slow  # a subprocess
def test_scf_sync_reads_the_config_on_sighup(
    world: Callable[..., Harness], scf_sync: Callable[[Harness], subprocess.Popen[str]],
    tmp_path: Path,
) -> None:  # fmt: skip
    """A change the file's identity does not show (same size, inode and time): only SIGHUP
    reads it."""
    w = world()
    original = without_complete(w, "NOTUSED1")  # as long as COMPLETE: the same size
    process = scf_sync(w)
    issue_id = closed_remotely(w, process)
    before = os.stat(w.path)
    with w.path.open("r+", encoding="utf-8") as fh:  # in place: the same inode
        fh.write(original)
    os.utime(w.path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(w.path).st_size == before.st_size
    counts = w.emulator.state.counts
    polled = counts["ams/servicerequest/byids"]
    wait_for(lambda: counts["ams/servicerequest/byids"] >= polled + 2, 30, "two more polls")
    assert w.show(issue_id)["status"] == "acknowledged"  # unseen without SIGHUP
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: w.show(issue_id)["status"] == "closed", 30, "closed after SIGHUP")
    assert "read on SIGHUP: integrations.cityworks changed" in (tmp_path / "sync.err").read_text()
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0


@pytest.mark.slow  # a subprocess
def test_scf_serve_reads_the_config_on_sighup_and_healthz_follows(
    world: Callable[..., Harness], tmp_path: Path
) -> None:
    w = world()
    assert w.cli("request-types", "--refresh").exit_code == 0
    err = tmp_path / "serve.err"
    process = subprocess.Popen(
        [SCF, "--config", str(w.path), "serve", "--port", "0"],
        stdout=(tmp_path / "serve.out").open("w"),
        stderr=err.open("w"),
        text=True,
        env=os.environ.copy(),
    )
    try:
        wait_for(lambda: "serving Open311 at" in err.read_text(), 30, "scf serve listening")
        line = next(x for x in err.read_text().splitlines() if "serving Open311 at" in x)
        base = line.split(" at ", 1)[1].split("/open311")[0]
        text = w.path.read_text(encoding="utf-8")
        w.path.write_text(text + "\n[server]\nstale_after_intervals = 7\n", encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "read on SIGHUP: server changed" in err.read_text(), 30, "the reload")

        def limit() -> float:
            body = requests.get(f"{base}/healthz", timeout=10).json()
            return float(body["loops"]["poll"]["stale_after_seconds"])

        wait_for(lambda: limit() == 7 * 60, 10, "healthz judging by the new multiple")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
