"""The ``[geocoders.NAME]`` sections: the address checkers integrations may name."""

from __future__ import annotations

import logging
import re
from typing import Any

from ..models import Geocoder, frozen_mapping
from .options import check_options
from .reader import Reader

log = logging.getLogger(__name__)

KEYS = {"plugin", "url", "user", "min_score", "on_reject", "timeout_seconds",
        "max_response_mb", "verify_tls", "ca_bundle"}  # fmt: skip


def read_geocoder(reader: Reader, name: str, table: dict[str, Any]) -> Geocoder:
    """One geocoder; the keys the host does not read are the plugin's options (checked
    against what the plugin declares, when the reader knows it: see :mod:`.options`)."""
    where = f"geocoders.{name}"
    plugin = reader.get(table, "plugin", where, str, "", 'name a plugin, e.g. "arcgis"')
    if not plugin:
        reader.problem(f"{where}.plugin", 'missing; e.g. plugin = "arcgis"')
    url = reader.get(table, "url", where, str, "", "use the GeocodeServer URL")
    url = reader.no_userinfo(url, f"{where}.url")
    if not re.match(r"https?://[^/\s]+", url):
        reader.problem(
            f"{where}.url",
            "missing or not an http(s) URL; e.g. "
            'url = "https://gis.example.gov/arcgis/rest/services/Locators/X/GeocodeServer"',
        )
    on_reject = reader.get(table, "on_reject", where, str, "submit", 'use "submit" or "hold"')
    if on_reject not in ("submit", "hold"):
        reader.problem(f"{where}.on_reject", f'{on_reject!r} is not valid; use "submit" or "hold"')
        on_reject = "submit"
    user = reader.get(table, "user", where, str, None, "use the login name")
    verify = reader.tls(table, where, True)
    if verify is False:
        log.warning(
            "TLS certificate verification is OFF for geocoder %s", name, extra={"geocoder": name}
        )
    options = {k: v for k, v in table.items() if k not in KEYS}
    declared = reader.declared(plugin)
    if declared is not None:  # else as written, for the plugin's own check
        options, problems = check_options(declared, plugin, options, top_where=where,
                                          elsewhere=KEYS)  # fmt: skip
        for key, text in problems:
            reader.problem(key, text)
    return Geocoder(
        name=name,
        plugin=plugin,
        url=url.rstrip("/"),
        user=user,
        password=reader.secret(name, None) if user else None,
        min_score=reader.number(table, "min_score", where, 85, 0, 100),
        on_reject="hold" if on_reject == "hold" else "submit",
        timeout_seconds=reader.number(table, "timeout_seconds", where, 30, 0.1, 600),
        max_response_mb=reader.number(table, "max_response_mb", where, 32, 0.1, 1024),
        verify_tls=verify,
        options=frozen_mapping(options),
    )
