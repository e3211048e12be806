"""The Cityworks plugin passes the plugin contract against the emulator."""

from __future__ import annotations

from types import ModuleType

import pytest
from scf_cityworks import plugin
from scf_cityworks.emulator import Emulator

from scf_plugins import Integration
from scf_plugins.testing import RemoteSystemContract


class EmulatorStaff:
    """City staff, through the emulator's control interface."""

    def __init__(self, emulator: Emulator) -> None:
        self.state = emulator.state

    def close(self, remote_id: str, status: str) -> None:
        self.state.staff("close", int(remote_id), status=status)

    def cancel(self, remote_id: str, status: str) -> None:
        self.state.staff("cancel", int(remote_id), status=status)

    def comment(self, remote_id: str, text: str) -> None:
        self.state.staff("comment", int(remote_id), text=text)

    def set_field(self, remote_id: str, field: str, value: str) -> None:
        self.state.staff("set_field", int(remote_id), field=field, value=value)

    def requests_with(self, marker: str) -> int:
        return sum(1 for r in self.state.requests.values() if r["OtherSystemId"] == marker)

    def comment_texts(self, remote_id: str) -> list[str]:
        return [c["Comments"] for c in self.state.comments.get(int(remote_id), [])]

    def set_status(self, remote_id: str, status: str) -> None:
        self.state.staff("status", int(remote_id), status=status.upper())

    def drop_next_answer(self) -> None:
        self.state.inject("drop_after_commit", match="servicerequest/create")

    def calls(self) -> int:
        return sum(self.state.counts.values())

    def attachments(self, remote_id: str) -> list[bytes]:
        records = self.state.attachments.get(int(remote_id), [])
        return [self.state.attachment_files[r["Id"]] for r in records]


class TestCityworksContract(RemoteSystemContract):
    @pytest.fixture
    def contract_plugin(self) -> ModuleType:
        return plugin

    @pytest.fixture
    def contract_integration(self, cw: Integration) -> Integration:
        return cw

    @pytest.fixture
    def contract_staff(self, emulator: Emulator) -> EmulatorStaff:
        return EmulatorStaff(emulator)
