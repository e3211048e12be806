"""The plugin kit: hooks a plugin may leave out, and the helpers plugin authors test with."""

from __future__ import annotations

import dataclasses

import pytest

from scf_plugins import Integration
from scf_plugins.plugins import build_manager


def test_check_connection_is_routed_and_none_without_the_hook() -> None:
    """Doctor asks the plugin's check_connection; a plugin without it gets None (doctor then
    relies on its authenticated read)."""
    from scf_plugins import LoginRefused, hookimpl
    from scf_plugins.testing.fake import FakeRemote

    class Checks(FakeRemote):
        @hookimpl
        def check_connection(self, integration: Integration) -> str:
            if integration.user != "good":
                raise LoginRefused("the key was refused")
            return "key accepted"

    host = build_manager(load_entry_points=False)
    host.register(Checks("with"), "with")
    host.register(FakeRemote("without"), "without")
    base = Integration(name="i", plugin="with", environment="test", url="http://127.0.0.1:9",
                       user="good", password=None)  # fmt: skip
    assert host.check_connection(base) == "key accepted"
    with pytest.raises(LoginRefused):
        host.check_connection(dataclasses.replace(base, user="bad"))
    assert host.check_connection(dataclasses.replace(base, plugin="without")) is None
    assert host.implements("check_connection", "with")
    assert not host.implements("check_connection", "without")


def test_make_integration_and_the_loopback_server_serve_a_plugin_test(loopback) -> None:  # type: ignore[no-untyped-def]
    """The kit's loopback server answers as routed, misbehaves on cue and records requests;
    the host's HTTP client keeps its policy against it."""
    from scf_plugins import AmbiguousError, HttpClient, HttpPolicy, TransientError
    from scf_plugins.testing import Reply, make_integration

    integration = make_integration("mine", loopback.url, options={"jurisdiction_id": "x.gov"})
    assert integration.options["jurisdiction_id"] == "x.gov" and integration.password
    loopback.route("GET", r"/services\.json", Reply(200, b'[{"service_code": "1"}]'))
    loopback.route("GET", r"/busy\.json", Reply(503, b"busy", {"Retry-After": "7"}))
    loopback.route("POST", r"/requests\.json", Reply(drop=True))
    client = HttpClient("mine", loopback.url, True, HttpPolicy.of(integration), system="Mine")
    try:
        assert client.request("GET", f"{loopback.url}/services.json", what="services",
                              idempotent=True).json() == [{"service_code": "1"}]  # fmt: skip
        with pytest.raises(TransientError) as busy:
            client.request("GET", f"{loopback.url}/busy.json", what="busy", idempotent=True)
        assert busy.value.retry_after == 7
        with pytest.raises(AmbiguousError):
            client.request("POST", f"{loopback.url}/requests.json", what="create",
                           idempotent=False, data={"a": "1", "b": "2"})  # fmt: skip
    finally:
        client.close()
    assert [r.path for r in loopback.requests] == ["/services.json", "/busy.json",
                                                   "/requests.json"]  # fmt: skip
    assert loopback.requests[2].form() == [("a", "1"), ("b", "2")]


PLUGIN_OK = '''
from scf_plugins import Integration, Issue, Submission, hookimpl

@hookimpl
def submit(integration: Integration, issue: Issue) -> Submission:
    """Create the request."""
    return Submission(remote_id=str(issue.id))
'''
PLUGIN_WRONG = '''
from scf_plugins import Integration, Issue, Submission, hookimpl

@hookimpl
def submit(integration: Integration, issue: Issue) -> Submission:
    """Create the request."""
    return Submission(remote_id=issue.id)
'''


@pytest.mark.slow  # a subprocess
def test_a_plugin_type_checks_against_the_installed_host(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The host ships py.typed and a typed hookimpl: an out-of-tree plugin's mypy run sees
    the host's types (a wrong one is caught, a right one passes)."""
    import subprocess
    import sys

    (tmp_path / "good_plugin.py").write_text(PLUGIN_OK)
    (tmp_path / "bad_plugin.py").write_text(PLUGIN_WRONG)
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "good_plugin.py",
         "bad_plugin.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "good_plugin.py" not in out.stdout, out.stdout
    assert 'bad_plugin.py:7: error: Argument "remote_id" to "Submission" has incompatible type' in (
        out.stdout
    ), out.stdout
