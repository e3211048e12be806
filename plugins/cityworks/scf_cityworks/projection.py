"""WGS84 lon/lat -> the remote SRID, with pyproj, built once per integration.

pyproj is imported only when a projection is first needed: it is the heaviest import of the
plugin, and ``scf --help`` should not pay for it.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from scf_plugins import ConfigError, DefiniteError

# Esri's Web Mercator ids; PROJ knows 102100 only as ESRI:102100, which is the same CRS.
WEB_MERCATOR_ALIASES = {102100, 102113, 900913}

_lock = threading.Lock()
created = 0  # how many Transformers were built (tests assert reuse)


def resolve_crs(srid: int) -> Any:
    """The pyproj CRS of ``srid``: EPSG first, then ESRI (for codes EPSG lacks)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if srid in WEB_MERCATOR_ALIASES:
        srid = 3857
    for authority in ("EPSG", "ESRI"):
        try:
            return CRS.from_user_input(f"{authority}:{srid}")
        except CRSError:
            continue
    raise ConfigError(
        f"srid {srid} is neither an EPSG nor an ESRI code PROJ knows; "
        f"check the site's spatial reference (Preferences/User)"
    )


class Projector:
    """Projects WGS84 lon/lat to one SRID; refuses points outside the SRID's area of use."""

    def __init__(self, srid: int) -> None:
        global created
        from pyproj import Transformer

        self.srid = srid
        self.crs = resolve_crs(srid)
        self.transformer = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        area = self.crs.area_of_use
        self.bounds = (area.west, area.south, area.east, area.north) if area else None
        with _lock:
            created += 1

    def project(self, lng: float, lat: float) -> tuple[float, float]:
        """``(x, y)`` in the SRID; a point outside its area of use is a definite error."""
        if self.bounds is not None:
            west, south, east, north = self.bounds
            inside_lng = west <= lng <= east if west <= east else (lng >= west or lng <= east)
            if not (inside_lng and south <= lat <= north):
                raise DefiniteError(
                    f"the point ({lat:.6f}, {lng:.6f}) is outside the area of use of SRID "
                    f"{self.srid} ({self.crs.name}); check the issue's location or the srid setting"
                )
        x, y = self.transformer.transform(lng, lat)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise DefiniteError(f"the point ({lat}, {lng}) cannot be projected to SRID {self.srid}")
        return float(x), float(y)
