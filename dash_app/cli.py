"""`python -m dash_app [--host] [--port] [--demo] [--workers N]`: serve the dashboard;
`python -m dash_app --celery-worker`: run the background jobs of a team's dashboard."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pydantic import ValidationError

from dash_app.app import create_app
from dash_app.web.auth import mode_for
from dash_app.web.background import redis_url
from dash_app.web.context import EXTENSION_KEY
from dash_app.web.serving import DashboardServer
from store import Store
from stylescout.cli import (
    base_parser,
    config_from_args,
    require_store,
    run_cli,
    serve_until_interrupted,
)
from stylescout.errors import ConfigError
from stylescout.settings import Config, DashboardConfig


def _main(argv: Sequence[str] | None, prog: str) -> int:
    parser = base_parser(prog, "Serve the StyleScout dashboard.")
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
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="serve with N gunicorn worker processes (a team's dashboard: needs Redis and"
        " sign-in; default from config: 1, one process)",
    )
    parser.add_argument(
        "--celery-worker",
        action="store_true",
        help="run the Celery worker that takes a team's dashboard's background jobs",
    )
    parser.add_argument(
        "--concurrency", type=int, default=2, help="jobs the Celery worker runs at once"
    )
    args = parser.parse_args(argv)
    config = config_from_args(args)

    host = args.host or config.dashboard.host
    workers = config.dashboard.workers if args.workers is None else args.workers
    if host != config.dashboard.host or workers != config.dashboard.workers:
        # the Host check answers the name it is served as; sign-in follows host and workers.
        # Validated as the config file's values are (workers 1-64).
        try:
            dashboard = DashboardConfig.model_validate(
                {**config.dashboard.model_dump(), "host": host, "workers": workers}
            )
        except ValidationError as exc:
            raise ConfigError(f"--workers: {exc.errors()[0]['msg']}") from None
        config = config.model_copy(update={"dashboard": dashboard})
    if not args.demo:
        require_store(config)  # the demo fills a new store; serving reads an existing one
    redis_url(config)  # a Redis URL its clients cannot read: one line now, not their traceback
    if args.celery_worker:
        from dash_app.web.workers import run_celery_worker

        run_celery_worker(config, max(1, args.concurrency))
        return 0
    if workers > 1:
        return _serve_workers(config, host, args)
    if args.demo:  # the demo feed's sources, for the Scrape page too
        from sandbox.demo_feed.sources import with_demo_sources

        config = with_demo_sources(config)
    mode = _say_sign_in(config)
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
        from sandbox.demo_feed.server import BackgroundServer
        from sandbox.demo_feed.site import create_feed_app

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
    signing = "" if mode == "none" else f", sign-in: {mode}"
    print(f"dashboard:  {server.url}/   (Ctrl-C to stop{signing})", flush=True)
    scheduler = None
    if config.follow.scheduler and redis_url(config) is None:  # a team's worker runs beat
        from dash_app.follow import FollowScheduler

        scheduler = FollowScheduler(config).start()
    try:
        serve_until_interrupted(server)
    finally:
        if scheduler is not None:
            scheduler.stop()
        if feed is not None:
            feed.stop()
    return 0


def _say_sign_in(config: Config) -> str:
    """The sign-in mode; says so when nobody could sign in yet."""
    mode = mode_for(config.dashboard)
    if mode == "password":
        with Store.from_config(config) as store:
            if not store.accounts.names():
                print(
                    "no accounts yet: nobody can sign in until one is added with"
                    " stylescout users add NAME",
                    flush=True,
                )
    return mode


def _serve_workers(config: Config, host: str, args: argparse.Namespace) -> int:
    """Serve with gunicorn workers (dash_app/web/workers.py); background jobs need Redis."""
    from dash_app.web.workers import serve_with_workers

    if args.demo:
        raise ConfigError("--demo serves one process: leave out --workers")
    if redis_url(config) is None:
        raise ConfigError(
            "--workers needs Redis for background jobs: set dashboard.redis_url or"
            " STYLESCOUT_REDIS_URL and start stylescout serve --celery-worker (make serve)"
        )
    mode = _say_sign_in(config)
    port = config.dashboard.port if args.port is None else args.port
    where = f"[{host}]" if ":" in host else host
    print(
        f"dashboard:  http://{where}:{port}/   ({config.dashboard.workers} workers, sign-in:"
        f" {mode}; Ctrl-C to stop)",
        flush=True,
    )
    serve_with_workers(config, host, port)
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "python -m dash_app") -> int:
    """Entry point for `python -m dash_app`."""
    return run_cli(lambda args: _main(args, prog), argv)
