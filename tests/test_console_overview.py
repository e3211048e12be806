"""The console's Overview: ``scf status`` for a person, with what needs attention first and
each count a link to the issues it counts."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from scf_plugins.ops import staff
from scf_plugins.ops.status import gather
from scf_plugins.server.console.overview import Attention, needs_attention
from scf_plugins.testing import Harness

from .consoled import CHEAP, Consoled, make_account, serve_console

GEOCODER = """
[geocoders.county_gis]
plugin = "arcgis"
url = "{url}"
min_score = 85
on_reject = "hold"
"""
GOOD = "165 church st"
# The Issues page's status filter takes these (besides none at all).
STATUSES = {"failing", "stuck", "attention", "held", "unrouted", "pending", "open",
            "acknowledged", "closed", "archived"}  # fmt: skip


@pytest.fixture(autouse=True)
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest costs (the library's defaults take ~50 ms a hash)."""
    monkeypatch.setattr(staff, "HASHER", CHEAP)


@pytest.fixture
def gis() -> Iterator[Any]:
    """The ArcGIS geocoder stand-in."""
    from scf_arcgis.fake import FakeGeocodeServer

    with FakeGeocodeServer() as server:
        yield server


@pytest.fixture
def troubled(world: Callable[..., Harness], gis: Any) -> tuple[Harness, Consoled]:
    """Cityworks behind an address check: two issues acknowledged, one failing, one held;
    its console with an admin ``ada`` and a staff account ``sam``."""
    w = world(extra='address_validation = "county_gis"', tail=GEOCODER.format(url=gis.url))
    for n in range(2):
        w.report(summary=f"pothole {n}", address=GOOD)
    assert w.sync().acknowledged == 2
    w.report(summary="fails", address=GOOD)
    w.emulator.state.inject("html", count=1, match="servicerequest/create")
    assert w.sync().errors == 1
    w.report(summary="nowhere", address="Elm St")
    assert w.sync().held == 1
    served = serve_console(w)
    make_account(served, "ada", "admin")
    make_account(served, "sam", "staff")
    return w, served


def links(page: str) -> list[tuple[str, str]]:
    """Every link of the page's main part: (href, text), unescaped."""
    main = page[page.index("<main") : page.index("</main>")]
    found = re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', main, re.S)
    return [(html.unescape(href), re.sub(r"<[^>]+>", "", text).strip()) for href, text in found]


def test_the_overview_shows_what_needs_attention_with_links_to_the_issues(
    troubled: tuple[Harness, Consoled],
) -> None:
    _, served = troubled
    ada = served.client()
    ada.sign_in("ada")
    page = ada.get("/console/")
    assert page.status_code == 200
    text = page.text
    shown = links(text)
    assert ("/console/issues?status=failing&integration=cityworks", "1 failing") in shown
    assert (
        "/console/issues?status=held&integration=cityworks",
        "1 held for an address check",
    ) in shown
    assert ("/console/issues?status=acknowledged&integration=cityworks", "2") in shown
    assert ("/console/issues?status=open&integration=cityworks", "2") in shown
    # The state is a word, not only a colour.
    assert re.search(r'<span class="state bad">Failing</span>', text)
    assert "ambiguous 1" in text  # the kind of failure, as `scf status` names it
    # The geocoder's held issues link to the same list.
    geocoders = text[text.index('id="geocoders"') :]
    assert 'href="/console/issues?status=held&amp;integration=cityworks"' in geocoders
    # Every filter linked to is one the Issues page takes.
    for href, _ in shown:
        if href.startswith("/console/issues?"):
            assert re.match(r"^/console/issues\?status=(\w+)(&integration=cityworks)?$", href)
            assert href.split("=")[1].split("&")[0] in STATUSES, href


def test_the_overview_s_figures_are_scf_status_s(troubled: tuple[Harness, Consoled]) -> None:
    w, served = troubled
    data = gather(w.settings, served.store, served.console.clock())
    [entry] = data["integrations"]
    ada = served.client()
    ada.sign_in("ada")
    text = ada.get("/console/").text
    for status, count in entry["counts"].items():
        label = f"{status} " + (
            f'<a href="/console/issues?status={status}&amp;integration=cityworks">{count}</a>'
            if count
            else "0"
        )
        assert label in text, label
    assert f"<dt>Waiting to send</dt><dd>{entry['waiting']}" in text
    assert "<dt>Submit loop</dt>" in text and "<dt>Polled</dt>" in text


def test_a_down_integration_is_named_first(
    troubled: tuple[Harness, Consoled], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, served = troubled
    monkeypatch.setenv("SCF_CITYWORKS_TEST_PASSWORD", "wrong-password-3")
    w.later(minutes=5)
    w.sync()
    sam = served.client()
    sam.sign_in("sam")
    text = sam.get("/console/").text
    attention = text[text.index('id="attention"') : text.index('id="integrations"')]
    assert "<strong>cityworks</strong>: down: " in attention and "refused the login" in attention
    assert '<span class="state bad">Down</span>' in text and "next probe" in text


def test_only_admins_get_the_integration_s_page_link(troubled: tuple[Harness, Consoled]) -> None:
    _, served = troubled
    ada, sam = served.client(), served.client()
    ada.sign_in("ada")
    sam.sign_in("sam")
    assert 'href="/console/integrations/cityworks"' in ada.get("/console/").text
    assert 'href="/console/integrations/cityworks"' not in sam.get("/console/").text


def test_all_clear_and_pending(basic: Harness, fake_host: Any) -> None:
    served = serve_console(basic)
    make_account(served, "ada", "admin")
    ada = served.client()
    ada.sign_in("ada")
    text = ada.get("/console/").text
    assert "All clear" in text and '<span class="state good">OK</span>' in text
    _, plugin = fake_host
    plugin.batch = True  # accepted under a token first, the request number later
    basic.report("GRAFFITI", summary="Tag")
    assert basic.sync().pending == 1
    shown = links(ada.get("/console/").text)
    assert (
        "/console/issues?status=pending&integration=alpha",
        "1 accepted under a token, no request number yet",
    ) in shown


def test_the_page_s_structure(troubled: tuple[Harness, Consoled]) -> None:
    _, served = troubled
    ada = served.client()
    ada.sign_in("ada")
    text = ada.get("/console/").text
    order = [text.index(tag) for tag in ("<header", "<nav", '<main id="main"', "<footer")]
    assert order == sorted(order)
    assert text.count("<h1>") == 1 and "<h1>Overview</h1>" in text
    assert text.index('href="#main"') < text.index("<nav")  # the skip link comes first
    assert '<a href="/console/" aria-current="page">Overview</a>' in text
    assert "style=" not in text and "<script" not in text  # the CSP allows neither inline


def test_the_mail_server_and_residents_emails_need_attention_too(basic: Harness) -> None:
    data = gather(basic.settings, basic.store(), datetime.now(UTC))
    assert needs_attention(data) == []
    data["notifications"].update(down=True, down_reason="connection refused", failing=2)
    assert needs_attention(data) == [
        Attention("mail server", "down: connection refused"),
        Attention(None, "emails to residents failing", 2),
    ]
