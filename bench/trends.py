"""Tag trends against the demo feed's design: `python -m bench.trends`.

The demo feed knows which of its six style tags rise (streetwear, boho), fall (romantic, preppy)
and stay about flat (sporty, minimal). Scraped in full (all 1,200 posts) and as `make demo` does
(the 40 newest per tag), the tag view's ranking, slopes with intervals, significance (Holm over
the six) and covered weeks are printed, with the time the analysis takes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from clustering.build import build_index
from clustering.index import load_index
from clustering.trends.backtest import METHODS, Backtest, backtest, store_series
from clustering.trends.model import emerging_looks, share_trends, tag_trends, weekly_style_counts
from sandbox.demo_feed.catalog import Catalog
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from sandbox.demo_feed.sources import with_demo_sources
from sandbox.demo_feed.styles import STYLES
from scraper.scrape import scrape
from store import Store
from stylescout.loader import parse_config
from stylescout.settings import Config, DemoFeedConfig

DESIGN = {name: style.trend for name, style in STYLES.items()}


def run(per_tag: int | None, port: int) -> None:
    catalog = Catalog(DemoFeedConfig())
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        config = with_demo_sources(
            parse_config(
                {"data_dir": str(data_dir), "demo_feed": {"port": port}}, "bench", Path(tmp)
            )
        )
        for tag in STYLES:
            scrape(config.scraping, tag, per_tag or len(catalog.by_tag[tag]), "demo-html")
        with Store(data_dir) as store:
            started = time.perf_counter()
            trends = tag_trends(store, list(STYLES))
            took = time.perf_counter() - started
        label = f"the {per_tag} newest per tag" if per_tag else "all posts"
        print(f"\n{label}: analysis in {took * 1000:.0f} ms")
        print("| tag | design | weekly change (95% CI) | called | posts | weeks covered |")
        print("|---|---|---|---|---|---|")
        for t in trends:
            low, high = t.interval
            print(
                f"| {t.name} | {DESIGN[t.name]:+.1f} | {t.weekly_change:+.1%} ({low:+.1%} to "
                f"{high:+.1%}) | {t.direction} (Holm p {t.adjusted_p:.3g}) | "
                f"{int(t.counts.sum())} | {t.coverage} |"
            )
        left = sorted(set(STYLES) - {t.name for t in trends})
        if left:
            print(f"too few whole weeks to say anything: {', '.join(left)}")
        rising(config)
        if per_tag is None:
            track_record(config, "tags")
            visual_view(config, catalog)
            track_record(config, "styles")


def rising(config: Config) -> None:
    """The rising list of the six tags (interest: each week's share of all posts; last 3 weeks
    against the 3 before; labels from the count model), beside the design."""
    from clustering.trends.interest import interest_of, rising_list

    with Store.from_config(config) as store:
        posts = store.images.source_post_times()
        tags_of = store.images.tags_by_image()
    started = time.perf_counter()
    changes = rising_list(interest_of(posts, tags_of, list(STYLES)).values())
    took = time.perf_counter() - started
    print(f"\nthe rising list ({took * 1000:.0f} ms)")
    print("| tag | design | label | last 3 weeks vs 3 before (p Holm) | share a week (p Holm) |")
    print("|---|---|---|---|---|")
    for c in changes:
        print(
            f"| {c.name} | {DESIGN[c.name]:+.1f} | {c.label}{' (breakout)' if c.breakout else ''}"
            f" | {c.change:+.0%} ({c.adjusted_p:.2g}) | {c.weekly_change:+.1%} ({c.trend_p:.2g}) |"
        )


def track_record(config: Config, kind: str) -> None:
    """Every forecast method backtested on the store's weekly series of `kind` (the six tags, or
    the styles of the index built): MASE against the naive forecast, 95% band coverage and
    direction, 1 to 4 weeks ahead, from every origin with 6 weeks behind it."""
    with Store.from_config(config) as store:
        index = load_index(store.index_dir) if kind == "styles" else None
        names = list(STYLES) if kind == "tags" else None
        series = store_series(store, kind, index=index, names=names)
    started = time.perf_counter()
    record = backtest(series.values(), horizon=4, min_train=6)
    took = time.perf_counter() - started
    print(
        f"\nforecasts of the {kind}' weekly posts scored on past weeks ({record.series} series,"
        f" {took:.1f} s): MASE (below 1 beats last week's number) / in the 95% band / direction"
    )
    print_backtest(record)


def print_backtest(record: Backtest) -> None:
    """A backtest as a table: per method, MASE / in the 95% band / direction, 1-4 weeks ahead."""
    print("| method | 1 week | 2 weeks | 3 weeks | 4 weeks |")
    print("|---|---|---|---|---|")
    for method in METHODS:
        cells = []
        for h in range(1, 5):
            score = record.scores[(method, h)]
            cells.append(f"{score.mase:.2f} / {score.coverage:.0%} / {score.direction:.0%}")
        print(f"| {method} | " + " | ".join(cells) + " |")


def visual_view(config: Config, catalog: Catalog) -> None:
    """The style view on the same store: how pure its clusters are in the demo's families (with
    random weights they mix them), and what the share model calls rising or falling."""
    family_of = {post.id: post.style for post in catalog.posts}
    config = config.model_copy(
        update={"features": config.features.model_copy(update={"weights": "none"})}
    )
    with Store.from_config(config) as store:
        report, index = build_index(config.engine, store)
        cards = store.images.cards(index.ids.tolist())
        posts = store.images.source_post_times()
    family = np.array(
        [family_of.get(str(cards[int(i)]["post_url"]).rsplit("/", 1)[-1], "?") for i in index.ids]
    )
    names = index.meta.names
    k = len(names)
    pure = []
    print(f"\nthe style view ({report.model_key}, random weights): {k} styles")
    print("| style | items | main family (share) | design | called |")
    print("|---|---|---|---|---|")
    weekly = weekly_style_counts(posts, index.ids, index.labels, k)
    fitted = {t.name: t for t in share_trends(names, weekly[0], weekly[1])}
    for c, name in enumerate(names):
        members = family[index.labels == c]
        top, n = Counter(members.tolist()).most_common(1)[0]
        pure.append(n)
        trend = fitted.get(name)
        called = "-" if trend is None else f"{trend.direction} ({trend.weekly_change:+.1%})"
        print(
            f"| {name} | {len(members)} | {top} ({n / len(members):.0%}) | "
            f"{DESIGN.get(top, 0):+.1f} | {called} |"
        )
    print(f"items in their style's main family: {sum(pure) / len(family):.0%}")
    with Store.from_config(config) as store:
        started = time.perf_counter()
        looks = emerging_looks(store, index.ids, index.vectors, config.clustering)
        took = time.perf_counter() - started
    print(f"\nemerging looks (micro-styles rising significantly; {took:.1f} s):")
    id_family = dict(zip(index.ids.tolist(), family.tolist(), strict=True))
    for look in looks:
        families = Counter(id_family.get(i, "?") for i in look.examples)
        print(
            f"- {look.name}: {look.size} items, share {look.trend.weekly_change:+.1%} a week, "
            f"examples from {dict(families)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--newest", type=int, default=40, help="posts per tag as make demo")
    parser.parse_args()
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed:
        run(None, feed.port)
        run(parser.parse_args().newest, feed.port)


if __name__ == "__main__":
    main()
