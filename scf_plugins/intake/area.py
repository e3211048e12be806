"""The organization's service area: where a report's point may be.

``[organization] service_area`` is a bounding box ``[min_lng, min_lat, max_lng, max_lat]``
(GeoJSON's order), or the path of a GeoJSON file holding a Polygon or MultiPolygon (bare, in
a Feature, or in a FeatureCollection; holes are honoured). A point outside is refused at
intake with one line that names the likely mistake: latitude and longitude swapped, a sign
lost, or 0,0.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Ring = tuple[tuple[float, float], ...]  # (lng, lat) points, closed or not
MAX_FILE = 20 * 1024 * 1024
MAX_POINTS = 1_000_000


@dataclass(frozen=True)
class ServiceArea:
    """Polygons (each an outer ring and its holes) in WGS84 longitude/latitude."""

    polygons: tuple[tuple[Ring, ...], ...]
    source: str

    def contains(self, lat: float, lng: float) -> bool:
        """Whether the point is inside (or on the edge of) the area."""
        return any(
            _inside(lng, lat, rings[0]) and not any(_inside(lng, lat, h) for h in rings[1:])
            for rings in self.polygons
        )

    def problem(self, lat: float, lng: float) -> str | None:
        """Why the point cannot be right, or None when it is inside."""
        if self.contains(lat, lng):
            return None
        hint = ""
        if lat == 0 and lng == 0:
            hint = " (0,0 is what a form sends when it has no location)"
        elif self.contains(lng, lat):
            hint = " (with latitude and longitude swapped it would be inside: swap them)"
        elif self.contains(-lat, lng) or self.contains(lat, -lng):
            hint = " (with a sign changed it would be inside: check the minus signs)"
        return f"the point {lat:g}, {lng:g} is outside the service area ({self.source}){hint}"


def from_config(value: Any, base: Path) -> ServiceArea:
    """A service area from the config's value (a box list, or a GeoJSON path relative to
    the config's folder).

    :raises ValueError: with one line saying what is wrong.
    """
    if isinstance(value, list):
        if len(value) != 4 or not all(isinstance(v, int | float) for v in value):
            raise ValueError("use [min_lng, min_lat, max_lng, max_lat] (four numbers)")
        west, south, east, north = (float(v) for v in value)
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise ValueError(
                "the box is not [min_lng, min_lat, max_lng, max_lat] with min < max "
                "(longitude first, as in GeoJSON)"
            )
        ring = ((west, south), (east, south), (east, north), (west, north))
        return ServiceArea(((ring,),), f"box {west:g},{south:g} to {east:g},{north:g}")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("use a box [min_lng, min_lat, max_lng, max_lat] or a GeoJSON file path")
    path = (base / value).expanduser()
    try:
        if path.stat().st_size > MAX_FILE:
            raise ValueError(f"{path} is larger than {MAX_FILE // 1024 // 1024} MB")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path} ({exc.strerror or exc})") from None
    except (UnicodeError, json.JSONDecodeError, RecursionError):
        raise ValueError(f"{path} is not a GeoJSON (UTF-8 JSON) file") from None
    polygons = _polygons(data)
    if not polygons:
        raise ValueError(f"{path} holds no Polygon or MultiPolygon")
    if sum(len(r) for p in polygons for r in p) > MAX_POINTS:
        raise ValueError(f"{path} has more than {MAX_POINTS:,} points; simplify it")
    for lng, lat in (point for p in polygons for r in p for point in r):
        # A file saved in a projected system (state plane feet, Web Mercator metres) has
        # coordinates far outside degrees: no point would ever be inside it.
        if not (math.isfinite(lng) and math.isfinite(lat) and -180 <= lng <= 180
                and -90 <= lat <= 90):  # fmt: skip
            raise ValueError(
                f"{path} has the position {lng:g}, {lat:g}, which is not longitude, latitude "
                f"in degrees; save it as GeoJSON in WGS84 (EPSG:4326)"
            )
    return ServiceArea(tuple(polygons), path.name)


def _polygons(data: Any) -> list[tuple[Ring, ...]]:
    if not isinstance(data, dict):
        return []
    kind = data.get("type")
    if kind == "FeatureCollection":
        features = data.get("features")
        return [p for f in features if isinstance(f, dict) for p in _polygons(f)] if isinstance(
            features, list
        ) else []  # fmt: skip
    if kind == "Feature":
        return _polygons(data.get("geometry"))
    coordinates = data.get("coordinates")
    if kind == "Polygon":
        polygon = _polygon(coordinates)
        return [polygon] if polygon else []
    if kind == "MultiPolygon" and isinstance(coordinates, list):
        return [p for p in (_polygon(c) for c in coordinates) if p]
    return []


def _polygon(rings: Any) -> tuple[Ring, ...] | None:
    if not isinstance(rings, list) or not rings:
        return None
    out = []
    for ring in rings:
        if not isinstance(ring, list):
            return None
        points = tuple(
            (float(p[0]), float(p[1]))
            for p in ring
            if isinstance(p, list)
            and len(p) >= 2
            and all(isinstance(v, int | float) for v in p[:2])
        )
        if len(points) < 3:
            return None
        out.append(points)
    return tuple(out)


def _inside(x: float, y: float, ring: Ring) -> bool:
    """Ray casting; a point on an edge counts as inside."""
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        if _on_segment(x, y, x1, y1, x2, y2):
            return True
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def _on_segment(x: float, y: float, x1: float, y1: float, x2: float, y2: float) -> bool:
    cross = (x - x1) * (y2 - y1) - (y - y1) * (x2 - x1)
    if abs(cross) > 1e-12:
        return False
    return min(x1, x2) - 1e-12 <= x <= max(x1, x2) + 1e-12 and (
        min(y1, y2) - 1e-12 <= y <= max(y1, y2) + 1e-12
    )
