"""Trends on real photos, against a designed truth: `python -m bench.designed_trends`.

fashion-small-dev's product photos are posted over 12 weeks by a designed schedule
(`sandbox.designed_feed`): two kinds of item ramp up, two ramp down, the rest stay flat, and every
caption is the same `#look`, so only the photos can show the trend. The feed is scraped on
127.0.0.1 by the normal scraper into a temporary store and built with random weights (as on a
machine without ImageNet weights). Each way the product names trends is then scored against the
design:

- style call-outs: the styles' shares (`clustering.trends.shares.tag_styles`, as the Trends page
  shows them), rising or falling when the count model says so after Holm;
- emerging looks (`clustering.trends.model.emerging_looks`): rising micro-styles;
- regions (`clustering.trends.regions.find_regions`): neighbourhood scan, calibrated by
  permutation, merged into regions, rising and falling.

A call (a style, look or region named rising or falling) names the kind that is the majority (more
than half) of its items; a call without a majority kind names none. Scored per kind: right (a
designed kind named in its direction), wrong (named in the opposite direction), flat called (a flat
kind named rising or falling); calls naming no kind are counted apart.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.trends import print_backtest
from clustering.build import build_index
from clustering.index import StyleIndex
from clustering.trends.backtest import Backtest, backtest, store_series
from clustering.trends.model import emerging_looks
from clustering.trends.regions import find_regions
from clustering.trends.shares import tag_styles
from sandbox.demo_feed.server import BackgroundServer
from sandbox.designed_feed import TAG, DesignedFeed, designed_feed
from scraper.scrape import scrape
from store import Store
from stylescout.loader import parse_config
from stylescout.settings import Config

FASHION = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-small-dev"


def designed_config(data_dir: Path, base_url: str, input_size: int, garment: bool) -> Config:
    """A config reading the designed feed, building with random weights at `input_size`."""
    return parse_config(
        {
            "data_dir": str(data_dir),
            "sources": {"designed": DesignedFeed.source(base_url)},
            "scraper": {"workers": 4},
            "features": {
                "weights": "none",
                "input_size": input_size,
                "batch_size": 32,
                "garment": {"enabled": garment},
            },
        },
        "bench",
        data_dir.parent,
    )


def scrape_and_build(
    feed: DesignedFeed, data_dir: Path, input_size: int = 64, garment: bool = False
) -> tuple[Config, StyleIndex, float]:
    """The feed served on 127.0.0.1, scraped as a person would (`#look`, every post), and the
    index built; returns the config, the index and the seconds taken."""
    started = time.perf_counter()
    with BackgroundServer(feed.app(), "127.0.0.1", 0) as server:
        config = designed_config(data_dir, server.url, input_size, garment)
        result = scrape(config.scraping, TAG, len(feed.posts), "designed")
    if result.progress.added == 0:
        raise RuntimeError(f"the designed feed gave no images: {result.progress}")
    with Store.from_config(config) as store:
        _, index = build_index(config.engine, store)
    return config, index, time.perf_counter() - started


def kinds_of_images(store: Store, feed: DesignedFeed) -> dict[int, str]:
    """Each stored image's kind, from the post URLs the feed served (the design's truth)."""
    out: dict[int, str] = {}
    for image_id, url in store.db.rows("SELECT id, post_url FROM images"):
        kind = feed.kind_of_url(url)
        if kind is not None:
            out[int(image_id)] = kind
    return out


@dataclass(frozen=True)
class Call:
    """A unit (style, look, region) named rising or falling, and the kinds of its items."""

    name: str
    direction: str
    kinds: Counter

    @property
    def majority(self) -> str | None:
        """The kind that is more than half of the unit's items, or None."""
        if not self.kinds:
            return None
        kind, n = self.kinds.most_common(1)[0]
        return kind if n > sum(self.kinds.values()) / 2 else None


@dataclass(frozen=True)
class Score:
    right: list[str]
    wrong: list[str]
    flat_called: list[str]
    no_kind: int  # calls whose items have no majority kind
    calls: list[Call]

    def cells(self, feed: DesignedFeed) -> str:
        designed = len(feed.rising) + len(feed.falling)
        return (
            f"{len(self.right)} of {designed} | {len(self.wrong)} | {len(self.flat_called)} | "
            f"{self.no_kind}"
        )


def score(calls: Iterable[Call], feed: DesignedFeed) -> Score:
    """Right, wrong and flat kinds called, by the majority rule (see the module's docstring)."""
    calls = list(calls)
    right: set[str] = set()
    wrong: set[str] = set()
    flat: set[str] = set()
    no_kind = 0
    for call in calls:
        kind = call.majority
        if kind is None:
            no_kind += 1
            continue
        designed = feed.direction_of(kind)
        if designed == "flat":
            flat.add(kind)
        elif designed == call.direction:
            right.add(kind)
        else:
            wrong.add(kind)
    return Score(sorted(right), sorted(wrong), sorted(flat), no_kind, calls)


def _kinds(ids: Iterable[int], kind_of: dict[int, str]) -> Counter:
    return Counter(kind_of[int(i)] for i in ids if int(i) in kind_of)


def style_calls(store: Store, index: StyleIndex, kind_of: dict[int, str]) -> list[Call]:
    """The Trends page's style call-outs for the feed's tag on all sources."""
    result = tag_styles(store, index, TAG, None, min_posts=5)
    position = {name: n for n, name in enumerate(index.meta.names)}
    calls = []
    for trend in result.trends:
        if trend.direction == "flat":
            continue
        members = index.ids[index.labels == position[trend.name]]
        calls.append(Call(trend.name, trend.direction, _kinds(members, kind_of)))
    return calls


def look_calls(
    store: Store, index: StyleIndex, config: Config, kind_of: dict[int, str]
) -> list[Call]:
    """Emerging looks (rising micro-styles) as the page computes them; a look's items are those
    of its micro-style, found again by its example images' group."""
    from clustering.styles import cluster_styles

    looks = emerging_looks(store, index.ids, index.vectors, config.clustering)
    if not looks:
        return []
    cfg = config.clustering.model_copy(
        update={
            "n_styles": 48,
            "distance_threshold": None,
            "merge_threshold": 0.0,
            "min_size": max(3, len(index.ids) // (48 * 4)),
        }
    )
    labels = cluster_styles(index.vectors, cfg).labels
    row = {int(i): n for n, i in enumerate(index.ids)}
    calls = []
    for look in looks:
        label = Counter(int(labels[row[i]]) for i in look.examples).most_common(1)[0][0]
        calls.append(Call(look.name, "rising", _kinds(index.ids[labels == label], kind_of)))
    return calls


def region_calls(
    store: Store, index: StyleIndex, config: Config, kind_of: dict[int, str]
) -> tuple[list[Call], float]:
    """The regions found, and the seconds the finder took."""
    started = time.perf_counter()
    regions = find_regions(store, index.ids, index.vectors, config.clustering)
    seconds = time.perf_counter() - started
    calls = [Call(r.name, r.direction, _kinds(r.members, kind_of)) for r in regions]
    return calls, seconds


def describe(call: Call) -> str:
    top = ", ".join(f"{k} {n}" for k, n in call.kinds.most_common(2))
    return f"{call.direction} {call.name} ({sum(call.kinds.values())} items: {top})"


def track_records(store: Store, index: StyleIndex, config: Config) -> dict[str, Backtest]:
    """Every forecast method backtested on the store's weekly series: the styles' posts and
    the regions' (the kinds of series the page shows for a store captioned with one tag)."""
    series = {
        "styles": list(store_series(store, "styles", index=index, names=[TAG]).values()),
        "regions": [
            r.trend.counts for r in find_regions(store, index.ids, index.vectors, config.clustering)
        ],
    }
    return {kind: backtest(values, horizon=4, min_train=6) for kind, values in series.items()}


def run_once(
    feed: DesignedFeed, input_size: int, garment: bool, records: bool = False
) -> tuple[dict[str, Score], float, float, dict[str, Backtest]]:
    """One store: scores of each method, the build's seconds, the region finder's, and (with
    `records`) the forecasts' backtest on its series."""
    with tempfile.TemporaryDirectory() as tmp:
        config, index, built_s = scrape_and_build(feed, Path(tmp) / "data", input_size, garment)
        with Store.from_config(config) as store:
            kind_of = kinds_of_images(store, feed)
            regions, region_s = region_calls(store, index, config, kind_of)
            scores = {
                "style call-outs": score(style_calls(store, index, kind_of), feed),
                "emerging looks": score(look_calls(store, index, config, kind_of), feed),
                "regions": score(regions, feed),
            }
            tracked = track_records(store, index, config) if records else {}
    return scores, built_s, region_s, tracked


def cost(dims: int, n: int, repeats: int) -> float:
    """Median seconds of the region finder on `n` synthetic items over 12 weeks."""
    from clustering.trends.regions import regions_from_times

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, dims)).astype(np.float32)
    post_weeks = [rng.integers(0, 12, rng.integers(1, 4)).tolist() for _ in range(n)]
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        regions_from_times(np.arange(n), vectors, post_weeks)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=FASHION)
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--garment", choices=("off", "on", "both"), default="both")
    parser.add_argument(
        "--reposts",
        type=float,
        nargs="+",
        default=[2.0, 1.0],
        help="reposts per photo of each design (2: about 3,600 posts; 1: about 2,400)",
    )
    parser.add_argument("--ratio", type=float, default=6.0, help="last week's posts / first's")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[26], help="schedules drawn (post times)"
    )
    parser.add_argument("--rising", nargs="+", default=None)
    parser.add_argument("--falling", nargs="+", default=None)
    parser.add_argument("--cost-items", type=int, default=20_000)
    parser.add_argument("--cost-dims", type=int, default=2_048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"needs the shared data set at {args.folder}")
        return 3
    started = time.perf_counter()
    chosen: dict = {"ratio": args.ratio}
    if args.rising:
        chosen["rising"] = args.rising
    if args.falling:
        chosen["falling"] = args.falling
    garments = {"off": [False], "on": [True], "both": [False, True]}[args.garment]
    feeds = {
        (r, seed): designed_feed(args.folder, reposts=r, seed=seed, **chosen)
        for r in args.reposts
        for seed in args.seeds
    }
    some = next(iter(feeds.values()))
    print(
        f"rising {', '.join(some.rising)}; falling {', '.join(some.falling)}; "
        f"{len(some.flat)} kinds flat; {len(some.weeks)} weeks; captions all #{TAG}"
    )
    for (reposts, seed), feed in feeds.items():
        if seed != args.seeds[0]:
            continue
        print(f"design with {reposts:g} reposts per photo: {len(feed.posts)} posts (seed {seed})")
        for kind in (*feed.rising, *feed.falling, feed.flat[0]):
            print(f"  {kind}: {feed.weekly_counts(kind).tolist()}")
    designed = len(some.rising) + len(some.falling)
    print(
        f"\n| posts | seed | garment blocks | method | kinds right (of {designed}) | wrong "
        "direction | flat kinds called | calls naming no kind |"
    )
    print("|---|---|---|---|---|---|---|---|")
    detail = []
    region_seconds = []
    tracked: dict[str, Backtest] = {}
    for (_, seed), feed in feeds.items():
        for garment in garments:
            wanted = not tracked and garment == garments[-1]
            scores, built_s, region_s, records = run_once(feed, args.input_size, garment, wanted)
            tracked = tracked or records
            region_seconds.append(region_s)
            for method, s in scores.items():
                print(
                    f"| {len(feed.posts)} | {seed} | {'on' if garment else 'off'} | {method} | "
                    f"{len(s.right)} | {len(s.wrong)} | {len(s.flat_called)} | {s.no_kind} |",
                    flush=True,
                )
                detail.append((len(feed.posts), seed, garment, method, s, built_s, region_s))
    print("\ncalls (the majority kind of a call's items decides; no majority names no kind):")
    for posts, seed, garment, method, s, built_s, region_s in detail:
        print(
            f"{posts} posts, seed {seed}, garment {'on' if garment else 'off'}, {method} (scrape "
            "and build "
            f"{built_s:.0f} s{f', regions {region_s:.1f} s' if method == 'regions' else ''}): "
            f"right {', '.join(s.right) or '-'}; wrong {', '.join(s.wrong) or '-'}; flat "
            f"called {', '.join(s.flat_called) or '-'}"
        )
        for call in s.calls:
            print(f"    {describe(call)}")
    for kind, record in tracked.items():
        print(
            f"\nforecasts of the {kind}' weekly posts scored on past weeks ({record.series} "
            "series): MASE / in the 95% band / direction"
        )
        print_backtest(record)
    print(
        f"\nregion finder on the designed stores (about 1,200 items): median "
        f"{statistics.median(region_seconds):.2f} s of {len(region_seconds)}"
    )
    if args.cost_items:
        seconds = cost(args.cost_dims, args.cost_items, args.repeats)
        print(
            f"region finder on {args.cost_items:,} synthetic items ({args.cost_dims} dims, 12 "
            f"weeks, 1-3 posts each): median {seconds:.2f} s of {args.repeats}"
        )
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
