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
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import pytest

from ..errors import ScfError
from ..models import Answer, Comment, Integration, Issue, RemoteState, RequestType, Tracked
from ..plugins import PluginHost, build_manager


class Staff(Protocol):
    """What city staff do in the remote system, as the contract needs it."""

    def close(self, remote_id: str, status: str) -> None:
        """Close the request with this (closed) status."""

    def cancel(self, remote_id: str, status: str) -> None:
        """Cancel the request with this (cancel) status."""

    def comment(self, remote_id: str, text: str) -> None:
        """Add a staff comment to the request."""

    def set_field(self, remote_id: str, field: str, value: str) -> None:
        """Set a field of the request (the one the integration's activity rule watches)."""

    def requests_with(self, marker: str) -> int:
        """How many remote requests carry this issue marker (``Issue.marker``)."""

    def comment_texts(self, remote_id: str) -> list[str]:
        """The texts of every comment on the request."""


def answers_for(rt: RequestType) -> tuple[Answer, ...]:
    """Valid answers for every unconditional question of ``rt``."""
    out = []
    for q in rt.questions:
        if q.asked_when:
            continue
        value = (
            q.options[0]
            if q.type == "choice"
            else "2026-01-15"
            if q.type == "date"
            else "contract answer"
        )
        out.append(Answer(q.id, q.text, value, q.private, q.ref_for(value)))
    return tuple(out)


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
    def request_type(self, host: PluginHost, contract_integration: Integration) -> RequestType:
        """The first request type the plugin offers."""
        types = host.list_request_types(contract_integration)
        assert types, "the plugin must offer at least one request type"
        return types[0]

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
                assert q.type in ("text", "choice", "date")
                if q.type == "choice":
                    assert q.options and all(q.ref_for(o) for o in q.options), (rt.code, q.id)
                else:
                    assert q.ref_for("anything") is not None, (rt.code, q.id)
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
        with pytest.raises(ScfError):
            host.submit(
                contract_integration, self.new_issue(request_type, type_ref="no-such-type-999999")
            )

    def test_poll_answers_the_whole_batch(
        self, host: PluginHost, contract_integration: Integration, request_type: RequestType
    ) -> None:
        """One update per tracked issue; an unknown remote id is MISSING, not an exception."""
        issues = [self.submitted(host, contract_integration, request_type) for _ in range(3)]
        tracked = [Tracked(i.id, str(i.remote_id)) for i in issues] + [Tracked(1, "424242424")]
        updates = {u.issue_id: u for u in host.poll(contract_integration, tracked)}
        assert set(updates) == {t.issue_id for t in tracked}
        assert updates[1].state is RemoteState.MISSING
        assert all(updates[i.id].state is RemoteState.OPEN for i in issues)
        assert all(updates[i.id].remote_id == i.remote_id for i in issues)

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
        cancel_status = contract_integration.cancel_statuses[0]
        contract_staff.close(str(closed.remote_id), closed_status)
        contract_staff.cancel(str(cancelled.remote_id), cancel_status)
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
        assert updates[cancelled.id].state is RemoteState.CANCELED

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
        """Only comments that start with ``To SCF:`` (any case, leading spaces) come back."""
        if not host.capabilities(contract_integration).pull_comments:
            pytest.skip("the plugin declares it pulls no comments (capabilities)")
        issue = self.submitted(host, contract_integration, request_type)
        contract_staff.comment(str(issue.remote_id), "  to scf:  The crew comes Tuesday")
        contract_staff.comment(str(issue.remote_id), "Internal: bring the cold patch")
        tracked = [Tracked(issue.id, str(issue.remote_id))]
        [first] = host.poll(contract_integration, tracked)
        [second] = host.poll(contract_integration, tracked)
        assert [c.text for c in first.comments] == ["The crew comes Tuesday"]
        assert [c.remote_id for c in first.comments] == [c.remote_id for c in second.comments]

    def test_push_comment_is_idempotent_and_never_pulled_back(
        self,
        host: PluginHost,
        contract_integration: Integration,
        contract_staff: Staff,
        request_type: RequestType,
    ) -> None:
        """The returned id is the remote comment's; a retry after doubt adds nothing."""
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
