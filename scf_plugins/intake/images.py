"""Residents' photos, made safe to keep and to send: checked, then re-encoded.

A photo from a resident is untrusted bytes. :func:`prepare` checks them first:

- **a size cap**, checked before anything is decoded;
- **the type**, sniffed from the content, never from the name: JPEG, PNG, GIF or WebP
  (HEIC where Pillow has a HEIF plugin installed);
- **the pixel count**, read from the header before the pixels are decoded, so a small file
  that would decode to gigabytes (a decompression bomb) is refused.

It then re-encodes the image:

- the EXIF orientation is applied to the pixels;
- the long side is at most ``max_side`` pixels;
- colours in an embedded ICC profile are converted to sRGB, then the profile is dropped;
- the result is a JPEG with no metadata at all: its only application segment is the JFIF
  header (APP0). GPS, camera, EXIF, XMP, ICC, comments (a JPEG COM segment, PNG text chunks,
  a GIF comment) are all gone: nothing from the original file is kept but its pixels.

Each refusal is a :class:`~scf_plugins.errors.UserError` that says what to send instead.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from PIL import Image

MB = 1024 * 1024
ACCEPTED = ("JPEG", "PNG", "GIF", "WEBP", "HEIF")  # Pillow's names; HEIF needs pillow-heif
MAX_PIXELS = 50_000_000  # a 50-megapixel photo is the largest a phone takes; more is a bomb
JPEG_QUALITY = 85
GIF_PROFILE_SCAN = 4 * MB  # a GIF's colour profile is looked for in its first bytes only


@dataclass(frozen=True)
class ImageLimits:
    """How many photos an issue takes, how large each may be, how large it is kept, and for
    how long: ``purge_after_days`` after its issue is archived (None: for good)."""

    max_per_issue: int = 5
    max_bytes: int = 10 * MB
    max_side: int = 2048
    purge_after_days: float | None = None


@dataclass(frozen=True)
class Photo:
    """A photo ready to store: a clean JPEG and the name it is shown under."""

    filename: str
    content: bytes
    width: int
    height: int
    content_type: str = "image/jpeg"

    @property
    def size(self) -> int:
        """Its size in bytes."""
        return len(self.content)


def prepare(data: bytes, name: str, limits: ImageLimits) -> Photo:
    """Check a resident's photo and re-encode it as a clean JPEG.

    :param data: the bytes as received.
    :param name: what to call it (a file name, a form part's name); only used for messages
        and the stored name's stem.
    :raises UserError: when it is too large, not an image of an accepted type, a
        decompression bomb, or cannot be decoded; the message says what to send instead.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    label = f"image {name!r}"
    _check_size(label, len(data), limits)
    if not data:
        raise UserError(f"{label} is empty; send a JPEG, PNG, GIF or WebP photo")
    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_readable()) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise Image.DecompressionBombError(f"{opened.width}x{opened.height}")
                opened.load()
                profile = opened.info.get("icc_profile") or (
                    _gif_profile(data) if opened.format == "GIF" else None
                )
                upright = ImageOps.exif_transpose(opened)
                clean = _flatten(_in_srgb(upright, profile))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(
            f"{label} decodes to more than {MAX_PIXELS // 1_000_000} million pixels (a "
            f"decompression bomb, or far larger than any photo needs); send a smaller photo"
        ) from None
    except UnidentifiedImageError:
        raise UserError(
            f"{label} is not a JPEG, PNG, GIF or WebP image (its content says so, whatever "
            f"its name); send a photo in one of those formats"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UserError(f"{label} cannot be decoded ({exc}); send the photo again") from None
    clean.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    bare = _pixels_only(clean)
    out = io.BytesIO()
    bare.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return Photo(_stem(name) + ".jpg", out.getvalue(), bare.width, bare.height)


def check_count(count: int, limits: ImageLimits, how: str = "with --image") -> None:
    """Refuse more photos than an issue takes.

    :raises UserError: naming the limit.
    """
    if count > limits.max_per_issue:
        raise UserError(
            f"{count} images sent {how}; an issue takes at most {limits.max_per_issue} "
            f"(the [images] max_per_issue setting)"
        )


def from_files(paths: Sequence[str], limits: ImageLimits) -> list[Photo]:
    """The photos at ``paths`` (``scf report --image``), each checked and re-encoded; a file
    larger than the cap is refused before it is read.

    :raises UserError: for the first file that cannot be taken, naming it.
    """
    check_count(len(paths), limits)
    photos = []
    for path in paths:
        try:
            _check_size(f"image {path!r}", os.stat(path).st_size, limits)
            with open(path, "rb") as fh:
                data = fh.read(limits.max_bytes + 1)
        except OSError as exc:
            raise UserError(
                f"--image {path!r} cannot be read ({exc.strerror or exc}); check the path"
            ) from None
        photos.append(prepare(data, os.path.basename(path), limits))
    return photos


def _check_size(label: str, size: int, limits: ImageLimits) -> None:
    """Refuse a photo over the cap (before it is decoded, or even read)."""
    if size > limits.max_bytes:
        raise UserError(
            f"{label} is {size / MB:.1f} MB; the limit is {limits.max_bytes / MB:g} MB; "
            f"send a smaller photo"
        )


def _readable() -> list[str]:
    """The accepted formats this Pillow can read (HEIF only with its plugin)."""
    from PIL import Image

    Image.init()
    return [name for name in ACCEPTED if name in Image.OPEN]


def _in_srgb(image: Image.Image, profile: object) -> Image.Image:
    """The pixels converted from the embedded colour profile to sRGB, so colours stay right
    once the profile is dropped (a JPEG without one is read as sRGB). An image without a
    profile, or with one the colour engine cannot use (damaged, or not for the image's
    colour space), keeps its pixels as they are: a broken profile never costs the photo."""
    if not isinstance(profile, bytes) or not profile:
        return image
    try:
        from PIL import ImageCms
    except ImportError:  # a Pillow built without LittleCMS: the pixels go as they are
        return image
    alpha = None
    work = image.convert("RGBA") if image.mode == "P" else image
    if work.mode in ("RGBA", "LA"):
        # The colour engine converts colour channels only: alpha is carried across as it is.
        alpha = work.getchannel("A")
        work = work.convert(work.mode[:-1])
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(
            work, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    if converted is None:  # only with inPlace=True, which is not asked for
        return image
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def _gif_profile(data: bytes) -> bytes | None:
    """The ICC profile a GIF carries in an ``ICCRGBG1012`` application extension before its
    first image (Pillow does not read it), or None. Bounded by the bytes: a truncated or odd
    block ends the search, never the photo."""
    try:
        flags = data[10]
        i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # past the global palette
        while data[i] == 0x21 and i < GIF_PROFILE_SCAN:  # extensions, up to the first image
            label, i = data[i + 1], i + 2
            body = bytearray()
            while data[i] and i < GIF_PROFILE_SCAN:
                body += data[i + 1 : i + 1 + data[i]]
                i += 1 + data[i]
            i += 1
            if label == 0xFF and body[:11] == b"ICCRGBG1012":
                return bytes(body[11:])
    except IndexError:
        pass
    return None


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image holding ``image``'s pixels and nothing else.

    Pillow carries what it read (``info``: a JPEG or GIF comment, PNG text, the ICC profile,
    EXIF, XMP, dpi) through conversions and writes some of it back on save, the JPEG comment
    among them; a fresh image has an empty ``info``, so the saved file holds pixels only.
    """
    from PIL import Image

    bare = Image.new(image.mode, image.size)
    bare.paste(image)
    return bare


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels (a transparent photo on white; an animation's first frame)."""
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _stem(name: str) -> str:
    """A safe file-name stem from what the client called the photo."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in base).strip("-")
    return cleaned[:60] or "photo"


_heif_checked = False


def _register_heif() -> None:
    """Let Pillow read HEIC where the pillow-heif plugin is installed (not a dependency)."""
    global _heif_checked
    if _heif_checked:
        return
    _heif_checked = True
    try:
        from pillow_heif import register_heif_opener  # type: ignore[import-not-found]
    except ImportError:
        return
    register_heif_opener()
