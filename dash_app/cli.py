"""`python -m dash_app [--host] [--port] [--demo]`: serve the dashboard."""

from __future__ import annotations

from collections.abc import Sequence

from dash_app.app import create_app
from dash_app.context import EXTENSION_KEY
from dash_app.serving import DashboardServer
from store.cli_support import base_parser, config_from_args, run_cli, serve_until_interrupted


def _main(argv: Sequence[str] | None) -> int:
    parser = base_parser("python -m dash_app", "Serve the StyleScout dashboard.")
    parser.add_argument(
        "--host",
        default=None,
        help="address to bind (default from config: 127.0.0.1, this machine only)",
    )
    parser.add_argument("--port", type=int, default=None, help="port (default from config: 8050)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="also serve the demo feed and, on first run, scrape its style tags and build styles",
    )
    args = parser.parse_args(argv)
    config = config_from_args(args)

    host = args.host or config.dashboard.host
    if host != config.dashboard.host:  # the Host check answers the name it is served as
        config = config.model_copy(
            update={"dashboard": config.dashboard.model_copy(update={"host": host})}
        )
    if args.demo:  # the demo feed's sources, for the Scrape page too
        from scraper.demo_feed.sources import with_demo_sources

        config = with_demo_sources(config)
    app = create_app(config)
    server = DashboardServer(
        app.server,
        host,
        config.dashboard.port if args.port is None else args.port,
        config.dashboard,
    )
    feed = None
    if args.demo:
        from dash_app.demo import prepare_demo
        from scraper.demo_feed.server import BackgroundServer
        from scraper.demo_feed.site import create_feed_app

        feed = BackgroundServer(
            create_feed_app(config.demo_feed), config.demo_feed.host, config.demo_feed.port
        ).start()
        print(f"demo feed:  {feed.url}/tag/boho", flush=True)
        try:
            prepare_demo(
                config,
                app.server.extensions[EXTENSION_KEY].store,
                say=lambda line: print(line, flush=True),
            )
        except BaseException:
            feed.stop()
            raise
    app.server.extensions[EXTENSION_KEY].engine.warm()  # the first photo need not load the model
    server.start()
    print(f"dashboard:  {server.url}/   (Ctrl-C to stop)", flush=True)
    try:
        serve_until_interrupted(server)
    finally:
        if feed is not None:
            feed.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for `python -m dash_app`."""
    return run_cli(_main, argv)
