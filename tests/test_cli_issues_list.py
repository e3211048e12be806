"""``scf issues list`` filters by integration, searches by id, summary or address (literally:
``%`` and ``_`` are characters), and lists pending issues as ``scf status`` counts them; its
JSON keeps its shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from click.testing import Result

from scf_plugins.plugins import PluginHost
from scf_plugins.testing import Harness
from scf_plugins.testing.fake import FakeRemote, FakeStaff

from .conftest import BASIC

SHAPE = {"id", "status", "request_type", "integration", "remote_id", "summary", "attempts",
         "last_error", "attention"}  # fmt: skip


def report(h: Harness, summary: str, address: str | None = None) -> int:
    """A GRAFFITI report (no questions) on the fake plugin."""
    fields = {"summary": summary, **({"address": address} if address else {})}
    return h.report("GRAFFITI", **fields)


def listed(h: Harness, *args: str) -> list[dict[str, Any]]:
    """``scf issues list ARGS --json``."""
    rows: list[dict[str, Any]] = json.loads(h.cli_ok("issues", "list", *args, "--json").stdout)
    return rows


def ids(h: Harness, *args: str) -> list[int]:
    return [r["id"] for r in listed(h, *args)]


def test_search_finds_ids_summaries_and_addresses_in_any_case(basic: Harness) -> None:
    first = report(basic, "Deep pothole", "Elm St")
    second = report(basic, "Graffiti on the WALL", "Oak Ave")
    third = report(basic, "Broken light", "Elm Street")
    assert ids(basic, "--search", "elm") == [third, first]  # newest first
    assert ids(basic, "--search", "wall") == [second]
    assert ids(basic, "--search", str(second)) == [second]
    assert ids(basic, "--search", "  POTHOLE ") == [first]
    assert ids(basic, "--search", "nowhere") == []
    numbered = report(basic, "Bent pole", "165 Church St")
    assert ids(basic, "--search", "165") == [numbered]  # a number matches an address too
    assert set(listed(basic)[0]) == SHAPE  # the JSON keeps its shape
    text = basic.cli_ok("issues", "list", "--search", "wall").stdout
    assert "Graffiti on the WALL" in text and "Deep pothole" not in text


def test_percent_and_underscore_are_searched_literally(basic: Harness) -> None:
    percent = report(basic, "Sign 50% bent")
    underscore = report(basic, "Tag reads a_b")
    report(basic, "Sign 50 bent")
    report(basic, "Tag reads axb")
    assert ids(basic, "--search", "50%") == [percent]
    assert ids(basic, "--search", "%") == [percent]
    assert ids(basic, "--search", "a_b") == [underscore]
    assert ids(basic, "--search", "_") == [underscore]
    backslash = report(basic, "Path C:\\temp")
    assert ids(basic, "--search", "\\t") == [backslash]


def test_integration_and_status_filters_combine(
    harness: Callable[..., Harness], fake_host: tuple[PluginHost, FakeRemote]
) -> None:
    host, _ = fake_host
    host.register(FakeRemote("fake-b"), "fake-b")
    config = BASIC.replace('request_types = ["*"]', 'request_types = ["POTHOLE", "SIGNS"]') + (
        '\n[integrations.beta]\nplugin = "fake-b"\nenvironment = "test"\n'
        'request_types = ["GRAFFITI"]\n\n[integrations.beta.test]\n'
        'url = "http://127.0.0.1:9/b"\nuser = "scf-int"\n'
    )
    h = harness(config, host=host)
    on_beta = report(h, "Tag on beta")
    assert listed(h, "--integration", "beta")[0]["integration"] == "beta"
    assert ids(h, "--integration", "beta") == [on_beta]
    assert ids(h, "--integration", "alpha") == []
    assert ids(h, "--integration", "beta", "--status", "open", "--search", "tag") == [on_beta]
    assert ids(h, "--integration", "beta", "--status", "closed") == []
    refused = h.cli("issues", "list", "--integration", "gamma")
    assert refused.exit_code == 1
    assert "there is no integration 'gamma'; the integrations: alpha, beta" in refused.output


def test_pending_lists_what_status_counts_as_pending(
    fake_host: tuple[PluginHost, FakeRemote], basic: Harness
) -> None:
    _, plugin = fake_host
    plugin.batch = True
    pending = report(basic, "Tag")
    waiting = report(basic, "Another tag")
    basic.sync()
    status = json.loads(basic.cli("status", "--json").stdout)["integrations"][0]
    assert status["pending"] == 2
    assert ids(basic, "--status", "pending") == [waiting, pending]
    FakeStaff(plugin).process_batch()
    basic.later(minutes=5)
    assert basic.sync().acknowledged == 2
    assert ids(basic, "--status", "pending") == []


def test_a_search_too_long_or_not_plain_text_is_refused(run: Callable[..., Result]) -> None:
    long = run("issues", "list", "--search", "x" * 201)
    assert long.exit_code == 1
    assert "the search is 201 characters long; the most is 200" in long.output
    control = run("issues", "list", "--search", "a\x07b")
    assert control.exit_code == 1 and "the search contains a control character" in control.output
