"""The ArcGIS plugin: ``validate_address`` against a GeocodeServer.

With an address: ``findAddressCandidates`` (single line, ``outSR=4326``, biased to the reported
point). Without one: ``reverseGeocode`` of the point. The best candidate is accepted when its
score reaches ``min_score`` and its ``Addr_type`` is a point or street address (configurable),
and no other address ties with it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scf_plugins import (
    AddressCheck,
    DefiniteError,
    Geocoder,
    Issue,
    Option,
    Options,
    StandIn,
    hookimpl,
    resource_for,
)

if TYPE_CHECKING:
    import click

    from .client import GeocodeClient

DEFAULT_ALLOWED_TYPES = ("PointAddress", "StreetAddress", "Subaddress")
OPTIONS = Options(
    Option("allowed_types", "texts", DEFAULT_ALLOWED_TYPES, "the match types (Addr_type) "
           "accepted as a verified address",
           fix='use a list such as ["PointAddress", "StreetAddress"]'),
    Option("location_bias", "boolean", True, "bias the search to the reported point"),
    Option("reverse_distance", "number", 100.0, "metres around a point reverseGeocode looks",
           minimum=1, maximum=10000, fix="use metres from 1 to 10000"),
    Option("token_url", "text", "", "the generateToken URL of a secured service (default: "
           "the server's own)"),
    Option("max_locations", "integer", 5, "candidates asked for", minimum=1, maximum=100),
)  # fmt: skip


def client_for(geocoder: Geocoder) -> GeocodeClient:
    """The geocoder's client, kept by the host (``resource_for``): built once, rebuilt when
    the geocoder's settings change."""
    from .client import GeocodeClient  # requests is imported on first use, not at discovery

    return resource_for(geocoder, GeocodeClient)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _to_wgs84(x: float, y: float, wkid: int | None) -> tuple[float, float]:
    """A candidate location as (lng, lat), whatever SR the server answered in."""
    if wkid in (None, 4326):
        return x, y
    if wkid == 3857:
        lng = x * 180 / 20037508.342789244
        lat = math.degrees(2 * math.atan(math.exp(y / 6378137.0)) - math.pi / 2)
        return lng, lat
    from pyproj import Transformer

    lng, lat = Transformer.from_crs(f"EPSG:{wkid}", "EPSG:4326", always_xy=True).transform(x, y)
    return float(lng), float(lat)


def judge(
    candidates: list[dict[str, Any]], wkid: int | None, geocoder: Geocoder, query: str
) -> AddressCheck:
    """Pick the best candidate and decide whether it is good enough to send on."""
    usable = [
        c for c in candidates if isinstance(c, dict) and isinstance(c.get("score"), int | float)
    ]
    if not usable:
        return AddressCheck(query=query, accepted=False, reason="no candidates")
    usable.sort(key=lambda c: -float(c["score"]))
    best = usable[0]
    attributes = _dict(best.get("attributes"))
    address = str(best.get("address") or attributes.get("Match_addr") or "").strip() or None
    addr_type = attributes.get("Addr_type")
    score = float(best["score"])
    location = _dict(best.get("location"))
    lng = lat = None
    if isinstance(location.get("x"), int | float) and isinstance(location.get("y"), int | float):
        lng, lat = _to_wgs84(float(location["x"]), float(location["y"]), wkid)
    allowed = tuple(OPTIONS.value(geocoder, "allowed_types"))
    tied = [
        c
        for c in usable[1:]
        if float(c["score"]) == score and str(c.get("address") or "").strip() not in ("", address)
    ]
    reason = ""
    if score < geocoder.min_score:
        reason = f"score {score:g} is below {geocoder.min_score:g}"
    elif addr_type is not None and addr_type not in allowed:
        reason = f"match type {addr_type} is not one of {', '.join(allowed)}"
    elif tied or attributes.get("Status") == "T":
        reason = "several addresses match equally well"
    return AddressCheck(
        query=query,
        accepted=not reason,
        address=address,
        score=score,
        lat=lat,
        lng=lng,
        candidate_type=addr_type,
        reason=reason or "verified",
    )


def _find(geocoder: Geocoder, address: str, bias: tuple[float, float] | None) -> AddressCheck:
    from .client import wkid_of

    client = client_for(geocoder)
    params: dict[str, Any] = {
        client.single_line_field(): address,
        "outFields": "*",
        "outSR": 4326,
        "maxLocations": int(OPTIONS.value(geocoder, "max_locations")),
    }
    if bias is not None:
        lat, lng = bias
        params["location"] = json.dumps({"x": lng, "y": lat, "spatialReference": {"wkid": 4326}})
    body = client.call("findAddressCandidates", params)
    candidates = body.get("candidates")
    if not isinstance(candidates, list):
        raise DefiniteError(
            f"geocoder {geocoder.name}: findAddressCandidates sent no candidates list"
        )
    return judge(candidates, wkid_of(body.get("spatialReference")) or 4326, geocoder, address)


@hookimpl
def place_address(geocoder: Geocoder, address: str) -> AddressCheck | None:
    """``findAddressCandidates`` for an address alone (no point to bias the search)."""
    return _find(geocoder, address.strip(), None)


@hookimpl
def validate_address(geocoder: Geocoder, issue: Issue) -> AddressCheck | None:
    """Check the issue's address (or find one for its point) with the GeocodeServer."""
    from .client import NoMatch

    client = client_for(geocoder)
    if issue.address and issue.address.strip():
        bias = (issue.lat, issue.lng) if OPTIONS.value(geocoder, "location_bias") else None
        return _find(geocoder, issue.address.strip(), bias)
    query = f"{issue.lat:.6f},{issue.lng:.6f}"
    try:
        body = client.call(
            "reverseGeocode",
            {
                "location": f"{issue.lng},{issue.lat}",
                "outSR": 4326,
                "distance": float(OPTIONS.value(geocoder, "reverse_distance")),
            },
        )
    except NoMatch:
        return AddressCheck(query=query, accepted=False, reason="no address near the point")
    found = _dict(body.get("address"))
    address = str(found.get("Match_addr") or found.get("LongLabel") or found.get("Address") or "")
    addr_type = found.get("Addr_type")
    allowed = tuple(OPTIONS.value(geocoder, "allowed_types"))
    location = _dict(body.get("location"))
    lng, lat = location.get("x"), location.get("y")
    if not address.strip():
        return AddressCheck(query=query, accepted=False, reason="no address near the point")
    ok_type = addr_type is None or addr_type in allowed
    return AddressCheck(
        query=query,
        accepted=ok_type,
        address=address.strip(),
        score=None,
        lat=float(lat) if isinstance(lat, int | float) else None,
        lng=float(lng) if isinstance(lng, int | float) else None,
        candidate_type=addr_type,
        reason="nearest address"
        if ok_type
        else f"match type {addr_type} is not one of {', '.join(allowed)}",
    )


@hookimpl
def probe_geocoder(geocoder: Geocoder) -> str:
    """Read the service root: the locator's single-line field and spatial reference."""
    from .client import wkid_of

    client = client_for(geocoder)
    root = client.describe()
    wkid = wkid_of(root.get("spatialReference"))
    capabilities = root.get("capabilities") or "?"
    return (
        f"single-line field {client.single_line_field()!r}, spatial reference "
        f"{wkid or 'unknown'}, capabilities {capabilities}"
    )


@hookimpl
def plugin_options() -> Options:
    """``allowed_types``, ``location_bias``, ``reverse_distance``, ``token_url`` and
    ``max_locations``: the host checks them."""
    return OPTIONS


@hookimpl
def check_geocoder(geocoder: Geocoder) -> list[str]:
    """Nothing beyond the declared options, which the host checks."""
    return []


@hookimpl
def register_commands(cli: click.Group) -> None:
    """``scf emulator arcgis``: serve the fake GeocodeServer for trying a config."""
    from .commands import emulator_command

    group = cli.commands.get("emulator")
    if group is not None and hasattr(group, "add_command"):
        group.add_command(emulator_command, "arcgis")


@hookimpl
def start_standin(users: Mapping[str, str]) -> StandIn:
    """The fake GeocodeServer on a free loopback port (``scf demo``); with a login, it asks
    for a token as a secured locator does."""
    from .standin import GeocoderStandIn

    return GeocoderStandIn(users)
