"""Photos carry nothing but pixels: whatever a JPEG, PNG, GIF or WebP brings (comments, text
chunks, EXIF, XMP, ICC profiles, application segments), the kept JPEG holds none of it.

Each file is read structurally, segment by segment (a JPEG marker walker), chunk by chunk (a
PNG chunk walker) and block by block (a GIF block walker), so a check cannot pass because a
string happened to be compressed or split; the inputs are walked too, to prove they carried
what the output must not.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import ExifTags, Image, ImageCms, PngImagePlugin, features

from scf_plugins.intake.images import ImageLimits, prepare
from scf_plugins.testing import Harness

from .served import Door

SECRET = b"SECRET-METADATA"  # every comment, text and XMP packet below carries it
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description>' + SECRET + b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)

# -- walkers ----------------------------------------------------------------------------------

STANDALONE = {0x01, *range(0xD0, 0xDA)}  # TEM, RSTn, SOI, EOI: no length field


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """Every marker of a JPEG with its payload, in order, through the entropy-coded scans to
    EOI; anything after EOI is a segment of its own (marker -1), as a hidden trailer."""
    assert data[:2] == b"\xff\xd8", "not a JPEG (no SOI)"
    out: list[tuple[int, bytes]] = [(0xD8, b"")]
    i = 2
    while i < len(data):
        assert data[i] == 0xFF, f"no marker at byte {i}"
        while data[i] == 0xFF:  # fill bytes
            i += 1
        marker = data[i]
        i += 1
        if marker in STANDALONE:
            out.append((marker, b""))
            if marker == 0xD9:
                if i < len(data):
                    out.append((-1, data[i:]))
                return out
            continue
        (length,) = struct.unpack(">H", data[i : i + 2])
        out.append((marker, data[i + 2 : i + length]))
        i += length
        if marker == 0xDA:  # entropy-coded data up to the next marker that is not a stuffed 0
            while not (data[i] == 0xFF and data[i + 1] != 0 and not 0xD0 <= data[i + 1] <= 0xD7):
                i += 1
    raise AssertionError("a JPEG with no EOI")


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk of a PNG: (type, data), in order."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    out, i = [], 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        out.append((data[i + 4 : i + 8], data[i + 8 : i + 8 + length]))
        i += 12 + length
    return out


def _sub_blocks(data: bytes, i: int) -> tuple[bytes, int]:
    """A GIF data sub-block chain from ``i``: its bytes joined, and where it ends."""
    joined = b""
    while data[i]:
        joined += data[i + 1 : i + 1 + data[i]]
        i += 1 + data[i]
    return joined, i + 1


def gif_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """Every block of a GIF after its screen descriptor: ("ext:FE", data) for an extension
    (label in hex; an application extension's identifier leads its data), ("image", b"")
    and ("trailer", b"")."""
    assert data[:6] in (b"GIF87a", b"GIF89a"), "not a GIF"
    flags = data[10]
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    out: list[tuple[str, bytes]] = []
    while i < len(data):
        kind = data[i]
        if kind == 0x21:
            label = data[i + 1]
            body, i = _sub_blocks(data, i + 2)
            out.append((f"ext:{label:02X}", body))
        elif kind == 0x2C:
            local = data[i + 9]
            i += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            _, i = _sub_blocks(data, i + 1)  # LZW minimum code size, then the pixels
            out.append(("image", b""))
        elif kind == 0x3B:
            out.append(("trailer", b""))
            break
        else:
            raise AssertionError(f"unknown GIF block {kind:#x} at byte {i}")
    return out


def gif_with_extensions(gif: bytes, *extensions: bytes) -> bytes:
    """``gif`` with whole extension blocks put before its first image."""
    flags = gif[10]
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    return gif[:i] + b"".join(extensions) + gif[i:]


def application_extension(identifier: bytes, payload: bytes) -> bytes:
    """A GIF application extension block carrying ``payload`` in 255-byte sub-blocks."""
    assert len(identifier) == 11
    chunks = b"".join(
        bytes([len(payload[n : n + 255])]) + payload[n : n + 255]
        for n in range(0, len(payload), 255)
    )
    return b"\x21\xff\x0b" + identifier + chunks + b"\x00"


# -- what the inputs carry --------------------------------------------------------------------


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


# sRGB's primaries, adapted to D50 as ICC profiles store them.
SRGB_RED, SRGB_GREEN, SRGB_BLUE = (
    (0.4361, 0.2225, 0.0139),
    (0.3851, 0.7169, 0.0971),
    (0.1431, 0.0606, 0.7141),
)


def swapped_profile() -> bytes:
    """A small ICC v2 RGB display profile whose red channel is sRGB's green primary (and green
    red), linear: a pixel stored as pure red is green once colours are honoured, so a test
    can tell a converted photo from one whose profile was just dropped."""
    curve = b"curv\0\0\0\0" + struct.pack(">I", 0)  # no entries: the identity curve
    tags = [
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(*SRGB_GREEN)),
        (b"gXYZ", _xyz(*SRGB_RED)),
        (b"bXYZ", _xyz(*SRGB_BLUE)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    start = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, content in tags:
        table += signature + struct.pack(">II", start + len(body), len(content))
        body += content + b"\0" * (-len(content) % 4)
    header = (
        struct.pack(">I", start + len(body))
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + b"\0" * 4  # rendering intent: perceptual
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\0" * 48
    )
    return header + struct.pack(">I", len(tags)) + table + body


def srgb_profile() -> bytes:
    """Pillow's own sRGB profile."""
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    """EXIF naming a camera and a place (and a turn, when given)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SECRET-METADATA-Camera"
    exif[ExifTags.Base.ImageDescription] = SECRET.decode()
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({1: "N", 2: (41.0, 18.0, 30.0), 3: "W", 4: (72.0, 55.0, 40.0)})
    return exif


def halves(width: int = 40, height: int = 30, top: Any = RED, bottom: Any = BLUE) -> Image.Image:
    """An RGB image, its top half one colour and its bottom half another, so a turn shows."""
    image = Image.new("RGB", (width, height), bottom)
    image.paste(top, (0, 0, width, height // 2))
    return image


def segment(marker: int, payload: bytes) -> bytes:
    """A raw JPEG marker segment."""
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def hostile_jpeg(profile: bytes | None = None, orientation: int | None = 6) -> bytes:
    """A JPEG with a COM segment, EXIF with GPS (APP1), XMP (APP1), an ICC profile (APP2),
    Photoshop IPTC (APP13) and a vendor segment (APP15)."""
    extra = segment(0xED, b"Photoshop 3.0\x00" + SECRET) + segment(0xEF, b"VENDOR\x00" + SECRET)
    out = io.BytesIO()
    halves().save(
        out,
        "JPEG",
        quality=95,
        comment=SECRET,
        exif=exif_with_gps(orientation),
        xmp=XMP,
        icc_profile=profile or srgb_profile(),
        extra=extra,
    )
    return out.getvalue()


def hostile_png(profile: bytes | None = None, mode: str = "RGB") -> bytes:
    """A PNG with tEXt (a lower-case ``comment`` among them), zTXt, iTXt XMP, eXIf and iCCP."""
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", SECRET.decode())  # Pillow reads it as info["comment"]
    info.add_text("Author", SECRET.decode())
    info.add_text("Description", SECRET.decode() * 20, zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    halves().convert(mode).save(
        out,
        "PNG",
        pnginfo=info,
        exif=exif_with_gps(),
        icc_profile=profile or srgb_profile(),
    )
    return out.getvalue()


def hostile_gif(profile: bytes | None = None) -> bytes:
    """A GIF with a comment extension, and XMP and ICC application extensions."""
    out = io.BytesIO()
    halves().save(out, "GIF", comment=SECRET)
    return gif_with_extensions(
        out.getvalue(),
        application_extension(b"XMP DataXMP", XMP),
        application_extension(b"ICCRGBG1012", profile or srgb_profile()),
    )


# -- what the output may hold -----------------------------------------------------------------

ALLOWED = {
    0xD8: "SOI",
    0xE0: "APP0 (JFIF)",
    0xDB: "DQT",
    0xC0: "SOF0",
    0xC1: "SOF1",
    0xC2: "SOF2",
    0xC4: "DHT",
    0xDD: "DRI",
    0xDA: "SOS",
    0xD9: "EOI",
    **{n: "RST" for n in range(0xD0, 0xD8)},
}


def assert_pixels_only(data: bytes) -> None:
    """The JPEG holds image data and the JFIF header, and nothing else at all."""
    segments = jpeg_segments(data)
    extra = [f"{m:#04x}" for m, _ in segments if m not in ALLOWED]
    assert not extra, f"segments other than pixels and the JFIF header: {extra}"
    app0 = [p for m, p in segments if m == 0xE0]
    assert len(app0) == 1 and app0[0].startswith(b"JFIF\x00"), "APP0 is not a bare JFIF header"
    assert app0[0][12:14] == b"\x00\x00", "the JFIF header carries a thumbnail"
    assert segments[-1][0] == 0xD9, "data after EOI"
    assert SECRET not in data and b"Exif" not in data and b"ICC_PROFILE" not in data


def colour_at(data: bytes, x: int, y: int) -> tuple[int, ...]:
    """The RGB colour at (x, y) of a decoded image."""
    with Image.open(io.BytesIO(data)) as image:
        pixel = image.convert("RGB").getpixel((x, y))
    assert isinstance(pixel, tuple)
    return pixel


def near(got: tuple[int, ...], want: tuple[int, int, int], slack: int = 24) -> bool:
    """Colours equal within JPEG's loss."""
    return all(abs(a - b) <= slack for a, b in zip(got, want, strict=True))


LIMITS = ImageLimits()


# -- the inputs are what they say ------------------------------------------------------------


def test_the_inputs_carry_every_kind_of_metadata() -> None:
    markers = [m for m, _ in jpeg_segments(hostile_jpeg())]
    assert {0xFE, 0xE1, 0xE2, 0xED, 0xEF} <= set(markers)
    app1 = [p[:4] for m, p in jpeg_segments(hostile_jpeg()) if m == 0xE1]
    assert b"Exif" in app1 and b"http" in app1  # EXIF and XMP
    chunks = {kind for kind, _ in png_chunks(hostile_png())}
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"} <= chunks
    blocks = gif_blocks(hostile_gif())
    assert ("ext:FE", SECRET) in blocks  # the comment
    assert {b[:11] for k, b in blocks if k == "ext:FF"} >= {b"XMP DataXMP", b"ICCRGBG1012"}
    with Image.open(io.BytesIO(hostile_gif())) as gif:
        assert gif.info.get("comment") == SECRET  # Pillow would write it back as a COM segment


# -- intake: each format ---------------------------------------------------------------------


def test_a_jpeg_keeps_its_pixels_and_turn_and_loses_everything_else() -> None:
    photo = prepare(hostile_jpeg(), "IMG_1.jpg", LIMITS)
    assert_pixels_only(photo.content)
    # Orientation 6 (turn right to view): the red top is on the right now, as before.
    assert (photo.width, photo.height) == (30, 40)
    assert near(colour_at(photo.content, 25, 20), RED)
    assert near(colour_at(photo.content, 4, 20), BLUE)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P"])
def test_a_png_loses_its_text_exif_and_profile(mode: str) -> None:
    photo = prepare(hostile_png(mode=mode), "scan.png", LIMITS)
    assert_pixels_only(photo.content)
    assert (photo.width, photo.height) == (40, 30)
    assert near(colour_at(photo.content, 20, 4), RED)
    assert near(colour_at(photo.content, 20, 25), BLUE)


def test_a_gif_loses_its_comment_xmp_and_profile() -> None:
    photo = prepare(hostile_gif(), "anim.gif", LIMITS)
    assert_pixels_only(photo.content)
    assert (photo.width, photo.height) == (40, 30)
    assert near(colour_at(photo.content, 20, 4), RED)


@pytest.mark.skipif(not features.check("webp"), reason="this Pillow has no WebP")
def test_a_webp_loses_its_exif_xmp_and_profile() -> None:
    out = io.BytesIO()
    halves().save(out, "WEBP", exif=exif_with_gps(), xmp=XMP, icc_profile=srgb_profile())
    assert b"EXIF" in out.getvalue() and b"ICCP" in out.getvalue()
    photo = prepare(out.getvalue(), "x.webp", LIMITS)
    assert_pixels_only(photo.content)
    assert (photo.width, photo.height) == (40, 30)


# -- colours: converted to sRGB, then the profile is dropped ---------------------------------


@pytest.mark.parametrize("make", [hostile_jpeg, hostile_png, hostile_gif])
def test_colours_are_converted_to_srgb_before_the_profile_goes(make: Any) -> None:
    # The stored red is, through the input's profile, sRGB green: the kept photo shows green
    # (at 20,4 in each: the JPEG's turn puts its red half on the right).
    photo = prepare(make(swapped_profile()), "wide-gamut", LIMITS)
    assert_pixels_only(photo.content)
    assert near(colour_at(photo.content, 20, 4), GREEN), colour_at(photo.content, 20, 4)


def test_a_damaged_profile_is_dropped_and_the_photo_kept() -> None:
    out = io.BytesIO()
    halves().save(out, "JPEG", icc_profile=b"not a profile at all" * 10)
    photo = prepare(out.getvalue(), "odd.jpg", LIMITS)
    assert_pixels_only(photo.content)
    assert near(colour_at(photo.content, 20, 4), RED)


def test_a_large_photo_is_shrunk_and_still_bare() -> None:
    out = io.BytesIO()
    halves(3000, 1000).save(out, "JPEG", comment=SECRET, icc_profile=swapped_profile())
    photo = prepare(out.getvalue(), "big.jpg", LIMITS)
    assert_pixels_only(photo.content)
    assert (photo.width, photo.height) == (2048, 683)
    assert near(colour_at(photo.content, 1000, 100), GREEN)


# -- end to end: what the public media address and Cityworks get -----------------------------


def test_the_public_media_address_serves_pixels_only(door: Door) -> None:
    files = [
        ("photo1", ("a.jpg", hostile_jpeg(), "image/jpeg")),
        ("photo2", ("b.png", hostile_png(), "image/png")),
        ("photo3", ("c.gif", hostile_gif(), "image/gif")),
    ]
    fields = {"api_key": door.key, "service_code": "GRAFFITI", "lat": "41.3", "long": "-72.9",
              "description": "Tagged wall"}  # fmt: skip
    response = requests.post(
        f"{door.url}/open311/v2/requests.json", data=fields, files=files, timeout=10
    )
    assert response.status_code == 200, response.text
    record = door.store.get(int(response.json()[0]["service_request_id"]))
    assert record is not None and len(record.attachments) == 3
    for attachment in record.attachments:
        served = requests.get(f"{door.url}/media/{attachment.path_token}.jpg", timeout=10)
        assert served.status_code == 200
        assert_pixels_only(served.content)


def test_cityworks_gets_pixels_only(world: Any, tmp_path: Path) -> None:
    w: Harness = world()
    path = tmp_path / "wall.jpg"
    path.write_bytes(hostile_jpeg())
    issue_id = w.report("GRAFFITI", "511=No", "512=Public property", "514=2026-01-02",
                        image=str(path))  # fmt: skip
    assert w.sync().acknowledged == 1
    [record] = w.emulator.state.attachments[w.remote_id(issue_id)]
    assert_pixels_only(w.emulator.state.attachment_files[record["Id"]])
