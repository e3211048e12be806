"""The contract every remote-system plugin must pass.

A plugin author subclasses :class:`RemoteSystemContract` in a test module and provides three
pytest fixtures; pytest then runs every contract test against the plugin, through the host's
own routing. When they pass, the plugin does what the sync engine relies on::

    from scf_plugins.testing.contract import RemoteSystemContract

    class TestMySystem(RemoteSystemContract):
        @pytest.fixture
        def contract_plugin(self):
            return my_plugin_module          # the object the entry point names

        @pytest.fixture
        def contract_integration(self, my_test_server):
            return Integration(...)          # closed/cancel statuses and one activity rule set

        @pytest.fixture
        def contract_staff(self, my_test_server):
            return MyStaff(my_test_server)   # a Staff: what city staff do in your system

Four more fixtures may be overridden, each documented where it is defined:
``contract_request_type_code`` (the request type the tests use; default the first offered),
``contract_unknown_id`` (an id of your system's shape that no request has),
``contract_malformed_id`` (an id your system can never have; default None: no such test) and
``contract_pending_request_type_code`` (a request type your system creates later, under a
token; default None: the pending-create tests skip).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
from typing import Any, get_args

import pytest

from ..errors import AmbiguousError, ScfError
from ..models import (
    Answer,
    Attachment,
    Comment,
    Integration,
    Issue,
    Pending,
    Question,
    QuestionType,
    RemoteState,
    RequestType,
    Secret,
    Tracked,
    attachment_name,
)
from ..plugins import PluginFailure, PluginHost, build_manager
from ..standin import Staff

# Modules a plugin must not import when it is loaded (every ``scf`` command loads every
# plugin): import them inside the function that needs them.
HEAVY_MODULES = (
    "sqlalchemy", "pyproj", "requests", "numpy", "pandas", "PIL", "lxml", "shapely",
    "starlette", "uvicorn", "prometheus_client",
)  # fmt: skip
POLL_CALLS_FOR_SIX = 3  # calls a poll of six requests may make (a batch, comments, a login)


def answer_value(q: Question) -> str:
    """A valid answer to question ``q`` (the first option of a choice)."""
    if q.type in ("choice", "multichoice"):
        return q.options[0]
    if q.type == "number":
        return f"{q.minimum if q.minimum is not None else min(1.0, q.maximum or 1.0):g}"
    return {"date": "2026-01-15", "datetime": "2026-01-15T09:30:00"}.get(q.type, "contract answer")


def answers_for(rt: RequestType) -> tuple[Answer, ...]:
    """Valid answers for every required, unconditional question of ``rt`` (an optional one
    may depend on answers the remote system does not describe)."""
    out = []
    for q in rt.questions:
        if q.asked_when or q.type == "info" or not q.required:
            continue
        value = answer_value(q)
        out.append(Answer(q.id, q.text, value, q.private, q.ref_for(value)))
    return tuple(out)


def error_texts(exc: BaseException) -> str:
    """Everything an error would show: its text, repr and arguments, and those of its causes."""
    seen: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 20:
        seen += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(seen)


class RemoteSystemContract:
    """The contract tests; subclass it and provide the three ``contract_*`` fixtures."""

    issue_ids = iter(range(900_001, 999_999))

    @pytest.fixture
    def host(self, contract_plugin: Any, contract_integration: Integration) -> PluginHost:
        """A host with only the plugin under test, registered under its configured name."""
        host = build_manager(load_entry_points=False)
        host.register(contract_plugin, contract_integration.plugin)
        return host

    @pytest.fixture
    def contract_request_type_code(self) -> str | None:
        """The code of the request type the tests create requests of: override it to choose
        one (a type whose creates are plain, with the questions your system needs answered);
        None, the default, takes the first type the plugin offers."""
        return None

    @pytest.fixture
    def contract_unknown_id(self) -> str:
        """A remote id of your system's own shape that no request has: a poll reports it
        MISSING. Override it when your ids are not numbers (``"REC24-00000-99999"``)."""
        return "424242424"

    @pytest.fixture
    def contract_malformed_id(self) -> str | None:
        """A remote id your system can never have (a word where ids are numbers): a poll
        reports it UNREADABLE, with ``error``. None, the default: your system takes any text
        as an id, and the test skips."""
        return None

    @pytest.fixture
    def contract_pending_request_type_code(self) -> str | None:
        """The code of a request type your system creates later, under a token (an Open311
        ``batch`` service): the pending-create tests run on it, your ``Staff`` giving
        ``process_pending()``. None, the default: they skip."""
        return None

    @pytest.fixture
    def request_type(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_request_type_code: str | None,
    ) -> RequestType:
        """The request type the tests use (``contract_request_type_code``, or the first)."""
        return self._type(host, contract_integration, contract_request_type_code)

    @staticmethod
    def _type(host: PluginHost, integration: Integration, code: str | None) -> RequestType:
        types = host.list_request_types(integration)
        assert types, "the plugin must offer at least one request type"
        if code is None:
            return types[0]
        chosen = [rt for rt in types if rt.code == code]
        assert chosen, f"the plugin offers no request type {code!r}"
        return chosen[0]

    def new_issue(self, rt: RequestType, **overrides: Any) -> Issue:
        """A fresh issue of ``rt`` with valid answers."""
        issue = Issue(
            id=next(self.issue_ids),
            request_type=rt.code,
            summary="Contract issue",
            description="Made by the contract suite",
            lat=41.3083,
            lng=-72.9279,
            reporter_name="Contract Tester",
            reporter_email="contract@example.org",
            answers=answers_for(rt),
            type_ref=rt.ref,
        )
        return dataclasses.replace(issue, **overrides)

    def issue_id_hint(self) -> int:
        """A number unique within this test run (for markers made up by a test)."""
        return next(self.issue_ids)

    def submitted(
        self, host: PluginHost, integration: Integration, rt: RequestType, **overrides: Any
    ) -> Issue:
        """A new issue, submitted and linked to its remote request."""
        issue = self.new_issue(rt, **overrides)
        submission = host.submit(integration, issue)
        return dataclasses.replace(issue, remote_id=submission.remote_id)

    # -- the contract ------------------------------------------------------------------------

    def test_request_types_are_well_formed(
        self, host: PluginHost, contract_integration: Integration
    ) -> None:
        """Unique codes; every answer the host may send has a remote reference."""
        types = host.list_request_types(contract_integration)
        codes = [rt.code for rt in types]
        assert all(codes) and len(codes) == len(set(codes))
        for rt in types:
            ids = [q.id for q in rt.questions]
            assert len(ids) == len(set(ids)), rt.code
            seen: dict[str, tuple[str, ...]] = {}
            for q in rt.questions:
                assert q.type in get_args(QuestionType), (rt.code, q.id, q.type)
                if q.type in ("choice", "multichoice"):
                    assert q.options and all(q.ref_for(o) for o in q.options), (rt.code, q.id)
                elif q.type != "info":
                    assert q.ref_for("anything") is not None, (rt.code, q.id)
                if q.minimum is not None and q.maximum is not None:
                    assert q.minimum <= q.maximum, (rt.code, q.id)
                for parent, option in q.asked_when:
                    assert parent in seen and option in seen[parent], (rt.code, q.id)
                seen[q.id] = q.options

    def test_submit_returns_a_remote_id_and_is_idempotent(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """A retry after an uncertain attempt finds the request instead of creating another."""
        issue = self.new_issue(request_type)
        first = host.submit(contract_integration, issue)
        assert first.remote_id and first.created
        again = host.submit(contract_integration, dataclasses.replace(issue, submit_attempted=True))
        assert again.remote_id == first.remote_id and not again.created
        assert contract_staff.requests_with(issue.marker) == 1

    def test_a_refused_call_raises_a_host_error(
        self, host: PluginHost, contract_integration: Integration, request_type: RequestType
    ) -> None:
        """Bad data is refused with one of the host's error types, not a stray exception."""
        with pytest.raises(ScfError) as refused:
            host.submit(
                contract_integration, self.new_issue(request_type, type_ref="no-such-type-999999")
            )
        assert not isinstance(refused.value, PluginFailure), refused.value

    def test_poll_answers_the_whole_batch(
        self,
        host: PluginHost,
        contract_integration: Integration,
        request_type: RequestType,
        contract_unknown_id: str,
    ) -> None:
        """One update per tracked issue; an id of the system's shape that no request has
        (``contract_unknown_id``) is MISSING, not an exception."""
        issues = [self.submitted(host, contract_integration, request_type) for _ in range(3)]
        tracked = [Tracked(i.id, str(i.remote_id)) for i in issues]
        tracked.append(Tracked(1, contract_unknown_id))
        updates = {u.issue_id: u for u in host.poll(contract_integration, tracked)}
        assert set(updates) == {t.issue_id for t in tracked}
        assert updates[1].state is RemoteState.MISSING
        assert all(updates[i.id].state is RemoteState.OPEN for i in issues)
        assert all(updates[i.id].remote_id == i.remote_id for i in issues)

    def test_an_id_the_system_can_never_have_is_unreadable(
        self,
        host: PluginHost,
        contract_integration: Integration,
        request_type: RequestType,
        contract_malformed_id: str | None,
    ) -> None:
        """The one rule for ids a poll cannot find: of the system's shape, MISSING (above);
        of a shape the system never gives (``contract_malformed_id``), UNREADABLE with
        ``error`` saying why; either way the rest of the batch is read as usual."""
        if contract_malformed_id is None:
            pytest.skip("the plugin takes any text as an id (contract_malformed_id is None)")
        issue = self.submitted(host, contract_integration, request_type)
        tracked = [Tracked(issue.id, str(issue.remote_id)), Tracked(2, contract_malformed_id)]
        updates = {u.issue_id: u for u in host.poll(contract_integration, tracked)}
        assert updates[2].state is RemoteState.UNREADABLE and updates[2].error
        assert updates[issue.id].state is RemoteState.OPEN

    def test_poll_reports_the_marker_each_request_carries(
        self, host: PluginHost, contract_integration: Integration, request_type: RequestType
    ) -> None:
        """Each update names the marker its remote request carries, so the host can refuse
        an update for a request that is not the issue's (another environment, store or a
        reused number)."""
        issues = [
            self.submitted(
                host,
                contract_integration,
                request_type,
                marker=f"scf-contract-{n}-{self.issue_id_hint()}",
            )
            for n in range(2)
        ]
        tracked = [Tracked(i.id, str(i.remote_id), i.marker) for i in issues]
        updates = {u.issue_id: u for u in host.poll(contract_integration, tracked)}
        for issue in issues:
            assert updates[issue.id].marker == issue.marker, (
                "report RemoteUpdate.marker: the marker the remote request carries"
            )

    def test_poll_reads_closed_and_cancelled_requests(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """The integration's status lists decide the state; the status itself is reported."""
        closed, cancelled = (
            self.submitted(host, contract_integration, request_type) for _ in range(2)
        )
        closed_status = contract_integration.closed_statuses[0]
        contract_staff.close(str(closed.remote_id), closed_status)
        can_cancel = host.capabilities(contract_integration).cancellation
        if can_cancel:
            contract_staff.cancel(str(cancelled.remote_id), contract_integration.cancel_statuses[0])
        updates = {
            u.issue_id: u
            for u in host.poll(
                contract_integration,
                [
                    Tracked(closed.id, str(closed.remote_id)),
                    Tracked(cancelled.id, str(cancelled.remote_id)),
                ],
            )
        }
        assert updates[closed.id].state is RemoteState.CLOSED
        assert updates[closed.id].status == closed_status
        # Without cancellation (capabilities), the request staff left alone stays open.
        expected = RemoteState.CANCELED if can_cancel else RemoteState.OPEN
        assert updates[cancelled.id].state is expected

    def test_poll_reports_watched_fields(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """The current value of each field an activity rule watches."""
        assert contract_integration.activity, "give the integration one activity rule"
        field = contract_integration.activity[0].field
        issue = self.submitted(host, contract_integration, request_type)
        contract_staff.set_field(str(issue.remote_id), field, "Contract Crew 9")
        [update] = host.poll(contract_integration, [Tracked(issue.id, str(issue.remote_id))])
        assert (field, "Contract Crew 9") in update.fields

    def test_poll_pulls_to_scf_comments_with_the_prefix_removed(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """Only the comments meant for the resident come back, as the plugin declares them
        (``Capabilities.comment_audience``): those that start with ``To SCF:`` (any case,
        leading spaces; the prefix removed), those the remote system marks public (as they
        are), or those that are both; each with the same remote id on every poll."""
        capabilities = host.capabilities(contract_integration)
        if not capabilities.pull_comments:
            pytest.skip("the plugin declares it pulls no comments (capabilities)")
        issue = self.submitted(host, contract_integration, request_type)
        rid, staff = str(issue.remote_id), contract_staff
        audience = capabilities.comment_audience
        if audience == "prefix":
            staff.comment(rid, "  to scf:  The crew comes Tuesday")
            staff.comment(rid, "Internal: bring the cold patch")
        elif audience == "flag":
            staff.comment(rid, "The crew comes Tuesday", public=True)
            staff.comment(rid, "Internal: bring the cold patch", public=False)
            staff.comment(rid, "To SCF: internal all the same", public=False)
        else:  # both: flagged public and prefixed
            staff.comment(rid, "  to scf:  The crew comes Tuesday", public=True)
            staff.comment(rid, "To SCF: internal all the same", public=False)
            staff.comment(rid, "Public, but not written for the resident", public=True)
        tracked = [Tracked(issue.id, rid)]
        [first] = host.poll(contract_integration, tracked)
        [second] = host.poll(contract_integration, tracked)
        assert [c.text for c in first.comments] == ["The crew comes Tuesday"], (
            f"comment_audience is {audience!r}: only the comments it names reach the resident"
        )
        assert [c.remote_id for c in first.comments] == [c.remote_id for c in second.comments]

    def test_push_comment_is_idempotent_and_never_pulled_back(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """The returned id is the remote comment's; a retry after doubt adds nothing; the
        plugin never pulls its own comment back (even one it marked public)."""
        if not host.capabilities(contract_integration).push_comments:
            pytest.skip("the plugin declares it takes no comments (capabilities)")
        issue = self.submitted(host, contract_integration, request_type)
        comment = Comment(id=1, issue_id=issue.id, author="Resident", text="To SCF: bigger now")
        remote_id = host.push_comment(contract_integration, issue, comment)
        assert remote_id
        again = host.push_comment(
            contract_integration, issue, dataclasses.replace(comment, push_attempted=True)
        )
        assert again == remote_id
        texts = contract_staff.comment_texts(str(issue.remote_id))
        assert sum("bigger now" in t for t in texts) == 1
        [update] = host.poll(contract_integration, [Tracked(issue.id, str(issue.remote_id))])
        assert remote_id not in {c.remote_id for c in update.comments}

    def test_poll_answers_a_batch_in_few_calls(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """Six requests are read in a few calls, not one call per request."""
        issues = [self.submitted(host, contract_integration, request_type) for _ in range(6)]
        before = contract_staff.calls()
        host.poll(contract_integration, [Tracked(i.id, str(i.remote_id)) for i in issues])
        made = contract_staff.calls() - before
        assert made <= POLL_CALLS_FOR_SIX, (
            f"poll made {made} calls for 6 requests; read a batch in one call (and the "
            f"comments of the batch in one more)"
        )

    def test_an_unknown_status_stays_open(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """A status neither list names is OPEN (reported as it is), never read as closed."""
        issue = self.submitted(host, contract_integration, request_type)
        contract_staff.set_status(str(issue.remote_id), "contract_unheard_of")
        [update] = host.poll(contract_integration, [Tracked(issue.id, str(issue.remote_id))])
        assert update.state is RemoteState.OPEN, (
            "a status the integration does not list is open; only closed_statuses close"
        )

    def test_a_lost_create_answer_is_ambiguous_and_the_retry_finds_it(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """A create carried out whose answer never came back is an AmbiguousError (not
        "safe to retry"), and the retry finds the request instead of making a second."""
        issue = self.new_issue(request_type)
        contract_staff.drop_next_answer()
        with pytest.raises(AmbiguousError) as lost:
            host.submit(contract_integration, issue)
        assert not isinstance(lost.value, PluginFailure), lost.value
        retry = dataclasses.replace(
            issue,
            submit_attempted=True,
            plugin_state=lost.value.plugin_state or issue.plugin_state,
        )
        again = host.submit(contract_integration, retry)
        assert again.remote_id and not again.created
        assert contract_staff.requests_with(issue.marker) == 1

    def test_no_secret_appears_in_any_error_or_log(
        self,
        host: PluginHost,
        contract_integration: Integration,
        request_type: RequestType,
        contract_unknown_id: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Errors and log lines never carry the password or key, right or wrong."""
        wrong = "Contract-Wrong-Secret-8841"
        secrets = {wrong}
        if contract_integration.password:
            secrets.add(contract_integration.password.reveal())
        refused = dataclasses.replace(
            contract_integration,
            name=f"{contract_integration.name}-wrong-secret",
            password=Secret(wrong),
        )
        caplog.set_level(logging.DEBUG)
        shown: list[str] = []
        attempts = (
            lambda: host.submit(contract_integration,
                                self.new_issue(request_type, type_ref="no-such-type-999999")),
            lambda: host.list_request_types(refused),
            lambda: host.submit(refused, self.new_issue(request_type)),
            lambda: host.poll(refused, [Tracked(1, contract_unknown_id)]),
        )  # fmt: skip
        for attempt in attempts:
            try:
                attempt()
            except ScfError as exc:
                shown.append(error_texts(exc))
        shown += [record.getMessage() for record in caplog.records]
        shown += [json.dumps(getattr(record, "__dict__", {}), default=str)
                  for record in caplog.records]  # fmt: skip
        for secret in secrets:
            assert not any(secret in text for text in shown), "a secret appears in an error or log"

    @pytest.mark.slow  # a subprocess: `-m "not slow"` leaves it out
    def test_importing_the_plugin_loads_no_heavy_library(self, contract_plugin: Any) -> None:
        """Every ``scf`` command loads every plugin: its module must load in milliseconds,
        so the libraries in HEAVY_MODULES are imported where they are used, not at the top."""
        module = getattr(contract_plugin, "__module__", None) or contract_plugin.__name__
        if not isinstance(module, str) or module in ("__main__",) or module.startswith("test"):
            pytest.skip("the plugin is defined in a test module")
        probe = (
            "import json, sys\n"
            "import scf_plugins, scf_plugins.testing\n"
            "before = set(sys.modules)\n"
            f"import {module}\n"
            f"print(json.dumps(sorted(m for m in set(sys.modules) - before "
            f"if m.split('.')[0] in {list(HEAVY_MODULES)!r})))\n"
        )
        # The probe runs this interpreter on the plugin's own module name: nothing untrusted.
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,  # noqa: S603
                             check=True, timeout=60)  # fmt: skip
        heavy = json.loads(out.stdout)
        assert not heavy, f"importing {module} loads {', '.join(heavy)}; import it where used"

    def test_push_attachment_is_idempotent_and_sends_the_bytes(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """The photo arrives as sent; a retry after doubt (``push_attempted``) finds it
        instead of attaching it twice."""
        if not host.takes_attachments(contract_integration):
            pytest.skip("the plugin takes no photos (no push_attachment, or capabilities)")
        issue = self.submitted(host, contract_integration, request_type)
        jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"
        photo = Attachment(
            1,
            issue.id,
            attachment_name(issue.marker, 1),
            "image/jpeg",
            len(jpeg),
            jpeg,
            original_name="photo.jpg",
        )  # as the host names it
        first = host.push_attachment(contract_integration, issue, photo)
        assert first
        again = host.push_attachment(
            contract_integration, issue, dataclasses.replace(photo, push_attempted=True)
        )
        assert again == first
        assert contract_staff.attachments(str(issue.remote_id)) == [jpeg]

    def test_cancel_request_cancels_once_with_the_reason(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """A plugin that cancels from here (``cancel_request``, ``remote_cancel``) cancels the
        request with the reason, once: asked again after doubt, it finds it cancelled and
        changes nothing; a request closed remotely is refused with a host error."""
        if not host.cancels_remotely(contract_integration):
            pytest.skip("the plugin declares it cancels no request from here (capabilities)")
        reasons = getattr(contract_staff, "cancel_reasons", None)
        assert callable(reasons), "give the contract's Staff cancel_reasons(remote_id)"
        issue, closed = (self.submitted(host, contract_integration, request_type) for _ in "ab")
        rid = str(issue.remote_id)
        assert host.cancel_request(contract_integration, issue, "Contract withdraw")
        assert host.cancel_request(contract_integration, issue, "Contract withdraw")
        assert reasons(rid) == ["Contract withdraw"], "cancel once, with the reason"
        [update] = host.poll(contract_integration, [Tracked(issue.id, rid, issue.marker)])
        assert update.state is RemoteState.CANCELED or update.remote_closed, (
            "a request cancelled from here reads as cancelled (or closed) in the next poll"
        )
        contract_staff.close(str(closed.remote_id), contract_integration.closed_statuses[0])
        with pytest.raises(ScfError) as refused:
            host.cancel_request(contract_integration, closed, "Contract withdraw")
        assert not isinstance(refused.value, PluginFailure), refused.value

    # -- pending creates (a remote system that creates later, under a token) ----------------

    def _pending_type(
        self, host: PluginHost, integration: Integration, code: str | None
    ) -> RequestType:
        if code is None:
            pytest.skip("the plugin names no request type created later under a token "
                        "(contract_pending_request_type_code)")  # fmt: skip
        return self._type(host, integration, code)

    def test_a_pending_create_resolves_once_staff_process_it(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        contract_pending_request_type_code: str | None,
    ) -> None:
        """A create accepted under a token is not made yet: ``resolve_pending`` says so;
        once staff process it, it gives the remote id, whose request carries the marker; a
        retry of the submit in between makes no second request."""
        rt = self._pending_type(host, contract_integration, contract_pending_request_type_code)
        process = getattr(contract_staff, "process_pending", None)
        assert callable(process), "give the contract's Staff process_pending()"
        issue = self.new_issue(rt)
        first = host.submit(contract_integration, issue)
        assert first.token and not first.remote_id, "a pending create answers with a token"
        state = first.plugin_state or {}
        retry = host.submit(contract_integration, dataclasses.replace(
            issue, submit_attempted=True, plugin_state=state))  # fmt: skip
        assert retry.token == first.token or retry.remote_id, "the retry finds the create"
        pending = Pending(issue.id, str(first.token), issue.marker, state)
        [waiting] = host.resolve_pending(contract_integration, [pending])
        assert waiting.issue_id == issue.id and waiting.remote_id is None and not waiting.lost
        process()
        [made] = host.resolve_pending(contract_integration, [pending])
        assert made.remote_id and not made.lost, "once made, its remote id"
        assert contract_staff.requests_with(issue.marker) == 1
        [update] = host.poll(contract_integration, [Tracked(issue.id, made.remote_id)])
        assert update.state is RemoteState.OPEN and update.marker == issue.marker

    def test_pending_creates_resolve_in_a_batch(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        contract_pending_request_type_code: str | None,
    ) -> None:
        """``resolve_pending`` answers every pending issue of a batch, each by its own id."""
        rt = self._pending_type(host, contract_integration, contract_pending_request_type_code)
        issues = [self.new_issue(rt) for _ in range(3)]
        pending = []
        for issue in issues:
            sub = host.submit(contract_integration, issue)
            assert sub.token
            pending.append(Pending(issue.id, sub.token, issue.marker, sub.plugin_state or {}))
        getattr(contract_staff, "process_pending")()  # noqa: B009  (asked of this Staff only)
        resolved = {r.issue_id: r for r in host.resolve_pending(contract_integration, pending)}
        assert set(resolved) == {i.id for i in issues}
        assert all(r.remote_id for r in resolved.values())
        assert len({r.remote_id for r in resolved.values()}) == 3
