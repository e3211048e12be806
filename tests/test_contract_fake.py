"""The in-memory FakeRemote passes the plugin contract (so the contract itself is exercised)."""

from __future__ import annotations

import pytest

from scf_plugins import ActivityRule, Integration
from scf_plugins.testing.contract import RemoteSystemContract
from scf_plugins.testing.fake import FakeRemote, FakeStaff


class TestFakeRemoteContract(RemoteSystemContract):
    @pytest.fixture
    def contract_plugin(self) -> FakeRemote:
        return FakeRemote("fake")

    @pytest.fixture
    def contract_integration(self) -> Integration:
        return Integration(
            name="fake-int",
            plugin="fake",
            environment="test",
            url="http://127.0.0.1:9",
            user="u",
            password=None,
            closed_statuses=("CLOSED",),
            cancel_statuses=("CANCEL",),
            activity=(ActivityRule("DispatchTo", "{value}"),),
        )

    @pytest.fixture
    def contract_staff(self, contract_plugin: FakeRemote) -> FakeStaff:
        return FakeStaff(contract_plugin)
