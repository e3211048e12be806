"""Rotating an Open311 API key: ``scf api-keys rotate NAME`` prints a new key for the same
client while the previous one keeps working for the grace period, ``api-keys list`` shows
both, and what either key sends is the client's, under its name."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests
from click.testing import Result
from freezegun import freeze_time

from scf_plugins.errors import UserError
from scf_plugins.plugins import PluginHost
from scf_plugins.server import apikeys
from scf_plugins.store.store import Store
from scf_plugins.testing import FakeRemote, Harness

from .conftest import BASIC
from .served import SERVER

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REPORT = {
    "service_code": "POTHOLE",
    "lat": "41.3083",
    "long": "-72.9279",
    "description": "Pothole by the school",
    "attribute[1]": "12",
    "attribute[2]": "resident@example.org",
}


@pytest.fixture
def served(harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote]) -> Harness:
    """The basic config with a [server] section, as a harness whose door a test serves."""
    return harness(BASIC + SERVER.format(rpm=600), host=fake_host[0])


def new_key(result: Result) -> str:
    """The key a create or rotate printed: its last line."""
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_the_previous_key_works_for_the_grace_period_and_not_after(served: Harness) -> None:
    store = served.store()
    with freeze_time(START) as clock:
        old = apikeys.create(store, "fixmystreet", actor="test")
        rotated = apikeys.rotate(store, "fixmystreet", timedelta(hours=24), actor="test")
        assert rotated.key != old and rotated.key.startswith(apikeys.PREFIX)
        assert rotated.previous_until == START + timedelta(hours=24)
        assert not rotated.ended_earlier
        assert apikeys.owner(store, old) == apikeys.owner(store, rotated.key) == "fixmystreet"
        clock.move_to(START + timedelta(hours=23, minutes=59))
        assert apikeys.owner(store, old) == "fixmystreet"
        clock.move_to(START + timedelta(hours=24))
        assert apikeys.owner(store, old) is None  # the grace ends on the hour, not after it
        assert apikeys.owner(store, rotated.key) == "fixmystreet"
        [listed] = apikeys.listed(store)
        assert listed.previous_until is None


def test_rotating_again_ends_the_key_from_the_rotation_before(served: Harness) -> None:
    store = served.store()
    with freeze_time(START) as clock:
        first = apikeys.create(store, "fixmystreet", actor="test")
        second = apikeys.rotate(store, "fixmystreet", actor="test").key
        clock.move_to(START + timedelta(hours=1))
        third = apikeys.rotate(store, "fixmystreet", timedelta(hours=2), actor="test")
        assert third.ended_earlier
        assert apikeys.owner(store, first) is None  # a client has at most two keys
        assert apikeys.owner(store, second) == apikeys.owner(store, third.key) == "fixmystreet"
        now = apikeys.rotate(store, "fixmystreet", timedelta(0), actor="test")
        assert apikeys.owner(store, third.key) is None and apikeys.owner(store, second) is None
        assert apikeys.owner(store, now.key) == "fixmystreet"


def test_a_revoked_or_unknown_key_cannot_be_rotated_and_revoking_ends_both(
    served: Harness,
) -> None:
    store = served.store()
    old = apikeys.create(store, "fixmystreet", actor="test")
    new = apikeys.rotate(store, "fixmystreet", actor="test").key
    apikeys.revoke(store, "fixmystreet", actor="test")
    assert apikeys.owner(store, old) is None and apikeys.owner(store, new) is None
    with pytest.raises(UserError, match="revoked"):
        apikeys.rotate(store, "fixmystreet", actor="test")
    with pytest.raises(UserError, match="no API key named 'nobody'"):
        apikeys.rotate(store, "nobody", actor="test")
    apikeys.create(store, "other", actor="test")
    with pytest.raises(UserError, match="grace period"):
        apikeys.rotate(store, "other", timedelta(days=91), actor="test")


def test_rotate_and_list_on_the_command_line(served: Harness) -> None:
    with freeze_time(START) as clock:
        old = new_key(served.cli("api-keys", "create", "fixmystreet"))
        rotated = served.cli("api-keys", "rotate", "fixmystreet", "--grace-hours", "6")
        new = new_key(rotated)
        assert new != old and old not in rotated.stdout
        assert "previous key works until 2026-03-02 15:00 UTC" in rotated.stdout
        [entry] = json.loads(served.cli_ok("api-keys", "list", "--json").stdout)
        assert entry["previous_key_until"] == "2026-03-02T15:00:00Z" and entry["active"]
        table = served.cli_ok("api-keys", "list").stdout
        assert "fixmystreet (previous key)" in table and "2026-03-02T15:00:00Z" in table
        assert old not in table and new not in table
        clock.move_to(START + timedelta(hours=6, seconds=1))
        [entry] = json.loads(served.cli_ok("api-keys", "list", "--json").stdout)
        assert entry["previous_key_until"] is None
        assert "previous key" not in served.cli_ok("api-keys", "list").stdout
    missing = served.cli("api-keys", "rotate", "nobody")
    assert missing.exit_code == 1 and "no API key named 'nobody'" in missing.output
    negative = served.cli("api-keys", "rotate", "fixmystreet", "--grace-hours", "-1")
    assert negative.exit_code == 2


def test_reports_and_updates_with_either_key_are_the_clients(served: Harness) -> None:
    door = served.serve("fixmystreet")
    store: Store = door.store
    new = new_key(served.cli("api-keys", "rotate", "fixmystreet"))
    ids = []
    for key in (door.key, new):
        answer = door.post("json", key=key, **REPORT)
        assert answer.status_code == 200, answer.text
        ids.append(int(answer.json()[0]["service_request_id"]))
    for issue_id in ids:
        record = store.get(issue_id)
        assert record is not None and record.reported_via == "fixmystreet"
    # An issue reported with the old key takes updates from the new one: the same client.
    update = requests.post(
        f"{door.url}/open311/v2/servicerequestupdates.json",
        data={"api_key": new, "service_request_id": str(ids[0]), "update_id": "u1",
              "status": "OPEN", "updated_datetime": "2026-03-02T10:00:00Z",
              "description": "Deeper now"},
        timeout=10,
    )  # fmt: skip
    assert update.status_code == 200, update.text
    record = store.get(ids[0])
    assert record is not None
    assert [c.via for c in record.comments if c.kind == "comment"] == ["fixmystreet"]
    served.cli_ok("api-keys", "rotate", "fixmystreet", "--grace-hours", "0")
    assert door.post("json", key=new, **REPORT).status_code == 403
