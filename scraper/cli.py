"""`python -m scraper ...`: the scraper's command line (for now: the demo feed)."""

from __future__ import annotations

from collections.abc import Sequence

from scraper.demo_feed.server import BackgroundServer, serve_until_interrupted
from scraper.demo_feed.site import create_feed_app
from store.cli_support import base_parser, config_from_args, run_cli


def _main(argv: Sequence[str] | None) -> int:
    parser = base_parser("python -m scraper", "Gather tagged images into the StyleScout store.")
    sub = parser.add_subparsers(dest="command", required=True)
    feed = sub.add_parser("demo-feed", help="serve the local demo social-media feed")
    feed.add_argument(
        "--host", default=None, help="address to bind (default from config: 127.0.0.1)"
    )
    feed.add_argument("--port", type=int, default=None, help="port (default from config: 8765)")
    feed.add_argument(
        "--image-latency-ms",
        type=float,
        default=0.0,
        help="delay every image response, to imitate a slow site",
    )
    args = parser.parse_args(argv)
    config = config_from_args(args)

    if args.command == "demo-feed":
        cfg = config.demo_feed
        app = create_feed_app(cfg, image_latency_ms=args.image_latency_ms)
        server = BackgroundServer(
            app, args.host or cfg.host, cfg.port if args.port is None else args.port
        ).start()
        print(f"demo feed: {server.url}/tag/boho (Ctrl-C to stop)", flush=True)
        serve_until_interrupted(server)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for `python -m scraper`."""
    return run_cli(_main, argv)
