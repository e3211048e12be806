"""API keys in the browser: an administrator creates one, sees it once, an Open311 client
reports with it; revoked, it is refused."""

from __future__ import annotations

import re

import requests

from .person import Person
from .site import Site

REPORT = {
    "service_code": "POTHOLE",
    "lat": "41.3083",
    "long": "-72.9279",
    "description": "Pothole reported through the new key",
    "attribute[501]": "Yes",
    "attribute[502]": "Smaller than a dinner plate",
    "attribute[503]": "r@example.org",
}


def post_report(site: Site, key: str) -> requests.Response:
    """POST a pothole to the Open311 door with ``key``."""
    return requests.post(
        f"{site.url}/open311/v2/requests.json", data={"api_key": key, **REPORT}, timeout=10
    )


def test_a_key_is_shown_once_works_on_the_door_and_stops_when_revoked(
    person: Person, site: Site
) -> None:
    password = site.account("ada", "admin")
    person.sign_in("ada", password)
    person.waits_to_see("Needs attention")
    person.link("API keys").click()
    assert person.path == "/console/api-keys"
    person.fill("Name", "fixmystreet")
    person.press("Create key")
    person.waits_to_see("New key for fixmystreet")
    shown = person.group("New key for fixmystreet").text
    [key] = re.findall(r"\bscf_[A-Za-z0-9_-]{20,}", shown)
    assert person.sees("it is shown only this once")

    answer = post_report(site, key)
    assert answer.status_code == 200, answer.text
    assert answer.json()[0]["service_request_id"]

    person.open("/console/api-keys")  # a second look: the key is not there any more
    assert key not in person.driver.page_source
    assert person.sees("fixmystreet") and person.sees("active")

    person.press("Revoke", within=person.group("fixmystreet", having="Revoke"))
    person.waits_to_see("Revoked the API key fixmystreet")
    assert post_report(site, key).status_code in (401, 403)
