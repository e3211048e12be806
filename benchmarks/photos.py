"""The photos row of ``make bench``: N issues with a 2 MB photo each, attached to their
Cityworks requests at 20 ms a call, ``max_concurrency`` uploads at once.

Wall time is set against the floor (N x latency / concurrency), and peak RSS is the
process's own: each photo's bytes are read from the store by the worker that sends it, just
before the call, so memory holds a few photos, never all of them.
"""

from __future__ import annotations

import io
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from run import RemoteEmulator, _open_issues, _world

LATENCY = 0.020
CONCURRENCY = 4


def two_megabyte_photo() -> Any:
    """A clean JPEG of about 2 MB (noise does not compress), as the door would keep it."""
    from PIL import Image

    from scf_plugins.intake.images import Photo

    image = Image.frombytes("RGB", (1800, 1350), os.urandom(1800 * 1350 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return Photo("photo.jpg", out.getvalue(), image.width, image.height)


def phase_photos(n: int) -> dict[str, Any]:
    from scf_plugins.engine import photos as attaching
    from scf_plugins.engine import submit as submitting
    from scf_plugins.engine.loop import Engine
    from scf_plugins.store.store import insert_photo
    from scf_plugins.timeutil import utcnow

    emulator = RemoteEmulator(LATENCY)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings, host, store = _world(Path(tmp), emulator.url, CONCURRENCY)
            _open_issues(settings, store, n)
            photo = two_megabyte_photo()
            with store.transaction() as conn:  # each issue gets its own copy of the photo
                for issue_id in range(1, n + 1):
                    insert_photo(conn, issue_id, photo, utcnow())
            del photo
            engine = Engine(settings, host, store)
            engine.run_pass((submitting.submit,), archive=False)  # the requests exist first
            before = emulator.calls()
            wall, cpu = time.perf_counter(), time.process_time()
            report = engine.run_pass((attaching.push_photos,), archive=False)
            result = {
                "wall": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu,
                "calls": emulator.calls() - before,
                "sent": report.photos_out,
                "errors": report.errors,
                "mb_each": store_size(store) / n / 1024 / 1024,
            }
        result["floor"] = n * LATENCY / CONCURRENCY
        result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert result["sent"] == n and result["errors"] == 0, result
        return result
    finally:
        emulator.close()


def store_size(store: Any) -> int:
    from sqlalchemy import func, select

    from scf_plugins.store.tables import attachments

    with store.read() as conn:
        return int(conn.execute(select(func.sum(attachments.c.size))).scalar() or 0)
