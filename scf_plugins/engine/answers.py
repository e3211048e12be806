"""What a plugin returns for a create, checked before it is stored: a remote id or token the
store can keep, and a plugin state that is a small JSON object.

A plugin may return anything; what cannot be stored is refused here with a reason a person
can act on, and the caller treats the answer as unknown (looked up again before any retry).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ..models import PLUGIN_STATE_LIMIT, Submission
from ..store.tables import issues, length

MAX_REMOTE_ID = length(issues.c.remote_id)
MAX_TOKEN = length(issues.c.pending_token)
STATUS_LIMIT = length(issues.c.remote_status)


def submission_problem(submission: object) -> str | None:
    """Why a plugin's answer to ``submit`` cannot be linked (or kept pending), or None."""
    if not isinstance(submission, Submission):
        return f"the plugin's submit returned {type(submission).__name__}, not a Submission"
    if submission.remote_id == "" and submission.token is not None:
        problem = id_problem(submission.token, "token", MAX_TOKEN)
    else:
        problem = id_problem(submission.remote_id, "remote id", MAX_REMOTE_ID)
    return problem or state_problem(submission.plugin_state)


def id_problem(value: object, what: str, limit: int) -> str | None:
    """Why a remote id or token from a plugin cannot be stored, or None."""
    if not isinstance(value, str) or not value:
        return f"the plugin returned no {what}"
    if len(value) > limit:
        return f"the plugin returned a {what} longer than {limit} characters"
    if not value.isprintable() or any(c.isspace() for c in value):
        return f"the plugin returned a {what} with spaces or control characters ({value!r})"
    return None


def state_problem(state: object) -> str | None:
    """Why a plugin state cannot be kept (not a JSON object, or too big), or None."""
    try:
        plugin_state_json(state)
    except ValueError as exc:
        return str(exc)
    return None


def plugin_state_json(state: object) -> str | None:
    """A plugin's state as the JSON the store keeps (None: none given, keep what is stored).

    :raises ValueError: when it is not a JSON object of at most ``PLUGIN_STATE_LIMIT``
        characters.
    """
    if state is None:
        return None
    if not isinstance(state, Mapping):
        raise ValueError(f"the plugin returned a plugin_state that is a {type(state).__name__}")
    try:
        text = json.dumps(dict(state), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the plugin returned a plugin_state that is not JSON ({exc})") from None
    if len(text) > PLUGIN_STATE_LIMIT:
        raise ValueError(
            f"the plugin returned a plugin_state of {len(text)} characters; "
            f"the limit is {PLUGIN_STATE_LIMIT}"
        )
    return text
