"""The store's tables as this scf uses them (the schema at the head revision).

A change here needs a revision in ``migrations/versions`` that makes the same change to an
existing store (see :mod:`scf_plugins.store.migrations`); a test checks they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    select,
    text,
)

from ..errors import ConfigError
from . import signals as _signals
from . import tallies as _tallies


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (portable across dialects)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


def length(column: Column[Any]) -> int:
    """The column's length (the limit that text from outside is cut to before it is stored)."""
    return int(column.type.length)  # type: ignore[attr-defined]


def fit(column: Column[Any], value: str | None) -> str | None:
    """``value`` cut to the column's length: remote systems send what they like, and
    PostgreSQL (unlike SQLite) refuses a string longer than its column."""
    length = getattr(column.type, "length", None)
    if value is None or length is None or len(value) <= length:
        return value
    return value[:length]


metadata = MetaData()

meta = Table(
    "scf_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

request_types = Table(
    "request_types",
    metadata,
    Column("code", String(200), primary_key=True),
    Column("integration", String(100), nullable=False, index=True),
    Column("name", String(500), nullable=False),
    Column("definition", Text, nullable=False),  # the RequestType as JSON
    Column("fetched_at", UTCDateTime, nullable=False),
)

_HELD_SQLITE = "held IS 1"
_HELD_POSTGRESQL = "held IS true"


def _leased(table: str) -> Index:
    """The index of a table's leased rows (schema 12): its owner and expiry, for the rows that
    have one (a few, whatever the history)."""
    return Index(
        f"ix_{table}_leased",
        "lease_owner",
        "lease_until",
        sqlite_where=text("lease_owner IS NOT NULL"),
        postgresql_where=text("lease_owner IS NOT NULL"),
    )


issues = Table(
    "issues",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_type", String(200), nullable=False),
    Column("integration", String(100)),
    Column("status", String(20), nullable=False),
    Column("summary", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("address", String(300)),
    Column("reporter_name", String(200)),
    Column("reporter_email", String(254)),
    Column("image_url", String(2000)),
    Column("type_ref", String(200), nullable=False, default=""),
    Column("remote_id", String(200)),
    Column("remote_status", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("acknowledged_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("archived_at", UTCDateTime),
    # Sync state: retries, the submit intent, the address check, the work lease.
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_kind", String(20)),
    Column("submit_attempted", Boolean, nullable=False, default=False),
    Column("held", Boolean, nullable=False, default=False),
    Column("address_check", Text),
    Column("lease_owner", String(100)),
    Column("lease_until", UTCDateTime),
    # The link (schema 2): the marker the remote request carries (NULL: the pre-2 form
    # ``scf-<id>``), the submission generation it was made from, and where the link lives.
    Column("marker", String(30)),
    Column("generation", Integer, nullable=False, default=0, server_default="0"),
    Column("link_environment", String(100)),
    Column("link_endpoint", String(500)),
    # Something a person must look at (a marker mismatch, a remote id linked twice, a
    # closed status nobody mapped); never cleared by a retry, only by what fixes it.
    Column("attention", Text),
    Column("attention_kind", String(20)),
    # Intake (schema 4): the reporter's phone (private, like the email), and the name of the
    # Open311 API key whose client sent the report (NULL: reported on the command line).
    Column("reporter_phone", String(50)),
    Column("reported_via", String(100)),
    # When the intent to create was last written: a create that may be in flight is looked up
    # only once it can no longer be (the integration's call timeout after this).
    Column("submit_attempted_at", UTCDateTime),
    # Plugin kit v2 (schema 5): a create accepted under a token waits for its remote id
    # (``pending_token``, since when), and what the plugin keeps on the issue (JSON).
    Column("pending_token", String(200)),
    Column("pending_since", UTCDateTime),
    Column("plugin_state", Text),
    # Why it was sent although its address check was not accepted (schema 8): on_reject =
    # "submit", or staff released it; written when it is acknowledged.
    Column("sent_unverified", String(300)),
    # Emails to the resident (schema 11): "stop emails about this report", and when the
    # reporter's name, email and phone were blanked under [privacy] purge_contact_after_days.
    Column("notify_off", Boolean, nullable=False, default=False, server_default=false()),
    Column("contact_purged_at", UTCDateTime),
    Index("ix_issues_created_at", "created_at"),
    Index("ix_issues_reported_via", "reported_via", "created_at"),
    Index("ix_issues_status_integration", "status", "integration"),
    Index("ix_issues_remote_id", "remote_id"),
    # One remote request, one issue: a second link to the same request is refused.
    Index("uq_issues_link", "link_endpoint", "remote_id", unique=True),
    # The archived issues whose contact details are still kept: the purge reads these alone.
    Index(
        "ix_issues_contact_due",
        "archived_at",
        sqlite_where=text("contact_purged_at IS NULL"),
        postgresql_where=text("contact_purged_at IS NULL"),
    ),
    # Schema 12: status, scrapes, passes and heartbeats read these, never the history. The
    # held issues: the condition is written as SQLAlchemy writes ``held IS true`` on each
    # dialect, since SQLite uses a partial index only for a query that says its condition.
    Index(
        "ix_issues_held",
        "integration",
        sqlite_where=text(_HELD_SQLITE),
        postgresql_where=text(_HELD_POSTGRESQL),
    ),
    # The leased rows: a heartbeat renews a worker's, a start frees a dead one's.
    _leased("issues"),
)

answers = Table(
    "answers",
    metadata,
    Column("issue_id", Integer, ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("question_id", String(200), nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("private", Boolean, nullable=False, default=False),
    Column("ref", String(200)),
)

_COMMENTS_OUTBOX = "kind = 'comment' AND pushed_at IS NULL AND kept_here IS NULL"
comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issue_id", Integer, ForeignKey("issues.id", ondelete="CASCADE"), nullable=False),
    Column("author", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Remote link: for a pushed local comment, the remote comment it became; for a pulled one,
    # where it came from. ``remote_key`` scopes the id to integration and request, so a
    # comment is kept once even after the issue moves to another remote request.
    Column("remote_id", String(200)),
    Column("remote_key", String(500)),
    Column("pushed_at", UTCDateTime),
    Column("push_attempted", Boolean, nullable=False, default=False),
    Column("push_attempted_at", UTCDateTime),  # as issues.submit_attempted_at (schema 4)
    # Why a local comment stays here (schema 4): the remote system has no comment API.
    Column("kept_here", String(300)),
    # A comment posted through the Open311 door (schema 7): the API key's name and the
    # client's own update_id, so a client that posts it again gets the same comment back.
    Column("client_ref", String(300)),
    # The API key's name of a comment posted through the door (schema 9): shown to staff,
    # and the comment prefix's ``{via}``.
    Column("via", String(100)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("lease_owner", String(100)),
    Column("lease_until", UTCDateTime),
    UniqueConstraint("issue_id", "remote_key", name="uq_comments_remote_key"),
    Index("ix_comments_issue", "issue_id", "id"),
    Index("uq_comments_client_ref", "issue_id", "client_ref", unique=True),
    # The local comments still to push (schema 13): a sleeping worker reads when the next is
    # due from these alone.
    Index(
        "ix_comments_outbox",
        "issue_id",
        sqlite_where=text(_COMMENTS_OUTBOX),
        postgresql_where=text(_COMMENTS_OUTBOX),
    ),
    _leased("comments"),
)

announced = Table(
    "announced",
    metadata,
    Column("issue_id", Integer, ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True),
    Column("remote_id", String(200), primary_key=True),
    Column("field", String(200), primary_key=True),
    Column("value", String(1000), primary_key=True),
)


# Poll rounds (schema 3): a pass's poll is split into batches of issue ids that every worker
# claims from, so N workers make the calls of one, each issue once per round.
poll_rounds = Table(
    "poll_rounds",
    metadata,
    Column("integration", String(100), primary_key=True),
    Column("round", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
)

poll_batches = Table(
    "poll_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("round", Integer, nullable=False),
    Column("first_id", Integer, nullable=False),
    Column("last_id", Integer),  # exclusive; NULL: open-ended (issues linked since the start)
    Column("done", Boolean, nullable=False, default=False),
    Column("lease_owner", String(100)),
    Column("lease_until", UTCDateTime),
    Index("ix_poll_batches_round", "integration", "round", "done"),
)


# Residents' photos (schema 6): clean JPEGs kept in the store, so every machine serves and
# sends the same ones; each pushed once to the remote request, like a comment.
_PHOTOS_OUTBOX = "pushed_at IS NULL AND kept_here IS NULL AND purged_at IS NULL"
attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issue_id", Integer, ForeignKey("issues.id", ondelete="CASCADE"), nullable=False),
    Column("filename", String(100), nullable=False),
    Column("content_type", String(50), nullable=False),
    Column("size", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("path_token", String(64), nullable=False, unique=True),  # its unguessable URL path
    Column("created_at", UTCDateTime, nullable=False),
    Column("remote_id", String(200)),
    Column("pushed_at", UTCDateTime),
    Column("push_attempted", Boolean, nullable=False, default=False),
    Column("push_attempted_at", UTCDateTime),
    Column("kept_here", String(300)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("lease_owner", String(100)),
    Column("lease_until", UTCDateTime),
    # When its bytes were deleted under [images] purge_after_days (schema 7); the row stays,
    # so the issue still shows what it had and where it went.
    Column("purged_at", UTCDateTime),
    Index("ix_attachments_issue", "issue_id", "id"),
    # The photos still to push (schema 13), as the comments'.
    Index(
        "ix_attachments_outbox",
        "issue_id",
        sqlite_where=text(_PHOTOS_OUTBOX),
        postgresql_where=text(_PHOTOS_OUTBOX),
    ),
    # The photos whose bytes are kept (schema 12), by id: the purge walks these alone, and
    # status sums their sizes from the index.
    Index(
        "ix_attachments_kept",
        "id",
        "issue_id",
        "size",
        sqlite_where=text("purged_at IS NULL"),
        postgresql_where=text("purged_at IS NULL"),
    ),
    _leased("attachments"),
)

# A photo's bytes, apart from its sync state: SQLite rewrites a whole row on every UPDATE, so
# a lease or a push mark on a row holding 2 MB would copy the 2 MB each time.
attachment_contents = Table(
    "attachment_contents",
    metadata,
    Column(
        "attachment_id",
        Integer,
        ForeignKey("attachments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("content", LargeBinary, nullable=False),  # read one photo at a time, never a pass's
)


# Where a photo went before its issue left that remote request (schema 8): resubmitted, moved
# to another environment, withdrawn or cancelled. The photo itself starts afresh, so it goes to
# the next request too; these rows are what ``issues show`` tells of the earlier ones.
attachment_sends = Table(
    "attachment_sends",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "attachment_id",
        Integer,
        ForeignKey("attachments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("remote_id", String(200)),  # the photo's id there
    Column("request", String(200)),  # the remote request (NULL: left before schema 8)
    Column("integration", String(100)),
    Column("environment", String(100)),
    Column("endpoint", String(500)),
    Column("sent_at", UTCDateTime),
    Column("left_at", UTCDateTime, nullable=False),
    Index("ix_attachment_sends_attachment", "attachment_id", "id"),
)


# Open311 API keys (schema 4): only a hash of each key is kept; a revoked key stays listed.
# A rotated key (schema 9) keeps its previous hash, which works until ``previous_until``.
api_keys = Table(
    "api_keys",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("previous_hash", String(64)),
    Column("previous_until", UTCDateTime),
    Index("uq_api_keys_previous_hash", "previous_hash", unique=True),
)


# Open circuits (schema 4): an integration that is down as a whole, shared by every worker.
circuits = Table(
    "circuits",
    metadata,
    Column("integration", String(100), primary_key=True),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("probe_at", UTCDateTime, nullable=False),
    Column("probes", Integer, nullable=False, default=0),
)


# How each integration and geocoder last fared (schema 4), for `scf status` in another process:
# written by the engine after each pass (the latest pass of any worker wins).
health = Table(
    "health",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("kind", String(20), nullable=False),  # integration or geocoder
    Column("last_pass_at", UTCDateTime),
    Column("last_pass_seconds", Float),
    Column("last_pass_errors", Integer),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("latency_p50_ms", Float),
    Column("latency_p95_ms", Float),
)


# Staff console accounts (schema 10): Argon2 hashes only. The failure count and the lock live in
# the row, so a lockout holds across workers and restarts; sessions issued before
# ``password_set_at`` are dead (a reset ends them everywhere).
staff = Table(
    "staff",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("role", String(10), nullable=False),  # admin or staff
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
    Column("password_set_at", UTCDateTime, nullable=False),
    Column("failed_logins", Integer, nullable=False, default=0, server_default="0"),
    Column("locked_until", UTCDateTime),
    Column("last_login_at", UTCDateTime),
)

# A console session (schema 10): only the SHA-256 of its random token is kept, so the table
# read by someone else opens no session.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "staff_name",
        String(100),
        ForeignKey("staff.name", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

# Who changed what (schema 10), from the console and the CLI alike; never a secret.
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(60), nullable=False),
    Column("issue_id", Integer, index=True),
    Column("integration", String(100)),
    Column("detail", String(500), nullable=False, default="", server_default=""),
)


# Emails to residents (schema 11): one per system message or pulled comment sent to the
# reporter (the unique comment id: a message is emailed at most once), with its send state.
# ``send_attempted_at`` is the intent, written before the SMTP transaction; a send that may
# have reached the server without our knowing is ``uncertain_at`` and never sent again on its
# own; ``skipped`` says why one was not sent (switched off, unsubscribed, no email, contact
# purged, refused by the mail server).
_WAITING = "sent_at IS NULL AND skipped IS NULL AND uncertain_at IS NULL"
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issue_id", Integer, ForeignKey("issues.id", ondelete="CASCADE"), nullable=False),
    Column("comment_id", Integer, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_try_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("last_error", Text),
    Column("send_attempted_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("uncertain_at", UTCDateTime),
    Column("skipped", String(300)),
    Column("lease_owner", String(100)),
    Column("lease_until", UTCDateTime),
    UniqueConstraint("comment_id", name="uq_notifications_comment"),
    Index("ix_notifications_issue", "issue_id", "id"),
    # The sender's claims and the status counts read only the rows still to look at.
    Index(
        "ix_notifications_waiting",
        "id",
        sqlite_where=text(_WAITING),
        postgresql_where=text(_WAITING),
    ),
    Index(
        "ix_notifications_uncertain",
        "id",
        sqlite_where=text("uncertain_at IS NOT NULL"),
        postgresql_where=text("uncertain_at IS NOT NULL"),
    ),
    _leased("notifications"),
)

# Addresses that asked for no email at all (schema 11), as salted SHA-256 hashes of the
# lowercased, trimmed address: the address itself is only ever in an issue's reporter columns.
email_optouts = Table(
    "email_optouts",
    metadata,
    Column("address_hash", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)


# Counts of the history kept by the database (schema 12): issues archived per integration and
# photos purged, each changed by a trigger in the transaction that archives or purges
# (:mod:`.tallies`), so status reads a row instead of counting every issue ever stored.
tallies = Table(
    "tallies",
    metadata,
    Column("tally", String(40), primary_key=True),  # what it counts (tallies.ARCHIVED, …)
    Column("integration", String(100), primary_key=True),  # "": a tally of the whole store
    Column("count", Integer, nullable=False),
)
event.listen(metadata, "after_create", _tallies.install)
event.listen(metadata, "after_drop", _tallies.uninstall)

# On PostgreSQL, triggers that tell sleeping workers that work was stored (schema 13; see
# :mod:`.signals`): a NOTIFY in the transaction that stores it.
event.listen(metadata, "after_create", _signals.install)
event.listen(metadata, "after_drop", _signals.uninstall)

# Schema 14: each integration's own small JSON object, shared by every worker (see
# :mod:`.states`): written with compare-and-set on its version.
integration_states = Table(
    "integration_states",
    metadata,
    Column("integration", String(100), primary_key=True),
    Column("state", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


STORE_ID_KEY = "store_id"


def store_id(conn: Connection) -> str:
    """This store's identity (8 characters of ``[a-z0-9]``)."""
    value = conn.execute(select(meta.c.value).where(meta.c.key == STORE_ID_KEY)).scalar()
    if value is None:
        raise ConfigError("the database has no store id; open it with this scf to upgrade it")
    return str(value)
