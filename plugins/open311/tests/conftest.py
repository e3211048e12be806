"""Fixtures for the Open311 plugin's tests: the emulator on loopback, and integrations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scf_open311.emulator import EmulatorState, Open311Emulator

from scf_plugins import ActivityRule, Integration, Secret
from scf_plugins.testing import make_integration

KEY = "Emu-Key-5521-open311"


@pytest.fixture
def emulator() -> Iterator[Open311Emulator]:
    """The fake GeoReport server on a free loopback port."""
    with Open311Emulator(EmulatorState(api_keys={KEY})) as server:
        yield server


@pytest.fixture
def county(emulator: Open311Emulator) -> Callable[..., Integration]:
    """An open311 integration at the emulator; keyword arguments override any field."""

    def make(**overrides: Any) -> Integration:
        options = {"updates": "mysociety", "cancel_notes": ["duplicate"],
                   **overrides.pop("options", {})}  # fmt: skip
        fields: dict[str, Any] = {
            "name": "county", "password": Secret(KEY), "closed_statuses": ("closed",),
            "cancel_statuses": ("duplicate",),
            "activity": (ActivityRule("agency_responsible", "Assigned to {value}."),),
            "options": options,
        }  # fmt: skip
        fields.update(overrides)
        return make_integration("open311", emulator.url, **fields)

    return make
