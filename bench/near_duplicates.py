"""Near-duplicate detection on real and designed feeds: `python -m bench.near_duplicates`.

Two rates and a cost:
- false merges: fashion-small-dev's distinct product photos served as a plain paged feed and
  scraped; every distinct file (byte-identical copies aside) must become its own image;
- missed reposts: full scrapes of the demo feed's six style tags, whose design says which posts
  repost which original (resized, re-encoded or cropped); each original must be stored once;
- the check's cost: images/s of the near-duplicate part (fingerprint + candidate look-up +
  confirmation) against the whole image check it is part of (decode, verify, perceptual hash,
  fingerprint), measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from PIL import Image

from bench.timing import median_rate
from sandbox.demo_feed.catalog import Catalog, ImageRenderer
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from sandbox.demo_feed.sources import with_demo_sources
from sandbox.demo_feed.styles import STYLES
from sandbox.folder_feed import create_folder_feed_app, folder_feed_source
from scraper.image_check import inspect_image
from scraper.importer import find_images
from scraper.near_duplicates import NearDuplicates, fingerprint
from scraper.scrape import scrape
from store import Store
from stylescout.loader import parse_config
from stylescout.settings import DemoFeedConfig

FASHION = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-small-dev"


def _config(data: Path, **sections: object):
    return with_demo_sources(
        parse_config({"data_dir": str(data), **sections}, "bench", data.parent)
    )


def false_merges(folder: Path, limit: int | None) -> dict:
    """Scrape the folder's photos from a local feed; count distinct photos that were not kept."""
    images = find_images(folder)[:limit]
    distinct = len({hashlib.sha256(p.read_bytes()).hexdigest() for p in images})
    with (
        tempfile.TemporaryDirectory() as tmp,
        BackgroundServer(create_folder_feed_app(images), "127.0.0.1", 0) as feed,
    ):
        config = _config(
            Path(tmp) / "data",
            sources={"folder": folder_feed_source(feed.url)},
            scraper={"workers": 4},
        )
        result = scrape(config.scraping, "catalog", len(images), "folder")
        with Store(config.data_dir) as store:
            kept = store.stats().images
    return {
        "photos": len(images),
        "distinct": distinct,
        "added": result.progress.added,
        "duplicates": result.progress.duplicates,
        "false_merges": distinct - kept,
        "seconds": result.seconds,
    }


def missed_reposts() -> dict:
    """Full scrapes of the demo feed's style tags; compare what was kept with the feed's design."""
    catalog = Catalog(DemoFeedConfig())
    original_of = {p.id: p.repost_of or p.id for p in catalog.posts}
    with (
        tempfile.TemporaryDirectory() as tmp,
        BackgroundServer(create_feed_app(DemoFeedConfig()), "127.0.0.1", 0) as feed,
    ):
        config = _config(
            Path(tmp) / "data",
            demo_feed={"port": feed.port},
            scraper={"default_source": "demo-html", "workers": 4},
        )
        per_tag = {}
        for tag in STYLES:
            result = scrape(config.scraping, tag, len(catalog.by_tag[tag]))
            reposts = sum(1 for p in catalog.by_tag[tag] if p.repost_of)
            per_tag[tag] = (result.progress.duplicates, reposts)
        with Store(config.data_dir) as store:
            rows = store.db.rows("SELECT post_url FROM images")
    images_of: dict[str, int] = Counter(original_of[url.rsplit("/", 1)[-1]] for (url,) in rows)
    originals = set(original_of.values())
    groups: dict[str, list[str]] = defaultdict(list)
    for post, original in original_of.items():
        groups[original].append(post)
    reposts = sum(len(posts) - 1 for posts in groups.values())
    extra = sum(n - 1 for n in images_of.values())  # a repost stored as an image of its own
    return {
        "originals": len(originals),
        "stored_originals": len(images_of),
        "false_merges": len(originals) - len(images_of),
        "reposts": reposts,
        "missed_reposts": extra,
        "per_tag": per_tag,
    }


def check_cost(datas: list[bytes], repeats: int, bits: int) -> tuple[float, float, float]:
    """Images/s of (the whole image check, its fingerprint step, the candidate look-up and
    confirmation against everything stored before), as a scrape of these images does them."""
    infos = [inspect_image(d, 40_000_000) for d in datas]
    decoded = [Image.open(io.BytesIO(d)).convert("RGB") for d in datas]
    whole = median_rate(lambda: [inspect_image(d, 40_000_000) for d in datas], len(datas), repeats)
    prints = median_rate(lambda: [fingerprint(img) for img in decoded], len(datas), repeats)

    def look_up() -> None:
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp)) as store:
            finder = NearDuplicates(store, bits)
            for n, info in enumerate(infos):
                if finder.find(info.phash, info.fingerprint) is None:
                    finder.add(n + 1, info.phash, info.fingerprint)

    return whole, prints, median_rate(look_up, len(datas), repeats)


def demo_images(count: int) -> list[bytes]:
    """The newest `count` images of the demo feed (reposts among them), as it serves them."""
    catalog = Catalog(DemoFeedConfig())
    renderer = ImageRenderer(catalog)
    return [renderer.jpeg(p.id) for p in catalog.posts[:count]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=FASHION)
    parser.add_argument("--limit", type=int, default=None, help="photos of the folder to serve")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-cost", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    fs = false_merges(args.folder, args.limit)
    print(
        f"{args.folder.name}: {fs['photos']} photos ({fs['distinct']} distinct) served as a feed: "
        f"added {fs['added']}, duplicates {fs['duplicates']}, "
        f"distinct photos merged into others: {fs['false_merges']} "
        f"({100 * fs['false_merges'] / fs['distinct']:.1f}%), {fs['photos'] / fs['seconds']:.0f}"
        " images/s"
    )
    demo = missed_reposts()
    print(
        f"demo feed, six style tags in full: {demo['stored_originals']} of {demo['originals']} "
        f"originals stored (false merges {demo['false_merges']}); reposts {demo['reposts']}, "
        f"stored as images of their own (missed) {demo['missed_reposts']}"
    )
    for tag, (dups, reposts) in demo["per_tag"].items():
        print(f"  #{tag}: {dups} duplicates reported, {reposts} reposts in the tag")
    if not args.skip_cost:
        sets = [
            (f"{args.folder.name} (60x80)", [p.read_bytes() for p in find_images(args.folder)]),
            ("demo feed (320x400)", demo_images(300)),
        ]
        for name, datas in sets:
            whole, prints, looks = check_cost(datas, args.repeats, 10)
            rest = 1000 * (1 / whole - 1 / prints)
            near = 1000 * (1 / prints + 1 / looks)
            print(
                f"cost on {len(datas)} images of {name}: decode, verify and pHash {rest:.2f} "
                f"ms/image; the near-duplicate check {near:.2f} ms/image ({1000 / near:.0f} "
                f"images/s: fingerprint {1000 / prints:.2f} ms, candidates and confirmation "
                f"{1000 / looks:.2f} ms)"
            )
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
