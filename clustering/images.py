"""Image loading for feature extraction: EXIF orientation, any mode to RGB, resize with padding."""

from __future__ import annotations

import warnings
from typing import IO

import numpy as np
from PIL import Image, ImageOps

from store.files import StoredFile, image_source

MAX_PIXELS = 40_000_000


def load_rgb(path: StoredFile | str | IO[bytes], max_pixels: int = MAX_PIXELS) -> Image.Image:
    """An RGB image the way a person sees it: EXIF rotation applied, first frame of an
    animation, alpha composited on white, palette / CMYK / 16-bit / grey converted. `path` is a
    local file or a stored one in a remote image folder."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with image_source(path) as source, Image.open(source) as img:
            if img.width * img.height > max_pixels:
                raise ValueError(f"{img.width}x{img.height} is over the pixel limit")
            img.seek(0)
            return to_rgb(ImageOps.exif_transpose(img))


def to_rgb(img: Image.Image) -> Image.Image:
    """Any mode as RGB the way a person sees it: 16-bit grey to 8-bit, a palette's or an alpha
    channel's transparency on white (not black), CMYK and grey converted."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")  # 16-bit grey to 8-bit
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB")


def fit(
    img: Image.Image,
    size: int,
    pad: bool = True,
    pad_colour: tuple[int, int, int] = (255, 255, 255),
) -> np.ndarray:
    """A size x size uint8 array: aspect kept and padded, or squashed."""
    if pad:
        out = ImageOps.pad(img, (size, size), method=Image.BICUBIC, color=pad_colour)
    else:
        out = img.resize((size, size), Image.BICUBIC)
    return np.asarray(out, dtype=np.uint8)
