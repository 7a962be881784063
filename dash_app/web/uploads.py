"""A person's uploaded photos: checked on the server, kept by content hash (never by the client's
file name) in the cache folder, outside the catalogue."""

from __future__ import annotations

import base64
import binascii
import ctypes
import ctypes.util
import functools
import hashlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from clustering.images import to_rgb
from dash_app.web.inputs import SHA256_RE
from scraper.image_check import sniff_format
from stylescout.errors import StyleScoutError

log = logging.getLogger(__name__)

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}
ACCEPTED = "JPEG, PNG, GIF, WebP or BMP"
# An upload is decoded into a working image whose longer side is WORKING_SIDE to twice that:
# enough for the 120-pixel preview, and a few MB where the photo may be 40 megapixels.
WORKING_SIDE = 480
_REDUCIBLE = {"L", "LA", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "I", "F"}
_ORIENTATION = 0x0112
_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_TRIM_ABOVE_PIXELS = 4_000_000  # after a decode this large, freed heap pages go back at once


class UploadRejected(StyleScoutError):
    """A file that cannot be used as a photo; the message is shown to the person."""


@dataclass(frozen=True)
class Upload:
    """An accepted photo: its hash, where it is kept, and a small preview as a data URL."""

    sha256: str
    path: Path
    width: int
    height: int
    format: str
    preview: str


@dataclass(frozen=True)
class Decoded:
    """A checked photo: its format and size as stored, and a small upright RGB working image."""

    format: str
    width: int
    height: int
    image: Image.Image


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None elsewhere (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def _release_freed_memory() -> None:
    """Hand the heap pages a large decode freed back to the system. glibc keeps the pages its
    per-thread arenas freed, so a server whose long-lived threads decoded a few large photos
    stayed that large: six 39-megapixel PNGs on two threads kept 230 MB without this, 103 MB
    with it (what stays is the top of each thread's heap, which malloc_trim leaves alone)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def decode_data_url(contents: str, max_bytes: int) -> bytes:
    """The bytes of a `data:<type>;base64,<payload>` upload, refusing oversize payloads unread."""
    header, sep, payload = (contents or "").partition(",")
    if not sep or not header.startswith("data:") or not header.endswith(";base64"):
        raise UploadRejected("the upload did not arrive as a file")
    if len(payload) * 3 // 4 > max_bytes + 2:
        raise UploadRejected(f"is larger than the {max_bytes // 1_000_000} MB limit")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise UploadRejected("the upload is damaged (not valid base64)") from None


def _upright_rgb(img: Image.Image, orientation: int) -> Image.Image:
    """A small working image as a person sees it (the steps of `clustering.images.load_rgb`,
    on pixels already reduced): EXIF rotation, then any mode to RGB as the features see it."""
    if orientation in _TURNS:
        img = img.transpose(_TURNS[orientation])
    return to_rgb(img)


def _working_image(img: Image.Image) -> Image.Image:
    """The loaded `img` shrunk by a whole factor until its longer side is under twice
    WORKING_SIDE: the full-size pixels are then dropped by the caller at once, and every later
    step (rotation, colour conversion, preview) works on a small copy, not on 40 megapixels."""
    if img.mode == "P":  # a palette cannot be averaged: colours first
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode == "1":
        img = img.convert("L")
    factor = max(img.size) // WORKING_SIDE
    if factor < 2:
        return img.copy()
    if img.mode in _REDUCIBLE:
        return img.reduce(factor)
    size = (max(1, img.width // factor), max(1, img.height // factor))
    return img.resize(size, Image.BOX)  # e.g. 16-bit grey, which reduce() does not take


def decode_photo(data: bytes, max_bytes: int, max_pixels: int) -> Decoded:
    """Check `data` fully (size, magic bytes, the pixel count from the header, a full decode)
    and keep a small working image of it; raises UploadRejected with the reason otherwise.

    One decode serves both the check and the preview. A JPEG is decoded at 1/2 to 1/8 scale
    (libjpeg still reads every block, so a truncated file fails), other formats at full size and
    reduced at once: a 39-megapixel PNG holds one 156 MB buffer for a moment, not several."""
    if not data:
        raise UploadRejected("is empty (0 bytes)")
    if len(data) > max_bytes:
        raise UploadRejected(f"is larger than the {max_bytes // 1_000_000} MB limit")
    fmt = sniff_format(data)
    if fmt is None:
        head = data[:512].lstrip().lower()
        if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
            raise UploadRejected(f"is an SVG drawing; only {ACCEPTED} photos are accepted")
        if head.startswith((b"<!doctype", b"<html", b"<")):
            raise UploadRejected(f"is an HTML or text file, not a photo ({ACCEPTED})")
        raise UploadRejected(f"is not a {ACCEPTED} image")
    too_many = f"has too many pixels (limit {max_pixels / 1e6:.0f} megapixels)"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as header:
                width, height = header.size
                if width * height > max_pixels:  # refused before a pixel is expanded
                    raise UploadRejected(too_many)
                header.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.seek(0)  # the first frame of an animation
                orientation = img.getexif().get(_ORIENTATION, 1)
                if fmt == "JPEG":
                    img.draft(None, (WORKING_SIDE, WORKING_SIDE))
                img.load()  # the full decode: truncated or corrupt data fails here
                work = _working_image(img)
            # the full-size pixels were freed as `img` closed; the rest is on the small copy
            shown = _upright_rgb(work, orientation)
        except UploadRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UploadRejected(too_many) from None
        except Exception as exc:  # any failure to decode is the file's fault
            known = isinstance(exc, OSError | SyntaxError | ValueError | EOFError)
            reason = "corrupt" if known else type(exc).__name__
            log.info("upload refused: %s %s", reason, str(exc)[:200])
            raise UploadRejected(f"could not be read as an image ({reason})") from None
    if width * height >= _TRIM_ABOVE_PIXELS:
        _release_freed_memory()
    return Decoded(fmt, width, height, shown)


def check_photo(data: bytes, max_bytes: int, max_pixels: int) -> str:
    """The image format of acceptable bytes; raises UploadRejected with the reason otherwise."""
    return decode_photo(data, max_bytes, max_pixels).format


def _preview(img: Image.Image, size: int = 120) -> str:
    small = img.copy()
    small.thumbnail((size, size), Image.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def accept_upload(contents: str | bytes, folder: Path, max_bytes: int, max_pixels: int) -> Upload:
    """Check an uploaded file (a data URL, or the bytes already taken from one) and keep it as
    `<folder>/<sha256>.<ext>`."""
    data = contents if isinstance(contents, bytes) else decode_data_url(contents, max_bytes)
    shown = decode_photo(data, max_bytes, max_pixels)
    sha = hashlib.sha256(data).hexdigest()
    preview = _preview(shown.image)  # from the bytes in hand, never from a file being written
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha}.{EXTENSIONS[shown.format]}"
    if not path.is_file():  # same bytes, same name: a target that already exists is success
        handle, name = tempfile.mkstemp(prefix=f".{sha[:16]}.", suffix=".part", dir=folder)
        temp = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            temp.replace(path)
        finally:
            temp.unlink(missing_ok=True)
    return Upload(sha, path, shown.width, shown.height, shown.format, preview)


def upload_path(folder: Path, sha256: str) -> Path | None:
    """Where an accepted upload is kept, or None (e.g. the cache was cleared). Only a sha256
    (64 lower-case hex digits) names an upload: a path or anything else is None, unread."""
    if not isinstance(sha256, str) or SHA256_RE.fullmatch(sha256) is None:
        return None
    for ext in EXTENSIONS.values():
        path = folder / f"{sha256}.{ext}"
        if path.is_file():
            return path
    return None
