"""The Cityworks plugin passes the plugin contract against the emulator, with its stand-in's
city staff."""

from __future__ import annotations

from types import ModuleType

import pytest
from scf_cityworks import plugin
from scf_cityworks.emulator import Emulator
from scf_cityworks.standin import EmulatorStaff

from scf_plugins import Integration
from scf_plugins.testing import RemoteSystemContract


class TestCityworksContract(RemoteSystemContract):
    @pytest.fixture
    def contract_plugin(self) -> ModuleType:
        return plugin

    @pytest.fixture
    def contract_integration(self, cw: Integration) -> Integration:
        return cw

    @pytest.fixture
    def contract_staff(self, emulator: Emulator) -> EmulatorStaff:
        # The stand-in's own staff, so what `scf demo` does as city staff is what is tested.
        return EmulatorStaff(emulator.state)

    @pytest.fixture
    def contract_malformed_id(self) -> str:
        return "not-a-number"  # Cityworks request ids are positive numbers
