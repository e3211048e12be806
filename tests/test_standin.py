"""``start_standin``: each installed plugin starts its stand-in server through the host, which
knows it only as a ``StandIn``; its staff are a full contract ``Staff``; it stops with its
``with`` block; the demo says in one line when a plugin it needs is missing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from scf_plugins import ActivityRule, Geocoder, LoginRefused, RemoteError, Secret, StandIn
from scf_plugins.errors import ConfigError, UserError
from scf_plugins.plugins import PluginHost, build_manager
from scf_plugins.testing import TEST_PASSWORD, make_integration
from scf_plugins.testing.contract import RemoteSystemContract
from scf_plugins.testing.fake import FakeRemote


@pytest.fixture(scope="module")
def installed() -> PluginHost:
    """The host with every installed plugin, as ``scf`` loads them."""
    return build_manager(disabled=set())


def _started(host: PluginHost, plugin: str, users: dict[str, str]) -> StandIn:
    standin = host.start_standin(plugin, users)
    assert standin is not None, f"the {plugin} plugin starts no stand-in"
    return standin


class TestCityworksStandIn(RemoteSystemContract):
    """The Cityworks stand-in's staff pass for the contract's own."""

    @pytest.fixture
    def standin(self, installed: PluginHost) -> Iterator[StandIn]:
        with _started(installed, "cityworks", {"scf-int": TEST_PASSWORD}) as standin:
            yield standin

    @pytest.fixture
    def contract_plugin(self, installed: PluginHost) -> Any:
        return installed.pm.get_plugin("cityworks")

    @pytest.fixture
    def contract_integration(self, standin: StandIn) -> Any:
        return make_integration(
            "cityworks", standin.url, user="scf-int", options={"version": "15.8", "srid": 3857},
            timezone="America/New_York", closed_statuses=("CLOSED", "COMPLETE"),
        )  # fmt: skip

    @pytest.fixture
    def contract_staff(self, standin: StandIn) -> Any:
        return standin.staff


class TestOpen311StandIn(RemoteSystemContract):
    """The Open311 stand-in takes each password as an API key; its staff pass too."""

    @pytest.fixture
    def standin(self, installed: PluginHost) -> Iterator[StandIn]:
        with _started(installed, "open311", {"scf": TEST_PASSWORD}) as standin:
            yield standin

    @pytest.fixture
    def contract_plugin(self, installed: PluginHost) -> Any:
        return installed.pm.get_plugin("open311")

    @pytest.fixture
    def contract_integration(self, standin: StandIn) -> Any:
        return make_integration(
            "open311", standin.url, user="scf", closed_statuses=("closed",),
            cancel_statuses=("duplicate",),
            activity=(ActivityRule("agency_responsible", "Assigned to {value}."),),
            options={"updates": "mysociety", "cancel_notes": ["duplicate"]},
        )  # fmt: skip

    @pytest.fixture
    def contract_staff(self, standin: StandIn) -> Any:
        return standin.staff


def test_cityworks_staff_give_a_cancel_reason_and_name_the_files(installed: PluginHost) -> None:
    """What the demo shows beyond the contract: the reason reaches the poll, and the photo
    is listed under the name and id Cityworks gave it."""
    from scf_plugins import Attachment, Tracked

    with _started(installed, "cityworks", {"scf-int": TEST_PASSWORD}) as standin:
        staff = standin.staff
        assert staff is not None
        integration = make_integration(
            "cityworks", standin.url, user="scf-int", options={"version": "15.8", "srid": 3857},
            timezone="America/New_York",
        )  # fmt: skip
        contract = RemoteSystemContract()
        [rt, *_] = installed.list_request_types(integration)
        issue = contract.submitted(installed, integration, rt)
        remote = str(issue.remote_id)
        photo = Attachment(1, issue.id, "IMG_1.jpg", "image/jpeg", 4, b"\xff\xd8ok")
        attachment_id = installed.push_attachment(integration, issue, photo)
        staff.cancel(remote, "CANCEL", "Private property: handled by Code Enforcement")

        [update] = installed.poll(integration, [Tracked(issue.id, remote, issue.marker)])
        assert update.reason == "Private property: handled by Code Enforcement"
        [attached] = staff.attached_files(remote)
        assert attached.id == attachment_id and attached.content == b"\xff\xd8ok"
        assert attached.name.startswith(issue.marker) and attached.name.endswith(".jpg")
        assert "\\" not in attached.name and staff.attachments(remote) == [b"\xff\xd8ok"]


def test_the_arcgis_stand_in_is_a_geocoder_without_staff(installed: PluginHost) -> None:
    with _started(installed, "arcgis", {}) as standin:
        assert standin.staff is None
        line = installed.probe_geocoder(Geocoder("gis", "arcgis", standin.url))
        assert "Single Line Input" in line


def test_the_arcgis_stand_in_asks_for_a_token_when_given_a_login(installed: PluginHost) -> None:
    with _started(installed, "arcgis", {"gis-user": TEST_PASSWORD}) as standin:
        geocoder = Geocoder("gis", "arcgis", standin.url, user="gis-user")
        with pytest.raises((LoginRefused, RemoteError)):
            installed.probe_geocoder(dataclasses.replace(geocoder, password=Secret("wrong-1")))
        assert installed.probe_geocoder(
            dataclasses.replace(geocoder, password=Secret(TEST_PASSWORD))
        )


@pytest.mark.parametrize("plugin", ["cityworks", "arcgis", "open311", "accela"])
def test_a_stand_in_serves_until_its_with_block_ends(installed: PluginHost, plugin: str) -> None:
    with _started(installed, plugin, {"someone": TEST_PASSWORD}) as standin:
        url = standin.url
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url, timeout=5).status_code < 500
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_the_host_routes_start_standin_to_the_named_plugin_only() -> None:
    host = build_manager(load_entry_points=False)
    host.register(FakeRemote("a"), "a")
    assert host.start_standin("a", {}) is None  # a plugin without a stand-in
    with pytest.raises(ConfigError, match="plugin 'nope' is not installed"):
        host.start_standin("nope", {})


@pytest.mark.parametrize("missing", ["cityworks", "arcgis"])
def test_the_demo_says_in_one_line_that_a_plugin_it_needs_is_missing(missing: str) -> None:
    from scf_plugins.cli.demo import run_demo

    lines: list[str] = []
    with pytest.raises(UserError) as refused:
        run_demo(build_manager(disabled={missing}), lines.append)
    assert str(refused.value) == (
        f"the demo needs the scf-{missing} plugin; run `make demo`, or "
        f"pip install -e plugins/{missing}"
    )
    assert lines == []
