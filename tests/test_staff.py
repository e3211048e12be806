"""Staff console accounts (ops.staff): made and checked, signing in with Argon2 and the lockout
that holds across workers, sessions that end when idle, old, disabled or reset; and the
schema revision that adds them to an existing store."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from alembic import command
from argon2 import PasswordHasher
from click.testing import Result
from freezegun import freeze_time
from sqlalchemy import select, text

from scf_plugins.errors import UserError
from scf_plugins.ops import audit, sessions, staff
from scf_plugins.store import migrate
from scf_plugins.store.connect import connect
from scf_plugins.store.store import Store
from scf_plugins.store.tables import staff as staff_table
from scf_plugins.store.tables import staff_sessions

PASSWORD = "correct horse battery staple"
OTHER = "another long passphrase 42"
ACTOR = "ops (cli)"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IDLE, ABSOLUTE = timedelta(minutes=30), timedelta(hours=12)
DEFAULT_HASHER = staff.HASHER  # as production has it, before a test makes it cheap


class CountingHasher(PasswordHasher):
    """A cheap hasher that counts its verifies (an unknown name must cost one too)."""

    def __init__(self, time_cost: int = 1) -> None:
        super().__init__(time_cost=time_cost, memory_cost=8, parallelism=1)
        self.verifies = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verifies += 1
        return super().verify(hash, password)


@pytest.fixture(autouse=True)
def cheap(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    """Argon2 at its lowest costs: the library's defaults take ~50 ms a hash."""
    hasher = CountingHasher()
    monkeypatch.setattr(staff, "HASHER", hasher)
    return hasher


@pytest.fixture
def store(scf_database: str) -> Iterator[Store]:
    """The test's store."""
    opened = Store.open(scf_database)
    yield opened
    opened.close()


def sign_in(store: Store, name: str = "alice", password: str = PASSWORD) -> staff.StaffAccount:
    return staff.authenticate(store, name, password, datetime.now(UTC))


def made_before(store: Store) -> None:
    """Make staff account alice an hour before START (its sessions begin after its password)."""
    with freeze_time(START - timedelta(hours=1)):
        staff.create(store, "alice", "staff", PASSWORD, actor=ACTOR)


def test_production_keeps_the_library_default_costs() -> None:
    default = PasswordHasher()
    assert (DEFAULT_HASHER.time_cost, DEFAULT_HASHER.memory_cost) == (
        default.time_cost, default.memory_cost
    )  # fmt: skip
    assert (DEFAULT_HASHER.parallelism, DEFAULT_HASHER.type) == (
        default.parallelism, default.type
    )  # fmt: skip


def test_an_account_is_made_listed_and_audited_never_with_its_hash(store: Store) -> None:
    with freeze_time(START):
        staff.create(store, "alice", "admin", PASSWORD, actor=ACTOR)
        staff.create(store, "bob.k", "staff", OTHER, actor=ACTOR)
    (alice, bob) = staff.listed(store)
    assert (alice.name, alice.role, alice.admin, alice.created_at) == (
        "alice",
        "admin",
        True,
        START,
    )
    assert (bob.name, bob.admin, bob.actor) == ("bob.k", False, "bob.k (console)")
    assert staff.listed_json(store)[0] == {
        "name": "alice",
        "role": "admin",
        "state": "active",
        "created_at": "2026-03-02T09:00:00Z",
        "disabled_at": None,
        "locked_until": None,
        "last_login_at": None,
    }
    with store.read() as conn:
        hashed = conn.execute(select(staff_table.c.password_hash)).scalars().first()
    assert hashed is not None and hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert hashed not in repr(staff.listed_json(store))
    entries = audit.listed(store)
    assert [(e.actor, e.action, e.detail) for e in entries] == [
        (ACTOR, "staff.create", "created staff account bob.k"),
        (ACTOR, "staff.create", "created admin account alice"),
    ]


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("al ice", "admin", PASSWORD, "staff account name 'al ice' is not usable"),
        ("x" * 101, "admin", PASSWORD, "is not usable"),
        ("alice", "root", PASSWORD, "the role must be admin or staff, not 'root'"),
        ("alice", "staff", "short pass", "the password must be 12 to 1024 characters"),
        ("alice", "staff", "x" * 1025, "the password must be 12 to 1024 characters"),
        ("alice.smith1", "staff", "Alice.Smith1", "the password must not be the account's name"),
    ],
)
def test_a_bad_name_role_or_password_is_one_line_and_nothing_is_made(
    store: Store, name: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(UserError, match=message) as refused:
        staff.create(store, name, role, password, actor=ACTOR)
    assert "\n" not in str(refused.value) and password not in str(refused.value)
    assert staff.listed(store) == [] and audit.listed(store) == []


def test_a_name_is_used_once(store: Store) -> None:
    staff.create(store, "alice", "admin", PASSWORD, actor=ACTOR)
    with pytest.raises(UserError, match="a staff account named 'alice' exists already"):
        staff.create(store, "alice", "staff", OTHER, actor=ACTOR)
    assert [a.role for a in staff.listed(store)] == ["admin"]


def test_signing_in_with_a_wrong_password_or_an_unknown_name_says_the_same(
    store: Store, cheap: CountingHasher
) -> None:
    staff.create(store, "alice", "admin", PASSWORD, actor=ACTOR)
    with freeze_time(START):
        account = sign_in(store)
    assert (account.name, account.admin, account.last_login_at) == ("alice", True, START)
    assert staff.listed(store)[0].last_login_at == START
    refusals = []
    for name, password in [("alice", OTHER), ("nobody", PASSWORD), ("n" * 300, PASSWORD)]:
        before = cheap.verifies
        with pytest.raises(staff.SignInRefused) as refused:
            sign_in(store, name, password)
        assert cheap.verifies == before + 1  # an unknown name costs a verify too
        refusals.append(str(refused.value))
    assert refusals == [staff.WRONG] * 3


def test_a_locked_or_disabled_account_costs_the_verify_an_unknown_name_costs(
    store: Store, cheap: CountingHasher
) -> None:
    staff.create(store, "alice", "admin", PASSWORD, actor=ACTOR)
    staff.create(store, "bob", "staff", PASSWORD, actor=ACTOR)
    for _ in range(staff.MAX_FAILURES):
        with pytest.raises(staff.SignInRefused):
            staff.authenticate(store, "alice", OTHER, START)
    staff.disable(store, "bob", actor=ACTOR)
    assert staff.listed(store)[0].state(START) == "locked"
    for name, password in [("alice", OTHER), ("alice", PASSWORD), ("bob", PASSWORD)]:
        before = cheap.verifies
        with pytest.raises(staff.SignInRefused, match=staff.WRONG):
            staff.authenticate(store, name, password, START)
        assert cheap.verifies == before + 1, name  # as slow as a wrong password: no tell


def test_five_failures_lock_the_account_for_15_minutes_in_every_worker(
    store: Store, scf_database: str
) -> None:
    staff.create(store, "alice", "admin", PASSWORD, actor=ACTOR)
    for _ in range(4):
        with pytest.raises(staff.SignInRefused, match=staff.WRONG):
            staff.authenticate(store, "alice", OTHER, START)
    staff.authenticate(store, "alice", PASSWORD, START)  # a success clears the count
    other = Store.open(scf_database)  # another worker: the lock is in the row
    try:
        for _ in range(4):
            with pytest.raises(staff.SignInRefused, match=staff.WRONG):
                staff.authenticate(store, "alice", OTHER, START)
        with pytest.raises(staff.SignInRefused) as locked:
            staff.authenticate(other, "alice", OTHER, START)
        assert str(locked.value) == staff.WRONG  # a lock reads as a wrong password does
        assert staff.listed(store)[0].state(START) == "locked"
        later = START + timedelta(minutes=14, seconds=30)
        with pytest.raises(staff.SignInRefused, match=staff.WRONG):
            staff.authenticate(other, "alice", PASSWORD, later)  # the right password too
        assert staff.listed(store)[0].state(later) == "locked"
        with freeze_time(later):
            assert staff.listed_json(store)[0]["state"] == "locked"
        after = START + timedelta(minutes=15)
        assert staff.authenticate(other, "alice", PASSWORD, after).name == "alice"
        assert staff.listed(store)[0].locked_until is None
    finally:
        other.close()


class MeetingHasher(CountingHasher):
    """A cheap hasher whose verifies wait for each other at a barrier, so that every sign-in of
    a burst has passed what comes before its verify when the first is answered; it keeps the
    hashes verified against."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(parties, timeout=20)
        self.against: list[str] = []
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.against.append(str(hash))
        self.barrier.wait()
        return super().verify(hash, password)


def test_guesses_sent_at_once_are_held_to_five_and_lock_the_account(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff.create(store, "alice", "admin", PASSWORD, actor=ACTOR)
    with store.read() as conn:
        real = conn.execute(select(staff_table.c.password_hash)).scalar_one()
    burst = 12
    hasher = MeetingHasher(burst)
    monkeypatch.setattr(staff, "HASHER", hasher)

    def guess(n: int) -> str:
        try:
            staff.authenticate(store, "alice", f"{OTHER} {n}", START)
        except staff.SignInRefused as refused:
            return str(refused)
        return "signed in"

    with ThreadPoolExecutor(burst) as pool:
        answers = list(pool.map(guess, range(burst)))
    assert answers == [staff.WRONG] * burst
    assert len(hasher.against) == burst  # every refusal cost a verify...
    assert hasher.against.count(real) == staff.MAX_FAILURES  # ...and five were guesses
    assert staff.listed(store)[0].state(START) == "locked"
    monkeypatch.setattr(staff, "HASHER", CountingHasher())
    with pytest.raises(staff.SignInRefused):
        staff.authenticate(store, "alice", PASSWORD, START)  # locked: the right one too


def test_four_failures_leave_the_fifth_try_and_a_success_clears_the_count(store: Store) -> None:
    staff.create(store, "alice", "admin", PASSWORD, actor=ACTOR)
    for _ in range(2):
        for _ in range(staff.MAX_FAILURES - 1):
            with pytest.raises(staff.SignInRefused):
                staff.authenticate(store, "alice", OTHER, START)
        assert staff.authenticate(store, "alice", PASSWORD, START).name == "alice"
    with store.read() as conn:
        assert conn.execute(select(staff_table.c.failed_logins)).scalar() == 0


def test_a_reset_clears_the_lock_and_ends_the_sessions(store: Store) -> None:
    staff.create(store, "alice", "admin", PASSWORD, actor=ACTOR)
    token, _ = sessions.start_session(store, "alice")
    now = datetime.now(UTC)
    for _ in range(5):
        with pytest.raises(staff.SignInRefused):
            staff.authenticate(store, "alice", OTHER, now)
    staff.reset(store, "alice", OTHER, actor="bob (console)")
    assert sessions.session(store, token, now, IDLE, ABSOLUTE) is None
    assert staff.authenticate(store, "alice", OTHER, now).name == "alice"
    with pytest.raises(staff.SignInRefused, match=staff.WRONG):
        staff.authenticate(store, "alice", PASSWORD, now)
    entry = audit.listed(store)[0]
    assert (entry.actor, entry.action, entry.detail) == (
        "bob (console)", "staff.reset", "reset the password of account alice"
    )  # fmt: skip
    with pytest.raises(UserError, match="no staff account named 'carol'"):
        staff.reset(store, "carol", OTHER, actor=ACTOR)
    with pytest.raises(UserError, match="the password must be 12 to 1024 characters"):
        staff.reset(store, "alice", "too short", actor=ACTOR)


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end_at_once(store: Store) -> None:
    staff.create(store, "alice", "staff", PASSWORD, actor=ACTOR)
    token, _ = sessions.start_session(store, "alice")
    staff.disable(store, "alice", actor=ACTOR)
    now = datetime.now(UTC)
    assert sessions.session(store, token, now, IDLE, ABSOLUTE) is None
    with pytest.raises(staff.SignInRefused, match=staff.WRONG):
        staff.authenticate(store, "alice", PASSWORD, now)
    assert staff.listed_json(store)[0]["state"] == "disabled"
    with pytest.raises(UserError, match="is disabled already"):
        staff.disable(store, "alice", actor=ACTOR)
    with pytest.raises(UserError, match="no staff account named 'bob'"):
        staff.disable(store, "bob", actor=ACTOR)
    staff.reset(store, "alice", OTHER, actor=ACTOR)  # a reset does not enable it again
    with pytest.raises(staff.SignInRefused):
        staff.authenticate(store, "alice", OTHER, now)
    assert [e.action for e in audit.listed(store)] == [
        "staff.reset", "staff.disable", "staff.create"
    ]  # fmt: skip


def test_a_hash_of_older_costs_is_replaced_at_the_next_sign_in(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff.create(store, "alice", "admin", PASSWORD, actor=ACTOR)
    monkeypatch.setattr(staff, "HASHER", CountingHasher(time_cost=2))

    def stored() -> str:
        with store.read() as conn:
            return str(conn.execute(select(staff_table.c.password_hash)).scalar())

    assert ",t=1," in stored()
    sign_in(store)
    assert ",t=2," in stored()
    sign_in(store)  # the new hash works


def test_a_session_lives_until_idle_or_old_and_ends_at_sign_out(store: Store) -> None:
    made_before(store)
    with freeze_time(START):
        token, csrf = sessions.start_session(store, "alice")
    assert len(csrf) == 64 and token != csrf
    with store.read() as conn:
        (row,) = conn.execute(select(staff_sessions)).mappings().all()
    assert token not in repr(dict(row)) and row["token_hash"] != token
    found = sessions.session(store, token, START + timedelta(minutes=29), IDLE, ABSOLUTE)
    assert found is not None and found[0].name == "alice" and found[1] == csrf
    assert sessions.session(store, token + "x", START, IDLE, ABSOLUTE) is None
    assert sessions.session(store, "", START, IDLE, ABSOLUTE) is None
    # Seen at 0:29, so alive until 0:59 (idle), then each half hour up to 12 hours (absolute).
    moment = START + timedelta(minutes=29)
    while moment + IDLE < START + ABSOLUTE:
        moment += IDLE
        assert sessions.session(store, token, moment, IDLE, ABSOLUTE) is not None, moment
    assert (
        sessions.session(store, token, START + ABSOLUTE + timedelta(seconds=1), IDLE, ABSOLUTE)
        is None
    )
    with freeze_time(START):
        idle, _ = sessions.start_session(store, "alice")
        ended, _ = sessions.start_session(store, "alice")
    assert (
        sessions.session(store, idle, START + IDLE + timedelta(seconds=1), IDLE, ABSOLUTE) is None
    )
    sessions.end_session(store, ended)
    assert sessions.session(store, ended, START, IDLE, ABSOLUTE) is None
    with store.read() as conn:  # dead sessions are deleted
        assert conn.execute(text("SELECT count(*) FROM staff_sessions")).scalar() == 0


def test_seen_at_is_written_at_most_once_a_minute(store: Store) -> None:
    made_before(store)
    with freeze_time(START):
        token, _ = sessions.start_session(store, "alice")

    def seen() -> datetime:
        with store.read() as conn:
            value: datetime = conn.execute(select(staff_sessions.c.seen_at)).scalar_one()
            return value

    sessions.session(store, token, START + timedelta(seconds=59), IDLE, ABSOLUTE)
    assert seen() == START
    sessions.session(store, token, START + timedelta(seconds=60), IDLE, ABSOLUTE)
    assert seen() == START + timedelta(seconds=60)


def test_an_account_keeps_its_20_most_recently_seen_sessions(store: Store) -> None:
    made_before(store)
    with freeze_time(START) as clock:
        first, _ = sessions.start_session(store, "alice")
        clock.tick(1)
        tokens = []
        for _ in range(sessions.MAX_SESSIONS):
            clock.tick(1)
            tokens.append(sessions.start_session(store, "alice")[0])
    now = START + timedelta(minutes=1)
    assert sessions.session(store, first, now, IDLE, ABSOLUTE) is None
    assert all(sessions.session(store, t, now, IDLE, ABSOLUTE) is not None for t in tokens)


def test_a_store_at_revision_9_gains_the_staff_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scf.db'}"
    engine = connect(url)
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0009")
        conn.execute(text("INSERT INTO scf_meta (key, value) VALUES ('store_id', 'k3m9qz2a')"))
    engine.dispose()
    store = Store.open(url)
    try:
        assert migrate.current(store.engine).at_head
        staff.create(store, "alice", "admin", PASSWORD, actor=ACTOR)
        token, _ = sessions.start_session(store, "alice")
        assert sessions.session(store, token, datetime.now(UTC), IDLE, ABSOLUTE) is not None
        assert [e.detail for e in audit.listed(store)] == ["created admin account alice"]
    finally:
        store.close()


# -- scf staff ----------------------------------------------------------------------------------


def test_scf_staff_create_list_disable_reset(
    run: Callable[..., Result], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    made = run("staff", "create", "alice", "--role", "admin", "--stdin", input=PASSWORD + "\n")
    assert (made.exit_code, made.output) == (0, "created admin account alice\n")
    made = run("staff", "create", "bob", "--role", "staff", "--stdin", input=OTHER)
    assert made.output == "created staff account bob\n"
    listing = run("staff", "list")
    assert listing.output.splitlines()[0].split() == ["name", "role", "state", "last", "sign-in"]
    assert listing.output.splitlines()[2].split() == ["alice", "admin", "active", "never"]
    rows = json.loads(run("staff", "list", "--json").stdout)
    assert [(r["name"], r["role"], r["state"]) for r in rows] == [
        ("alice", "admin", "active"), ("bob", "staff", "active")
    ]  # fmt: skip
    assert set(rows[0]) == {
        "name", "role", "state", "created_at", "disabled_at", "locked_until", "last_login_at"
    }  # fmt: skip
    assert rows[0]["created_at"].endswith("Z")

    disabled = run("staff", "disable", "bob")
    assert disabled.output == "disabled account bob; its sessions have ended\n"
    reset = run("staff", "reset", "alice", "--stdin", input=OTHER + "\r\n")
    assert reset.output == "reset the password of account alice; its sessions have ended\n"
    store = Store.open(f"sqlite:///{tmp_path / 'scf.db'}")  # the basic config's
    try:
        assert staff.authenticate(store, "alice", OTHER, datetime.now(UTC)).name == "alice"
        for _ in range(5):
            with pytest.raises(staff.SignInRefused):
                staff.authenticate(store, "alice", PASSWORD, datetime.now(UTC))
    finally:
        store.close()
    states = run("staff", "list").output.splitlines()
    assert "locked until 20" in states[2] and states[3].split()[:3] == ["bob", "staff", "disabled"]
    everything = "".join(r.output for r in (made, listing, disabled, reset)) + caplog.text
    assert PASSWORD not in everything and OTHER not in everything


def test_a_password_is_asked_twice_hidden_and_refused_when_it_is_not_the_same(
    run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = run("staff", "create", "alice", "--role", "admin", input=PASSWORD + "\n")
    assert refused.exit_code == 1 and refused.output.count("\n") == 1
    assert "run this in a terminal" in refused.output
    monkeypatch.setenv("SCF_ALLOW_PIPED_PASSWORD", "1")
    twice = run("staff", "create", "alice", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert twice.exit_code == 0 and PASSWORD not in twice.output
    assert twice.output.count("Password for alice") == 1 and "created admin account" in twice.output
    differ = run("staff", "reset", "alice", input=f"{OTHER}\nsomething else\n")
    assert differ.exit_code != 0 and OTHER not in differ.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("create", "al ice", "--role", "admin"), "Error: staff account name 'al ice' is not"),
        (("create", "alice", "--role", "root"), "Invalid value for '--role'"),
        (("create", "alice", "--role", "admin"), "Error: a staff account named 'alice' exists"),
        (("create", "carol", "--role", "admin"), "Error: the password must be 12 to 1024"),
        (("disable", "nobody"), "Error: no staff account named 'nobody'"),
        (("reset", "nobody"), "Error: no staff account named 'nobody'"),
    ],
)
def test_scf_staff_refusals_are_one_line(
    run: Callable[..., Result], args: tuple[str, ...], says: str
) -> None:
    run("staff", "create", "alice", "--role", "admin", "--stdin", input=PASSWORD)
    password = "short" if args[1] == "carol" else OTHER
    result = (
        run("staff", *args, "--stdin", input=password)
        if args[0] != "disable"
        else run("staff", *args)
    )
    assert result.exit_code in (1, 2) and says in result.output, result.output
    assert "Traceback" not in result.output and password not in result.output
    if result.exit_code == 1:
        assert result.output.count("\n") == 1
