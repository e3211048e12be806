"""Request types: learning them from the integrations, and which integration serves which.

The host asks each integration's plugin for its request types, keeps those the config routes
to it, marks private questions (their text names a private keyword such as "email"), and
caches the result in the store, where ``scf report`` reads it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import RemoteError
from ..models import Integration, Question, RequestType

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..plugins import PluginHost
    from ..store.store import Store

log = logging.getLogger(__name__)


def is_private(text: str, keywords: tuple[str, ...]) -> bool:
    """Whether a question's text names a private keyword (any case)."""
    lowered = text.lower()
    return any(keyword.lower() in lowered for keyword in keywords)


def prepare(rt: RequestType, integration: Integration, keywords: tuple[str, ...]) -> RequestType:
    """Bind a plugin's request type to its integration and mark private questions."""
    questions = tuple(
        dataclasses.replace(q, private=q.private or is_private(q.text, keywords))
        for q in rt.questions
    )
    return dataclasses.replace(rt, integration=integration.name, questions=questions)


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh loaded, per integration, and what failed."""

    loaded: dict[str, int]
    failed: dict[str, str]


def refresh(settings: Settings, host: PluginHost, store: Store) -> RefreshResult:
    """Reload the request types of every integration into the store's cache.

    An integration that cannot be reached keeps its cached types; the failure is reported.
    """
    loaded: dict[str, int] = {}
    failed: dict[str, str] = {}
    for integration in settings.integrations.values():
        try:
            loaded[integration.name] = load_one(settings, host, store, integration)
        except RemoteError as exc:  # the caller says so (once)
            failed[integration.name] = str(exc)
    return RefreshResult(loaded=loaded, failed=failed)


def load_one(settings: Settings, host: PluginHost, store: Store, integration: Integration) -> int:
    """Reload one integration's request types into the store; how many it offers.

    :raises RemoteError: when they could not be had (the cached ones stay).
    """
    offered = host.list_request_types(integration)
    mine = [
        prepare(rt, integration, settings.organization.private_keywords)
        for rt in offered
        if settings.offers(integration, rt.code)
    ]
    store.replace_request_types(integration.name, mine)
    return len(mine)


def active_questions(rt: RequestType, answers: Mapping[str, str | Sequence[str]]) -> list[Question]:
    """The questions asked, given the answers so far (branching follows the chosen options;
    a multi-choice answer is the list of options chosen)."""
    active: list[Question] = []
    asked: set[str] = set()

    def chose(qid: str, option: str) -> bool:
        value = answers.get(qid)
        return value == option if isinstance(value, str) else option in (value or ())

    for question in rt.questions:
        if not question.asked_when or any(
            qid in asked and chose(qid, option) for qid, option in question.asked_when
        ):
            active.append(question)
            asked.add(question.id)
    return active
