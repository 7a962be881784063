"""A person's uploaded photos: checked on the server, kept by content hash (never by the client's
file name) in the cache folder, outside the catalogue."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from clustering.images import load_rgb
from dash_app.web.inputs import SHA256_RE
from scraper.image_check import ImageRejected, inspect_image, sniff_format
from stylescout.errors import StyleScoutError

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}
ACCEPTED = "JPEG, PNG, GIF, WebP or BMP"


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


def _preview(path: Path | io.BytesIO, size: int = 120) -> str:
    img = load_rgb(path)
    img.thumbnail((size, size), Image.LANCZOS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def check_photo(data: bytes, max_bytes: int, max_pixels: int) -> str:
    """The image format of acceptable bytes; raises UploadRejected with the reason otherwise."""
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
    try:
        inspect_image(data, max_pixels)
    except ImageRejected as exc:
        if exc.reason == "too_many_pixels":
            raise UploadRejected(
                f"has too many pixels (limit {max_pixels / 1e6:.0f} megapixels)"
            ) from None
        raise UploadRejected(f"could not be read as an image ({exc.reason})") from None
    return fmt


def accept_upload(contents: str, folder: Path, max_bytes: int, max_pixels: int) -> Upload:
    """Check an uploaded file and keep it as `<folder>/<sha256>.<ext>`."""
    data = decode_data_url(contents, max_bytes)
    fmt = check_photo(data, max_bytes, max_pixels)
    sha = hashlib.sha256(data).hexdigest()
    try:  # from the bytes in hand: a file another request is writing is never read here
        preview = _preview(io.BytesIO(data))
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except Exception as exc:  # decoded once already; anything here is still the file's fault
        raise UploadRejected(f"could not be read as an image ({type(exc).__name__})") from None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha}.{EXTENSIONS[fmt]}"
    if not path.is_file():  # same bytes, same name: a target that already exists is success
        handle, name = tempfile.mkstemp(prefix=f".{sha[:16]}.", suffix=".part", dir=folder)
        temp = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            temp.replace(path)
        finally:
            temp.unlink(missing_ok=True)
    return Upload(sha, path, width, height, fmt, preview)


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
