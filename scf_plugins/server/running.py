"""``scf serve``: the HTTP server (uvicorn) and, unless ``--no-sync``, the engine beside it.

SIGINT or SIGTERM: uvicorn stops accepting and finishes the requests in flight (up to
``GRACE`` seconds); then the engine is asked to stop, finishes its current step (its remote
calls are not abandoned) and the process exits 0.

A changed config file is noticed between poll passes (every ``RELOAD_EVERY`` seconds with
``--no-sync``), and at once on SIGHUP (:meth:`Serving.reload`): when it passes the checks, the
engine and the door use it from their next pass and request (see
:mod:`scf_plugins.config.watch` for what needs a restart). ``/healthz`` answers 503 when the
engine's loops stop going round (:mod:`scf_plugins.ops.liveness`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config.watch import ConfigWatch
from ..engine.continuous import STOP_GRACE
from ..engine.outcomes import PassReport
from ..errors import UserError
from ..ops import liveness
from .connections import guarded_protocol, more_files
from .guards import is_loopback
from .web import Context, build_app

if TYPE_CHECKING:
    from datetime import datetime

    import uvicorn

    from ..config.settings import Settings
    from ..engine.loop import Engine
    from ..ops.liveness import LoopAge
    from ..plugins import PluginHost
    from ..store.store import Store

log = logging.getLogger(__name__)
GRACE = 30  # seconds requests in flight may take to finish at shutdown
# Only a backstop: the engine gives each of its loops STOP_GRACE from the moment it is told to
# stop, and names a loop that overran; waiting a little longer lets it say so first.
ENGINE_GRACE = STOP_GRACE + 5.0
RELOAD_EVERY = 2.0  # seconds between looks at the config file when no engine runs here
TICK = 1.0  # seconds between the HTTP server's housekeeping ticks (uvicorn's own: 0.1)


@dataclass
class Serving:
    """One ``scf serve``: the server, and the engine running beside it (None: ``--no-sync``)."""

    server: uvicorn.Server
    engine: Engine | None
    thread: threading.Thread | None = None
    on_report: Callable[[str, PassReport], None] | None = field(default=None, repr=False)
    context: Context | None = field(default=None, repr=False)  # what the door's routes share
    watch: ConfigWatch | None = field(default=None, repr=False)
    address: str = "127.0.0.1"  # what --host bound: beyond loopback, public_url is required
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def passed(self, kind: str, report: PassReport) -> None:
        """Hand a pass that did something on (to the terminal)."""
        if self.on_report:
            self.on_report(kind, report)

    def run(self) -> None:
        """Serve until a signal; then stop the engine after its current step."""
        if self.engine is not None:
            engine = self.engine
            self.thread = threading.Thread(
                target=engine.run_continuously,
                args=(self.passed,),
                kwargs={"between": self.reload_if_changed},
                name="sync",
                daemon=True,
            )
            self.thread.start()
        elif self.watch is not None:  # no engine to look between its passes: a thread does
            threading.Thread(target=self._watching, name="config-watch", daemon=True).start()
        try:
            self.server.run()
        finally:
            self._done.set()
            self.stop_engine()

    def reload(self) -> None:
        """Read the config file again soon, changed or not (SIGHUP; only sets a flag)."""
        if self.watch is not None:
            self.watch.ask()

    def reload_if_changed(self) -> None:
        """Use the config file's new settings, engine and door, if it changed and passes the
        checks (otherwise one warning, and the old ones stay). Bound beyond loopback, a config
        without ``public_url`` does not pass: links would name the bound address."""
        watch = self.watch
        fresh = watch.check() if watch is not None else None
        if fresh is None or watch is None:
            return
        if not fresh.server.public_url and not serves_loopback_only(self.address):
            watch.current = self._settings() or watch.current
            log.warning(
                "config %s is not used: serving on %s needs [server] public_url, and it has "
                "none; the old config stays in use",
                fresh.path,
                self.address,
                extra={"event": "config-refused"},
            )
            return
        if self.engine is not None:
            self.engine.use(fresh)
        if self.context is not None:
            self.context.use(fresh)

    def _settings(self) -> Settings | None:
        """The settings the door and engine serve on now."""
        if self.context is not None:
            return self.context.settings
        return self.engine.settings if self.engine is not None else None

    def loops(self) -> list[LoopAge]:
        """How long ago the engine's loops went round, and whether they are stale."""
        engine = self.engine
        assert engine is not None  # asked only by /healthz of a server with an engine
        return liveness.judge(
            engine.settings,
            engine.last_submit_at,
            engine.last_poll_at,
            engine.clock(),
            since=engine.running_since,
        )

    def _watching(self) -> None:
        while not self._done.wait(RELOAD_EVERY):
            try:
                self.reload_if_changed()
            except Exception as exc:  # a reload that fails leaves the running config alone
                log.warning("could not reload the config: %s", exc)

    def request_stop(self) -> None:
        """Stop accepting and let the engine stop after its current step (a signal handler
        calls this before uvicorn listens, and again after it has drained)."""
        self.server.should_exit = True
        if self.engine is not None:
            self.engine.stop.set()

    def stop_engine(self) -> None:
        """Ask the engine to stop and wait for its current step."""
        if self.engine is None or self.thread is None:
            return
        self.engine.stop.set()
        self.engine.wake()
        self.thread.join(ENGINE_GRACE)
        if self.thread.is_alive():
            log.warning("the sync step did not finish within %g s; leaving it", ENGINE_GRACE)


def serves_loopback_only(address: str) -> bool:
    """Whether ``address`` (``--host``) is reachable from this machine only; a host name other
    than ``localhost`` may resolve to anything, so it is not."""
    return address.lower() == "localhost" or is_loopback(address)


def bound_url(server: uvicorn.Server) -> str:
    """The ``http://host:port`` a started server listens on (its real port when 0 was asked)."""
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return f"http://{host}:{port}"


def announcing_server(config: uvicorn.Config, announce: Callable[[str], None]) -> uvicorn.Server:
    """A uvicorn server that calls ``announce`` with its URL once it listens, and whose main
    loop ticks every ``TICK`` seconds instead of uvicorn's ten times a second (an idle server's
    wake-ups: its Date header is refreshed at each tick, and a stop cuts the tick short)."""
    import uvicorn

    class Announcing(uvicorn.Server):
        _tick: asyncio.Event | None = None
        _loop: asyncio.AbstractEventLoop | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                announce(bound_url(self))

        async def main_loop(self) -> None:
            self._tick, self._loop = asyncio.Event(), asyncio.get_running_loop()
            counter = 0  # uvicorn refreshes the Date header when it is a multiple of 10
            should_exit = await self.on_tick(counter)
            while not should_exit:
                counter = (counter + 10) % 864_000
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._tick.wait(), TICK)
                should_exit = await self.on_tick(counter)

        def __setattr__(self, name: str, value: Any) -> None:
            super().__setattr__(name, value)
            # Told to stop (a signal, or Serving.request_stop from any thread): now, not at
            # the next tick.
            if name == "should_exit" and value and self._loop is not None and self._tick:
                self._loop.call_soon_threadsafe(self._tick.set)

    return Announcing(config)


def preflight(store: Store, address: str, port: int) -> None:
    """What must hold before anything starts: the database opens (and upgrades), and the
    address can be listened on."""
    store.request_types()
    check_port(address, port)


def check_port(address: str, port: int) -> None:
    """One clear line, before the engine starts, when the address cannot be listened on."""
    try:
        with socket.create_server((address, port)):
            pass
    except OSError as exc:
        raise UserError(
            f"cannot listen on {address}:{port} ({exc.strerror or exc}); pick another --port, "
            f"or stop what uses it"
        ) from None


def build(
    settings: Settings,
    host: PluginHost,
    store: Store,
    *,
    address: str = "127.0.0.1",
    port: int = 8311,
    sync: bool = True,
    on_report: Callable[[str, PassReport], None] | None = None,
    announce: Callable[[str], None] = lambda url: None,
    clock: Callable[[], datetime] | None = None,
) -> Serving:
    """A ready :class:`Serving` (nothing listens until :meth:`Serving.run`).

    :param clock: the engine's clock (default the wall's; tests move their own).
    """
    import uvicorn

    from ..engine.loop import Engine
    from ..timeutil import utcnow

    engine = Engine(settings, host, store, clock or utcnow, continuous=True) if sync else None
    serving = Serving(
        server=None,  # type: ignore[arg-type]  # the server is made last, from the app
        engine=engine,
        on_report=on_report,
        address=address,
    )
    serving.watch = ConfigWatch(settings, plugin_options=host.plugin_options)
    app, serving.context = build_app(
        settings,
        host,
        store,
        wake=engine.wake if engine else None,
        last_pass=(lambda: engine.last_pass_at) if engine else None,
        loops=serving.loops if engine else None,
    )
    context = serving.context
    context.console.reload = serving.reload  # a password saved in the console is read at once
    config = uvicorn.Config(
        app,
        host=address,
        port=port,
        # The connection guard (deadlines, header and per-address caps) instead of uvicorn's
        # limit_concurrency, which turns every client away once that many connections are open.
        http=guarded_protocol(lambda: context.settings.server, more_files()),
        access_log=False,  # our own access log: the key's name, never the query
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=GRACE,
        timeout_keep_alive=5,
        lifespan="off",
    )
    serving.server = announcing_server(config, announce)
    return serving


class Background:
    """An ASGI app served on a free loopback port in a thread (``.url``) until :meth:`stop`:
    ``scf demo``'s door, and the tests' and benchmarks' server."""

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        import uvicorn

        config = uvicorn.Config(
            app, host=host, port=0, log_config=None, access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="http", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.01)
        self.url = bound_url(self.server)

    def stop(self) -> None:
        """Stop serving (requests in flight finish) and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(GRACE)
