"""The Overview (``/console/``): what ``scf status`` shows, for a person in a browser.

The figures are :func:`scf_plugins.ops.status.gather`'s, the same ``scf status --json``
reads; what needs a person comes first (integrations down, and the issues failing, stuck,
held, pending or unrouted), each count a link to the Issues page filtered to those issues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ...ops import status
from .integration_data import state
from .page import Console, Visit, signed_in
from .templating import issues_url

# The kinds of trouble an integration's figures name, in the order a person should look,
# with the ``status`` filter of the Issues page that lists them.
TROUBLE = (
    ("failing", "failing", "failing"),
    ("stuck", "stuck", "stuck"),
    ("held", "held for an address check", "held"),
    ("pending", "accepted under a token, no request number yet", "pending"),
)


@dataclass(frozen=True)
class Attention:
    """One line of "Needs attention": whose (an integration, or None), what, how many and
    where they are listed (a down integration has no count and no link)."""

    integration: str | None
    words: str
    count: int | None = None
    href: str | None = None


def routes(console: Console) -> list[BaseRoute]:
    """The Overview."""
    return [console.route("/console/", overview)]


@signed_in
async def overview(visit: Visit) -> Response:
    """The Overview page."""
    data = await visit.run(status.gather, visit.settings, visit.store, visit.now())
    return visit.render(
        "overview.html",
        "Overview",
        data=data,
        attention=needs_attention(data),
        failing=status.failing(data),
        state=state,
        duration=status.duration,
        loop_age=loop_age,
    )


def needs_attention(data: dict[str, Any]) -> list[Attention]:
    """What a person should look at, from ``scf status --json``'s shape: each integration
    down, each kind of trouble it has issues of, the mail server down and residents' emails
    failing or uncertain, and the unrouted and stuck issues of no integration configured."""
    out: list[Attention] = []
    for i in data["integrations"]:
        name = i["name"]
        if i["down"]:
            out.append(Attention(name, f"down: {i['down_reason']}"))
        for key, words, kind in TROUBLE:
            if i[key]:
                out.append(Attention(name, words, i[key], issues_url(kind, name)))
        if i["photos_failing"]:
            out.append(Attention(name, "photos failing to send", i["photos_failing"]))
    if data["unrouted"]:
        out.append(Attention(None, "unrouted: no integration takes them", data["unrouted"],
                             issues_url("unrouted")))  # fmt: skip
    mail = data["notifications"]
    if mail["down"]:
        out.append(Attention("mail server", f"down: {mail['down_reason']}"))
    if mail["failing"]:
        out.append(Attention(None, "emails to residents failing", mail["failing"]))
    if mail["uncertain"]:
        uncertain = "emails to residents uncertain (scf notifications list --state uncertain)"
        out.append(Attention(None, uncertain, mail["uncertain"]))
    elsewhere = data["stuck"] - sum(i["stuck"] for i in data["integrations"])
    if elsewhere > 0:
        out.append(Attention(None, "stuck, unrouted or of an integration no longer configured",
                             elsewhere, issues_url("stuck")))  # fmt: skip
    return out


def loop_age(entry: dict[str, Any]) -> str:
    """When a sync loop last went round (a ``loops`` entry of ``scf status --json``)."""
    if entry["age_seconds"] is None:
        return "no pass recorded yet"
    state = "STALE" if entry["stale"] else "OK"
    return (
        f"{state}: {status.duration(entry['age_seconds'])} ago "
        f"(stale after {status.duration(entry['stale_after_seconds'])})"
    )
