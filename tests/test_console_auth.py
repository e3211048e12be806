"""The staff console's door: every route asks anonymous visitors to sign in, sign-in and
sign-out, the session cookie and its expiry, CSRF and ``Origin`` on every POST, the lockout
per account and per address, the security headers, and no password anywhere."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.to_thread
import pytest
from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import Mount, Route

from scf_plugins.config.settings import check_config
from scf_plugins.ops import audit, staff
from scf_plugins.server.console.headers import HEADERS
from scf_plugins.server.console.page import ConsoleRoute, Visit, admin_only
from scf_plugins.server.console.password_checks import Busy, PasswordChecks
from scf_plugins.server.console.throttle import AddressThrottle
from scf_plugins.store.tables import staff as staff_table
from scf_plugins.testing import Harness
from scf_plugins.testing.harness import Clock

from .conftest import BASIC
from .consoled import (
    CHEAP,
    PASSWORD,
    BlockingHasher,
    Consoled,
    MeetingHasher,
    make_account,
    serve_console,
    starlette_of,
)

OTHER = "a wrong passphrase, 77"
PUBLIC = "203.0.113.9"  # a client address beyond this machine (sent as X-Forwarded-For)
SECURITY = {name.decode(): value.decode() for name, value in HEADERS.items()}


@pytest.fixture(autouse=True)
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest costs (the library's defaults take ~50 ms a hash)."""
    monkeypatch.setattr(staff, "HASHER", CHEAP)


@pytest.fixture
def served(basic: Harness) -> Iterator[Consoled]:
    """The basic config's console, with an admin ``ada`` and a staff account ``sam``."""
    console = serve_console(basic)
    make_account(console, "ada", "admin")
    make_account(console, "sam", "staff")
    yield console


def with_clock(harness: Callable[..., Harness], fake_host: Any, extra: str = "") -> Consoled:
    """The basic config (plus ``extra``) served on a clock that moves only when told."""
    clock = Clock()
    h = harness(BASIC + extra, host=fake_host[0])
    console = serve_console(h, clock)
    make_account(console, "ada", "admin")
    return console


def console_routes(served: Consoled) -> list[tuple[str, str]]:
    """Every (method, path) the app routes under ``/console/`` beside sign-in and the static
    files, path parameters filled in: new pages are covered as they are added."""
    found = []
    for route in starlette_of(served.app).routes:
        if isinstance(route, Mount) or not isinstance(route, Route):
            continue
        if not route.path.startswith("/console/") or route.path == "/console/login":
            continue
        path = re.sub(r"\{[^}:]+:int\}", "1", route.path)
        path = re.sub(r"\{[^}]+\}", "alpha", path)
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                found.append((method, path))
    return found


# -- anonymous -----------------------------------------------------------------------------


def test_every_console_route_sends_anonymous_visitors_to_sign_in(served: Consoled) -> None:
    routes = console_routes(served)
    assert ("GET", "/console/") in routes and ("POST", "/console/logout") in routes
    anonymous = served.client()
    for method, path in [*routes, ("GET", "/console/no-such-page")]:
        answer = anonymous.http.request(
            method, served.url + path, data={"csrf_token": "x"}, allow_redirects=False
        )
        assert answer.status_code == 303, (method, path, answer.status_code)
        location = answer.headers["location"]
        assert location.startswith("/console/login"), (method, path, location)
        if method == "GET" and path != "/console/":
            assert unquote(location) == f"/console/login?next={path}"
    bare = anonymous.get("/console")  # Starlette adds the slash, then the overview's rule
    assert bare.status_code == 307 and bare.headers["location"].endswith("/console/")
    assert anonymous.get("/console/login").status_code == 200
    css = anonymous.get("/console/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_the_sign_in_page_has_the_contract_labels(served: Consoled) -> None:
    page = served.client().get("/console/login").text
    assert '<label for="username">Username</label>' in page
    assert '<label for="password">Password</label>' in page
    assert '<button type="submit">Sign in</button>' in page
    assert 'name="csrf_token"' in page and 'type="password"' in page
    assert page.count("<h1>") == 1 and page.index("<header") < page.index("<main")


# -- signing in and out --------------------------------------------------------------------


def test_sign_in_goes_where_asked_and_sign_out_ends_the_session(served: Consoled) -> None:
    ada = served.client()
    answer = ada.sign_in("ada", next_path="/console/audit?limit=5")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/audit?limit=5"
    page = ada.get("/console/")
    assert page.status_code == 200 and "Signed in as <strong>ada</strong> (admin)" in page.text
    assert '<button type="submit">Sign out</button>' in page.text
    cookie = ada.http.cookies.get("scf_console", path="/console")
    assert cookie and cookie.count(".") == 1

    answer = ada.sign_out()
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert 'scf_console=""' in answer.headers["set-cookie"]
    assert "You are signed out." in ada.get("/console/login").text
    # The old cookie, kept by someone who copied it, no longer opens anything.
    thief = served.client()
    thief.http.cookies.set("scf_console", cookie, path="/console")
    assert thief.get("/console/").status_code == 303


def test_signing_in_ends_the_session_the_browser_had(served: Consoled) -> None:
    sam = served.client()
    sam.sign_in("sam")
    [session] = [c for c in sam.http.cookies if c.name == "scf_console"]
    before = str(session.value)
    shared = served.client()  # the same browser: a sign-in form open beside sam's session
    shared.get("/console/login")
    shared.http.cookies.set_cookie(session)
    answer = shared.submit("/console/login", {"username": "ada", "password": PASSWORD})
    assert answer.status_code == 303
    after = shared.http.cookies.get("scf_console", path="/console")
    assert after and after.partition(".")[0] != before.partition(".")[0]
    assert "Signed in as <strong>ada</strong>" in shared.get("/console/").text
    assert sam.get("/console/").status_code == 303  # sam's session ended with it


@pytest.mark.parametrize(
    "asked", ["https://evil.example/", "//evil.example/console/", "/console/login", "/elsewhere"]
)
def test_sign_in_never_sends_a_person_outside_the_console(served: Consoled, asked: str) -> None:
    answer = served.client().sign_in("ada", next_path=asked)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"


def test_a_forged_or_foreign_cookie_is_no_session(served: Consoled) -> None:
    ada = served.client()
    ada.sign_in("ada")
    token, _, signature = ada.http.cookies.get("scf_console", path="/console").partition(".")
    for forged in (f"{token}.{'0' * len(signature)}", token, f"{token[:-2]}xx.{signature}"):
        other = served.client()
        other.http.cookies.set("scf_console", forged, path="/console")
        assert other.get("/console/").status_code == 303


def test_the_session_cookie_flags(served: Consoled) -> None:
    answer = served.client().sign_in("ada")
    session = flags(answer, "scf_console")
    assert {"httponly", "samesite=strict", "path=/console"} <= session
    assert "secure" not in session  # http here: a Secure cookie would never come back
    assert not any(flag.startswith(("max-age", "expires")) for flag in session)


def test_the_session_cookie_is_secure_behind_https(
    harness: Callable[..., Harness], fake_host: Any
) -> None:
    served = with_clock(harness, fake_host, '\n[server]\npublic_url = "https://311.example.gov"\n')
    ada = served.client()
    form = ada.get("/console/login")
    assert "secure" in flags(form, "scf_console_login")
    # Over plain http a browser keeps a Secure cookie to itself: hand it back by hand.
    ada.http.cookies.set("scf_console_login", ada.http.cookies["scf_console_login"])
    answer = ada.submit("/console/login", {"username": "ada", "password": PASSWORD})
    assert answer.status_code == 303
    session = flags(answer, "scf_console")
    assert {"secure", "httponly", "samesite=strict", "path=/console"} <= session


def flags(answer: Any, name: str) -> set[str]:
    """The flags of the cookie ``name`` the response sets (lower case)."""
    for header in answer.raw.headers.getlist("set-cookie"):
        if header.startswith(f"{name}="):
            return {flag.strip().lower() for flag in header.split(";")[1:]}
    raise AssertionError(f"no {name} cookie set")


# -- CSRF and Origin -----------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(served: Consoled) -> None:
    ada = served.client()
    ada.sign_in("ada")
    ada.get("/console/")
    for data in ({}, {"csrf_token": ""}, {"csrf_token": ada.csrf[:-1] + "x"}):
        answer = ada.post("/console/logout", data)
        assert answer.status_code == 403 and "nothing was changed" in answer.text
    assert ada.get("/console/").status_code == 200  # still signed in
    # Another session's token is no good either.
    sam = served.client()
    sam.sign_in("sam")
    sam.get("/console/")
    assert ada.post("/console/logout", {"csrf_token": sam.csrf}).status_code == 403
    assert ada.get("/console/").status_code == 200


def test_a_post_that_is_not_a_form_is_a_415_and_changes_nothing(served: Consoled) -> None:
    ada = served.client()
    ada.sign_in("ada")
    ada.get("/console/")
    token = ada.csrf
    part = f'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--x--'
    for kind, body in [
        ("application/json", f'{{"csrf_token": "{token}"}}'),
        ("text/plain", f"csrf_token={token}"),
        ("multipart/form-data; boundary=x", part),
        (None, f"csrf_token={token}"),
    ]:
        headers = {"Content-Type": kind} if kind else {}
        for path in ("/console/logout", "/console/login"):
            answer = ada.http.post(served.url + path, data=body.encode(), headers=headers,
                                   allow_redirects=False, timeout=10)  # fmt: skip
            assert answer.status_code == 415, (kind, path, answer.status_code)
            assert "The console takes only its own forms" in answer.text
            [line] = [ln for ln in answer.text.splitlines() if "takes only its own" in ln]
            assert "nothing was changed" in line  # one line says what and that it did nothing
    assert ada.get("/console/").status_code == 200  # still signed in


def test_the_sign_in_form_needs_its_own_csrf_token(served: Consoled) -> None:
    mallory = served.client()
    for data in ({}, {"csrf_token": "made-up"}):
        answer = mallory.post("/console/login", {"username": "ada", "password": PASSWORD, **data})
        assert answer.status_code == 403 and "scf_console=" not in answer.headers.get(
            "set-cookie", ""
        )
    with served.store.read() as conn:
        failed = conn.execute(
            select(staff_table.c.failed_logins).where(staff_table.c.name == "ada")
        ).scalar()
    assert failed == 0  # the refused forms were never tried as sign-ins
    # A token from the form but without its cookie (another browser's form) is refused too.
    mallory.get("/console/login")
    stranger = served.client()
    answer = stranger.post(
        "/console/login", {"csrf_token": mallory.csrf, "username": "ada", "password": PASSWORD}
    )
    assert answer.status_code == 403


def test_a_cross_origin_post_is_refused(served: Consoled) -> None:
    ada = served.client()
    ada.sign_in("ada")
    ada.get("/console/")
    evil = {"Origin": "https://evil.example"}
    answer = ada.submit("/console/logout", headers=evil)
    assert answer.status_code == 403 and "another site" in answer.text
    answer = ada.submit("/console/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403
    assert ada.get("/console/").status_code == 200
    other = served.client()
    other.get("/console/login")
    fields = {"username": "ada", "password": PASSWORD}
    assert other.submit("/console/login", fields, headers=evil).status_code == 403
    # This server's own origin is fine.
    answer = ada.submit("/console/logout", headers={"Origin": served.url})
    assert answer.status_code == 303


# -- lockouts ------------------------------------------------------------------------------


def test_an_account_locks_after_five_failures_and_the_page_names_the_rule_not_the_lock(
    served: Consoled,
) -> None:
    sam = served.client()
    for _ in range(4):
        answer = sam.sign_in("sam", OTHER)
        assert answer.status_code == 200 and "wrong username or password" in answer.text
    answer = sam.sign_in("sam", OTHER)
    assert "locked after 5 failed sign-ins" in answer.text
    answer = sam.sign_in("sam")  # the right password, while locked
    assert answer.status_code == 200 and "wrong username or password, or" in answer.text
    assert "scf_console=" not in answer.headers.get("set-cookie", "")
    # An unknown name reads exactly as a wrong password does.
    assert "wrong username or password" in sam.sign_in("nobody", OTHER).text
    assert "wrong username or password" in sam.sign_in("ada", OTHER).text
    staff.reset(served.store, "sam", PASSWORD, actor="tests (cli)")
    assert sam.sign_in("sam").status_code == 303


def test_an_address_locks_after_twenty_failures_whatever_the_names(
    harness: Callable[..., Harness], fake_host: Any
) -> None:
    served = with_clock(harness, fake_host)
    attacker = served.client(PUBLIC)
    for n in range(20):
        answer = attacker.sign_in(f"guess{n}", OTHER)
        assert answer.status_code == 200 and "wrong username or password" in answer.text
    answer = attacker.sign_in("ada")  # even the right password: the address is locked
    assert answer.status_code == 429
    assert "Too many failed sign-ins from this address; try again in 15 minutes" in answer.text
    assert "scf_console=" not in answer.headers.get("set-cookie", "")
    assert served.client("198.51.100.4").sign_in("ada").status_code == 303  # others may
    served.console.clock.advance(minutes=15, seconds=1)
    assert attacker.sign_in("ada").status_code == 303


def test_a_burst_from_one_address_is_held_to_twenty_guesses(
    served: Consoled, monkeypatch: pytest.MonkeyPatch
) -> None:
    most = served.console.throttle.most
    served.console.checks = PasswordChecks(slots=3 * most)  # only the throttle holds it back
    hasher = MeetingHasher(meet=most + 1)
    monkeypatch.setattr(staff, "HASHER", hasher)
    burst = [served.client(PUBLIC) for _ in range(2 * most)]
    for client in burst:
        client.get("/console/login")
    together = threading.Barrier(len(burst), timeout=10)

    def guess(n: int) -> int:
        together.wait()
        fields = {"username": f"guess{n}", "password": OTHER}
        return int(burst[n].submit("/console/login", fields).status_code)

    with ThreadPoolExecutor(len(burst)) as pool:
        statuses = list(pool.map(guess, range(len(burst))))
    assert hasher.started == most, statuses  # each counted before its verify
    assert sorted(statuses) == [200] * most + [429] * most
    assert served.client(PUBLIC).sign_in("ada").status_code == 429


def test_password_checks_run_a_few_at_once_and_a_sign_in_past_them_is_told_to_come_back(
    served: Consoled, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = BlockingHasher()
    monkeypatch.setattr(staff, "HASHER", hasher)
    slots = served.console.checks.slots
    holders = [served.client(f"198.51.100.{n}") for n in range(slots)]
    late = served.client(PUBLIC)
    for client in [*holders, late]:
        client.get("/console/login")
    with ThreadPoolExecutor(slots) as pool:
        held = [pool.submit(c.submit, "/console/login", {"username": "ada", "password": OTHER})
                for c in holders]  # fmt: skip
        try:
            assert hasher.wait_started(slots)
            asked = time.monotonic()
            busy = late.submit("/console/login", {"username": "ada", "password": PASSWORD})
            waited = time.monotonic() - asked
            door = served.client().get("/open311/v2/services.json")
        finally:
            hasher.release.set()
        assert [answer.result().status_code for answer in held] == [200] * slots
    assert busy.status_code == 503 and waited < 2, (busy.status_code, waited)
    assert busy.headers["retry-after"] == "1" and "try again in a moment" in busy.text
    assert "scf_console=" not in busy.headers.get("set-cookie", "")
    assert door.status_code == 200  # the door is answered meanwhile
    assert hasher.started == slots  # the refused one was never tried...
    assert late.sign_in("ada").status_code == 303  # ...nor counted against its address


def test_a_browser_that_signed_in_before_has_a_check_kept_for_it_in_a_flood(
    served: Consoled, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = served.client("192.0.2.7")
    signed = ada.sign_in("ada")
    assert {"httponly", "samesite=strict", "path=/console/login", "max-age=15552000"} <= flags(
        signed, "scf_console_known"
    )
    ada.get("/console/")
    ada.sign_out()  # the browser stays known
    hasher = BlockingHasher()
    monkeypatch.setattr(staff, "HASHER", hasher)
    slots = served.console.checks.slots
    flood = [served.client(f"2001:db8:{n}::1") for n in range(slots)]
    stranger, forger = served.client(PUBLIC), served.client("198.51.100.77")
    for client in [*flood, stranger, forger]:
        client.get("/console/login")
    forger.http.cookies.set("scf_console_known", "made-up.0000", path="/console/login")
    guess = {"username": "nobody", "password": OTHER}
    with ThreadPoolExecutor(slots + 1) as pool:
        held = [pool.submit(c.submit, "/console/login", guess) for c in flood]
        try:
            assert hasher.wait_started(slots)
            assert stranger.submit("/console/login", guess).status_code == 503
            assert forger.submit("/console/login", guess).status_code == 503
            ada.get("/console/login")
            signing = pool.submit(ada.submit, "/console/login",
                                  {"username": "ada", "password": PASSWORD})  # fmt: skip
            assert hasher.wait_started(slots + 1)  # the kept slot, while the others are held
        finally:
            hasher.release.set()
        assert [answer.result().status_code for answer in held] == [200] * slots
        assert signing.result().status_code == 303


def test_one_address_cannot_take_every_password_check() -> None:
    checks = PasswordChecks(slots=3)
    holding = threading.Barrier(3, timeout=10)  # two checks from "a", and the test
    until = threading.Event()

    def hold() -> None:
        holding.wait()
        until.wait(10)

    async def scenario() -> list[str]:
        outcomes: list[str] = []
        async with anyio.create_task_group() as group:
            for _ in range(2):
                group.start_soon(checks.run, "a", hold)
            await anyio.to_thread.run_sync(holding.wait)
            for address in ("a", "b", "c"):
                try:
                    await checks.run(address, lambda: None)
                    outcomes.append(f"{address} checked")
                except Busy:
                    outcomes.append(f"{address} busy")
            until.set()
        return outcomes

    assert anyio.run(scenario) == ["a busy", "b checked", "c checked"]


def fail(throttle: AddressThrottle, address: str) -> float:
    """A failed sign-in from ``address``: the delay before its answer."""
    attempt = throttle.begin(address)
    assert attempt is not None
    return throttle.failed(attempt)


def test_each_failure_waits_longer_up_to_two_seconds() -> None:
    clock = Clock()
    throttle = AddressThrottle(clock)
    delays = [fail(throttle, "a") for _ in range(8)]
    assert delays[:4] == [0.25, 0.5, 1.0, 2.0] and max(delays) == 2.0
    assert fail(throttle, "b") == 0.25  # per address
    clock.advance(minutes=16)
    assert fail(throttle, "a") == 0.25  # failures older than the window are forgotten
    assert throttle.locked_minutes("a") == 0


def test_a_success_is_not_counted_as_a_failure() -> None:
    throttle = AddressThrottle(Clock(), most=3)
    for _ in range(5):
        attempt = throttle.begin("a")
        assert attempt is not None
        throttle.succeeded(attempt)
    fail(throttle, "a")
    fail(throttle, "a")
    assert throttle.locked_minutes("a") == 0
    fail(throttle, "a")
    assert throttle.begin("a") is None and throttle.locked_minutes("a") == 15


# -- expiry --------------------------------------------------------------------------------


def test_a_session_ends_when_idle(harness: Callable[..., Harness], fake_host: Any) -> None:
    served = with_clock(harness, fake_host)
    clock = served.console.clock
    ada = served.client()
    ada.sign_in("ada")
    for _ in range(3):  # used every 29 minutes, it lives on
        clock.advance(minutes=29)
        assert ada.get("/console/").status_code == 200
    clock.advance(minutes=31)
    answer = ada.get("/console/")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")


def test_a_session_ends_at_its_absolute_age_however_used(
    harness: Callable[..., Harness], fake_host: Any
) -> None:
    served = with_clock(harness, fake_host, "\n[console]\nidle_minutes = 45\nabsolute_hours = 2\n")
    clock = served.console.clock
    ada = served.client()
    ada.sign_in("ada")
    for _ in range(2):
        clock.advance(minutes=40)
        assert ada.get("/console/").status_code == 200
    clock.advance(minutes=41)  # 2 h 1 min after signing in
    assert ada.get("/console/").status_code == 303


def test_a_disabled_account_s_session_stops_working(served: Consoled) -> None:
    sam = served.client()
    sam.sign_in("sam")
    assert sam.get("/console/").status_code == 200
    staff.disable(served.store, "sam", actor="tests (cli)")
    assert sam.get("/console/").status_code == 303
    assert "wrong username or password" in sam.sign_in("sam").text


# -- roles ---------------------------------------------------------------------------------


async def _admins_only(visit: Visit) -> Response:
    return visit.render("error.html", "Admin page", message="for admins")


def test_a_staff_account_gets_403_on_an_admin_page(served: Consoled) -> None:
    app = starlette_of(served.app)
    app.router.routes.insert(
        0, served.console.route("/console/test-admin", admin_only(_admins_only))
    )
    admin_pages = [
        route.path
        for route in app.routes
        if isinstance(route, ConsoleRoute) and route.admin and "GET" in (route.methods or ())
    ]
    assert "/console/test-admin" in admin_pages
    sam, ada = served.client(), served.client()
    sam.sign_in("sam")
    ada.sign_in("ada")
    for path in admin_pages:
        path = re.sub(r"\{[^}]+\}", "alpha", path)
        refused = sam.get(path)
        assert refused.status_code == 403 and "for administrators" in refused.text, path
        assert ada.get(path).status_code != 403, path
    # A staff account is not shown the admin pages' links.
    page = sam.get("/console/").text
    assert 'href="/console/api-keys"' not in page and 'href="/console/issues"' in page
    assert 'href="/console/api-keys"' in ada.get("/console/").text


# -- every response ------------------------------------------------------------------------


def test_every_console_response_carries_the_security_headers(served: Consoled) -> None:
    ada = served.client()
    answers = [
        ada.get("/console/"),  # a redirect to sign in
        ada.get("/console/login"),
        ada.get("/console/static/console.css"),
        ada.post("/console/login", {}),  # a refused form
    ]
    ada.sign_in("ada")
    answers += [ada.get("/console/"), ada.get("/console/nowhere"), ada.post("/console/logout", {})]
    assert [a.status_code for a in answers] == [303, 200, 200, 403, 200, 404, 403]
    for answer in answers:
        for name, value in SECURITY.items():
            assert answer.headers.get(name) == value, (answer.url, name)
    door = ada.get("/healthz")
    assert "content-security-policy" not in door.headers  # the door's answers are its own


def test_no_password_in_any_response_log_line_or_audit_entry(
    served: Consoled, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ada = served.client()
    ada.sign_in("ada", OTHER)
    ada.sign_in(OTHER, PASSWORD)  # a password typed in the name field
    ada.sign_in("ada")
    ada.get("/console/")
    ada.sign_out()
    shown = "\n".join(ada.everything())
    assert "console sign-in: ada" in caplog.text  # the log is there, without the passwords
    entries = audit.as_json(audit.listed(served.store, 100))
    for secret in (PASSWORD, OTHER):
        assert secret not in shown
        assert secret not in caplog.text
        assert secret not in str(entries)


# -- the [console] section -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("idle_minutes = 0", "console.idle_minutes: 0 is out of range; use 5 to 1440"),
        ('absolute_hours = "12"', "console.absolute_hours: '12' is not valid"),
        ("idle_minute = 30", "console.idle_minute: unknown key; did you mean 'idle_minutes'?"),
        ("idle_minutes = 600\nabsolute_hours = 2", "longer than absolute_hours (2 h)"),
    ],
)
def test_console_settings_are_checked(
    write_config: Callable[[str], Any], section: str, problem: str
) -> None:
    path = write_config(BASIC + f"\n[console]\n{section}\n")
    settings, problems = check_config(path, resolve_secrets=False)
    assert settings is None and any(problem in line for line in problems), problems


def test_console_settings_default_to_30_minutes_and_12_hours(
    write_config: Callable[[str], Any],
) -> None:
    settings, problems = check_config(write_config(BASIC), resolve_secrets=False)
    assert not problems and settings is not None
    assert settings.console.idle_minutes == 30 and settings.console.absolute_hours == 12


def test_the_sign_in_page_sends_a_signed_in_person_on(served: Consoled) -> None:
    ada = served.client()
    ada.sign_in("ada")
    answer = ada.get("/console/login?next=/console/issues")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/issues"
