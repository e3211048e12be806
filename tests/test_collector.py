"""The engine sets the garbage collector's pace once, at its start, and never slows a
process that asked for fewer collections or turned the collector off."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from scf_plugins.engine import collector


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()


def test_the_first_pass_paces_the_collector(world: Any) -> None:
    gc.set_threshold(700, 10, 10)
    w = world()
    w.sync()
    assert gc.get_threshold() == (collector.YOUNG, 10, 10)


def test_a_slower_pace_is_kept() -> None:
    gc.set_threshold(50_000, 20, 30)
    collector.pace()
    assert gc.get_threshold() == (50_000, 20, 30)


def test_a_collector_turned_off_stays_off() -> None:
    gc.set_threshold(700, 10, 10)
    gc.disable()
    collector.pace()
    assert not gc.isenabled() and gc.get_threshold() == (700, 10, 10)
    gc.enable()
    gc.set_threshold(0)  # zero: collection off, as the docs say
    collector.pace()
    assert gc.get_threshold()[0] == 0
