"""The style space learned from tags, raw against learned: `python -m bench.learned_space`.

On fashion-small-dev (imported and built in a temporary folder with random weights, as on a
machine without ImageNet weights), the space is learned on one half of the labelled images and
scored on the other (`clustering evaluate --learned-split 0.5`) for every label column: the
landed setting and the variants tried (one thing changed at a time), and a single-label linear
discriminant (scikit-learn's, on articleType) as the reference the issue measured. Then the cost:
learning from 100,000 synthetic tagged descriptors of the real size, and the time a projection
adds to one query, against the query's nearest-neighbour search in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from clustering.build import build_index, colour_part, descriptors_of
from clustering.evaluate import learned_split, precision_at_k
from clustering.index import load_index
from clustering.learned_space import learn_space, project, tag_set
from scraper.importer import import_folder
from store import Store
from stylescout.loader import parse_config
from stylescout.settings import Config, LearningConfig

FASHION = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-small-dev"
VARIANTS: dict[str, dict] = {
    "landed (weights tuned: no kind of tag may lose)": {},
    "objective all_tags (every tag alike)": {"objective": "all_tags"},
    "not tuned: raw_weight 0.25, colour kept": {"tune_weights": False},
    "not tuned: colour not kept": {"tune_weights": False, "keep_colour": False},
    "not tuned: colour not kept, raw_weight 0.5": {
        "tune_weights": False,
        "keep_colour": False,
        "raw_weight": 0.5,
    },
    "not tuned: colour not kept, raw_weight 1": {
        "tune_weights": False,
        "keep_colour": False,
        "raw_weight": 1.0,
    },
    "dims 16": {"dims": 16},
    "pca_dims 128": {"pca_dims": 128},
    "pca_dims 512": {"pca_dims": 512},
    "shrinkage 0.01": {"shrinkage": 0.01},
    "shrinkage 0.3": {"shrinkage": 0.3},
    "max_tag_share 1 (no tag dropped)": {"max_tag_share": 1.0},
}


def built_store(tmp: Path) -> Config:
    config = parse_config(
        {"data_dir": str(tmp / "data"), "features": {"weights": "none"}}, "bench", tmp
    )
    with Store.from_config(config) as store:
        import_folder(store, FASHION)
        print(build_index(config.engine, store)[0].summary())
    return config


def with_learning(config: Config, **changes: object) -> Config:
    learning = config.features.learning.model_copy(update=changes)
    features = config.features.model_copy(update={"learning": learning})
    return config.model_copy(update={"features": features})


def variants(config: Config, columns: list[str]) -> None:
    with Store.from_config(config) as store:
        key = load_index(store.index_dir).meta.feature_key
        print("| variant | " + " | ".join(columns) + " | mean change |")
        print("|---|" + "---|" * (len(columns) + 1))
        raw_row = None
        for name, changes in VARIANTS.items():
            result = learned_split(
                with_learning(config, **changes).engine, store, key, 0.5, columns
            )
            by = {(r["label_column"], r["space"]): r["precision_at_k"] for r in result["rows"]}
            if raw_row is None:
                raw_row = [by[(c, "raw")] for c in columns]
                print("| raw space | " + " | ".join(f"{v:.3f}" for v in raw_row) + " | - |")
                print(
                    f"(learned on {result['learned_on']}, {result['tags']} tags; scored on "
                    f"{result['held_out']}; NMI and purity: `clustering evaluate --learned-split`)"
                )
            row = [by[(c, "learned")] for c in columns]
            change = statistics.mean(a - b for a, b in zip(row, raw_row, strict=True))
            print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + f" | {change:+.3f} |")
        single_label_reference(config, store, key, columns)
        print("\nthe landed setting on other halves (change against the raw space):")
        for seed in (1, 2, 3):
            result = learned_split(config.engine, store, key, 0.5, columns, seed=seed)
            by = {(r["label_column"], r["space"]): r["precision_at_k"] for r in result["rows"]}
            print(
                f"seed {seed}: "
                + ", ".join(f"{c} {by[(c, 'learned')] - by[(c, 'raw')]:+.3f}" for c in columns)
            )


def halves(
    config: Config, store: Store, key: str
) -> tuple[np.ndarray, np.ndarray, dict, np.ndarray, np.ndarray]:
    """ids, descriptors, labels and the learning and held-out rows `learned_split` uses (seed 7)."""
    ids, vectors, *_ = descriptors_of(config.engine, store, key)
    labels = store.images.labels_by_image()
    labelled = np.array([n for n, i in enumerate(ids) if int(i) in labels])
    order = np.random.default_rng(7).permutation(labelled)
    cut = round(len(order) * 0.5)
    return ids, vectors, labels, np.sort(order[:cut]), np.sort(order[cut:])


def single_label_reference(config: Config, store: Store, key: str, columns: list[str]) -> None:
    """scikit-learn's LDA fitted on articleType alone, on the same halves."""
    ids, vectors, labels, learn, held = halves(config, store, key)
    target = [labels[int(i)].get("articleType", "") for i in ids[learn]]
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(vectors[learn], target)
    z = lda.transform(vectors[held])
    row = []
    for column in columns:
        values = np.array([labels[int(i)].get(column, "") for i in ids[held]])
        has = values != ""
        row.append(precision_at_k(z[has], values[has]))
    print("| single-label LDA on articleType (reference) | " + " | ".join(f"{v:.3f}" for v in row))


def ceiling(config: Config, store: Store, key: str) -> None:
    """How far any space can go whose colour information is the descriptor's colour part: the
    held-out half's true articleType given as part of the space (one-hot, weighted) beside the
    colour part. No learned space knows articleType better than this."""
    ids, vectors, labels, _, held = halves(config, store, key)
    dims, _ = colour_part(config.engine)
    if not dims:
        return
    colour = vectors[held, -dims:]
    colour = colour / np.maximum(np.linalg.norm(colour, axis=1, keepdims=True), 1e-12)
    article = np.array([labels[int(i)].get("articleType", "") for i in ids[held]])
    colours = np.array([labels[int(i)].get("baseColour", "") for i in ids[held]])
    one_hot = (article[:, None] == np.unique(article)[None, :]).astype(np.float32)
    has = colours != ""
    print("\nceiling: the true articleType in the space beside the colour part (held-out half)")
    print("| space | articleType | baseColour |\n|---|---|---|")
    rows = {"colour part alone": colour}
    for weight in (0.35, 0.4, 0.45, 0.5, 1.0):
        rows[f"true articleType x {weight} + colour part"] = np.hstack([weight * one_hot, colour])
    for name, v in rows.items():
        art = precision_at_k(v, article)
        col = precision_at_k(v[has], colours[has])
        print(f"| {name} | {art:.3f} | {col:.3f} |")


def cost(dims: int, n: int, tags: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, dims)).astype(np.float32)
    per = [{f"#t{rng.integers(tags)}", f"kind=u{rng.integers(tags)}"} for _ in range(n)]
    cfg = LearningConfig()
    started = time.perf_counter()
    space = learn_space(x, tag_set(per, cfg), cfg, 512, 0.8)
    learn_s = time.perf_counter() - started
    assert not isinstance(space, str)
    index_vectors = project(space, x[:20_000])
    project_ms, search_ms = [], []
    for i in range(200):
        started = time.perf_counter()
        q = project(space, x[i : i + 1])
        project_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        np.argpartition(-(index_vectors @ q[0]), 10)[:10]
        search_ms.append(1000 * (time.perf_counter() - started))
    print(
        f"\nlearning from {n:,} tagged descriptors of {dims} dimensions ({2 * tags} tags): "
        f"{learn_s:.1f} s; a query's projection {statistics.median(project_ms):.3f} ms "
        f"(median of 200) against {statistics.median(search_ms):.3f} ms for its search over "
        f"20,000 items, {statistics.median(project_ms) / statistics.median(search_ms):.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="a built store with labels")
    parser.add_argument("--images", type=int, default=100_000, help="for the cost of learning")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.data_dir:
            config = parse_config({"data_dir": args.data_dir}, "bench", Path.cwd())
        else:
            config = built_store(Path(tmp))
        with Store.from_config(config) as store:
            columns = store.images.label_columns()
            key = load_index(store.index_dir).meta.feature_key
            ceiling(config, store, key)
        variants(config, columns)
    cost(2560, args.images, 200)


if __name__ == "__main__":
    main()
