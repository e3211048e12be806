"""The README's pictures of the console, taken in a realistic state: a few potholes, one
acknowledged with comments both ways and a photo, one closed, one failing. Written to
docs/screenshots/ (overview.png, integration.png, issue.png) at 1280 px wide on every run."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw
from scf_cityworks.standin import EmulatorStaff

from scf_plugins.testing import wait_for

from ..conftest import PASSWORD
from .conftest import SCREENSHOTS
from .person import Person
from .site import Site


def photo(folder: Path) -> Path:
    """A small made-up photo of a pothole: grey road, a dark hole, a kerb."""
    image = Image.new("RGB", (640, 480), (118, 118, 112))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 380, 640, 480), fill=(170, 168, 160))
    draw.ellipse((190, 170, 450, 300), fill=(48, 44, 40))
    draw.ellipse((230, 195, 410, 275), fill=(30, 28, 26))
    path = folder / "pothole.jpg"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    path.write_bytes(buffer.getvalue())
    return path


def acknowledged(site: Site, issue_id: int) -> None:
    """Wait until the issue is acknowledged (created in the emulator)."""
    wait_for(lambda: site.show(issue_id)["status"] == "acknowledged", 15, f"issue {issue_id} sent")


def test_the_readme_screenshots(
    make_site: Callable[..., Site], person_at: Callable[[Site], Person], tmp_path: Path
) -> None:
    site = make_site(password=False)
    person = person_at(site)
    city = EmulatorStaff(site.emulator.state)
    # An administrator sets the integration up in the console, as the README tells.
    person.sign_in("ada", site.account("ada", "admin"))
    person.waits_to_see("Needs attention")
    person.open("/console/integrations/cityworks")
    person.fill("Password", PASSWORD)
    person.press("Save password")
    person.waits_to_see("Saved the test password of cityworks.")
    person.press("Refresh request types")
    person.waits_to_see("Refreshed the request types of cityworks")

    pothole = site.report(
        "Deep pothole outside 12 Chapel Street",
        description="About a foot across, in the westbound lane; cyclists swerve round it.",
        address="12 Chapel Street",
        name="Rosa Diaz",
        email="rosa@example.org",
        image=str(photo(tmp_path)),
    )
    acknowledged(site, pothole)
    bus_stop = site.report("Pothole by the bus stop on Whitney Avenue", address="200 Whitney Ave")
    acknowledged(site, bus_stop)
    crossing = site.report("Crack across the crosswalk at Temple Street", address="Temple St")
    acknowledged(site, crossing)
    city.close(str(site.harness.remote_id(crossing)), "COMPLETE")
    wait_for(lambda: site.show(crossing)["status"] == "closed", 15, "the crosswalk closed")
    site.emulator.state.inject("503", count=1, match="servicerequest/create")
    manhole = site.report("Sunken manhole cover, Orange Street", address="85 Orange St")
    wait_for(lambda: site.show(manhole)["sync"]["last_error"], 15, "the manhole's create to fail")

    person.open("/console/")
    person.screenshot(SCREENSHOTS / "overview.png")

    person.open("/console/integrations/cityworks")
    person.press("Test connection")
    person.waits_to_see("Succeeded")
    person.screenshot(SCREENSHOTS / "integration.png", most=2700)

    remote_id = str(site.harness.remote_id(pothole))
    city.set_field(remote_id, "DispatchTo", "Street Crew 3")
    city.comment(remote_id, "To SCF: Crew booked for Thursday morning.")
    person.open(f"/console/issues/{pothole}")
    person.fill("Comment", "Resident says the hole has grown since Monday.")
    person.press("Add comment")
    person.waits_to_see("Comment added")
    person.waits_to_see("Crew booked for Thursday morning.", timeout=15, reload=True)
    person.waits_to_see("assigned to Street Crew 3", timeout=15, reload=True)
    person.driver.refresh()  # without the flash message: the page as staff come back to it
    person.screenshot(SCREENSHOTS / "issue.png")
    for name in ("overview", "integration", "issue"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000
