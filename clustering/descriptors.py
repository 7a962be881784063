"""From cached CNN and colour features to the unit vectors the index holds; a person's photos go
through the same `combine` (clustering.query), so both live in one space."""

from __future__ import annotations

import numpy as np


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
    garment: np.ndarray | None = None,
) -> np.ndarray:
    """Standardised, unit CNN part, then the garment's weighted blocks (already weighted, see
    clustering.garment.weighted_blocks), then the weighted unit colour part; rows are unit.
    The colour part stays last: the learned space keeps it beside what it learns."""
    parts = [_unit((cnn - mean) / std)]
    if garment is not None and garment.shape[1]:
        parts.append(garment)
    if colour is not None and colour_weight > 0:
        parts.append(colour_weight * _unit(colour))
    return _unit(np.hstack(parts)).astype(np.float32)
