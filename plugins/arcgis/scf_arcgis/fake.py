"""A small fake ArcGIS GeocodeServer, for tests and ``scf demo``.

It serves the service root, ``findAddressCandidates``, ``reverseGeocode`` and
``generateToken`` over loopback HTTP with the response shapes of Esri's own fixtures (see
the reference's verbatim examples), from a small address book.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scf_plugins.testing import StandInHTTPServer


@dataclass(frozen=True)
class Place:
    """One address the fake locator knows."""

    address: str
    lng: float
    lat: float
    addr_type: str = "PointAddress"
    aliases: tuple[str, ...] = ()


DEFAULT_PLACES = (
    Place("165 CHURCH ST, NEW HAVEN, CT, 06510", -72.9253, 41.3080, aliases=("165 church st",)),
    Place(
        "1 BROADWAY, NEW HAVEN, CT, 06511",
        -72.9321,
        41.3118,
        "StreetAddress",
        aliases=("1 broadway",),
    ),
    Place("ELM ST, NEW HAVEN, CT", -72.9279, 41.3083, "StreetName", aliases=("elm st",)),
)
SERVICE_ROOT = {
    "currentVersion": 10.81,
    "serviceDescription": "Composite locator (fake)",
    "addressFields": [{"name": "Address", "type": "esriFieldTypeString", "alias": "Address",
                       "required": False, "length": 100}],
    "singleLineAddressField": {"name": "Single Line Input", "type": "esriFieldTypeString",
                               "alias": "Full Address", "required": False, "length": 200},
    "candidateFields": [{"name": "Loc_name"}, {"name": "Score"}, {"name": "Match_addr"},
                        {"name": "Addr_type"}],
    "spatialReference": {"wkid": 102656, "latestWkid": 2234},
    "locatorProperties": {"MinimumCandidateScore": "60", "MinimumMatchScore": "85"},
    "capabilities": "Geocode,ReverseGeocode",
}  # fmt: skip


def _score(query: str, place: Place) -> float:
    q = " ".join(query.lower().replace(",", " ").split())
    names = [place.address.lower().replace(",", " "), *place.aliases]
    if any(q == " ".join(n.split()) for n in names):
        return 100.0
    if any(" ".join(n.split()).startswith(q) or q.startswith(" ".join(n.split())) for n in names):
        return 92.5
    words = set(q.split())
    best = max(len(words & set(" ".join(n.split()).split())) / max(1, len(words)) for n in names)
    return round(best * 80, 2)


@dataclass
class FakeLocator:
    """The locator's data and switches."""

    places: tuple[Place, ...] = DEFAULT_PLACES
    user: str | None = None
    password: str | None = None
    web_mercator: bool = False
    calls: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    fail_next: list[dict[str, Any]] = field(default_factory=list)

    def candidates(self, query: str) -> dict[str, Any]:
        """A ``findAddressCandidates`` answer, best first."""
        scored = sorted(((_score(query, p), p) for p in self.places), key=lambda sp: -sp[0])
        out = []
        for score, place in scored:
            if score < 60:
                continue
            x, y = place.lng, place.lat
            if self.web_mercator:
                x = x * 20037508.342789244 / 180
                y = math.log(math.tan((90 + y) * math.pi / 360)) * 6378137.0
            out.append(
                {
                    "address": place.address,
                    "location": {"x": x, "y": y},
                    "score": score,
                    "attributes": {
                        "Loc_name": "Composite",
                        "Status": "M",
                        "Score": score,
                        "Match_addr": place.address,
                        "Addr_type": place.addr_type,
                    },
                    "extent": None,
                }
            )
        sr = (
            {"wkid": 102100, "latestWkid": 3857}
            if self.web_mercator
            else {"wkid": 4326, "latestWkid": 4326}
        )
        return {"spatialReference": sr, "candidates": out}

    def reverse(self, lng: float, lat: float, distance: float) -> dict[str, Any]:
        """A ``reverseGeocode`` answer, or the ArcGIS 400 "Unable to find address" error."""

        def metres(p: Place) -> float:
            return math.hypot(
                (p.lng - lng) * 111_320 * math.cos(math.radians(lat)), (p.lat - lat) * 110_540
            )

        near = sorted(self.places, key=metres)
        if not near or metres(near[0]) > distance:
            return {
                "error": {
                    "code": 400,
                    "message": "Cannot perform query. Invalid query parameters.",
                    "details": ["Unable to find address for the specified location."],
                }
            }
        p = near[0]
        return {
            "address": {"Match_addr": p.address, "LongLabel": p.address, "Addr_type": p.addr_type},
            "location": {
                "x": p.lng,
                "y": p.lat,
                "spatialReference": {"wkid": 4326, "latestWkid": 4326},
            },
        }


class _Handler(BaseHTTPRequestHandler):
    server: FakeGeocodeServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes: without this, Nagle's algorithm and the
    # client's delayed ACK add 40 ms to every keep-alive call.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """Same as POST."""
        self._handle()

    def do_POST(self) -> None:
        """Answer one ArcGIS REST call."""
        self._handle()

    def _handle(self) -> None:
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length).decode()
            params.update({k: v[-1] for k, v in parse_qs(body).items()})
        locator = self.server.locator
        operation = split.path.rstrip("/").rsplit("/", 1)[-1]
        locator.calls.append(operation)
        if locator.fail_next:
            self._json(locator.fail_next.pop(0))
            return
        if operation == "generateToken":
            if (params.get("username"), params.get("password")) != (locator.user, locator.password):
                self._json(
                    {
                        "error": {
                            "code": 400,
                            "message": "Unable to generate token.",
                            "details": ["Invalid username or password."],
                        }
                    }
                )
                return
            token = secrets.token_hex(12)
            locator.tokens.add(token)
            self._json({"token": token, "expires": int((time.time() + 3600) * 1000), "ssl": False})
            return
        if locator.user and params.get("token") not in locator.tokens:
            code = 499 if not params.get("token") else 498
            self._json(
                {
                    "error": {
                        "code": code,
                        "message": "Invalid token." if code == 498 else "Token Required",
                        "details": [],
                    }
                }
            )
            return
        if operation == "GeocodeServer":
            self._json(SERVICE_ROOT)
        elif operation == "findAddressCandidates":
            query = params.get("Single Line Input") or params.get("SingleLine") or ""
            self._json(locator.candidates(query))
        elif operation == "reverseGeocode":
            x, y = (float(v) for v in params.get("location", "0,0").split(","))
            self._json(locator.reverse(x, y, float(params.get("distance", 100))))
        else:
            self._json({"error": {"code": 400, "message": "Invalid URL", "details": []}})

    def _json(self, data: dict[str, Any]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(200)  # ArcGIS answers 200 even for errors
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class FakeGeocodeServer(StandInHTTPServer):
    """``with FakeGeocodeServer() as gis: gis.url`` serves the fake on a free loopback port."""

    def __init__(
        self, locator: FakeLocator | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__((host, port), _Handler, name="arcgis-fake")
        self.locator = locator or FakeLocator()

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT/arcgis``."""
        return f"{super().root}/arcgis"

    @property
    def url(self) -> str:
        """The GeocodeServer URL a config names."""
        return f"{self.root}/rest/services/Locators/Composite/GeocodeServer"
