"""Style clusters: SciPy hierarchical clustering, averaged centroids, merge and fold rules, names.

Up to `exact_limit` items the linkage runs on all of them; above it, on k-means micro-cluster
centroids (scipy.cluster.vq), so memory stays O(n·d). The linkage works in a PCA space of
`pca_dims` dimensions; centroids are means of the members' full vectors.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster import hierarchy, vq

from store.config import ClusteringConfig

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


def reduce_dims(x: np.ndarray, dims: int, sample: int = 20_000, seed: int = 0) -> np.ndarray:
    """Project onto the top principal components, estimated from at most `sample` rows
    (the d x d covariance of a sample: memory O(n·d), time independent of n beyond projecting)."""
    if x.shape[1] <= dims:
        return x.astype(np.float32)
    mean = x.mean(axis=0)
    rows = (
        x
        if len(x) <= sample
        else x[np.random.default_rng(seed).choice(len(x), sample, replace=False)]
    )
    centred = (rows - mean).astype(np.float32)
    _, vecs = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    basis = vecs[:, ::-1][:, :dims].astype(np.float32)
    return (x - mean).astype(np.float32) @ basis


def _cut(z: np.ndarray, cfg: ClusteringConfig) -> np.ndarray:
    if cfg.distance_threshold is not None:
        return hierarchy.fcluster(z, t=cfg.distance_threshold, criterion="distance")
    return hierarchy.fcluster(z, t=cfg.n_styles or 1, criterion="maxclust")


def _linkage_labels(x: np.ndarray, cfg: ClusteringConfig) -> tuple[np.ndarray, str]:
    """Flat labels from the linkage, on all items or on micro-cluster centroids."""
    reduced = reduce_dims(x, cfg.pca_dims, seed=cfg.seed).astype(np.float64)
    if len(x) <= cfg.exact_limit:
        return _cut(hierarchy.linkage(reduced, method=cfg.method), cfg), "exact"
    rng = np.random.default_rng(cfg.seed)
    # random points as seeds: k-means++ seeding is a Python-level loop, minutes at this size
    micro, assign = vq.kmeans2(
        reduced, min(cfg.micro_clusters, len(x)), iter=10, minit="points", seed=rng
    )
    used = np.unique(assign)  # k-means can leave a centroid empty
    remap = np.full(len(micro), -1)
    remap[used] = np.arange(len(used))
    micro_labels = _cut(hierarchy.linkage(micro[used], method=cfg.method), cfg)
    return micro_labels[remap[assign]], "micro-clusters"


def _centroids(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    sums = np.zeros((k, x.shape[1]), np.float64)
    np.add.at(sums, labels, x)
    counts = np.bincount(labels, minlength=k)[:, None]
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Dense labels 0..k-1, largest style first."""
    values, counts = np.unique(labels, return_counts=True)
    order = values[np.argsort(-counts, kind="stable")]
    mapping = {int(v): i for i, v in enumerate(order)}
    return np.array([mapping[int(v)] for v in labels], np.int32)


def merge_close(x: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Merge styles whose centroids lie within `threshold` (closest pair first)."""
    labels = _relabel(labels)
    while threshold > 0:
        k = labels.max() + 1
        if k < 2:
            break
        c = _centroids(x, labels, k)
        d = np.linalg.norm(c[:, None, :] - c[None, :, :], axis=-1)
        np.fill_diagonal(d, np.inf)
        i, j = np.unravel_index(np.argmin(d), d.shape)
        if d[i, j] >= threshold:
            break
        labels = _relabel(np.where(labels == j, i, labels))
    return labels


def fold_small(x: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Styles smaller than `min_size` join the style with the nearest centroid."""
    labels = _relabel(labels)
    while labels.max() >= 1:
        k = labels.max() + 1
        sizes = np.bincount(labels, minlength=k)
        smallest = int(np.argmin(sizes))
        if sizes[smallest] >= min_size:
            break
        c = _centroids(x, labels, k)
        d = np.linalg.norm(c - c[smallest], axis=1)
        d[smallest] = np.inf
        labels = _relabel(np.where(labels == smallest, int(np.argmin(d)), labels))
    return labels


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
