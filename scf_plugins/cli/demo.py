"""``scf demo``: the whole lifecycle on the embedded defaults, with nothing to set up.

A temporary SQLite store, the Cityworks emulator and a small fake ArcGIS geocoder on free
loopback ports (each started by its plugin, through the ``start_standin`` hook), an SMTP sink
standing in for the city's mail server, a generated config, and the real sync engine. The
emulator's staff act between passes, so one run shows every transition of the lifecycle,
every kind of message, comments both ways, the emails residents get, and archiving, then
prints each issue's timeline.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..config.settings import load_config
from ..engine.loop import Engine
from ..engine.outcomes import PassReport
from ..errors import UserError
from ..intake import catalog
from ..intake.reporting import Report, build_issue
from ..net.redaction import register_secret
from ..net.smtp_sink import Received, SmtpSink
from ..plugins import PluginHost
from ..server import apikeys
from ..standin import StandIn, StandInStaff
from ..store.store import Store
from ..timeutil import utcnow

CONFIG = """\
[organization]
name = "City of New Haven"
bot_name = "New Haven 311"
database = "sqlite:///{db}"

[integrations.cityworks]
plugin = "cityworks"
environment = "test"
version = "15.8"
srid = 3857
closed_statuses = ["CLOSED", "COMPLETE"]
cancel_statuses = ["CANCEL"]
request_types = ["*"]
address_validation = "county_gis"
image_url_field = "Text1"
timezone = "America/New_York"
max_concurrency = 4

[integrations.cityworks.test]
url = "{cw_url}"
user = "scf-int"

[integrations.cityworks.messages.closed_by_status]
COMPLETE = "Good news: the crew has finished the work on request {{remote_id}}."

[[integrations.cityworks.activity]]
field = "DispatchTo"
message = "Your request has been assigned to {{value}}."

[integrations.cityworks.custom_fields]
Text2 = "{{issue.marker}}"

[geocoders.county_gis]
plugin = "arcgis"
url = "{gis_url}"
min_score = 85

[email]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from = "New Haven 311 <no-reply@newhaven.example>"

[server]
public_url = "http://127.0.0.1:8311"  # scf serve's address: the emails' links lead there
"""


def _standin(host: PluginHost, plugin: str, users: Mapping[str, str]) -> StandIn:
    """The stand-in server of ``plugin``, started through the host; one line when it cannot."""
    if plugin not in host.names():
        raise UserError(
            f"the demo needs the scf-{plugin} plugin; run `make demo`, or "
            f"pip install -e plugins/{plugin}"
        )
    standin = host.start_standin(plugin, users)
    if standin is None:
        raise UserError(
            f"the {plugin} plugin installed starts no stand-in server (start_standin); the "
            f"demo needs the scf-{plugin} of this checkout: pip install -e plugins/{plugin}"
        )
    return standin


def run_demo(host: PluginHost, echo: Callable[[str], None], keep: Path | None = None) -> int:
    """Run the demo; returns the number of errors the passes met (0 on a clean run)."""
    password = secrets.token_urlsafe(12)
    register_secret(password)
    previous = os.environ.get("SCF_CITYWORKS_TEST_PASSWORD")
    os.environ["SCF_CITYWORKS_TEST_PASSWORD"] = password
    try:
        with (
            tempfile.TemporaryDirectory(prefix="scf-demo-") as tmp,
            _standin(host, "cityworks", {"scf-int": password}) as cw,
            _standin(host, "arcgis", {}) as gis,
            SmtpSink() as mail,
        ):
            folder = keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            return _story(host, echo, folder, cw, gis, mail)
    finally:
        if previous is None:
            os.environ.pop("SCF_CITYWORKS_TEST_PASSWORD", None)
        else:
            os.environ["SCF_CITYWORKS_TEST_PASSWORD"] = previous


def _story(
    host: PluginHost,
    echo: Callable[[str], None],
    folder: Path,
    cw: StandIn,
    gis: StandIn,
    mail: SmtpSink,
) -> int:
    staff = _staff(cw)
    path = folder / "scf.toml"
    path.write_text(
        CONFIG.format(db=folder / "demo.db", cw_url=cw.url, gis_url=gis.url, smtp_port=mail.port)
    )
    settings = load_config(path, plugin_options=host.plugin_options)
    store = Store.open(settings.organization.database)
    echo(f"Cityworks emulator at {cw.url}")
    echo(f"ArcGIS geocoder (fake) at {gis.url}")
    echo(f"Mail server (SMTP sink) at 127.0.0.1:{mail.port}")
    echo(f"Store: {folder / 'demo.db'}\n")

    result = catalog.refresh(settings, host, store)
    types = {rt.code: rt for rt in store.request_types()}
    echo(
        f"Loaded {result.loaded.get('cityworks', 0)} request types from Cityworks: "
        f"{', '.join(sorted(types))}"
    )

    def report(
        code: str, answers: dict[str, str], photos: tuple[Any, ...] = (), **fields: Any
    ) -> int:
        rt = types[code]
        new = build_issue(
            Report(request_type=code, answers=tuple(answers.items()), **fields),
            rt,
            settings.owner_of(code),
        )
        issue_id = store.create_issue(new, photos)
        echo(f"  reported issue {issue_id}: {code} - {fields['summary']}")
        return issue_id

    echo("\nResidents report three issues:")
    pothole = report(
        "POTHOLE",
        {"501": "Yes", "502": "Larger than a dinner plate", "503": "jane@example.org"},
        summary="Deep pothole in the bus lane",
        description="Near the library steps",
        lat=41.3081,
        lng=-72.9252,
        address="165 Church St",
        name="Jane Doe",
        email="jane@example.org",
        photos=(_phone_photo(settings.images),),
    )
    graffiti = report(
        "GRAFFITI",
        {"511": "No", "512": "Private property", "513": "Yes", "514": "2026-11-20"},
        summary="Graffiti on the bakery wall",
        lat=41.3105,
        lng=-72.9290,
        name="Sam Lee",
    )
    door_server = _open311_door(settings, host, store)
    light = _report_over_open311(
        echo,
        door_server.url,
        apikeys.create(store, "demo-app", actor="scf demo (cli)"),
        {
            "service_code": "STREETLIGHT",
            "lat": "41.3083",
            "long": "-72.9279",
            "description": "Streetlight out on Elm St\nThe pole by the bus stop.",
            "first_name": "Ana",
            "last_name": "Ruiz",
            "email": "ana@example.org",
            "attribute[521]": "NH-4471",
            "attribute[522]": "Out",
            "attribute[523]": "ana@example.org",
        },
    )

    errors = 0
    totals = PassReport()
    now = utcnow()
    engine = Engine(settings, host, store, clock=lambda: now)

    def sync(title: str) -> None:
        nonlocal errors
        outcome = engine.run_pass()
        errors += outcome.errors
        for name in (
            "acknowledged",
            "cancelled",
            "closed",
            "archived",
            "activity",
            "comments_in",
            "comments_out",
        ):
            setattr(totals, name, getattr(totals, name) + getattr(outcome, name))
        echo(f"\n== sync pass: {title}\n   {outcome.summary()}")
        for problem in outcome.problems:
            echo(f"   ! {problem}")

    sync("submit the new issues")
    remote = {}
    for issue_id in (pothole, graffiti, light):
        record = store.get(issue_id)
        remote[issue_id] = (record.issue.remote_id if record else None) or "0"

    echo(
        "\nCity staff, in Cityworks: dispatch the pothole, reply to the resident, cancel the "
        "graffiti request (it belongs to another department)."
    )
    staff.set_field(remote[pothole], "DispatchTo", "Streets Crew 4")
    staff.comment(remote[pothole], "To SCF: A crew is scheduled for Tuesday morning.")
    staff.comment(remote[pothole], "Internal: bring the cold patch, not hot mix.")
    staff.cancel(remote[graffiti], "CANCEL", "Private property: handled by Code Enforcement")
    store.add_comment(pothole, "Jane Doe", "Thanks! It is getting bigger after the rain.")
    echo("The resident comments on the pothole in the CRM.")
    sync("follow the remote requests")

    echo("\nA 311 agent gives the cancelled graffiti issue the request type that fits it.")
    door = types["DoorWall"]
    new = build_issue(
        Report(
            request_type="DoorWall",
            summary="Graffiti on the bakery wall",
            lat=41.3105,
            lng=-72.9290,
            name="Sam Lee",
            answers=((door.questions[0].id, "Graffiti on the north wall"),),
        ),
        door,
        settings.owner_of("DoorWall"),
    )
    store.recategorize(graffiti, "DoorWall", new.integration, new.type_ref, new.answers)
    sync("resubmit the recategorised issue")

    echo("\nCity staff close the pothole and complete the streetlight repair.")
    staff.close(remote[pothole], "CLOSED")
    staff.close(remote[light], "COMPLETE")
    sync("close what the crews finished")

    _show_emails(echo, mail.received, pothole)
    _read_over_open311(echo, door_server.url, light)
    door_server.stop()

    now = now + timedelta(days=settings.organization.archive_after_days + 1)
    sync(f"{settings.organization.archive_after_days + 1:g} days later")

    echo(
        f"\nThe run showed every transition: Open -> Acknowledged "
        f"{totals.acknowledged}, Acknowledged -> Open (cancelled) {totals.cancelled}, "
        f"Acknowledged -> Closed {totals.closed}, Closed -> Archived {totals.archived}; "
        f"activity messages {totals.activity}, comments in {totals.comments_in}, "
        f"out {totals.comments_out} (errors: {errors})."
    )
    echo("\nTimelines")
    for issue_id in (pothole, graffiti, light):
        record = store.get(issue_id)
        assert record is not None
        issue = record.issue
        echo(
            f"\nIssue {issue_id}: {issue.summary} [{issue.request_type}] -> {issue.status.value}"
            f" (remote {issue.remote_id or '-'}, status {record.remote_status or '-'})"
        )
        if issue.address_check:
            check = issue.address_check
            echo(
                f"  address checked: {check.query!r} -> {check.address!r} "
                f"(score {check.score:g}, {check.candidate_type}, "
                f"{'accepted' if check.accepted else 'not accepted'})"
                if check.score is not None
                else f"  address checked: {check.reason}"
            )
        for c in record.comments:
            when = c.created_at.strftime("%Y-%m-%d %H:%M") if c.created_at else ""
            echo(f"  {when}  {c.kind:<7} {c.author}: {c.text}")
    sent = staff.comment_texts(remote[pothole])
    echo(
        f"\nIn Cityworks, request {remote[pothole]} carries the resident's comment: {sent[-1]!r}"
        if sent
        else ""
    )
    for attached in staff.attached_files(remote[pothole]):
        echo(f"and the resident's photo as attachment {attached.id}: {attached.name}, "
             f"{len(attached.content):,} bytes (re-encoded, its GPS position and camera details "
             f"removed)")  # fmt: skip
    store.close()
    return errors


def _show_emails(echo: Callable[[str], None], received: list[Received], issue_id: int) -> None:
    """What the mail server got: every email, and the pothole's acknowledgement and closing
    in full (their reporters' addresses are left out, as scf leaves them out of its logs)."""
    echo(f"\nThe mail server received {len(received)} emails to residents, one per message:")
    for message in received:
        echo(f"  {message.subject}")
    for message in received:
        subject = message.subject
        if subject.startswith(f"Your report {issue_id}:") and subject.endswith(
            ("received", "closed")
        ):
            text = "\n".join(f"    | {line}" for line in message.part().strip().splitlines())
            echo(f"\n  Subject: {subject}\n{text}")


def _staff(cw: StandIn) -> StandInStaff:
    """City staff at the Cityworks stand-in (which has them: it keeps requests)."""
    if cw.staff is None:
        raise UserError("the cityworks plugin's stand-in has no city staff to play the demo")
    return cw.staff


def _phone_photo(limits: Any) -> Any:
    """A phone photo as residents send them: 4000 x 3000, turned by EXIF, with GPS."""
    import io

    from PIL import ExifTags, Image

    from ..intake.images import prepare

    image = Image.new("RGB", (4000, 3000), (90, 90, 95))
    image.paste((30, 30, 30), (1500, 1000, 2500, 2000))  # the hole
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (41.0, 18.0, 29.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return prepare(out.getvalue(), "IMG_2041.jpg", limits)


def _open311_door(settings: Any, host: PluginHost, store: Store) -> Any:
    """The Open311 door of ``scf serve``, in this process on a free loopback port."""
    from ..server.running import Background
    from ..server.web import create_app

    return Background(create_app(settings, host, store))


def _report_over_open311(
    echo: Callable[[str], None], url: str, key: str, fields: dict[str, str]
) -> int:
    """POST a report as a resident's app would (FixMyStreet sends XML); returns its id."""
    import requests
    import xmltodict

    answer = requests.post(
        f"{url}/open311/v2/requests.xml", data={"api_key": key, **fields}, timeout=30
    )
    parsed = xmltodict.parse(answer.content, force_list=("request", "error"))
    if answer.status_code != 200:
        problems = "; ".join(e["description"] for e in parsed["errors"]["error"])
        raise UserError(f"the demo's Open311 report was refused: {problems}")
    issue_id = int(parsed["service_requests"]["request"][0]["service_request_id"])
    echo(
        f"  reported issue {issue_id}: {fields['service_code']} - "
        f"{fields['description'].splitlines()[0]} (over Open311: POST {url}/open311/v2/"
        f"requests.xml)"
    )
    return issue_id


def _read_over_open311(echo: Callable[[str], None], url: str, issue_id: int) -> None:
    """Show a request's status as an Open311 client reads it."""
    import requests

    got = requests.get(f"{url}/open311/v2/requests/{issue_id}.json", timeout=30).json()[0]
    echo(
        f"\nAn Open311 client reads issue {issue_id} back (GET /open311/v2/requests/"
        f"{issue_id}.json): status {got['status']}, "
        f"status_notes {got.get('status_notes', '')!r}"
    )
