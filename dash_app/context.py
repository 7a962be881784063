"""What a running dashboard shares between pages: config, open store, style engine, job cache.

Background jobs run in another process without a Flask request; they find their app's context
through the app token the page sends along (`context_for`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import diskcache
import flask

from dash_app.engine import Engine
from store import Config, Store

EXTENSION_KEY = "stylescout"
_BY_TOKEN: dict[str, AppContext] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class AppContext:
    """Per-app state, kept on the Flask server so several apps can live in one process."""

    config: Config
    store: Store
    engine: Engine
    jobs: diskcache.Cache  # background-callback results, progress and cancel flags
    token: str


def register_context(ctx: AppContext) -> None:
    with _LOCK:
        _BY_TOKEN[ctx.token] = ctx


def get_context() -> AppContext:
    """The context of the app serving the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]


def context_for(token: str | None) -> AppContext:
    """The context of the app that rendered `token` (for background jobs)."""
    with _LOCK:
        ctx = _BY_TOKEN.get(token or "")
    if ctx is None:
        raise LookupError("this page belongs to a dashboard that is no longer running: reload it")
    return ctx
