"""The serving engine, as the dashboard and the CLI hold it: the current index (reloaded when a
build swaps in a new one, so new styles appear without a restart), one photo embedder for people's
photos, and with `recommender.interleave` on the challenger's index, whose items are mixed in by
team draft. Both answer through `Engine.answer`, so they give the same list for the same input."""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clustering.calibration import StoreCalibration
from clustering.index import IndexMissingError, StyleIndex, current_folder, load_index
from clustering.interleave import team_draft
from clustering.query import Answer, Photo, PhotoEmbedder, answer
from clustering.recommender import Neighbour, Recommender
from store import Store
from stylescout.errors import StoreError, StyleScoutError
from stylescout.settings import EngineSettings, RecommenderConfig

log = logging.getLogger(__name__)
MAP_SAMPLE = 20_000  # items the style map's principal components are found on


@dataclass
class LoadedIndex:
    """One loaded index with its recommender; derived views are computed once, on demand."""

    folder: Path
    index: StyleIndex
    recommender: Recommender
    _map: np.ndarray | None = field(default=None, repr=False)
    derived: dict = field(default_factory=dict, repr=False)  # per-index views pages compute once
    _deriving: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def derive(self, key: str, compute: Callable[[], Any], timeout: float | None = None) -> Any:
        """`derived[key]`, computed by `compute` the first time only, and by one thread at a time:
        a view that costs seconds to minutes (a clustering) is worked out once per index, not once
        per request. Another thread asking meanwhile waits for that result; with `timeout` it
        waits at most that long (0: not at all) and then gets a TimeoutError. A failed `compute`
        stores nothing, so the next call tries again."""
        if key in self.derived:
            return self.derived[key]
        with self._guard:
            lock = self._deriving.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError(f"{key} of {self.folder.name} is being worked out")
        try:
            if key not in self.derived:
                started = time.perf_counter()
                self.derived[key] = compute()
                log.info(
                    "worked out %s of %s in %.1f s",
                    key,
                    self.folder.name,
                    time.perf_counter() - started,
                )
            return self.derived[key]
        finally:
            lock.release()

    def map2d(self) -> np.ndarray:
        """Every item's position on the style map: the first two principal components, found
        on at most 20,000 items and applied in chunks, so a million memory-mapped vectors are
        never copied whole."""
        if self._map is None:
            vectors = self.index.vectors
            if len(vectors) < 2:
                self._map = np.zeros((len(vectors), 2), np.float32)
            else:
                sample = vectors
                if len(vectors) > MAP_SAMPLE:
                    rng = np.random.default_rng(0)
                    sample = vectors[np.sort(rng.choice(len(vectors), MAP_SAMPLE, replace=False))]
                sample = np.asarray(sample, np.float32)
                mean = sample.mean(axis=0)
                _, _, vt = np.linalg.svd(sample - mean, full_matrices=False)
                basis = vt[:2].T
                out = np.empty((len(vectors), 2), np.float32)
                for start in range(0, len(vectors), 16_384):
                    rows = np.asarray(vectors[start : start + 16_384], np.float32)
                    out[start : start + 16_384] = (rows - mean) @ basis
                self._map = out
        return self._map


@dataclass
class Served:
    """An answer as served: `neighbours` are the answer's own, or both models' mixed when
    `interleaved`."""

    answer: Answer
    loaded: LoadedIndex
    neighbours: list[Neighbour]
    interleaved: bool = False


class _IndexSlot:
    """One index folder as the engine holds it: reloaded when a build swaps in a new one."""

    def __init__(self, index_dir: Path, config: EngineSettings) -> None:
        self.index_dir = index_dir
        self.config = config
        self._lock = threading.Lock()
        self._loaded: LoadedIndex | None = None

    def loaded(self) -> LoadedIndex | None:
        folder = current_folder(self.index_dir)
        with self._lock:
            if folder is None:
                return None
            if self._loaded is None or self._loaded.folder != folder:
                try:
                    index = load_index(self.index_dir)
                except (IndexMissingError, OSError, ValueError) as exc:
                    log.warning("could not load the style index in %s: %s", self.index_dir, exc)
                    return self._loaded
                self._loaded = LoadedIndex(
                    folder, index, Recommender(index, self.config.recommender, self.config.search)
                )
                log.info(
                    "loaded style index %s (%d items, %s)",
                    folder,
                    len(index.ids),
                    index.meta.search,
                )
            return self._loaded


class Engine:
    """Shared by every request of one app; thread-safe. With `recommender.interleave` on it
    also holds the challenger's index and embedder (the backbone compared online)."""

    def __init__(self, config: EngineSettings, store: Store) -> None:
        self.config = config
        self.store = store
        calibration = StoreCalibration(store)
        self.embedder = PhotoEmbedder(config.features, calibration=calibration)
        self._main = _IndexSlot(store.index_dir, config)
        self.interleaving = config.recommender.interleave.enabled
        challenger = config.challenger()
        self.challenger_embedder = PhotoEmbedder(challenger.features, calibration=calibration)
        self._challenger = _IndexSlot(store.challenger_index_dir, challenger)

    def loaded(self) -> LoadedIndex | None:
        """The current index, reloaded when a build has swapped in a new one; None before any."""
        return self._main.loaded()

    def challenger(self) -> LoadedIndex | None:
        """The challenger's current index when interleaving is on and one was built with the
        configured challenger backbone; None otherwise (Discover then shows the main index's)."""
        if not self.interleaving:
            return None
        loaded = self._challenger.loaded()
        wanted = self.config.recommender.interleave.challenger
        if loaded is None or not loaded.index.meta.feature_key.startswith(wanted + "-"):
            return None
        return loaded

    def answer(
        self,
        photos: Sequence[Photo],
        ratings: dict[int, int] | None = None,
        user_id: str | None = None,
        cfg: RecommenderConfig | None = None,
        k: int | None = None,
    ) -> Served:
        """The one query path's answer for `photos` and the person's `ratings`; with interleaving
        on and a person to credit, the main and the challenger's items merged by team draft and
        recorded as one impression. Raises IndexMissingError before any index is built."""
        loaded = self.loaded()
        if loaded is None:  # none built yet, or the one there cannot be read: load_index says
            load_index(self.store.index_dir)
            raise IndexMissingError(f"the style index in {self.store.index_dir} cannot be read")
        cfg = cfg or self.config.recommender
        k = k or cfg.k
        ratings = ratings or {}
        result = answer(
            loaded.index, loaded.recommender, self.embedder, self.store, photos, ratings, cfg, k
        )
        served = Served(result, loaded, list(result.neighbours))
        challenger = self.challenger() if user_id else None
        if challenger is None or user_id is None or result.fallback:
            return served
        mixed = self._interleave(
            challenger, loaded, result.neighbours, photos, ratings, cfg, k, user_id
        )
        if mixed is not None:
            served.neighbours, served.interleaved = mixed, True
        return served

    def _interleave(
        self,
        challenger: LoadedIndex,
        main: LoadedIndex,
        neighbours: list[Neighbour],
        photos: Sequence[Photo],
        ratings: dict[int, int],
        cfg: RecommenderConfig,
        k: int,
        user_id: str,
    ) -> list[Neighbour] | None:
        """The main index's items and the challenger's for the same photos and ratings, merged by
        team draft and recorded as one impression (so each rating is credited to the model that
        placed the item); None when the challenger has no answer of its own (it is then not shown).
        The draw is seeded by the person, their photos and ratings: the same page shows the same."""
        try:
            other = answer(
                challenger.index,
                challenger.recommender,
                self.challenger_embedder,
                self.store,
                photos,
                ratings,
                cfg,
                k,
            )
        except StyleScoutError as exc:  # e.g. a challenger built with other settings
            log.warning("interleaving skipped: %s", exc)
            return None
        if other.fallback or not other.neighbours:
            return None
        asked = (user_id, [(p.item_id, p.sha256) for p in photos], sorted(ratings.items()))
        seed = hashlib.sha256(repr(asked).encode()).digest()
        by_id = {n.image_id: n for n in other.neighbours} | {n.image_id: n for n in neighbours}
        shown = team_draft(
            [n.image_id for n in neighbours],
            [n.image_id for n in other.neighbours],
            k,
            random.Random(seed),
        )
        models = (main.index.meta.model_key, challenger.index.meta.model_key)
        try:
            self.store.ratings.record_impression(
                user_id, models, [(i, shown.credit[i]) for i in shown.items]
            )
        except StoreError as exc:  # a list that cannot be credited is not shown mixed
            log.warning("interleaved list not recorded: %s", exc)
            return None
        return [by_id[i] for i in shown.items]

    def warm(self) -> threading.Thread:
        """Load the index and the model in the background so the first photo is fast."""

        def run() -> None:
            try:
                loaded = self.loaded()
                size = self.embedder.extractor().cfg.input_size
                self.embedder.run_model(np.zeros((1, size, size, 3), np.uint8))
                if loaded is not None:
                    loaded.recommender.nearest(loaded.index.vectors[0])
            except Exception as exc:  # warming is an optimisation; the request path reports
                log.warning("could not warm the style engine: %s", exc)

        thread = threading.Thread(target=run, name="warm-engine", daemon=True)
        thread.start()
        return thread
