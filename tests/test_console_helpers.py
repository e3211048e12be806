"""What the console writes once and uses in many places: a span of time for people (shared
with ``scf status``), an integration's state in a word (the Overview's and the Integrations
pages'), and the guard of every action on an issue."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from scf_plugins.ops import staff, status
from scf_plugins.server.console import integration_data, issue_actions, overview
from scf_plugins.testing import Harness

from .consoled import CHEAP, make_account, serve_console


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, ""),
        (0, "0 s"),
        (45.4, "45 s"),
        (119, "119 s"),
        (120, "2 min"),
        (7199, "120 min"),
        (7200, "2.0 h"),
        (12600, "3.5 h"),
    ],
)
def test_one_duration_for_scf_status_and_the_overview(seconds: float | None, words: str) -> None:
    assert status.duration(seconds) == words


@pytest.mark.parametrize(
    ("figures", "word"),
    [
        ({"down": True, "failing": 3, "photos_failing": 0}, "Down"),
        ({"down": False, "failing": 3, "photos_failing": 0}, "Failing"),
        ({"down": False, "failing": 0, "photos_failing": 1}, "Failing"),
        ({"down": False, "failing": 0, "photos_failing": 0}, "OK"),
    ],
)
def test_one_state_word_for_the_overview_and_the_integrations_pages(
    figures: dict[str, object], word: str
) -> None:
    assert integration_data.state(figures) == word
    assert overview.state is integration_data.state


def test_every_action_on_an_issue_is_refused_for_an_id_no_issue_can_have(
    basic: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff, "HASHER", CHEAP)
    served = serve_console(basic)
    make_account(served, "ada", "admin")
    ada = served.client()
    ada.sign_in("ada")
    ada.get("/console/")
    huge = "99999999999999999999"
    actions = issue_actions.routes(served.console)
    assert len(actions) == 7
    for route in actions:
        assert isinstance(route, Route)
        answer = ada.submit(route.path.replace("{issue_id:int}", huge), {"reason": "test"})
        assert answer.status_code == 404, route.path
        assert f"There is no issue {huge}." in answer.text


def test_sign_ins_are_counted_by_ipv4_address_or_ipv6_64() -> None:
    from scf_plugins.server.console.throttle import client_block

    assert client_block("203.0.113.7") == "203.0.113.7"
    assert client_block("::ffff:203.0.113.7") == "203.0.113.7"
    one, other = client_block("2001:db8:1:2::1"), client_block("2001:db8:1:2:ffff::9")
    assert one == other == "2001:db8:1:2::/64"
    assert client_block("2001:db8:1:3::1") != one
    assert client_block("unknown") == "unknown"
