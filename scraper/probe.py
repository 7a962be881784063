"""`python -m scraper probe SOURCE --tag boho`: does a source answer as expected?

For a person with internet (no test calls a real site): asks the source for a few posts, prints
what it read from each (address, time, likes, images, tags) and downloads the first image, so a
wrong field path, a missing credential or a changed API shows up before a long scrape.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from scraper.downloader import DownloadFailed
from scraper.image_check import ImageRejected, inspect_image
from scraper.scrape import downloader_for
from scraper.sources.registry import build_source
from stylescout.settings import ScrapeSettings
from stylescout.tags import normalise_tag


def probe(
    config: ScrapeSettings, name: str, tag: str, posts: int, say: Callable[[str], None]
) -> int:
    """Print up to `posts` posts of `tag` from source `name`; 0 when it gave at least one post
    whose first image is readable, 1 otherwise. ScrapeError/ConfigError pass through."""
    tag = normalise_tag(tag)
    config.source(name)
    downloader = downloader_for(config, name)
    failures: list[str] = []
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        stack.callback(downloader.close)
        source = build_source(name, config, downloader)
        source.report_failure = failures.append
        say(f"source {name} ({source.mode} mode), #{tag}")
        found = list(source.search(tag, limit=posts))
        for i, post in enumerate(found, 1):
            when = post.posted_at.strftime("%Y-%m-%d %H:%M") if post.posted_at else "no time"
            likes = "no likes" if post.likes is None else f"{post.likes} likes"
            tags = " ".join(f"#{t}" for t in post.tags[:8]) or "no tags"
            say(f"{i}. {post.post_url or '(no post URL)'}")
            say(f"   {when} · {likes} · {len(post.image_urls)} image(s) · {tags}")
            say(f"   image: {post.image_url[:120]}")
        ok = bool(found)
        if found:
            try:
                info = inspect_image(downloader.fetch_image(found[0].image_url), 10**9)
                say(f"first image: {info.width}x{info.height} {info.format}")
            except (DownloadFailed, ImageRejected) as exc:
                say(f"first image: not readable ({exc})")
                ok = False
        if failures:
            say(f"could not use: {', '.join(sorted(set(failures)))}")
        say(f"{len(found)} post(s) in {time.monotonic() - started:.1f} s")
        return 0 if ok else 1
