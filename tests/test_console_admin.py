"""The console's API keys, Staff and Audit pages: a key shown once that works on the Open311
door until revoked; accounts created, reset and disabled (never one's own); the audit log,
newest first, a hundred to a page; admins only where it matters; no form without its CSRF
token changes anything."""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from scf_plugins.intake import catalog
from scf_plugins.ops import audit, staff
from scf_plugins.server import apikeys
from scf_plugins.store.tables import audit as audit_table
from scf_plugins.testing import Harness
from scf_plugins.timeutil import iso, local_time, utcnow

from .consoled import CHEAP, Client, Consoled, make_account, serve_console

ZONE = 'timezone = "America/New_York"\n'
REPORT = {  # a report the fake plugin's POTHOLE takes
    "service_code": "POTHOLE",
    "lat": "41.3083",
    "long": "-72.9279",
    "description": "Deep pothole by the school gate.",
    "attribute[1]": "12",
    "attribute[2]": "private-answer@example.org",
}
KEY = re.compile(r"scf_[A-Za-z0-9_-]{20,}")
BOB = "bobs first passphrase"
BOB_NEW = "bobs second passphrase"


@pytest.fixture(autouse=True)
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest costs (the library's defaults take ~50 ms a hash)."""
    monkeypatch.setattr(staff, "HASHER", CHEAP)


@pytest.fixture
def served(basic: Harness) -> Consoled:
    """The basic config (its organization in New York's zone) served with its request types
    loaded; an admin ``ada`` and a staff account ``sam``."""
    basic.write_config(
        basic.path.read_text().replace("[organization]\n", "[organization]\n" + ZONE)
    )
    console = serve_console(basic)
    catalog.refresh(basic.settings, basic.host, console.store)
    make_account(console, "ada", "admin")
    make_account(console, "sam", "staff")
    return console


def signed_in(served: Consoled, name: str, password: str | None = None) -> Client:
    """A browser signed in as ``name``."""
    client = served.client()
    done = client.sign_in(name) if password is None else client.sign_in(name, password)
    assert done.status_code == 303 and done.headers["location"] == "/console/", name
    return client


def main_text(page: str) -> str:
    """The page's main part as words."""
    main = page[page.index("<main") : page.index("</main>")]
    main = re.sub(r"</?(?:strong|a|span|code)\b[^>]*>", "", main)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", main)).split())


def report(served: Consoled, key: str) -> requests.Response:
    """A resident's report through the Open311 door with ``key``."""
    data = {"api_key": key, **REPORT}
    return requests.post(f"{served.url}/open311/v2/requests.json", data=data, timeout=10)


# -- API keys ------------------------------------------------------------------------------


def test_a_key_is_shown_once_works_on_the_door_and_stops_when_revoked(
    served: Consoled, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ada = signed_in(served, "ada")
    page = ada.get("/console/api-keys")
    assert page.status_code == 200 and "No API key yet" in page.text
    assert '<label for="key-name">Name</label>' in page.text
    created = ada.submit("/console/api-keys", {"name": "fixmystreet"})
    # The page answering the POST shows it, and nothing may keep it.
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    [key] = set(KEY.findall(created.text))
    assert "shown only this once" in created.text
    assert "set-cookie" not in created.headers  # not in a flash cookie either
    again = ada.get("/console/api-keys")
    assert key not in again.text and "fixmystreet" in again.text
    assert "active" in main_text(again.text) and "never" in main_text(again.text)
    # The revoke button says which key it revokes, and shows the word Revoke.
    assert '<button type="submit" aria-label="Revoke fixmystreet">Revoke</button>' in again.text
    assert report(served, key).status_code == 200
    assert "never" not in main_text(ada.get("/console/api-keys").text)  # last used: now

    # Rotate: a new key, shown once; the one it replaces works a day more.
    assert '<button type="submit" aria-label="Rotate fixmystreet">Rotate</button>' in again.text
    rotated = ada.submit("/console/api-keys/rotate", {"name": "fixmystreet"})
    assert rotated.status_code == 200 and "keeps working until" in rotated.text
    [new_key] = set(KEY.findall(rotated.text))
    assert new_key != key and new_key not in ada.get("/console/api-keys").text
    assert report(served, new_key).status_code == 200
    assert report(served, key).status_code == 200

    revoked = ada.submit("/console/api-keys/revoke", {"name": "fixmystreet"})
    assert revoked.status_code == 303 and revoked.headers["location"] == "/console/api-keys"
    after = ada.get("/console/api-keys").text
    assert "Revoked the API key fixmystreet" in after and "revoked 20" in main_text(after)
    assert report(served, key).status_code == 403
    assert report(served, new_key).status_code == 403
    entries = [(e.actor, e.action) for e in audit.listed(served.store)]
    assert ("ada (console)", "api_keys.create") in entries
    assert ("ada (console)", "api_keys.rotate") in entries
    assert ("ada (console)", "api_keys.revoke") in entries
    for secret in (key, new_key):
        assert secret not in caplog.text
        assert all(secret not in f"{e.actor} {e.detail}" for e in audit.listed(served.store))
        # Shown once means once: only the POST's answer ever held it.
        assert sum(secret in r for r in ada.everything()) == 1


def test_a_key_name_in_use_or_unusable_is_the_core_s_one_line(served: Consoled) -> None:
    ada = signed_in(served, "ada")
    ada.get("/console/api-keys")
    ada.submit("/console/api-keys", {"name": "fixmystreet"})
    refused = ada.submit("/console/api-keys", {"name": "fixmystreet"})
    assert refused.status_code == 303
    assert (
        "an API key named &#39;fixmystreet&#39; exists already" in ada.get("/console/api-keys").text
    )
    ada.submit("/console/api-keys", {"name": "no spaces please"})
    assert "is not usable" in ada.get("/console/api-keys").text
    assert [k.name for k in apikeys.listed(served.store)] == ["fixmystreet"]


# -- Staff ---------------------------------------------------------------------------------


def test_accounts_are_created_reset_and_disabled(
    served: Consoled, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ada = signed_in(served, "ada")
    page = ada.get("/console/staff")
    assert page.status_code == 200
    for label in ("Username", "Role", "Password"):
        assert f">{label}</label>" in page.text
    created = ada.submit(
        "/console/staff/create", {"username": "bob", "role": "staff", "password": BOB}
    )
    assert created.status_code == 303
    page = ada.get("/console/staff").text
    assert "Created the staff account bob." in page
    assert re.search(r"bob staff active never", main_text(page))
    bob = signed_in(served, "bob", BOB)
    assert bob.get("/console/staff").status_code == 403  # a staff account

    # Reset: the old password stops working and bob's session ends.
    assert (
        ada.submit("/console/staff/reset", {"name": "bob", "password": BOB_NEW}).status_code == 303
    )
    assert "Reset the password of bob" in ada.get("/console/staff").text
    assert bob.get("/console/").status_code == 303
    assert served.client().sign_in("bob", BOB).status_code != 303
    bob = signed_in(served, "bob", BOB_NEW)

    # Disable: bob's session ends at once and he cannot sign in again.
    assert ada.submit("/console/staff/disable", {"name": "bob"}).status_code == 303
    page = ada.get("/console/staff").text
    assert "Disabled the account bob" in page and "bob staff disabled since" in main_text(page)
    assert bob.get("/console/").status_code == 303
    assert served.client().sign_in("bob", BOB_NEW).status_code != 303

    actions = [(e.actor, e.action) for e in audit.listed(served.store)]
    for action in ("staff.create", "staff.reset", "staff.disable"):
        assert ("ada (console)", action) in actions
    for secret in (BOB, BOB_NEW):
        assert all(secret not in r for r in ada.everything())
        assert secret not in caplog.text
        assert all(secret not in e.detail for e in audit.listed(served.store))


def test_an_admin_cannot_disable_their_own_account(served: Consoled) -> None:
    ada = signed_in(served, "ada")
    page = ada.get("/console/staff").text
    assert 'aria-label="Disable ada"' not in page and 'aria-label="Disable sam"' in page
    refused = ada.submit("/console/staff/disable", {"name": "ada"})
    assert refused.status_code == 303
    assert (
        "You cannot disable your own account; another administrator can."
        in ada.get("/console/staff").text
    )
    assert ada.get("/console/").status_code == 200
    [account] = [a for a in staff.listed(served.store) if a.name == "ada"]
    assert account.disabled_at is None


def test_a_password_the_core_refuses_is_its_one_line(served: Consoled) -> None:
    ada = signed_in(served, "ada")
    ada.get("/console/staff")
    ada.submit("/console/staff/create", {"username": "carl", "role": "staff", "password": "short"})
    assert "the password must be 12 to 1024 characters" in ada.get("/console/staff").text
    ada.submit("/console/staff/create", {"username": "carl", "role": "boss", "password": BOB})
    assert "the role must be admin or staff" in ada.get("/console/staff").text
    assert [a.name for a in staff.listed(served.store)] == ["ada", "sam"]


# -- Audit ---------------------------------------------------------------------------------


def test_the_audit_log_newest_first_in_the_organization_s_zone_with_links(
    served: Consoled,
) -> None:
    audit.record(served.store, "tests (cli)", "issues.comment", issue_id=7, detail="comment 17")
    audit.record(served.store, "tests (cli)", "credentials.save", integration="alpha",
                 detail="saved the test password")  # fmt: skip
    ada = signed_in(served, "ada")
    page = ada.get("/console/audit")
    assert page.status_code == 200
    text = main_text(page.text)
    [newest, older] = audit.listed(served.store, 2)
    when = local_time(iso(newest.at), "America/New_York")
    assert when.endswith(("EST", "EDT")) and when in text
    assert text.index("saved the test password") < text.index("comment 17")
    assert '<a href="/console/issues/7">issue 7</a>' in page.text
    assert '<a href="/console/integrations/alpha">alpha</a>' in page.text
    # Every signed-in account reads it; the integration's page is for admins, so no link.
    sam = signed_in(served, "sam")
    seen = sam.get("/console/audit")
    assert seen.status_code == 200 and "comment 17" in seen.text
    assert '<a href="/console/issues/7">issue 7</a>' in seen.text
    assert 'href="/console/integrations/alpha"' not in seen.text
    assert older.detail == "comment 17"


def test_the_audit_log_is_paged_by_a_hundred(served: Consoled) -> None:
    start = utcnow()
    rows = [
        {"at": start + timedelta(seconds=n), "actor": "tests (cli)", "action": "issues.edit",
         "detail": f"entry number {n:03d}."}
        for n in range(150)
    ]  # fmt: skip
    with served.store.transaction() as conn:
        conn.execute(audit_table.insert(), rows)
        total = conn.execute(select(func.count()).select_from(audit_table)).scalar()
    ada = signed_in(served, "ada")
    first = ada.get("/console/audit").text
    assert first.count("<tr>") == 1 + 100  # the header row, and a hundred entries
    assert "entry number 149." in first and "entry number 050." in first
    assert "entry number 049." not in first
    older = re.search(r'href="(/console/audit\?before=\d+)" rel="next">Older entries', first)
    assert older is not None
    audit.record(served.store, "tests (cli)", "issues.edit", detail="written meanwhile")
    second = ada.get(older[1]).text  # keyset pages: the new entry shifts nothing
    assert second.count("<tr>") == 1 + (total or 0) - 100
    assert "entry number 049." in second and "entry number 050." not in second
    assert "entry number 000." in second and "Newer entries" in second
    assert "Older entries" not in second
    newer = re.search(r'href="(/console/audit\?after=\d+)" rel="prev">Newer entries', second)
    assert newer is not None
    back = ada.get(newer[1]).text
    assert back.count("<tr>") == 101 and "entry number 149." in back
    assert "entry number 050." in back and "written meanwhile" not in back
    assert "written meanwhile" in ada.get("/console/audit").text
    for cursor in ("?before=-1", "?before=x", "?after=1&before=2", "?page=2"):
        assert ada.get("/console/audit" + cursor).text.count("<tr>") == 101  # the newest page


# -- who may ---------------------------------------------------------------------------------


def test_a_staff_account_gets_403_and_changes_nothing(served: Consoled) -> None:
    sam = signed_in(served, "sam")
    sam.get("/console/")
    for path in ("/console/api-keys", "/console/staff"):
        assert sam.get(path).status_code == 403
    for path, fields in (
        ("/console/api-keys", {"name": "sams-key"}),
        ("/console/api-keys/revoke", {"name": "fixmystreet"}),
        ("/console/api-keys/rotate", {"name": "fixmystreet"}),
        ("/console/staff/create", {"username": "eve", "role": "admin", "password": BOB}),
        ("/console/staff/disable", {"name": "ada"}),
        ("/console/staff/reset", {"name": "ada", "password": BOB}),
    ):
        answer = sam.submit(path, fields)
        assert answer.status_code == 403 and not KEY.search(answer.text), path
    assert apikeys.listed(served.store) == []
    assert [(a.name, a.disabled_at) for a in staff.listed(served.store)] == [
        ("ada", None),
        ("sam", None),
    ]
    assert signed_in(served, "ada").get("/console/").status_code == 200  # not reset


def test_forms_without_the_csrf_token_change_nothing(served: Consoled) -> None:
    ada = signed_in(served, "ada")
    ada.get("/console/staff")
    before = audit.listed(served.store)
    for path, fields in (
        ("/console/api-keys", {"name": "fixmystreet"}),
        ("/console/api-keys/revoke", {"name": "fixmystreet"}),
        ("/console/api-keys/rotate", {"name": "fixmystreet"}),
        ("/console/staff/create", {"username": "eve", "role": "admin", "password": BOB}),
        ("/console/staff/disable", {"name": "sam"}),
        ("/console/staff/reset", {"name": "sam", "password": BOB}),
    ):
        assert ada.post(path, fields).status_code == 403, path
        assert ada.post(path, {**fields, "csrf_token": "forged"}).status_code == 403, path
    assert apikeys.listed(served.store) == []
    assert [a.name for a in staff.listed(served.store)] == ["ada", "sam"]
    assert signed_in(served, "sam").get("/console/").status_code == 200
    assert audit.listed(served.store) == before
