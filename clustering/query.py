"""The one query path: a person's photos → vectors in the index's space → their style → the k
nearest items, shaped by their ratings.

`python -m clustering recommend` and the dashboard both call `answer()`, so the same photos and
ratings give the same style and the same items wherever they are asked: the photos are embedded
by one code path (one photo per model call, the index's own colour settings), the profile is the
Rocchio mix of photos and rated items (re-ranked by the person's own model once they have rated
both ways: `clustering.feedback`), and the exclusions are the same (the photos themselves, by
catalogue id or by content hash, rated items, and what the caller says).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clustering.calibration import KnownModel
from clustering.colour import colour_histogram, colour_key
from clustering.descriptors import combine
from clustering.features import INT8_MARK, Calibration, FeatureError, FeatureExtractor
from clustering.feedback import blend, can_learn, learned_scores
from clustering.images import fit, load_rgb
from clustering.index import StyleIndex
from clustering.learned_space import project
from clustering.recommender import Neighbour, Recommender, StyleMatch, rocchio_profile
from store import Store
from stylescout.errors import StyleScoutError
from stylescout.settings import FeaturesConfig, RecommenderConfig

LIKED, DISLIKED = (4, 5), (1, 2)
_VECTOR_CACHE = 512  # photos' index-space vectors kept, by (index, sha256)


class IndexMismatchError(StyleScoutError):
    """The feature settings differ from those the index was built with."""


@dataclass(frozen=True)
class Photo:
    """One of the person's photos: a file of theirs (with its content hash) or a catalogue item."""

    sha256: str | None = None
    path: Path | None = None
    item_id: int | None = None

    @classmethod
    def from_file(cls, path: Path | str) -> Photo:
        """A photo file (hashed, so a stored copy of it is recognised and left out)."""
        path = Path(path)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise StyleScoutError(f"cannot read {path}: {exc.strerror}") from None
        return cls(sha256=digest, path=path)

    @classmethod
    def item(cls, image_id: int) -> Photo:
        return cls(item_id=int(image_id))


class PhotoEmbedder:
    """People's photos as index-space vectors, the way the build made the stored ones.

    The backbone is loaded on first use; photos go through it one at a time,
    so every caller meets the same model input shape and the same floats; vectors are cached by
    (index, content hash). Thread-safe."""

    def __init__(
        self,
        features: FeaturesConfig,
        make_extractor: Callable[[FeaturesConfig], FeatureExtractor] | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        """`calibration`: the store, which tells an int8 model's key (see `FeatureExtractor`)."""
        self.features = features
        self._pins = make_extractor is None  # an int8 extractor may follow the index's key
        self._make = make_extractor or (lambda cfg: FeatureExtractor(cfg, calibration=calibration))
        self._extractor: FeatureExtractor | None = None
        self._model_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def extractor(self) -> FeatureExtractor:
        """The backbone (built once)."""
        with self._model_lock:
            if self._extractor is None:
                self._extractor = self._make(self.features)
            return self._extractor

    def run_model(self, batch: np.ndarray) -> np.ndarray:
        """The backbone on a ready batch, one call at a time."""
        extractor = self.extractor()
        with self._model_lock:
            return extractor.run_batch(batch)

    def _follow(self, index: StyleIndex) -> None:
        """With int8 settings, take the int8 model the index was built with: its calibration is
        the store's at build time, which a key worked out earlier (before a build, or as the
        store grew) need not be."""
        want = index.meta.feature_key
        int8 = self.features.runtime == "openvino" and self.features.precision == "int8"
        if not (self._pins and int8 and INT8_MARK in want):
            return
        with self._model_lock:
            if self._extractor is not None and self._extractor.key == want:
                return
            try:
                made = FeatureExtractor(self.features, calibration=KnownModel(want))
            except FeatureError:  # another model altogether: check() says so
                return
            if made.key == want:
                self._extractor = made

    def check(self, index: StyleIndex) -> None:
        """Raise IndexMismatchError when these settings cannot embed into `index`'s space."""
        self._follow(index)
        meta = self.extractor().key, self.features.colour
        if meta[0] != index.meta.feature_key:
            raise IndexMismatchError(
                f"the style index was built with {index.meta.feature_key} but the settings now "
                f"make {meta[0]}: rebuild the index (stylescout build)"
            )
        if index.meta.colour_key and colour_key(meta[1]) != index.meta.colour_key:
            raise IndexMismatchError(
                f"the style index used colour features {index.meta.colour_key} but the settings "
                f"now make {colour_key(meta[1])}: rebuild the index (stylescout build)"
            )
        made = None
        if self.features.garment.enabled:  # OpenCV is imported only by those who use it
            from clustering.garment import garment_key

            made = garment_key(self.features.garment)
        if index.meta.garment_key != made:
            raise IndexMismatchError(
                f"the style index used garment blocks {index.meta.garment_key or 'none'} but the"
                f" settings now make {made or 'none'}: rebuild the index (stylescout build)"
            )

    def embed(self, index: StyleIndex, files: Sequence[tuple[str, Path]]) -> np.ndarray:
        """(n, d) vectors of (sha256, path) photo files in `index`'s space. Raises
        IndexMismatchError, or OSError/ValueError for a file that cannot be read."""
        self.check(index)
        cfg = self.features
        out = []
        for sha, path in files:
            key = (index.space_key, sha)
            with self._cache_lock:
                cached = self._vectors.get(key)
            if cached is None:
                img = load_rgb(path)
                cnn = self.run_model(fit(img, cfg.input_size, cfg.pad, cfg.pad_colour)[None])
                colour = None
                if index.meta.colour_key is not None:
                    colour = colour_histogram(img, cfg.colour)[None]
                garment = None
                if index.meta.garment_key is not None:  # as the build joined them
                    from clustering.garment import garment_vector, weighted_blocks

                    stored = garment_vector(img, cfg.garment)[None]
                    garment = weighted_blocks(stored, index.meta.garment_weights)
                cached = combine(
                    cnn, colour, index.mean, index.std, index.meta.colour_weight, garment
                )
                if index.learned is not None:  # into the space the index learned
                    cached = project(index.learned, cached)
                cached = cached[0]
                with self._cache_lock:
                    self._vectors[key] = cached
                    while len(self._vectors) > _VECTOR_CACHE:
                        self._vectors.popitem(last=False)
            out.append(cached)
        return np.stack(out) if out else np.zeros((0, index.vectors.shape[1]), np.float32)


@dataclass
class Answer:
    """The person's style and items, or the popular items when no style is close enough."""

    match: StyleMatch | None  # None: no photo could be used
    neighbours: list[Neighbour] = field(default_factory=list)
    popular: list[int] = field(default_factory=list)  # when match is None or a fallback
    liked: int = 0
    disliked: int = 0
    problems: list[str] = field(default_factory=list)
    learned: bool = False  # ranked by the person's own model (else by Rocchio alone)

    @property
    def fallback(self) -> bool:
        return self.match is None or self.match.fallback


def _photo_vectors(
    index: StyleIndex, embedder: PhotoEmbedder, store: Store, photos: Sequence[Photo]
) -> tuple[np.ndarray, list[int], list[str]]:
    """The photos' vectors, the catalogue ids they are (to leave out), and what was unusable."""
    problems: list[str] = []
    item_ids = list(dict.fromkeys(p.item_id for p in photos if p.item_id is not None))
    found, item_vectors = index.vectors_of(item_ids)
    files: list[tuple[str, Path]] = []
    for image_id in item_ids:
        if image_id in found:
            continue
        row = store.images.cards([image_id]).get(image_id)  # stored after the last build
        hit = store.images.file_for_sha(row["sha256"]) if row else None
        if hit:
            files.append((row["sha256"], hit[0]))
        else:
            problems.append(f"catalogue item {image_id} is no longer stored")
    for photo in photos:
        if photo.item_id is None and photo.sha256 and photo.path is not None:
            files.append((photo.sha256, photo.path))
            same = store.images.image_id_by_sha(photo.sha256)
            if same is not None:  # the photo is in the catalogue: never recommend it back
                item_ids.append(same)
    parts = [item_vectors] if len(item_vectors) else []
    if files:
        parts.append(embedder.embed(index, files))
    vectors = np.concatenate(parts) if parts else np.zeros((0, index.vectors.shape[1]), np.float32)
    return vectors, item_ids, problems


def answer(
    index: StyleIndex,
    recommender: Recommender,
    embedder: PhotoEmbedder,
    store: Store,
    photos: Sequence[Photo],
    ratings: dict[int, int] | None = None,
    cfg: RecommenderConfig | None = None,
    k: int | None = None,
    exclude: Sequence[int] = (),
) -> Answer:
    """The style and the k items for `photos`, shaped by the person's latest `ratings` (image
    id → 1-5): the nearest to their Rocchio profile, re-ranked by their own model once they have
    rated a liked and a disliked item (`recommender.learner`). Rated items are left out unless
    `recommender.show_rated`, and so are `exclude` (e.g. what was shown already). Raises
    IndexMismatchError when the photos cannot be embedded."""
    cfg = cfg or recommender.cfg
    k = k or cfg.k
    ratings = ratings or {}
    vectors, query_ids, problems = _photo_vectors(index, embedder, store, photos)
    if not len(vectors):
        return Answer(None, popular=store.ratings.popular_images(k), problems=problems)
    match = recommender.match(vectors)
    liked_ids = sorted(i for i, r in ratings.items() if r in LIKED)
    disliked_ids = sorted(i for i, r in ratings.items() if r in DISLIKED)
    _, liked = index.vectors_of(liked_ids)
    _, disliked = index.vectors_of(disliked_ids)
    result = Answer(match, liked=len(liked), disliked=len(disliked), problems=problems)
    if match.fallback:
        result.popular = store.ratings.popular_images(k)
        return result
    profile = rocchio_profile(vectors, liked, disliked, cfg)
    left_out = [*query_ids, *disliked_ids, *exclude]
    if not cfg.show_rated:
        left_out += liked_ids
    if not can_learn(liked, disliked, cfg):
        result.neighbours = recommender.nearest(profile, k, exclude=left_out)
        return result
    pool = recommender.nearest(profile, max(cfg.learner_pool, k), exclude=left_out)
    _, pool_vectors = index.vectors_of([n.image_id for n in pool])
    learned = learned_scores(pool_vectors, np.concatenate([vectors, liked]), disliked, cfg)
    scores = blend(learned, np.array([n.distance for n in pool]))
    order = np.argsort(-scores, kind="stable")[:k]  # ties keep the nearer first
    result.neighbours = [pool[i] for i in order]
    result.learned = True
    return result
