"""The garment's blocks, block by block: `python -m bench.garment [--data-dir DATA]`.

On fashion-small-dev (imported and built with random weights, as on a machine without ImageNet
weights; or a store given with --data-dir), the space is learned on one half of the labelled
images and scored on the other (`clustering evaluate --learned-split 0.5`), on three halves
(seeds 1, 2, 3), for each descriptor: today's (ResNet50 + RGB colour), then with the garment's
colour, its shape (HOG of the grey garment and of its mask, moments), and both. Reported: the
mean precision@10 per label column, raw and learned. Then the cost: images/s of the garment's
blocks against the ResNet50 pass on the same images in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.learned_space import built_store
from clustering.calibration import StoreCalibration
from clustering.evaluate import learned_split, precision_at_k
from clustering.features import FeatureExtractor
from clustering.garment import garment_vector
from clustering.images import load_rgb
from clustering.index import load_index
from store import Store
from stylescout.loader import parse_config
from stylescout.settings import Config

SEEDS = (1, 2, 3)
SHAPE = {"shape_weight": 1.2, "mask_weight": 1.0, "geometry_weight": 0.3}
VARIANTS: dict[str, dict | None] = {
    "ResNet50 + RGB colour (today)": None,
    "+ garment colour (Lab, in the mask)": {
        "colour_weight": 0.8,
        "shape_weight": 0,
        "mask_weight": 0,
        "geometry_weight": 0,
    },
    "+ shape (HOG of garment and mask, moments)": {**SHAPE, "colour_weight": 0},
    "+ shape + garment colour": {**SHAPE, "colour_weight": 0.8},
}


def with_garment(config: Config, changes: dict | None) -> Config:
    garment = config.features.garment.model_copy(
        update={"enabled": changes is not None, **(changes or {})}
    )
    features = config.features.model_copy(update={"garment": garment})
    return config.model_copy(update={"features": features})


def ablation(config: Config) -> None:
    with Store.from_config(config) as store:
        key = load_index(store.index_dir).meta.feature_key
        columns = store.images.label_columns()
        print(
            f"P@10 on held-out halves (mean of seeds {', '.join(map(str, SEEDS))}), raw / learned"
        )
        print("| descriptor | " + " | ".join(columns) + " |")
        print("|---|" + "---|" * len(columns))
        for name, changes in VARIANTS.items():
            engine = with_garment(config, changes).engine
            scores: dict[tuple[str, str], list[float]] = {}
            for seed in SEEDS:
                result = learned_split(engine, store, key, 0.5, columns, seed=seed)
                for row in result["rows"]:
                    scores.setdefault((row["label_column"], row["space"]), []).append(
                        row["precision_at_k"]
                    )
            cells = [
                f"{np.mean(scores[(c, 'raw')]):.3f} / {np.mean(scores[(c, 'learned')]):.3f}"
                for c in columns
            ]
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def what_labels_allow(config: Config) -> None:
    """The held-out halves described by their true labels alone: articleType and baseColour
    one-hot, at several weights. No descriptor can do better than its labels; this shows how far
    both columns can be high at once on a half of this size."""
    with Store.from_config(config) as store:
        labels = store.images.labels_by_image()
        ids = sorted(i for i, row in labels.items() if row.get("articleType"))
    article = np.array([labels[i]["articleType"] for i in ids])
    colour = np.array([labels[i].get("baseColour", "") for i in ids])

    def onehot(values: np.ndarray) -> np.ndarray:
        kinds = {v: n for n, v in enumerate(sorted(set(values)))}
        out = np.zeros((len(values), len(kinds)), np.float32)
        out[np.arange(len(values)), [kinds[v] for v in values]] = 1
        return out

    both = onehot(article), onehot(colour)
    jitter = np.random.default_rng(0).normal(0, 1e-3, (len(ids), sum(b.shape[1] for b in both)))
    print("true labels as the descriptor (held-out halves), articleType / baseColour:")
    for a, c in ((1, 0), (1, 0.5), (1, 1), (0.5, 1)):
        vectors = np.hstack([a * both[0], c * both[1]]) + jitter
        scores = []
        for seed in SEEDS:
            held = np.sort(np.random.default_rng(seed).permutation(len(ids))[len(ids) // 2 :])
            scores.append(
                (
                    precision_at_k(vectors[held], article[held], 10),
                    precision_at_k(vectors[held], colour[held], 10),
                )
            )
        art, col = np.mean(scores, axis=0)
        print(f"  article {a:g} + colour {c:g}: {art:.3f} / {col:.3f}")


def cost(config: Config, images: int, repeats: int) -> None:
    """images/s of the ResNet50 pass (batched, as a build runs it) and of the garment's blocks,
    on the same images, medians of `repeats`."""
    with Store.from_config(config) as store:
        paths = [p for _, p in store.images.image_files()][:images]
        extractor = FeatureExtractor(config.features, calibration=StoreCalibration(store))
    extractor.extract(paths[: config.features.batch_size])  # the model built and warm
    cfg = config.features.garment
    model, blocks = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        extractor.extract(paths)
        model.append(len(paths) / (time.perf_counter() - started))
        started = time.perf_counter()
        for path in paths:
            garment_vector(load_rgb(path), cfg)
        blocks.append(len(paths) / (time.perf_counter() - started))
    m, b = statistics.median(model), statistics.median(blocks)
    print(
        f"cost on {len(paths)} images: ResNet50 {m:.1f} images/s, garment blocks {b:.1f} images/s"
        f" (one thread): the blocks add {m / b:.1%} to extraction time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="a built store with labels")
    parser.add_argument("--images", type=int, default=256, help="for the cost")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.data_dir:
            config = parse_config(
                {"data_dir": args.data_dir, "features": {"weights": "none"}}, "bench", Path.cwd()
            )
        else:
            config = built_store(Path(tmp))
        ablation(config)
        what_labels_allow(config)
        cost(config, args.images, args.repeats)


if __name__ == "__main__":
    main()
