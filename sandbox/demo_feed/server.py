"""Serve a WSGI app (the demo feed, a replica, a fault server) from a background thread."""

from __future__ import annotations

import logging

from werkzeug.serving import BaseWSGIServer, make_server

from stylescout.background_server import SocketServerInBackground
from stylescout.errors import ServeError


class BackgroundServer(SocketServerInBackground):
    """A threaded WSGI server on `host:port` (port 0 picks a free port) in a daemon thread."""

    kind = "feed"

    def __init__(self, app: object, host: str = "127.0.0.1", port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        try:
            server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        except OSError as exc:
            raise ServeError.listening(exc, host, port) from None
        super().__init__(server, host)
        self.app = app
