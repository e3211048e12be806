"""Which remote comments come back to the resident: those that start with ``To SCF:``.

City staff write many comments the resident must never see; they mark the ones meant for the
resident by starting them with a prefix (``To SCF:`` unless an integration says otherwise).
Every plugin that pulls comments reads them by this one rule.
"""

from __future__ import annotations

import functools
import re

DEFAULT_PULL_PREFIX = "To SCF:"  # staff start a comment with it to send it to the resident


@functools.lru_cache(maxsize=16)
def pull_pattern(prefix: str = DEFAULT_PULL_PREFIX) -> re.Pattern[str]:
    """The start of a remote comment meant for the resident: ``prefix`` in any case, with any
    spacing between its words and around its colon ("to scf :" matches "To SCF:").
    ``pull_pattern().sub("", text, count=1)`` is the text the resident sees."""
    words = prefix.strip().removesuffix(":").split()
    colon = r"\s*:\s*" if prefix.strip().endswith(":") else r"\s+"
    return re.compile(r"^\s*" + r"\s+".join(map(re.escape, words)) + colon, re.IGNORECASE)
