"""Mail servers that misbehave at the byte level, on a raw socket on 127.0.0.1: each is cut
off by the email timeout, and a failure after the final ``.`` is uncertain, before it certain.

TLS with a real certificate is not exercised here (no certificate can be made without a
package this project does not depend on): what is tested is that TLS is refused or fails
safely, never skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

import pytest

from scf_plugins.config.email import Email
from scf_plugins.net import smtp
from scf_plugins.net.smtp import SmtpFailure
from tests.test_smtp import letter

Script = Callable[[socket.socket, BinaryIO, threading.Event], object]


class RawServer:
    """Runs ``script`` on each connection accepted on 127.0.0.1 (a thread each)."""

    def __init__(self, script: Script) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.script = script
        self.stop = threading.Event()
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        # OSError: the client gave up, which is what these servers are for
        with conn, conn.makefile("rb") as rfile, contextlib.suppress(OSError):
            self.script(conn, rfile, self.stop)

    def close(self) -> None:
        """Stop accepting; scripts still running end at their next write."""
        self.stop.set()
        self.listener.close()


@pytest.fixture
def raw() -> Iterator[Callable[[Script], RawServer]]:
    """Start a raw server for a script; every one is closed after the test."""
    started: list[RawServer] = []

    def start(script: Script) -> RawServer:
        server = RawServer(script)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def email(port: int, **changes: object) -> Email:
    """``[email]`` for the raw server, with a 1 s timeout."""
    base = Email("127.0.0.1", port, "none", None, "311 <no-reply@example.gov>", None, 1.0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


EHLO = b"250-raw.example\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n"


def converse(conn: socket.socket, rfile: BinaryIO, until: str, ehlo: bytes = EHLO) -> bool:
    """Answer like a good server until the client reaches ``until`` ("ehlo", "starttls",
    "data" or "end": just after the final ``.``); False when the client left first."""
    conn.sendall(b"220 raw.example ESMTP\r\n")
    while line := rfile.readline():
        verb = line[:4].upper()
        if verb == b"EHLO":
            if until == "ehlo":
                return True
            conn.sendall(ehlo)
        elif verb == b"STAR" and until == "starttls":
            conn.sendall(b"220 go ahead\r\n")
            return True
        elif verb == b"DATA":
            if until == "data":
                return True
            conn.sendall(b"354 go ahead\r\n")
            while rfile.readline() not in (b".\r\n", b""):
                pass
            if until == "end":
                return True
            conn.sendall(b"250 OK\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return False
        else:
            conn.sendall(b"250 OK\r\n")
    return False


def trickle(conn: socket.socket, stop: threading.Event, data: bytes, interval: float) -> None:
    """Send ``data`` a byte at a time, over and over, until the client goes."""
    while not stop.is_set():
        for byte in data:
            conn.sendall(bytes([byte]))
            time.sleep(interval)


def failure_of(server: RawServer, **changes: object) -> tuple[SmtpFailure, float]:
    """The failure of one send to ``server``, and how long it took."""
    started = time.monotonic()
    with pytest.raises(SmtpFailure) as failed:
        smtp.send(email(server.port, **changes), None, letter())
    return failed.value, time.monotonic() - started


def test_a_greeting_trickled_for_ever_is_cut_off(raw: Callable[[Script], RawServer]) -> None:
    server = raw(lambda conn, rfile, stop: trickle(conn, stop, b"220-slow\r\n", 0.02))
    failure, took = failure_of(server)
    assert failure.whole_server and not failure.uncertain and took < 3, (failure, took)
    assert "timeout" in str(failure)


def test_a_server_that_never_greets_is_cut_off(raw: Callable[[Script], RawServer]) -> None:
    server = raw(lambda conn, rfile, stop: stop.wait(10))
    failure, took = failure_of(server)
    assert (
        failure.whole_server and took < 3 and "no answer within the email timeout" in str(failure)
    )


@pytest.mark.parametrize("junk", [
    b"HTTP/1.1 400 Bad Request\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" * 4 + b"\r\n",
    b"220" + b"x" * 5000 + b"\r\n",
    b"220-hello\r\n" * 500,
])  # fmt: skip
def test_a_greeting_that_is_not_smtp_is_refused(
    raw: Callable[[Script], RawServer], junk: bytes
) -> None:
    def script(conn: socket.socket, rfile: BinaryIO, stop: threading.Event) -> None:
        conn.sendall(junk)
        stop.wait(5)

    server = raw(script)
    failure, took = failure_of(server)
    assert failure.whole_server and not failure.uncertain and took < 3
    assert "not SMTP" in str(failure) or "too long" in str(failure)


def test_junk_after_the_final_dot_is_uncertain(raw: Callable[[Script], RawServer]) -> None:
    def script(conn: socket.socket, rfile: BinaryIO, stop: threading.Event) -> None:
        if converse(conn, rfile, "end"):
            conn.sendall(b"OK thanks\r\n")

    failure, _ = failure_of(raw(script))
    assert failure.uncertain and "may have taken it" in str(failure)


def test_a_close_after_the_final_dot_is_uncertain(raw: Callable[[Script], RawServer]) -> None:
    server = raw(lambda conn, rfile, stop: converse(conn, rfile, "end"))
    failure, _ = failure_of(server)
    assert failure.uncertain and not failure.permanent


def test_a_close_before_the_message_is_certain(raw: Callable[[Script], RawServer]) -> None:
    server = raw(lambda conn, rfile, stop: converse(conn, rfile, "data"))
    failure, _ = failure_of(server)
    assert not failure.uncertain and not failure.whole_server
    assert "the server failed during the send" in str(failure)


def test_a_reply_after_the_final_dot_trickled_for_ever_is_cut_off_and_uncertain(
    raw: Callable[[Script], RawServer],
) -> None:
    def script(conn: socket.socket, rfile: BinaryIO, stop: threading.Event) -> None:
        if converse(conn, rfile, "end"):
            trickle(conn, stop, b"250-still here\r\n", 0.002)

    failure, took = failure_of(raw(script))
    assert failure.uncertain and took < 3, (failure, took)


def test_a_fast_flood_of_reply_lines_is_cut_off(raw: Callable[[Script], RawServer]) -> None:
    def script(conn: socket.socket, rfile: BinaryIO, stop: threading.Event) -> None:
        if converse(conn, rfile, "end"):
            while not stop.is_set():
                conn.sendall(b"250-more\r\n" * 1000)

    failure, took = failure_of(raw(script))
    assert failure.uncertain and took < 3 and "may have taken it" in str(failure)


def test_starttls_answered_with_junk_fails_the_handshake(
    raw: Callable[[Script], RawServer],
) -> None:
    starttls = b"250-raw.example\r\n250 STARTTLS\r\n"

    def script(conn: socket.socket, rfile: BinaryIO, stop: threading.Event) -> None:
        if converse(conn, rfile, "starttls", ehlo=starttls):
            conn.sendall(b"this is not a TLS server hello\r\n" * 10)
            stop.wait(5)

    failure, took = failure_of(raw(script), security="starttls")
    assert failure.whole_server and "TLS" in str(failure) and took < 3


def test_starttls_that_never_answers_the_handshake_is_cut_off(
    raw: Callable[[Script], RawServer],
) -> None:
    starttls = b"250-raw.example\r\n250 STARTTLS\r\n"

    def script(conn: socket.socket, rfile: BinaryIO, stop: threading.Event) -> None:
        if converse(conn, rfile, "starttls", ehlo=starttls):
            stop.wait(10)

    failure, took = failure_of(raw(script), security="starttls")
    assert failure.whole_server and took < 3, (failure, took)


def test_a_login_asked_of_a_server_without_auth_says_so(
    raw: Callable[[Script], RawServer],
) -> None:
    from scf_plugins.models import Secret

    server = raw(lambda conn, rfile, stop: converse(conn, rfile, "never"))
    with pytest.raises(SmtpFailure, match=r"does not offer a login \(AUTH\).*after STARTTLS"):
        smtp.send(email(server.port, user="scf"), Secret("Pass-1234"), letter())
