"""Your style and the nearest items: an exact matrix product, or the index's FAISS search when it
is large (`clustering/search.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from clustering.index import StyleIndex
from clustering.search import ExactSearch, Searcher, excluded_positions, load_searcher
from stylescout.settings import RecommenderConfig, SearchConfig


@dataclass(frozen=True)
class StyleMatch:
    """The style whose centroid is most similar on average to the photos (or the fallback)."""

    style: int | None
    name: str | None
    score: float  # mean cosine similarity of the photos to that style's centroid
    fallback: bool  # True: nothing close enough, show popular items instead
    scores: list[float]  # every style's score, by style number


@dataclass(frozen=True)
class Neighbour:
    """An item near the query, by Euclidean distance between unit vectors."""

    image_id: int
    distance: float
    style: int
    style_name: str


class Recommender:
    """Nearest items and style matching over a loaded index (no refit per query)."""

    def __init__(
        self,
        index: StyleIndex,
        cfg: RecommenderConfig | None = None,
        search: SearchConfig | None = None,
    ) -> None:
        self.index = index
        self.cfg = cfg or RecommenderConfig()
        centroids = index.centroids.astype(np.float32)
        self._centroids = centroids / np.maximum(
            np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12
        )
        self._projection: np.ndarray | None = None
        self._searcher: Searcher
        if self.cfg.pca_components and self.cfg.pca_components < index.vectors.shape[1]:
            vectors = np.asarray(index.vectors, dtype=np.float32)
            self._mean = vectors.mean(axis=0)
            centred = vectors - self._mean
            _, eigvecs = np.linalg.eigh(centred.T.astype(np.float64) @ centred)
            self._projection = eigvecs[:, ::-1][:, : self.cfg.pca_components].astype(np.float32)
            self._searcher = ExactSearch(centred @ self._projection)
        else:
            self._searcher = load_searcher(index.folder, index.vectors, search or SearchConfig())

    @property
    def approximate(self) -> bool:
        return self._projection is not None or not isinstance(self._searcher, ExactSearch)

    @property
    def search_description(self) -> str:
        """How nearest items are found (exact numpy, or the FAISS index and its kind)."""
        return self._searcher.description

    def match(self, photo_vectors: np.ndarray) -> StyleMatch:
        """The person's style from one or more photo vectors (index space, unit rows)."""
        scores = (np.atleast_2d(photo_vectors) @ self._centroids.T).mean(axis=0)
        best = int(np.argmax(scores))
        if scores[best] < self.cfg.match_threshold:
            return StyleMatch(None, None, float(scores[best]), True, scores.tolist())
        return StyleMatch(
            best, self.index.meta.names[best], float(scores[best]), False, scores.tolist()
        )

    def nearest(
        self, vector: np.ndarray, k: int | None = None, exclude: Iterable[int] = ()
    ) -> list[Neighbour]:
        """The k items nearest `vector`, nearest first, leaving out the ids in `exclude`."""
        k = k or self.cfg.k
        query = np.asarray(vector, dtype=np.float32).ravel()
        if self._projection is not None:
            query = (query - self._mean) @ self._projection
        top, d2 = self._searcher.search(query, k, excluded_positions(self.index.ids, exclude))
        names = self.index.meta.names
        return [
            Neighbour(
                int(self.index.ids[i]),
                float(np.sqrt(max(float(d), 0.0))),
                int(self.index.labels[i]),
                names[int(self.index.labels[i])],
            )
            for i, d in zip(top, d2, strict=True)
        ]


def rocchio_profile(
    photos: np.ndarray,
    liked: np.ndarray | None = None,
    disliked: np.ndarray | None = None,
    cfg: RecommenderConfig | None = None,
) -> np.ndarray:
    """The person's profile: their photos' mean, pulled towards liked items and pushed away from
    disliked ones (Rocchio), as a unit vector in index space."""
    cfg = cfg or RecommenderConfig()
    photos = np.atleast_2d(np.asarray(photos, dtype=np.float32))
    profile = cfg.photo_weight * photos.mean(axis=0)
    if liked is not None and len(liked):
        profile = profile + cfg.like_weight * np.atleast_2d(liked).mean(axis=0)
    if disliked is not None and len(disliked):
        profile = profile - cfg.dislike_weight * np.atleast_2d(disliked).mean(axis=0)
    norm = float(np.linalg.norm(profile))
    return (profile / norm if norm > 1e-12 else photos.mean(axis=0)).astype(np.float32)
