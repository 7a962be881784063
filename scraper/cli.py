"""`python -m scraper scrape|import|demo-feed`: gather tagged images into the store."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from scraper.importer import DEFAULT_TAG_COLUMNS, ImportProgress, import_folder
from scraper.scrape import ScrapeProgress, parse_sources, scrape_sources
from store import Store
from stylescout.cli import (
    EXIT_COULD_NOT_RUN,
    EXIT_FAILURES,
    add_command,
    base_parser,
    config_from_args,
    note,
    progress,
    run_cli,
    serve_until_interrupted,
)
from stylescout.errors import UsageError
from stylescout.settings import Config
from stylescout.tags import normalise_tag

DEMO_NAMES = ("demo", "demo-html")  # the demo feed's sources, added when asked for by name


def _scrape(args: argparse.Namespace, config: Config) -> int:
    tag = normalise_tag(args.tag)  # a bad tag or count is refused before anything starts
    if args.count < 1:
        raise UsageError(f"--count must be at least 1, not {args.count}")
    wanted = args.source or config.scraper.default_source or ""
    if any(n.strip() in DEMO_NAMES for n in wanted.split(",")):
        from sandbox.demo_feed.sources import with_demo_sources

        config = with_demo_sources(config)
    sources = parse_sources(args.source, config.scraping)
    many = len(sources) > 1
    bars = {
        name: progress(
            total=args.count, desc=f"#{tag} {name}" if many else f"#{tag}", unit="img", position=i
        )
        for i, name in enumerate(sources)
    }
    announced: set[str] = set()
    lock = threading.Lock()

    def show(p: ScrapeProgress) -> None:
        with lock:
            bar = bars[p.source]
            if p.source not in announced:
                announced.add(p.source)
                note(f"source {p.source} ({p.mode} mode)")
            bar.set_postfix(found=p.found, dup=p.duplicates, failed=p.failed, refresh=False)
            bar.update(p.added + p.skipped - bar.n)

    try:
        with contextlib.ExitStack() as stack:
            if any(name in DEMO_NAMES for name in sources):
                from sandbox.demo_feed.sources import demo_feed_running

                stack.enter_context(demo_feed_running(config))  # started here when not running
            outcomes = scrape_sources(config.scraping, tag, args.count, sources, progress=show)
    finally:
        for bar in bars.values():
            bar.close()
    failures = [o for o in outcomes if o.error is not None]
    if not many and failures:
        raise failures[0].error  # type: ignore[misc]  # one line and exit 2, as before
    for outcome in outcomes:
        prefix = f"{outcome.source}: " if many else ""
        if outcome.result is not None:
            print(prefix + outcome.result.progress.summary(outcome.result.seconds))
        else:
            print(f"{prefix}stopped: {outcome.error}", file=sys.stderr)
    if len(failures) == len(outcomes):
        return EXIT_COULD_NOT_RUN  # every source stopped: nothing was gathered
    images_failed = any(o.result is not None and o.result.progress.failed for o in outcomes)
    return EXIT_FAILURES if failures or images_failed else 0  # done, with failures


def _import(args: argparse.Namespace, config: Config) -> int:
    started = time.monotonic()
    columns = [c.strip() for c in args.tag_columns.split(",") if c.strip()]
    with Store.from_config(config) as store, progress(desc="importing", unit="img") as bar:

        def show(p: ImportProgress) -> None:
            bar.total = p.total
            bar.update(p.done - bar.n)

        state = import_folder(
            store,
            Path(args.folder),
            labels=Path(args.labels) if args.labels else None,
            tag_columns=columns,
            max_bytes=config.scraper.max_bytes,
            max_pixels=config.scraper.max_pixels,
            progress=show,
        )
    reasons = ", ".join(f"{r} {n}" for r, n in sorted(state.failed_by_reason.items()))
    failed = sum(state.failed_by_reason.values())
    print(
        f"added {state.added}, duplicates {state.duplicates}, failed {failed}"
        + (f" ({reasons})" if reasons else "")
        + f", in {time.monotonic() - started:.1f} s"
    )
    return EXIT_FAILURES if failed else 0  # done, with failures: some files were not imported


def _main(argv: Sequence[str] | None, prog: str) -> int:
    parser = base_parser(prog, "Gather tagged images into the StyleScout store.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = add_command(sub, "scrape", "gather the images of a tag from a source")
    run.add_argument("--tag", required=True, help="e.g. boho or '#streetwear'")
    run.add_argument(
        "--count",
        type=int,
        required=True,
        help="images of this tag wanted from the source (stored ones count)",
    )
    run.add_argument(
        "--source",
        default=None,
        help="source(s) from the config, comma-separated: mastodon,flickr,demo (demo: the built-in"
        " demo feed, started when not running);"
        " --count applies to each",
    )
    check = add_command(sub, "probe", "ask a source for a few posts and show what it reads")
    check.add_argument("source", help="a source from the config, e.g. mastodon")
    check.add_argument("--tag", required=True, help="e.g. boho")
    check.add_argument("--posts", type=int, default=5, help="how many posts to show (default 5)")
    imp = add_command(sub, "import", "import a folder of images, with labels from a CSV")
    imp.add_argument("folder", help="folder with images/ (or image files) and maybe styles.csv")
    imp.add_argument(
        "--labels",
        default=None,
        help="labels CSV with an id column (default: FOLDER/styles.csv when present)",
    )
    imp.add_argument(
        "--tag-columns",
        default=",".join(DEFAULT_TAG_COLUMNS),
        help="label columns that become tags (comma-separated)",
    )
    feed = add_command(sub, "demo-feed", "serve the local demo social-media feed")
    feed.add_argument("--host", default=None, help="address to bind (default from config)")
    feed.add_argument("--port", type=int, default=None, help="port (default from config: 8765)")
    feed.add_argument(
        "--image-latency-ms",
        type=float,
        default=0.0,
        help="delay every image response, to imitate a slow site",
    )
    feed.add_argument(
        "--warm",
        default="",
        metavar="TAGS",
        help="comma-separated tags whose images are drawn before serving",
    )
    args = parser.parse_args(argv)
    config = config_from_args(args)

    if args.command == "scrape":
        return _scrape(args, config)
    if args.command == "import":
        return _import(args, config)
    if args.command == "probe":
        from scraper.probe import probe

        posts = max(1, min(args.posts, 100))
        if args.source not in DEMO_NAMES:
            return probe(config.scraping, args.source, args.tag, posts, print)
        from sandbox.demo_feed.sources import demo_feed_running, with_demo_sources

        config = with_demo_sources(config)
        with demo_feed_running(config):
            return probe(config.scraping, args.source, args.tag, posts, print)
    from sandbox.demo_feed.server import BackgroundServer
    from sandbox.demo_feed.site import create_feed_app

    cfg = config.demo_feed
    app = create_feed_app(cfg, image_latency_ms=args.image_latency_ms)
    if args.warm:
        catalog, renderer = app.extensions["stylescout_feed"]
        for tag in args.warm.split(","):
            for post in progress(catalog.by_tag.get(tag.strip(), []), desc=f"drawing #{tag}"):
                renderer.jpeg(post.id)
    server = BackgroundServer(
        app, args.host or cfg.host, cfg.port if args.port is None else args.port
    ).start()
    print(f"demo feed: {server.url}/tag/boho (Ctrl-C to stop)", flush=True)
    serve_until_interrupted(server)
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "python -m scraper") -> int:
    """Entry point for `python -m scraper`."""
    return run_cli(lambda args: _main(args, prog), argv)
