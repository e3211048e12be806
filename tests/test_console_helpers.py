"""Words the console and ``scf status`` share, written once: a span of time for people, and an
integration's state in a word."""

from __future__ import annotations

import pytest

from scf_plugins.ops import status


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
