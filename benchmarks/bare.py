"""The bare baseline the door is measured against: Starlette on uvicorn (httptools, as
``scf serve``), nothing of scf, written as Starlette's documentation would have it.

``POST /open311/v2/requests.json`` reads the same urlencoded form the door gets with
Starlette's own parser (``request.form()``) and stores it with one SQLite ``INSERT`` in its
own transaction; ``GET /open311/v2/requests/{id}.json`` is one ``SELECT`` by id. The database
work runs in Starlette's thread pool (it blocks), on one connection behind a lock (WAL,
``synchronous = NORMAL``, as the store). No key check, no validation, no log: the floor of the
framework and the database, not a competitor.

Run as a process: ``python benchmarks/bare.py DATABASE``; it prints the URL it serves at.
"""

from __future__ import annotations

import socket
import sqlite3
import sys
import threading
from datetime import UTC, datetime
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    service_code TEXT NOT NULL,
    lat REAL, lng REAL,
    description TEXT,
    email TEXT,
    answers TEXT,
    created_at TEXT NOT NULL
)
"""
INSERT = (
    "INSERT INTO requests (service_code, lat, lng, description, email, answers, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SELECT = "SELECT id, service_code, lat, lng, description, created_at FROM requests WHERE id = ?"


def app(database: str) -> Starlette:
    """The two routes over one SQLite connection."""
    db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(SCHEMA)
    lock = threading.Lock()

    def insert(form: dict[str, str]) -> int | None:
        answers = {k: v for k, v in form.items() if k.startswith("attribute[")}
        values = (
            form.get("service_code", ""),
            float(form.get("lat", "0")),
            float(form.get("long", "0")),
            form.get("description", ""),
            form.get("email"),
            orjson.dumps(answers).decode(),
            datetime.now(UTC).isoformat(),
        )
        with lock:
            db.execute("BEGIN IMMEDIATE")
            issue_id = db.execute(INSERT, values).lastrowid
            db.execute("COMMIT")
        return issue_id

    def select(issue_id: int) -> Any:
        with lock:
            return db.execute(SELECT, (issue_id,)).fetchone()

    async def post(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        issue_id = await run_in_threadpool(insert, form)
        body = [{"service_request_id": str(issue_id), "service_notice": "Thank you."}]
        return Response(orjson.dumps(body), media_type="application/json")

    async def get(request: Request) -> Response:
        row = await run_in_threadpool(select, int(request.path_params["id"]))
        if row is None:
            return Response(b"[]", 404, media_type="application/json")
        keys = ("service_request_id", "service_code", "lat", "long", "description")
        found = dict(zip(keys, (str(row[0]), *row[1:5]), strict=True))
        found["requested_datetime"] = row[5]
        return Response(orjson.dumps([found]), media_type="application/json")

    return Starlette(
        routes=[
            Route("/open311/v2/requests.json", post, methods=["POST"]),
            Route("/open311/v2/requests/{id:int}.json", get, methods=["GET"]),
        ]
    )


def main() -> None:
    """Serve ``sys.argv[1]`` on a free loopback port; print the URL first."""
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say they are TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)  # connections wait in the backlog until the loop accepts them
    print(f"serving at http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        app(sys.argv[1]),
        http="httptools",
        access_log=False,
        log_config=None,
        server_header=False,
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
