"""An in-memory remote system plugin, for host tests and for trying the host without a remote.

``FakeRemote`` keeps its requests and comments in dicts, records every call it receives (so a
test can assert which plugin was asked what), and passes the plugin contract
(:mod:`scf_plugins.testing.contract`) with :class:`FakeStaff` playing city staff, in each of
its ways: comments told by prefix, by a public flag or both (``audience``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scf_plugins import (
    AmbiguousError,
    Capabilities,
    Comment,
    DefiniteError,
    Integration,
    Issue,
    Pending,
    Question,
    RemoteComment,
    RemoteState,
    RemoteUpdate,
    RequestType,
    Resolution,
    Submission,
    Tracked,
    hookimpl,
    pull_pattern,
)
from scf_plugins.models import CommentAudience

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
# Every question type the host knows, for the tests of intake and of the Open311 door.
SIGNS = RequestType(
    code="SIGNS",
    name="Damaged signs",
    integration="",
    ref="103",
    questions=(
        Question("20", "Please do not touch a fallen sign.", "info"),
        Question(
            "21",
            "How many signs?",
            "number",
            minimum=1,
            maximum=50,
            answer_refs=(("", "31"),),
            meta={"datatype": "number"},
        ),
        Question(
            "22",
            "Which kinds?",
            "multichoice",
            options=("Stop", "Yield", "Street name"),
            answer_refs=(("Stop", "32"), ("Yield", "33"), ("Street name", "34")),
        ),
        Question("23", "When did it fall?", "datetime", required=False, answer_refs=(("", "35"),)),
        Question(
            "24",
            "Is a stop sign down at a crossing?",
            "choice",
            options=("Yes", "No"),
            answer_refs=(("Yes", "36"), ("No", "37")),
            asked_when=(("22", "Stop"),),
        ),
    ),
)
TO_SCF = pull_pattern()


@dataclass(eq=False)
class FakeRemote:
    """A remote-system plugin kept in memory; records every call it receives."""

    name: str
    types: list[RequestType] = field(default_factory=lambda: [POTHOLE, GRAFFITI, SIGNS])
    calls: list[tuple[str, str]] = field(default_factory=list)
    remote: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1000
    # A batch remote: creates are accepted under a token and made when staff process them
    # (every type's, or those of ``batch_codes`` alone).
    batch: bool = False
    batch_codes: frozenset[str] = frozenset()
    tokens: dict[str, str | None] = field(default_factory=dict)
    queued: dict[str, Issue] = field(default_factory=dict)
    drop_next_answer: bool = False  # the next create is made but its answer is lost
    # How its comments for the resident are told from the crews' own (Capabilities).
    audience: CommentAudience = "prefix"

    def _new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    @hookimpl
    def list_request_types(self, integration: Integration) -> list[RequestType]:
        """The configured request types."""
        self.calls.append(("list_request_types", integration.name))
        return list(self.types)

    @hookimpl
    def submit(self, integration: Integration, issue: Issue) -> Submission:
        """Create a request; after an uncertain attempt, find it by the issue's marker."""
        self.calls.append(("submit", integration.name))
        if issue.type_ref not in {rt.ref for rt in self.types}:
            raise DefiniteError(f"unknown request type ref {issue.type_ref!r}")
        if issue.submit_attempted:
            for rid, request in self.remote.items():
                if request["marker"] == issue.marker:
                    return Submission(remote_id=rid, created=False, status=request["status"])
            token = issue.plugin_state.get("token")
            if token in self.queued:  # accepted before, not made yet: still pending
                return Submission(token=token, created=False, plugin_state=issue.plugin_state)
        if self.batch or issue.request_type in self.batch_codes:
            token = f"tok-{self._new_id()}"
            self.tokens[token] = None
            self.queued[token] = issue
            return Submission(token=token, plugin_state={"token": token})
        rid = self.make(issue)
        if self.drop_next_answer:
            self.drop_next_answer = False
            raise AmbiguousError("the create's answer was lost on the way back")
        return Submission(remote_id=rid, status="OPEN")

    def make(self, issue: Issue) -> str:
        """Create the remote request of ``issue``; returns its id."""
        rid = self._new_id()
        self.remote[rid] = {
            "marker": issue.marker,
            "status": "OPEN",
            "issue": issue,
            "fields": {},
            "comments": [],
        }
        return rid

    @hookimpl
    def resolve_pending(self, integration: Integration, pending: list[Pending]) -> list[Resolution]:
        """The ids of the creates staff processed; an unknown token is lost."""
        self.calls.append(("resolve_pending", integration.name))
        out = []
        for p in pending:
            if p.token not in self.tokens:
                out.append(Resolution(p.issue_id, lost=f"token {p.token} is unknown"))
            else:
                out.append(Resolution(p.issue_id, remote_id=self.tokens[p.token]))
        return out

    @hookimpl
    def poll(self, integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
        """Every tracked request's state, watched fields and ``To SCF:`` comments."""
        self.calls.append(("poll", integration.name))
        closed = {s.upper() for s in integration.closed_statuses}
        cancel = {s.upper() for s in integration.cancel_statuses}
        updates = []
        for t in tracked:
            request = self.remote.get(t.remote_id)
            if not t.remote_id.isdigit():  # its ids are numbers: this one cannot be one
                why = f"{t.remote_id!r} is not a request id here (a number)"
                updates.append(RemoteUpdate(t.issue_id, t.remote_id, RemoteState.UNREADABLE,
                                            error=why))  # fmt: skip
                continue
            if request is None:
                updates.append(RemoteUpdate(t.issue_id, t.remote_id, RemoteState.MISSING))
                continue
            status = request["status"]
            state = (
                RemoteState.CANCELED
                if status.upper() in cancel
                else RemoteState.CLOSED
                if status.upper() in closed
                else RemoteState.OPEN
            )
            fields = tuple(
                (f, request["fields"][f])
                for f in integration.watched_fields
                if request["fields"].get(f)
            )
            public = request.get("public", set())  # the ids of those marked public
            comments = tuple(
                RemoteComment(cid, self._for_residents(text, cid in public), author)
                for cid, text, author in request["comments"]
                if self._meant_for_residents(text, cid in public)
            )
            updates.append(
                RemoteUpdate(
                    t.issue_id, t.remote_id, state, status, fields, comments, request["marker"]
                )
            )
        return updates

    def _meant_for_residents(self, text: str, public: bool) -> bool:
        """A remote comment the resident should see, by the declared audience; never one
        this plugin pushed itself (its own are marked "[311]")."""
        if text.startswith("[311] "):
            return False
        prefixed = bool(TO_SCF.match(text))
        return {"prefix": prefixed, "flag": public, "both": public and prefixed}[self.audience]

    def _for_residents(self, text: str, public: bool) -> str:
        return TO_SCF.sub("", text, count=1) if self.audience != "flag" else text

    @hookimpl
    def capabilities(self, integration: Integration) -> Capabilities:
        """Everything, with comments told by :attr:`audience`."""
        return Capabilities(comment_audience=self.audience, remote_cancel=True)

    @hookimpl
    def cancel_request(self, integration: Integration, issue: Issue, reason: str) -> str:
        """Cancel the request with status CANCEL and the reason, once; a closed one is
        refused."""
        self.calls.append(("cancel_request", integration.name))
        request = self.remote.get(str(issue.remote_id))
        if request is None or request["marker"] != issue.marker:
            raise DefiniteError(f"no remote request {issue.remote_id} of this issue")
        if request["status"] == "CANCEL":
            return "it was cancelled already"
        if request["status"].upper() in {s.upper() for s in integration.closed_statuses}:
            raise DefiniteError(f"request {issue.remote_id} is closed; it is not cancelled")
        request["status"] = "CANCEL"
        request.setdefault("cancel_reasons", []).append(reason)
        return "cancelled with status CANCEL"

    @hookimpl
    def push_comment(self, integration: Integration, issue: Issue, comment: Comment) -> str:
        """Add the comment, public or internal as it says (found, not added again, after an
        uncertain attempt)."""
        self.calls.append(("push_comment", integration.name))
        request = self.remote.get(str(issue.remote_id))
        if request is None:
            raise DefiniteError(f"no remote request {issue.remote_id}")
        text = f"[311] {comment.author}: {comment.text}"
        if comment.push_attempted:
            for cid, existing, _ in request["comments"]:
                if existing == text:
                    return str(cid)
        cid = self._new_id()
        request["comments"].append((cid, text, "Resident"))
        if comment.public:
            request.setdefault("public", set()).add(cid)
        return cid

    @hookimpl
    def check_integration(self, integration: Integration) -> list[str]:
        """Nothing to check."""
        self.calls.append(("check_integration", integration.name))
        return []


@dataclass
class FakeStaff:
    """City staff for a :class:`FakeRemote` (the contract's ``Staff``)."""

    remote: FakeRemote

    def close(self, remote_id: str, status: str) -> None:
        """Close with ``status``."""
        self.remote.remote[remote_id]["status"] = status

    def cancel(self, remote_id: str, status: str) -> None:
        """Cancel with ``status``."""
        self.remote.remote[remote_id]["status"] = status

    def comment(self, remote_id: str, text: str, public: bool = False) -> None:
        """A staff comment, public or internal."""
        request = self.remote.remote[remote_id]
        cid = self.remote._new_id()
        request["comments"].append((cid, text, "Staff"))
        if public:
            request.setdefault("public", set()).add(cid)

    def set_field(self, remote_id: str, field: str, value: str) -> None:
        """Set a field."""
        self.remote.remote[remote_id]["fields"][field] = value

    def requests_with(self, marker: str) -> int:
        """Requests carrying ``marker``."""
        return sum(1 for r in self.remote.remote.values() if r["marker"] == marker)

    def comment_texts(self, remote_id: str) -> list[str]:
        """Every comment's text."""
        return [text for _, text, _ in self.remote.remote[remote_id]["comments"]]

    def set_status(self, remote_id: str, status: str) -> None:
        """Give the request any status (one neither status list names)."""
        self.remote.remote[remote_id]["status"] = status

    def cancel_reasons(self, remote_id: str) -> list[str]:
        """The reason of each cancel made through the plugin."""
        return list(self.remote.remote[remote_id].get("cancel_reasons", []))

    def drop_next_answer(self) -> None:
        """Make the next create, but lose its answer."""
        self.remote.drop_next_answer = True

    def calls(self) -> int:
        """How many calls the remote system has received."""
        return len(self.remote.calls)

    def process_batch(self) -> None:
        """Make every create accepted under a token (a batch service's back office)."""
        for token, issue in list(self.remote.queued.items()):
            self.remote.tokens[token] = self.remote.make(issue)
            del self.remote.queued[token]

    def process_pending(self) -> None:
        """The contract's name for :meth:`process_batch`."""
        self.process_batch()

    def forget_token(self, token: str) -> None:
        """Lose a token (the batch failed): it becomes unknown."""
        self.remote.tokens.pop(token, None)
        self.remote.queued.pop(token, None)
