"""The in-memory FakeRemote passes the plugin contract (so the contract itself is exercised)."""

from __future__ import annotations

import pytest

from scf_plugins import ActivityRule, Capabilities, Integration, hookimpl
from scf_plugins.testing.contract import RemoteSystemContract
from scf_plugins.testing.fake import FakeRemote, FakeStaff


class TestFakeRemoteContract(RemoteSystemContract):
    @pytest.fixture
    def contract_plugin(self) -> FakeRemote:
        return FakeRemote("fake")

    @pytest.fixture
    def contract_integration(self) -> Integration:
        return Integration(
            name="fake-int",
            plugin="fake",
            environment="test",
            url="http://127.0.0.1:9",
            user="u",
            password=None,
            closed_statuses=("CLOSED",),
            cancel_statuses=("CANCEL",),
            activity=(ActivityRule("DispatchTo", "{value}"),),
        )

    @pytest.fixture
    def contract_staff(self, contract_plugin: FakeRemote) -> FakeStaff:
        return FakeStaff(contract_plugin)

    @pytest.fixture
    def contract_request_type_code(self) -> str:
        return "POTHOLE"

    @pytest.fixture
    def contract_malformed_id(self) -> str:
        return "not-a-number"


class TestARemoteThatCreatesLater(TestFakeRemoteContract):
    """Graffiti reports are accepted under a token and made when staff process them."""

    @pytest.fixture
    def contract_plugin(self) -> FakeRemote:
        return FakeRemote("fake", batch_codes=frozenset({"GRAFFITI"}))

    @pytest.fixture
    def contract_pending_request_type_code(self) -> str:
        return "GRAFFITI"


class TestCommentsToldByAPublicFlag(TestFakeRemoteContract):
    """Comments for the resident are those the remote system marks public."""

    @pytest.fixture
    def contract_plugin(self) -> FakeRemote:
        return FakeRemote("fake", audience="flag")


class TestCommentsToldByFlagAndPrefix(TestFakeRemoteContract):
    """Comments for the resident are marked public and start with the prefix."""

    @pytest.fixture
    def contract_plugin(self) -> FakeRemote:
        return FakeRemote("fake", audience="both")


class NoComments(FakeRemote):
    """A remote system without a comment API, which says so."""

    @hookimpl
    def capabilities(self, integration: Integration) -> Capabilities:
        """No comments either way."""
        return Capabilities(push_comments=False, pull_comments=False)


class TestWithoutComments(TestFakeRemoteContract):
    """What a plugin declares unsupported is skipped, the rest still runs."""

    @pytest.fixture
    def contract_plugin(self) -> FakeRemote:
        return NoComments("fake")


def test_declared_unsupported_contract_tests_are_skipped() -> None:
    """The comment tests skip (not pass, not fail) for a plugin that declares no comments."""
    from scf_plugins.plugins import build_manager

    host = build_manager(load_entry_points=False)
    host.register(NoComments("fake"), "fake")
    suite = TestWithoutComments()
    integration = Integration(name="fake-int", plugin="fake", environment="test",
                              url="http://127.0.0.1:9", user="u", password=None)  # fmt: skip
    for test in (suite.test_poll_pulls_to_scf_comments_with_the_prefix_removed,
                 suite.test_push_comment_is_idempotent_and_never_pulled_back):  # fmt: skip
        with pytest.raises(pytest.skip.Exception, match="declares"):
            test(host, integration, None, None)  # type: ignore[arg-type]
