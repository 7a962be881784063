"""Style clusters: SciPy hierarchical clustering, averaged centroids, merge and fold rules, names.

Up to `exact_limit` items the linkage runs on all of them; above it, on k-means micro-cluster
centroids (FAISS's k-means when faiss is installed, else scikit-learn's mini-batch k-means), so
memory stays O(n·d). The linkage works in a PCA space of `pca_dims` dimensions; centroids are
means of the members' full vectors. Every pass over the n vectors goes in chunks, so a million
rows (10 GB of float32, perhaps memory-mapped) are never copied whole.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.cluster import hierarchy

from stylescout.settings import ClusteringConfig

log = logging.getLogger(__name__)


@dataclass
class Styles:
    """The outcome of clustering n items into k styles (0 is the largest)."""

    labels: np.ndarray  # int32 (n,)
    centroids: np.ndarray  # float32 (k, d): mean of members' vectors
    linkage: np.ndarray  # float64 (k-1, 4): how the styles join, for the dendrogram
    path: str  # "exact" or "micro-clusters"

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(self.centroids))


CHUNK = 16_384  # rows per pass: 160 MB of 2,560-d float32


def reduce_dims(x: np.ndarray, dims: int, sample: int = 20_000, seed: int = 0) -> np.ndarray:
    """Project onto the top principal components, estimated from at most `sample` rows
    (the d x d covariance of a sample: memory O(n·dims) beyond x, time independent of n beyond
    projecting, which goes in chunks)."""
    if x.shape[1] <= dims:
        return np.asarray(x, dtype=np.float32)
    rng = np.random.default_rng(seed)
    picks = None if len(x) <= sample else np.sort(rng.choice(len(x), sample, replace=False))
    rows = np.asarray(x if picks is None else x[picks], dtype=np.float32)
    mean = _column_mean(x)
    basis = _top_components((rows - mean).astype(np.float64), dims)
    out = np.empty((len(x), dims), np.float32)
    for start in range(0, len(x), CHUNK):
        out[start : start + CHUNK] = (
            np.asarray(x[start : start + CHUNK], np.float32) - mean
        ) @ basis
    return out


def _top_components(centred: np.ndarray, dims: int) -> np.ndarray:
    """The `dims` leading principal axes (d, dims) of centred rows, largest first.

    A full eigendecomposition of the d x d covariance costs seconds for a 2,048-d descriptor
    whatever the row count, and it was most of a small store's build: with fewer rows than
    dimensions the axes come from the n x n Gram matrix instead, and otherwise only the top
    `dims` eigenpairs are computed. Axes may differ from a full decomposition in sign only,
    which changes no distance."""
    n, d = centred.shape
    dims = min(dims, d)
    if n < d:
        values, vecs = linalg.eigh(centred @ centred.T)  # (n, n): the same non-zero spectrum
        order = np.argsort(values)[::-1][:dims]
        values, vecs = np.clip(values[order], 0, None), vecs[:, order]
        axes = centred.T @ vecs  # X^T u = sqrt(lambda) v
        keep = values > values[:1].max(initial=0) * 1e-12
        axes[:, keep] /= np.sqrt(values[keep])
        axes[:, ~keep] = 0  # a rank-deficient sample: no direction, nothing projected on it
        out = np.zeros((d, dims), np.float32)  # rows span at most n axes: the rest project to 0
        out[:, : axes.shape[1]] = axes
        return out
    _, vecs = linalg.eigh(centred.T @ centred, subset_by_index=[d - dims, d - 1])
    return vecs[:, ::-1].astype(np.float32)


def _column_mean(x: np.ndarray) -> np.ndarray:
    total = np.zeros(x.shape[1], np.float64)
    for start in range(0, len(x), CHUNK):
        total += np.asarray(x[start : start + CHUNK], np.float32).sum(axis=0, dtype=np.float64)
    return (total / max(len(x), 1)).astype(np.float32)


def _cut(z: np.ndarray, cfg: ClusteringConfig) -> np.ndarray:
    if cfg.distance_threshold is not None:
        return hierarchy.fcluster(z, t=cfg.distance_threshold, criterion="distance")
    return hierarchy.fcluster(z, t=cfg.n_styles or 1, criterion="maxclust")


def _linkage_labels(x: np.ndarray, cfg: ClusteringConfig) -> tuple[np.ndarray, str]:
    """Flat labels from the linkage, on all items or on micro-cluster centroids."""
    reduced = reduce_dims(x, cfg.pca_dims, seed=cfg.seed)
    if len(x) <= cfg.exact_limit:
        linkage = hierarchy.linkage(reduced.astype(np.float64), method=cfg.method)
        return _cut(linkage, cfg), "exact"
    micro, assign = _micro_clusters(reduced, min(cfg.micro_clusters, len(x)), cfg.seed)
    used = np.unique(assign)  # k-means can leave a centroid empty
    remap = np.full(len(micro), -1)
    remap[used] = np.arange(len(used))
    micro_labels = _cut(hierarchy.linkage(micro[used].astype(np.float64), method=cfg.method), cfg)
    return micro_labels[remap[assign]], "micro-clusters"


def _micro_clusters(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """k-means centroids and each row's centroid: FAISS's k-means (multi-threaded BLAS) when
    faiss is installed, else scikit-learn's mini-batch k-means, whose memory stays that of the
    input (SciPy's kmeans2 took 19 GB for a million rows). Random points as seeds: k-means++
    seeding is minutes at this size."""
    try:
        import faiss
    except ImportError:
        from sklearn.cluster import MiniBatchKMeans

        kmeans = MiniBatchKMeans(
            k, init="random", n_init=1, batch_size=4096, max_iter=10, random_state=seed
        ).fit(x)
        return kmeans.cluster_centers_.astype(np.float64), kmeans.predict(x)
    kmeans = faiss.Kmeans(x.shape[1], k, niter=10, seed=seed, max_points_per_centroid=256)
    kmeans.train(np.ascontiguousarray(x, dtype=np.float32))
    assign = np.empty(len(x), np.int64)
    for start in range(0, len(x), CHUNK):
        _, nearest = kmeans.index.search(np.ascontiguousarray(x[start : start + CHUNK]), 1)
        assign[start : start + CHUNK] = nearest[:, 0]
    return kmeans.centroids.astype(np.float64), assign


def _label_sums(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-label sums (float64 (k, d)) and counts of the rows, in one chunked pass."""
    sums = np.zeros((k, x.shape[1]), np.float64)
    for start in range(0, len(x), CHUNK):
        chunk = np.asarray(x[start : start + CHUNK], dtype=np.float32)
        part = labels[start : start + CHUNK]
        if k <= 1024:  # one product per chunk instead of an unbuffered add per row
            onehot = np.zeros((k, len(chunk)), np.float64)
            onehot[part, np.arange(len(chunk))] = 1.0
            sums += onehot @ chunk.astype(np.float64)  # float64 sums, as np.add.at gave
        else:
            np.add.at(sums, part, chunk)
    return sums, np.bincount(labels, minlength=k)


def _centroids(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    sums, counts = _label_sums(x, labels, k)
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Dense labels 0..k-1, largest style first (ties: the smaller label first)."""
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    rank = np.empty(len(counts), np.int32)
    rank[np.argsort(-counts, kind="stable")] = np.arange(len(counts), dtype=np.int32)
    return rank[inverse.ravel()]


class _Groups:
    """Styles being merged: their sums and counts, so a merge does not revisit the n rows.

    `order` is the numbering `_relabel` gave after the last merge (largest first, ties in the
    previous order), which decides ties exactly as relabelling after every merge did."""

    def __init__(self, x: np.ndarray, labels: np.ndarray) -> None:
        self.labels = _relabel(labels)
        self.sums, self.counts = _label_sums(x, self.labels, int(self.labels.max()) + 1)
        self.owner = np.arange(len(self.counts))  # the group each starting label is now in
        self.order = np.arange(len(self.counts))

    def alive(self) -> np.ndarray:
        """The groups left, numbered as `_relabel` would number them now."""
        return self.order

    def centroids(self, groups: np.ndarray) -> np.ndarray:
        return (self.sums[groups] / self.counts[groups, None]).astype(np.float32)

    def merge(self, into: int, gone: int) -> None:
        self.sums[into] += self.sums[gone]
        self.counts[into] += self.counts[gone]
        self.sums[gone], self.counts[gone] = 0.0, 0
        self.owner[self.owner == gone] = into
        left = self.order[self.order != gone]
        self.order = left[np.argsort(-self.counts[left], kind="stable")]

    def result(self) -> np.ndarray:
        rank = np.empty(len(self.counts), np.int32)
        rank[self.order] = np.arange(len(self.order), dtype=np.int32)
        return rank[self.owner[self.labels]]


def merge_close(x: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Merge styles whose centroids lie within `threshold` (closest pair first)."""
    groups = _Groups(x, labels)
    while threshold > 0:
        alive = groups.alive()
        if len(alive) < 2:
            break
        c = groups.centroids(alive)
        d = np.linalg.norm(c[:, None, :] - c[None, :, :], axis=-1)
        np.fill_diagonal(d, np.inf)
        i, j = np.unravel_index(np.argmin(d), d.shape)
        if d[i, j] >= threshold:
            break
        groups.merge(int(alive[i]), int(alive[j]))
    return groups.result()


def fold_small(x: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Styles smaller than `min_size` join the style with the nearest centroid."""
    groups = _Groups(x, labels)
    while True:
        alive = groups.alive()
        if len(alive) < 2:
            break
        smallest = int(np.argmin(groups.counts[alive]))
        if groups.counts[alive[smallest]] >= min_size:
            break
        c = groups.centroids(alive)
        d = np.linalg.norm(c - c[smallest], axis=1)
        d[smallest] = np.inf
        groups.merge(int(alive[int(np.argmin(d))]), int(alive[smallest]))
    return groups.result()


def cluster_styles(x: np.ndarray, cfg: ClusteringConfig) -> Styles:
    """Group unit vectors into styles."""
    if len(x) == 0:
        raise ValueError("no items to cluster")
    if len(x) == 1:
        return Styles(np.zeros(1, np.int32), x[:1].astype(np.float32), np.zeros((0, 4)), "exact")
    raw, path = _linkage_labels(x, cfg)
    labels = fold_small(x, merge_close(x, raw, cfg.merge_threshold), cfg.min_size)
    k = int(labels.max()) + 1
    centroids = _centroids(x, labels, k)
    style_linkage = (
        hierarchy.linkage(centroids.astype(np.float64), method="ward")
        if k > 1
        else np.zeros((0, 4))
    )
    log.info("%d items -> %d styles (%s path)", len(x), k, path)
    return Styles(labels, centroids, style_linkage, path)


def representatives(x: np.ndarray, styles: Styles, ids: np.ndarray, n: int) -> list[list[int]]:
    """For each style, the ids of the `n` members nearest its centroid."""
    out = []
    for s, centroid in enumerate(styles.centroids):
        members = np.flatnonzero(styles.labels == s)
        d = np.linalg.norm(x[members] - centroid, axis=1)
        out.append([int(ids[m]) for m in members[np.argsort(d, kind="stable")[:n]]])
    return out


def name_styles(
    labels: np.ndarray, tags: Sequence[Sequence[str]], top: int = 2, min_share: float = 0.15
) -> list[str]:
    """Names from each style's most distinctive tags: share in the style against share overall.

    A tag scores p(tag|style) * log(p(tag|style) / p(tag)), so tags everywhere (#ootd) score ~0.
    """
    n = len(labels)
    overall = Counter(t for item in tags for t in set(item))
    names: list[str] = []
    for s in range(int(labels.max()) + 1 if n else 0):
        members = np.flatnonzero(labels == s)
        inside = Counter(t for m in members for t in set(tags[m]))
        scored = []
        for tag, count in inside.items():
            share = count / len(members)
            lift = share / (overall[tag] / n)
            if share >= min_share and lift > 1.05:
                scored.append((share * math.log(lift), tag))
        scored.sort(key=lambda item: (-item[0], item[1]))
        name = " · ".join(tag for _, tag in scored[:top]) or f"style {s + 1}"
        while name in names:
            name = f"{name} ({s + 1})"
        names.append(name)
    return names
