"""Sending one email through the organization's mail server (``[email]``), and checking that
server for ``scf doctor``.

Every command, and the connection itself, has the email timeout as its deadline: a server
that answers a byte at a time, or floods a reply that never ends, is cut off by it
(:mod:`.deadlines` guards the socket; a reply is also capped in lines and bytes). TLS, with
``security = "tls"`` or ``"starttls"``, verifies the server's certificate and name against the
system's CAs; there is no way to turn that off but ``security = "none"``.

SMTP has no idempotency. A failure is an :class:`SmtpFailure` that says what the sender may do:
``uncertain`` when the connection failed after the message's final ``.`` had been sent and
before the server answered (it may have taken the message: never send it again on one's
own), ``permanent`` when the server refused this recipient or this message with a 5xx, and
``whole_server`` when nothing of this message was at fault (no connection, no TLS, a refused
login or sender): every other message would fail the same way. The password, and every
address a server echoes in its replies, never appear in a failure's text.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import getaddresses
from functools import cache
from typing import TYPE_CHECKING

from ..errors import ScfError
from . import deadlines
from .redaction import redact

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from ..config.email import Email
    from ..models import Secret

MAX_REPLY_LINES = 100  # an EHLO answer has a dozen; a reply that goes on is junk
MAX_LINE = 2048  # RFC 5321 allows 512 octets a reply line
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")


class SmtpFailure(ScfError):
    """The mail server did not take the message (or, ``uncertain``, may have).

    :param uncertain: the connection failed after the final ``.`` and before the answer.
    :param permanent: a 5xx for the recipient or the message: sending it again will not help.
    :param whole_server: nothing of this message was at fault (connection, TLS, login,
        sender): every message would fail the same way until the server or config is fixed.
    :param code: the server's reply code, when it gave one.
    """

    def __init__(
        self,
        reason: str,
        *,
        uncertain: bool = False,
        permanent: bool = False,
        whole_server: bool = False,
        code: int | None = None,
    ) -> None:
        super().__init__(redact(reason))
        self.uncertain = uncertain
        self.permanent = permanent
        self.whole_server = whole_server
        self.code = code


class _Junk(Exception):
    """A reply that is not SMTP (too long, too many lines, no code)."""


def send(email: Email, password: Secret | None, message: EmailMessage) -> None:
    """Send ``message`` (From as it is; to its ``To`` addresses) through ``email``'s server.

    :raises SmtpFailure: saying whether the message may have been taken (``uncertain``),
        will never be (``permanent``), or whether the server as a whole failed.
    """
    recipients = [address for _, address in getaddresses(message.get_all("To", [])) if address]
    if not recipients:
        raise SmtpFailure("the message has no recipient", permanent=True)
    with _session(email, password) as client:
        utf8 = not all(a.isascii() for a in [email.address, *recipients])
        if utf8 and not client.has_extn("smtputf8"):
            raise SmtpFailure(
                "the address is not ASCII and the server does not offer SMTPUTF8",
                permanent=True,
            )
        payload = _payload(message, utf8)
        options = ["SMTPUTF8"] if utf8 else []
        if not payload.isascii() and client.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        _expect(client, client.mail(email.address, options), "the sender", 250, whole=True)
        for address in recipients:
            _expect(client, client.rcpt(address), "the recipient", 250)
        _expect(client, client.docmd("DATA"), "the message", 354)
        client.send(payload)  # fails before the final "." left: the server took nothing
        try:
            reply = client.getreply()
        except (OSError, smtplib.SMTPException, _Junk) as exc:
            raise SmtpFailure(
                f"no answer after the message was sent ({_why(exc)}); the server may have taken it",
                uncertain=True,
            ) from None
        _expect(client, reply, "the message", 250, uncertain_otherwise=True)
        client.quit_quietly()


def check(email: Email, password: Secret | None) -> list[str]:
    """Connect, say hello, secure the connection and log in as configured; send nothing.

    :returns: what was done, one line each (for ``scf doctor``).
    :raises SmtpFailure: with a one-line reason and, where there is one, the fix.
    """
    with _session(email, password) as client:
        done = [f"connected to {email.host}:{email.port}"]
        if email.security != "none":
            sock = client.sock
            version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
            done.append(f"{email.security}: {version or 'TLS'}, certificate verified")
        if email.user:
            done.append(f"logged in as {email.user}")
        offered = [name.upper() for name in ("smtputf8", "8bitmime") if client.has_extn(name)]
        done.append(f"the server offers {', '.join(offered) or 'neither SMTPUTF8 nor 8BITMIME'}")
        client.quit_quietly()
        return done


class _Client(smtplib.SMTP):
    """smtplib's client with every command under the email timeout as a deadline, and
    replies read with caps (what smtplib reads whole, however long)."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), timeout, self.source_address)
        return deadlines.guard(sock)  # type: ignore[no-any-return]

    def send(self, s: Buffer | str) -> None:
        """One command (or the message) under the deadline."""
        with deadlines.deadline(self.timeout):
            super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        """One reply under the deadline; :class:`_Junk` when it is not SMTP."""
        if self.sock is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        if self.file is None:
            self.file = self.sock.makefile("rb")
        lines: list[bytes] = []
        with deadlines.deadline(self.timeout):
            while True:
                line = self.file.readline(MAX_LINE + 1)
                if not line:
                    self.close()
                    raise smtplib.SMTPServerDisconnected("the connection was closed")
                if len(line) > MAX_LINE or len(lines) >= MAX_REPLY_LINES:
                    self.close()
                    raise _Junk("a reply too long to be SMTP")
                code = line[:3]
                if not code.isdigit() or line[3:4] not in (b" ", b"-", b"\r", b"\n", b""):
                    self.close()
                    raise _Junk("a reply that is not SMTP")
                lines.append(line[4:].strip(b" \t\r\n"))
                if line[3:4] != b"-":
                    return int(code), b"\n".join(lines)

    def quit_quietly(self) -> None:
        """QUIT, whatever the server makes of it: the work is done."""
        try:
            self.quit()
        except (OSError, smtplib.SMTPException, _Junk):
            self.close()


class _TlsClient(_Client, smtplib.SMTP_SSL):
    """The same, over TLS from the first byte (``security = "tls"``)."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)
        wrapped = self.context.wrap_socket(sock, server_hostname=host)
        return deadlines.guard(wrapped)  # type: ignore[no-any-return]


@contextmanager
def _session(email: Email, password: Secret | None) -> Iterator[_Client]:
    """A connected, secured, logged-in client, closed on the way out; a failure of the
    connection inside the block (before any final ``.``: :func:`send` sees to that) is a
    definite one."""
    client = _open(email, password)
    try:
        yield client
    except (OSError, smtplib.SMTPException, _Junk) as exc:
        raise SmtpFailure(f"the server failed during the send ({_why(exc)})") from None
    finally:
        client.close()


def _open(email: Email, password: Secret | None) -> _Client:
    """Connect, say hello, secure and log in; every failure here is the whole server's."""
    where = f"{email.host}:{email.port}"
    client: _Client | None = None
    try:
        if email.security == "tls":
            client = _TlsClient(
                timeout=email.timeout_seconds, local_hostname=_ehlo_name(), context=_tls_context()
            )
        else:
            client = _Client(timeout=email.timeout_seconds, local_hostname=_ehlo_name())
        code, reply = client.connect(email.host, email.port)
        if code // 100 != 2:
            raise SmtpFailure(f"{where} greeted with {_said(code, reply)}", whole_server=True)
        _expect(client, client.ehlo(), "the hello (EHLO)", 250, whole=True)
        if email.security == "starttls":
            _start_tls(client, email)
        if email.user:
            _log_in(client, email, password)
        return client
    except SmtpFailure:
        if client is not None:
            client.close()
        raise
    except ssl.SSLCertVerificationError as exc:
        if client is not None:
            client.close()
        raise SmtpFailure(
            f"{where}: its TLS certificate cannot be trusted ({exc.verify_message}); the "
            f"server needs a certificate for {email.host} from a CA this machine trusts",
            whole_server=True,
        ) from None
    except (OSError, smtplib.SMTPException, _Junk) as exc:
        if client is not None:
            client.close()
        raise SmtpFailure(f"{where}: {_why(exc)}", whole_server=True) from None


def _start_tls(client: _Client, email: Email) -> None:
    """STARTTLS, the certificate verified, and hello again over TLS."""
    if not client.has_extn("starttls"):
        raise SmtpFailure(
            f"{email.host}:{email.port} does not offer STARTTLS; use its TLS port with "
            f'security = "tls", or have STARTTLS turned on',
            whole_server=True,
        )
    _expect(client, client.docmd("STARTTLS"), "STARTTLS", 220, whole=True)
    assert client.sock is not None
    client.sock.settimeout(email.timeout_seconds)  # the handshake's reads
    client.sock = deadlines.guard(
        _tls_context().wrap_socket(client.sock, server_hostname=email.host)
    )
    # What smtplib's own starttls() forgets of the plain connection.
    client.file = None
    client.helo_resp = client.ehlo_resp = None
    client.esmtp_features = {}
    client.does_esmtp = False
    _expect(client, client.ehlo(), "the hello (EHLO) over TLS", 250, whole=True)


def _log_in(client: _Client, email: Email, password: Secret | None) -> None:
    """AUTH as ``email.user``; a refusal names the fix, never the password."""
    if not password:
        raise SmtpFailure(
            f"email.user is {email.user} but no password is stored; run `scf credentials "
            f"set email` or set SCF_EMAIL_PASSWORD",
            whole_server=True,
        )
    if not client.has_extn("auth"):
        hint = " (many servers offer it only after STARTTLS)" if email.security == "none" else ""
        raise SmtpFailure(f"{email.host} does not offer a login (AUTH){hint}", whole_server=True)
    assert email.user is not None
    try:
        client.login(email.user, password.reveal())
    except smtplib.SMTPAuthenticationError as exc:
        raise SmtpFailure(
            f"{email.host} refused the login of {email.user} "
            f"({_said(exc.smtp_code, exc.smtp_error)}); check the password "
            f"(`scf credentials set email`)",
            whole_server=True,
            code=exc.smtp_code,
        ) from None


def _expect(
    client: _Client,
    reply: tuple[int, bytes],
    what: str,
    want: int,
    *,
    whole: bool = False,
    uncertain_otherwise: bool = False,
) -> None:
    """Raise the failure a reply other than ``want`` means for ``what``."""
    code, text = reply
    if code // 100 == want // 100:
        return
    if uncertain_otherwise and not 400 <= code < 600:
        raise SmtpFailure(
            f"the server answered the message with {_said(code, text)}; it may have taken it",
            uncertain=True,
            code=code,
        )
    permanent = 500 <= code < 600 and not whole
    if code != 421 and client.sock is not None:  # 421: the server is closing anyway
        try:
            client.rset()
        except (OSError, smtplib.SMTPException, _Junk):
            client.close()
    raise SmtpFailure(
        f"the server refused {what}: {_said(code, text)}",
        permanent=permanent,
        whole_server=whole or code == 421,
        code=code,
    )


def _payload(message: EmailMessage, utf8: bool) -> bytes:
    """The message as DATA sends it: CRLF lines, leading dots doubled, the final ``.``."""
    data = message.as_bytes(policy=SMTPUTF8 if utf8 else SMTP)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _said(code: int, text: bytes | str) -> str:
    """A server's reply as a failure quotes it: printable, short, and no address in it."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = _ADDRESS.sub("<address>", _UNPRINTABLE.sub(" ", text)).strip()
    return f"{code} {text[:200]}".strip()


def _why(exc: BaseException) -> str:
    """An exception as one short clause, without addresses or secrets."""
    if isinstance(exc, deadlines.DeadlineExceeded | TimeoutError):
        return "no answer within the email timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused (is the server up, and the port right?)"
    if isinstance(exc, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake failed ({exc.reason or type(exc).__name__})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return _said(exc.smtp_code, exc.smtp_error)
    said = _ADDRESS.sub("<address>", _UNPRINTABLE.sub(" ", str(exc)))[:200]
    return f"{type(exc).__name__}: {said}" if said else type(exc).__name__


@cache
def _tls_context() -> ssl.SSLContext:
    """The system's CAs, the server's name checked: no way to turn it off."""
    return ssl.create_default_context()


@cache
def _ehlo_name() -> str:
    """This machine's name for EHLO (looked up once: it may ask DNS)."""
    return socket.getfqdn()
