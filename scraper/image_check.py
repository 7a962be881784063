"""Is this body a storable image? Magic bytes, Pillow verify, full decode under a pixel cap; the
perceptual hash and the fingerprint that near-duplicate checks use come from the same decode."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import imagehash
import numpy as np
from PIL import Image, UnidentifiedImageError

from scraper.near_duplicates import fingerprint
from stylescout.errors import ScrapeError

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)


class ImageRejected(ScrapeError):
    """A body that is not a storable image; `reason` is the short failure name."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    """What the store needs to know about a checked image."""

    width: int
    height: int
    format: str
    phash: str
    fingerprint: np.ndarray = field(compare=False, repr=False)  # for confirming near-duplicates


def sniff_format(data: bytes) -> str | None:
    """Image format from the first bytes, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for magic, fmt in _MAGIC if data.startswith(magic)), None)


def inspect_image(data: bytes, max_pixels: int) -> ImageInfo:
    """Check an image fully and compute its perceptual hash; raise ImageRejected otherwise.

    The pixel count is read from the header before anything is decoded, so a decompression bomb
    is refused without ever being expanded.
    """
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected("not_image", "the body does not start like an image file")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as header:
                width, height = header.size
                if width * height > max_pixels:
                    raise ImageRejected("too_many_pixels", f"{width}x{height}")
                header.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()  # a full decode: truncated or corrupt data fails here
                rgb = img.convert("RGB")
                phash = str(imagehash.phash(rgb))
                prints = fingerprint(rgb)
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected("too_many_pixels", str(exc)) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageRejected("corrupt", str(exc) or type(exc).__name__) from None
    return ImageInfo(width=width, height=height, format=fmt, phash=phash, fingerprint=prints)
