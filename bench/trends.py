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
from pathlib import Path

from clustering.trends import tag_trends
from scraper.demo_feed.catalog import Catalog
from scraper.demo_feed.server import BackgroundServer
from scraper.demo_feed.site import create_feed_app
from scraper.demo_feed.sources import with_demo_sources
from scraper.demo_feed.styles import STYLES
from scraper.scrape import scrape
from store import Store
from store.config import DemoFeedConfig, parse_config

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
            scrape(config, tag, per_tag or len(catalog.by_tag[tag]), "demo-html")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--newest", type=int, default=40, help="posts per tag as make demo")
    parser.parse_args()
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as feed:
        run(None, feed.port)
        run(parser.parse_args().newest, feed.port)


if __name__ == "__main__":
    main()
