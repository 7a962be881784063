from __future__ import annotations

import io

import pytest
from PIL import Image

from sandbox.fault_server import bomb_png, good_jpeg
from scraper.image_check import ImageRejected, inspect_image, sniff_format

LIMIT = 40_000_000


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (good_jpeg(1), "JPEG"),
        (encode(Image.new("RGBA", (40, 30), (1, 2, 3, 4)), "PNG"), "PNG"),
        (encode(Image.new("P", (40, 30)), "GIF"), "GIF"),
        (encode(Image.new("RGB", (40, 30), "red"), "WEBP"), "WEBP"),
        (encode(Image.new("CMYK", (40, 30), (0, 50, 100, 0)), "JPEG"), "JPEG"),
        (encode(Image.new("I;16", (40, 30)), "PNG"), "PNG"),
    ],
)
def test_accepts_images(data: bytes, fmt: str) -> None:
    info = inspect_image(data, LIMIT)
    assert info.format == fmt and sniff_format(data) == fmt
    assert len(info.phash) == 16


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not_image"),
        (b"<html><body>hello</body></html>", "not_image"),
        (b"GIF89a" + b"\x00" * 3, "corrupt"),
        (good_jpeg(2)[:600], "corrupt"),
        (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, "corrupt"),
    ],
)
def test_refuses_non_images(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected) as info:
        inspect_image(data, LIMIT)
    assert info.value.reason == reason


def test_refuses_a_decompression_bomb_from_its_header() -> None:
    data = bomb_png()
    assert len(data) < 200_000  # 400 million pixels in a few dozen KB
    with pytest.raises(ImageRejected) as info:
        inspect_image(data, LIMIT)
    assert info.value.reason == "too_many_pixels"
