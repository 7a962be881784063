"""A load balancer for tests, on 127.0.0.1: each request goes to the backend a routing function
picks (by path, query and body), and is recorded with the backend that answered. With it a test
can send a job's start to one dashboard and everything after to another."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stylescout.background_server import SocketServerInBackground

_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}
Route = Callable[[str, bytes], int]  # (path with query, body) -> backend index


class Balancer(SocketServerInBackground):
    """Forward to `backends` (ports on 127.0.0.1) as `route` says; `log` holds (backend, path,
    body) of every request answered."""

    kind = "balancer"

    def __init__(self, backends: list[int], route: Route) -> None:
        self.backends = backends
        self.route = route
        self.log: list[tuple[int, str, bytes]] = []
        self._lock = threading.Lock()
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                which = balancer.route(self.path, body)
                upstream = http.client.HTTPConnection("127.0.0.1", balancer.backends[which], 60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    upstream.request(self.command, self.path, body or None, headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                with balancer._lock:
                    balancer.log.append((which, self.path, body))
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in _HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_HEAD = _forward

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        super().__init__(server, "127.0.0.1")
