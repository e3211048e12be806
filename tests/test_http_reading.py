"""How the host's HTTP client reads an answer's body, against raw answers on 127.0.0.1.

A body of a known length, sent as is, is read whole in one go (a poll's answers are a
megabyte each); every other body (chunked, compressed, delimited by the connection closing)
is read in pieces and cut at ``max_bytes``. Either way a lying server is one clear error.
"""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scf_plugins import AmbiguousError, HttpClient, HttpPolicy, RemoteError, TransientError
from scf_plugins.net.http import form_body
from tests.hostile import _Listener, read_request

KB = 1024


class Canned(_Listener):
    """Answers every request of a connection with ``raw`` (bytes of a whole response),
    keeping the connection open unless ``close``; counts the connections it accepted."""

    def __init__(self, raw: bytes, close: bool = False) -> None:
        super().__init__()
        self.raw = raw
        self.close = close
        self.connections = 0

    def handle(self, conn: socket.socket) -> None:
        self.connections += 1
        while True:
            read_request(conn)
            conn.sendall(self.raw)
            if self.close:
                return


def head(*lines: str) -> bytes:
    return ("\r\n".join(["HTTP/1.1 200 OK", "Content-Type: application/json", *lines])
            + "\r\n\r\n").encode()  # fmt: skip


def chunked(body: bytes, size: int = 64 * KB) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
             for i in range(0, len(body), size)]  # fmt: skip
    return b"".join(parts) + b"0\r\n\r\n"


@pytest.fixture
def serve() -> Iterator[Any]:
    listeners: list[Canned] = []

    def make(raw: bytes, close: bool = False) -> tuple[Canned, HttpClient]:
        listener = Canned(raw, close).__enter__()
        listeners.append(listener)
        policy = HttpPolicy(timeout=5.0, max_bytes=256 * KB)
        return listener, HttpClient("canned", listener.root, True, policy, system="Canned")

    yield make
    for listener in listeners:
        listener.__exit__()


def get(client: HttpClient, root: str) -> bytes:
    return client.request("GET", f"{root}/x", what="x", idempotent=True).content


def test_a_body_of_known_length_is_read_whole_and_the_connection_kept(serve: Any) -> None:
    body = bytes(range(256)) * 1000  # 250 KB, just under the cap
    listener, client = serve(head(f"Content-Length: {len(body)}") + body)
    assert get(client, listener.root) == body
    assert get(client, listener.root) == body
    assert listener.connections == 1


def test_a_length_over_the_cap_is_refused_unread(serve: Any) -> None:
    body = b"x" * (300 * KB)
    listener, client = serve(head(f"Content-Length: {len(body)}") + body)
    with pytest.raises(RemoteError, match=r"larger than 0\.25 MB and was not read"):
        get(client, listener.root)


def test_a_body_shorter_than_its_length_is_broken_off(serve: Any) -> None:
    listener, client = serve(head("Content-Length: 10000") + b"x" * 5000, close=True)
    with pytest.raises(TransientError, match="Canned broke off its answer before the end"):
        get(client, listener.root)
    with pytest.raises(AmbiguousError, match=r"broke off .* it may have been carried out"):
        client.request("POST", f"{listener.root}/x", what="x", idempotent=False, data={"a": "1"})


@pytest.mark.parametrize("with_length", [False, True])
def test_a_chunked_body_is_cut_at_the_cap_whatever_length_it_claims(
    serve: Any, with_length: bool
) -> None:
    """A ``Content-Length`` beside ``Transfer-Encoding: chunked`` does not bound the body."""
    claims = ["Content-Length: 100"] if with_length else []
    raw = head("Transfer-Encoding: chunked", *claims) + chunked(b"x" * (400 * KB))
    listener, client = serve(raw)
    with pytest.raises(RemoteError, match=r"larger than 0\.25 MB"):
        get(client, listener.root)


def test_a_small_chunked_body_is_read(serve: Any) -> None:
    listener, client = serve(head("Transfer-Encoding: chunked") + chunked(b"abc" * 30_000))
    assert get(client, listener.root) == b"abc" * 30_000


def test_a_compressed_body_is_cut_at_the_cap_once_inflated(serve: Any) -> None:
    """A small gzip body that inflates past the cap (a zip bomb) is not inflated whole."""
    bomb = gzip.compress(b"x" * (10 * 1024 * KB))
    assert len(bomb) < 256 * KB
    listener, client = serve(head("Content-Encoding: gzip", f"Content-Length: {len(bomb)}") + bomb)
    with pytest.raises(RemoteError, match=r"larger than 0\.25 MB"):
        get(client, listener.root)


def test_a_body_ended_by_closing_is_read_and_cut_at_the_cap(serve: Any) -> None:
    listener, client = serve(head("Connection: close") + b"y" * (100 * KB), close=True)
    assert get(client, listener.root) == b"y" * (100 * KB)
    listener, client = serve(head("Connection: close") + b"y" * (300 * KB), close=True)
    with pytest.raises(RemoteError, match=r"larger than 0\.25 MB"):
        get(client, listener.root)


texts = st.text(st.characters(codec="utf-8"), max_size=40)


@given(st.lists(st.tuples(texts, texts), max_size=4))
def test_a_form_body_is_what_urlencode_writes(pairs: list[tuple[str, str]]) -> None:
    assert form_body(pairs) == urlencode(pairs)


@given(st.lists(st.tuples(st.text(st.characters(max_codepoint=127)),
                          st.text(st.characters(max_codepoint=127))), max_size=4))  # fmt: skip
def test_an_ascii_form_body_is_what_urlencode_writes(pairs: list[tuple[str, str]]) -> None:
    assert form_body(pairs) == urlencode(pairs)
