"""What each built-in API source reads of a tag's feed: `python -m bench.source_coverage`.

Each site's replica (sandbox/replicas/, answers shaped as the real services answer today) holds
a tag's posts as the site mixes them: photo posts, posts made in the apps, videos, GIFs, text.
The source scrapes the whole tag into a fresh store; the figures set what it stored against what
the replica holds: posts with photos, photos, and the posts' tags (every tag of every stored
post, the tag searched for included), with what it skipped and why. Tumblr is measured twice:
as the built-in entry asks (`npf=true`) and in the legacy format (the entry without `npf`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from sandbox.replicas import (
    ReplicaOptions,
    create_bluesky_app,
    create_flickr_app,
    create_mastodon_app,
    create_pixelfed_app,
    create_tumblr_app,
    serving,
)
from scraper.scrape import scrape
from store import Store
from stylescout.loader import parse_config

KEY = "0123456789abcdef0123456789abcdef"  # Flickr checks the format
SITES: dict[str, tuple[str, Any, dict[str, Any]]] = {
    # label: (source, app factory, entry overrides)
    "mastodon": ("mastodon", create_mastodon_app, {}),
    "pixelfed": ("pixelfed", create_pixelfed_app, {}),
    "bluesky": ("bluesky", create_bluesky_app, {}),
    "flickr": ("flickr", create_flickr_app, {}),
    "tumblr": ("tumblr", create_tumblr_app, {}),
    "tumblr (legacy format)": (
        "tumblr",
        create_tumblr_app,
        {"api": {"params": {"tag": "{tag}", "limit": "20"}}},
    ),
}


def _entry(source: str, url: str, overrides: dict[str, Any]) -> dict[str, Any]:
    api = {"request_spacing_s": 0, **overrides.get("api", {})}
    entry: dict[str, Any] = {"enabled": True, "allow_private_network": True, "api": api}
    if source in ("mastodon", "pixelfed"):
        entry["instances"] = [url]
    else:
        entry["base_url"] = url
    return entry


def measure(label: str, posts: int) -> dict[str, Any]:
    """Designed against stored for one site: posts, photos and tags, and the skips."""
    source, factory, overrides = SITES[label]
    app: Flask = factory(ReplicaOptions(posts=posts, token=KEY))
    designed = [p for p in app.config["catalogue"]["boho"] if p.images]
    with serving(app) as url, tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        config = parse_config(
            {"data_dir": str(data_dir), "sources": {source: _entry(source, url, overrides)}},
            "bench",
            data_dir.parent,
        )
        result = scrape(config.scraping, "boho", 10 * posts, source)
        with Store(data_dir) as store:
            rows = [store.images.image(i) for i, _ in store.images.image_files()]
            tags = store.images.tags_by_image()
    by_path = {urlsplit(r["source_url"]).path: r for r in rows}
    kept_posts = sum(1 for p in designed if any(i in by_path for i in p.images))
    kept_images = sum(1 for p in designed for i in p.images if i in by_path)
    want_tags = kept_tags = 0
    for post in designed:
        stored = [by_path[i] for i in post.images if i in by_path]
        want_tags += len(set(post.tags))
        if stored:
            kept_tags += len(set(post.tags) & set(tags.get(stored[0]["id"], ())))
    skipped = getattr(result.progress, "skipped_by_reason", Counter())
    return {
        "site": label,
        "posts": (kept_posts, len(designed)),
        "images": (kept_images, sum(len(p.images) for p in designed)),
        "tags": (kept_tags, want_tags),
        "failed": result.progress.failed,
        "skipped": dict(skipped),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50, help="posts per replica")
    parser.add_argument("--sites", default=",".join(SITES), help="comma-separated labels")
    args = parser.parse_args()
    for name in ("FLICKR", "TUMBLR"):
        os.environ[f"STYLESCOUT_{name}_API_KEY"] = KEY
    os.environ["STYLESCOUT_MASTODON_TOKEN"] = KEY
    os.environ["STYLESCOUT_PIXELFED_TOKEN"] = KEY
    os.environ["STYLESCOUT_BLUESKY_HANDLE"] = "scout.bsky.social"
    os.environ["STYLESCOUT_BLUESKY_APP_PASSWORD"] = KEY
    print(f"{args.posts} posts per replica; stored / designed")
    print("| site | posts with photos | photos | tags | failed | skipped |")
    print("|---|---|---|---|---|---|")
    for label in args.sites.split(","):
        m = measure(label.strip(), args.posts)
        skipped = ", ".join(f"{n} {r}" for r, n in sorted(m["skipped"].items())) or "-"
        cells = [f"{a} / {b}" for a, b in (m["posts"], m["images"], m["tags"])]
        print(f"| {m['site']} | {' | '.join(cells)} | {m['failed']} | {skipped} |")


if __name__ == "__main__":
    main()
