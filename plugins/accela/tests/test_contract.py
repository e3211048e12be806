"""The accela plugin passes the plugin contract against the emulator, with its stand-in's
city staff: whether or not the agency's records carry ``statusType``, and with or without a
``withdraw_status`` (cancelling from here)."""

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
        # The agency lets the integration void a record: cancel_request is exercised too.
        return permits(options={"withdraw_status": "Withdrawn"})

    @pytest.fixture
    def contract_request_type_code(self) -> str | None:
        # The pothole: a required number and a required choice, a checkbox, a time.
        return "ServiceRequest-Streets.cand.cSidewalks-Pothole-NA"

    @pytest.fixture
    def contract_unknown_id(self) -> str:
        return "ISLANDTON-26CAP-00000-ZZZZZ"

    @pytest.fixture
    def contract_malformed_id(self) -> str | None:
        return "ISLANDTON-26CAP-00000-00001,ISLANDTON-26CAP-00000-00002"  # two ids in one

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

    @pytest.fixture
    def contract_request_type_code(self) -> str | None:
        return None  # the first offered: graffiti, with a required choice and a date

    @pytest.fixture
    def contract_integration(self, permits: Callable[..., Integration]) -> Integration:
        # Without status types a withdrawn record is read as cancelled by its status value.
        return permits(
            cancel_statuses=("CANCEL", "Withdrawn"), options={"withdraw_status": "Withdrawn"}
        )


class TestAccelaContractWithoutRemoteCancel(TestAccelaContract):
    """An agency that lets the integration void nothing: no cancel from here (that test
    skips), everything else the same."""

    @pytest.fixture
    def contract_integration(self, permits: Callable[..., Integration]) -> Integration:
        return permits()
