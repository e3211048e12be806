"""A throwaway PostgreSQL on a free loopback port, for the scale-out rows of ``make bench``.

Found in ``/usr/lib/postgresql/*/bin`` (installed with apt when this runs as root and it is
missing, as ``.ci/test-postgres`` does); None when it cannot be had, and those rows are
skipped with a note.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator


def _bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "postgresql"],
        ):
            if subprocess.run(command, capture_output=True, env=env, check=False).returncode:
                break
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _as_postgres(command: list[str]) -> subprocess.CompletedProcess[bytes]:
    if os.geteuid() == 0:
        command = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(command)]
    return subprocess.run(command, capture_output=True, check=False)


@contextlib.contextmanager
def throwaway() -> Iterator[str | None]:
    """An empty PostgreSQL's SQLAlchemy URL for the block, or None where there is none."""
    bindir = _bin()
    if bindir is None:
        yield None
        return
    data = tempfile.mkdtemp(prefix="scf-bench-pg.")
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = False
    try:
        if _as_postgres(
            [f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"]
        ).returncode:
            yield None
            return
        options = f"'-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200'"
        start = [f"{bindir}/pg_ctl", "-D", data, "-w", "-l", f"{data}/log", "-o", options, "start"]
        started = _as_postgres(start).returncode == 0
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres" if started else None
    finally:
        if started:
            _as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "stop"])
        shutil.rmtree(data, ignore_errors=True)
