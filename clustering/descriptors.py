"""From cached CNN and colour features to the unit vectors the index holds, and the same for a
person's photos, so both live in one space."""

from __future__ import annotations

import numpy as np

from clustering.colour import colour_histogram
from clustering.features import FeatureExtractor
from clustering.images import load_rgb
from store.config import FeaturesConfig


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def standardisation(cnn: np.ndarray, enabled: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std over the store (identity when standardising is off)."""
    if not enabled or len(cnn) < 2:
        return np.zeros(cnn.shape[1], np.float32), np.ones(cnn.shape[1], np.float32)
    return cnn.mean(axis=0).astype(np.float32), np.maximum(cnn.std(axis=0), 1e-6).astype(np.float32)


def combine(
    cnn: np.ndarray,
    colour: np.ndarray | None,
    mean: np.ndarray,
    std: np.ndarray,
    colour_weight: float,
) -> np.ndarray:
    """Standardised, unit CNN part joined to the weighted unit colour part; rows are unit."""
    parts = [_unit((cnn - mean) / std)]
    if colour is not None and colour_weight > 0:
        parts.append(colour_weight * _unit(colour))
    return _unit(np.hstack(parts)).astype(np.float32)


def embed_photos(
    paths: list[str],
    extractor: FeatureExtractor,
    cfg: FeaturesConfig,
    mean: np.ndarray,
    std: np.ndarray,
    with_colour: bool,
) -> tuple[np.ndarray, dict[int, str]]:
    """Index-space vectors for a person's photos, and which could not be read."""
    extraction = extractor.extract(paths)
    colour = None
    if with_colour:
        colour = (
            np.stack([colour_histogram(load_rgb(paths[i]), cfg.colour) for i in extraction.ok])
            if extraction.ok
            else None
        )
    if not extraction.ok:
        return np.zeros((0, 0), np.float32), extraction.failures
    vectors = combine(extraction.vectors, colour, mean, std, cfg.colour.weight)
    return vectors, extraction.failures
