"""What the door does per request, counted rather than timed: an API key read from the store
once a second at most (a revocation here forgets it at once, one elsewhere within the second,
a rotated-out key never past its grace), a request read with one statement, statements built
once, and a report checked on the event loop unless its service area is a detailed one."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import event, update

from scf_plugins.plugins import PluginHost
from scf_plugins.server import apikeys, records
from scf_plugins.server.open311 import QUICK_AREA_POINTS, Open311
from scf_plugins.store.store import Store
from scf_plugins.store.tables import api_keys
from scf_plugins.testing import Door, FakeRemote, Harness

from .conftest import BASIC
from .served import SERVER

REPORT = {
    "service_code": "POTHOLE",
    "lat": "41.3083",
    "long": "-72.9279",
    "description": "Deep pothole by the school gate",
    "attribute[1]": "12",
    "attribute[2]": "resident@example.org",
}


class Statements:
    """The SQL statements a store runs (not the BEGINs: those go to the driver directly)."""

    def __init__(self, store: Store) -> None:
        self.seen: list[str] = []
        self.store = store
        event.listen(store.engine, "before_cursor_execute", self._record)

    def _record(self, conn: object, cursor: object, statement: str, *rest: object) -> None:
        self.seen.append(statement)

    def reading(self, table: str) -> list[str]:
        """The SELECTs seen that read ``table``."""
        return [s for s in self.seen if s.lstrip().startswith("SELECT") and f"FROM {table}" in s]

    def close(self) -> None:
        """Stop counting."""
        event.remove(self.store.engine, "before_cursor_execute", self._record)


@pytest.fixture
def statements(door: Door) -> Iterator[Statements]:
    """The door's store's statements, from now on."""
    counted = Statements(door.store)
    yield counted
    counted.close()


@pytest.fixture(autouse=True)
def _forget_keys() -> Iterator[None]:
    apikeys.forget_known()
    yield
    apikeys.forget_known()


def test_a_client_s_reports_read_its_key_once_while_it_is_fresh(
    door: Door, statements: Statements
) -> None:
    for _ in range(3):
        assert door.post("json", **REPORT).status_code == 200
    assert len(statements.reading("api_keys")) == 1


def test_a_key_revoked_in_this_process_is_refused_at_once(door: Door) -> None:
    assert door.post("json", **REPORT).status_code == 200  # the key is remembered now
    apikeys.revoke(door.store, "fixmystreet", actor="test")
    assert door.post("json", **REPORT).status_code == 403


def test_a_key_revoked_elsewhere_is_refused_once_its_second_is_over(
    basic: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = basic.store()
    key = apikeys.create(store, "fixmystreet", actor="test")
    clock = SimpleNamespace(monotonic=lambda: 100.0)
    monkeypatch.setattr(apikeys, "time", clock)
    assert apikeys.known_owner(store, key) is None  # never looked up yet
    assert apikeys.checked_owner(store, key) == "fixmystreet"
    other = Store.open(basic.settings.organization.database)  # another process's store
    try:
        with other.transaction() as conn:
            conn.execute(update(api_keys).values(revoked_at=datetime.now(UTC)))
    finally:
        other.close()
    assert apikeys.known_owner(store, key) == "fixmystreet"  # within its second
    clock.monotonic = lambda: 100.0 + apikeys.KEY_FRESH
    assert apikeys.known_owner(store, key) is None
    assert apikeys.checked_owner(store, key) is None


def test_a_remembered_rotated_out_key_stops_at_the_end_of_its_grace(
    basic: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = basic.store()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(apikeys, "time", SimpleNamespace(monotonic=lambda: 100.0))
    with freeze_time(start) as clock:
        old = apikeys.create(store, "fixmystreet", actor="test")
        new = apikeys.rotate(store, "fixmystreet", timedelta(hours=1), actor="test").key
        assert apikeys.checked_owner(store, old) == apikeys.checked_owner(store, new)
        clock.move_to(start + timedelta(minutes=59))
        assert apikeys.known_owner(store, old) == "fixmystreet"
        clock.move_to(start + timedelta(hours=1))
        assert apikeys.known_owner(store, old) is None  # the monotonic second is not over
        assert apikeys.known_owner(store, new) == "fixmystreet"


def test_a_wrong_key_is_never_remembered(door: Door, statements: Statements) -> None:
    for _ in range(2):
        assert door.post("json", key="scf_wrong", **REPORT).status_code == 403
    assert len(statements.reading("api_keys")) == 2


def test_one_request_is_read_with_one_statement(door: Door, statements: Statements) -> None:
    answer = door.post("json", **REPORT)
    issue_id = answer.json()[0]["service_request_id"]
    statements.seen.clear()
    got = door.get(f"/open311/v2/requests/{issue_id}.json")
    assert got.status_code == 200 and got.json()[0]["service_request_id"] == issue_id
    assert len(statements.seen) == 1 and len(statements.reading("issues")) == 1


def test_the_gets_statements_are_built_once() -> None:
    assert records.with_ids([1]).statement is records.with_ids([2]).statement
    assert records.with_ids([1, 2]).statement is records.with_ids([3, 4, 5]).statement
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    first = records.filtered(start, end, ["POTHOLE"], {"open"}).statement
    again = records.filtered(end, end, ["A", "B"], {"open"}).statement
    assert first is again
    assert first is not records.filtered(start, end, [], {"open"}).statement


def _checked_on(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads the door checks reports on, from now on."""
    names: list[str] = []
    check = Open311.check

    def recording(self: Open311, *args: Any, **kwargs: Any) -> Any:
        names.append(threading.current_thread().name)
        return check(self, *args, **kwargs)

    monkeypatch.setattr(Open311, "check", recording)
    return names


def test_a_report_is_checked_on_the_event_loop(door: Door, monkeypatch: pytest.MonkeyPatch) -> None:
    if door.store.engine.dialect.name != "sqlite":
        pytest.skip("reports are checked on the event loop where the report writer serves SQLite")
    names = _checked_on(monkeypatch)
    assert door.post("json", **REPORT).status_code == 200
    assert names == ["http"]  # the served app's event loop


def test_a_detailed_service_area_is_tested_in_a_thread(
    harness: Callable[..., Harness],
    fake_host: tuple[PluginHost, FakeRemote],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = QUICK_AREA_POINTS + 1  # a city's detailed boundary: a circle of that many points
    ring = [
        [
            -72.9279 + 0.1 * math.cos(2 * math.pi * i / steps),
            41.3083 + 0.1 * math.sin(2 * math.pi * i / steps),
        ]
        for i in range(steps)
    ]
    ring.append(ring[0])
    (tmp_path / "city.geojson").write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}))
    area = 'name = "City of Testville"\nservice_area = "city.geojson"'
    config = BASIC.replace('name = "City of Testville"', area) + SERVER.format(rpm=600)
    door = harness(config, host=fake_host[0]).serve()
    names = _checked_on(monkeypatch)
    assert door.post("json", **REPORT).status_code == 200
    outside = door.post("json", **{**REPORT, "lat": "41.6"})
    assert outside.status_code == 400 and "outside the service area" in outside.text
    assert len(names) == 2 and "http" not in names
