"""Updates posted through the door (``POST servicerequestupdates``): taken only from the key
that reported the issue (or any key with ``updates_from_any_key``), once, with the key's
name as the comment's ``via`` (staff see it, a comment prefix names it); refused on a closed
or withdrawn issue and past ``max_updates_per_issue``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text, update

from scf_plugins.engine.transitions import withdraw
from scf_plugins.plugins import PluginHost
from scf_plugins.server.apikeys import create
from scf_plugins.store.store import Store
from scf_plugins.store.tables import issues
from scf_plugins.testing import Door, FakeRemote, Harness

from .conftest import BASIC
from .old_schemas import build_sqlite, put_rows
from .served import SERVER

WHEN = "2026-11-20 10:00:00"
REPORT = {
    "service_code": "POTHOLE",
    "lat": "41.3083",
    "long": "-72.9279",
    "description": "Deep pothole",
    "attribute[1]": "12",
    "attribute[2]": "resident@example.org",
}


@pytest.fixture
def make(
    harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote]
) -> Callable[..., tuple[Harness, Door]]:
    """A harness on the basic config, ``server`` lines added to its [server] section, and
    its door served with the key ``fixmystreet``."""

    def build(server: str = "") -> tuple[Harness, Door]:
        h = harness(BASIC + SERVER.format(rpm=600) + server, host=fake_host[0])
        return h, h.serve("fixmystreet")

    return build


def report(door: Door, key: str | None = None) -> int:
    """A report through the door; its issue id."""
    answer = door.post("json", key=key, **REPORT)
    assert answer.status_code == 200, answer.text
    return int(answer.json()[0]["service_request_id"])


def post_update(door: Door, issue_id: int, key: str | None = None, **fields: str) -> Any:
    """An update as FixMyStreet posts one, with the door's key unless ``key``."""
    data = {
        "api_key": door.key if key is None else key,
        "service_request_id": str(issue_id),
        "update_id": "fms-1",
        "status": "OPEN",
        "updated_datetime": "2026-12-01T10:00:00Z",
        "description": "Still there.",
        "first_name": "Public Works",
        "last_name": "Director",
        **fields,
    }
    return requests.post(f"{door.url}/open311/v2/servicerequestupdates.json", data=data, timeout=10)


def door_comments(door: Door, issue_id: int) -> list[tuple[str, str, str | None]]:
    """The issue's local comments as (author, text, via)."""
    record = door.store.get(issue_id)
    assert record is not None
    return [(c.author, c.text, c.via) for c in record.comments if c.kind == "comment"]


def test_only_the_reporting_key_may_post_and_its_update_is_taken_once_with_its_via(
    make: Callable[..., tuple[Harness, Door]],
) -> None:
    h, door = make()
    issue_id = report(door)
    other = create(door.store, "another-client", actor="test")
    refused = post_update(door, issue_id, key=other)
    assert refused.status_code == 403
    assert "not reported with this api_key" in refused.json()[0]["description"]
    taken = post_update(door, issue_id)
    assert taken.status_code == 200, taken.text
    again = post_update(door, issue_id)  # a retry after a lost answer: the same comment
    assert again.status_code == 200 and again.json() == taken.json()
    assert door_comments(door, issue_id) == [
        ("Public Works Director", "Still there.", "fixmystreet")
    ]
    shown = json.loads(h.cli_ok("issues", "show", str(issue_id), "--json").stdout)
    [comment] = [c for c in shown["comments"] if c["kind"] == "comment"]
    assert comment["via"] == "fixmystreet" and shown["reported_via"] == "fixmystreet"
    text = h.cli_ok("issues", "show", str(issue_id)).stdout
    assert "Public Works Director (via API key 'fixmystreet'): Still there." in text
    # An issue reported with `scf report` has no client: no key may post to it.
    local = report(door)
    with door.store.transaction() as conn:
        conn.execute(update(issues).where(issues.c.id == local).values(reported_via=None))
    assert post_update(door, local).status_code == 403


def test_any_key_may_post_when_the_config_says_so(
    make: Callable[..., tuple[Harness, Door]],
) -> None:
    _, door = make("updates_from_any_key = true\n")
    issue_id = report(door)
    other = create(door.store, "another-client", actor="test")
    assert post_update(door, issue_id, key=other).status_code == 200
    assert [via for _, _, via in door_comments(door, issue_id)] == ["another-client"]


def test_an_update_on_a_withdrawn_or_closed_issue_is_refused_saying_why(
    make: Callable[..., tuple[Harness, Door]],
) -> None:
    h, door = make()
    withdrawn, closed = report(door), report(door)
    taken = post_update(door, withdrawn, update_id="before")
    assert taken.status_code == 200
    with door.store.transaction() as conn:
        assert withdraw(conn, h.settings, withdrawn, "reported twice", datetime.now(UTC))
        conn.execute(update(issues).where(issues.c.id == closed).values(status="closed"))
    for issue_id in (withdrawn, closed):
        refused = post_update(door, issue_id)
        assert refused.status_code == 400
        assert f"service request {issue_id} is closed" in refused.json()[0]["description"]
    # The update taken before it was withdrawn, posted again, is still the same one.
    assert post_update(door, withdrawn, update_id="before").json() == taken.json()
    assert len(door_comments(door, withdrawn)) == 1 and not door_comments(door, closed)


def test_an_issue_takes_at_most_max_updates_per_issue(
    make: Callable[..., tuple[Harness, Door]],
) -> None:
    _, door = make("max_updates_per_issue = 2\n")
    issue_id, another = report(door), report(door)
    for n in range(2):
        assert post_update(door, issue_id, update_id=f"u{n}").status_code == 200
    over = post_update(door, issue_id, update_id="u2")
    assert over.status_code == 400
    assert "has 2 updates already" in over.json()[0]["description"]
    assert post_update(door, issue_id, update_id="u1").status_code == 200  # a retry still is
    assert post_update(door, another, update_id="u2").status_code == 200  # the cap is per issue
    assert len(door_comments(door, issue_id)) == 2


def test_the_comment_prefix_names_the_key_as_via(world: Callable[..., Harness]) -> None:
    w = world(extra='comment_prefix = "[311 via {via}] {author}: "')
    issue_id = w.report()
    w.sync()
    rid = w.remote_id(issue_id)
    door = w.serve("fixmystreet")
    with door.store.transaction() as conn:  # as if reported through the door
        conn.execute(
            update(issues).where(issues.c.id == issue_id).values(reported_via="fixmystreet")
        )
    assert post_update(door, issue_id, first_name="Zoë", last_name="-").status_code == 200
    assert w.sync().comments_out == 1
    remote = [c["Comments"] for c in w.emulator.state.comments[rid]]
    assert "[311 via fixmystreet] Zoë: Still there." in remote


def test_comments_posted_before_schema_9_get_their_via_from_the_key_in_client_ref(
    tmp_path: Path,
) -> None:
    url = build_sqlite(tmp_path / "scf.db", "schema_7")
    engine = create_engine(url)
    with engine.begin() as conn:
        put_rows(conn, 7)  # issue 1, with a pulled comment
        conn.execute(
            text(
                "INSERT INTO comments (issue_id, author, text, kind, created_at, push_attempted, "
                "attempts, client_ref) VALUES (1, 'Zoë', :text, 'comment', :when, :no, 0, :ref)"
            ),
            [
                {"text": "From the door", "ref": "fixmystreet:fms-7:a", "when": WHEN, "no": False},
                {"text": "From staff", "ref": None, "when": WHEN, "no": False},
            ],
        )
    engine.dispose()
    store = Store.open(url)
    try:
        record = store.get(1)
        assert record is not None
        assert [(c.text, c.via) for c in record.comments if c.kind == "comment"] == [
            ("From the door", "fixmystreet"),
            ("From staff", None),
        ]
    finally:
        store.close()
