"""The dashboard's production WSGI server: waitress, run from a background thread.

Why waitress: it is a pure-Python production server that runs in-process (so `make demo` stays one
command and tests serve the real thing), with a fixed pool of worker threads, a cap on open
connections, an idle-connection timeout, and request bodies buffered to temporary files rather
than memory. Werkzeug's development server starts a thread per connection with no cap and no idle
timeout. (Several worker processes, for a team's shared dashboard, are issue 14's.)
"""

from __future__ import annotations

import contextlib
import logging
import threading

from waitress import wasyncore
from waitress.server import create_server

from stylescout.background_server import BackgroundServer
from stylescout.errors import ServeError
from stylescout.settings import DashboardConfig

log = logging.getLogger(__name__)


class DashboardServer(BackgroundServer):
    """Serve a WSGI app on `host:port` (port 0 picks a free one) with the config's bounds."""

    kind = "dashboard"

    def __init__(self, app: object, host: str, port: int, cfg: DashboardConfig) -> None:
        self._map: dict = {}
        try:
            self._server = create_server(
                app,
                map=self._map,
                host=host,
                port=port,
                threads=cfg.threads,
                connection_limit=cfg.connection_limit,
                channel_timeout=cfg.idle_timeout_s,
                cleanup_interval=max(1, min(30, cfg.idle_timeout_s // 2)),
                max_request_body_size=cfg.max_upload_bytes * cfg.max_photos * 4 // 3 + 2**20,
                ident="StyleScout",
                expose_tracebacks=False,
                clear_untrusted_proxy_headers=True,
            )
        except OSError as exc:
            raise ServeError.listening(exc, host, port) from None
        super().__init__(host, int(self._server.effective_port))
        self._stop = threading.Event()

    def _serve(self) -> None:
        while not self._stop.is_set():
            wasyncore.loop(timeout=0.2, map=self._map, count=1)
        for channel in list(self._map.values()):  # closed from the loop's own thread
            with contextlib.suppress(OSError):
                channel.close()
        self._server.task_dispatcher.shutdown(timeout=5)

    def _shutdown(self) -> None:
        self._stop.set()

    def _close(self) -> None:
        self._server.close()


def serve_app(app: object, host: str = "127.0.0.1", port: int = 0) -> DashboardServer:
    """A (not yet started) server for an app from `create_app`, with its config's bounds."""
    from dash_app.web.context import EXTENSION_KEY

    server = app.server  # type: ignore[attr-defined]
    return DashboardServer(server, host, port, server.extensions[EXTENSION_KEY].config.dashboard)
