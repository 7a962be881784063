"""Offline evaluation against imported labels: leave-one-out precision@k, purity, NMI, silhouette,
with a plain colour-histogram baseline measured in the same run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score, silhouette_score

from clustering.images import load_rgb
from clustering.index import StyleIndex
from clustering.styles import cluster_styles
from store import Store
from stylescout.errors import StyleScoutError, UsageError
from stylescout.settings import ClusteringConfig, EngineSettings


@dataclass(frozen=True)
class Scores:
    """Quality of one set of vectors and its clusters against a label column."""

    method: str
    precision_at_k: float
    purity: float
    nmi: float
    silhouette: float


def precision_at_k(vectors: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Leave-one-out: share of each item's k nearest (cosine) others that share its label."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    hits = 0
    for start in range(0, len(unit), 1024):  # chunked: memory O(1024 n), not O(n^2)
        sims = unit[start : start + 1024] @ unit.T
        rows = np.arange(len(sims))
        sims[rows, start + rows] = -np.inf
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        hits += int((labels[top] == labels[start + rows, None]).sum())
    return hits / (len(unit) * k)


def purity(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Share of items whose cluster's most common label is their own."""
    total = 0
    for c in np.unique(clusters):
        total += Counter(labels[clusters == c]).most_common(1)[0][1]
    return total / len(labels)


def score(
    method: str, vectors: np.ndarray, clusters: np.ndarray, labels: np.ndarray, k: int
) -> Scores:
    sil = (
        float(
            silhouette_score(vectors, clusters, sample_size=min(len(vectors), 4000), random_state=0)
        )
        if len(np.unique(clusters)) > 1
        else 0.0
    )
    return Scores(
        method,
        precision_at_k(vectors, labels, k),
        purity(clusters, labels),
        float(normalized_mutual_info_score(labels, clusters)),
        sil,
    )


def colour_histogram_444(path: Path) -> np.ndarray:
    """The reference baseline: a 4x4x4 RGB histogram of the whole image."""
    pixels = np.asarray(load_rgb(path).resize((64, 64)), dtype=np.int32).reshape(-1, 3) // 64
    hist = np.bincount((pixels[:, 0] * 4 + pixels[:, 1]) * 4 + pixels[:, 2], minlength=64)
    return hist.astype(np.float32) / max(hist.sum(), 1)


def evaluate(
    store: Store, index: StyleIndex, label_column: str, clustering: ClusteringConfig, k: int = 10
) -> dict:
    """Scores of the index and of the colour-histogram baseline against one label column."""
    label_of = store.images.labels(label_column)
    if not label_of:
        raise StyleScoutError(
            f"no image has a '{label_column}' label: import a labelled folder"
            " (stylescout import DIR) first"
        )
    keep = np.array([int(i) in label_of for i in index.ids])
    ids = index.ids[keep]
    labels = np.array([label_of[int(i)] for i in ids])
    ours = score("style index", index.vectors[keep], index.labels[keep], labels, k)
    paths = dict(store.images.image_files(ids.tolist()))
    with ThreadPoolExecutor(max_workers=2) as pool:
        hist = np.stack(list(pool.map(colour_histogram_444, [paths[int(i)] for i in ids])))
    baseline = score(
        "colour histogram 4x4x4", hist, cluster_styles(hist, clustering).labels, labels, k
    )
    return {
        "label_column": label_column,
        "images": len(ids),
        "k": k,
        "classes": len(set(labels.tolist())),
        "model_key": index.meta.model_key,
        "weights": "random (seeded)" if index.random_weights else "as in model_key",
        "space": index.meta.space_summary(),
        "results": [asdict(ours), asdict(baseline)],
    }


def learned_split(
    config: EngineSettings,
    store: Store,
    feature_key: str,
    split: float = 0.5,
    columns: Sequence[str] | None = None,
    k: int = 10,
    seed: int = 7,
) -> dict:
    """Learn the space on one part of the labelled images (split by image, seeded) and score the
    other part, raw space against learned, for each label column: precision@k (leave-one-out
    within the held-out part), and the purity and NMI of its styles."""
    from clustering.build import colour_part, descriptors_of
    from clustering.learned_space import image_tags, learn_space, project, tag_set

    if not 0 < split < 1:
        raise UsageError(f"--learned-split is a share between 0 and 1, not {split}")
    ids, vectors, *_ = descriptors_of(config, store, feature_key)
    labels = store.images.labels_by_image()
    columns = list(columns or store.images.label_columns())
    if not columns:
        raise StyleScoutError("no image has labels: import a labelled folder first")
    labelled = np.array([n for n, i in enumerate(ids) if int(i) in labels], dtype=np.int64)
    order = np.random.default_rng(seed).permutation(labelled)
    cut = round(len(order) * split)
    learn, held = np.sort(order[:cut]), np.sort(order[cut:])
    if len(held) < k + 1:
        raise StyleScoutError(f"too few labelled images to hold {1 - split:.0%} out: {len(held)}")
    cfg = config.features.learning
    learn_ids = [int(i) for i in ids[learn]]
    tags = tag_set(
        image_tags(learn_ids, store.images.tags_by_image(), labels, store.ratings.liked_by_user()),
        cfg,
    )
    space = learn_space(vectors[learn], tags, cfg, *colour_part(config))
    if isinstance(space, str):
        raise StyleScoutError(space)
    spaces = {"raw": vectors[held], "learned": project(space, vectors[held])}
    clusters = {name: cluster_styles(v, config.clustering).labels for name, v in spaces.items()}
    rows = []
    for column in columns:
        values = np.array([labels[int(i)].get(column, "") for i in ids[held]])
        has = values != ""
        for name, v in spaces.items():
            rows.append(
                {
                    "label_column": column,
                    "space": name,
                    "images": int(has.sum()),
                    "precision_at_k": precision_at_k(v[has], values[has], k),
                    "purity": purity(clusters[name][has], values[has]),
                    "nmi": float(normalized_mutual_info_score(values[has], clusters[name][has])),
                }
            )
    return {
        "learned_on": len(learn),
        "held_out": len(held),
        "tags": space.tags,
        "tagged": space.images,
        "dims": {"raw": int(vectors.shape[1]), "learned": space.dims},
        "k": k,
        "rows": rows,
    }


def descriptor_blocks(config: EngineSettings) -> dict[str, EngineSettings]:
    """The descriptor's blocks that can be left out, each with the settings that leave it out:
    the colour histogram and each garment block at a weight above 0."""
    features = config.features
    out: dict[str, EngineSettings] = {}

    def without(**changes: object) -> EngineSettings:
        return config.model_copy(update={"features": features.model_copy(update=changes)})

    if features.colour.enabled and features.colour.weight > 0:
        colour = features.colour.model_copy(update={"enabled": False})
        out["colour histogram"] = without(colour=colour)
    garment = features.garment
    if garment.enabled:
        for name, field in (
            ("garment shape", "shape_weight"),
            ("garment mask", "mask_weight"),
            ("garment geometry", "geometry_weight"),
            ("garment colour", "colour_weight"),
        ):
            if getattr(garment, field) > 0:
                out[name] = without(garment=garment.model_copy(update={field: 0.0}))
    return out


def block_ablation(
    config: EngineSettings,
    store: Store,
    feature_key: str,
    split: float = 0.5,
    columns: Sequence[str] | None = None,
    k: int = 10,
    seed: int = 7,
) -> list[dict]:
    """What each block of the descriptor gives: the learned space's precision@k per label
    column with every block, then without each block in turn (`learned_split` each time, on the
    same held-out images), with the change against every block."""
    rows: list[dict] = []
    variants = {"every block": config}
    variants.update({f"without {n}": c for n, c in descriptor_blocks(config).items()})
    full: dict[str, float] = {}
    for name, settings in variants.items():
        result = learned_split(settings, store, feature_key, split, columns, k, seed)
        for row in result["rows"]:
            if row["space"] != "learned":
                continue
            column, score = row["label_column"], row["precision_at_k"]
            full.setdefault(column, score)
            rows.append(
                {
                    "descriptor": name,
                    "label_column": column,
                    "precision_at_k": score,
                    "change": score - full[column],
                }
            )
    return rows
