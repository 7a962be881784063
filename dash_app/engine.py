"""The style engine as the dashboard holds it: the current index (reloaded when a build swaps in
a new one, so new styles appear without a restart) and one feature extractor for people's photos."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clustering.colour import colour_histogram, colour_key
from clustering.descriptors import combine
from clustering.features import FeatureExtractor
from clustering.images import fit, load_rgb
from clustering.index import IndexMissingError, StyleIndex, current_folder, load_index
from clustering.recommender import Recommender
from store import Config, Store, StyleScoutError

log = logging.getLogger(__name__)
_VECTOR_CACHE = 512  # photos' index-space vectors kept, by (model key, sha256)


class EngineMismatchError(StyleScoutError):
    """The dashboard's feature settings differ from those the index was built with."""


@dataclass
class LoadedIndex:
    """One loaded index with its recommender; derived views are computed once, on demand."""

    folder: Path
    index: StyleIndex
    recommender: Recommender
    _map: np.ndarray | None = field(default=None, repr=False)
    derived: dict = field(default_factory=dict, repr=False)  # per-index views pages compute once

    def map2d(self) -> np.ndarray:
        """Every item's position on the style map: the first two principal components."""
        if self._map is None:
            x = self.index.vectors - self.index.vectors.mean(axis=0)
            if len(x) < 2:
                self._map = np.zeros((len(x), 2), np.float32)
            else:
                _, _, vt = np.linalg.svd(x, full_matrices=False)
                self._map = (x @ vt[:2].T).astype(np.float32)
        return self._map

    def vectors_of(self, ids: list[int]) -> tuple[list[int], np.ndarray]:
        """The index vectors of those ids that are in the index."""
        positions = np.searchsorted(self.index.ids, ids)
        found = [
            (i, int(p))
            for i, p in zip(ids, positions, strict=True)
            if p < len(self.index.ids) and self.index.ids[p] == i
        ]
        if not found:
            return [], np.zeros((0, self.index.vectors.shape[1]), np.float32)
        return [i for i, _ in found], self.index.vectors[[p for _, p in found]]


class Engine:
    """Shared by every request of one app; thread-safe."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self._lock = threading.Lock()
        self._model_lock = threading.Lock()
        self._loaded: LoadedIndex | None = None
        self._extractor: FeatureExtractor | None = None
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def loaded(self) -> LoadedIndex | None:
        """The current index, reloaded when a build has swapped in a new one; None before any."""
        folder = current_folder(self.store.index_dir)
        with self._lock:
            if folder is None:
                return None
            if self._loaded is None or self._loaded.folder != folder:
                try:
                    index = load_index(self.store.index_dir)
                except (IndexMissingError, OSError, ValueError) as exc:
                    log.warning("could not load the style index: %s", exc)
                    return self._loaded
                self._loaded = LoadedIndex(
                    folder, index, Recommender(index, self.config.recommender)
                )
                log.info("loaded style index %s (%d items)", folder.name, len(index.ids))
            return self._loaded

    def extractor(self) -> FeatureExtractor:
        """The backbone for people's photos, built on first use (loads TensorFlow)."""
        with self._model_lock:
            if self._extractor is None:
                self._extractor = FeatureExtractor(self.config.features)
            return self._extractor

    def warm(self) -> threading.Thread:
        """Load the index and the model in the background so the first photo is fast."""

        def run() -> None:
            try:
                loaded = self.loaded()
                extractor = self.extractor()
                dummy = np.zeros((1, extractor.cfg.input_size, extractor.cfg.input_size, 3))
                with self._model_lock:
                    extractor.run_batch(dummy.astype(np.uint8))
                if loaded is not None:
                    loaded.recommender.nearest(loaded.index.vectors[0])
            except Exception as exc:  # warming is an optimisation; the request path reports
                log.warning("could not warm the style engine: %s", exc)

        thread = threading.Thread(target=run, name="warm-engine", daemon=True)
        thread.start()
        return thread

    def embed(self, loaded: LoadedIndex, photos: list[tuple[str, Path]]) -> np.ndarray:
        """Index-space vectors of (sha256, path) photos, one at a time (one traced shape)."""
        meta = loaded.index.meta
        extractor = self.extractor()
        if extractor.key != meta.feature_key:
            raise EngineMismatchError(
                f"the style index was built with {meta.feature_key} but the settings now make "
                f"{extractor.key}: rebuild the index (python -m clustering build)"
            )
        cfg = self.config.features
        if meta.colour_key and colour_key(cfg.colour) != meta.colour_key:
            raise EngineMismatchError(
                f"the style index used colour features {meta.colour_key}: rebuild the index"
            )
        out = []
        for sha, path in photos:
            key = (meta.model_key + loaded.folder.name, sha)
            with self._lock:
                cached = self._vectors.get(key)
            if cached is None:
                img = load_rgb(path)
                with self._model_lock:
                    cnn = extractor.run_batch(
                        fit(img, cfg.input_size, cfg.pad, cfg.pad_colour)[None]
                    )
                colour = (
                    colour_histogram(img, cfg.colour)[None] if meta.colour_key is not None else None
                )
                cached = combine(
                    cnn, colour, loaded.index.mean, loaded.index.std, meta.colour_weight
                )[0]
                with self._lock:
                    self._vectors[key] = cached
                    while len(self._vectors) > _VECTOR_CACHE:
                        self._vectors.popitem(last=False)
            out.append(cached)
        return np.stack(out) if out else np.zeros((0, loaded.index.vectors.shape[1]), np.float32)
