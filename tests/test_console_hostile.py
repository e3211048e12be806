"""The staff console and the unsubscribe pages under attack, over loopback HTTP: forged and
cross-site forms, open redirects and header injection, session fixation and tampered cookies,
markup typed into every field (and sent by the remote system), path and method tricks, a
sign-in flood and a slow sign-in, and forged or replayed unsubscribe tokens.

Each test is an attack that fails if it works. The ones that work today are marked
``xfail(strict=True)`` with the bug in their reason: fixing it turns them into failures to
remove the mark from. :mod:`.console_attacks` has the payloads and the judges.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select, update

from scf_plugins.ops import audit, consent, staff
from scf_plugins.server import apikeys
from scf_plugins.server.console.page import CROSS_SITE
from scf_plugins.store.tables import email_optouts, issues
from scf_plugins.testing import Door, Harness

from .conftest import BASIC
from .console_attacks import (
    MARK,
    PAYLOAD,
    SHORT,
    MeetingHasher,
    assert_inert,
    get,
    landed,
    lands_in_console,
    multipart,
    raw,
)
from .consoled import CHEAP, PASSWORD, Client, Consoled, make_account, serve_console
from .test_consent import ANSWERS
from .test_hostile_clients import Serve, memory

ATTACKER = "203.0.113.66"  # a client address beyond this machine (X-Forwarded-For)
WRONG = "a wrong passphrase, 77"
KEYS = "/console/api-keys"
SCRIPT_LINE = f'<a href="javascript:{MARK}()">{MARK}</a>'  # a link, typed into a comment
EMAIL = f"<img/src=x/onerror={MARK}()>@evil.example"  # markup that is a valid address
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
HOST = "127.0.0.1"  # where the served console listens (the cookie jar's domain for it)
SECURITY = ("content-security-policy", "x-frame-options", "x-content-type-options")


@pytest.fixture(autouse=True)
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest costs (the library's defaults take ~50 ms a hash)."""
    monkeypatch.setattr(staff, "HASHER", CHEAP)


@pytest.fixture
def served(basic: Harness) -> Consoled:
    """The basic config's console, with an admin ``ada`` and a staff account ``sam``."""
    console = serve_console(basic)
    make_account(console, "ada", "admin")
    make_account(console, "sam", "staff")
    return console


def signed_in(served: Consoled, name: str, page: str = "/console/") -> Client:
    """A browser signed in as ``name``, showing ``page`` (its forms' CSRF token kept)."""
    client = served.client()
    assert client.sign_in(name).status_code == 303
    assert client.get(page).status_code == 200
    return client


def cookie_of(client: Client, name: str = "scf_console") -> str:
    """The value of a console cookie in the browser's jar."""
    value = client.http.cookies.get(name, path="/console")
    assert value, f"no {name} cookie"
    return str(value)


def flipped(token: str) -> str:
    """``token`` with its last character changed."""
    return token[:-1] + ("1" if token[-1] == "0" else "0")


def sent(data: Any, kind: str | None = None, **more: Any) -> dict[str, Any]:
    """``requests`` options for the body ``data`` sent as Content-Type ``kind``."""
    return {"data": data, **({"headers": {"Content-Type": kind}} if kind else {}), **more}


def key_names(served: Consoled) -> list[str]:
    """The API keys the store holds."""
    return [key.name for key in apikeys.listed(served.store)]


# -- forged forms ----------------------------------------------------------------------------


def test_forged_forms_create_nothing(served: Consoled) -> None:
    ada, sam = signed_in(served, "ada", KEYS), signed_in(served, "sam")
    stranger = served.client()
    stranger.get("/console/login")  # a sign-in form's own token
    good, url = ada.csrf, served.url + KEYS
    forms: list[tuple[str, dict[str, Any]]] = [
        ("no token", sent({"name": "none"})),
        ("an empty token", sent({"csrf_token": " ", "name": "empty"})),
        ("another session's token", sent({"csrf_token": sam.csrf, "name": "sams"})),
        ("a sign-in form's token", sent({"csrf_token": stranger.csrf, "name": "login"})),
        ("the session cookie", sent({"csrf_token": cookie_of(ada), "name": "cookie"})),
        ("one character changed", sent({"csrf_token": flipped(good), "name": "flip"})),
        ("cut short", sent({"csrf_token": good[:32], "name": "short"})),
        ("doubled", sent({"csrf_token": good * 2, "name": "doubled"})),
        ("then a wrong one", sent([("csrf_token", good), ("csrf_token", "x" * 64)])),
        ("in the query string", sent({"name": "query"}, params={"csrf_token": good})),
        ("as JSON", sent(json.dumps({"csrf_token": good, "name": "json"}), "application/json")),
        ("as text/plain", sent(f"csrf_token={good}\r\nname=plain\r\n", "text/plain")),
        ("as multipart", sent(*multipart({"csrf_token": good, "name": "multipart"}))),
        ("with no type", sent(f"csrf_token={good}&name=untyped".encode())),
    ]
    for what, options in forms:
        answer = ada.http.post(url, allow_redirects=False, timeout=10, **options)
        assert answer.status_code in (403, 415), (what, answer.status_code)
        assert "nothing was changed" in answer.text, what
    # A token in a cookie of the same name is not a field of the form either.
    ada.http.cookies.set("csrf_token", good, path="/console")
    assert ada.post(KEYS, {"name": "cookied"}).status_code == 403
    assert key_names(served) == []
    assert not [e for e in audit.listed(served.store) if e.action.startswith("api_keys")]


def test_oversized_and_unreadable_forms_are_refused_and_change_nothing(served: Consoled) -> None:
    ada = signed_in(served, "ada", KEYS)
    token, url = ada.csrf, served.url + KEYS
    huge = ada.submit(KEYS, {"name": "huge", "padding": "x" * 300 * 1024})
    assert huge.status_code == 413 and "too large" in huge.text
    fields = "&".join(f"f{n}=1" for n in range(5000)) + f"&csrf_token={token}&name=many"
    kind = {"Content-Type": "application/x-www-form-urlencoded"}
    many = ada.http.post(url, data=fields, headers=kind, allow_redirects=False, timeout=10)
    assert many.status_code == 400
    latin = ada.http.post(url, data=f"csrf_token={token}&name=caf%E9", headers=kind,
                          allow_redirects=False, timeout=10)  # fmt: skip
    assert latin.status_code == 400 and "UTF-8" in latin.text
    cookie = f"scf_console={cookie_of(ada)}"
    lying = (f"POST {KEYS} HTTP/1.1\r\nHost: console\r\nCookie: {cookie}\r\nContent-Type: "
             "application/x-www-form-urlencoded\r\nContent-Length: 12abc\r\nConnection: close"
             f"\r\n\r\ncsrf_token={token}&name=lying").encode()  # fmt: skip
    assert raw(served.url, lying)[0] in (400, 413)
    # A name the core cannot take (a NUL, a line break inside) is its one-line refusal.
    for name in ("a\x00b", "a\r\nSet-Cookie: pwned=1", "x" * 5000):
        refused = ada.submit(KEYS, {"name": name})
        assert refused.status_code == 303 and "pwned" not in str(refused.headers)
    assert key_names(served) == []
    assert ada.get(KEYS).status_code == 200  # the server is none the worse


# -- cross-site ------------------------------------------------------------------------------


def test_cross_site_posts_are_refused_even_with_a_good_token(served: Consoled) -> None:
    ada = signed_in(served, "ada", KEYS)
    port = served.url.rsplit(":", 1)[1]
    foreign = [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a data: page
        {"Origin": f"{served.url}.evil.example"},
        {"Origin": served.url.replace("http:", "https:")},
        {"Origin": f"http://localhost:{port}"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": served.url, "Sec-Fetch-Site": "cross-site"},
    ]
    for headers in foreign:
        answer = ada.submit(KEYS, {"name": "crossed"}, headers=headers)
        assert answer.status_code == 403 and CROSS_SITE in answer.text, headers
        answer = ada.submit("/console/logout", headers=headers)
        assert answer.status_code == 403, headers
        victim = served.client()  # a sign-in forced on a victim (login CSRF)
        victim.get("/console/login")
        forced = victim.submit("/console/login", {"username": "sam", "password": PASSWORD},
                               headers=headers)  # fmt: skip
        assert forced.status_code == 403 and "scf_console=" not in str(forced.headers), headers
    # A page of another site can send neither the cookie's token nor a session's.
    forged = ada.post(KEYS, {"name": "refered"}, headers={"Referer": "https://evil.example/"})
    assert forged.status_code == 403
    assert key_names(served) == [] and ada.get("/console/").status_code == 200


# -- redirects -------------------------------------------------------------------------------

ELSEWHERE = [
    "//evil.example/console/",
    "///evil.example/console/",
    "/\\evil.example/console/",
    "\\\\evil.example/console/",
    "/console/\\..\\..\\evil",
    "https://evil.example/console/",
    "http:evil.example/console/",
    " //evil.example/console/",
    "\t/console/",
    "javascript:alert(1)//console/",
    "/console//evil.example/",
    "/%2F%2Fevil.example/console/",
    "/console/%2F%2Fevil.example/",
    "/console/%5C%5Cevil.example/",
    "/console/login?next=//evil.example",
    "/console/\r\nSet-Cookie: pwned=1",
    "/console/%0d%0aSet-Cookie:%20pwned=1",
    "/console/\u2028x",
    "/CONSOLE/",
    "/elsewhere",
]


@pytest.mark.parametrize("asked", ELSEWHERE)
def test_next_never_sends_anyone_off_the_console(served: Consoled, asked: str) -> None:
    fresh = served.client()
    fresh.get("/console/login", params={"next": asked})
    answer = fresh.submit("/console/login", {"username": "ada", "password": PASSWORD,
                                            "next": asked})  # fmt: skip
    again = fresh.get("/console/login", params={"next": asked})  # signed in: sent on at once
    for redirect in (answer, again):
        location = redirect.headers["location"]
        assert redirect.status_code == 303 and lands_in_console(location), location
        assert "\r" not in location and "\n" not in location
        assert "pwned" not in redirect.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "asked", ["/console/../healthz", "/console/%2e%2e/metrics", "/console/issues/.%2E/../media/x"]
)
def test_next_with_dot_segments_stays_in_the_console(served: Consoled, asked: str) -> None:
    answer = served.client().sign_in("ada", next_path=asked)
    assert lands_in_console(answer.headers["location"]), answer.headers["location"]


def test_a_link_with_an_encoded_slash_cannot_leave_the_console_after_sign_in(
    served: Consoled,
) -> None:
    status, headers, _ = raw(served.url, get("/console/..%2Fhealthz"))
    assert status == 303
    fresh = served.client()
    page = fresh.get(headers["location"]).text
    found = re.search(r'name="next" value="([^"]*)"', page)
    assert found
    answer = fresh.submit("/console/login", {"username": "ada", "password": PASSWORD,
                                            "next": html.unescape(found.group(1))})  # fmt: skip
    assert lands_in_console(answer.headers["location"]), answer.headers["location"]


def test_no_header_is_injected_through_a_redirect(served: Consoled) -> None:
    # The Host a client names is never written into a page or a redirect.
    for path in ("/console/login", "/console/issues"):
        request = get(path).replace(b"Host: console", b"Host: evil.example")
        status, headers, body = raw(served.url, request)
        assert status in (200, 303) and b"evil" not in body and "evil" not in str(headers)
    for path in ("/console/issues?x=%0d%0aSet-Cookie:%20pwned=1",
                 "/console/issues?x=%0aLocation:%20https://evil.example"):  # fmt: skip
        status, headers, _ = raw(served.url, get(path))
        assert status == 303 and lands_in_console(headers["location"]), headers
        assert "pwned" not in headers.get("set-cookie", "") and "location:" not in str(headers)
    status, headers, _ = raw(served.url, get("/console/%0d%0aSet-Cookie:%20pwned=1"))
    assert status in (303, 404) and "pwned" not in headers.get("set-cookie", "")
    ada = signed_in(served, "ada", KEYS)
    revoked = ada.submit(KEYS + "/revoke", {"name": "k\r\nSet-Cookie: pwned=1"})
    assert revoked.status_code == 303 and revoked.headers["location"] == KEYS
    assert "pwned" not in revoked.headers.get("set-cookie", "")


# -- sessions and cookies --------------------------------------------------------------------


def test_a_session_cookie_set_before_sign_in_does_not_survive_it(served: Consoled) -> None:
    mallory = signed_in(served, "sam")
    planted = cookie_of(mallory)  # her own session, known to her
    for value in (planted, "chosen-by-mallory.0000", "chosen-by-mallory"):
        victim = served.client()
        victim.get("/console/login")
        # Set in the victim's browser for the console's host and path (by a sibling site, a
        # script on another page, a shared computer): the cookie the server's will replace.
        victim.http.cookies.set("scf_console", value, domain=HOST, path="/console")
        answer = victim.submit("/console/login", {"username": "ada", "password": PASSWORD})
        assert answer.status_code == 303
        fresh = answer.cookies["scf_console"]
        assert fresh != value and fresh.partition(".")[0] not in value
        assert cookie_of(victim) == fresh
        assert "Signed in as <strong>ada</strong>" in victim.get("/console/").text
    # Her session ended when the victim signed in over it: it opens nothing now.
    assert mallory.get("/console/").status_code == 303


def test_tampered_cookies_are_no_session(served: Consoled) -> None:
    ada, sam = signed_in(served, "ada", KEYS), signed_in(served, "sam")
    whole, theirs = cookie_of(ada), cookie_of(sam)
    token, _, mac = whole.partition(".")
    flashed = ada.submit(KEYS + "/revoke", {"name": "nobody"})
    flash = flashed.cookies.get("scf_console_flash")
    form = served.client()
    form.get("/console/login")
    login = form.http.cookies.get("scf_console_login")
    assert flash and login
    forged = [f"{token}.{theirs.partition('.')[2]}", f"{theirs.partition('.')[0]}.{mac}", token,
              f".{mac}", f"{token}.", whole + "0", whole.upper(), f"{token}.{mac}.{mac}",
              flash, login, "a" * 10_000, whole + "." * 3000,
              *(whole[:n] for n in range(1, len(whole), 7))]  # fmt: skip
    for value in forged:
        other = served.client()
        other.http.cookies.set("scf_console", value, path="/console")
        answer = other.get("/console/")
        assert answer.status_code == 303, value[:80]
        other.post("/console/logout", {"csrf_token": ada.csrf})  # ada's token, a forged cookie
    assert ada.get("/console/").status_code == 200  # her session was never ended
    status, _, _ = raw(served.url, get("/console/", f"scf_console={whole}\xff\x00"))
    assert status in (303, 400)
    status, _, _ = raw(served.url, get("/console/", "a=" + "b" * 60_000))
    assert status in (303, 400, 431)
    assert ada.get("/console/").status_code == 200


def test_no_session_csrf_or_sign_in_token_reaches_a_log_line(
    served: Consoled, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ada = served.client()
    ada.get("/console/login")
    tokens = [ada.csrf, str(ada.http.cookies.get("scf_console_login"))]  # the sign-in form's
    answer = ada.submit("/console/login", {"username": "ada", "password": PASSWORD})
    ada.get(KEYS)
    tokens += [cookie_of(ada), cookie_of(ada).partition(".")[0], ada.csrf]  # the session's
    ada.post(KEYS, {"csrf_token": flipped(ada.csrf), "name": "refused"})
    ada.submit(KEYS, {"name": "a-key"})
    thief = served.client()
    thief.http.cookies.set("scf_console", flipped(cookie_of(ada)), path="/console")
    thief.get("/console/")
    ada.sign_out()
    assert answer.status_code == 303 and "console sign-in: ada" in caplog.text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not [token for token in tokens if token[:16] in logged]


def test_a_forged_flash_message_is_not_shown(served: Consoled) -> None:
    ada = signed_in(served, "ada")
    shown = ada.submit(KEYS + "/revoke", {"name": "nobody"}).cookies["scf_console_flash"]
    body, _, mac = shown.partition(".")
    lure = (
        base64.urlsafe_b64encode(json.dumps(["Your session expired; call 555-0100", True]).encode())
        .decode()
        .rstrip("=")
    )  # a phishing line
    for value in (f"{lure}.{mac}", lure, f"{body}x.{mac}"):
        ada.http.cookies.set("scf_console_flash", value, path="/console")
        page = ada.get("/console/").text
        assert "555-0100" not in page and 'class="flash' not in page


# -- markup typed everywhere -----------------------------------------------------------------


@pytest.fixture
def marked(world: Callable[..., Harness]) -> tuple[Consoled, list[int]]:
    """A world whose Cityworks catalogue has markup in a request type's name and questions;
    issues reported with markup in every field, through the console and ``scf report``, sent,
    then commented on and dispatched by the city's staff in markup, and one whose remote
    refusal is markup; the console with ``ada`` (admin) and ``sam`` (staff). Each source's
    markup follows a word of its own, to show where it landed."""
    w = world()
    state = w.emulator.state
    for problem in state.problems:
        if problem["ProblemCode"] == "POTHOLE":
            problem["Description"] = f"Pothole type-name {SHORT}"
    for question in state.qa[101]["Questions"]:
        question["Question"] += f" question-text {SHORT}"
    served = serve_console(w)
    make_account(served, "ada", "admin")
    make_account(served, "sam", "staff")
    ada = signed_in(served, "ada", "/console/integrations/cityworks")
    assert ada.submit("/console/integrations/cityworks/request-types").status_code == 303
    ada.get("/console/issues/new?type=POTHOLE")
    typed = ada.submit("/console/issues/new", {
        "type": "POTHOLE", "summary": PAYLOAD, "description": f"{PAYLOAD}\r\n{PAYLOAD}",
        "address": PAYLOAD, "lat": "41.3083", "lng": "-72.9279", "name": SHORT,
        "email": EMAIL, "phone": "555-0100", "answer:501": "Yes",
        "answer:502": "Smaller than a dinner plate", "answer:503": EMAIL})  # fmt: skip
    assert typed.status_code == 303, typed.text
    by_cli = w.report("POTHOLE", "501=No", "502=Smaller than a dinner plate", f"503={EMAIL}",
                      summary=PAYLOAD, description=PAYLOAD, address=SHORT, name=SHORT)  # fmt: skip
    ids = [int(typed.headers["location"].rsplit("/", 1)[1]), by_cli]
    assert w.sync().acknowledged == 2
    rid = w.remote_id(ids[0])
    state.staff("comment", rid, text=f"To SCF: remote-said {PAYLOAD}", author=SHORT)
    state.staff("set_field", rid, field="DispatchTo", value=f"crew-named {SHORT}")
    w.later(minutes=10)
    w.sync()
    ids.append(w.report(summary=SHORT))  # not sent: the remote system's refusal stored on it
    with served.store.transaction() as conn:
        conn.execute(update(issues).where(issues.c.id == ids[2]).values(
            last_error=f"remote-error {PAYLOAD}", last_error_kind="permanent",
            attention=PAYLOAD, attention_kind="permanent", remote_status=SHORT))  # fmt: skip
    return served, ids


def test_markup_typed_or_sent_by_the_remote_system_stays_text_on_every_page(
    marked: tuple[Consoled, list[int]],
) -> None:
    served, ids = marked
    ada = signed_in(served, "ada", f"/console/issues/{ids[1]}")
    ada.submit(f"/console/issues/{ids[0]}/comment", {"comment": f"{PAYLOAD}\r\n{SCRIPT_LINE}"})
    ada.submit(f"/console/issues/{ids[1]}/withdraw", {"reason": PAYLOAD})
    actions = [  # each refused, with a one-line flash on the page it goes back to
        (KEYS, {"name": SHORT}), (KEYS + "/revoke", {"name": SHORT}),
        ("/console/staff/create", {"username": SHORT, "role": SHORT, "password": PASSWORD}),
        ("/console/staff/disable", {"name": SHORT}),
        ("/console/staff/reset", {"name": SHORT, "password": PASSWORD}),
        ("/console/integrations/cityworks/password", {"environment": SHORT, "password": "x"}),
        (f"/console/issues/{ids[0]}/recategorize", {"type": SHORT}),
        (f"/console/issues/{ids[2]}/edit", {"summary": PAYLOAD, "lat": SHORT, "lng": "1"}),
    ]  # fmt: skip
    flashed = []
    for path, fields in actions:
        answer = ada.submit(path, fields)
        assert answer.status_code == 303, (path, answer.status_code)
        flashed.append(ada.get(answer.headers["location"]).text)
        assert landed(flashed[-1]), f"{path}: no markup reached the page after it"
    pages = {
        "overview": "/console/", "issues": "/console/issues",
        "search": f"/console/issues?search={quote(SHORT)}",
        "bad filter": f"/console/issues?status={quote(SHORT)}",
        "report": "/console/issues/new?type=POTHOLE",
        "report type": f"/console/issues/new?type={quote(SHORT)}",
        "integrations": "/console/integrations", "integration": "/console/integrations/cityworks",
        "no integration": f"/console/integrations/{quote(SHORT, safe='')}",
        "api keys": KEYS, "staff": "/console/staff", "audit": "/console/audit",
        "recategorize": f"/console/issues/{ids[2]}?type={quote(SHORT)}",
        **{f"issue {n}": f"/console/issues/{n}" for n in ids},
    }  # fmt: skip
    for name, path in pages.items():
        page = ada.get(path).text
        assert_inert(page, name)
        if name not in ("overview", "integrations", "api keys", "staff"):  # no typed words
            assert landed(page), f"{name}: the payload never reached it"
    for n, page in enumerate(flashed):
        assert_inert(page, f"flash {actions[n][0]}")
    words = {  # where each source's markup must have landed (as text)
        f"/console/issues/{ids[0]}": ("remote-said", "crew-named", "question-text"),
        "/console/issues/new?type=POTHOLE": ("type-name", "question-text"),
        "/console/integrations/cityworks": ("type-name", "remote-error"),
        f"/console/issues/{ids[2]}": ("remote-error",),
    }
    for path, expected in words.items():
        page = ada.get(path).text
        assert all(word in page for word in expected), (path, expected)
    sam = signed_in(served, "sam")
    assert_inert(sam.get(f"/console/issues/{ids[0]}").text, "issue as staff")
    assert_inert(served.client().get(f"/console/login?next=/console/{quote(PAYLOAD)}").text,
                 "sign-in page")  # fmt: skip


# -- paths and methods -----------------------------------------------------------------------

TRICKS = [
    "/console/issues/../api-keys", "/console/issues/..%2Fapi-keys", "/console/./api-keys",
    "/console/issues/1%2F..%2F..%2Fapi-keys", "/console/api-keys/", "/console/API-KEYS",
    "/console/api-keys%00", "/console/api-keys;x", "/console//api-keys", "/console/api-keys%2F",
    "/console/issues/%D9%A1", "/console/issues/%EF%BC%91", "/console/%FF", "/console/%F0%9F%92%A5",
    "/console/issues/1%2F..%2F", "/console/" + "a" * 20_000, "/console/static/..%2Fauth.py",
    "/console/static/%2e%2e/auth.py", "/console/static/../templates/base.html",
    "/console/static/..%5Cauth.py", "/console/static//etc/passwd", "/console/static/x.css%00.py",
]  # fmt: skip


def test_path_tricks_open_no_admin_page_and_send_anonymous_visitors_to_sign_in(
    served: Consoled,
) -> None:
    sam = signed_in(served, "sam")
    cookie = f"scf_console={cookie_of(sam)}"
    for path in TRICKS:
        status, headers, body = raw(served.url, get(path, cookie))
        assert status in (403, 404), (path[:60], status)
        assert b"Create key" not in body and b"import " not in body, path[:60]
        assert all(h in headers for h in SECURITY), path[:60]
        status, headers, _ = raw(served.url, get(path))
        assert status in (303, 404), (path[:60], status)
        if status == 303:
            assert headers["location"].startswith("/console/login"), path[:60]
    assert raw(served.url, get("/console/%61pi-keys", cookie))[0] == 403  # decoded: the page
    for query in ("?before=%D9%A1", "?after=%EF%BC%91", "?search=%F0%9F%92%A5%00"):
        assert sam.get("/console/issues" + query).status_code == 400, query
    assert sam.get("/console/issues?search=%F0%9F%92%A5").status_code == 200


def test_other_methods_change_nothing_and_echo_nothing(served: Consoled) -> None:
    ada = signed_in(served, "ada", KEYS)
    cookie = cookie_of(ada)
    for method in ("HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "PATCH"):
        for path in ("/console/logout", KEYS, "/console/staff/create", "/console/login"):
            fields = {"csrf_token": ada.csrf, "name": f"by-{method}", "username": "mallory",
                      "role": "admin", "password": PASSWORD}  # fmt: skip
            answer = ada.http.request(method, served.url + path, data=fields,
                                      allow_redirects=False, timeout=10)  # fmt: skip
            expected = {200} if method == "HEAD" and path == KEYS else {303, 404, 405}
            assert answer.status_code in expected, (method, path, answer.status_code)
            if method == "TRACE":  # nothing of the request is sent back
                assert cookie not in answer.text and PASSWORD not in answer.text
            assert all(h in answer.headers for h in SECURITY), (method, path)
        anonymous = served.client().http.request(method, served.url + KEYS,
                                                 allow_redirects=False, timeout=10)  # fmt: skip
        assert anonymous.status_code in (303, 405) and "Create key" not in anonymous.text
    assert key_names(served) == [] and [a.name for a in staff.listed(served.store)] == [
        "ada",
        "sam",
    ]
    assert ada.get("/console/").status_code == 200  # never signed out


# -- a sign-in flood -------------------------------------------------------------------------


def test_a_sign_in_flood_locks_its_address_while_others_sign_in_and_are_served(
    served: Consoled,
) -> None:
    served.console.throttle.first_delay = 0.25  # as served: each failure waits longer
    answers: list[tuple[int, float]] = []

    def attack(n: int) -> None:  # one form, sent again and again until the address is locked
        attacker = served.client(ATTACKER)
        attacker.get("/console/login")
        for _ in range(100):
            started = time.monotonic()
            answer = attacker.submit("/console/login", {"username": f"guess{n}",
                                                        "password": WRONG})  # fmt: skip
            answers.append((answer.status_code, time.monotonic() - started))
            if answer.status_code == 429:
                return

    attackers = [threading.Thread(target=attack, args=(n,)) for n in range(10)]
    for thread in attackers:
        thread.start()
    honest: list[float] = []
    ada = served.client("198.51.100.4")
    while any(thread.is_alive() for thread in attackers) or not honest:
        time.sleep(0.1)  # a person's pace: well within the GETs an address may make
        started = time.monotonic()
        if not honest:
            assert ada.sign_in("ada").status_code == 303
        assert ada.get("/console/issues").status_code == 200
        honest.append(time.monotonic() - started)
    assert max(honest) < 3.0, f"another person waited {max(honest):.1f} s"
    statuses = [status for status, _ in answers]
    assert set(statuses) <= {200, 429, 503} and statuses.count(429) == 10, set(statuses)
    assert statuses.count(200) <= 20  # the guesses tried: the address's twenty, no more
    refused = [seconds for status, seconds in answers if status != 200]
    assert max(refused) < 1.5  # refused before any hash or delay
    assert served.client(ATTACKER).sign_in("ada").status_code == 429


def test_staff_can_sign_in_while_a_flood_holds_the_password_checks(
    served: Consoled, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = served.client("192.0.2.7")  # her browser, which has signed in before
    assert ada.sign_in("ada").status_code == 303
    ada.get("/console/")
    ada.sign_out()
    answered = threading.Event()
    hasher = MeetingHasher(CHEAP, meet=1, held=WRONG, ready=answered.is_set)
    monkeypatch.setattr(staff, "HASHER", hasher)
    flood = [served.client(f"2001:db8:{n}::1") for n in range(2)]  # two /64s: two addresses
    for client in flood:
        client.get("/console/login")
    with ThreadPoolExecutor(len(flood)) as pool:
        guess = {"username": "nobody", "password": WRONG}
        guesses = [pool.submit(c.submit, "/console/login", guess) for c in flood]
        ends = time.monotonic() + 5
        while hasher.started < len(flood) and time.monotonic() < ends:
            time.sleep(0.01)  # until both checks are under way
        try:
            signed = ada.sign_in("ada")
        finally:
            answered.set()
        assert [g.result().status_code for g in guesses] == [200, 200]
    assert signed.status_code == 303, signed.status_code


def test_a_burst_from_one_address_is_held_to_twenty_guesses(
    served: Consoled, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = MeetingHasher(CHEAP, meet=1)  # counts the guesses checked
    monkeypatch.setattr(staff, "HASHER", hasher)
    burst = [served.client(ATTACKER) for _ in range(30)]
    for client in burst:
        client.get("/console/login")
    statuses: list[int] = []
    for _ in range(3):  # password spraying: one guess at each of 30 names, three times over
        with ThreadPoolExecutor(len(burst)) as pool:
            statuses += pool.map(
                lambda n: burst[n].submit("/console/login", {"username": f"guess{n}",
                                                             "password": WRONG}).status_code,
                range(len(burst)))  # fmt: skip
    assert set(statuses) <= {200, 429, 503}, set(statuses)
    assert hasher.started == statuses.count(200) <= 20


def test_the_right_password_in_a_burst_is_refused_once_the_account_locks(
    served: Consoled, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):  # four failures in a row: one more locks the account
        assert served.client(f"198.51.100.{n}").sign_in("sam", WRONG).status_code == 200
    hasher = MeetingHasher(CHEAP, meet=2, held=PASSWORD, ready=lambda: locked(served, "sam"))
    monkeypatch.setattr(staff, "HASHER", hasher)
    pair = [served.client("198.51.100.8"), served.client("198.51.100.9")]
    for client in pair:
        client.get("/console/login")
    with ThreadPoolExecutor(2) as pool:  # the fifth wrong guess and the right one, checked at once
        wrong, right = pool.map(
            lambda guess: guess[0].submit("/console/login", {"username": "sam",
                                                             "password": guess[1]}),
            zip(pair, [WRONG, PASSWORD], strict=True))  # fmt: skip
    assert hasher.started == 2 and locked(served, "sam")
    assert (wrong.status_code, right.status_code) == (200, 200)
    assert "scf_console=" not in str(right.headers)


def locked(served: Consoled, name: str) -> bool:
    """Whether the account ``name`` is locked after failed sign-ins."""
    return any(a.name == name and a.state(served.console.clock()) == "locked"
               for a in staff.listed(served.store))  # fmt: skip


def test_an_address_cannot_be_changed_by_prepending_to_x_forwarded_for(served: Consoled) -> None:
    for n in range(20):  # through a proxy on this machine, which appends the real address
        client = served.client(f"10.{n}.0.1, {ATTACKER}")
        assert client.sign_in(f"guess{n}", WRONG).status_code == 200
    assert served.client(f"10.99.0.1, {ATTACKER}").sign_in("ada").status_code == 429
    assert served.client("10.99.0.1").sign_in("ada").status_code == 303


# -- scf serve as a process ------------------------------------------------------------------


@pytest.fixture
def serve_process(world: Callable[..., Harness]) -> Iterator[Callable[[str], Serve]]:
    """``serve_process(server_lines)``: ``scf serve --no-sync`` with an admin ``ada``."""
    started: list[Serve] = []

    def make(lines: str = "") -> Serve:
        w = world(tail=f"[server]\nrequests_per_minute = 0\n{lines}")
        staff.create(w.store(), "ada", "admin", PASSWORD, actor="tests (cli)")
        started.append(Serve(w))
        return started[-1]

    yield make
    for each in started:
        each.stop()


@pytest.mark.slow  # a subprocess
def test_slow_sign_ins_are_cut_off_at_the_deadline_while_others_sign_in(
    serve_process: Callable[[str], Serve],
) -> None:
    server = serve_process("request_timeout_seconds = 3\n")
    chooser = selectors.DefaultSelector()
    slow: list[socket.socket] = []
    closed: dict[int, float] = {}
    form = Client(server.url)
    form.get("/console/login")
    head = ("POST /console/login HTTP/1.1\r\nHost: console\r\nContent-Type: "
            "application/x-www-form-urlencoded\r\nContent-Length: 200\r\nCookie: "
            f"scf_console_login={form.http.cookies['scf_console_login']}\r\n\r\n"
            f"csrf_token={form.csrf}&username=ada&password=").encode()  # fmt: skip
    started = time.monotonic()
    try:
        for n in range(30):
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            conn.sendall(head)
            conn.setblocking(False)
            chooser.register(conn, selectors.EVENT_READ, n)
            slow.append(conn)
        signed: list[float] = []
        while len(closed) < len(slow) and time.monotonic() - started < 15:
            for key, _ in chooser.select(timeout=0.2):
                closed[key.data] = time.monotonic() - started
                chooser.unregister(key.fileobj)
            for n, conn in enumerate(slow):  # one byte of the password each round
                if n not in closed:
                    try:
                        conn.send(b"x")
                    except OSError:
                        closed[n] = time.monotonic() - started
            if len(signed) < 3:
                asked = time.monotonic()
                honest = Client(server.url)
                assert honest.sign_in("ada").status_code == 303
                signed.append(time.monotonic() - asked)
    finally:
        for conn in slow:
            conn.close()
        chooser.close()
    times = sorted(closed.values())
    assert len(times) == 30 and times[0] > 2.5 and times[-1] < 8, times  # held to the deadline
    assert max(signed) < 5, signed


@pytest.mark.slow  # a subprocess, Argon2 at the library's costs (64 MB a check)
def test_a_burst_of_sign_ins_from_many_addresses_leaves_memory_bounded(
    serve_process: Callable[[str], Serve],
) -> None:
    server = serve_process("")
    before, _ = memory(server.process.pid)
    burst = [Client(server.url, f"198.51.100.{n // 2}") for n in range(40)]  # two per address
    for client in burst:
        client.get("/console/login")

    def guess(client: Client) -> int:
        fields = {"csrf_token": client.csrf, "username": "nobody", "password": WRONG}
        answer = client.http.post(server.url + "/console/login", data=fields, timeout=120,
                                  allow_redirects=False)  # fmt: skip
        return answer.status_code

    with ThreadPoolExecutor(len(burst)) as pool:
        statuses = list(pool.map(guess, burst))
    peak, _ = memory(server.process.pid)
    assert set(statuses) <= {200, 503} and 200 in statuses, statuses
    assert peak < 300, f"peak RSS {peak:.0f} MB ({before:.0f} MB before)"
    assert Client(server.url, "192.0.2.7").sign_in("ada").status_code == 303


# -- unsubscribe -----------------------------------------------------------------------------


@pytest.fixture
def mailed(harness: Callable[..., Harness], fake_host: Any) -> tuple[Door, list[int]]:
    """The door served, with two issues reported by one resident with an email address."""
    h = harness(BASIC, host=fake_host[0])
    ids = [h.report("POTHOLE", *ANSWERS, email="resident@example.org") for _ in range(2)]
    return h.serve(), ids


def stopped(door: Door) -> tuple[list[int], int]:
    """The issues whose emails are off, and how many addresses asked for none."""
    with door.store.read() as conn:
        off = conn.execute(select(issues.c.id).where(issues.c.notify_off.is_(True))).scalars()
        return sorted(off), len(conn.execute(select(email_optouts)).all())


def test_forged_unsubscribe_tokens_change_nothing(mailed: tuple[Door, list[int]]) -> None:
    door, (first, second) = mailed
    token = consent.token(door.store, first, "issue")
    mac = token[len(str(first)) + 1 :]
    theirs = consent.token(door.store, second, "issue")[len(str(second)) + 1 :]
    digits = str(first).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    forged = [f"{first}a{mac}", f"{first}i{theirs}", f"0{token}", f"{digits}i{mac}",
              f"{first}I{mac}", f"{first}i{mac.swapcase()}", f"{token}=", f"{token}%00",
              f"{'9' * 18}i{mac}", f"{first}i{mac[:-1]}", f"{first}i{mac}A", f" {token}",
              f"{token}%2F..", f"{first}%69{mac}x", "-1i" + mac]  # fmt: skip
    for bad in forged:
        for method in ("GET", "POST"):
            answer = requests.request(method, f"{door.url}/unsubscribe/{bad}", data=ONE_CLICK,
                                      timeout=10, allow_redirects=False)  # fmt: skip
            assert answer.status_code == 404, (bad, method, answer.status_code)
    assert stopped(door) == ([], 0)


def test_a_token_stops_its_own_issue_once_however_often_it_is_replayed(
    mailed: tuple[Door, list[int]],
) -> None:
    door, (first, second) = mailed
    url = f"{door.url}/unsubscribe/{consent.token(door.store, first, 'issue')}"
    for _ in range(3):
        assert requests.post(url, data=ONE_CLICK, timeout=10).status_code == 200
    assert stopped(door) == ([first], 0)  # not the resident's other report
    address = f"{door.url}/unsubscribe/{consent.token(door.store, first, 'address')}"
    for _ in range(3):
        assert requests.post(address, data=ONE_CLICK, timeout=10).status_code == 200
    assert stopped(door) == ([first], 1)  # one opt-out, however often asked
    with door.store.read() as conn:
        rows = conn.execute(select(issues).where(issues.c.id.in_([first, second]))).mappings()
        assert not any(consent.wants_mail(conn, row) for row in rows)


def test_a_link_scanner_changes_nothing(mailed: tuple[Door, list[int]]) -> None:
    door, (first, _) = mailed
    url = f"{door.url}/unsubscribe/{consent.token(door.store, first, 'address')}"
    scanner = {"User-Agent": "Mozilla/5.0 (compatible; SafeLinks)", "Sec-Fetch-Site": "none"}
    for method in ("GET", "GET", "OPTIONS", "HEAD", "HEAD"):
        answer = requests.request(method, url, headers=scanner, timeout=10)
        assert answer.status_code in (200, 400, 405), (method, answer.status_code)
        assert "resident@example.org" not in answer.text
    for options in ({}, {"params": ONE_CLICK}, {"json": ONE_CLICK},
                    {"data": {"List-Unsubscribe": "one-click"}}):  # fmt: skip
        answer = requests.post(url, headers=scanner, timeout=10, **options)
        assert answer.status_code == 400 and "Nothing was changed" in answer.text, options
    assert stopped(door) == ([], 0)


def test_a_head_request_is_a_get_and_changes_nothing(mailed: tuple[Door, list[int]]) -> None:
    door, (first, _) = mailed
    url = f"{door.url}/unsubscribe/{consent.token(door.store, first, 'address')}"
    assert requests.head(url, timeout=10).status_code == 200
    requests.head(url, data=ONE_CLICK, timeout=10)
    assert stopped(door) == ([], 0)


def test_a_one_click_post_sent_as_multipart_unsubscribes(mailed: tuple[Door, list[int]]) -> None:
    door, (first, _) = mailed
    body, kind = multipart(ONE_CLICK)
    url = f"{door.url}/unsubscribe/{consent.token(door.store, first, 'issue')}"
    answer = requests.post(url, data=body, headers={"Content-Type": kind}, timeout=10)
    assert answer.status_code == 200 and stopped(door) == ([first], 0)
