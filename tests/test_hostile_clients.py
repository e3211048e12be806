"""Hostile clients against the door (beside tests/hostile.py's hostile servers): uploads
without a key, huge headers, slow trickles, more body at once than the budget. Memory stays
bounded before anyone is known, slow clients are cut off, and an honest client is served.

The heavy ones run ``scf serve`` as a subprocess and read its memory from /proc (Linux).
"""

from __future__ import annotations

import io
import os
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from scf_plugins.server.apikeys import create
from scf_plugins.server.multipart import EARLY_FILES

from .served import Door

MB = 1024 * 1024
REPORT = {
    "service_code": "POTHOLE",
    "lat": "41.3083",
    "long": "-72.9279",
    "description": "Deep pothole by the school gate",
    "attribute[501]": "Yes",
    "attribute[502]": "Smaller than a dinner plate",
    "attribute[503]": "r@example.org",
}
BOUNDARY = "scf-hostile-boundary"
POST_HEAD = (
    "POST /open311/v2/requests.json HTTP/1.1\r\nHost: door\r\n"
    f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
    "Content-Length: {length}\r\n\r\n"
)


def jpeg(side: int = 32) -> bytes:
    """A small valid photo."""
    out = io.BytesIO()
    Image.new("RGB", (side, side), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def field(name: str, value: str) -> bytes:
    """One multipart field."""
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def file_head(name: str) -> bytes:
    """The start of a multipart file part (its content follows, then ``\\r\\n``)."""
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()


END = f"--{BOUNDARY}--\r\n".encode()


def memory(pid: int) -> tuple[float, float]:
    """A process's peak and current resident memory, in MB (Linux /proc)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            found[name] = int(value.split()[0]) / 1024
    return found["VmHWM"], found["VmRSS"]


def more_files(wanted: int) -> None:
    """Let this process open ``wanted`` sockets (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < wanted:
        pytest.skip(f"this machine lets a process open fewer than {wanted} files")


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0: none came)."""
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


# ``scf`` whose connection guard holds 127.0.0.2… to the per-address cap, as it holds clients
# of other machines: each such source stands for one remote client.
AS_REMOTE = (
    "from scf_plugins.server import connections; "
    "connections.is_loopback = lambda a: a in ('127.0.0.1', '::1'); "
    "from scf_plugins.cli import main; main()"
)


class Serve:
    """``scf serve --no-sync`` on a free port, with an API key; :meth:`stop` ends it.

    :param local_as_remote: hold 127.0.0.2… to the per-address connection cap.
    """

    def __init__(self, w: Any, local_as_remote: bool = False) -> None:
        assert w.cli("request-types", "--refresh").exit_code == 0
        self.key = create(w.store(), "fixmystreet", actor="test")
        scf = [sys.executable, "-c", AS_REMOTE] if local_as_remote else [
            str(Path(sys.executable).parent / "scf")]  # fmt: skip
        self.process = subprocess.Popen(
            [*scf, "--config", str(w.path), "serve", "--no-sync", "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )  # fmt: skip
        assert self.process.stderr is not None
        line = ""
        while "serving Open311 at" not in line:
            line = self.process.stderr.readline()
            assert line, "scf serve exited before it listened"
        # Keep reading its log, so it never blocks on a full pipe.
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        self.url = line.split(" at ", 1)[1].split("/open311")[0]
        self.port = int(self.url.rsplit(":", 1)[1])

    def post(self, source: str = "127.0.0.1", photo: bool = True) -> requests.Response:
        """An honest report (key first, one small photo), sent from address ``source``."""
        with requests.Session() as session:
            session.mount("http://", SourceAdapter(source))
            files = {"photo1": ("p.jpg", jpeg(), "image/jpeg")} if photo else None
            return session.post(f"{self.url}/open311/v2/requests.json",
                                data={"api_key": self.key, **REPORT}, files=files, timeout=30)  # fmt: skip

    def stop(self) -> None:
        """End the server."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class SourceAdapter(requests.adapters.HTTPAdapter):
    """Connections from a chosen local address (127.0.0.2… are all this machine)."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Bind every connection to the source address."""
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture
def serve(world: Callable[..., Any]) -> Iterator[Callable[..., Serve]]:
    """``serve(server_lines, local_as_remote=False)``: ``scf serve`` with these ``[server]``
    lines."""
    started: list[Serve] = []

    def make(lines: str = "", local_as_remote: bool = False) -> Serve:
        w = world(tail=f"[server]\nrequests_per_minute = 0\n{lines}")
        started.append(Serve(w, local_as_remote))
        return started[-1]

    yield make
    for each in started:
        each.stop()


def upload(port: int, prefix: bytes, size: int, ends: float) -> int:
    """One POST of ``prefix`` then ``size`` bytes of a file part, sent as fast as the server
    takes it; the status it got (0: cut off)."""
    body_length = len(prefix) + size + 2 + len(END)
    head = POST_HEAD.format(length=body_length).encode()
    chunk = bytes(256 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        try:
            conn.sendall(head + prefix)
            sent = 0
            while sent < size and time.monotonic() < ends:
                piece = chunk[: size - sent]
                conn.sendall(piece)
                sent += len(piece)
            conn.sendall(b"\r\n" + END)
        except OSError:
            pass  # cut off while sending: the answer may have come before (urllib3 reads it)
        try:
            return status_of(conn.recv(256))
        except OSError:
            return 0


# -- memory before anyone is known -----------------------------------------------------------


@pytest.mark.slow  # a subprocess, 2.4 GB through loopback
def test_fifty_keyless_48_mb_uploads_leave_memory_bounded_and_an_honest_client_served(
    serve: Callable[..., Serve],
) -> None:
    server = serve("request_timeout_seconds = 120\n")
    before, _ = memory(server.process.pid)
    ends = time.monotonic() + 90
    no_key = field("service_code", "POTHOLE") + file_head("photo1")
    wrong_key = field("api_key", "not-a-key") + file_head("photo1")
    statuses: list[int] = []

    def attack(prefix: bytes) -> None:
        statuses.append(upload(server.port, prefix, 48 * MB, ends))

    attackers = [threading.Thread(target=attack, args=(no_key if n % 2 else wrong_key,))
                 for n in range(50)]  # fmt: skip
    for thread in attackers:
        thread.start()
    honest = [server.post() for _ in range(3)]  # while the flood is under way
    for thread in attackers:
        thread.join(120)
    assert not any(thread.is_alive() for thread in attackers)
    peak, _ = memory(server.process.pid)
    assert [answer.status_code for answer in honest] == [200, 200, 200], honest[0].text
    # Keyless: told to send the key first after 1 MB; a wrong key: 403 at once; then cut off
    # 1 MB later (0: the client saw the reset before it read the answer).
    assert set(statuses) <= {0, 400, 403} and {400, 403} <= set(statuses), statuses
    assert statuses.count(0) <= 5, statuses
    assert peak < 300, f"peak RSS {peak:.0f} MB (was {before:.0f} MB before the flood)"
    assert server.post().status_code == 200


@pytest.mark.slow  # a subprocess
def test_huge_headers_are_refused_with_431_and_memory_stays_bounded(
    serve: Callable[..., Serve],
) -> None:
    server = serve()
    before, _ = memory(server.process.pid)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: door\r\nX-Big: " + b"a" * 32 * 1024)
        assert status_of(conn.recv(256)) == 431

    def flood() -> None:  # 100 MB of one header, as fast as the server takes it
        line = b"b" * 256 * 1024
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: door\r\nX-Big: ")
                for _ in range(400):
                    conn.sendall(line)
        except OSError:
            return  # cut off: what should happen

    floods = [threading.Thread(target=flood) for _ in range(8)]
    for thread in floods:
        thread.start()
    for thread in floods:
        thread.join(60)
    peak, _ = memory(server.process.pid)
    assert peak - before < 64 and peak < 300, f"peak RSS {peak:.0f} MB, {before:.0f} MB before"
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code in (200, 503)
    assert server.post(photo=False).status_code == 200


# -- slow clients ------------------------------------------------------------------------------


@pytest.mark.slow  # a subprocess, 1,100 sockets
def test_an_honest_client_is_served_while_1100_connections_trickle_from_a_few_addresses(
    serve: Callable[..., Serve],
) -> None:
    more_files(1400)
    server = serve(
        "request_timeout_seconds = 4\nmax_connections_per_address = 32\n", local_as_remote=True
    )
    sources = [f"127.0.0.{n}" for n in range(2, 6)]
    chooser = selectors.DefaultSelector()
    sockets: list[socket.socket] = []
    answers: dict[int, bytes] = {}
    try:
        for n in range(1100):
            conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(conn)
            conn.bind((sources[n % len(sources)], 0))
            conn.settimeout(10)
            conn.connect(("127.0.0.1", server.port))
            conn.setblocking(False)
            conn.send(b"POST /open311/v2/requests.json HTTP/1.1\r\n")
            chooser.register(conn, selectors.EVENT_READ, n)
        started = time.monotonic()
        served: list[float] = []
        trickle_at = started
        while time.monotonic() - started < 7:
            if time.monotonic() >= trickle_at:  # one header line a second each
                trickle_at += 1.0
                for n, conn in enumerate(sockets):
                    if n not in answers:
                        try:
                            conn.send(b"X-Slow: yes\r\n")
                        except OSError:
                            answers.setdefault(n, b"")
            for key, _ in chooser.select(timeout=0.05):
                try:
                    got = key.fileobj.recv(256)  # type: ignore[union-attr]
                except OSError:
                    got = b""
                answers.setdefault(key.data, got)
                chooser.unregister(key.fileobj)
            if len(served) < 5 and time.monotonic() - started > 1:
                asked = time.monotonic()
                answer = server.post(source="127.0.0.9")
                assert answer.status_code == 200, answer.text
                served.append(time.monotonic() - asked)
        health = requests.get(f"{server.url}/healthz", timeout=5)
    finally:
        for conn in sockets:
            conn.close()
        chooser.close()
    assert health.status_code in (200, 503) and "status" in health.json()
    assert len(served) == 5 and max(served) < 3, served
    statuses = [status_of(answers.get(n, b"")) for n in range(1100)]
    # 32 from each address were let in and cut off at the deadline (408); the others were
    # turned away at once: 429, or a reset when their request line arrived as it closed.
    # None was left holding its socket.
    assert statuses.count(408) == 32 * len(sources), sorted(set(statuses))
    turned_away = 1100 - 32 * len(sources)
    assert statuses.count(429) + statuses.count(0) == turned_away
    assert statuses.count(429) > turned_away // 2


# -- within the door's budgets (in this process) ----------------------------------------------


def test_a_key_after_more_than_1_mb_of_files_is_refused_and_one_after_a_small_photo_is_not(
    make_door: Callable[..., Door],
) -> None:
    door = make_door()
    fields = {"service_code": "GRAFFITI", "lat": "41.3", "long": "-72.9"}
    url = f"{door.url}/open311/v2/requests.json"

    def send(parts: list[bytes]) -> requests.Response:
        body = b"".join(parts) + END
        kind = f"multipart/form-data; boundary={BOUNDARY}"
        return requests.post(url, data=body, headers={"Content-Type": kind}, timeout=30)

    late = send([file_head("photo1") + os.urandom(MB + 4096) + b"\r\n",
                 field("api_key", door.key)] + [field(k, v) for k, v in fields.items()])  # fmt: skip
    assert late.status_code == 400 and EARLY_FILES in late.text
    small = send([file_head("photo1") + jpeg() + b"\r\n", field("api_key", door.key)]
                 + [field(k, v) for k, v in fields.items()])  # fmt: skip
    assert small.status_code == 200, small.text
    record = door.store.get(int(small.json()[0]["service_request_id"]))
    assert record is not None and len(record.attachments) == 1


def test_the_in_flight_body_budget_answers_503_with_retry_after(
    make_door: Callable[..., Door],
) -> None:
    door = make_door(server="max_inflight_body_mb = 1\n")
    fields = {"api_key": door.key, "service_code": "GRAFFITI", "lat": "41.3", "long": "-72.9"}
    big = {"photo1": ("a.jpg", os.urandom(3 * MB), "image/jpeg")}
    over = requests.post(f"{door.url}/open311/v2/requests.json", data=fields, files=big,
                         timeout=30)  # fmt: skip
    assert over.status_code == 503 and over.headers["retry-after"] == "5"
    assert "try again" in over.json()["errors"][0]["description"]
    small = {"photo1": ("a.jpg", jpeg(), "image/jpeg")}
    fine = requests.post(f"{door.url}/open311/v2/requests.json", data=fields, files=small,
                         timeout=30)  # fmt: skip
    assert fine.status_code == 200, fine.text  # the budget was given back
