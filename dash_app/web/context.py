"""What a running dashboard shares between pages: config, open store, style engine, job cache.

Background jobs run in another process without a Flask request; they find their app's context
through the app token the page sends along (`context_for`). The registry holds contexts weakly:
a context lives as long as its app (its Flask server holds it), and `unregister_context` drops it
when the app is closed, so building apps (tests, reloads) leaves nothing behind."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import flask

from clustering.engine import Engine
from dash_app.web.background import Flags
from store import Store
from stylescout.errors import StyleScoutError
from stylescout.settings import Config

log = logging.getLogger(__name__)

EXTENSION_KEY = "stylescout"
_BY_TOKEN: weakref.WeakValueDictionary[str, AppContext] = weakref.WeakValueDictionary()
_LOCK = threading.Lock()
# A request waits this long for a decode slot, then answers "busy": a server thread waiting on
# the slots is a thread no other request (not even /api/health) can have.
DECODE_WAIT_S = 1.0


class DecodersBusy(StyleScoutError):
    """Every decode slot stayed taken for `decode_wait_s`; the message is shown to the person."""

    def __init__(self) -> None:
        super().__init__("the server is busy reading other photos: try again in a moment")


@dataclass(frozen=True, eq=False)
class AppContext:
    """Per-app state, kept on the Flask server so several apps can live in one process."""

    config: Config
    store: Store
    engine: Engine
    jobs: Flags  # cancel flags and job owners, shared by every worker (dash_app/web/background.py)
    token: str
    auth: str = "none"  # none | password | header (dash_app/web/auth.py)
    celery: Any = None  # the Celery app when background jobs go through Redis
    # bounds how many uploaded photos are decoded at once (each may be tens of megapixels)
    decode_slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(2)
    )
    # bounds how many costly analyses (the Trends page's models and its micro-style clustering)
    # run at once, so page views cannot take every worker thread and core
    analysis_slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(2)
    )
    decode_wait_s: float = DECODE_WAIT_S

    @contextmanager
    def decoding(self) -> Iterator[None]:
        """Hold a decode slot for the block; DecodersBusy when none comes free within
        `decode_wait_s` (waiting longer would hold one of the server's few threads)."""
        if not self.decode_slots.acquire(timeout=self.decode_wait_s):
            log.info("no decode slot came free within %.1f s: answered busy", self.decode_wait_s)
            raise DecodersBusy
        try:
            yield
        finally:
            self.decode_slots.release()


def register_context(ctx: AppContext) -> None:
    with _LOCK:
        _BY_TOKEN[ctx.token] = ctx


def unregister_context(ctx: AppContext) -> None:
    """Forget an app's context (its dashboard stopped)."""
    with _LOCK:
        if _BY_TOKEN.get(ctx.token) is ctx:
            del _BY_TOKEN[ctx.token]


def registered_tokens() -> list[str]:
    """Tokens of the apps alive in this process (for tests and diagnostics)."""
    with _LOCK:
        return list(_BY_TOKEN.keys())


def get_context() -> AppContext:
    """The context of the app serving the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]


def context_for(token: str | None) -> AppContext:
    """The context of the app that rendered `token` (for background jobs)."""
    ctx = None
    if isinstance(token, str) and len(token) == 32:  # uuid4().hex; nothing else is looked up
        with _LOCK:
            ctx = _BY_TOKEN.get(token)
    if ctx is None:
        raise LookupError("this page belongs to a dashboard that is no longer running: reload it")
    return ctx
