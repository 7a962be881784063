"""Demo feed and store throughput: `python -m bench.demo_feed` (or `make bench`).

Figures are medians of several runs; each comes with a ratio against a baseline measured in the
same process, because absolute times on a shared 2-core machine are noisy.
- render: drawing + JPEG-encoding a post's image from scratch (what the first request costs);
- serve: fetching cached images over HTTP from the running feed (what a scraper sees);
- store: `Store.add_image_bytes` (hash, fsync'd temp file, atomic rename under the write lock)
  against a bare baseline that writes the file and inserts the row with no safety.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
from pathlib import Path

import requests

from bench.timing import median_rate
from sandbox.demo_feed.catalog import Catalog, ImageRenderer
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from store import ImageMeta, Store
from stylescout.settings import DemoFeedConfig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = DemoFeedConfig()
    catalog = Catalog(config)
    ids = [p.id for p in catalog.posts if not p.repost_of][: args.images]

    def render_cold() -> None:
        renderer = ImageRenderer(catalog)
        for post_id in ids:
            renderer.jpeg(post_id)

    render = median_rate(render_cold, len(ids), args.repeats)

    with BackgroundServer(create_feed_app(config), "127.0.0.1", 0) as server:
        session = requests.Session()
        urls = [f"{server.url}/media/{post_id}.jpg" for post_id in ids]
        for url in urls:  # warm the feed's cache
            session.get(url, timeout=30).raise_for_status()
        serve = median_rate(
            lambda: [session.get(u, timeout=30) for u in urls], len(urls), args.repeats
        )
        bodies = [session.get(u, timeout=30).content for u in urls]

    def store_safe() -> None:
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp)) as store:
            for i, body in enumerate(bodies):
                store.images.add_image_bytes(
                    body, ImageMeta(320, 400, "JPEG", "bench", post_url=f"p{i}"), ["boho"]
                )

    def store_bare() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            conn = sqlite3.connect(Path(tmp) / "bare.sqlite")
            conn.execute("CREATE TABLE images (id INTEGER PRIMARY KEY, name TEXT, url TEXT)")
            for i, body in enumerate(bodies):
                (Path(tmp) / f"{i}.jpg").write_bytes(body)
                conn.execute("INSERT INTO images (name, url) VALUES (?, ?)", (f"{i}.jpg", f"p{i}"))
                conn.commit()
            conn.close()

    safe = median_rate(store_safe, len(bodies), args.repeats)
    bare = median_rate(store_bare, len(bodies), args.repeats)

    print(
        f"demo feed, {len(ids)} images of {config.image_width}x{config.image_height}, "
        f"median of {args.repeats}"
    )
    print(f"  render from scratch   {render:8.1f} images/s")
    print(f"  serve cached (HTTP)   {serve:8.1f} images/s   {serve / render:5.1f}x render")
    print(f"  store add (safe)      {safe:8.1f} images/s   {safe / bare:5.2f}x bare baseline")
    print(f"  bare baseline         {bare:8.1f} images/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
