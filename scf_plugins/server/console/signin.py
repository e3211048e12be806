"""Signing in and out: ``/console/login`` and ``POST /console/logout``.

A sign-in is refused, with one line on the sign-in page, when the form's own CSRF token is
wrong (403), when its address has failed too often lately (:mod:`.throttle`: 429, the account
is not even tried; each sign-in counts there as failed from before its password is checked,
so sign-ins sent at once are held to the limit too), or when
:func:`scf_plugins.ops.staff.authenticate` refuses it: a wrong name or password (the same
words either way, so no name is revealed) or an account locked after repeated failures. Each
failure is answered after the throttle's growing delay. The password is checked on a few
threads of its own (:mod:`.password_checks`); when they are all busy the sign-in is answered
503 with ``Retry-After`` at once, untried and uncounted (a browser that signed in here before
has a slot kept for it). A success starts a session (a new
token, so none chosen before sign-in survives it; the session the browser brought, if any,
ends) and goes back to the console page the person asked for. Nothing logged names what was
typed: a password typed into the name field would be written down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ...errors import UserError
from ...ops import sessions, staff
from ..guards import peer
from . import auth
from .page import Console, Visit, signed_in
from .password_checks import Busy
from .paths import safe_next
from .throttle import client_block

if TYPE_CHECKING:
    from ...store.store import Store

log = logging.getLogger("scf_plugins.server.console")

STALE_LOGIN = "This sign-in form has expired; reload the page and sign in again."
BUSY = "Many sign-ins are being checked just now; try again in a moment."
BUSY_RETRY_SECONDS = 1


def routes(console: Console) -> list[BaseRoute]:
    """The sign-in page and sign-out."""

    async def login(request: Request) -> Response:
        if request.method == "POST":
            return await sign_in(console, request)
        return await login_page(console, request)

    async def logout(visit: Visit) -> Response:
        return await sign_out(visit)

    return [
        Route("/console/login", login, methods=["GET", "POST"]),
        console.route("/console/logout", signed_in(logout), methods=("POST",)),
    ]


async def login_page(
    console: Console, request: Request, message: str | None = None, code: int = 200
) -> Response:
    """The sign-in form (a signed-in person goes on to the page asked for), with its own
    CSRF token in the form and in a signed cookie, and ``message`` if sign-in was refused."""
    target = safe_next(request.query_params.get("next"))
    await console.ready()
    if message is None and await run_in_threadpool(console.signed_in, request) is not None:
        return RedirectResponse(target, 303)
    token = auth.new_login_token()
    response = console.render(
        request, "login.html", "Sign in", csrf=token, code=code, next=target, message=message
    )
    auth.set_cookie(
        response,
        auth.LOGIN_COOKIE,
        console.signer.sign(token),
        https=console.https,
        path="/console/login",
        max_age=auth.LOGIN_MAX_AGE,
    )
    return response


async def sign_in(console: Console, request: Request) -> Response:
    """``POST /console/login``: the checks, then a session and the page asked for."""
    if not auth.same_origin(request, console.settings.server.public_url):
        return console.error(request, 403, "This sign-in form was sent from another site.")
    form = await console.form(request)
    if isinstance(form, Response):
        return form
    expected = await run_in_threadpool(auth.login_token, request, console.signer)
    if not auth.same_token(form.get(auth.CSRF_FIELD), expected):
        return await login_page(console, request, STALE_LOGIN, 403)
    address = client_block(peer(request.scope) or "unknown")
    attempt = console.throttle.begin(address)
    if attempt is None:
        minutes = console.throttle.locked_minutes(address)
        log.warning("console sign-in refused: address %s is locked out", address)
        return await login_page(
            console,
            request,
            f"Too many failed sign-ins from this address; try again in {minutes} "
            f"{'minute' if minutes == 1 else 'minutes'}.",
            429,
        )
    name = form.get("username") or ""
    password = (form.values.get("password") or [""])[-1]  # as typed: spaces are characters
    try:
        known = auth.known_browser(request, console.signer)
        account = await console.checks.run(
            address, staff.authenticate, console.store, name, password, console.clock(),
            known=known,
        )  # fmt: skip
    except Busy:
        console.throttle.succeeded(attempt)  # never tried: no failure
        log.warning("console sign-in refused from %s: every password check is busy", address)
        response = await login_page(console, request, BUSY, 503)
        response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return response
    except UserError as exc:  # SignInRefused: its words are safe to show
        await asyncio.sleep(console.throttle.failed(attempt))
        log.info("console sign-in refused from %s", address)
        return await login_page(console, request, str(exc))
    console.throttle.succeeded(attempt)
    previous = auth.session_token(request, console.signer)
    token = await run_in_threadpool(fresh_session, console.store, account.name, previous)
    log.info("console sign-in: %s from %s", account.name, address)
    response = RedirectResponse(safe_next(form.get("next")), 303)
    auth.set_cookie(response, auth.SESSION_COOKIE, console.signer.sign(token), https=console.https)
    auth.clear_cookie(response, auth.LOGIN_COOKIE, https=console.https, path="/console/login")
    auth.set_cookie(
        response,
        auth.KNOWN_COOKIE,
        console.signer.sign(auth.new_login_token()),
        https=console.https,
        path="/console/login",
        max_age=auth.KNOWN_MAX_AGE,
    )
    return response


def fresh_session(store: Store, name: str, previous: str | None) -> str:
    """A new session for ``name`` (its token), and the end of the one the browser brought, if
    any: whoever knew that cookie (planted before sign-in, or another account's) keeps
    nothing."""
    if previous is not None:
        sessions.end_session(store, previous)
    token, _csrf = sessions.start_session(store, name)
    return token


async def sign_out(visit: Visit) -> Response:
    """``POST /console/logout``: the session ends in the store (its cookie is dead wherever
    it was copied), and the browser forgets it."""
    await visit.run(sessions.end_session, visit.store, visit.token)
    log.info("console sign-out: %s", visit.account.name)
    response = visit.redirect("/console/login", "You are signed out.")
    auth.clear_cookie(response, auth.SESSION_COOKIE, https=visit.console.https)
    return response
