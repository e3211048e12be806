"""The open311 plugin passes the plugin contract against the emulator, in JSON and in XML,
with its stand-in's city staff."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from scf_open311 import plugin
from scf_open311.emulator import EmulatorState, Open311Emulator
from scf_open311.standin import EmulatorStaff

from scf_plugins import Integration
from scf_plugins.testing import RemoteSystemContract


class TestOpen311Contract(RemoteSystemContract):
    @pytest.fixture
    def contract_plugin(self) -> ModuleType:
        return plugin

    @pytest.fixture
    def contract_integration(self, county: Callable[..., Integration]) -> Integration:
        return county()

    @pytest.fixture
    def contract_staff(self, emulator: Open311Emulator) -> EmulatorStaff:
        # The stand-in's own staff, on this class's emulator (the XML-only one below too).
        return EmulatorStaff(emulator.state)

    @pytest.fixture
    def contract_request_type_code(self) -> str:
        return "POT"  # a realtime service: an id at once

    @pytest.fixture
    def contract_pending_request_type_code(self) -> str:
        return "LIGHT"  # the batch service: a token, the id once staff process the batch


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
