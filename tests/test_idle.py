"""An idle engine sleeps: it wakes for a report another process stores (SQLite's data_version,
PostgreSQL's NOTIFY), for back-off work at its due time, and otherwise makes a bounded number
of store queries, counted over simulated time (the loops sleep on a simulated timer: time moves
only when every loop sleeps, straight to the next wake-up)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select, text

from scf_plugins.engine import continuous, retries, schedule
from scf_plugins.engine.loop import Engine
from scf_plugins.intake.reporting import Report, build_issue
from scf_plugins.store import migrate, signals
from scf_plugins.store.store import Store
from scf_plugins.store.tables import issues
from scf_plugins.testing import FakeRemote, Harness, wait_for

from .old_schemas import build

# Where simulated time starts: now, as the request types refreshed on the wall clock say.
START = datetime.now(UTC).replace(microsecond=0)
LOOPS = 3  # the submit loop, the poll loop, and the thread that ticks


class SimulatedTimer(continuous.Timer):
    """Time that moves only when all ``sleepers`` threads sleep on it, straight to the earliest
    wake-up among them, never past ``horizon`` (there everyone sleeps until released)."""

    def __init__(self, horizon: float, sleepers: int = LOOPS) -> None:
        self.now = 0.0
        self.horizon = horizon
        self.sleepers = sleepers
        self.settled = threading.Event()  # set once everyone sleeps at the horizon
        self._cond = threading.Condition()
        self._deadlines: dict[int, float] = {}

    def monotonic(self) -> float:
        return self.now

    def clock(self) -> datetime:
        """The engine's clock on this time."""
        return START + timedelta(seconds=self.now)

    def condition(self) -> threading.Condition:
        return self._cond  # one for all: a ring from any thread is seen by the time keeper

    def wait_for(
        self, cond: threading.Condition, ready: Callable[[], bool], seconds: float
    ) -> None:
        me = threading.get_ident()
        self._deadlines[me] = self.now + seconds
        try:
            while not ready() and self.now < self._deadlines[me]:
                nearest = min(self._deadlines.values())
                if len(self._deadlines) == self.sleepers and nearest > self.now:
                    if nearest > self.horizon:
                        self.settled.set()
                    else:
                        self.now = nearest
                        cond.notify_all()
                        continue
                cond.wait()
        finally:
            del self._deadlines[me]

    def pause(self, stop: threading.Event, seconds: float) -> bool:
        with self._cond:
            self.wait_for(self._cond, stop.is_set, seconds)
        return stop.is_set()

    def release(self) -> None:
        """Wake every sleeper to look at its condition (after ``stop`` is set)."""
        with self._cond:
            self._cond.notify_all()


@pytest.fixture
def running() -> Iterator[Callable[..., Engine]]:
    """Run engines continuously in a thread each: ``running(engine, **options)``; each is
    stopped (and its simulated timer released) when the test ends."""
    started: list[tuple[Engine, threading.Thread]] = []

    def run(engine: Engine, **options: Any) -> Engine:
        thread = threading.Thread(
            target=engine.run_continuously, args=(lambda kind, report: None,), kwargs=options
        )
        thread.start()
        started.append((engine, thread))
        return engine

    yield run
    for engine, thread in started:
        engine.request_stop()
        if isinstance(engine.timer, SimulatedTimer):
            engine.timer.release()
        thread.join(30)
        assert not thread.is_alive()


def other_process_reports(w: Harness) -> int:
    """Store a report through a store of its own, as another process (``scf report``, another
    server) would: nothing in this process is told. Returns its id."""
    other = Store.open(w.settings.organization.database)
    try:
        new = build_issue(
            Report(request_type="GRAFFITI", summary="Tag on the wall", lat=41.3, lng=-72.9),
            other.request_type("GRAFFITI"),
            "alpha",
        )
        return other.create_issue(new)
    finally:
        other.close()


def back_off(w: Harness, issue_id: int, until: datetime) -> None:
    """Make an Open issue wait until ``until``, as a failed attempt does."""
    with w.store().transaction() as conn:
        conn.execute(
            issues.update().where(issues.c.id == issue_id).values(attempts=1, next_attempt_at=until)
        )


def status(w: Harness, issue_id: int) -> str:
    got = w.store().get(issue_id)
    assert got is not None
    return got.issue.status.value


def test_a_report_stored_by_another_process_is_submitted_without_waiting(
    basic: Harness, running: Callable[..., Engine]
) -> None:
    """Nothing is due and the loops would sleep an hour: only the store's signal (a look at
    data_version on SQLite, a NOTIFY on PostgreSQL) can wake the engine."""
    basic.cli_ok("request-types", "--refresh")
    engine = running(basic.engine(), idle_every=3600.0)
    wait_for(lambda: engine.last_submit_at and engine.last_poll_at, 10, "the first passes")
    issue_id = other_process_reports(basic)
    wait_for(lambda: status(basic, issue_id) == "acknowledged", 20, "the report submitted")


def test_back_off_work_is_picked_up_at_its_time(
    basic: Harness, fake_host: tuple[Any, FakeRemote], running: Callable[..., Engine]
) -> None:
    """A create whose answer is lost waits out its back-off, and is looked up again exactly
    when it ends: the loop slept until then (the idle pass is an hour away)."""
    _, fake = fake_host
    basic.cli_ok("request-types", "--refresh")
    issue_id = basic.report("GRAFFITI")
    fake.drop_next_answer = True
    timer = SimulatedTimer(horizon=600.0)
    running(Engine(basic.settings, basic.host, basic.store(), timer.clock, timer=timer),
            idle_every=3600.0)  # fmt: skip
    assert timer.settled.wait(20), "the simulation never reached its horizon"
    with basic.store().read() as conn:
        row = conn.execute(select(issues).where(issues.c.id == issue_id)).one()
    assert row.status == "acknowledged"
    assert row.acknowledged_at == START + retries.backoff("ambiguous", 1)
    assert fake.calls.count(("submit", "alpha")) == 2


def test_an_idle_engine_makes_few_store_queries(
    basic: Harness, running: Callable[..., Engine]
) -> None:
    """Ten simulated minutes with nothing to do: a pass of each loop every ``IDLE_EVERY``
    seconds, and the schedule's reads after each, not claims twice a second (1,200 passes)."""
    basic.cli_ok("request-types", "--refresh")
    store = basic.store()
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    timer = SimulatedTimer(horizon=600.0)
    engine = Engine(basic.settings, basic.host, store, timer.clock, timer=timer)
    running(engine)
    assert timer.settled.wait(30), "the simulation never reached its horizon"
    passes = 2 * (1 + int(600 / continuous.IDLE_EVERY))
    claims = [s for s in statements if s.startswith("WITH candidates")]
    writes = [s for s in statements if s.startswith("BEGIN IMMEDIATE")]
    assert len(claims) <= 3 * passes  # the submit passes' claims: issues, comments, photos
    assert len(writes) <= 6 * passes
    assert len(statements) <= 40 * passes, len(statements)  # about 1,000 against 24,000


def test_the_schedule_reads_when_work_is_due(basic: Harness) -> None:
    """What the loops sleep until: nothing at first; a failed create's back-off end; and the
    next poll round's start, once the first has run."""
    basic.cli_ok("request-types", "--refresh")
    engine = basic.engine(continuous=True)
    engine.run_pass()
    assert engine.next_submit_at() is None
    poll_at = engine.next_poll_at()
    interval = basic.settings.integrations["alpha"].poll_interval_seconds
    assert poll_at == basic.clock() + timedelta(seconds=interval)
    issue_id = basic.report("GRAFFITI")
    assert engine.next_submit_at() == schedule.DUE  # a new report: now
    backoff = retries.backoff("transient", 1)
    back_off(basic, issue_id, basic.clock() + backoff)
    assert engine.next_submit_at() == basic.clock() + backoff


WITH_RETENTION = """
[email]
host = "127.0.0.1"
port = 9
security = "none"
from = "Testville 311 <no-reply@testville.gov>"

[server]
public_url = "https://311.testville.gov"

[images]
purge_after_days = 30

[privacy]
purge_contact_after_days = 60
"""


def test_the_schedule_reads_only_the_rows_still_in_play(
    harness: Callable[..., Harness], basic_config: str, fake_host: tuple[Any, FakeRemote]
) -> None:
    """Every query of the schedule, with emails and both purges set, reads through an index
    (SQLite's plan): nothing scans the issues, comments, photos or emails ever stored, and the
    outboxes are read from their own partial indexes."""
    w = harness(basic_config + WITH_RETENTION, host=fake_host[0])
    store = w.store()
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plans")
    engine = w.engine(continuous=True)
    engine.run_pass()
    seen: list[tuple[str, Any]] = []
    listen = lambda _c, _cur, statement, params, *_: seen.append((statement, params))  # noqa: E731
    event.listen(store.engine, "before_cursor_execute", listen)
    engine.next_submit_at()
    engine.next_poll_at()
    event.remove(store.engine, "before_cursor_execute", listen)
    plans = {}
    with store.read() as conn:
        for statement, params in seen:
            if statement.startswith("SELECT"):
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
                plans[statement] = [str(row[3]) for row in rows]
    assert len(plans) >= 10
    steps = [step for plan in plans.values() for step in plan]
    scans = [s for s in steps if s.startswith("SCAN") and s != "SCAN circuits"]
    assert not scans, plans
    assert "SEARCH comments USING INDEX ix_comments_outbox (issue_id>?)" in steps
    assert "SEARCH attachments USING INDEX ix_attachments_outbox (issue_id>?)" in steps
    assert "SEARCH notifications USING INDEX ix_notifications_waiting" in steps
    assert "SEARCH issues USING INDEX ix_issues_contact_due (archived_at>?)" in steps


def test_postgresql_notifies_the_work_it_stores(basic: Harness) -> None:
    """On PostgreSQL: a new report, a retry, a worker giving back a claim and a local comment
    are told on ``scf_work`` when their transaction commits; a back-off, a claim and a message
    the poll wrote are not. (A session hears its own notices as its
    commit returns, so one connection tells what each transaction sent.)"""
    store = basic.store()
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's triggers (SCF_TEST_DATABASE_URL names none)")
    basic.cli_ok("request-types", "--refresh")
    issue_id = basic.report("GRAFFITI")
    pooled = store.engine.raw_connection()
    try:
        conn = pooled.driver_connection
        assert conn is not None
        conn.autocommit = True
        conn.execute(f"LISTEN {signals.CHANNEL}")

        def told(statement: str, *params: object) -> bool:
            with conn.transaction():
                conn.execute(statement, params)
            return bool(list(conn.notifies(timeout=0.0)))

        later = "UPDATE issues SET next_attempt_at = now() + interval '1 hour' WHERE id = %s"
        assert not told(later, issue_id)  # a back-off
        assert told("UPDATE issues SET next_attempt_at = NULL WHERE id = %s", issue_id)  # a retry
        claim = "UPDATE issues SET lease_owner = 'w', lease_until = now() WHERE id = %s"
        assert not told(claim, issue_id)
        assert told("UPDATE issues SET lease_owner = NULL, lease_until = NULL WHERE id = %s",
                    issue_id)  # fmt: skip
        comment = (
            "INSERT INTO comments (issue_id, author, text, kind, created_at, push_attempted, "
            "attempts) VALUES (%s, 'a', 't', %s, now(), false, 0)"
        )
        assert told(comment, issue_id, "comment")  # a local comment, to push
        assert not told(comment, issue_id, "system")  # a message the poll wrote
        assert told(
            "INSERT INTO issues (request_type, integration, status, summary, description, lat, "
            "lng, type_ref, created_at, updated_at, attempts, submit_attempted, held) VALUES "
            "('GRAFFITI', 'alpha', 'open', 's', '', 1, 2, '102', now(), now(), 0, false, false)"
        )
    finally:
        pooled.invalidate()


def test_a_listener_connects_again_and_asks_for_a_look(basic: Harness) -> None:
    """On PostgreSQL: the listening connection dies; the listener connects again and asks
    the loops to look (a report may have come meanwhile), then hears the next report."""
    store = basic.store()
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's LISTEN (SCF_TEST_DATABASE_URL names none)")
    basic.cli_ok("request-types", "--refresh")
    heard: list[None] = []
    stop = threading.Event()
    listening = signals.listener(store.engine, lambda: heard.append(None), stop)
    assert listening is not None
    try:
        wait_for(lambda: heard, 10, "the look a listener asks for when it starts")
        heard.clear()
        with store.transaction() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")
            )  # fmt: skip
        wait_for(lambda: heard, 20, "a look after the listener connected again")
        wait_for(listening.listening.is_set, 10, "listening again")
        heard.clear()
        basic.report("GRAFFITI")
        wait_for(lambda: heard, 10, "the notice of a new report")
    finally:
        stop.set()
        listening.thread.join(10)


def test_an_upgraded_postgresql_store_has_the_triggers_a_new_one_has(scf_database: str) -> None:
    """Schema 13's frozen triggers are today's: a store upgraded from schema 7 gets the same
    definitions as a store made new."""
    if not scf_database.startswith("postgresql"):
        pytest.skip("PostgreSQL's triggers (SCF_TEST_DATABASE_URL names none)")

    def triggers() -> dict[str, str]:
        engine = create_engine(scf_database)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                     "WHERE tgname LIKE 'scf_work%'")
            )  # fmt: skip
            found = {str(name): str(definition) for name, definition in rows}
        engine.dispose()
        return found

    Store.open(scf_database).close()
    made = triggers()
    assert len(made) == len(signals.TRIGGERS) - 1  # all but the function
    engine = create_engine(scf_database)
    with engine.begin() as conn:
        migrate.drop_all(conn)
        build(conn, "schema_7")
    engine.dispose()
    migrate.upgrade_store(scf_database)
    assert triggers() == made


def test_a_sqlite_store_is_seen_to_change_by_another_connection(tmp_path: Any) -> None:
    """What the SQLite check is: data_version moves with another connection's commit, not with
    a write transaction that changed nothing."""
    store = Store.open(f"sqlite:///{tmp_path / 'scf.db'}")
    try:
        changes = signals.changes(store.engine)
        assert changes is not None
        assert changes.look()  # the first look: nothing known yet
        assert not changes.look()
        with store.transaction() as conn:
            conn.execute(text("UPDATE issues SET summary = 'x' WHERE id = 0"))
        assert not changes.look()
        with store.transaction() as conn:
            conn.execute(text("INSERT INTO scf_meta (key, value) VALUES ('k', 'v')"))
        assert changes.look()
        changes.close()
    finally:
        store.close()
