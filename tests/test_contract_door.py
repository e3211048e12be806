"""The open311 plugin passes the plugin contract against ``scf serve`` itself: host B's door
(with its Cityworks emulator behind it) is the remote system, city staff act in Cityworks or
on host B, and the door is tapped to count calls and to lose one answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from scf_open311 import plugin
from sqlalchemy import select

from scf_plugins import ActivityRule, Integration, Secret
from scf_plugins.engine.posting import post
from scf_plugins.server.apikeys import create
from scf_plugins.server.web import create_app
from scf_plugins.store.tables import issues
from scf_plugins.testing import RemoteSystemContract, make_integration

from .served import Served


class Tap:
    """ASGI middleware: counts the door's calls, and can lose the answer of the next create
    after the door stored it (the client gets a 500 instead)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls = 0
        self.drop_next = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.calls += 1
        if self.drop_next and scope["method"] == "POST" and "/requests." in scope["path"]:
            self.drop_next = False

            async def swallow(message: Any) -> None:
                return None

            await self.app(scope, receive, swallow)
            raise ConnectionError("the answer was lost after the door stored the report")
        await self.app(scope, receive, send)


class DoorStaff:
    """City staff behind host B's door: in its Cityworks emulator, or on host B itself."""

    def __init__(self, world: Any, tap: Tap) -> None:
        self.world = world
        self.tap = tap

    def close(self, remote_id: str, status: str) -> None:
        self.world.sync()  # B sends it on to Cityworks, where staff close it
        self.world.emulator.state.staff("close", self.world.remote_id(int(remote_id)))
        self.world.sync()

    def cancel(self, remote_id: str, status: str) -> None:
        raise AssertionError("the door reports no cancellation: the plugin declares none")

    def comment(self, remote_id: str, text: str) -> None:
        raise AssertionError("no comments through the door: the plugin declares none")

    def set_field(self, remote_id: str, field: str, value: str) -> None:
        assert field == "status_notes"  # the door's status_notes is B's latest message
        store = self.world.store()
        with store.transaction() as conn:
            post(conn, self.world.settings, int(remote_id), value)

    def requests_with(self, marker: str) -> int:
        with self.world.store().read() as conn:
            rows = conn.execute(select(issues.c.description)).scalars()
            return sum(1 for text in rows if (text or "").endswith(f"[{marker}]"))

    def comment_texts(self, remote_id: str) -> list[str]:
        return []

    def set_status(self, remote_id: str, status: str) -> None:
        """The door reports only open and closed; the request stays as it is (open)."""

    def drop_next_answer(self) -> None:
        self.tap.drop_next = True

    def calls(self) -> int:
        return self.tap.calls


class TestOpen311AgainstScfServe(RemoteSystemContract):
    @pytest.fixture
    def door(self, world: Any) -> Iterator[tuple[Any, Tap, str, str]]:
        b = world()
        assert b.cli("request-types", "--refresh").exit_code == 0
        store = b.store()
        key = create(store, "contract", actor="test")
        tap = Tap(create_app(b.settings, b.host, store))
        served = Served(tap)
        yield b, tap, f"{served.url}/open311/v2", key
        served.stop()

    @pytest.fixture
    def contract_plugin(self) -> Any:
        return plugin

    @pytest.fixture
    def contract_integration(self, door: tuple[Any, Tap, str, str]) -> Integration:
        _, _, url, key = door
        return make_integration(
            "open311", url, name="county", password=Secret(key),
            closed_statuses=("closed",), cancel_statuses=(),
            activity=(ActivityRule("status_notes", "{value}"),),
            options={"updates": "none"},
        )  # fmt: skip

    @pytest.fixture
    def contract_staff(self, door: tuple[Any, Tap, str, str]) -> DoorStaff:
        b, tap, _, _ = door
        return DoorStaff(b, tap)
