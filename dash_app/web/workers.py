"""A team's dashboard: several gunicorn worker processes, and the Celery worker that runs their
background jobs.

Why gunicorn: waitress (dash_app/web/serving.py) serves one process; gunicorn forks workers from a
small master that restarts any that die. Each worker still reads requests with waitress
(dash_app/web/waitress_worker.py), so slow clients meet the same limits in both set-ups. Each
worker builds its own app after the fork (no preloading: TensorFlow does not survive a fork),
opens its own store connections and maps the style index's vectors from disk (memory-mapped, so
the page cache holds them once for all workers). Workers share nothing else: sessions are in the
store, job results, progress and cancel flags in Redis (dash_app/web/background.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from stylescout.errors import SCALE_HINT, ConfigError
from stylescout.settings import Config

log = logging.getLogger(__name__)


def _gunicorn_base() -> type:
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        raise ConfigError(f"--workers needs gunicorn: {SCALE_HINT}") from None
    return BaseApplication


def gunicorn_options(config: Config, host: str, port: int) -> dict[str, Any]:
    """gunicorn's settings from the dashboard's config (the same bounds as one process)."""
    cfg = config.dashboard
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": bind,
        "workers": cfg.workers,
        # each worker reads requests with waitress and its limits (waitress_worker.py); the
        # threads, connection caps and timeouts are the dashboard's own settings
        "worker_class": "dash_app.web.waitress_worker.WaitressWorker",
        "timeout": 120,
        "graceful_timeout": 15,
        "proc_name": "stylescout-dashboard",
        "preload_app": False,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
    }


def serve_with_workers(
    config: Config, host: str, port: int, on_ready: Callable[[], None] | None = None
) -> None:
    """Serve the dashboard on host:port with `dashboard.workers` processes, until stopped."""
    base = _gunicorn_base()

    class Dashboard(base):  # type: ignore[misc, valid-type]
        def load_config(self) -> None:
            for key, value in gunicorn_options(config, host, port).items():
                self.cfg.set(key, value)
            if on_ready is not None:
                self.cfg.set("when_ready", lambda _server: on_ready())

        def load(self) -> Any:
            from dash_app.app import create_app

            return create_app(config, warm=True).server

    Dashboard().run()


def run_celery_worker(config: Config, concurrency: int = 2) -> None:
    """Run the Celery worker for a team's dashboard (needs `dashboard.redis_url`). It builds the
    dashboard's app so that every background callback is a registered task, then takes jobs.
    Threads, not forked processes: a job starts its own spawned build process."""
    from dash_app.app import create_app
    from dash_app.web.context import EXTENSION_KEY

    app = create_app(config)
    ctx = app.server.extensions[EXTENSION_KEY]
    if ctx.celery is None:
        raise ConfigError(
            "the Celery worker needs Redis: set dashboard.redis_url or STYLESCOUT_REDIS_URL"
        )
    log.info("celery worker for the store at %s", ctx.store.location)
    options = [
        "worker",
        "--pool=threads",
        f"--concurrency={concurrency}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--hostname=stylescout@%h",
    ]
    if config.follow.scheduler:  # followed tags: beat in this worker calls the task on time
        from dash_app.follow import register_follow_task

        register_follow_task(ctx.celery, config)
        schedule = ctx.store.cache_dir / "celerybeat-schedule"
        options += ["--beat", f"--schedule={schedule}"]
    ctx.celery.worker_main(options)
