"""Photos follow their issue to every new remote request: after a resubmit, a move from the
test environment to production, and a cancel followed by a new request type; each once, and
``issues show`` tells the earlier requests from the current one."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from scf_plugins.store.store import Store
from tests.conftest import PASSWORD
from tests.test_links import switch_to_production

from .old_schemas import build_sqlite, put_rows

GRAFFITI = ("511=No", "512=Public property", "514=2026-01-02")


def photo_file(tmp_path: Path, name: str, width: int = 40) -> str:
    """A small JPEG made here."""
    out = io.BytesIO()
    Image.new("RGB", (width, 20), (200, 30, 30)).save(out, "JPEG")
    path = tmp_path / name
    path.write_bytes(out.getvalue())
    return str(path)


def staff_list(root: str, request_id: int) -> str:
    """What city staff see on a request: ``scf emulator cityworks staff attachments ID``."""
    from click.testing import CliRunner
    from scf_cityworks.commands import emulator_command

    result = CliRunner().invoke(
        emulator_command, ["staff", "attachments", str(request_id), "--at", root]
    )
    assert result.exit_code == 0, result.output
    return result.output


def shown_text(w: Any, issue_id: int) -> str:
    return str(w.cli_ok("issues", "show", str(issue_id)).output)


def test_a_resubmitted_issue_sends_its_photos_to_the_new_request_once_each(
    world: Any, tmp_path: Path
) -> None:
    w = world(first_request_id=7000)
    images = [photo_file(tmp_path, "wall.jpg"), photo_file(tmp_path, "door.jpg", 50)]
    issue_id = w.report("GRAFFITI", *GRAFFITI, image=images)
    first = w.sync()
    assert (first.acknowledged, first.photos_out) == (1, 2)
    old_request = w.remote_id(issue_id)
    old_photos = [a["remote_id"] for a in w.show(issue_id)["attachments"]]

    result = w.cli_ok("issues", "resubmit", str(issue_id))
    assert f"issue {issue_id} resubmitted: sent anew on the next pass, its photos too" in (
        result.output
    )
    assert f"(it leaves request {old_request} in test)" in result.output
    waiting = w.show(issue_id)
    for photo, old in zip(waiting["attachments"], old_photos, strict=True):
        assert (photo["remote_id"], photo["request"]) == (None, None)
        [earlier] = photo["earlier"]
        assert (earlier["remote_id"], earlier["request"]) == (old, str(old_request))
        assert (earlier["environment"], earlier["integration"]) == ("test", "cityworks")
    text = shown_text(w, issue_id)
    assert f"waiting for the new request; sent as {old_photos[0]} (earlier request " in text
    assert f"{old_request}, test)" in text

    again = w.sync()
    assert (again.acknowledged, again.photos_out) == (1, 2)
    new_request = w.remote_id(issue_id)
    assert new_request != old_request
    moved = w.show(issue_id)
    state = w.emulator.state
    assert len(state.attachments[new_request]) == 2 and len(state.attachments[old_request]) == 2
    names = [a["Attachment"] for a in state.attachments[new_request]]
    assert all(moved["link"]["marker"] in name for name in names)  # under the new marker
    listing = staff_list(w.emulator.root, new_request)
    for photo in moved["attachments"]:
        assert photo["request"] == str(new_request) and photo["remote_id"] in listing
        assert photo["earlier"][0]["request"] == str(old_request)
    text = shown_text(w, issue_id)
    new_id = moved["attachments"][0]["remote_id"]
    assert f"sent as {new_id}; sent as {old_photos[0]} (earlier request {old_request}, test)" in (
        text
    )
    assert w.sync().photos_out == 0  # once each
    assert len(state.attachments[new_request]) == 2


def test_links_resubmit_from_test_to_production_carries_the_photos(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scf_cityworks.emulator import Emulator, EmulatorState

    w = world(first_request_id=7003)
    issue_id = w.report("GRAFFITI", *GRAFFITI, image=photo_file(tmp_path, "wall.jpg"))
    assert w.sync().photos_out == 1
    test_request = w.remote_id(issue_id)
    [test_photo] = [a["remote_id"] for a in w.show(issue_id)["attachments"]]

    production = EmulatorState(users={"scf-int": PASSWORD}, first_request_id=8120)
    with Emulator(production) as prod:
        switch_to_production(w, prod.url, monkeypatch)
        done = w.cli_ok("links", "resubmit", "cityworks", "--environment", "test")
        assert "resubmitted 1 issue(s)" in done.output
        report = w.sync()
        assert (report.acknowledged, report.photos_out) == (1, 1)
        moved = w.show(issue_id)
        assert moved["link"]["environment"] == "production"
        new_request = int(moved["remote_id"])
        [photo] = moved["attachments"]
        [record] = production.attachments[new_request]
        assert photo["remote_id"] == str(record["Id"]) and photo["request"] == str(new_request)
        assert str(record["Id"]) in staff_list(prod.root, new_request)
        [earlier] = photo["earlier"]
        assert (earlier["remote_id"], earlier["request"], earlier["environment"]) == (
            test_photo, str(test_request), "test"
        )  # fmt: skip
        text = shown_text(w, issue_id)
        assert (
            f"sent as {photo['remote_id']}; sent as {test_photo} "
            f"(earlier request {test_request}, test)"
        ) in text
        assert w.sync().photos_out == 0
    assert len(w.emulator.state.attachments[test_request]) == 1  # the test request kept its own


def test_a_cancelled_issue_given_another_type_sends_its_photos_to_the_new_request(
    world: Any, tmp_path: Path
) -> None:
    w = world(first_request_id=9100)
    issue_id = w.report("GRAFFITI", *GRAFFITI, image=photo_file(tmp_path, "wall.jpg"))
    assert w.sync().photos_out == 1
    cancelled = w.remote_id(issue_id)
    w.emulator.state.staff("cancel", cancelled, reason="wrong crew")
    assert w.sync().cancelled == 1
    [photo] = w.show(issue_id)["attachments"]
    assert photo["remote_id"] is None and photo["earlier"][0]["request"] == str(cancelled)
    w.cli_ok(
        "issues", "recategorize", str(issue_id), "--type", "POTHOLE",
        *(arg for answer in ("501=Yes", "502=Smaller than a dinner plate", "503=r@example.org")
          for arg in ("--answer", answer)),
    )  # fmt: skip
    report = w.sync()
    assert (report.acknowledged, report.photos_out) == (1, 1)
    new_request = w.remote_id(issue_id)
    assert len(w.emulator.state.attachments[new_request]) == 1
    assert w.show(issue_id)["attachments"][0]["request"] == str(new_request)


def test_a_withdrawn_issue_says_where_its_photos_went(world: Any, tmp_path: Path) -> None:
    w = world(first_request_id=9200)
    issue_id = w.report("GRAFFITI", *GRAFFITI, image=photo_file(tmp_path, "wall.jpg"))
    assert w.sync().photos_out == 1
    request = w.remote_id(issue_id)
    [sent] = [a["remote_id"] for a in w.show(issue_id)["attachments"]]
    w.cli_ok("issues", "withdraw", str(issue_id), "--reason", "duplicate")
    text = shown_text(w, issue_id)
    assert f"sent as {sent} (earlier request {request}, test)" in text
    assert "not sent" not in text
    assert w.sync().photos_out == 0


def test_a_push_still_under_way_to_the_old_request_is_not_taken_for_the_new_one(
    world: Any, tmp_path: Path
) -> None:
    from scf_plugins.store.tables import attachments

    w = world(first_request_id=9300)
    w.emulator.state.inject("503", count=1, match="addrequestattachment")
    issue_id = w.report("GRAFFITI", *GRAFFITI, image=photo_file(tmp_path, "wall.jpg"))
    assert w.sync().photos_out == 0  # the upload failed: it backs off
    store = w.store()
    with store.transaction() as conn:  # another worker holds it, its upload under way
        conn.execute(attachments.update().values(lease_owner="other-worker", attempts=3))
    w.cli_ok("issues", "resubmit", str(issue_id))
    with store.read() as conn:
        row = conn.execute(attachments.select()).mappings().one()
    assert (row["lease_owner"], row["attempts"], row["next_attempt_at"]) == (None, 0, None)
    report = w.sync()
    assert (report.acknowledged, report.photos_out) == (1, 1)
    assert len(w.emulator.state.attachments[w.remote_id(issue_id)]) == 1


def test_an_upgrade_lets_photos_of_issues_already_sent_anew_go_again(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from scf_plugins.ops import history

    url = build_sqlite(tmp_path / "scf.db", "schema_7")
    engine = create_engine(url)
    with engine.begin() as conn:
        put_rows(conn, 7)
    engine.dispose()
    con = sqlite3.connect(tmp_path / "scf.db")
    with con:
        # Issue 1 was resubmitted by the release before: Open, unlinked, its photo sent before.
        con.execute("UPDATE issues SET status = 'open', remote_id = NULL")
        con.execute("UPDATE attachments SET remote_id = '55', pushed_at = '2026-01-02 03:04:05'")
        # Issue 2 closed with a flag an earlier release left on it.
        con.execute("INSERT INTO issues (id, request_type, status, summary, description, lat, "
                    "lng, type_ref, created_at, updated_at, attempts, submit_attempted, held, "
                    "attention, attention_kind) VALUES (2, 'POTHOLE', 'closed', 'Old', '', 1, 2, "
                    "'', '2026-01-01', '2026-01-01', 0, 0, 0, 'closed as X', 'unmapped')")  # fmt: skip
    con.close()
    store = Store.open(url)
    try:
        record = store.get(1)
        assert record is not None
        [photo] = record.attachments
        assert photo.remote_id is None  # it goes to the next request
        earlier = history.of(store, 1).earlier[photo.id]
        assert [(e.remote_id, e.request) for e in earlier] == [("55", None)]
        closed = store.get(2)
        assert closed is not None and closed.attention is None
    finally:
        store.close()
