"""Unsubscribe tokens and what they do (``ops.consent``): signed, naming no one, and stopping
the emails of one report or of one address."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from scf_plugins.ops import consent
from scf_plugins.plugins import PluginHost
from scf_plugins.store.store import Store
from scf_plugins.store.tables import email_optouts, issues, meta
from scf_plugins.testing import FakeRemote, Harness

from .conftest import BASIC

pytestmark = pytest.mark.store
ANSWERS = ("1=Yes", "2=private@example.net", "4=No")  # the fake's POTHOLE questions


@pytest.fixture
def world(
    harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote]
) -> tuple[Store, list[int]]:
    """A store with three issues: two reported by one resident (written two ways), one by
    another."""
    h = harness(BASIC, host=fake_host[0])
    ids = [
        h.report("POTHOLE", *ANSWERS, email="resident@example.org"),
        h.report("POTHOLE", *ANSWERS, email=" Resident@Example.ORG "),
        h.report("POTHOLE", *ANSWERS, email="neighbour@example.org"),
    ]
    return h.store(), ids


def wants(store: Store, issue_id: int) -> bool:
    """Whether the issue's reporter may be emailed now."""
    with store.read() as conn:
        row = conn.execute(select(issues).where(issues.c.id == issue_id)).mappings().one()
        return consent.wants_mail(conn, row)


def test_a_token_round_trips_and_names_no_one(world: tuple[Store, list[int]]) -> None:
    store, (first, *_) = world
    for scope in consent.SCOPES:
        token = consent.token(store, first, scope)
        assert token == consent.token(store, first, scope)  # a resend links the same
        assert consent.verify(store, token) == (first, scope)
        assert re.fullmatch(r"[0-9]+[ia][A-Za-z0-9_-]{22}", token)
        assert "@" not in token and "resident" not in token.lower()
    assert consent.token(store, first, "issue") != consent.token(store, first, "address")


def test_forged_and_garbled_tokens_verify_as_nothing(world: tuple[Store, list[int]]) -> None:
    store, (first, second, _) = world
    token = consent.token(store, first, "issue")
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    other_issue = f"{second}{token[len(str(first)) :]}"
    other_scope = token.replace(f"{first}i", f"{first}a", 1)
    for bad in [flipped, other_issue, other_scope, token[:-1], token + "A", "", "abc",
                "0i" + "A" * 22, "1x" + "A" * 22, token.upper(), token + "\n",
                "9" * 40 + "i" + "A" * 22, "../" + token]:  # fmt: skip
        assert consent.verify(store, bad) is None, bad


def test_the_signing_key_is_the_stores_and_made_once(
    world: tuple[Store, list[int]],
    harness: Callable[..., Harness],
    fake_host: tuple[PluginHost, FakeRemote],
) -> None:
    store, (first, *_) = world
    token = consent.token(store, first, "issue")
    with store.read() as conn:
        keys = conn.execute(select(meta.c.value).where(meta.c.key == consent.SIGNING_KEY)).all()
    assert len(keys) == 1 and len(keys[0][0]) == 64
    elsewhere = harness(BASIC, host=fake_host[0])  # another store, another key
    assert consent.verify(elsewhere.store(), token) is None


def test_unsubscribing_from_a_report_stops_that_report_only(
    world: tuple[Store, list[int]],
) -> None:
    store, (first, second, third) = world
    assert all(wants(store, i) for i in (first, second, third))
    said = consent.unsubscribe(store, first, "issue")
    assert said == f"You will get no more emails about report {first}."
    assert not wants(store, first) and wants(store, second) and wants(store, third)
    with store.read() as conn:
        assert conn.execute(select(email_optouts)).all() == []


def test_unsubscribing_an_address_stops_its_every_report_and_keeps_only_a_hash(
    world: tuple[Store, list[int]],
) -> None:
    store, (first, second, third) = world
    consent.unsubscribe(store, first, "address")
    consent.unsubscribe(store, second, "address")  # twice: still one opt-out
    assert not wants(store, first) and not wants(store, second)
    assert wants(store, third)
    with store.read() as conn:
        (row,) = conn.execute(select(email_optouts)).all()
    assert re.fullmatch(r"[0-9a-f]{64}", row.address_hash)
    assert "resident" not in row.address_hash


def test_an_issue_that_is_not_there_is_a_lookup_error(world: tuple[Store, list[int]]) -> None:
    store, _ = world
    with pytest.raises(LookupError):
        consent.unsubscribe(store, 999_999, "issue")


def test_an_issue_without_an_email_is_never_mailed(
    harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote]
) -> None:
    h = harness(BASIC, host=fake_host[0])
    issue_id = h.report("POTHOLE", *ANSWERS)
    assert not wants(h.store(), issue_id)
    consent.unsubscribe(h.store(), issue_id, "address")  # nothing to opt out; no failure
    with h.store().read() as conn:
        assert conn.execute(select(email_optouts)).all() == []
