"""validate_address against the reference's verbatim responses (requests-mock) and the fake."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

import pytest
from scf_arcgis import plugin
from scf_arcgis.client import token_url, wkid_of
from scf_arcgis.fake import FakeGeocodeServer, FakeLocator

from scf_plugins import DefiniteError, Secret, TransientError

URL = "http://127.0.0.1:9/arcgis/rest/services/Locators/Composite/GeocodeServer"
ROOT = {"singleLineAddressField": {"name": "SingleLine"},
        "spatialReference": {"wkid": 102656, "latestWkid": 2234}}  # fmt: skip
# Verbatim WGS84 candidate (Esri arcgis-rest-js fixture; reference §1.3).
LAX_WGS84 = {"spatialReference": {"wkid": 4326, "latestWkid": 4326},
             "candidates": [{"address": "LAX", "location": {"x": -118.40896999999995,
                                                           "y": 33.942510000000027},
                             "score": 100, "attributes": {},
                             "extent": {"xmin": -118.43396999999996, "ymin": 33.917510000000028,
                                        "xmax": -118.38396999999995, "ymax": 33.967510000000026}}]}  # fmt: skip
# Verbatim Web Mercator candidate (asked outSR=3857, answered wkid 102100 / latestWkid 3857).
LAX_MERCATOR = {"spatialReference": {"wkid": 102100, "latestWkid": 3857},
                "candidates": [{"address": "LAX", "location": {"x": -13181226.245756002,
                                                              "y": 4021085.133528708},
                                "score": 100, "attributes": {},
                                "extent": {"xmin": -13184009.233025834, "ymin": 4017731.0054129288,
                                           "xmax": -13178443.25848617, "ymax": 4024440.2468070528}}]}  # fmt: skip
# Verbatim World-geocoder candidate with outFields=* (trimmed as in the reference).
DATASTREAM = {"spatialReference": {"wkid": 102100, "latestWkid": 3857},
              "candidates": [{"address": "50 Datastream Plz, Greenville, South Carolina, 29605",
                              "location": {"x": -9173569.049505163, "y": 4135405.7745092344},
                              "score": 100,
                              "attributes": {"Loc_name": "World", "Status": "M", "Score": 100,
                                             "Match_addr": "50 Datastream Plz, Greenville, South Carolina, 29605",
                                             "Addr_type": "StreetAddress", "City": "Greenville",
                                             "X": -82.407572870962795, "Y": 34.790194008903825}}]}  # fmt: skip
REVERSE_MISS = {"error": {"code": 400, "message": "Cannot perform query. Invalid query parameters.",
                          "details": ["Unable to find address for the specified location."]}}  # fmt: skip
# Verbatim reverseGeocode answer (Esri fixture).
REVERSE_LAX = {"address": {"Match_addr": "LA Airport", "LongLabel": "LA Airport, Los Angeles, CA, USA",
                           "ShortLabel": "LA Airport", "Addr_type": "POI", "City": "Los Angeles"},
               "location": {"x": -118.40896999999995, "y": 33.942510000000027,
                            "spatialReference": {"wkid": 4326, "latestWkid": 4326}}}  # fmt: skip


def sent(request) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: v[0] for k, v in parse_qs(request.text).items()}


def test_wgs84_candidate_without_addr_type_is_judged_on_score(
    requests_mock, make_geocoder, issue
) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(URL, json=ROOT)
    requests_mock.post(f"{URL}/findAddressCandidates", json=LAX_WGS84)
    check = plugin.validate_address(geocoder=make_geocoder(), issue=issue(address="LAX"))
    assert check is not None and check.accepted and check.address == "LAX" and check.score == 100
    assert (check.lng, check.lat) == pytest.approx((-118.40897, 33.94251))
    params = sent(requests_mock.request_history[1])
    assert params["SingleLine"] == "LAX" and params["outSR"] == "4326"
    assert params["outFields"] == "*" and params["f"] == "json"
    assert json.loads(params["location"]) == {
        "x": -72.9252,
        "y": 41.3081,
        "spatialReference": {"wkid": 4326},
    }


def test_web_mercator_candidates_are_read_with_latest_wkid(
    requests_mock, make_geocoder, issue
) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(URL, json={"singleLineAddressField": {"name": "Single Line Input"}})
    requests_mock.post(f"{URL}/findAddressCandidates", json=LAX_MERCATOR)
    check = plugin.validate_address(geocoder=make_geocoder(), issue=issue(address="LAX"))
    assert (check.lng, check.lat) == pytest.approx((-118.40897, 33.94251), abs=1e-6)  # type: ignore[union-attr]
    assert "Single Line Input" in sent(requests_mock.request_history[1])


def test_place_address_searches_without_a_point_to_bias_it(requests_mock, make_geocoder) -> None:  # type: ignore[no-untyped-def]
    """An Open311 report with only an address_string: the candidate places it."""
    requests_mock.post(URL, json=ROOT)
    requests_mock.post(f"{URL}/findAddressCandidates", json=LAX_WGS84)
    check = plugin.place_address(geocoder=make_geocoder(), address=" LAX ")
    assert check is not None and check.accepted
    assert (check.lng, check.lat) == pytest.approx((-118.40897, 33.94251))
    params = sent(requests_mock.request_history[1])
    assert params["SingleLine"] == "LAX" and "location" not in params
    requests_mock.post(f"{URL}/findAddressCandidates", json={"candidates": []})
    missed = plugin.place_address(geocoder=make_geocoder(), address="Nowhere")
    assert missed is not None and not missed.accepted and missed.reason == "no candidates"


def test_wkid_rules() -> None:
    assert wkid_of({"wkid": 102100, "latestWkid": 3857}) == 3857
    assert wkid_of({"wkid": 102100}) == 3857
    assert wkid_of({"wkid": 2234}) == 2234
    assert wkid_of(None) is None


@pytest.mark.parametrize(("score", "addr_type", "min_score", "accepted", "reason"), [
    (100, "StreetAddress", 85, True, "verified"),
    (86, "PointAddress", 85, True, "verified"),
    (84.9, "PointAddress", 85, False, "score 84.9 is below 85"),
    (100, "StreetName", 85, False, "match type StreetName is not one of"),
    (100, "Locality", 85, False, "match type Locality"),
    (95, "StreetAddress", 96, False, "below 96"),
])  # fmt: skip
def test_threshold_and_addr_type_rules(
    requests_mock, make_geocoder, issue, score, addr_type, min_score, accepted, reason
) -> None:  # type: ignore[no-untyped-def]
    body = json.loads(json.dumps(DATASTREAM))
    body["candidates"][0].update(score=score)
    body["candidates"][0]["attributes"]["Addr_type"] = addr_type
    requests_mock.post(URL, json=ROOT)
    requests_mock.post(f"{URL}/findAddressCandidates", json=body)
    check = plugin.validate_address(geocoder=make_geocoder(min_score=min_score), issue=issue())
    assert check.accepted is accepted and reason in check.reason  # type: ignore[union-attr]
    assert check.candidate_type == addr_type  # type: ignore[union-attr]


def test_allowed_types_are_configurable_and_ties_rejected(
    requests_mock, make_geocoder, issue
) -> None:  # type: ignore[no-untyped-def]
    body = json.loads(json.dumps(DATASTREAM))
    body["candidates"][0]["attributes"]["Addr_type"] = "StreetName"
    requests_mock.post(URL, json=ROOT)
    requests_mock.post(f"{URL}/findAddressCandidates", json=body)
    geocoder = make_geocoder(options={"allowed_types": ["StreetName"]})
    assert plugin.validate_address(geocoder=geocoder, issue=issue()).accepted  # type: ignore[union-attr]
    tie = json.loads(json.dumps(DATASTREAM))
    tie["candidates"].append({**tie["candidates"][0], "address": "50 Datastream Ct, Elsewhere"})
    requests_mock.post(f"{URL}/findAddressCandidates", json=tie)
    check = plugin.validate_address(geocoder=make_geocoder(name="other"), issue=issue())
    assert not check.accepted and "equally well" in check.reason  # type: ignore[union-attr]


def test_no_candidates_is_a_rejection_not_an_error(requests_mock, make_geocoder, issue) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(URL, json=ROOT)
    requests_mock.post(f"{URL}/findAddressCandidates", json={"candidates": []})
    check = plugin.validate_address(geocoder=make_geocoder(), issue=issue())
    assert not check.accepted and check.reason == "no candidates"  # type: ignore[union-attr]


def test_reverse_geocode_without_an_address(requests_mock, make_geocoder, issue) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(f"{URL}/reverseGeocode", [{"json": REVERSE_LAX}, {"json": REVERSE_MISS}])
    geocoder = make_geocoder(options={"allowed_types": ["POI", "PointAddress"]})
    check = plugin.validate_address(geocoder=geocoder, issue=issue(address=None))
    assert check.accepted and check.address == "LA Airport" and check.score is None  # type: ignore[union-attr]
    assert sent(requests_mock.request_history[0])["location"] == "-72.9252,41.3081"
    miss = plugin.validate_address(geocoder=geocoder, issue=issue(address=None))
    assert not miss.accepted and miss.reason == "no address near the point"  # type: ignore[union-attr]


@pytest.mark.parametrize(("body", "kind", "words"), [
    ({"error": {"code": 400, "messageCode": "GWM_0007", "message": "Invalid request",
                "details": []}}, DefiniteError, "refused (400 Invalid request)"),
    ({"error": {"code": 500, "message": "Internal", "details": []}}, TransientError, "failed (500"),
])  # fmt: skip
def test_error_envelopes_in_http_200(
    requests_mock, make_geocoder, issue, body, kind, words
) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(URL, json=ROOT)
    requests_mock.post(f"{URL}/findAddressCandidates", json=body)
    with pytest.raises(kind, match=re.escape(words)):
        plugin.validate_address(geocoder=make_geocoder(), issue=issue())


def test_an_unreachable_geocoder_is_transient(requests_mock, make_geocoder, issue) -> None:  # type: ignore[no-untyped-def]
    import requests

    requests_mock.post(URL, exc=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(TransientError, match="cannot reach geocoder"):
        plugin.validate_address(geocoder=make_geocoder(), issue=issue())


def test_tokens_generated_reused_and_renewed_once(requests_mock, make_geocoder, issue) -> None:  # type: ignore[no-untyped-def]
    tokens = "http://127.0.0.1:9/arcgis/tokens/generateToken"
    assert token_url(URL) == tokens
    requests_mock.post(
        tokens,
        [
            {"json": {"token": "tok-one-1234", "expires": 9999999999999}},
            {"json": {"token": "tok-two-5678", "expires": 9999999999999}},
        ],
    )
    requests_mock.post(URL, json=ROOT)
    requests_mock.post(
        f"{URL}/findAddressCandidates",
        [
            {"json": DATASTREAM},
            {"json": {"error": {"code": 498, "message": "Invalid Token", "details": []}}},
            {"json": DATASTREAM},
        ],
    )
    geocoder = make_geocoder(user="gis-svc", password=Secret("gis-pass-99"))
    plugin.validate_address(geocoder=geocoder, issue=issue())
    plugin.validate_address(geocoder=geocoder, issue=issue())
    history = [(r.path, sent(r).get("token")) for r in requests_mock.request_history]
    assert history == [
        ("/arcgis/tokens/generatetoken", None),
        ("/arcgis/rest/services/locators/composite/geocodeserver", "tok-one-1234"),
        (
            "/arcgis/rest/services/locators/composite/geocodeserver/findaddresscandidates",
            "tok-one-1234",
        ),
        (
            "/arcgis/rest/services/locators/composite/geocodeserver/findaddresscandidates",
            "tok-one-1234",
        ),
        ("/arcgis/tokens/generatetoken", None),
        (
            "/arcgis/rest/services/locators/composite/geocodeserver/findaddresscandidates",
            "tok-two-5678",
        ),
    ]
    login = sent(requests_mock.request_history[0])
    assert login["client"] == "requestip" and login["username"] == "gis-svc"


def test_a_token_refused_twice_is_definite(requests_mock, make_geocoder, issue) -> None:  # type: ignore[no-untyped-def]
    requests_mock.post(
        "http://127.0.0.1:9/arcgis/tokens/generateToken",
        json={"token": "tok-abc-123", "expires": 9999999999999},
    )
    requests_mock.post(
        URL, json={"error": {"code": 499, "message": "Token Required", "details": []}}
    )
    with pytest.raises(DefiniteError, match=r"refused access \(499\)"):
        plugin.validate_address(
            geocoder=make_geocoder(user="u", password=Secret("p-12345")), issue=issue()
        )


def test_against_the_fake_server(make_geocoder, issue) -> None:  # type: ignore[no-untyped-def]
    with FakeGeocodeServer(FakeLocator(user="gis", password="gis-pw-1")) as gis:
        geocoder = make_geocoder(url=gis.url, user="gis", password=Secret("gis-pw-1"))
        check = plugin.validate_address(geocoder=geocoder, issue=issue(address="165 Church St"))
        assert check.accepted and check.address == "165 CHURCH ST, NEW HAVEN, CT, 06510"  # type: ignore[union-attr]
        assert check.score == 100 and check.candidate_type == "PointAddress"  # type: ignore[union-attr]
        street = plugin.validate_address(geocoder=geocoder, issue=issue(address="Elm St"))
        assert not street.accepted and "StreetName" in street.reason  # type: ignore[union-attr]
        summary = plugin.probe_geocoder(geocoder=geocoder)
        assert "'Single Line Input'" in summary and "2234" in summary
        assert gis.locator.calls.count("generateToken") == 1


def test_check_geocoder_options(make_geocoder) -> None:  # type: ignore[no-untyped-def]
    # Through the host, which checks the options the plugin declares.
    from scf_plugins.testing import build_manager

    host = build_manager(load_entry_points=False)
    host.register(plugin, "arcgis")
    assert host.check_geocoder(make_geocoder()) == []
    problems = host.check_geocoder(
        make_geocoder(
            options={"colour": 1, "allowed_types": "PointAddress", "reverse_distance": -5}
        )
    )
    assert [p.split(":")[0] for p in problems] == ["colour", "allowed_types", "reverse_distance"]
