"""The dashboard's front door, as WSGI middleware around the Flask app: every request passes it.

- Host: only the names the dashboard is served as (127.0.0.1, localhost, ::1, the bound host and
  `dashboard.allowed_hosts`) are answered, so a DNS-rebinding page cannot drive a local dashboard.
- Body size: `dashboard.max_callback_bytes` for every request, except the upload callback, which
  may carry up to `max_photos` photos; large bodies are let in a few at a time, so parallel
  uploads cannot multiply the memory they take. A body without a length (chunked) is refused:
  its size cannot be checked before it is read.
- Headers: no framing (X-Frame-Options, CSP frame-ancestors), no MIME sniffing, same-origin
  referrers.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import re
import threading
from collections.abc import Callable, Iterable

from stylescout.settings import DashboardConfig

log = logging.getLogger(__name__)

UPDATE_PATH = "/_dash-update-component"
# The upload callback's outputs, the first key of the body as Dash's renderer sends it.
UPLOAD_OUTPUT = re.compile(
    rb'\A\s*\{\s*"output"\s*:\s*"\.\.my-photos\.data\.\.\.upload-messages\.children'
    rb'\.\.\.upload\.contents\.\."'
)
_PEEK = 4096
LARGE_WAIT_S = 1.0  # how long a large body waits for its turn before a 503
LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")
SECURITY_HEADERS = [
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
]

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


def upload_bytes(cfg: DashboardConfig) -> int:
    """The largest body a request may carry: the upload callback's, with `max_photos` photos
    base64-encoded (4/3 larger) and room for the rest of the callback."""
    return cfg.max_upload_bytes * cfg.max_photos * 4 // 3 + 2**20


def from_trusted_proxy(address: str | None, trusted: Iterable[str]) -> bool:
    """Whether a peer address is one of `trusted` (addresses or networks, checked by the
    config); an IPv4 address seen through a dual-stack socket counts as itself."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(entry, strict=False) for entry in trusted)


def host_name(header: str) -> str:
    """The name part of a Host header, lower case ('[::1]:8050' -> '::1', 'a:80' -> 'a')."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def served_names(bound_host: str, allowed: Iterable[str]) -> frozenset[str]:
    """The Host names a dashboard bound to `bound_host` answers."""
    names = {*LOCAL_NAMES, *(host_name(a) for a in allowed if a)}
    if bound_host not in ("0.0.0.0", "::", ""):
        names.add(host_name(bound_host) if bound_host.startswith("[") else bound_host.lower())
    return frozenset(names)


class _Replay(io.RawIOBase):
    """The bytes already peeked at, then the rest of the body, read as one stream."""

    def __init__(self, head: bytes, rest: io.RawIOBase) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _plain(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    body = text.encode()
    retry = [("Retry-After", "2")] if status.startswith("503") else []
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *retry,
            *SECURITY_HEADERS,
        ],
    )
    return [body]


class HttpGuard:
    """Wraps a WSGI app (see the module docstring)."""

    def __init__(
        self,
        app: WsgiApp,
        names: frozenset[str],
        small_bytes: int,
        upload_bytes: int,
        large_at_once: int = 2,
    ) -> None:
        self.app = app
        self.names = names
        self.small_bytes = small_bytes
        self.upload_bytes = upload_bytes
        self._large = threading.BoundedSemaphore(large_at_once)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST") or ""
        if "*" not in self.names and host_name(host) not in self.names:
            log.info("refused a request for host %r", host[:100])
            return _plain(start_response, "400 Bad Request", "unknown host")

        def with_headers(status: str, headers: list, *rest: object) -> object:
            present = {name.lower() for name, _ in headers}
            headers = headers + [(n, v) for n, v in SECURITY_HEADERS if n.lower() not in present]
            return start_response(status, headers, *rest)

        if environ.get("HTTP_TRANSFER_ENCODING") and not environ.get("CONTENT_LENGTH"):
            # a chunked body has no length to check before it is read (gunicorn's own workers
            # pass it on so): the dashboard's clients always send a length
            return _plain(start_response, "411 Length Required", "a body needs a Content-Length")
        length = environ.get("CONTENT_LENGTH") or "0"
        if not length.isdigit():
            return _plain(start_response, "400 Bad Request", "bad Content-Length")
        size = int(length)
        if size <= self.small_bytes:
            return self.app(environ, with_headers)
        if size > self.upload_bytes or environ.get("PATH_INFO") != UPDATE_PATH:
            return _plain(start_response, "413 Request Entity Too Large", "request too large")
        stream = environ["wsgi.input"]
        head = stream.read(_PEEK)
        if not UPLOAD_OUTPUT.match(head):  # only the upload callback takes a large body
            return _plain(start_response, "413 Request Entity Too Large", "request too large")
        environ["wsgi.input"] = io.BufferedReader(_Replay(head, stream))
        # a few large bodies at a time, so their memory is bounded; a request that finds them
        # all taken for a second is told to come back, rather than holding a thread in a queue
        if not self._large.acquire(timeout=LARGE_WAIT_S):
            return _plain(start_response, "503 Service Unavailable", "busy: try again shortly")
        try:
            return list(self.app(environ, with_headers))
        finally:
            self._large.release()
