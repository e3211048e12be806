"""Fixtures for the Cityworks plugin tests: integrations, and the emulator on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scf_cityworks.emulator import Emulator, EmulatorState

from scf_plugins import ActivityRule, Integration, Secret, frozen_mapping

PASSWORD = "Emu-Pass-7731"


@pytest.fixture
def make_integration() -> Callable[..., Integration]:
    """An Integration for a Cityworks URL; keyword arguments override any field, and
    ``version``, ``srid`` and ``image_url_field`` the plugin's options of those names."""

    def make(
        url: str = "http://127.0.0.1:9/Cityworks/Services/AMS", **overrides: Any
    ) -> Integration:
        options = {"version": "15.8", "srid": 3857, **overrides.pop("options", {})}
        for key in ("version", "srid", "image_url_field"):
            if key in overrides:
                options[key] = overrides.pop(key)
        fields: dict[str, Any] = {
            "name": "cityworks", "plugin": "cityworks", "environment": "test", "url": url,
            "user": "scf-int", "password": Secret(PASSWORD),
            "closed_statuses": ("CLOSED", "COMPLETE"), "cancel_statuses": ("CANCEL", "DUP"),
            "timezone": "America/New_York", "timeout_seconds": 5.0,
            "activity": (ActivityRule("DispatchTo", "Assigned to {value}."),),
            "options": frozen_mapping(options),
        }  # fmt: skip
        fields.update(overrides)
        return Integration(**fields)

    return make


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """The Cityworks emulator serving on a free loopback port."""
    with Emulator(EmulatorState(users={"scf-int": PASSWORD})) as cw:
        yield cw


@pytest.fixture
def cw(emulator: Emulator, make_integration: Callable[..., Integration]) -> Integration:
    """An integration pointed at the running emulator."""
    return make_integration(emulator.url)
