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
from typing import Self

from waitress import wasyncore
from waitress.server import create_server

from stylescout.errors import ServeError
from stylescout.settings import DashboardConfig

log = logging.getLogger(__name__)


class DashboardServer:
    """Serve a WSGI app on `host:port` (port 0 picks a free one) with the config's bounds."""

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
        self.host = host
        self.port = int(self._server.effective_port)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"dashboard-{self.port}")
        self._thread.daemon = True

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _loop(self) -> None:
        while not self._stop.is_set():
            wasyncore.loop(timeout=0.2, map=self._map, count=1)
        for channel in list(self._map.values()):  # closed from the loop's own thread
            with contextlib.suppress(OSError):
                channel.close()
        self._server.task_dispatcher.shutdown(timeout=5)

    def start(self) -> Self:
        self._thread.start()
        log.info("dashboard serving on %s", self.url)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        else:  # never started: release the listening socket
            self._server.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_app(app: object, host: str = "127.0.0.1", port: int = 0) -> DashboardServer:
    """A (not yet started) server for an app from `create_app`, with its config's bounds."""
    from dash_app.web.context import EXTENSION_KEY

    server = app.server  # type: ignore[attr-defined]
    return DashboardServer(server, host, port, server.extensions[EXTENSION_KEY].config.dashboard)
