"""API sources against local replicas: `python -m bench.api_sources`.

Each replica (sandbox/replicas/) runs in its own process with 50 ms added to every request
(API pages and images alike), its images drawn beforehand by a warm-up scrape; every measured run
scrapes into a fresh store. Reported, as medians of --repeats runs:

- one source (Mastodon, Link paging, 40 posts a page): posts/s and images/s;
- three sources at once (Mastodon, Flickr search with a key, Tumblr) against the same three one
  after the other in the same process: the ratio is what running them at once buys;
- a 429 on the second page with `X-RateLimit-Reset` N s ahead: the total time against the same
  scrape without the 429 plus the wait the replica asked for (the overhead should be about the
  rounding of the ISO reset time to whole seconds, under one second).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from scraper.scrape import scrape, scrape_sources
from store import Store
from stylescout.loader import parse_config
from stylescout.settings import Config

LATENCY_S = 0.05
KEY = "0123456789abcdef0123456789abcdef"  # Flickr checks the format


def _serve(service: str, options: dict[str, Any], ports: Any) -> None:
    """Child process: one replica on 127.0.0.1:0; its port goes back through `ports`."""
    from sandbox import replicas as api_replicas
    from sandbox.demo_feed.server import BackgroundServer

    factory = getattr(api_replicas, f"create_{service}_app")
    app = factory(api_replicas.ReplicaOptions(**options))
    server = BackgroundServer(app, "127.0.0.1", 0).start()
    ports.put(server.port)
    time.sleep(3600)


@contextmanager
def replica(service: str, **options: Any) -> Iterator[str]:
    """A replica in its own process (so it does not share the scraper's interpreter)."""
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    child = context.Process(target=_serve, args=(service, options, ports), daemon=True)
    child.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=60)}"
    finally:
        child.terminate()
        child.join(10)


def config_for(data_dir: Path, sites: dict[str, str]) -> Config:
    sources = {
        name: {
            "base_url": url,
            "allow_private_network": True,
            "enabled": True,
            "api": {"request_spacing_s": 0},
        }
        for name, url in sites.items()
    }
    return parse_config({"data_dir": str(data_dir), "sources": sources}, "bench", data_dir.parent)


def counts(data_dir: Path) -> tuple[int, int]:
    """(posts, images) in a store: images grouped by their post's address."""
    with Store(data_dir) as store:
        rows = [store.images.image(i) for i, _ in store.images.image_files()]
    return len({r["post_url"] for r in rows}), len(rows)


def timed(fn: Any, sites: dict[str, str]) -> tuple[float, int, int]:
    """Seconds, posts and images of one run of `fn(config)` into a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        config = config_for(data_dir, sites)
        started = time.perf_counter()
        fn(config)
        seconds = time.perf_counter() - started
        posts, images = counts(data_dir)
    return seconds, posts, images


def median_run(fn: Any, sites: dict[str, str], repeats: int) -> tuple[float, int, int]:
    runs = [timed(fn, sites) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), runs[0][1], runs[0][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="images wanted per source")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--wait", type=float, default=3.0, help="the 429's wait in seconds")
    args = parser.parse_args()
    os.environ["STYLESCOUT_FLICKR_API_KEY"] = KEY
    os.environ["STYLESCOUT_TUMBLR_API_KEY"] = KEY
    n = args.count
    print(
        f"replicas with {LATENCY_S * 1000:.0f} ms per request; {n} images per source; "
        f"median of {args.repeats} runs"
    )
    with ExitStack() as stack:
        common = {"posts": 2 * n, "latency_s": LATENCY_S, "token": KEY}
        sites = {
            "mastodon": stack.enter_context(replica("mastodon", **common)),
            "flickr": stack.enter_context(replica("flickr", **common)),
            "tumblr": stack.enter_context(replica("tumblr", **common)),
        }
        names = list(sites)
        timed(
            lambda c: scrape_sources(c.scraping, "boho", n, names), sites
        )  # warm-up: images drawn

        one = {"mastodon": sites["mastodon"]}
        s, posts, images = median_run(
            lambda c: scrape(c.scraping, "boho", n, "mastodon"), one, args.repeats
        )
        print(
            f"one source (mastodon): {posts / s:.1f} posts/s, {images / s:.1f} images/s "
            f"({images} images in {s:.2f} s)"
        )

        def one_by_one(c: Config) -> None:
            for name in names:
                scrape(c.scraping, "boho", n, name)

        seq, _, seq_images = median_run(one_by_one, sites, args.repeats)
        par, par_posts, par_images = median_run(
            lambda c: scrape_sources(c.scraping, "boho", n, names), sites, args.repeats
        )
        print(
            f"three sources one after the other: {seq_images / seq:.1f} images/s "
            f"({seq_images} in {seq:.2f} s)"
        )
        print(
            f"three sources at once: {par_posts / par:.1f} posts/s, {par_images / par:.1f} "
            f"images/s ({par_images} in {par:.2f} s); at once / one by one: {seq / par:.2f}x"
        )

    # the 429 scenario: fresh replicas each time (the 429 comes once per replica), images cold
    # in both, so the difference is the wait
    def mastodon(c: Config) -> None:
        scrape(c.scraping, "boho", n, "mastodon")

    plain, limited = [], []
    for _ in range(args.repeats):
        with replica("mastodon", posts=2 * n, latency_s=LATENCY_S) as url:
            plain.append(timed(mastodon, {"mastodon": url})[0])
        with replica(
            "mastodon",
            posts=2 * n,
            latency_s=LATENCY_S,
            rate_limit_at=2,
            rate_limit_wait_s=args.wait,
        ) as url:
            limited.append(timed(mastodon, {"mastodon": url})[0])
    base, total = statistics.median(plain), statistics.median(limited)
    print(
        f"429 on page 2 with X-RateLimit-Reset {args.wait:.0f} s ahead: {total:.2f} s in all, "
        f"against {base:.2f} s without it + {args.wait:.2f} s asked = {base + args.wait:.2f} s "
        f"(overhead {total - base - args.wait:+.2f} s)"
    )


if __name__ == "__main__":
    main()
