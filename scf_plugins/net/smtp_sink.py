"""A mail server on 127.0.0.1 that keeps what it is sent: ``scf emulator smtp``, the demo and
the tests write to it (:class:`SmtpSink`, on aiosmtpd; tests import it from
:mod:`scf_plugins.testing.smtp_sink`).

It misbehaves on cue, as a city's mail server does some day: it stops listening (connections
refused), answers a message or a recipient with a 4xx or 5xx code, drops the connection after
the message's final ``.`` without answering (having kept the message, as a server that
crashed after queueing it would), or trickles its answer a byte at a time, for ever. With
``users`` it takes only those logins. It never logs an address: aiosmtpd's own logger, which
would (each command line, each recipient), is held to warnings.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

# aiosmtpd logs each command line and recipient at INFO: addresses that must reach no log.
# It also warns about its own deprecated attribute at every login it takes: noise.
_aiosmtpd_log = logging.getLogger("mail.log")
_aiosmtpd_log.setLevel(logging.WARNING)
_aiosmtpd_log.addFilter(lambda record: "login_data is deprecated" not in record.getMessage())

Stage = Literal["rcpt", "data"]
TRICKLE = b"250-still working on it\r\n"


@dataclass(frozen=True)
class Received:
    """One message the sink took: the envelope and the bytes as sent."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None = None  # the user it logged in as, if it did

    @property
    def message(self) -> EmailMessage:
        """The message parsed (headers decoded)."""
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        """The decoded Subject header ("" when none)."""
        return str(self.message["Subject"] or "")

    def part(self, subtype: str = "plain") -> str:
        """The decoded text of its ``text/SUBTYPE`` part, lines ending in ``\\n`` ("" when it
        has none)."""
        body = self.message.get_body(preferencelist=(subtype,))
        if body is None or body.get_content_subtype() != subtype:
            return ""
        return str(body.get_content()).replace("\r\n", "\n")


@dataclass
class _Fault:
    """A fault armed for the next ``times`` commands at ``stage``."""

    stage: Stage
    kind: Literal["answer", "drop", "trickle"]
    times: int
    reply: str = ""
    keep: bool = False
    interval: float = 0.0


@dataclass
class _State:
    """What the sink holds, shared by its thread and the caller's (under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    keep: bool = True  # False: messages are handed to on_message only (a long-running sink)
    arrived: threading.Condition = field(init=False)
    received: list[Received] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    connections: int = 0
    logins_refused: int = 0

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def take(self, stage: Stage) -> _Fault | None:
        """The fault armed for this command at ``stage``, used up once."""
        with self.lock:
            for fault in self.faults:
                if fault.stage == stage:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


class _Handler:
    """aiosmtpd's hooks: faults first, then the message kept."""

    def __init__(
        self, state: _State, users: Mapping[str, str], on_message: Callable[[Received], None]
    ) -> None:
        self.state = state
        self.users = dict(users)
        self.on_message = on_message

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        """A login is required when the sink has users."""
        if self.users and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        """A recipient taken, unless a fault answers for it."""
        fault = self.state.take("rcpt")
        if fault is not None:
            return await self._fault(server, fault, None)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """The message kept and answered, unless a fault answers for it."""
        received = Received(
            mail_from=str(envelope.mail_from or ""),
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
            login=_login(session),
        )
        fault = self.state.take("data")
        if fault is not None:
            return await self._fault(server, fault, received)
        self._keep(received)
        return "250 2.0.0 OK: queued"

    def _keep(self, received: Received) -> None:
        with self.state.lock:
            if self.state.keep:
                self.state.received.append(received)
            self.state.arrived.notify_all()
        self.on_message(received)

    async def _fault(self, server: SMTP, fault: _Fault, received: Received | None) -> str:
        if fault.kind == "answer":
            return fault.reply
        if received is not None and fault.keep:
            self._keep(received)  # taken, as by a server that dies before it answers
        transport = server.transport
        assert isinstance(transport, asyncio.WriteTransport)
        if fault.kind == "drop":
            transport.abort()
        else:
            while not transport.is_closing():  # a reply that never ends
                for byte in TRICKLE:
                    transport.write(bytes([byte]))
                    await asyncio.sleep(fault.interval)
        await asyncio.Event().wait()  # aiosmtpd cancels this when the connection goes
        return ""

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        """A login the sink was given, or a refusal (counted)."""
        if isinstance(data, LoginPassword):
            login = data.login.decode("utf-8", "replace")
            if self.users.get(login) == data.password.decode("utf-8", "replace"):
                return AuthResult(success=True, auth_data=login)
        with self.state.lock:
            self.state.logins_refused += 1
        return AuthResult(success=False, handled=False)


def _login(session: Session) -> str | None:
    data = session.auth_data
    return data if isinstance(data, str) else None


class _Controller(Controller):
    """aiosmtpd's controller on a socket bound before it starts (port 0: any free one), which
    can stop listening and listen again on the same port."""

    def __init__(self, handler: _Handler, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self.sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self.sock, ssl=self.ssl_context)

    def listen(self, on: bool) -> None:
        """Stop listening (``on`` false: connections are refused) or listen again."""

        async def switch() -> None:
            if self.server is not None:
                self.server.close()
                await self.server.wait_closed()
            if on:
                self.sock = _bind(self.hostname, self.port)
                self.server = await self._create_server()

        asyncio.run_coroutine_threadsafe(switch(), self.loop).result(timeout=10)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class SmtpSink:
    """An SMTP server on ``host`` that keeps every message (read :attr:`received`).

    Start it with ``with SmtpSink() as sink:`` (or :meth:`start` and :meth:`stop`); its port is
    :attr:`port`. Faults are armed for the next commands: :meth:`answer`, :meth:`drop`,
    :meth:`trickle`; :meth:`refuse` and :meth:`accept` stop and restart listening.

    :param port: 0 for any free one.
    :param users: logins it takes (AUTH PLAIN or LOGIN, also without TLS); none: no login.
    :param tls_context: a server context: STARTTLS is offered with it (unless ``implicit_tls``,
        where every connection starts with TLS); none: STARTTLS is not offered.
    :param on_message: called (on the sink's thread) with each message taken.
    :param keep: keep the messages in :attr:`received` (off for a sink that runs for long).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        users: Mapping[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        on_message: Callable[[Received], None] | None = None,
        keep: bool = True,
    ) -> None:
        self.host = host
        self._state = _State(keep=keep)
        handler = _Handler(self._state, users or {}, on_message or (lambda _: None))
        tls: dict[str, Any] = {}
        if tls_context is not None:
            tls = {"ssl_context": tls_context} if implicit_tls else {"tls_context": tls_context}
        self._controller = _Controller(
            handler,
            _bind(host, port),
            server_hostname="scf-smtp-sink",
            authenticator=handler.authenticate,
            auth_require_tls=False,
            **tls,
        )
        self.port: int = self._controller.port
        self._started = False

    def start(self) -> Self:
        """Listen and serve on a thread of its own."""
        self._controller.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop serving; open connections are closed."""
        if self._started:
            self._started = False
            self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def received(self) -> list[Received]:
        """The messages kept so far, oldest first (a copy)."""
        with self._state.lock:
            return list(self._state.received)

    @property
    def logins_refused(self) -> int:
        """How many logins it refused."""
        with self._state.lock:
            return self._state.logins_refused

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The messages kept, once there are at least ``count``.

        :raises AssertionError: when ``timeout`` seconds pass first, saying how many came.
        """
        with self._state.lock:
            if not self._state.arrived.wait_for(
                lambda: len(self._state.received) >= count, timeout
            ):
                raise AssertionError(
                    f"timed out after {timeout:g} s waiting for {count} message(s) at the "
                    f"sink (got {len(self._state.received)})"
                )
            return list(self._state.received)

    def clear(self) -> None:
        """Forget the messages kept and disarm every fault."""
        with self._state.lock:
            self._state.received.clear()
            self._state.faults.clear()

    def answer(self, code: int, text: str = "", *, times: int = 1, at: Stage = "data") -> None:
        """Answer the next ``times`` messages (``at="rcpt"``: recipients) with ``code``; the
        message is not kept."""
        reply = f"{code} {text or _TEXTS.get(code // 100, 'refused')}"
        self._arm(_Fault(at, "answer", times, reply=reply))

    def drop(self, *, times: int = 1, keep: bool = True) -> None:
        """Close the connection after the next ``times`` messages' final ``.`` without
        answering; ``keep``: the message was taken all the same."""
        self._arm(_Fault("data", "drop", times, keep=keep))

    def trickle(self, interval: float = 0.2, *, times: int = 1, keep: bool = True) -> None:
        """Answer the next ``times`` messages a byte every ``interval`` seconds, never
        finishing (a client must give up on its own deadline)."""
        self._arm(_Fault("data", "trickle", times, keep=keep, interval=interval))

    def refuse(self) -> None:
        """Stop listening: connections are refused until :meth:`accept`."""
        self._controller.listen(False)

    def accept(self) -> None:
        """Listen again on the same port."""
        self._controller.listen(True)

    def _arm(self, fault: _Fault) -> None:
        with self._state.lock:
            self._state.faults.append(fault)


_TEXTS = {4: "4.3.0 try again later", 5: "5.7.1 message refused"}
