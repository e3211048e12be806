"""The plugin kit: hooks a plugin may leave out, and the helpers plugin authors test with."""

from __future__ import annotations

import dataclasses

import pytest

from scf_plugins import Integration
from scf_plugins.plugins import build_manager


def test_check_connection_is_routed_and_none_without_the_hook() -> None:
    """Doctor asks the plugin's check_connection; a plugin without it gets None (doctor then
    relies on its authenticated read)."""
    from scf_plugins import LoginRefused, hookimpl
    from scf_plugins.testing.fake import FakeRemote

    class Checks(FakeRemote):
        @hookimpl
        def check_connection(self, integration: Integration) -> str:
            if integration.user != "good":
                raise LoginRefused("the key was refused")
            return "key accepted"

    host = build_manager(load_entry_points=False)
    host.register(Checks("with"), "with")
    host.register(FakeRemote("without"), "without")
    base = Integration(name="i", plugin="with", environment="test", url="http://127.0.0.1:9",
                       user="good", password=None)  # fmt: skip
    assert host.check_connection(base) == "key accepted"
    with pytest.raises(LoginRefused):
        host.check_connection(dataclasses.replace(base, user="bad"))
    assert host.check_connection(dataclasses.replace(base, plugin="without")) is None
    assert host.implements("check_connection", "with")
    assert not host.implements("check_connection", "without")
