"""Does feedback learn? Simulated raters on a labelled store: `python -m bench.feedback`.

A rater wants one value of a label column (an articleType, a baseColour). They start from one
photo of it (a catalogue item), are shown 10 items, rate each 5 (wanted) or 1 (not), and every
next round leaves out everything shown before. Reported per round: the share of wanted items
among the new items, for no feedback (the next 10 nearest the photo), Rocchio alone, and the
learner (a per-person logistic regression re-ranking the items around the Rocchio profile),
averaged over raters; the ratio is round 3 against no feedback.

Default store: fashion-small-dev imported and built into a temporary folder with random weights
(`features.weights: none`, as on a machine without ImageNet weights); `--data-dir` uses a built
store of yours instead.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path

from clustering.build import build_index
from clustering.index import load_index
from clustering.query import Photo, PhotoEmbedder, answer
from clustering.recommender import Recommender
from scraper.importer import import_folder
from store import Store
from stylescout.loader import parse_config
from stylescout.settings import Config

FASHION = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-small-dev"
STRATEGIES = ("none", "rocchio", "learner")


def built_store(tmp: Path) -> Config:
    """fashion-small-dev imported and indexed (random weights) in `tmp`."""
    config = parse_config(
        # the raw space: a space learned from these very labels would make the raters' task
        # circular (bench.learned_space measures that space on held-out images)
        {"data_dir": str(tmp / "data"), "features": {"weights": "none", "space": "raw"}},
        "bench",
        tmp,
    )
    with Store.from_config(config) as store:
        import_folder(store, FASHION)
        build_index(config.engine, store)
    return config


def simulate(
    config: Config, column: str, rounds: int, raters: int, seed: int
) -> dict[str, list[float]]:
    """Mean share of wanted items among the new items, per strategy and round."""
    with Store.from_config(config) as store:
        index = load_index(store.index_dir)
        labels = store.images.labels(column)
        values = defaultdict(list)
        for image_id in index.ids.tolist():
            if image_id in labels:
                values[labels[image_id]].append(image_id)
        common = [v for v, ids in values.items() if len(ids) >= 30]  # enough to find 30 more
        rng = random.Random(seed)
        starts = [(v, rng.choice(values[v])) for v in rng.choices(common, k=raters)]
        embedder = PhotoEmbedder(config.features)
        shares: dict[str, list[list[float]]] = {s: [[] for _ in range(rounds)] for s in STRATEGIES}
        for strategy in STRATEGIES:
            cfg = config.recommender.model_copy(
                update={"learner": "logistic" if strategy == "learner" else "rocchio"}
            )
            recommender = Recommender(index, cfg)
            for wanted, start in starts:
                shown: list[int] = []
                ratings: dict[int, int] = {}
                for r in range(rounds):
                    result = answer(
                        index,
                        recommender,
                        embedder,
                        store,
                        [Photo.item(start)],
                        {} if strategy == "none" else ratings,
                        cfg,
                        exclude=shown,
                    )
                    new = [n.image_id for n in result.neighbours]
                    hits = [labels.get(i) == wanted for i in new]
                    shares[strategy][r].append(sum(hits) / max(1, len(new)))
                    shown += new
                    ratings.update({i: 5 if hit else 1 for i, hit in zip(new, hits, strict=True)})
    return {s: [statistics.mean(r) for r in rounds_] for s, rounds_ in shares.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="a built store with labels")
    parser.add_argument("--label-column", default=None, help="one column (default: both)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--raters", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    columns = [args.label_column] if args.label_column else ["articleType", "baseColour"]
    with tempfile.TemporaryDirectory() as tmp:
        if args.data_dir:
            config = parse_config({"data_dir": args.data_dir}, "bench", Path.cwd())
        else:
            config = built_store(Path(tmp))
        for column in columns:
            result = simulate(config, column, args.rounds, args.raters, args.seed)
            print(f"\n{column}: share of wanted items among the new items ({args.raters} raters)")
            print("| strategy | " + " | ".join(f"round {r + 1}" for r in range(args.rounds)) + " |")
            print("|---|" + "---|" * args.rounds)
            for strategy, per_round in result.items():
                print(f"| {strategy} | " + " | ".join(f"{x:.3f}" for x in per_round) + " |")
            base = result["none"][-1]
            for strategy in ("rocchio", "learner"):
                ratio = result[strategy][-1] / base if base else float("nan")
                print(f"round {args.rounds}, {strategy} / no feedback: {ratio:.2f}x")


if __name__ == "__main__":
    main()
