"""A server run from a background thread: the demo feed's, the dashboard's, the test balancer's.

Each kind of server says how it serves, how it is asked to stop and how its socket is released;
this owns the rest alike: the address and URL, the daemon thread, start and stop (a server that
never started is closed, not waited for), and `with`.
"""

from __future__ import annotations

import logging
import socketserver
import threading
from typing import Self

log = logging.getLogger(__name__)


class BackgroundServer:
    """Subclasses bind in `__init__` (setting `host` and the real `port`) and implement
    `_serve` (runs in the thread until stopped), `_shutdown` (asks it to stop, from another
    thread) and `_close` (releases the socket of a server that never started)."""

    kind = "server"
    join_timeout_s = 10.0

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _serve(self) -> None:
        raise NotImplementedError

    def _shutdown(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._serve, name=f"{self.kind}-{self.port}", daemon=True
        )
        self._thread.start()
        log.info("%s serving on %s", self.kind, self.url)
        return self

    def stop(self) -> None:
        if self._thread is None:  # never started: release the listening socket
            self._close()
            return
        self._shutdown()
        self._thread.join(timeout=self.join_timeout_s)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SocketServerInBackground(BackgroundServer):
    """A `socketserver` server (http.server's, werkzeug's) run by its `serve_forever`."""

    def __init__(self, server: socketserver.BaseServer, host: str) -> None:
        self._server = server
        super().__init__(host, int(server.server_address[1]))  # type: ignore[index]

    def _serve(self) -> None:
        self._server.serve_forever()

    def _shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _close(self) -> None:
        self._server.server_close()
