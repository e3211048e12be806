"""What runs per status, scrape, pass, wake-up, heartbeat and start reads the work that can
still change, never the history: every statement's SQLite plan searches an index, or walks one
of the partial indexes of live rows (a plan, not a timing); and the tallies the database keeps
of the history (issues archived, photos purged) always equal the counts they stand for, on
SQLite and on PostgreSQL, in a new store and in one upgraded to schema 12."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from PIL import Image
from sqlalchemy import event, func, select, text, update

from scf_plugins.engine import leases, retention, schedule
from scf_plugins.engine.loop import LEASED
from scf_plugins.ops import counts, metrics, status
from scf_plugins.plugins import PluginHost
from scf_plugins.store import migrate
from scf_plugins.store.connect import connect
from scf_plugins.store.store import Store
from scf_plugins.store.tables import attachments, issues, metadata
from scf_plugins.testing import FakeRemote, FakeStaff, Harness
from scf_plugins.testing.smtp_sink import SmtpSink

CONFIG = """
[organization]
name = "City of Testville"
archive_after_days = 14

[integrations.alpha]
plugin = "fake-a"
environment = "test"
request_types = ["*"]
closed_statuses = ["CLOSED"]

[integrations.alpha.test]
url = "http://127.0.0.1:9/Cityworks/Services/AMS"
user = "scf-int"

[email]
host = "127.0.0.1"
port = {port}
security = "none"
from = "Testville 311 <no-reply@testville.gov>"

[server]
public_url = "http://127.0.0.1:8311"

[images]
purge_after_days = 30

[privacy]
purge_contact_after_days = 60
"""
# The tables that grow with the history: a plan may walk one only through a partial index.
HISTORY = {"issues", "comments", "attachments", "attachment_sends", "notifications", "answers",
           "announced", "audit"}  # fmt: skip
# The partial indexes: each holds the rows still in play (held, leased, waiting, kept).
PARTIAL = {
    index.name
    for table in metadata.tables.values()
    for index in table.indexes
    if index.dialect_options["sqlite"]["where"] is not None
}
SCAN = re.compile(r"SCAN (\w+)(?: AS \w+)?(?: USING (?:COVERING )?INDEX (\w+))?")
DEAD = f"{leases.machine_id()}:4194305:dead00"  # above Linux's pid_max: never alive
Captured = list[tuple[str, Any]]


@pytest.fixture
def town(
    harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote]
) -> Iterator[Harness]:
    """A host on the fake plugin with emails (to a sink), photo and contact purges configured
    (so an idle pass runs every step), which has lived a little: issues acknowledged,
    closed, archived, with photos and leases."""
    host, remote = fake_host
    with SmtpSink() as sink:
        yield lived(harness(CONFIG.format(port=sink.port), host=host), remote)


def lived(town: Harness, remote: FakeRemote) -> Harness:
    """Four reports with a photo each: all acknowledged, two closed and archived, one held,
    one leased by a dead worker on this machine."""
    image = Path(town.folder) / "hole.jpg"
    picture = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 0, 0)).save(picture, "JPEG")
    image.write_bytes(picture.getvalue())
    ids = [town.report("POTHOLE", "1=No", "2=jane@example.org", email="jane@example.org",
                       image=[str(image)]) for _ in range(4)]  # fmt: skip
    town.sync()
    staff = FakeStaff(remote)
    for issue_id in ids[:2]:
        staff.close(str(town.remote_id(issue_id)), "CLOSED")
    town.sync()
    town.clock.advance(days=20)
    town.sync()  # archives the two closed
    with town.store().transaction() as conn:
        conn.execute(update(issues).where(issues.c.id == ids[2]).values(held=True))
        conn.execute(
            update(issues)
            .where(issues.c.id == ids[3])
            .values(lease_owner=DEAD, lease_until=town.clock.now + timedelta(hours=1))
        )
    return town


@pytest.fixture
def sqlite_only(town: Harness) -> None:
    """Plans are SQLite's (PostgreSQL's depend on its statistics)."""
    if town.store().engine.dialect.name != "sqlite":
        pytest.skip("query plans are checked on SQLite")


def captured(store: Store, action: Callable[[], object]) -> Captured:
    """Every statement ``action`` runs on ``store``, with its parameters."""
    seen: Captured = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               many: bool) -> None:  # fmt: skip
        seen.append((statement, parameters[0] if many else parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def plans(store: Store, statements: Captured) -> Iterator[tuple[str, list[str]]]:
    """Each statement (no transaction control) with the lines of its SQLite plan."""
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            if statement.split()[0].upper() in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                                 "RELEASE", "PRAGMA"}:  # fmt: skip
                continue
            rows = cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            yield " ".join(statement.split()), [str(row[-1]) for row in rows]
    finally:
        raw.close()


def walks_history(line: str) -> bool:
    """A plan line that reads a history table whole (or a whole index of it that is not
    one of the partial indexes of live rows)."""
    found = SCAN.match(line)
    return bool(found and found[1] in HISTORY and found[2] not in PARTIAL)


def everything(town: Harness) -> dict[str, Callable[[], object]]:
    """What runs per status, scrape, pass, wake-up, heartbeat and start."""
    store, settings, now = town.store(), town.settings, town.clock.now

    def take_over() -> None:
        with store.transaction() as conn:
            leases.take_over_dead(conn, LEASED, leases.worker_id(), now)

    def heartbeat() -> None:
        with store.transaction() as conn:
            for table in LEASED:
                leases.renew(conn, table, "host:boot:1:me", now + timedelta(minutes=1))

    def wake() -> None:
        integrations = list(settings.integrations.values())
        with store.read() as conn:
            submitting = [schedule.submitting(town.host, i) for i in integrations]
            schedule.submit_due(conn, submitting, settings, {})
            schedule.poll_due(conn, integrations, settings, now, gap={}, paused={},
                              types_waits={})  # fmt: skip

    return {
        "status": lambda: status.gather(settings, store, now),
        "wake": wake,  # a sleeping engine's look at when its work is next due
        "scrape": lambda: metrics.prometheus_text(settings, store, now),
        "start": take_over,  # before the idle pass: it would take the dead worker's claims
        "pass": town.sync,
        "heartbeat": heartbeat,
    }


@pytest.mark.usefixtures("sqlite_only")
def test_nothing_run_per_status_scrape_pass_wake_heartbeat_or_start_walks_the_history(
    town: Harness,
) -> None:
    store = town.store()
    for name, action in everything(town).items():
        statements = captured(store, action)
        assert statements, name
        for statement, lines in plans(store, statements):
            walked = [line for line in lines if walks_history(line)]
            assert not walked, f"{name}: {statement}\n  " + "\n  ".join(lines)


@pytest.mark.usefixtures("sqlite_only")
def test_the_hot_queries_read_their_indexes(town: Harness) -> None:
    store = town.store()
    runs = everything(town)
    seen = {name: dict(plans(store, captured(store, action))) for name, action in runs.items()}

    def plan_of(name: str, pattern: str) -> str:
        found = [" | ".join(lines) for sql, lines in seen[name].items() if re.search(pattern, sql)]
        assert found, f"{name}: no statement matches {pattern!r}"
        return " | ".join(found)

    # status and scrape: held, the live counts, the link groups, the photos kept
    for name in ("status", "scrape"):
        assert "ix_issues_held" in plan_of(name, r"WHERE issues\.held IS 1 GROUP BY")
        assert "ix_issues_status_integration (status=?)" in plan_of(
            name, r"SELECT issues\.integration, issues\.status, count"
        )
        assert "ix_issues_status_integration (status=?" in plan_of(
            name, r"issues\.link_endpoint, issues\.status, count"
        )
        assert "ix_attachments_kept" in plan_of(name, r"sum\(attachments\.size\)")
    # the start's take-over and the heartbeat: the leased rows of each table
    for table in ("issues", "comments", "attachments", "notifications"):
        assert f"ix_{table}_leased" in plan_of("start", rf"SELECT DISTINCT {table}\.lease_owner")
        assert f"ix_{table}_leased" in plan_of("heartbeat", rf"{table} SET lease_until=")
    # the pass: the photos due to be purged, from the kept ones
    assert "ix_attachments_kept" in plan_of("pass", r"SELECT attachments\.id FROM attachments JOIN")
    # the pass: the comments to push, from the outbox, each one's issue by its id
    claim = plan_of("pass", r"WITH candidates AS \(SELECT comments\.id")
    assert "ix_comments_outbox" in claim and "issues USING INTEGER PRIMARY KEY" in claim


def tallied(store: Store) -> tuple[dict[tuple[str, str], int], dict[str, float]]:
    """The counts status shows (from the tallies) and the same counted over every row."""
    with store.read() as conn:
        from_tallies = counts.by_status(conn)
        counted = counts._counted_by_status(conn)
        photos = retention.stored(conn)
        purged = conn.execute(select(func.count(attachments.c.purged_at))).scalar()
    assert from_tallies == counted
    assert photos["purged"] == purged
    return from_tallies, photos


def test_the_tallies_equal_the_counts_whatever_changes_the_rows(town: Harness) -> None:
    store = town.store()
    by_status, photos = tallied(store)
    assert by_status[("alpha", "archived")] == 2 and photos["purged"] == 0
    town.clock.advance(days=31)
    town.sync()  # the archived issues' photos are purged
    assert tallied(store)[1]["purged"] == 2
    with store.transaction() as conn:  # rows changed by hand, as a person or a script might
        archived = list(conn.execute(select(issues.c.id).where(issues.c.status == "archived"))
                        .scalars())  # fmt: skip
        conn.execute(update(issues).where(issues.c.id == archived[0]).values(integration="beta"))
        conn.execute(update(issues).where(issues.c.id == archived[1]).values(status="closed"))
        conn.execute(update(issues).where(issues.c.status == "acknowledged")
                     .values(status="archived"))  # fmt: skip
        conn.execute(update(attachments).where(attachments.c.issue_id == archived[0])
                     .values(purged_at=None))  # fmt: skip
    by_status, photos = tallied(store)
    assert by_status[("beta", "archived")] == 1 and photos["purged"] == 1
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM attachments WHERE purged_at IS NOT NULL"))
        conn.execute(update(issues).values(status="archived", integration=None))
    assert tallied(store)[0] == {}


def test_schema_12_tallies_the_history_a_store_already_had(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'scf.db'}")
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0011")
        conn.execute(
            text(
                "INSERT INTO issues (id, request_type, integration, status, summary, "
                "description, lat, lng, type_ref, created_at, updated_at, attempts, "
                "submit_attempted, held, generation, notify_off) VALUES "
                "(1, 'P', 'alpha', 'archived', 's', '', 0, 0, '', :t, :t, 0, 0, 0, 0, 0), "
                "(2, 'P', 'alpha', 'archived', 's', '', 0, 0, '', :t, :t, 0, 0, 0, 0, 0), "
                "(3, 'P', 'beta', 'archived', 's', '', 0, 0, '', :t, :t, 0, 0, 0, 0, 0), "
                "(4, 'P', 'beta', 'open', 's', '', 0, 0, '', :t, :t, 0, 0, 0, 0, 0)"
            ),
            {"t": "2025-01-01 00:00:00.000000"},
        )
        conn.execute(
            text(
                "INSERT INTO attachments (issue_id, filename, content_type, size, width, "
                "height, path_token, created_at, push_attempted, attempts, purged_at) VALUES "
                "(1, 'a.jpg', 'image/jpeg', 9, 1, 1, 'a', :t, 0, 0, :t), "
                "(2, 'b.jpg', 'image/jpeg', 9, 1, 1, 'b', :t, 0, 0, NULL)"
            ),
            {"t": "2025-01-01 00:00:00.000000"},
        )
    engine.dispose()
    store = Store.open(f"sqlite:///{tmp_path / 'scf.db'}")
    try:
        by_status, photos = tallied(store)
        assert by_status == {("alpha", "archived"): 2, ("beta", "archived"): 1, ("beta", "open"): 1}
        assert (photos["stored"], photos["purged"]) == (1, 1)
        with store.transaction() as conn:  # and the triggers keep them from now on
            conn.execute(update(issues).where(issues.c.id == 4).values(status="archived"))
        assert tallied(store)[0][("beta", "archived")] == 2
    finally:
        store.close()


def _schema_objects(store: Store) -> dict[str, str]:
    """The store's triggers and partial indexes by name, with their SQL (spaces collapsed)."""
    with store.read() as conn:
        rows = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "OR (type = 'index' AND sql LIKE '% WHERE %')"
            )
        ).all()
    return {name: " ".join(sql.split()) for name, sql in rows}


def test_a_new_store_and_an_upgraded_one_have_the_same_triggers_and_partial_indexes(
    tmp_path: Path,
) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'chain.db'}")
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0011")
    engine.dispose()
    chained = Store.open(f"sqlite:///{tmp_path / 'chain.db'}")  # upgraded to the head
    fresh = Store.open(f"sqlite:///{tmp_path / 'fresh.db'}")  # created at the head
    try:
        objects = _schema_objects(fresh)
        assert {"tally_issues_update", "ix_issues_held", "ix_attachments_kept"} <= set(objects)
        assert _schema_objects(chained) == objects
    finally:
        chained.close()
        fresh.close()
