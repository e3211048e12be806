"""Fixtures for the Accela plugin's tests: the emulator on loopback, and integrations at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scf_accela.emulator import AccelaEmulator, AgencyState

from scf_plugins import ActivityRule, Integration, Secret
from scf_plugins.testing import make_integration

PASSWORD = "Emu-Pass-5521-accela"
APP_ID = "scf-app-637"
APP_SECRET = "Emu-App-Secret-9034"
ZONE = "America/Chicago"


@pytest.fixture
def agency() -> AgencyState:
    """The emulated agency (ISLANDTON, TEST and PROD), before it serves."""
    return AgencyState(users={"scf-int": PASSWORD}, apps={APP_ID: APP_SECRET}, timezone=ZONE)


@pytest.fixture
def emulator(agency: AgencyState) -> Iterator[AccelaEmulator]:
    """The emulator serving ``agency`` on a free loopback port."""
    with AccelaEmulator(agency) as server:
        yield server


@pytest.fixture
def permits(emulator: AccelaEmulator) -> Callable[..., Integration]:
    """An accela integration at the emulator; keyword arguments override any field, and
    ``options`` are added to the endpoint's own."""

    def make(**overrides: Any) -> Integration:
        options = {
            "auth_url": emulator.url,
            "agency": "ISLANDTON",
            "app_id": APP_ID,
            "accela_environment": "TEST",
            **overrides.pop("options", {}),
        }
        fields: dict[str, Any] = {
            "name": "permits",
            "user": "scf-int",
            "password": Secret(PASSWORD),
            "secrets": {"app_secret": Secret(APP_SECRET)},
            "timezone": ZONE,
            "closed_statuses": ("CLOSED",),
            "cancel_statuses": ("CANCEL",),
            "activity": (ActivityRule("assignedUser", "Assigned to {value}."),),
            "options": options,
        }
        fields.update(overrides)
        return make_integration("accela", emulator.url, **fields)

    return make
