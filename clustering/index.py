"""The style index: everything the recommender and the dashboard read, as one atomic artefact.

A build writes `index/build-<time>-<pid>/` (vectors.npy, arrays.npz, meta.json and, for a large
index, search.faiss), then points the symbolic link
`index/current` at it with one `os.replace`. A reader resolves `current` once and reads that folder,
so it sees the old index or the new one, never half of either. The two newest older builds are kept
for readers still loading them; older ones are removed. The vectors (the bulk) are memory-mapped
on load, so processes that serve one index share its pages instead of each holding a copy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from clustering.learned_space import LearnedSpace
from clustering.search import build_faiss, wants_faiss
from stylescout.errors import StyleScoutError
from stylescout.settings import SearchConfig

log = logging.getLogger(__name__)
CURRENT = "current"
KEEP_OLD_BUILDS = 2


class IndexMissingError(StyleScoutError):
    """No style index has been built yet."""


@dataclass
class IndexMeta:
    """The index's description (meta.json)."""

    model_key: str
    feature_key: str
    colour_key: str | None
    colour_weight: float
    weights_note: str
    names: list[str]
    representatives: list[list[int]]
    cluster_path: str
    space: str = "raw"  # "learned": vectors are in the space learned from the store's tags
    learned_images: int = 0  # tagged images it learned from
    learned_tags: int = 0  # tags it learned from
    space_note: str = ""  # why the raw space is used when the learned one was asked for
    raw_weight: float = 0.0  # the learned space's weight of the raw part
    space_colour_dims: int = 0  # the colour part the learned space keeps beside
    space_colour_weight: float = 0.0
    garment_key: str | None = None  # the garment's blocks joined before the colour part
    garment_weights: dict[str, float] = field(default_factory=dict)
    built_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    skipped: int = 0
    search: str = "exact (numpy)"  # the search index the build wrote, with its recall@10
    search_recall: float | None = None

    def space_summary(self) -> str:
        """Which space the vectors live in and what it learned from, in one phrase."""
        if self.space == "learned":
            return (
                f"learned space from {self.learned_images:,} tagged images and "
                f"{self.learned_tags:,} tags"
            )
        return "raw space" + (f" ({self.space_note})" if self.space_note else "")


@dataclass
class StyleIndex:
    """Ids, unit vectors, style labels, centroids, linkage, names, and how the vectors were made.

    `mean`/`std` standardise the CNN part of a new photo the way the stored vectors were.
    """

    ids: np.ndarray  # int64 (n,)
    vectors: np.ndarray  # float32 (n, d), unit rows
    labels: np.ndarray  # int32 (n,)
    centroids: np.ndarray  # float32 (k, d)
    linkage: np.ndarray  # float64 (k-1, 4)
    mean: np.ndarray  # float32 (d_cnn,)
    std: np.ndarray  # float32 (d_cnn,)
    meta: IndexMeta
    learned: LearnedSpace | None = None  # maps a new photo's descriptor into the vectors' space
    folder: Path | None = None  # the folder it was loaded from (its search.faiss, if any)

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(self.centroids))

    @property
    def random_weights(self) -> bool:
        return bool(self.meta.weights_note)

    def style_of(self, image_id: int) -> int | None:
        position = np.searchsorted(self.ids, image_id)
        if position < len(self.ids) and self.ids[position] == image_id:
            return int(self.labels[position])
        return None

    def vectors_of(self, ids: list[int]) -> tuple[list[int], np.ndarray]:
        """The vectors of those ids that are in the index (and those ids), in the given order."""
        positions = np.searchsorted(self.ids, ids)
        found = [
            (i, int(p))
            for i, p in zip(ids, positions, strict=True)
            if p < len(self.ids) and self.ids[p] == i
        ]
        if not found:
            return [], np.zeros((0, self.vectors.shape[1]), np.float32)
        return [i for i, _ in found], self.vectors[[p for _, p in found]]

    @functools.cached_property
    def space_key(self) -> str:
        """Identifies the space the vectors live in (model, standardisation, colour weight): two
        indexes with the same key embed a photo to the same vector."""
        digest = hashlib.sha256(self.mean.tobytes() + self.std.tobytes())
        return f"{self.meta.model_key}:{self.meta.colour_weight:g}:{digest.hexdigest()[:16]}"


DERIVED = "derived.json"
_ARRAYS = ("ids", "labels", "centroids", "linkage", "mean", "std")  # vectors: vectors.npy
_SPACE_ARRAYS = ("centre", "pca", "scale", "lda")  # saved as space_<name> when learned


def save_index(
    index: StyleIndex,
    index_dir: Path,
    search: SearchConfig | None = None,
    derived: dict | None = None,
) -> tuple[Path, IndexMeta]:
    """Write the index to a new folder and make it current in one rename; returns its folder and
    its meta as written (with the search index built for it, when it is large). `derived` are
    views worked out once per build (e.g. the emerging looks), kept beside it (`read_derived`)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    folder = index_dir / f"build-{stamp}-{os.getpid()}"
    folder.mkdir()
    with (folder / "vectors.npy").open("wb") as handle:
        np.save(handle, np.ascontiguousarray(index.vectors, dtype=np.float32))
        handle.flush()
        os.fsync(handle.fileno())
    with (folder / "arrays.npz").open("wb") as handle:
        arrays = {name: getattr(index, name) for name in _ARRAYS}
        if index.learned is not None:
            arrays.update({f"space_{n}": getattr(index.learned, n) for n in _SPACE_ARRAYS})
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    meta = index.meta
    if search is not None and wants_faiss(len(index.ids), search):
        built = build_faiss(index.vectors, search, folder)
        meta = replace(meta, search=built.summary(), search_recall=built.recall_at_10)
    if derived is not None:
        (folder / DERIVED).write_text(json.dumps(derived), encoding="utf-8")
    (folder / "meta.json").write_text(json.dumps(asdict(meta), indent=1), encoding="utf-8")
    link = index_dir / f".current-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    link.symlink_to(folder.name)
    link.replace(index_dir / CURRENT)  # the swap: one rename, atomic on POSIX
    _prune(index_dir, keep=folder.name)
    return folder, meta


def _prune(index_dir: Path, keep: str) -> None:
    builds = sorted(p for p in index_dir.glob("build-*") if p.is_dir() and p.name != keep)
    for old in builds[:-KEEP_OLD_BUILDS] if KEEP_OLD_BUILDS else builds:
        shutil.rmtree(old, ignore_errors=True)


def current_folder(index_dir: Path) -> Path | None:
    """The folder `current` points at, resolved once, or None."""
    link = index_dir / CURRENT
    try:
        return (index_dir / link.readlink()).resolve()
    except OSError:
        return None


def read_derived(folder: Path | None) -> dict:
    """The views worked out when the index in `folder` was built ({} for none: an index built
    before they were kept, or a folder that cannot be read)."""
    try:
        text = (folder / DERIVED).read_text(encoding="utf-8") if folder else ""
        found = json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def read_meta(index_dir: Path) -> IndexMeta | None:
    """Only the current index's description (cheap: no arrays), or None."""
    folder = current_folder(index_dir)
    try:
        text = (folder / "meta.json").read_text(encoding="utf-8") if folder else None
    except OSError:
        return None
    return IndexMeta(**json.loads(text)) if text else None


def load_index(index_dir: Path) -> StyleIndex:
    """The current index (raises IndexMissingError when none was built)."""
    folder = current_folder(index_dir)
    if folder is None or not (folder / "meta.json").is_file():
        raise IndexMissingError("no style index yet: run `stylescout build`")
    meta = IndexMeta(**json.loads((folder / "meta.json").read_text(encoding="utf-8")))
    with np.load(folder / "arrays.npz") as arrays:
        values = {name: arrays[name] for name in _ARRAYS}
        if (folder / "vectors.npy").is_file():
            values["vectors"] = np.load(folder / "vectors.npy", mmap_mode="r")
        else:  # built before the vectors had their own file
            values["vectors"] = arrays["vectors"]
        learned = None
        if meta.space == "learned":
            space = {n: arrays[f"space_{n}"] for n in _SPACE_ARRAYS}
            learned = LearnedSpace(
                **space,
                raw_weight=meta.raw_weight,
                colour_dims=meta.space_colour_dims,
                colour_weight=meta.space_colour_weight,
                images=meta.learned_images,
                tags=meta.learned_tags,
            )
    return StyleIndex(meta=meta, learned=learned, folder=folder, **values)
