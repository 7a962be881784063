"""Nearest-item search over an index's unit vectors: exact with numpy, or FAISS when large.

Exact search is one matrix product, which is what a small index wants. At hundreds of thousands of
items that product is tens of milliseconds and the float32 matrix is gigabytes per process, so a
large index gets a FAISS index instead (`search.engine`): exact `IndexFlatIP` up to
`search.exact_up_to` items, then IVF or HNSW over 8-bit (or float16) codes, a quarter (or half) of
the memory, with its recall@10 against exact measured by the build. The FAISS file sits in the
index folder and is memory-mapped, so dashboard workers share its pages.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from stylescout.errors import SCALE_HINT, StyleScoutError
from stylescout.settings import SearchConfig

log = logging.getLogger(__name__)

FAISS_FILE = "search.faiss"
INSTALL_HINT = f"the FAISS search needs faiss-cpu: {SCALE_HINT}"


class Searcher(Protocol):
    """Top-k positions (rows of the index) by squared Euclidean distance between unit vectors."""

    description: str

    def search(
        self, query: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, squared distances) of the k nearest rows, nearest first."""
        ...


def faiss_module() -> Any:
    """The faiss module, or a one-line error saying how to install it."""
    try:
        import faiss
    except ImportError:
        raise StyleScoutError(INSTALL_HINT) from None
    return faiss


class ExactSearch:
    """One matrix product over the vectors held in memory (numpy)."""

    description = "exact (numpy)"

    def __init__(self, vectors: np.ndarray) -> None:
        self._matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self._norms = np.einsum("ij,ij->i", self._matrix, self._matrix)

    def search(
        self, query: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        query = np.asarray(query, dtype=np.float32).ravel()
        d2 = self._norms - 2.0 * (self._matrix @ query) + float(query @ query)
        if exclude is not None and len(exclude):
            d2[exclude] = np.inf
        k = min(k, int(np.isfinite(d2).sum()))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        top = np.argpartition(d2, k - 1)[:k]
        top = top[np.argsort(d2[top], kind="stable")]
        return top.astype(np.int64), d2[top]


class FaissSearch:
    """A FAISS index over the unit vectors, by inner product (d² = |q|² + 1 - 2·ip)."""

    def __init__(self, index: Any, cfg: SearchConfig, description: str) -> None:
        self._index = index
        self.description = description
        faiss = faiss_module()
        inner = faiss.downcast_index(index)
        if isinstance(inner, faiss.IndexIVF):
            inner.nprobe = cfg.nprobe
        elif isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efSearch = cfg.ef_search

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def search(
        self, query: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        query = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        excluded = set() if exclude is None else {int(p) for p in exclude}
        want = min(k, self.ntotal - len(excluded))
        if want <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        fetch = want + len(excluded)
        while True:  # exclusions are few (a person's rated items): fetch that many more
            sims, rows = self._index.search(query, min(fetch, self.ntotal))
            keep = [
                (r, s)
                for r, s in zip(rows[0], sims[0], strict=True)
                if r >= 0 and r not in excluded
            ]
            if len(keep) >= want or fetch >= self.ntotal:
                break
            fetch *= 2
        keep = keep[:want]
        positions = np.array([r for r, _ in keep], np.int64)
        sims = np.array([s for _, s in keep], np.float32)
        d2 = np.maximum(float(query[0] @ query[0]) + 1.0 - 2.0 * sims, 0.0)  # unit rows
        return positions, d2


def wants_faiss(n: int, cfg: SearchConfig) -> bool:
    """Whether an index of n items gets a FAISS index under this config."""
    if cfg.engine == "numpy":
        return False
    if cfg.engine == "faiss":
        return True
    if n <= cfg.faiss_from:
        return False
    try:  # auto: only when the extra is installed
        faiss_module()
    except StyleScoutError:
        log.warning("%d items: %s (searching exactly with numpy meanwhile)", n, INSTALL_HINT)
        return False
    return True


def factory_string(n: int, d: int, cfg: SearchConfig) -> str:
    """The FAISS index for n items of d dimensions: exact up to `exact_up_to`, then IVF/HNSW."""
    if n <= cfg.exact_up_to:
        return "Flat"
    codes = {"sq8": "SQ8", "fp16": "SQfp16", "flat": "Flat"}[cfg.storage]
    if cfg.kind == "hnsw":
        return f"HNSW{cfg.hnsw_m},{codes}"
    nlist = cfg.nlist or max(16, min(65_536, int(math.sqrt(n))))
    return f"IVF{nlist},{codes}"


@dataclass(frozen=True)
class BuiltSearch:
    """What the build says of the FAISS index it wrote."""

    factory: str
    recall_at_10: float | None
    build_s: float
    bytes: int

    def summary(self) -> str:
        recall = "exact" if self.recall_at_10 is None else f"recall@10 {self.recall_at_10:.3f}"
        return (
            f"FAISS {self.factory} ({recall}, {self.bytes / 2**20:,.0f} MiB, {self.build_s:.1f} s)"
        )


def build_faiss(vectors: np.ndarray, cfg: SearchConfig, folder: Path, seed: int = 7) -> BuiltSearch:
    """Build the FAISS index for these unit vectors into `folder`, with its measured recall."""
    faiss = faiss_module()
    started = time.perf_counter()
    n, d = vectors.shape
    factory = factory_string(n, d, cfg)
    index = faiss.index_factory(d, factory, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    if not index.is_trained:
        sample = rng.choice(n, size=min(n, cfg.train_size), replace=False)
        index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
    for start in range(0, n, 65_536):  # chunks: never a float32 copy of a million rows
        index.add(np.ascontiguousarray(vectors[start : start + 65_536], dtype=np.float32))
    path = folder / FAISS_FILE
    faiss.write_index(index, str(path))
    recall = None
    if factory != "Flat":
        recall = measure_recall(vectors, FaissSearch(index, cfg, factory), cfg.recall_queries, rng)
    built = BuiltSearch(factory, recall, time.perf_counter() - started, path.stat().st_size)
    log.info("search index: %s", built.summary())
    return built


def measure_recall(
    vectors: np.ndarray, searcher: Searcher, queries: int, rng: np.random.Generator
) -> float:
    """Mean share of the exact top 10 found (each query an indexed item, itself left out)."""
    n = len(vectors)
    picks = np.sort(rng.choice(n, size=min(queries, n), replace=False))
    exact = exact_top(vectors, np.asarray(vectors[picks], dtype=np.float32), 11)
    hits = 0
    for p, row in zip(picks, exact, strict=True):
        want = [int(i) for i in row if i != p][:10]
        got, _ = searcher.search(vectors[p], 10, np.array([p]))
        hits += len(set(want) & {int(i) for i in got})
    return hits / (10 * len(picks))


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k rows by inner product for each query, reading the (possibly memory-mapped)
    vectors once, in chunks."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 0), np.int64)
    for start in range(0, len(vectors), 65_536):
        sims = queries @ np.asarray(vectors[start : start + 65_536], dtype=np.float32).T
        take = min(k, sims.shape[1])
        top = np.argpartition(-sims, take - 1, axis=1)[:, :take]
        best_s = np.hstack([best_s, np.take_along_axis(sims, top, axis=1)])
        best_i = np.hstack([best_i, top + start])
        keep = np.argsort(-best_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(best_s, keep, axis=1)
        best_i = np.take_along_axis(best_i, keep, axis=1)
    return best_i


def load_searcher(folder: Path | None, vectors: np.ndarray, cfg: SearchConfig) -> Searcher:
    """The FAISS index in the index folder (memory-mapped) when there is one, else exact numpy."""
    path = None if folder is None else folder / FAISS_FILE
    if path is not None and path.is_file() and cfg.engine != "numpy":
        try:
            faiss = faiss_module()
        except StyleScoutError:
            log.warning("%s; searching exactly with numpy meanwhile", INSTALL_HINT)
        else:
            try:
                index = faiss.read_index(str(path), _mmap_flags(faiss, path))
            except (RuntimeError, OSError) as exc:  # truncated, or from another faiss version
                log.warning("cannot read %s (%s); searching exactly", path, exc)
            else:
                if index.ntotal == len(vectors):
                    return FaissSearch(index, cfg, f"FAISS {_describe(index)}")
                log.warning("the FAISS index does not match the index's vectors; searching exactly")
    return ExactSearch(vectors)


def _mmap_flags(faiss: Any, path: Path) -> int:
    """Read flags that memory-map the file's bulk: an IVF index's lists (its fourcc starts
    "Iw"), or the codes of a flat or HNSW one."""
    with path.open("rb") as handle:
        fourcc = handle.read(4)
    mmap = faiss.IO_FLAG_MMAP if fourcc.startswith(b"Iw") else faiss.IO_FLAG_MMAP_IFC
    return mmap | faiss.IO_FLAG_READ_ONLY


def _describe(index: Any) -> str:
    """The loaded index's kind and how it searches (e.g. "IVFScalarQuantizer, nprobe 32")."""
    inner = faiss_module().downcast_index(index)
    kind = type(inner).__name__.removeprefix("Index")
    if hasattr(inner, "nprobe"):
        return f"{kind}, {inner.nlist} lists"
    return kind


def excluded_positions(ids: np.ndarray, exclude: Iterable[int]) -> np.ndarray:
    """Rows of the index whose ids are in `exclude` (ids are sorted)."""
    wanted = np.fromiter(exclude, np.int64)
    if not len(wanted):
        return np.zeros(0, np.int64)
    positions = np.searchsorted(ids, wanted)
    inside = positions < len(ids)
    positions, wanted = positions[inside], wanted[inside]
    return positions[ids[positions] == wanted]
