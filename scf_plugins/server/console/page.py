"""What every console page is built on: the :class:`Console` the pages share, the guards
(:func:`signed_in`, :func:`admin_only`), and the :class:`Visit` a page handler is given.

A page module writes its handlers as ``async def page(visit: Visit) -> Response`` under a
guard, and lists them in its ``routes(console)`` with :meth:`Console.route`::

    @signed_in
    async def audit(visit: Visit) -> Response:
        entries = await visit.run(ops_audit.listed, visit.store, 100)
        return visit.render("audit.html", "Audit", entries=entries)

    def routes(console: Console) -> list[BaseRoute]:
        return [console.route("/console/audit", audit)]

Before a handler runs, the route has found the session (anonymous: 303 to the sign-in page),
checked the role (a ``staff`` account on an :func:`admin_only` page: the 403 page) and, for a
POST, the ``Origin``, the form's type (415 when it is not a form), its size and its CSRF token
(403 when wrong: the handler never runs). A handler that raises is logged and answered with
the 500 page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ...errors import UserError
from ...ops import sessions
from ...timeutil import utcnow
from .. import bodies
from ..faults import describe_fault
from ..form import Form
from ..open311 import Reply
from . import auth, flash
from .password_checks import PasswordChecks
from .paths import HOME, here, inside, login_url
from .templating import common, environment
from .throttle import AddressThrottle

if TYPE_CHECKING:
    from ...config.settings import Settings
    from ...ops.staff import StaffAccount
    from ...plugins import PluginHost
    from ...store.store import Store

log = logging.getLogger("scf_plugins.server.console")

STATIC = Path(__file__).parent / "static"
T = TypeVar("T")


class Served(Protocol):
    """What the console needs of ``scf serve`` (its :class:`~scf_plugins.server.web.Context`):
    the running config (a reload replaces it), the store, the plugins, and the engine's wake."""

    settings: Settings
    store: Store
    host: PluginHost | None
    wake: Callable[[], None] | None


Handler = Callable[["Visit"], Awaitable[Response]]


@dataclass(frozen=True)
class Guarded:
    """A page handler and who may open it (made by :func:`signed_in` or :func:`admin_only`)."""

    handler: Handler
    admin: bool


def signed_in(handler: Handler) -> Guarded:
    """A page for every signed-in account (anonymous: 303 to the sign-in page)."""
    return Guarded(handler, admin=False)


def admin_only(handler: Handler) -> Guarded:
    """A page for ``admin`` accounts (anonymous: sign-in; a ``staff`` account: 403)."""
    return Guarded(handler, admin=True)


Named = Callable[["Visit", str], Awaitable[Response]]


def admin_on_named(
    what: str, names: Callable[[Settings], Collection[str]]
) -> Callable[[Named], Guarded]:
    """A guard for an admin page or action on the ``what`` (an integration, a geocoder) its
    path's ``{name}`` names among ``names(settings)``: it runs ``handler(visit, name)``, or
    answers the 404 page for a name the config does not have."""

    def guard(handler: Named) -> Guarded:
        async def named(visit: Visit) -> Response:
            name = visit.request.path_params["name"]
            if name not in names(visit.settings):
                return visit.error(404, f"There is no {what} named {name!r} in the config.")
            return await handler(visit, name)

        return admin_only(named)

    return guard


class ConsoleRoute(Route):
    """A console page's route; ``admin`` when only administrators may open it."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, methods: list[str],
                 admin: bool) -> None:  # fmt: skip
        super().__init__(path, endpoint, methods=methods)
        self.admin = admin


class Console:
    """What the console's pages share: ``scf serve``'s resources, the cookie signer, the
    sign-in throttle and password checks, the clock, and the templates.

    :param clock: the time sessions are judged by (aware UTC); tests move their own.
    """

    def __init__(self, served: Served, clock: Callable[[], datetime] | None = None) -> None:
        self.served = served
        self.clock = clock or utcnow
        self.signer = auth.Signer(served.store)
        self.throttle = AddressThrottle(lambda: self.clock())
        self.checks = PasswordChecks()
        self.templates = environment()
        # Makes scf serve read its config and passwords again, as SIGHUP does (set by
        # server.running; None elsewhere): a password saved in the console is used at once.
        self.reload: Callable[[], None] | None = None

    @property
    def settings(self) -> Settings:
        """The running config (a reload replaces it)."""
        return self.served.settings

    @property
    def https(self) -> bool:
        """Whether the console's cookies are ``Secure``."""
        return auth.secure(self.settings.server.public_url)

    async def ready(self) -> None:
        """Read the signing key (from the store, the first time) off the event loop."""
        if not self.signer.loaded:
            await run_in_threadpool(lambda: self.signer.key)

    def wake(self) -> None:
        """Make the in-process engine run a pass now (after an action that gave it work)."""
        if self.served.wake is not None:
            self.served.wake()

    # -- routes ---------------------------------------------------------------------------

    def route(self, path: str, page: Guarded, methods: tuple[str, ...] = ("GET",)) -> ConsoleRoute:
        """A Starlette route serving ``page`` at ``path`` behind its guard, for ``methods``
        (``HEAD`` comes with ``GET``)."""
        if not isinstance(page, Guarded):
            raise TypeError(f"{path}: wrap the handler in signed_in or admin_only")

        async def endpoint(request: Request) -> Response:
            return await self.serve(request, page)

        return ConsoleRoute(path, endpoint, methods=list(methods), admin=page.admin)

    async def serve(self, request: Request, page: Guarded) -> Response:
        """The guard, then ``page``'s handler (see the module's docstring)."""
        await self.ready()
        found = await run_in_threadpool(self.signed_in, request)
        if found is None:
            return RedirectResponse(login_url(here(request)), 303)
        account, csrf, token = found
        if page.admin and account.role != "admin":
            return self.error(request, 403, "This page is for administrators.", account, csrf)
        form = Form([])
        if request.method == "POST":
            checked = await self.posted(request, csrf)
            if isinstance(checked, Response):
                return checked
            form = checked
        visit = Visit(request, self, account, csrf, token, form)
        try:
            return await page.handler(visit)
        except Exception as exc:  # the person learns that it failed; the log learns how
            log.exception("console %s %s failed: %s", request.method, request.url.path,
                          describe_fault(exc))  # fmt: skip
            return self.error(request, 500, "The page failed; try again later.", account, csrf)

    def signed_in(self, request: Request) -> tuple[StaffAccount, str, str] | None:
        """The request's account, its CSRF token and its session token, or None (no cookie,
        a forged one, or a session the store no longer honours). Runs off the event loop."""
        token = auth.session_token(request, self.signer)
        if token is None:
            return None
        limits = self.settings.console
        found = sessions.session(self.store, token, self.clock(), limits.idle, limits.absolute)
        if found is None:
            return None
        account, csrf = found
        return account, csrf, token

    @property
    def store(self) -> Store:
        """The store."""
        return self.served.store

    async def posted(self, request: Request, csrf: str | None) -> Form | Response:
        """A POST's form, once its origin, size and CSRF token are right; else the refusal."""
        if not auth.same_origin(request, self.settings.server.public_url):
            log.warning("console POST %s refused: from another site", request.url.path)
            return self.error(request, 403, CROSS_SITE)
        form = await self.form(request)
        if isinstance(form, Response):
            return form
        if not auth.same_token(form.get(auth.CSRF_FIELD), csrf):
            log.warning("console POST %s refused: no valid CSRF token", request.url.path)
            return self.error(request, 403, STALE_FORM)
        return form

    async def form(self, request: Request) -> Form | Response:
        """A POST's form fields (``application/x-www-form-urlencoded``), within the body cap;
        a POST with no body at all has none, and one with a body of another type is a 415."""
        kind = request.headers.get("content-type", "").lower()
        if not kind.startswith("application/x-www-form-urlencoded"):
            headers = request.headers
            if kind or "transfer-encoding" in headers or headers.get("content-length", "0") != "0":
                return self.error(request, 415, NOT_A_FORM)
            return Form([])
        raw = await bodies.body(request, self.settings.server.max_body_kb * 1024)
        if isinstance(raw, Reply):
            return self.error(request, raw.status, "The form is too large or was cut short.")
        fields = bodies.fields(raw)
        if isinstance(fields, Reply):
            return self.error(request, 400, "The form could not be read; send it as UTF-8.")
        return fields

    # -- pages ----------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        title: str,
        *,
        account: StaffAccount | None = None,
        csrf: str = "",
        code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """``template`` rendered with the common context (see :func:`common`), with the flash
        message the request carries shown once and forgotten."""
        shown = flash.decode(self.signer, request.cookies.get(auth.FLASH_COOKIE))
        values = common(self.settings, request.url.path, title, account, csrf, shown)
        html = self.templates.get_template(template).render({**values, **context})
        response = HTMLResponse(html, code)
        if shown is not None:
            auth.clear_cookie(response, auth.FLASH_COOKIE, https=self.https)
        return response

    def error(
        self,
        request: Request,
        code: int,
        message: str,
        account: StaffAccount | None = None,
        csrf: str = "",
    ) -> HTMLResponse:
        """The error page (403, 404, 500…) saying ``message``."""
        title = ERROR_TITLES.get(code, "Something went wrong")
        return self.render(
            request, "error.html", title, account=account, csrf=csrf, code=code, message=message
        )

    def redirect(self, path: str, message: str | None = None, *, error: bool = False) -> Response:
        """303 to ``path`` (a console path), with a flash message the page there shows once."""
        response = RedirectResponse(path if inside(path) else HOME, 303)
        if message:
            value = flash.encode(self.signer, message, error)
            auth.set_cookie(
                response,
                auth.FLASH_COOKIE,
                value,
                https=self.https,
                max_age=auth.FLASH_MAX_AGE,
            )
        return response


@dataclass
class Visit:
    """One signed-in request to a page: who asks, with what, and how to answer.

    ``form`` holds a POST's fields (CSRF-checked; empty for a GET); ``query`` is
    ``request.query_params``. Core calls go through :meth:`run` (off the event loop);
    :meth:`act` does an action the PRG way.
    """

    request: Request
    console: Console
    account: StaffAccount
    csrf: str
    token: str  # the session's (sign-out ends it)
    form: Form = field(default_factory=lambda: Form([]))

    @property
    def actor(self) -> str:
        """Who the audit names: ``"<staff name> (console)"``."""
        return self.account.actor

    @property
    def admin(self) -> bool:
        """Whether the account is an administrator."""
        return self.account.admin

    @property
    def settings(self) -> Settings:
        """The running config."""
        return self.console.settings

    @property
    def store(self) -> Store:
        """The store."""
        return self.console.store

    @property
    def host(self) -> PluginHost:
        """The plugin host ``scf serve`` runs."""
        host = self.console.served.host
        if host is None:
            raise RuntimeError("the console was built without the plugin host")
        return host

    @property
    def query(self) -> QueryParams:
        """The query string's parameters (``request.query_params``)."""
        return self.request.query_params

    def now(self) -> datetime:
        """The console's time (aware UTC)."""
        return self.console.clock()

    async def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``work(*args, **kwargs)`` in Starlette's thread pool: anything that touches the
        store, the plugins or the network."""
        return await run_in_threadpool(work, *args, **kwargs)

    def render(self, template: str, title: str, *, code: int = 200, **context: Any) -> Response:
        """``template`` (extending ``base.html``) with the common context and ``context``."""
        return self.console.render(
            self.request,
            template,
            title,
            account=self.account,
            csrf=self.csrf,
            code=code,
            **context,
        )

    def error(self, code: int, message: str) -> Response:
        """The error page (``404``: "no issue 12") for this account."""
        return self.console.error(self.request, code, message, self.account, self.csrf)

    def redirect(self, path: str, message: str | None = None, *, error: bool = False) -> Response:
        """303 to ``path`` with a flash message shown once there."""
        return self.console.redirect(path, message, error=error)

    async def act(
        self,
        work: Callable[[], T],
        *,
        back: str,
        done: str | Callable[[T], str],
        wake: bool = False,
    ) -> Response:
        """Do ``work`` (off the event loop) and 303 to ``back`` with ``done`` (or
        ``done(result)``) as the flash, or the core's one-line :class:`UserError` as an error
        flash; ``wake`` makes the engine run a pass at once after a success."""
        try:
            result = await self.run(work)
        except UserError as exc:
            return self.redirect(back, str(exc), error=True)
        if wake:
            self.console.wake()
        return self.redirect(back, done(result) if callable(done) else done)


CROSS_SITE = "This form was sent from another site, so it was refused."
STALE_FORM = (
    "This form has expired or did not come from this console, so nothing was changed. "
    "Go back, reload the page and try again."
)
NOT_A_FORM = (
    "The console takes only its own forms (application/x-www-form-urlencoded), so nothing "
    "was changed."
)
ERROR_TITLES = {
    400: "The form could not be read",
    403: "Not allowed",
    404: "Not found",
    413: "The form is too large",
    415: "Not a form",
    429: "Too many attempts",
    500: "Something went wrong",
}
