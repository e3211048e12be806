"""The accela plugin passes the plugin contract against the emulator, with its stand-in's
city staff, whether or not the agency's records carry ``statusType``."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from scf_accela import plugin
from scf_accela.emulator import AccelaEmulator, AgencyState
from scf_accela.standin import EmulatorStaff

from scf_plugins import Integration
from scf_plugins.testing import RemoteSystemContract


class TestAccelaContract(RemoteSystemContract):
    @pytest.fixture
    def contract_plugin(self) -> ModuleType:
        return plugin

    @pytest.fixture
    def contract_integration(self, permits: Callable[..., Integration]) -> Integration:
        return permits()

    @pytest.fixture
    def contract_staff(self, emulator: AccelaEmulator) -> EmulatorStaff:
        # The stand-in's own staff, so what `scf demo` does as city staff is what is tested.
        return EmulatorStaff(emulator.state)


class TestAccelaContractWithoutStatusTypes(TestAccelaContract):
    """An agency whose records carry no ``statusType``: closedDate and the status lists."""

    @pytest.fixture
    def agency(self, agency: AgencyState) -> AgencyState:
        agency.status_types = False
        return agency
