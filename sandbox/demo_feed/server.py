"""Serve a WSGI app (the demo feed, the dashboard) from a background thread."""

from __future__ import annotations

import logging
import threading
from typing import Self

from werkzeug.serving import BaseWSGIServer, make_server

from stylescout.errors import ServeError

log = logging.getLogger(__name__)


class BackgroundServer:
    """A threaded WSGI server on `host:port` (port 0 picks a free port) in a daemon thread."""

    def __init__(self, app: object, host: str = "127.0.0.1", port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        try:
            self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        except OSError as exc:
            raise ServeError.listening(exc, host, port) from None
        self.app = app
        self.host = host
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"server-{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        log.info("serving on %s", self.url)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
