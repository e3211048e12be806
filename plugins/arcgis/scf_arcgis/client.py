"""An ArcGIS Server GeocodeServer client: service root, candidates, reverse geocoding, tokens.

ArcGIS reports errors as HTTP 200 with ``{"error": {...}}``; detection is by that key, and
decisions are made on ``code``, never on ``message`` (its wording differs between servers).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from scf_plugins import (
    ConfigError,
    DefiniteError,
    Geocoder,
    HttpClient,
    HttpPolicy,
    LoginRefused,
    TransientError,
    register_secret,
)

log = logging.getLogger(__name__)

TOKEN_CODES = {498, 499}  # invalid/expired token, token required
TOKEN_MARGIN_S = 60
TOKEN_MINUTES = 60


class NoMatch(Exception):
    """reverseGeocode found no address near the point (ArcGIS's 400 "Unable to find address")."""


def token_url(service_url: str) -> str:
    """The stand-alone server's token endpoint for a service URL.

    ``https://h/arcgis/rest/services/X/GeocodeServer`` -> ``https://h/arcgis/tokens/generateToken``.
    """
    match = re.match(r"(?i)^(https?://[^/]+(?:/[^/]+)?)/rest/services", service_url)
    base = match.group(1) if match else service_url.split("/rest/", 1)[0]
    return f"{base}/tokens/generateToken"


def wkid_of(spatial_reference: Any) -> int | None:
    """The SR's id: ``latestWkid`` before ``wkid``; Esri's 102100/102113 read as 3857."""
    if not isinstance(spatial_reference, dict):
        return None
    raw: Any = spatial_reference.get("latestWkid") or spatial_reference.get("wkid")
    try:
        wkid = int(raw)
    except (TypeError, ValueError):
        return None
    return 3857 if wkid in (102100, 102113, 900913) else wkid


class GeocodeClient:
    """One geocoder's HTTP session, service description and token."""

    def __init__(self, geocoder: Geocoder) -> None:
        self.geocoder = geocoder
        self.http = HttpClient(
            geocoder.name,
            geocoder.url,
            geocoder.verify_tls,
            HttpPolicy.of(geocoder),
            system=f"geocoder {geocoder.name}",
            log_key="geocoder",
            user_agent="scf-arcgis/0.1",
        )
        self._root: dict[str, Any] | None = None
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP session (the host calls it when the client is replaced)."""
        self.http.close()

    # -- tokens ------------------------------------------------------------------------------

    def token(self, *, renew: bool = False) -> str | None:
        """A token for a secured service (None for a public one); renewed before it expires."""
        if not self.geocoder.user:
            return None
        with self._lock:
            if renew or not self._token or time.time() >= self._expires - TOKEN_MARGIN_S:
                self._token, self._expires = self._generate()
            return self._token

    def _generate(self) -> tuple[str, float]:
        if not self.geocoder.password:
            raise ConfigError(
                f"geocoder {self.geocoder.name} has a user but no password; run "
                f"`scf credentials set {self.geocoder.name}`"
            )
        url = str(self.geocoder.options.get("token_url") or token_url(self.geocoder.url))
        body = self._request(
            url,
            {
                "username": self.geocoder.user,
                "password": self.geocoder.password.reveal(),
                "client": "requestip",
                "expiration": TOKEN_MINUTES,
                "f": "json",
            },
        )
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise DefiniteError(
                f"geocoder {self.geocoder.name}: generateToken sent no token; check token_url"
            )
        register_secret(token)
        expires_ms = body.get("expires")
        expires = (
            float(expires_ms) / 1000
            if isinstance(expires_ms, int | float)
            else time.time() + TOKEN_MINUTES * 60
        )
        return token, expires

    # -- calls -------------------------------------------------------------------------------

    def _request(
        self,
        url: str,
        params: dict[str, Any],
        *,
        operation: str = "generateToken",
    ) -> dict[str, Any]:
        # Reads only: a lost answer is safe to ask again.
        answer = self.http.request("POST", url, what=operation, idempotent=True, data=params)
        if answer.status == 404:
            raise DefiniteError(
                f"geocoder {self.geocoder.name}: {operation} not found (HTTP 404); "
                f"check the url ends in /GeocodeServer"
            )
        try:  # a lone surrogate or a stray byte is read as U+FFFD, the depth bounded
            found = answer.salvage_json()
        except ValueError:
            found = None
        if found is None or found.gaps:
            why = f"; {found.gaps[0]}" if found else ""
            raise TransientError(
                f"geocoder {self.geocoder.name}: the answer to {operation} is not "
                f"JSON (HTTP {answer.status}{why})"
            )
        body = found.value
        if not isinstance(body, dict):
            raise DefiniteError(f"geocoder {self.geocoder.name}: unexpected answer to {operation}")
        error = body.get("error")
        if isinstance(error, dict):
            return self._error(error, operation)
        return body

    def _error(self, error: dict[str, Any], operation: str) -> dict[str, Any]:
        code = error.get("code")
        details = " ".join(str(d) for d in error.get("details") or [])
        message = f"{error.get('message') or 'error'} {details}".strip()
        if code in TOKEN_CODES:
            raise _TokenRefused(code)
        if operation == "reverseGeocode" and code == 400 and "unable to find" in message.lower():
            raise NoMatch()
        if isinstance(code, int) and code >= 500:
            raise TransientError(
                f"geocoder {self.geocoder.name}: {operation} failed ({code} {message})"
            )
        raise DefiniteError(
            f"geocoder {self.geocoder.name}: {operation} refused ({code} {message})"
        )

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call ``GeocodeServer/<operation>`` (``""`` for the root).

        A refused token (498/499) is renewed once and the call repeated.
        """
        url = f"{self.geocoder.url}/{operation}" if operation else self.geocoder.url
        base = {**params, "f": "json"}
        for attempt in (0, 1):
            token = self.token(renew=attempt == 1)
            try:
                return self._request(
                    url,
                    {**base, **({"token": token} if token else {})},
                    operation=operation or "service root",
                )
            except _TokenRefused as refused:
                if attempt == 1 or not self.geocoder.user:
                    fix = (
                        "check the user and its permissions"
                        if self.geocoder.user
                        else "set user, and its password: the service is secured"
                    )
                    raise LoginRefused(
                        f"geocoder {self.geocoder.name}: the service refused "
                        f"access ({refused.code}); {fix}"
                    ) from None
        raise AssertionError("unreachable")

    def describe(self) -> dict[str, Any]:
        """The service root (``?f=json``), cached: input field names, spatial reference."""
        if self._root is None:
            self._root = self.call("", {})
        return self._root

    def single_line_field(self) -> str:
        """The single-line input's name as the locator advertises it (default ``SingleLine``)."""
        field = self.describe().get("singleLineAddressField")
        if isinstance(field, dict) and isinstance(field.get("name"), str) and field["name"]:
            return str(field["name"])
        return "SingleLine"


class _TokenRefused(Exception):
    def __init__(self, code: Any) -> None:
        super().__init__(code)
        self.code = code
