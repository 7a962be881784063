from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from clustering.recommender import Recommender
from clustering.styles import cluster_styles, fold_small, merge_close, name_styles
from stylescout.settings import ClusteringConfig, RecommenderConfig
from tests.integration.helpers import REPO


def blobs(
    sizes: list[int], d: int = 16, spread: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), d))
    x = np.concatenate(
        [c + spread * rng.normal(size=(n, d)) for c, n in zip(centres, sizes, strict=True)]
    )
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), truth


def test_clear_groups_are_recovered_largest_first() -> None:
    x, truth = blobs([40, 30, 20])
    styles = cluster_styles(x, ClusteringConfig(n_styles=3, merge_threshold=0, min_size=1))
    assert adjusted_rand_score(truth, styles.labels) == 1.0
    assert styles.sizes.tolist() == [40, 30, 20] and styles.path == "exact"
    assert np.allclose(styles.centroids[0], x[styles.labels == 0].mean(axis=0), atol=1e-6)
    assert styles.linkage.shape == (2, 4)


def test_close_styles_merge_and_small_ones_fold() -> None:
    x, truth = blobs([30, 30, 4], seed=1)
    twin = x[:30] + 0.001  # a copy of the first group, a hair away
    x2 = np.concatenate([x, twin / np.linalg.norm(twin, axis=1, keepdims=True)])
    labels = np.concatenate([truth, np.full(30, 3)])
    merged = merge_close(x2, labels, threshold=0.05)
    assert len(np.unique(merged)) == 3
    assert len(np.unique(merged[np.r_[0:30, 64:94]])) == 1  # the twins became one style
    folded = fold_small(x, truth, min_size=5)
    assert len(np.unique(folded)) == 2 and np.bincount(folded).min() >= 5


@pytest.mark.parametrize("first_level", ["faiss", "sklearn"])
def test_micro_cluster_path_finds_the_same_styles_as_the_exact_path(
    first_level: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if first_level == "faiss":
        pytest.importorskip("faiss", reason="faiss-cpu is not installed (make setup-scale)")
    else:
        monkeypatch.setitem(sys.modules, "faiss", None)  # as without the scale-out extra
    x, truth = blobs([120, 100, 80, 60], seed=2)
    exact = cluster_styles(x, ClusteringConfig(n_styles=4, merge_threshold=0, min_size=1))
    micro = cluster_styles(
        x,
        ClusteringConfig(
            n_styles=4, merge_threshold=0, min_size=1, exact_limit=100, micro_clusters=40
        ),
    )
    assert micro.path == "micro-clusters"
    assert adjusted_rand_score(exact.labels, micro.labels) == 1.0
    assert adjusted_rand_score(truth, micro.labels) == 1.0


def test_names_come_from_distinctive_tags() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    tags = [
        ["boho", "dress", "ootd"],
        ["boho", "hat", "ootd"],
        ["boho", "dress", "ootd"],
        ["streetwear", "sneakers", "ootd"],
        ["streetwear", "ootd"],
        ["streetwear", "ootd"],
    ]
    assert name_styles(labels, tags) == ["boho · dress", "streetwear · sneakers"]
    assert name_styles(np.array([0, 1]), [[], []]) == ["style 1", "style 2"]


def test_recommender_nearest_and_fallback() -> None:
    from clustering.index import IndexMeta, StyleIndex

    x, _ = blobs([10, 10], seed=3)
    styles = cluster_styles(x, ClusteringConfig(n_styles=2, merge_threshold=0, min_size=1))
    meta = IndexMeta("key", "key", None, 0.0, "", ["a", "b"], [[], []], "exact")
    index = StyleIndex(
        np.arange(100, 120),
        x,
        styles.labels,
        styles.centroids,
        styles.linkage,
        np.zeros(16, np.float32),
        np.ones(16, np.float32),
        meta,
    )
    rec = Recommender(index, RecommenderConfig())
    near = rec.nearest(x[0], 5, exclude=[100])
    assert 100 not in [n.image_id for n in near] and len(near) == 5
    assert all(n.style == styles.labels[0] for n in near)
    assert [n.distance for n in near] == sorted(n.distance for n in near)
    brute = np.argsort(np.linalg.norm(x - x[0], axis=1))[1:6] + 100
    assert [n.image_id for n in near] == brute.tolist()
    assert not rec.match(x[:2]).fallback

    strict = Recommender(index, RecommenderConfig(match_threshold=1.0))
    assert strict.match(x[:1]).fallback
    approx = Recommender(index, RecommenderConfig(pca_components=8))
    assert approx.approximate and len(approx.nearest(x[0], 5)) == 5


def test_packages_do_not_import_tensorflow() -> None:
    code = (
        "import sys, clustering, clustering.cli, clustering.build, clustering.recommender, "
        "dash_app, scraper; sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0


def test_passes_over_the_rows_go_in_chunks_and_keep_member_means() -> None:
    from clustering import styles as module

    x, truth = blobs([900, 700, 400], d=24, seed=4)
    chunked = module.CHUNK
    try:
        module.CHUNK = 256  # many chunks, so the chunk edges are exercised
        result = cluster_styles(x, ClusteringConfig(n_styles=3, merge_threshold=0, min_size=1))
        reduced = module.reduce_dims(x, 8)
    finally:
        module.CHUNK = chunked
    assert adjusted_rand_score(truth, result.labels) == 1.0
    for s in range(3):
        np.testing.assert_allclose(
            result.centroids[s], x[result.labels == s].mean(axis=0), atol=1e-5
        )
    np.testing.assert_allclose(reduced, module.reduce_dims(x, 8), atol=1e-4)
