"""``scf serve`` under review: a reload that drops ``public_url`` beyond loopback, a client
that leaves mid-body, a key over its rate, what ``/healthz`` tells strangers, the connection
counts, and the one token bucket behind both rate limits."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from scf_plugins.plugins import PluginHost
from scf_plugins.server.running import build, serves_loopback_only
from scf_plugins.testing import FakeRemote, Harness

PUBLIC = '[server]\npublic_url = "https://311.example.gov"\n'


# -- a reload beyond loopback keeps public_url ------------------------------------------------


@pytest.mark.parametrize(
    ("address", "used"), [("192.0.2.10", False), ("::", False), ("127.0.0.2", True)]
)
def test_a_reload_without_public_url_is_refused_when_bound_beyond_loopback(
    harness: Callable[..., Harness],
    fake_host: tuple[PluginHost, FakeRemote],
    basic_config: str,
    caplog: pytest.LogCaptureFixture,
    address: str,
    used: bool,
) -> None:
    host, _ = fake_host
    w = harness(basic_config + PUBLIC, host=host)
    serving = build(w.settings, w.host, w.store(), address=address, port=0, sync=False)
    assert serving.context is not None and serving.watch is not None
    w.write_config(basic_config + "[server]\nmax_page_size = 7\n")
    caplog.set_level(logging.WARNING)
    serving.reload()
    serving.reload_if_changed()
    settings = serving.context.settings
    if used:
        assert settings.server.public_url is None and settings.server.max_page_size == 7
        return
    assert settings.server.public_url == "https://311.example.gov"
    refused = [r for r in caplog.records if "needs [server] public_url" in r.getMessage()]
    assert len(refused) == 1 and address in refused[0].getMessage()
    assert serving.watch.current is settings  # the next change is compared with what is used
    serving.reload_if_changed()  # the same file, not asked again: no second warning
    assert len([r for r in caplog.records if "needs [server]" in r.getMessage()]) == 1


def test_loopback_only_addresses() -> None:
    assert all(map(serves_loopback_only, ["127.0.0.1", "127.8.0.1", "::1", "localhost"]))
    assert not any(map(serves_loopback_only, ["::", "10.0.0.1", "::ffff:10.0.0.1", "door.example"]))
