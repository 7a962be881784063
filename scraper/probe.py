"""`python -m scraper probe SOURCE --tag boho`: does a source answer as expected?

For a person with internet (no test calls a real site): asks the source for a few posts, prints
what it read from each (address, time, likes, images, tags) and why it passed over others (a
video, a text post), and downloads the first image, so a wrong field path, a missing credential
or a changed API shows up before a long scrape.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable

from scraper.downloader import DownloadFailed
from scraper.image_check import ImageRejected, inspect_image
from scraper.posts import skipped_text
from scraper.scrape import downloader_for
from scraper.sources.registry import build_source
from stylescout.settings import ScrapeSettings
from stylescout.tags import normalise_tag

MAX_SKIP_LINES = 20  # a feed of videos is summed up, not listed to the end


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
        passed_over: list[str] = []

        def skipped(reason: str, where: str | None) -> None:
            passed_over.append(reason)
            if len(passed_over) <= MAX_SKIP_LINES:
                say(f"-  skipped ({reason}): {where or '(no post URL)'}")

        source.report_skip = skipped
        say(f"source {name} ({source.mode} mode), #{tag}")
        found = []
        for i, post in enumerate(source.search(tag, limit=posts), 1):
            found.append(post)
            when = post.posted_at.strftime("%Y-%m-%d %H:%M") if post.posted_at else "no time"
            likes = "no likes" if post.likes is None else f"{post.likes} likes"
            tags = " ".join(f"#{t}" for t in post.tags[:8]) or "no tags"
            say(f"{i}. {post.post_url or '(no post URL)'}")
            say(f"   {when} · {likes} · {len(post.image_urls)} image(s) · {tags}")
            say(f"   image: {post.image_url[:120]}")
            if post.author or post.licence:
                credit = f"by {post.author or 'unknown'}" + (
                    f" ({post.author_url})" if post.author_url else ""
                )
                say(f"   {credit} · licence {post.licence or 'not given'}")
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
        if passed_over:
            say(f"skipped {skipped_text(Counter(passed_over))}")
        say(f"{len(found)} post(s) in {time.monotonic() - started:.1f} s")
        return 0 if ok else 1
