"""The store's own images as an int8 model's calibration set.

The set is the store's oldest images (lowest ids): images only ever join at the end, so the set
of a store with enough images stays the same from build to build, and with it the model key.
Once the store holds features of an int8 model, that model stays the store's (`pinned`) while its
file is on disk, however the store grows.
"""

from __future__ import annotations

from typing import Any

from store import Store


class StoreCalibration:
    """`features.Calibration` on a store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def pinned(self, prefix: str) -> str | None:
        """The int8 key with the most features in the store (normally the only one)."""
        keys = self.store.features.model_keys(prefix)
        return max(keys, key=lambda k: (keys[k], k)) if keys else None

    def sample(self, n: int) -> tuple[list[Any], list[str]]:
        """The store's first n images (files, content hashes)."""
        rows = self.store.images.first_images(n)
        return [file for _, file in rows], [sha for sha, _ in rows]


class KnownModel:
    """`features.Calibration` for a process handed a model key (a Ray actor): that key, no
    images of its own to calibrate on."""

    def __init__(self, key: str) -> None:
        self.key = key

    def pinned(self, prefix: str) -> str | None:
        return self.key if self.key.startswith(prefix) else None

    def sample(self, n: int) -> tuple[list[Any], list[str]]:
        return [], []
