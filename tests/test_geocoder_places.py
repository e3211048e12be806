"""Places from a geocoder are checked like reported points: in range, finite, inside the
service area, and projectable; what fails "could not be placed" and is neither stored nor
sent (a 400 at the Open311 door, the geocoder's ``on_reject`` in the sync pass)."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from scf_arcgis import plugin as arcgis
from scf_arcgis.fake import FakeGeocodeServer, FakeLocator
from sqlalchemy import func, select

from scf_plugins import AddressCheck, Geocoder, Issue, TransientError, frozen_mapping, hookimpl
from scf_plugins.intake import places
from scf_plugins.intake.area import from_config
from scf_plugins.intake.reporting import Labels, point_problems
from scf_plugins.plugins import PluginHost, build_manager
from scf_plugins.store.tables import issues
from scf_plugins.testing import FakeRemote, Harness

from .served import SERVER, Door

AREA = from_config([-73.0, 41.2, -72.8, 41.4], Path("."))
CHURCH_ST = (41.3080, -72.9253)  # inside AREA
REPORTED = (41.3083, -72.9279)  # where the harness reports its issues
URL = "http://127.0.0.1:9/arcgis/rest/services/Locators/Composite/GeocodeServer"


def check_at(lat: Any, lng: Any, accepted: bool = True) -> AddressCheck:
    """What a geocoder plugin might answer."""
    return AddressCheck("165 Church St", accepted, "165 CHURCH ST", 100.0, lat, lng, "PointAddress")


def crs_error() -> Exception:
    """The error pyproj raises for a spatial reference it does not know."""
    from pyproj import Transformer

    try:
        Transformer.from_crs("EPSG:999999", "EPSG:4326", always_xy=True)
    except Exception as exc:  # pyproj.exceptions.CRSError
        return exc
    raise AssertionError("pyproj knows EPSG:999999")


# -- the one point check -----------------------------------------------------------------------


def test_a_reported_point_and_a_geocoders_go_through_one_check() -> None:
    cli = point_problems(999, 10, AREA)
    assert [p.text for p in cli] == ["--lat 999 is out of range; use a number from -90 to 90"]
    outside = point_problems(41.3, 72.9, AREA, Labels(lat="lat", lng="long"))
    assert outside[0].text.startswith("lat/long: the point 41.3, 72.9 is outside the service area")
    assert "check the minus signs" in outside[0].text
    assert point_problems(*CHURCH_ST, AREA) == [] and point_problems(89.9, -179.9, None) == []
    for bad in (math.nan, math.inf, -1e308, True, "41.3"):
        assert point_problems(bad, 0, None), bad  # type: ignore[arg-type]


@pytest.mark.parametrize(("lat", "lng", "said"), [
    (999.0, -72.9, "latitude 999.0 is out of range"),
    (-1e308, -72.9, "latitude -1e+308 is out of range"),
    (math.nan, -72.9, "latitude nan is out of range"),
    (41.3, math.inf, "longitude inf is out of range"),
    (41.3, None, "the geocoder answered no longitude"),
    (51.5, -0.12, "the point 51.5, -0.12 is outside the service area (box -73,41.2 to -72.8,41.4)"),
])  # fmt: skip
def test_a_place_that_cannot_be_right_is_rejected_without_its_coordinates(
    lat: Any, lng: Any, said: str
) -> None:
    got = places.checked(check_at(lat, lng), AREA)
    assert got is not None and not got.accepted and (got.lat, got.lng) == (None, None)
    assert got.reason.startswith("could not be placed: ") and said in got.reason
    assert got.address == "165 CHURCH ST"  # the candidate stays, for staff to see
    assert "\n" not in got.reason


def test_a_good_place_or_none_passes_unchanged() -> None:
    good = check_at(*CHURCH_ST)
    assert places.checked(good, AREA) is good
    bare = AddressCheck("1 Main St", True, "1 MAIN ST")  # an address, no point: nothing to check
    assert places.checked(bare, AREA) is bare and places.checked(None, AREA) is None
    far = check_at(51.5, -0.12)
    assert places.checked(far, None) is far  # no service area configured: only the ranges


def test_a_rejected_check_keeps_its_own_reason_too() -> None:
    low = dataclasses.replace(check_at(999, 0, accepted=False), reason="score 40 is below 85")
    got = places.checked(low, AREA)
    assert got is not None and got.reason.endswith("(and score 40 is below 85)")


@pytest.mark.parametrize(("raised", "said"), [
    (OverflowError("math range error"), "OverflowError: math range error"),
    (ZeroDivisionError("float division by zero"), "ZeroDivisionError"),
    (crs_error(), "CRSError: Invalid projection: EPSG:999999"),
])  # fmt: skip
def test_a_projection_failure_in_the_plugin_is_could_not_be_placed(
    raised: Exception, said: str
) -> None:
    def call() -> AddressCheck:
        raise raised

    got = places.ask(call, "165 Church St", AREA)
    assert got is not None and not got.accepted and got.query == "165 Church St"
    assert got.reason.startswith("could not be placed: the geocoder's answer cannot be projected")
    assert said in got.reason and len(got.reason) <= places.REASON_LIMIT


@pytest.mark.parametrize("raised", [TransientError("busy"), KeyError("x")])
def test_other_failures_are_left_to_the_caller(raised: Exception) -> None:
    def call() -> AddressCheck:
        raise raised

    with pytest.raises(type(raised)):
        places.ask(call, "q", AREA)


# -- the ArcGIS plugin answering nonsense (requests-mock) ------------------------------------

ROOT = {"singleLineAddressField": {"name": "SingleLine"}, "spatialReference": {"wkid": 4326}}
HOSTILE = {
    "latitude 999": ({"x": -72.9, "y": 999}, {"wkid": 4326}, "latitude 999.0 is out of range"),
    "latitude -1e308": ({"x": -72.9, "y": -1e308}, {"wkid": 4326}, "latitude -1e+308"),
    "longitude 1e308": ({"x": 1e308, "y": 41.3}, {"wkid": 4326}, "longitude 1e+308"),
    "mercator overflow": ({"x": 0, "y": 1e308}, {"wkid": 102100}, "OverflowError"),
    "mercator far east": ({"x": 1e308, "y": 0}, {"latestWkid": 3857}, "longitude"),
    "unknown wkid": ({"x": 1, "y": 2}, {"wkid": 999999}, "CRSError"),
    "huge wkid": ({"x": 1, "y": 2}, {"wkid": 10**30}, "CRSError"),
    "outside the area": ({"x": -0.12, "y": 51.5}, {"wkid": 4326}, "outside the service area"),
}


def arcgis_host() -> PluginHost:
    host = build_manager(load_entry_points=False)
    host.register(arcgis, "arcgis")
    return host


def geocoder(url: str = URL) -> Geocoder:
    return Geocoder(name="county_gis", plugin="arcgis", url=url, min_score=85.0,
                    timeout_seconds=5.0, options=frozen_mapping({}))  # fmt: skip


def candidates(location: dict[str, Any], sr: dict[str, Any]) -> dict[str, Any]:
    return {"spatialReference": sr, "candidates": [{
        "address": "165 CHURCH ST, NEW HAVEN, CT, 06510", "location": location, "score": 100,
        "attributes": {"Addr_type": "PointAddress", "Status": "M"}}]}  # fmt: skip


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("hook", ["place_address", "validate_address"])
def test_arcgis_answers_that_cannot_be_placed(requests_mock: Any, case: str, hook: str) -> None:
    location, sr, said = HOSTILE[case]
    requests_mock.post(URL, json=ROOT)
    requests_mock.post(f"{URL}/findAddressCandidates", json=candidates(location, sr))
    host, gis = arcgis_host(), geocoder()
    issue = Issue(3, "POTHOLE", "Hole", *REPORTED, address="165 Church St")
    call = (
        functools.partial(host.place_address, gis, "165 Church St")
        if hook == "place_address"
        else functools.partial(host.validate_address, gis, issue)
    )
    got = places.ask(call, places.query_of(issue), AREA)
    assert got is not None and not got.accepted and (got.lat, got.lng) == (None, None)
    assert got.reason.startswith("could not be placed") and said in got.reason, got.reason


def test_arcgis_answering_a_good_place_is_accepted(requests_mock: Any) -> None:
    requests_mock.post(URL, json=ROOT)
    body = candidates({"x": CHURCH_ST[1], "y": CHURCH_ST[0]}, {"wkid": 4326})
    requests_mock.post(f"{URL}/findAddressCandidates", json=body)
    got = places.ask(functools.partial(arcgis_host().place_address, geocoder(), "165 Church St"),
                     "165 Church St", AREA)  # fmt: skip
    assert got is not None and got.accepted and (got.lat, got.lng) == CHURCH_ST


# -- stand-ins that answer nonsense -----------------------------------------------------------


@dataclass
class HostileLocator(FakeLocator):
    """The fake GeocodeServer, its candidates moved to ``location`` in ``spatial_reference``."""

    location: dict[str, Any] = field(default_factory=dict)
    spatial_reference: dict[str, Any] = field(default_factory=dict)

    def candidates(self, query: str) -> dict[str, Any]:
        """The fake's answer, then its places replaced."""
        body = super().candidates(query)
        for candidate in body["candidates"]:
            candidate["location"] = dict(self.location)
        body["spatialReference"] = dict(self.spatial_reference)
        return body


class OddGeocoder:
    """A geocoder plugin whose every answer is ``answer`` (raised when an exception)."""

    def __init__(self, answer: AddressCheck | Exception) -> None:
        self.answer = answer
        self.calls = 0

    def _give(self) -> AddressCheck:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    @hookimpl
    def place_address(self, geocoder: Any, address: str) -> AddressCheck | None:
        """The answer, whatever was asked."""
        return self._give()

    @hookimpl
    def validate_address(self, geocoder: Any, issue: Any) -> AddressCheck | None:
        """The answer, whatever was asked."""
        return self._give()


BASIC = """
[organization]
name = "City of Testville"
service_area = [-73.0, 41.2, -72.8, 41.4]

[integrations.alpha]
plugin = "fake-a"
environment = "test"
request_types = ["*"]
address_validation = "city"

[integrations.alpha.test]
url = "http://127.0.0.1:9/Cityworks/Services/AMS"
user = "scf-int"

[geocoders.city]
plugin = "{plugin}"
url = "{url}"
on_reject = "{on_reject}"
"""
FIELDS = {"service_code": "POTHOLE", "description": "Deep pothole", "attribute[1]": "No",
          "attribute[2]": "r@example.org", "address_string": "165 Church St"}  # fmt: skip


def stored_count(door: Door) -> int:
    with door.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(issues)).scalar() or 0)


@pytest.fixture
def odd_door(
    harness: Callable[..., Harness],
) -> Callable[[AddressCheck | Exception], tuple[Door, OddGeocoder]]:
    """Serve the door with a geocoder plugin answering what the test says."""

    def make(answer: AddressCheck | Exception) -> tuple[Door, OddGeocoder]:
        host = build_manager(load_entry_points=False)
        host.register(FakeRemote("fake-a"), "fake-a")
        odd = OddGeocoder(answer)
        host.register(odd, "odd-geo")
        text = BASIC.format(plugin="odd-geo", url="http://127.0.0.1:9/g", on_reject="submit")
        return harness(text + SERVER.format(rpm=600), host=host).serve(), odd

    return make


# -- at the Open311 door: a 400 with one line, nothing stored --------------------------------


@pytest.mark.parametrize(("answer", "said"), [
    (check_at(999.0, -72.9), "latitude 999.0 is out of range"),
    (check_at(-1e308, -72.9), "latitude -1e+308 is out of range"),
    (check_at(math.nan, -72.9), "latitude nan is out of range"),
    (check_at(51.5, -0.12), "outside the service area"),
    (crs_error(), "CRSError"),
    (OverflowError("math range error"), "OverflowError"),
])  # fmt: skip
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_door_refuses_a_place_that_cannot_be_right(
    odd_door: Callable[..., tuple[Door, OddGeocoder]], answer: Any, said: str, fmt: str
) -> None:
    door, odd = odd_door(answer)
    response = door.post(fmt, **FIELDS)
    assert response.status_code == 400, response.text
    text = response.text if fmt == "xml" else response.json()[0]["description"]
    assert "address_string '165 Church St' could not be placed" in text and said in text
    assert "send lat and long (WGS84) with it" in text
    if fmt == "json":
        assert len(response.json()) == 1 and "\n" not in text
    assert odd.calls == 1 and stored_count(door) == 0


def test_the_door_stores_a_good_place(odd_door: Callable[..., tuple[Door, OddGeocoder]]) -> None:
    door, _ = odd_door(check_at(*CHURCH_ST))
    response = door.post("json", **FIELDS)
    assert response.status_code == 200, response.text
    record = door.store.get(int(response.json()[0]["service_request_id"]))
    assert record is not None and (record.issue.lat, record.issue.lng) == CHURCH_ST


@pytest.mark.parametrize("case", ["latitude 999", "mercator overflow", "unknown wkid"])
def test_the_door_with_arcgis_over_loopback(harness: Callable[..., Harness], case: str) -> None:
    location, sr, said = HOSTILE[case]
    with FakeGeocodeServer(HostileLocator(location=location, spatial_reference=sr)) as gis:
        host = build_manager(load_entry_points=False)
        host.register(FakeRemote("fake-a"), "fake-a")
        host.register(arcgis, "arcgis")
        text = BASIC.format(plugin="arcgis", url=gis.url, on_reject="submit")
        door = harness(text + SERVER.format(rpm=600), host=host).serve()
        response = requests.post(f"{door.url}/open311/v2/requests.json",
                                 data={"api_key": door.key, **FIELDS}, timeout=10)  # fmt: skip
        assert response.status_code == 400, response.text
        [error] = response.json()
        assert "could not be placed" in error["description"] and said in error["description"]
        assert "findAddressCandidates" in gis.locator.calls and stored_count(door) == 0


# -- in the sync pass: on_reject decides, the geocoder's place is never kept -----------------

GEOCODER = """
[geocoders.county_gis]
plugin = "arcgis"
url = "{url}"
min_score = 85
on_reject = "{on_reject}"
"""


@pytest.fixture
def hostile_gis() -> Iterator[Callable[[str], FakeGeocodeServer]]:
    started: list[FakeGeocodeServer] = []

    def start(case: str) -> FakeGeocodeServer:
        location, sr, _ = HOSTILE[case]
        server = FakeGeocodeServer(HostileLocator(location=location, spatial_reference=sr))
        started.append(server.__enter__())
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


def mercator(lat: float, lng: float) -> tuple[float, float]:
    x = lng * 20037508.342789244 / 180
    y = math.log(math.tan((90 + lat) * math.pi / 360)) * 6378137.0
    return x, y


@pytest.mark.parametrize("case", ["latitude 999", "latitude -1e308", "mercator overflow",
                                  "unknown wkid", "outside the area"])  # fmt: skip
def test_on_reject_submit_sends_the_reported_point_and_notes_why(
    world: Any, hostile_gis: Callable[[str], FakeGeocodeServer], case: str
) -> None:
    gis = hostile_gis(case)
    area = 'service_area = [-73.0, 41.2, -72.8, 41.4]\nname = "City of Testville"'
    w = world(extra='address_validation = "county_gis"',
              tail=GEOCODER.format(url=gis.url, on_reject="submit"))  # fmt: skip
    text = w.path.read_text().replace('name = "City of Testville"', area, 1)
    w.write_config(text)
    issue_id = w.report(address="165 church st")
    report = w.sync()
    assert (report.acknowledged, report.errors) == (1, 0)
    shown = w.show(issue_id)
    check = shown["address_check"]
    assert not check["accepted"] and (check["lat"], check["lng"]) == (None, None)
    assert check["reason"].startswith("could not be placed") and HOSTILE[case][2] in check[
        "reason"
    ]  # fmt: skip
    assert (shown["lat"], shown["lng"]) == REPORTED
    remote = w.emulator.state.requests[int(shown["remote_id"])]
    assert remote["ProbAddress"] == "165 church st"  # the reported address, not the candidate
    assert (remote["SRX"], remote["SRY"]) == pytest.approx(mercator(*REPORTED), abs=0.01)
    output = w.cli("issues", "show", str(issue_id)).output
    assert "address check NOT accepted" in output and "could not be placed" in output


@pytest.mark.parametrize("case", ["latitude 999", "unknown wkid"])
def test_on_reject_hold_holds_the_issue_with_the_reason(
    world: Any, hostile_gis: Callable[[str], FakeGeocodeServer], case: str
) -> None:
    gis = hostile_gis(case)
    w = world(extra='address_validation = "county_gis"',
              tail=GEOCODER.format(url=gis.url, on_reject="hold"))  # fmt: skip
    issue_id = w.report(address="165 church st")
    report = w.sync()
    assert (report.acknowledged, report.held, report.errors) == (0, 1, 0)
    shown = w.show(issue_id)
    assert shown["status"] == "open" and shown["sync"]["held"]
    assert "could not be placed" in shown["sync"]["last_error"]
    assert HOSTILE[case][2] in shown["sync"]["last_error"]
    assert shown["address_check"]["lat"] is None and not w.emulator.state.requests
    w.later(days=30)
    assert w.sync().acknowledged == 0 and not w.emulator.state.requests


def test_a_plugin_answering_nan_in_the_pass_is_not_kept(harness: Callable[..., Harness]) -> None:
    host = build_manager(load_entry_points=False)
    remote = FakeRemote("fake-a")
    host.register(remote, "fake-a")
    host.register(OddGeocoder(check_at(math.nan, math.nan)), "odd-geo")
    h = harness(BASIC.format(plugin="odd-geo", url="http://127.0.0.1:9/g", on_reject="submit"),
                host=host)  # fmt: skip
    issue_id = h.report("POTHOLE", "1=No", "2=r@example.org", address="165 Church St")
    assert h.sync().acknowledged == 1
    check = h.show(issue_id)["address_check"]
    assert not check["accepted"] and check["lat"] is None and "nan" in check["reason"]
    raw = h.store().get(issue_id)
    assert raw is not None and raw.issue.address_check is not None
    assert json.dumps(check).count("NaN") == 0


def test_a_service_area_is_in_degrees_or_refused(tmp_path: Path) -> None:
    # State plane feet: a city's own GIS export, saved without reprojecting.
    feet = [[[950000, 650000], [990000, 650000], [990000, 690000], [950000, 650000]]]
    (tmp_path / "city.geojson").write_text(json.dumps({"type": "Polygon", "coordinates": feet}))
    with pytest.raises(ValueError, match="950000, 650000, which is not longitude, latitude"):
        from_config("city.geojson", tmp_path)
    for box in ([math.nan, 41.2, -72.8, 41.4], [-73.0, 41.2, math.inf, 41.4]):
        with pytest.raises(ValueError, match="min_lng, min_lat, max_lng, max_lat"):
            from_config(box, tmp_path)
