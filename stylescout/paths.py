"""Where things live under the data folder, known without opening the store.

A command that only needs to find the style index (or the cache) computes it from `data_dir`;
opening the store would run its migrations and clean-up for nothing.
"""

from __future__ import annotations

from pathlib import Path


def cache_dir(data_dir: Path) -> Path:
    """Derived files that can be rebuilt at any time (thumbnails, uploads, drawing locks)."""
    return data_dir / "cache"


def index_dir(data_dir: Path) -> Path:
    """The style index artefacts (`data/index/`); the engine writes and reads them."""
    return data_dir / "index"


def challenger_index_dir(data_dir: Path) -> Path:
    """The index of the backbone compared online (`recommender.interleave`)."""
    return data_dir / "index-challenger"
