"""Places a geocoder answers, checked as a reported point is.

A geocoder plugin's answer is untrusted like a resident's report: a hostile or broken
service can answer latitude 999, -1e308 or NaN, or a spatial reference the projection cannot
handle. :func:`ask` runs the plugin's hook (``validate_address`` or ``place_address``) and
holds its answer to the rules a reported point meets (:func:`~.reporting.point_problems`:
finite, in range, inside the service area). What fails comes back as a rejected
:class:`~scf_plugins.models.AddressCheck` whose reason starts "could not be placed", with no
coordinates, so nothing is stored or sent at them; the callers then treat it as any other
rejection (the door refuses the report, the sync pass follows the geocoder's ``on_reject``).

It lives in the host, not in a plugin, so every geocoder plugin is covered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..errors import ScfError
from ..models import AddressCheck, Issue
from .area import ServiceArea
from .reporting import Labels, point_problems

UNPLACED = "could not be placed"
# How problems name a geocoder's coordinates; a point outside the area needs no lead-in.
GEOCODER_LABELS = Labels(lat="latitude", lng="longitude", point="")
REASON_LIMIT = 300  # a projection library's message can be long; the reason stays one line


def ask(
    call: Callable[[], AddressCheck | None], query: str, area: ServiceArea | None
) -> AddressCheck | None:
    """The answer of ``call`` (a geocoder hook, bound to its arguments), checked.

    :param query: what was asked (the address, or the point as ``lat,lng``), for a check
        made here when the answer cannot be projected.
    :param area: the organization's service area, or None.
    :returns: the plugin's check when its place (if any) can be used; else a rejected check
        saying why; None when the plugin had nothing to say.
    :raises Exception: whatever the plugin raised that is not a projection failure
        (unreachable, refused, a bug), for the caller to handle as before.
    """
    try:
        check = call()
    except Exception as exc:
        raised = plugins_own(exc)
        if not unprojectable(raised):
            raise
        return AddressCheck(
            query=query,
            accepted=False,
            reason=_one_line(
                f"{UNPLACED}: the geocoder's answer cannot be projected to longitude and "
                f"latitude ({type(raised).__name__}: {raised})"
            ),
        )
    return checked(check, area)


def checked(check: AddressCheck | None, area: ServiceArea | None) -> AddressCheck | None:
    """``check`` when its place can be used (or it has none); else the same check rejected,
    its coordinates dropped, and the reason naming what is wrong with them."""
    if not isinstance(check, AddressCheck) or (check.lat is None and check.lng is None):
        return check
    if check.lat is None or check.lng is None:
        missing = "latitude" if check.lat is None else "longitude"
        problems = [f"the geocoder answered no {missing}"]
    else:
        problems = [p.text for p in point_problems(check.lat, check.lng, area, GEOCODER_LABELS)]
    if not problems:
        return check
    reason = f"{UNPLACED}: {'; '.join(problems)}"
    if not check.accepted and check.reason:
        reason += f" (and {check.reason})"
    return dataclasses.replace(check, accepted=False, lat=None, lng=None, reason=_one_line(reason))


def query_of(issue: Issue) -> str:
    """What a geocoder is asked about ``issue``: its address, or else its point."""
    if issue.address and issue.address.strip():
        return issue.address.strip()
    return f"{issue.lat:.6f},{issue.lng:.6f}"


def plugins_own(exc: BaseException) -> BaseException:
    """What the plugin itself raised: the host's plugin calls turn an exception that is not
    one of the host's error kinds into an error naming the plugin and the hook, keeping it
    as the cause (:func:`scf_plugins.plugins.plugin_failure`)."""
    cause = exc.__cause__
    if isinstance(exc, ScfError) and cause is not None and not isinstance(cause, ScfError):
        return cause
    return exc


def unprojectable(exc: BaseException) -> bool:
    """Whether a plugin's exception means the place it got cannot be turned into a point:
    arithmetic gone wrong (an overflow, a division by zero) or any error of pyproj (an
    unknown spatial reference, a failed transformation). pyproj is recognised by its
    exceptions' module, so the host never imports it."""
    if isinstance(exc, ArithmeticError):
        return True
    return any(cls.__module__.split(".")[0] == "pyproj" for cls in type(exc).__mro__)


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= REASON_LIMIT else flat[: REASON_LIMIT - 1] + "…"
