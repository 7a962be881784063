"""waitress, made to hold against slow and oversized clients; one process and every gunicorn
worker serve through it (serving.py, waitress_worker.py).

Why waitress: it reads each request on its event loop and hands a worker thread only a request
that has arrived in full (bodies buffered to temporary files), so a slow client never holds a
thread, in one process or in a worker. What it lacks is a deadline: its idle timer restarts
with every byte, so a client that trickles a header line every few seconds keeps its connection
slot as long as it likes, and a hundred such clients fill `connection_limit`. This adds:

- a deadline for a request's line and headers (`dashboard.header_timeout_s`) and a floor on the
  average rate of its body (`dashboard.min_body_rate`), checked every second;
- a cap on the connections one address holds (`dashboard.connections_per_address`; the trusted
  proxies, which carry everyone's requests, are exempt);
- a body too large for its route refused (413) from its headers, before any of it is read: only
  the upload callback may send more than `dashboard.max_callback_bytes` (http_guard.py holds
  the same rule for any other server).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher
from waitress.utilities import Error, RequestEntityTooLarge

from dash_app.web.auth import SESSION_COOKIE, mode_for
from dash_app.web.http_guard import UPDATE_PATH, from_trusted_proxy, upload_bytes
from stylescout.settings import DashboardConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """What one connection may take (from `DashboardConfig`)."""

    header_timeout_s: float
    min_body_rate: int
    per_address: int
    small_bytes: int
    trusted: tuple[str, ...]
    session_cookie: str | None = None  # where sign-in is asked for: the session's cookie

    @classmethod
    def from_config(cls, cfg: DashboardConfig) -> Limits:
        return cls(
            header_timeout_s=cfg.header_timeout_s,
            min_body_rate=cfg.min_body_rate,
            per_address=cfg.connections_per_address,
            small_bytes=cfg.max_callback_bytes,
            trusted=tuple(cfg.trusted_proxies),
            session_cookie=None if mode_for(cfg) == "none" else SESSION_COOKIE,
        )

    def is_trusted(self, address: str) -> bool:
        return from_trusted_proxy(address, self.trusted)


def _peer(channel: HTTPChannel) -> str:
    """The client's address of a connection."""
    return channel.addr[0] if isinstance(channel.addr, tuple) else str(channel.addr)


class LengthRequired(Error):
    code = 411
    reason = "Length Required"


class SignInFirst(Error):
    code = 401
    reason = "Unauthorized"


class _Parser(HTTPRequestParser):
    """A request whose declared body is too large for its route ends at its headers (413), as
    does one whose body has no length (chunked: 411), which could only be measured by reading
    it; the dashboard's clients always send a length. Where sign-in is asked for, a large body
    (an upload) without a session cookie ends there too (401): only a signed-in page uploads.
    The cookie's value is checked by the sign-in gate once the request is in."""

    small_bytes = 0  # set on the subclass each server makes
    session_cookie: str | None = None

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.chunked:
            self.error = LengthRequired("a body needs a Content-Length")
            self.completed = True
            self.body_rcv = None
        elif self.content_length > self.small_bytes and self._without_session():
            self.error = SignInFirst("sign in first")
            self.completed = True
            self.body_rcv = None
        elif self.content_length > self.small_bytes and self.path != UPDATE_PATH:
            self.error = RequestEntityTooLarge("request too large")
            self.completed = True
            self.body_rcv = None  # nothing of the body is read

    def _without_session(self) -> bool:
        if not self.session_cookie:
            return False
        cookies = self.headers.get("COOKIE", "")
        return not any(
            part.strip().startswith(self.session_cookie + "=") for part in cookies.split(";")
        )


class _Channel(HTTPChannel):
    """A connection that knows how long its request in progress has taken."""

    limits: Limits  # set on the subclass each server makes
    _started: float | None = None  # the request in progress: its first byte
    _headers_at: float | None = None  # ... the end of its headers
    _body_bytes = 0

    def __init__(self, server: TcpWSGIServer, sock: socket.socket, addr: object, *args, **kw):
        super().__init__(server, sock, addr, *args, **kw)
        peer = _peer(self)
        held = sum(1 for c in server.active_channels.values() if _peer(c) == peer)
        if held > self.limits.per_address and not self.limits.is_trusted(peer):
            log.info("refused a connection from %s: it holds %d already", peer, held - 1)
            self.close()

    def received(self, data: bytes) -> bool:
        now = time.monotonic()
        if self.request is None and data:
            self._started, self._headers_at, self._body_bytes = now, None, 0
        result = super().received(data)
        request = self.request
        if request is None:
            self._started = None
        elif request.headers_finished:
            if self._headers_at is None:
                self._headers_at = now
            else:
                self._body_bytes += len(data)
        return result

    def overdue(self, now: float) -> str | None:
        """'headers' or 'body' when the request in progress is too slow to keep waiting for."""
        limits = self.limits
        if self._started is None:
            return None
        if self._headers_at is None:
            return "headers" if now - self._started > limits.header_timeout_s else None
        body_s = now - self._headers_at
        if body_s > limits.header_timeout_s and self._body_bytes < limits.min_body_rate * body_s:
            return "body"
        return None


class GuardedServer(TcpWSGIServer):
    """waitress's TCP server on a socket already listening, with `Limits` on its connections."""

    def __init__(
        self,
        app: object,
        sock: socket.socket,
        socket_map: dict,
        dispatcher: ThreadedTaskDispatcher,
        adj: Adjustments,
        limits: Limits,
    ) -> None:
        parser = type(
            "Parser",
            (_Parser,),
            {"small_bytes": limits.small_bytes, "session_cookie": limits.session_cookie},
        )
        self.channel_class = type(
            "Channel", (_Channel,), {"limits": limits, "parser_class": parser}
        )
        sockinfo = (sock.family, sock.type, sock.proto, sock.getsockname())
        super().__init__(
            app,
            socket_map,
            True,
            sock,
            dispatcher=dispatcher,
            adj=adj,
            bind_socket=False,
            sockinfo=sockinfo,
        )

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # waitress's own: idle connections between requests
        mono = time.monotonic()
        for channel in list(self.active_channels.values()):
            why = channel.overdue(mono) if isinstance(channel, _Channel) else None
            if why and not channel.will_close:
                log.info(
                    "closed a slow connection from %s: its %s came too slowly", _peer(channel), why
                )
                channel.will_close = True


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (port 0 picks a free one); OSError when it cannot."""
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    return socket.create_server(address[:2], family=family, backlog=1024)


def guarded_servers(
    app: object, sockets: Iterable[socket.socket], cfg: DashboardConfig, socket_map: dict
) -> list[GuardedServer]:
    """Servers for a WSGI app on listening sockets, sharing one pool of `cfg.threads` threads."""
    sockets = list(sockets)
    host, port = sockets[0].getsockname()[:2]
    adj = Adjustments(
        host=host,  # what waitress would otherwise resolve: its default, 0.0.0.0:8080
        port=port,
        threads=cfg.threads,
        connection_limit=cfg.connection_limit,
        channel_timeout=cfg.idle_timeout_s,
        cleanup_interval=1,  # the deadlines above are checked every second
        max_request_body_size=upload_bytes(cfg),
        backlog=1024,
        ident="StyleScout",
        expose_tracebacks=False,
        # X-Forwarded-* reach the app, which believes them only from dashboard.trusted_proxies
        # (dash_app/web/auth.py); waitress's own check takes one proxy address, not networks.
        clear_untrusted_proxy_headers=False,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(cfg.threads)
    limits = Limits.from_config(cfg)
    return [GuardedServer(app, sock, socket_map, dispatcher, adj, limits) for sock in sockets]
