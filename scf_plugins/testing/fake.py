"""An in-memory remote system plugin, for host tests and for trying the host without a remote.

``FakeRemote`` implements the remote hooks over a dict and records every call it receives, so
a test can assert which plugin was asked what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scf_plugins import (
    Comment,
    Integration,
    Issue,
    Question,
    RemoteState,
    RemoteUpdate,
    RequestType,
    Submission,
    Tracked,
    hookimpl,
)

POTHOLE = RequestType(
    code="POTHOLE",
    name="Pothole",
    integration="",
    ref="101",
    questions=(
        Question("1", "In a travel lane?", "choice", options=("Yes", "No"),
                 answer_refs=(("Yes", "11"), ("No", "12"))),
        Question("2", "Your email", "text", answer_refs=(("", "13"),)),
        Question("3", "When did you see it?", "date", required=False, answer_refs=(("", "14"),)),
        Question("4", "Is it deep?", "choice", options=("Yes", "No"),
                 answer_refs=(("Yes", "15"), ("No", "16")), asked_when=(("1", "Yes"),)),
        Question("5", "Phone number", "text", required=False, answer_refs=(("", "17"),)),
    ),
)  # fmt: skip
GRAFFITI = RequestType(code="GRAFFITI", name="Graffiti", integration="", ref="102")


@dataclass(eq=False)
class FakeRemote:
    """A remote-system plugin kept in memory; records every call it receives."""

    name: str
    types: list[RequestType] = field(default_factory=lambda: [POTHOLE, GRAFFITI])
    calls: list[tuple[str, str]] = field(default_factory=list)
    remote: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1000

    @hookimpl
    def list_request_types(self, integration: Integration) -> list[RequestType]:
        self.calls.append(("list_request_types", integration.name))
        return list(self.types)

    @hookimpl
    def submit(self, integration: Integration, issue: Issue) -> Submission:
        self.calls.append(("submit", integration.name))
        self.next_id += 1
        rid = str(self.next_id)
        self.remote[rid] = {"status": "OPEN", "issue": issue, "comments": [], "fields": {}}
        return Submission(remote_id=rid)

    @hookimpl
    def poll(self, integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
        self.calls.append(("poll", integration.name))
        return [RemoteUpdate(t.issue_id, t.remote_id, RemoteState.OPEN, "OPEN") for t in tracked]

    @hookimpl
    def push_comment(self, integration: Integration, issue: Issue, comment: Comment) -> str:
        self.calls.append(("push_comment", integration.name))
        return "c1"

    @hookimpl
    def check_integration(self, integration: Integration) -> list[str]:
        self.calls.append(("check_integration", integration.name))
        return []
