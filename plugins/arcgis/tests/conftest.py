"""Fixtures for the ArcGIS plugin tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scf_plugins import Geocoder, Issue, frozen_mapping

URL = "http://127.0.0.1:9/arcgis/rest/services/Locators/Composite/GeocodeServer"


@pytest.fixture
def make_geocoder() -> Callable[..., Geocoder]:
    """A Geocoder; keyword arguments override any field."""

    def make(**overrides: Any) -> Geocoder:
        options = overrides.pop("options", {})
        fields: dict[str, Any] = {
            "name": "county_gis",
            "plugin": "arcgis",
            "url": URL,
            "min_score": 85.0,
            "timeout_seconds": 5.0,
            "options": frozen_mapping(options),
        }
        fields.update(overrides)
        return Geocoder(**fields)

    return make


@pytest.fixture
def issue() -> Callable[..., Issue]:
    """An issue at New Haven's city hall; keyword arguments override any field."""

    def make(**overrides: Any) -> Issue:
        fields: dict[str, Any] = {
            "id": 3,
            "request_type": "POTHOLE",
            "summary": "Hole",
            "lat": 41.3081,
            "lng": -72.9252,
            "address": "165 Church St",
        }
        fields.update(overrides)
        return Issue(**fields)

    return make
