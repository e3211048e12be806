"""Residents' photos: checked and cleaned at the door, kept in the store, attached to the
Cityworks request exactly once, and never sent where the remote system takes none."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import Result
from PIL import ExifTags, Image

from scf_plugins.testing import Harness, wait_for

from .served import Door

SCF = str(Path(sys.executable).parent / "scf")


def photo(width: int = 40, height: int = 20, fmt: str = "JPEG", *, gps: bool = False,
          orientation: int | None = None, mode: str = "RGB") -> bytes:  # fmt: skip
    """An image made here: the left half red and the right half blue, so a turn shows."""
    image = Image.new(mode, (width, height), (0, 0, 255) if mode == "RGB" else 1)
    if mode == "RGB":
        image.paste((255, 0, 0), (0, 0, width // 2, height))
    exif = Image.Exif()
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.Base.Make] = "PhoneMaker"
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd.update({1: "N", 2: (41.0, 18.0, 30.0), 3: "W", 4: (72.0, 55.0, 40.0)})
    out = io.BytesIO()
    image.save(out, fmt, **({"exif": exif} if len(exif) else {}))
    return out.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def report(run: Callable[..., Result], *paths: str) -> Result:
    args = [
        "report",
        "--type",
        "GRAFFITI",
        "--summary",
        "Tag",
        "--lat",
        "1",
        "--lng",
        "2",
        "--json",
    ]
    for path in paths:
        args += ["--image", path]
    return run(*args)


def shown(run: Callable[..., Result], issue_id: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run("issues", "show", str(issue_id), "--json").stdout)
    return data


def stored(store: Any, issue_id: int) -> list[bytes]:
    record = store.get(issue_id)
    return [store.photo_content(a.id) for a in record.attachments]


# -- intake -----------------------------------------------------------------------------------


def test_gps_and_every_other_metadata_are_gone_and_the_photo_is_upright(
    basic: Harness, tmp_path: Path
) -> None:
    run = basic.cli
    original = photo(gps=True, orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it had GPS
    result = report(run, write(tmp_path, "IMG_0001.HEIC.jpg", original))
    assert result.exit_code == 0, result.output
    issue_id = json.loads(result.stdout)["id"]
    [meta] = shown(run, issue_id)["attachments"]
    assert (meta["content_type"], meta["remote_id"]) == ("image/jpeg", None)
    assert meta["filename"] == "IMG_0001-HEIC.jpg" and meta["path"].startswith("/media/")
    [content] = stored(basic.store(), issue_id)
    assert meta["size"] == len(content)
    kept = Image.open(io.BytesIO(content))
    assert kept.format == "JPEG" and kept.size == (20, 40)  # turned upright (orientation 6)
    assert not dict(kept.getexif()) and "exif" not in kept.info and "icc_profile" not in kept.info
    assert kept.getpixel((10, 2))[0] > 200  # the red half is on top after the turn
    assert b"PhoneMaker" not in content and b"GPS" not in content


def test_a_large_photo_is_kept_at_most_2048_px_on_its_long_side(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    result = report(run, write(tmp_path, "wide.png", photo(3000, 1000, "PNG")))
    assert result.exit_code == 0, result.output
    [meta] = shown(run, json.loads(result.stdout)["id"])["attachments"]
    assert meta["filename"] == "wide.jpg"


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("notes.jpg", b"just text, named like a photo\n", "is not a JPEG, PNG, GIF or WebP image"),
    ("cut.jpg", photo(400, 300)[:300], "cannot be decoded"),
    ("empty.jpg", b"", "is empty"),
    ("bomb.png", None, "decompression bomb"),
    ("big.jpg", b"\xff" * (10 * 1024 * 1024 + 1), "is 10.0 MB; the limit is 10 MB"),
    ("doc.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "is not a JPEG, PNG, GIF or WebP image"),
])  # fmt: skip
def test_each_refusal_is_one_line_and_nothing_is_stored(
    run: Callable[..., Result], tmp_path: Path, name: str, data: bytes | None, expected: str
) -> None:
    if data is None:  # 10,000 x 6,000 one-bit pixels: a tiny file, 60 million pixels
        data = photo(10_000, 6_000, "PNG", mode="1")
        assert len(data) < 100_000
    result = report(run, write(tmp_path, name, data))
    assert result.exit_code != 0 and expected in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert json.loads(run("issues", "list", "--json").stdout) == []


def test_too_many_photos_and_a_missing_file_are_refused(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    paths = [write(tmp_path, f"p{n}.jpg", photo()) for n in range(6)]
    result = report(run, *paths)
    assert result.exit_code != 0 and "6 images sent with --image; an issue takes at most 5" in (
        result.output
    )
    result = report(run, str(tmp_path / "nowhere.jpg"))
    assert result.exit_code != 0 and "cannot be read (No such file or directory)" in result.output
    assert json.loads(run("issues", "list", "--json").stdout) == []


# -- the remote side --------------------------------------------------------------------------


def test_a_plugin_without_photos_keeps_them_here_with_no_error_and_no_retry(
    basic: Harness, fake_host: Any, tmp_path: Path
) -> None:
    from scf_plugins.timeutil import utcnow

    run = basic.cli
    _, plugin = fake_host
    issue_id = json.loads(report(run, write(tmp_path, "a.jpg", photo())).stdout)["id"]
    engine = basic.engine(clock=utcnow)
    first = engine.run_pass()
    again = engine.run_pass()
    assert first.acknowledged == 1 and first.errors == again.errors == 0
    assert first.photos_out == again.photos_out == 0
    [meta] = shown(run, issue_id)["attachments"]
    assert meta["kept_here"] == "kept here: fake-a takes no photos" and not meta["last_error"]
    assert "kept here: fake-a takes no photos" in run("issues", "show", str(issue_id)).output
    assert not any(call[0] == "push_attachment" for call in plugin.calls)


def test_photos_reach_cityworks_once_each_with_the_bytes_stored(world: Any, tmp_path: Path) -> None:
    w = world()
    first, second = photo(gps=True), photo(60, 30, "PNG")
    issue_id = w.report("GRAFFITI", "511=No", "512=Public property", "514=2026-01-02",
                        image=write(tmp_path, "wall.jpg", first))  # fmt: skip
    assert w.sync().acknowledged == 1
    rid = w.remote_id(issue_id)
    [record] = w.emulator.state.attachments[rid]
    [content] = stored(w.store(), issue_id)
    assert w.emulator.state.attachment_files[record["Id"]] == content  # the bytes it got
    marker = w.show(issue_id)["link"]["marker"]
    assert record["Attachment"].endswith(f"\\{marker}-1.jpg")
    [meta] = w.show(issue_id)["attachments"]
    assert meta["remote_id"] == str(record["Id"])
    assert w.sync().photos_out == 0  # nothing is sent twice
    assert second  # a PNG is re-encoded the same way (covered by the intake tests)


def test_a_lost_upload_answer_is_looked_up_not_uploaded_twice(world: Any, tmp_path: Path) -> None:
    w = world()
    w.emulator.state.inject("drop_after_commit", match="addrequestattachment")
    issue_id = w.report("GRAFFITI", "511=No", "512=Public property", "514=2026-01-02",
                        image=write(tmp_path, "wall.jpg", photo()))  # fmt: skip
    first = w.sync()
    assert first.acknowledged == 1 and first.photos_out == 0 and first.errors == 1
    rid = w.remote_id(issue_id)
    assert len(w.emulator.state.attachments[rid]) == 1  # it was stored; the answer was lost
    [meta] = w.show(issue_id)["attachments"]
    assert meta["remote_id"] is None and "it may have been carried out" in meta["last_error"]
    w.later(minutes=5)
    assert w.sync().photos_out == 1
    assert len(w.emulator.state.attachments[rid]) == 1
    assert w.show(issue_id)["attachments"][0]["remote_id"] == str(
        w.emulator.state.attachments[rid][0]["Id"]
    )


@pytest.mark.slow  # a subprocess
def test_sigkill_mid_upload_then_restart_attaches_each_photo_once(
    world: Any, tmp_path: Path
) -> None:
    w = world()
    w.emulator.state.slow_seconds = 1.0
    w.emulator.state.inject("slow", count=2, match="addrequestattachment")
    images = [write(tmp_path, f"p{n}.jpg", photo(30 + n, 20)) for n in range(2)]
    issue_id = w.report("GRAFFITI", "511=No", "512=Public property", "514=2026-01-02",
                        image=images)  # fmt: skip
    proc = subprocess.Popen([SCF, "--config", str(w.path), "sync", "--once"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=os.environ.copy())  # fmt: skip

    def uploading() -> bool:
        assert proc.poll() is None, "scf sync ended before both uploads were under way"
        return w.emulator.state.counts["ams/attachments/addrequestattachment"] >= 2

    wait_for(uploading, 30, "both uploads under way")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rid = w.remote_id(issue_id)
    # The uploads in flight land remotely meanwhile (the emulator is slow on purpose).
    wait_for(lambda: len(w.emulator.state.attachments.get(rid, ())) == 2, 10, "both uploads landed")
    assert len(w.emulator.state.attachments[rid]) == 2
    # At once: the uploads the dead worker left in flight are looked up, found, and marked
    # sent; none is sent again (tests/test_takeover.py has those that did not land).
    report = w.sync()
    assert report.photos_out == 2 and report.errors == 0
    w.clock.now = datetime.now(UTC) + timedelta(seconds=31)  # past timeout_seconds (30)
    assert w.sync().photos_out == 0
    names = [a["Attachment"] for a in w.emulator.state.attachments[rid]]
    assert len(names) == len(set(names)) == 2
    assert all(a["remote_id"] for a in w.show(issue_id)["attachments"])


# -- the Open311 door -------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["fixmystreet", "media"])
def test_the_door_takes_photos_as_multipart_parts_and_serves_them(door: Door, style: str) -> None:
    names = ["photo1", "photo2"] if style == "fixmystreet" else ["media"]
    files = [(name, (f"{name}.jpg", photo(gps=True), "image/jpeg")) for name in names]
    fields = {"api_key": door.key, "service_code": "GRAFFITI", "lat": "41.3", "long": "-72.9",
              "description": "Tagged wall"}  # fmt: skip
    response = requests.post(f"{door.url}/open311/v2/requests.json", data=fields, files=files,
                             timeout=10)  # fmt: skip
    assert response.status_code == 200, response.text
    issue_id = int(response.json()[0]["service_request_id"])
    record = door.store.get(issue_id)
    assert record is not None and len(record.attachments) == len(names)
    [got] = requests.get(f"{door.url}/open311/v2/requests/{issue_id}.json", timeout=10).json()
    media_url = got["media_url"]
    assert media_url == f"{door.url}/media/{record.attachments[0].path_token}.jpg"
    image = requests.get(media_url, timeout=10)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert b"PhoneMaker" not in image.content and Image.open(io.BytesIO(image.content)).size
    assert requests.get(f"{door.url}/media/{'x' * 32}.jpg", timeout=10).status_code == 404
    assert requests.get(f"{door.url}/media/..%2f..%2fetc.jpg", timeout=10).status_code == 404


@pytest.mark.parametrize(("files", "expected"), [
    ([("photo1", ("a.jpg", b"<html>not a photo</html>", "image/jpeg"))],
     "is not a JPEG, PNG, GIF or WebP image"),
    ([(f"photo{n}", (f"{n}.jpg", photo(), "image/jpeg")) for n in range(6)],
     "6 images sent as file parts; an issue takes at most 5"),
])  # fmt: skip
def test_the_door_refuses_a_bad_photo_and_stores_nothing(
    door: Door, files: list[Any], expected: str
) -> None:
    fields = {"api_key": door.key, "service_code": "GRAFFITI", "lat": "41.3", "long": "-72.9"}
    response = requests.post(f"{door.url}/open311/v2/requests.xml", data=fields, files=files,
                             timeout=10)  # fmt: skip
    assert response.status_code == 400 and expected in response.text
    with door.store.read() as conn:
        from sqlalchemy import func, select

        from scf_plugins.store.tables import attachments, issues

        assert conn.execute(select(func.count()).select_from(issues)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(attachments)).scalar() == 0


def test_the_door_checks_the_key_before_it_decodes_photos(door: Door) -> None:
    files = [("photo1", ("a.jpg", b"not even an image", "image/jpeg"))]
    fields = {"api_key": "wrong", "service_code": "GRAFFITI", "lat": "41.3", "long": "-72.9"}
    response = requests.post(f"{door.url}/open311/v2/requests.json", data=fields, files=files,
                             timeout=10)  # fmt: skip
    assert response.status_code == 403


def test_city_staff_list_the_photos_on_a_request(world: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner
    from scf_cityworks.commands import emulator_command

    w = world()
    issue_id = w.report("GRAFFITI", "511=No", "512=Public property", "514=2026-01-02",
                        image=write(tmp_path, "wall.jpg", photo()))  # fmt: skip
    w.sync()
    rid = str(w.remote_id(issue_id))
    result = CliRunner().invoke(emulator_command, ["staff", "attachments", rid, "--at",
                                                   w.emulator.root])  # fmt: skip
    assert result.exit_code == 0, result.output
    marker = w.show(issue_id)["link"]["marker"]
    size = w.show(issue_id)["attachments"][0]["size"]
    assert f"{marker}-1.jpg  {size} bytes" in result.output and "by scf-int" in result.output
    # `scf issues retry` clears a photo's back-off too.
    w.emulator.state.inject("503", count=3, match="addrequestattachment")
    second = w.report("GRAFFITI", "511=No", "512=Public property", "514=2026-01-02",
                      image=write(tmp_path, "wall2.jpg", photo()))  # fmt: skip
    assert w.sync().photos_out == 0
    w.emulator.state.clear_faults()
    assert w.sync().photos_out == 0  # still backing off
    status = json.loads(w.cli("status", "--json").stdout)["integrations"][0]
    assert (status["photos_waiting"], status["photos_failing"]) == (1, 1)
    shown_status = w.cli("status")
    assert (
        shown_status.exit_code == 1 and "photos        1 to send, 1 failing" in shown_status.output
    )
    retried = w.cli("issues", "retry", str(second))
    assert "1 comment(s) or photo(s) will be tried again" in retried.output
    assert w.sync().photos_out == 1


# -- retention ----------------------------------------------------------------------------------

GRAFFITI = ("511=No", "512=Public property", "514=2026-01-02")


def test_photos_are_purged_after_the_retention_period_and_the_issue_says_so(
    world: Any, tmp_path: Path
) -> None:
    from scf_plugins.engine import retention

    w = world(tail="[images]\npurge_after_days = 30\n")
    old = w.report("GRAFFITI", *GRAFFITI, image=write(tmp_path, "old.jpg", photo()))
    assert w.sync().photos_out == 1
    w.emulator.state.staff("close", w.remote_id(old))
    assert w.sync().closed == 1
    young = w.report("GRAFFITI", *GRAFFITI, image=write(tmp_path, "young.jpg", photo()))
    w.later(days=15)
    assert w.sync().archived == 1  # archived 14 days after closing
    w.later(days=29)
    assert w.sync().photos_purged == 0  # archived 29 days ago: kept
    with w.store().read() as conn:  # what config check reports as due, a day before and after
        assert retention.due(conn, w.clock.now, timedelta(days=30)) == (0, 0)
        count, size = retention.due(conn, w.clock.now + timedelta(days=2), timedelta(days=30))
        assert count == 1 and size == w.show(old)["attachments"][0]["size"]
    w.later(days=2)
    report = w.sync()
    assert report.photos_purged == 1 and "photos purged 1" in report.summary()
    assert w.sync().photos_purged == 0  # once
    store = w.store()
    [meta] = w.show(old)["attachments"]
    assert meta["purged_at"] and meta["path"] is None and meta["remote_id"]  # where it went
    [info] = store.get(old).attachments
    assert store.media(info.path_token) == ("image/jpeg", None)
    assert "; its bytes purged" in w.cli("issues", "show", str(old)).output
    [kept] = store.get(young).attachments  # not archived: untouched
    assert kept.purged_at is None and store.media(kept.path_token)[1]
    status = json.loads(w.cli("status", "--json").stdout)["photos"]
    assert (status["stored"], status["purged"], status["purge_after_days"]) == (1, 1, 30)
    assert status["stored_bytes"] == kept.size
    assert "photos: 1 stored" in w.cli("status").output


def test_without_a_retention_period_photos_are_kept_for_good(world: Any, tmp_path: Path) -> None:
    w = world()
    issue_id = w.report("GRAFFITI", *GRAFFITI, image=write(tmp_path, "a.jpg", photo()))
    w.sync()
    w.emulator.state.staff("close", w.remote_id(issue_id))
    w.sync()
    w.later(days=15)
    assert w.sync().archived == 1
    w.later(days=4000)
    assert w.sync().photos_purged == 0
    assert stored(w.store(), issue_id)[0]
    assert "kept for good ([images] purge_after_days is not set)" in w.cli("status").output


def test_a_purge_is_spread_over_passes_in_bounded_batches(world: Any, tmp_path: Path) -> None:
    from sqlalchemy import text

    from scf_plugins.engine import retention

    w = world()
    ids = [w.report("GRAFFITI", *GRAFFITI, image=write(tmp_path, f"{n}.jpg", photo()))
           for n in range(5)]  # fmt: skip
    store = w.store()
    now = datetime.now(UTC)
    with store.transaction() as conn:
        conn.execute(
            text("UPDATE issues SET status = 'archived', archived_at = :at"),
            {"at": (now - timedelta(days=10)).replace(tzinfo=None)},
        )
    purge = lambda: retention.purge_photos(store.transaction, now, timedelta(days=5), limit=3)  # noqa: E731
    assert [purge(), purge(), purge()] == [3, 2, 0]
    assert all(a.purged_at for i in ids for a in store.get(i).attachments)


def test_a_photo_of_a_closed_issue_that_never_went_does_not_fail_the_status_for_good(
    world: Any, tmp_path: Path
) -> None:
    w = world()
    w.emulator.state.inject("503", count=50, match="addrequestattachment")
    issue_id = w.report("GRAFFITI", *GRAFFITI, image=write(tmp_path, "a.jpg", photo()))
    w.sync()
    assert w.cli("status").exit_code == 1  # failing while it can still go
    w.emulator.state.staff("close", w.remote_id(issue_id))
    assert w.sync().closed == 1
    status = w.cli("status")
    assert status.exit_code == 0, status.output
    assert (
        "not sent: the issue left Acknowledged first"
        in w.cli("issues", "show", str(issue_id)).output
    )


def test_the_door_answers_410_for_a_purged_photo_and_drops_its_media_url(door: Door) -> None:
    from sqlalchemy import text

    from scf_plugins.engine import retention

    fields = {"api_key": door.key, "service_code": "GRAFFITI", "lat": "41.3", "long": "-72.9",
              "description": "Tagged wall"}  # fmt: skip
    files = [("media", ("a.jpg", photo(), "image/jpeg"))]
    response = requests.post(f"{door.url}/open311/v2/requests.json", data=fields, files=files,
                             timeout=10)  # fmt: skip
    issue_id = int(response.json()[0]["service_request_id"])
    [before] = requests.get(f"{door.url}/open311/v2/requests/{issue_id}.json", timeout=10).json()
    now = datetime.now(UTC)
    with door.store.transaction() as conn:
        conn.execute(
            text("UPDATE issues SET status = 'archived', archived_at = :at"),
            {"at": (now - timedelta(days=2)).replace(tzinfo=None)},
        )
    assert retention.purge_photos(door.store.transaction, now, timedelta(days=1)) == 1
    gone = requests.get(before["media_url"], timeout=10)
    assert gone.status_code == 410 and "retention" in gone.text
    [after] = requests.get(f"{door.url}/open311/v2/requests/{issue_id}.json", timeout=10).json()
    assert after["media_url"] == ""
