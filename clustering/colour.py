"""A colour descriptor of the garment: RGB histogram without the near-white studio background."""

from __future__ import annotations

import numpy as np
from PIL import Image

from stylescout.settings import ColourConfig


def colour_key(cfg: ColourConfig) -> str:
    """Identity of the descriptor's settings (its cache key)."""
    return f"colour-rgb{cfg.bins}-bg{cfg.background_threshold}"


def colour_histogram(img: Image.Image, cfg: ColourConfig) -> np.ndarray:
    """Square-rooted, normalised histogram of the foreground pixels (all pixels if too few)."""
    small = img.convert("RGB")
    if small.width * small.height > 160 * 160:
        small = small.copy()
        small.thumbnail((160, 160))
    pixels = np.asarray(small, dtype=np.uint8).reshape(-1, 3)
    foreground = pixels[pixels.min(axis=1) < cfg.background_threshold]
    if len(foreground) >= 20:
        pixels = foreground
    bins = np.minimum(pixels.astype(np.int32) * cfg.bins // 256, cfg.bins - 1)
    index = (bins[:, 0] * cfg.bins + bins[:, 1]) * cfg.bins + bins[:, 2]
    hist = np.bincount(index, minlength=cfg.bins**3).astype(np.float32)
    return np.sqrt(hist / max(hist.sum(), 1.0))
