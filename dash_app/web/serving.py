"""The dashboard's production WSGI server in one process: waitress, run from a background thread.

Why waitress: it is a pure-Python production server that runs in-process (so `make demo` stays one
command and tests serve the real thing), with a fixed pool of worker threads, a cap on open
connections, and requests read in full on its event loop (bodies buffered to temporary files)
before a thread takes them. Werkzeug's development server starts a thread per connection with no
cap and no timeout. The deadlines and per-address caps that keep slow clients from holding
connections are in http_server.py, shared with a team's gunicorn workers (waitress_worker.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading

from waitress import wasyncore

from dash_app.web.http_server import guarded_servers, listening_socket
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
            sock = listening_socket(host, port)
        except OSError as exc:
            raise ServeError.listening(exc, host, port) from None
        (self._server,) = guarded_servers(app, [sock], cfg, self._map)
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
