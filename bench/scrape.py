"""Scrape throughput from the demo feed into the store: `python -m bench.scrape`.

The demo feed runs as its own process with the tag's images drawn beforehand (so the scraper, not
the feed's drawing, is measured); each run scrapes into a fresh store. Reported: images added per
second (source start-up included), median of --repeats runs, for html and browser mode with 1 and 8
download workers, and with 50 ms of added latency per image, where the ratio 8 workers / 1 worker
shows what bounded concurrency buys.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.demo_feed.sources import with_demo_sources
from scraper.browser import chromium_available
from scraper.scrape import scrape
from stylescout.loader import parse_config

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def feed_process(tag: str, latency_ms: float) -> Iterator[int]:
    """A demo feed in its own process, warmed for `tag`; yields its port."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scraper",
            "demo-feed",
            "--port",
            "0",
            "--warm",
            tag,
            "--image-latency-ms",
            str(latency_ms),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r":(\d+)/", line)
        if not match:
            raise RuntimeError(f"demo feed did not start: {line!r}")
        yield int(match.group(1))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def rate(port: int, tag: str, count: int, source: str, workers: int, repeats: int) -> float:
    """Median images/s of `repeats` scrapes into fresh stores."""
    rates = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            config = with_demo_sources(
                parse_config(
                    {"data_dir": tmp, "demo_feed": {"port": port}, "scraper": {"workers": workers}},
                    "bench",
                    Path(tmp),
                )
            )
            result = scrape(config.scraping, tag, count, source)
            rates.append(result.progress.added / result.seconds)
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="boho")
    parser.add_argument("--count", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    modes = [("html", "demo-html")] + ([("browser", "demo")] if chromium_available() else [])
    rows = []
    with feed_process(args.tag, 0) as fast, feed_process(args.tag, 50) as slow:
        for label, source in modes:
            one = rate(fast, args.tag, args.count, source, 1, args.repeats)
            eight = rate(fast, args.tag, args.count, source, 8, args.repeats)
            rows.append((f"{label}, no added latency", one, eight))
        one = rate(slow, args.tag, args.count, "demo-html", 1, args.repeats)
        eight = rate(slow, args.tag, args.count, "demo-html", 8, args.repeats)
        rows.append(("html, +50 ms per image", one, eight))
    print(f"{args.count} images of #{args.tag} per run, median of {args.repeats} runs")
    print("| mode | 1 worker | 8 workers | 8 / 1 |")
    print("|---|---|---|---|")
    for label, one, eight in rows:
        print(f"| {label} | {one:.1f} images/s | {eight:.1f} images/s | {eight / one:.2f}x |")
    if not chromium_available():
        print("browser mode skipped: Chromium is not installed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
