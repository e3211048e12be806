"""The staff console: ``/console/``, served by ``scf serve`` beside the Open311 door.

Server-rendered HTML (Jinja2, autoescaped) and plain POST forms: no script is needed, and
nothing is loaded from anywhere but ``/console/static/``. Every action calls the same core
function as the CLI (``scf_plugins.ops``), with the signed-in account as the audit's actor.

How a request flows
    ``server/web.py`` mounts :func:`.app.routes` and wraps the app in
    :class:`.headers.ConsoleHeaders` (``Cache-Control: no-store``, a CSP of ``'self'``
    only, ``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin``, ``nosniff`` on every
    console response). A page's route (:meth:`.page.Console.route`) finds the session from
    the signed cookie (:mod:`.auth`) in the store (:func:`scf_plugins.ops.sessions.session`:
    idle and absolute expiry, ``[console] idle_minutes`` and ``absolute_hours``; a disabled
    account or a changed password ends it); anonymous: 303 to
    ``/console/login?next=<path>``; a ``staff`` account on an admin page: the 403 page. A
    POST must then come from this server's origin and carry the session's CSRF token in the
    field ``csrf_token``, or it is refused (403) before the handler runs. The handler gets a
    :class:`.page.Visit` and returns a response: a page, or (after an action) a 303 back with
    a one-line flash message, carried in a short-lived signed cookie (``scf_console_flash``).
    Store, plugin and network work runs in Starlette's thread pool (``visit.run``).

Sign-in (:mod:`.signin`)
    Argon2 and the account lockout (5 failures: 15 minutes) are the core's; per client
    address, :mod:`.throttle` locks out 20 failures in 15 minutes for 15 minutes and slows
    each failure (up to 2 s). Both count a sign-in before its password is checked, so a
    burst sent at once is held to the same limits. The check runs on two threads of its own
    (:mod:`.password_checks`), never Starlette's shared pool, and a third kept for browsers
    that signed in before (the cookie ``scf_console_known``); a sign-in finding its slots
    busy is answered 503 with ``Retry-After``. The sign-in form has its own CSRF token (a signed
    double-submit cookie). The session cookie ``scf_console`` is ``HttpOnly;
    SameSite=Strict; Path=/console``, ``Secure`` when ``[server] public_url`` is https.
    Sign-out ends the session in the store.

Adding a page (the API)
    Write a module here with ``routes(console) -> list[BaseRoute]`` and add it to
    :data:`.app.PAGES` (one line). Handlers are ``async def page(visit: Visit) -> Response``
    under :func:`.page.signed_in` or :func:`.page.admin_only`, routed with
    ``console.route(path, guarded, methods=("GET",) or ("POST",))``. A :class:`.page.Visit`
    has ``account`` (``name``, ``role``), ``actor`` (``"<name> (console)"``), ``admin``,
    ``settings``, ``store``, ``host``, ``query`` (the query string), ``form`` (a POST's
    fields, a :class:`~scf_plugins.server.form.Form`: ``form.get("x")``), ``now()``,
    ``await run(fn, *args)`` (thread pool), ``render(template, title, **context)``,
    ``error(code, message)``, ``redirect(path, message, error=False)``, and
    ``await act(work, back=path, done="Saved.", wake=False)`` (runs ``work``, 303 to
    ``back`` with ``done`` or the core's ``UserError`` as the flash; ``wake`` makes the
    engine run a pass at once). A template extends ``base.html``, fills ``{% block content
    %}`` (the page's one ``<h1>`` is the title, written by ``base.html``; sections use h2),
    and puts ``{{ csrf_input }}`` in every POST form. Templates see ``account``, ``admin``,
    ``organization``, ``flash``, ``nav``, ``path``, the filter ``when`` (an ISO stamp or a
    datetime in the organization's zone) and the functions ``issues_url(status,
    integration)`` and ``integration_url(name)``. Undefined names are errors
    (``StrictUndefined``): a template test catches a typo.

Where each page lives
    - :mod:`.signin`: ``/console/login``, ``POST /console/logout``;
    - :mod:`.overview`: ``/console/`` (``scf status``, with links to the issues concerned);
    - :mod:`.issues`: ``/console/issues`` (``scf issues list``'s filters and search, in
      keyset pages); :mod:`.issue`: ``/console/issues/{id}`` (the staff and public views);
      :mod:`.issue_actions`: its actions, ``POST /console/issues/{id}/<action>``;
      :mod:`.report`: ``/console/issues/new`` (``scf report`` for a resident's call); the
      forms of both read through :mod:`.issue_forms`;
    - :mod:`.integrations`: ``/console/integrations`` and ``/console/integrations/{name}``
      (health, latest errors, calls, request types; its actions: ``…/password``, ``…/secret``
      (a named extra secret its plugin declares, :mod:`.named_secrets`), ``…/test``,
      ``…/request-types``), read by :mod:`.integration_data`; :mod:`.geocoders`:
      ``/console/geocoders/{name}``; both save passwords through :mod:`.passwords`, test
      through :mod:`.connection` (``scf doctor``'s steps), and read the config file's
      environments and password states through :mod:`.endpoints`;
    - :mod:`.api_keys`: ``/console/api-keys`` (a new key shown once, in the POST's answer);
      :mod:`.staff`: ``/console/staff``; :mod:`.audit`: ``/console/audit`` (every account);
    - :mod:`.app`: the list of page modules, the static files (``static/console.css``), and
      the catch-all 404 page;
    - :mod:`.page`: the :class:`.page.Console`, the guards and :class:`.page.Visit`;
    - :mod:`.templating`: the templates, what each sees, and the navigation;
    - :mod:`.flash`: the one-line messages after an action;
    - :mod:`.paths`: where a person may be sent (never outside the console);
    - :mod:`.auth`: cookie signing, the cookies' flags, CSRF and ``Origin`` checks;
    - :mod:`.throttle`: failed sign-ins per address;
    - :mod:`.password_checks`: the few threads sign-in passwords are checked on;
    - :mod:`.headers`: the security headers.

May import what ``server`` may (the host's contract and the core packages); the rest of
``server`` does not import it, except ``web``, which mounts it.
"""
