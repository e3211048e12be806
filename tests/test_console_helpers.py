"""Words the console and ``scf status`` share, written once: a span of time for people, and an
integration's state in a word (the Overview's and the Integrations pages')."""

from __future__ import annotations

import pytest

from scf_plugins.ops import status
from scf_plugins.server.console import integration_data, overview


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
