"""The store: schema versions and upgrades, transactions, and the SQLite set-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from scf_plugins.errors import ConfigError
from scf_plugins.intake.images import Photo
from scf_plugins.models import Answer, NewIssue
from scf_plugins.store import tables
from scf_plugins.store.store import Store


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'scf.db'}"


def undo_schema_7(conn: Connection) -> None:
    """Take away what schema 7 added to comments (an older store never had it)."""
    conn.execute(text("DROP INDEX uq_comments_client_ref"))
    conn.execute(text("ALTER TABLE comments DROP COLUMN client_ref"))


def test_a_new_database_gets_the_current_schema(tmp_path: Path) -> None:
    store = Store.open(url(tmp_path))
    with store.read() as conn:
        assert tables.current_version(conn) == tables.target_version()
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_an_older_database_is_upgraded_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(url(tmp_path))
    issue_id = store.create_issue(
        NewIssue("POTHOLE", "cw", "101", "Hole", 1.0, 2.0, answers=(Answer("1", "Q", "Yes"),))
    )
    store.close()

    def add_column(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE issues ADD COLUMN priority VARCHAR(20)"))

    monkeypatch.setattr(tables, "MIGRATIONS", [*tables.MIGRATIONS, add_column])
    store = Store.open(url(tmp_path))
    with store.read() as conn:
        assert tables.current_version(conn) == len(tables.MIGRATIONS)
        assert conn.execute(text("SELECT priority FROM issues")).all() == [(None,)]
    record = store.get(issue_id)
    assert record is not None and record.issue.answers[0].answer == "Yes"


def test_a_schema_1_database_keeps_its_links_and_gets_a_store_id(tmp_path: Path) -> None:
    """Links made before markers had a store id keep their ``scf-<id>`` marker, unscoped."""
    store = Store.open(url(tmp_path))
    issue_id = store.create_issue(NewIssue("POTHOLE", "cw", "101", "Hole", 1.0, 2.0))
    with store.transaction() as conn:  # back to what schema 1 looked like
        for index in ("uq_issues_link", "ix_issues_created_at", "ix_issues_reported_via"):
            conn.execute(text(f"DROP INDEX {index}"))
        for column in ("marker", "generation", "link_environment", "link_endpoint",
                       "attention", "attention_kind", "reporter_phone", "reported_via",
                       "submit_attempted_at", "pending_token", "pending_since",
                       "plugin_state"):  # fmt: skip
            conn.execute(text(f"ALTER TABLE issues DROP COLUMN {column}"))
        conn.execute(text("ALTER TABLE comments DROP COLUMN push_attempted_at"))
        conn.execute(text("ALTER TABLE comments DROP COLUMN kept_here"))
        undo_schema_7(conn)
        for table in ("attachment_contents", "attachments"):  # schema 6
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("UPDATE issues SET status = 'acknowledged', remote_id = '77'"))
        conn.execute(text("UPDATE scf_meta SET value = '1' WHERE key = 'schema_version'"))
        conn.execute(text("DELETE FROM scf_meta WHERE key = 'store_id'"))
    store.close()
    store = Store.open(url(tmp_path))
    with store.read() as conn:
        assert tables.current_version(conn) == tables.target_version()
        assert len(tables.store_id(conn)) == 8
    record = store.get(issue_id)
    assert record is not None
    assert record.issue.marker == f"scf-{issue_id}" and record.issue.remote_id == "77"
    assert record.link_endpoint is None  # adopted by the first poll that finds its marker
    new_id = store.create_issue(NewIssue("POTHOLE", "cw", "101", "Hole", 1.0, 2.0))
    new = store.get(new_id)
    assert new is not None and new.issue.marker == f"scf-{store.store_id}-{new_id}-1"


def test_a_schema_6_database_gets_schema_7_and_keeps_its_photos(tmp_path: Path) -> None:
    store = Store.open(url(tmp_path))
    photo = Photo("scf-1.jpg", b"\xff\xd8 jpeg bytes", 4, 3)
    issue_id = store.create_issue(NewIssue("POTHOLE", "cw", "101", "Hole", 1.0, 2.0), [photo])
    with store.transaction() as conn:  # back to schema 6
        conn.execute(text("ALTER TABLE attachments DROP COLUMN purged_at"))
        undo_schema_7(conn)
        conn.execute(text("UPDATE scf_meta SET value = '6' WHERE key = 'schema_version'"))
    store.close()
    store = Store.open(url(tmp_path))
    with store.read() as conn:
        assert tables.current_version(conn) == tables.target_version() == 7
    record = store.get(issue_id)
    assert record is not None
    (kept,) = record.attachments
    assert kept.purged_at is None
    assert store.media(kept.path_token) == ("image/jpeg", photo.content)


def test_a_newer_database_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store.open(url(tmp_path)).close()
    monkeypatch.setattr(tables, "MIGRATIONS", [])
    with pytest.raises(ConfigError, match="newer than this scf"):
        Store.open(url(tmp_path))


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    store = Store.open(url(tmp_path))
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute(tables.issues.delete())
        conn.execute(text("INSERT INTO scf_meta (key, value) VALUES ('x', 'y')"))
        raise RuntimeError("crash mid-transaction")
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM scf_meta WHERE key = 'x'")).scalar() == 0


def test_an_unusable_database_url_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"check organization\.database"):
        Store.open("nosuchdialect://x/y")
    with pytest.raises(ConfigError) as info:
        Store.open("postgresql://scf:Sekr3t-pw@127.0.0.1:1/scf")
    assert "Sekr3t" not in str(info.value) and "postgresql://scf:***@127.0.0.1:1" in str(info.value)
    with pytest.raises(ConfigError, match="its folder is writable"):
        Store.open(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'scf.db'}")
