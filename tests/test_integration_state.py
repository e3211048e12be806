"""Integration state: a small JSON object per integration, kept in the store, read and written
with compare-and-set, shared by every worker (and by a plugin's tests in memory)."""

from __future__ import annotations

import threading

import pytest

from scf_plugins import Integration, RemoteUpdate, Tracked, TransientError, hookimpl
from scf_plugins.models import INTEGRATION_STATE_LIMIT, IntegrationState, MemoryStates
from scf_plugins.store.store import Store
from scf_plugins.testing import Harness, make_integration
from scf_plugins.testing.fake import FakeRemote


def test_compare_and_set_in_memory() -> None:
    state = IntegrationState("feed", MemoryStates())
    first = state.read()
    assert dict(first.value) == {} and first.version == 0
    assert state.write({"cursor": "c-1"}, first.version)
    assert not state.write({"cursor": "stale"}, first.version)  # someone wrote since v0
    now = state.read()
    assert dict(now.value) == {"cursor": "c-1"} and now.version == 1
    done = state.update(lambda old: {**old, "etag": "W/1"})
    assert dict(done.value) == {"cursor": "c-1", "etag": "W/1"} and done.version == 2


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (["a"], "JSON object, not list"),
        ({"when": object()}, "must be JSON"),
        ({"n": float("nan")}, "must be JSON"),
        ({"big": "x" * INTEGRATION_STATE_LIMIT}, "keep a cursor, not a cache"),
    ],
)
def test_only_a_small_json_object_is_kept(value: object, why: str) -> None:
    state = IntegrationState("feed", MemoryStates())
    with pytest.raises(ValueError, match=why):
        state.write(value, 0)  # type: ignore[arg-type]
    assert state.read().version == 0


def test_update_gives_up_on_a_state_that_keeps_changing() -> None:
    keeper = MemoryStates()
    state, rival = IntegrationState("feed", keeper), IntegrationState("feed", keeper)

    def change(old: object) -> dict[str, int]:
        rival.update(lambda v: {"n": int(v.get("n", 0)) + 1})  # another worker, every time
        return {"mine": 1}

    with pytest.raises(TransientError, match="kept changing"):
        state.update(change, attempts=3)


def test_the_store_keeps_it_for_every_worker(scf_database: str) -> None:
    one, two = Store.open(scf_database), Store.open(scf_database)  # two workers, one store
    try:
        a, b = IntegrationState("feed", one), IntegrationState("feed", two)
        assert a.read().version == 0
        assert a.write({"cursor": 1}, 0) and not b.write({"cursor": 99}, 0)
        seen = b.read()
        assert dict(seen.value) == {"cursor": 1} and seen.version == 1
        assert b.write({"cursor": 2}, seen.version) and not a.write({"cursor": 3}, 1)
        assert dict(a.read().value) == {"cursor": 2}
        assert IntegrationState("other", one).read().version == 0  # one per integration
        # Many workers adding at once: every addition kept, none lost.
        threads = [
            threading.Thread(target=IntegrationState("count", store).update,
                             args=(lambda v: {"n": int(v.get("n", 0)) + 1},),
                             kwargs={"attempts": 50})
            for store in (one, two) * 4
        ]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert dict(IntegrationState("count", one).read().value) == {"n": 8}
    finally:
        one.close()
        two.close()


class Feed(FakeRemote):
    """A remote system read through a changes feed: each poll reads from the cursor kept in
    the integration's state, and moves it on."""

    @hookimpl
    def poll(self, integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
        saved = integration.state.read()
        cursor = int(saved.value.get("cursor", 0))
        self.calls.append(("feed", str(cursor)))
        integration.state.write({"cursor": cursor + 1}, saved.version)
        return super().poll(integration, tracked)  # type: ignore[no-any-return]


def test_a_plugin_keeps_its_cursor_across_passes_workers_and_processes(
    harness: object, basic_config: str
) -> None:
    from scf_plugins.plugins import build_manager

    host = build_manager(load_entry_points=False)
    feed = Feed("fake-a")
    host.register(feed, "fake-a")
    h: Harness = harness(basic_config, host=host)  # type: ignore[operator]
    h.report("POTHOLE", "1=No", "2=r@example.org", summary="Pothole")
    for _ in range(3):  # three passes of three engines, as three `scf sync --once` would
        h.sync()
    assert [c for kind, c in feed.calls if kind == "feed"] == ["0", "1", "2"]
    assert h.store().read_integration_state("alpha") == ('{"cursor": 3}', 3)
    # Another process (its own host and store connection) on the same store goes on from it.
    other = build_manager(load_entry_points=False)
    again = Feed("fake-a")
    other.register(again, "fake-a")
    h2: Harness = harness(basic_config, host=other, folder=h.folder / "two",  # type: ignore[operator]
                          database=h.database)  # fmt: skip
    h2.sync()
    assert [c for kind, c in again.calls if kind == "feed"] == ["3"]
    assert h2.store().read_integration_state("alpha")[1] == 4


def test_without_a_store_a_plugins_tests_keep_it_in_memory() -> None:
    integration = make_integration("fake-a")
    assert integration.state.write({"seen": True}, 0)
    assert dict(make_integration("fake-a").state.read().value) == {"seen": True}
