"""Two backbones compared online, with simulated raters: `python -m bench.interleave`.

The store holds the main index (features.backbone) and the challenger's
(recommender.interleave.challenger). A rater wants one value of a label column, starts from one
photo of it and, for a few rounds, is shown the team-draft mix of both models' 10 items (what
was shown before left out), rating each 5 (wanted) or 1 (not), as Discover records them. Each
list is won by the model whose items were liked more; reported: lists won by each, the share
won by the challenger with its 95% interval, next to each model's own precision over the same
raters (what interleaving should agree with). Also the cost: the median time of a query that
embeds a new photo, one model against two (the interleaved one), in the same run.

Default store: fashion-small-dev imported and built in a temporary folder with random weights
(`features.weights: none`); `--data-dir` uses a built store of yours (interleaving on in its
config.yaml, both indexes built).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from clustering.build import build_indexes
from clustering.index import load_index
from clustering.interleave import Interleaved, outcome, preference, team_draft
from clustering.query import Photo, PhotoEmbedder, answer
from clustering.recommender import Recommender
from scraper.importer import import_folder
from store import Store
from stylescout.loader import load_config, parse_config
from stylescout.settings import Config

FASHION = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-small-dev"


def built_store(tmp: Path, challenger: str) -> Config:
    """fashion-small-dev imported, with both indexes (random weights) in `tmp`."""
    config = parse_config(
        {
            "data_dir": str(tmp / "data"),
            "features": {"weights": "none", "space": "raw"},  # not learned from the labels
            "recommender": {"interleave": {"enabled": True, "challenger": challenger}},
        },
        "bench",
        tmp,
    )
    with Store.from_config(config) as store:
        import_folder(store, FASHION)
        for report in build_indexes(config.engine, store):
            print(report.summary())
    return config


class _Model:
    """One index with its recommender and photo embedder."""

    def __init__(self, config: Config, index_dir: Path) -> None:
        self.index = load_index(index_dir)
        self.recommender = Recommender(self.index, config.recommender)
        self.embedder = PhotoEmbedder(config.features)

    def top(self, store: Store, photos: list[Photo], ratings: dict, shown: list[int]) -> list[int]:
        result = answer(
            self.index, self.recommender, self.embedder, store, photos, ratings, exclude=shown
        )
        return [n.image_id for n in result.neighbours]


def simulate(config: Config, column: str, rounds: int, raters: int, seed: int) -> dict:
    """Lists won per model, and each model's own share of wanted items over the same starts."""
    with Store.from_config(config) as store:
        models = {
            "a": _Model(config, store.index_dir),
            "b": _Model(config.challenger(), store.challenger_index_dir),
        }
        labels = store.images.labels(column)
        values = defaultdict(list)
        for image_id in models["a"].index.ids.tolist():
            if image_id in labels:
                values[labels[image_id]].append(image_id)
        common = [v for v, ids in values.items() if len(ids) >= 30]
        rng = random.Random(seed)
        starts = [(v, rng.choice(values[v])) for v in rng.choices(common, k=raters)]
        outcomes, ratings_given = [], 0
        alone = {"a": [], "b": []}
        for wanted, start in starts:
            photos = [Photo.item(start)]
            for team, model in models.items():  # each model on its own: its precision@10
                top = model.top(store, photos, {}, [])
                alone[team].append(sum(labels.get(i) == wanted for i in top) / max(1, len(top)))
            shown: list[int] = []
            ratings: dict[int, int] = {}
            for _ in range(rounds):
                mixed = team_draft(
                    models["a"].top(store, photos, ratings, shown),
                    models["b"].top(store, photos, ratings, shown),
                    config.recommender.k,
                    rng,
                )
                given = {i: 5 if labels.get(i) == wanted else 1 for i in mixed.items}
                outcomes.append(outcome(Interleaved(mixed.items, mixed.credit), given))
                ratings_given += len(given)
                ratings.update(given)
                shown += mixed.items
        return {
            "preference": preference(outcomes),
            "lists": len(outcomes),
            "ratings": ratings_given,
            "alone": {t: statistics.mean(v) for t, v in alone.items()},
            "keys": {t: m.index.meta.model_key for t, m in models.items()},
        }


def query_cost(config: Config, photos: int) -> tuple[float, float]:
    """Median seconds of a query with a new photo file: the main model alone, and both."""
    with Store.from_config(config) as store:
        models = [
            _Model(config, store.index_dir),
            _Model(config.challenger(), store.challenger_index_dir),
        ]
        files = sorted(FASHION.glob("images/*.jpg"))[: 2 * photos + 2]
        for model in models:  # the first call builds the model: not part of a query
            model.top(store, [Photo.from_file(files[0])], {}, [])
        one, two = [], []
        for n in range(photos):
            started = time.perf_counter()
            models[0].top(store, [Photo.from_file(files[2 + 2 * n])], {}, [])
            one.append(time.perf_counter() - started)
            started = time.perf_counter()
            photo = [Photo.from_file(files[3 + 2 * n])]
            team_draft(
                models[0].top(store, photo, {}, []),
                models[1].top(store, photo, {}, []),
                10,
                random.Random(n),
            )
            two.append(time.perf_counter() - started)
    return statistics.median(one), statistics.median(two)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="a built store with both indexes")
    parser.add_argument("--challenger", default="densenet121")
    parser.add_argument("--label-column", default=None, help="one column (default: both)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--raters", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--photos", type=int, default=15, help="queries timed per variant")
    args = parser.parse_args()
    columns = [args.label_column] if args.label_column else ["articleType", "baseColour"]
    with tempfile.TemporaryDirectory() as tmp:
        if args.data_dir:
            config = load_config(None, args.data_dir)  # ./config.yaml, as the CLIs read it
        else:
            config = built_store(Path(tmp), args.challenger)
        print(
            "| label | A | B | A P@10 alone | B P@10 alone | lists (A won, B won) | ratings "
            "| B's share of decided lists (95% interval) |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for column in columns:
            r = simulate(config, column, args.rounds, args.raters, args.seed)
            p = r["preference"]
            print(
                f"| {column} | {r['keys']['a']} | {r['keys']['b']} | {r['alone']['a']:.3f} | "
                f"{r['alone']['b']:.3f} | {r['lists']} ({p.a_wins}, {p.b_wins}) | {r['ratings']} "
                f"| {1 - p.share_a:.3f} ({1 - p.high:.3f} to {1 - p.low:.3f}) |"
            )
        one, two = query_cost(config, args.photos)
        print(
            f"\nquery with a new photo, median of {args.photos}: one model {one * 1000:.0f} ms, "
            f"interleaved (both) {two * 1000:.0f} ms, {two / one:.2f}x"
        )


if __name__ == "__main__":
    main()
