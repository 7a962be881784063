"""Upload checks: what a person may upload, and what is refused with a reason."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dash_app.web.uploads import UploadRejected, accept_upload, check_photo, decode_data_url
from sandbox.fault_server import bomb_png
from tests.conftest import image_bytes

MB = 1_000_000


def _url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"just some text, named photo.jpg", "not a JPEG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "SVG"),
        (b"<?xml version='1.0'?><svg/>", "SVG"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "HTML"),
        (bomb_png(30_000), "too many pixels"),
    ],
)
def test_refused(data: bytes, why: str) -> None:
    with pytest.raises(UploadRejected, match=why):
        check_photo(data, 15 * MB, 40 * MB)


def test_truncated_jpeg_and_oversize_are_refused() -> None:
    jpeg = image_bytes(Image.new("RGB", (300, 300), "red"), "JPEG")
    with pytest.raises(UploadRejected, match="could not be read"):
        check_photo(jpeg[: len(jpeg) // 2], 15 * MB, 40 * MB)
    with pytest.raises(UploadRejected, match="larger than the 1 MB limit"):
        check_photo(jpeg + b"\0" * MB, MB, 40 * MB)
    big = "data:image/jpeg;base64," + "A" * (4 * MB)  # refused before decoding
    with pytest.raises(UploadRejected, match="larger than"):
        decode_data_url(big, MB)
    with pytest.raises(UploadRejected, match="damaged"):
        decode_data_url("data:image/jpeg;base64,@@@@", MB)


@pytest.mark.parametrize(
    "make",
    [
        lambda: image_bytes(Image.new("CMYK", (64, 80), (0, 200, 0, 0)), "JPEG"),
        lambda: image_bytes(Image.fromarray(np.full((80, 64), 40000, np.uint16)), "PNG"),
        lambda: image_bytes(Image.new("RGBA", (64, 80), (10, 20, 30, 128)), "PNG"),
        lambda: image_bytes(
            Image.new("P", (64, 80), 3),
            "GIF",
            save_all=True,
            append_images=[Image.new("P", (64, 80), 9)],
            duration=100,
            loop=0,
        ),
        lambda: image_bytes(Image.new("RGB", (64, 80), "navy"), "WEBP"),
    ],
    ids=["cmyk-jpeg", "16-bit-png", "rgba-png", "animated-gif", "webp"],
)
def test_accepted_formats(make: object, tmp_path: Path) -> None:
    data = make()  # type: ignore[operator]
    upload = accept_upload(_url(data), tmp_path, 15 * MB, 40 * MB)
    assert upload.path.name == f"{upload.sha256}.{upload.path.suffix[1:]}"
    assert upload.path.read_bytes() == data
    assert upload.preview.startswith("data:image/jpeg;base64,")


def test_exif_rotated_photo_is_turned_upright(tmp_path: Path) -> None:
    img = Image.new("RGB", (80, 40), "white")  # stored landscape, EXIF says rotate 90
    exif = Image.Exif()
    exif[0x0112] = 6
    data = image_bytes(img, "JPEG", exif=exif.tobytes())
    upload = accept_upload(_url(data), tmp_path, 15 * MB, 40 * MB)
    preview = Image.open(io.BytesIO(base64.b64decode(upload.preview.split(",", 1)[1])))
    assert preview.height > preview.width
