"""The open311 plugin passes the plugin contract against the emulator, in JSON and in XML."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from scf_open311 import plugin
from scf_open311.emulator import EmulatorState, Open311Emulator

from scf_plugins import Integration
from scf_plugins.testing import RemoteSystemContract


class EmulatorStaff:
    """City staff, through the emulator's state."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def close(self, remote_id: str, status: str) -> None:
        self.state.staff("close", remote_id, notes="Filled and rolled")

    def cancel(self, remote_id: str, status: str) -> None:
        self.state.staff("cancel", remote_id, notes=f"Closed as a {status} of an older report")

    def comment(self, remote_id: str, text: str) -> None:
        self.state.staff("comment", remote_id, text=text)

    def set_field(self, remote_id: str, field: str, value: str) -> None:
        self.state.staff("set_field", remote_id, field=field, value=value)

    def requests_with(self, marker: str) -> int:
        return self.state.with_marker(f"[{marker}]")

    def comment_texts(self, remote_id: str) -> list[str]:
        return [u["description"] for u in self.state.updates
                if u["service_request_id"] == remote_id]  # fmt: skip

    def set_status(self, remote_id: str, status: str) -> None:
        self.state.staff("status", remote_id, status=status)

    def drop_next_answer(self) -> None:
        self.state.inject("drop_after_commit", match="requests")

    def calls(self) -> int:
        return sum(self.state.counts.values())


class TestOpen311Contract(RemoteSystemContract):
    @pytest.fixture
    def contract_plugin(self) -> ModuleType:
        return plugin

    @pytest.fixture
    def contract_integration(self, county: Callable[..., Integration]) -> Integration:
        return county()

    @pytest.fixture
    def contract_staff(self, emulator: Open311Emulator) -> EmulatorStaff:
        return EmulatorStaff(emulator.state)


class TestOpen311ContractInXml(TestOpen311Contract):
    """A server that speaks XML only, as FixMyStreet's world does."""

    @pytest.fixture
    def emulator(self) -> Open311Emulator:  # type: ignore[override]
        from .conftest import KEY

        server = Open311Emulator(EmulatorState(api_keys={KEY}, xml_only=True)).start()
        yield server  # type: ignore[misc]
        server.stop()

    @pytest.fixture
    def contract_integration(self, county: Callable[..., Integration]) -> Integration:
        return county(options={"format": "xml"})


class TestWithoutUpdates(TestOpen311Contract):
    """Without mySociety's updates the plugin declares no comments: those tests skip."""

    @pytest.fixture
    def contract_integration(self, county: Callable[..., Integration]) -> Integration:
        return county(options={"updates": "none", "cancel_notes": []})
