"""One network policy for every request a source causes, and the proxy that holds the browser to it.

`NetworkPolicy` says what a source may reach: http and https only, and no loopback, private,
link-local or otherwise non-global address unless the source allows private networks (the demo
sources do) or the address is on the source's explicit `allowed_hosts` list of `host:port` pairs
(how tests reach a loopback "site" while everything else on loopback stays refused). The
downloader asks it before every request and every redirect hop, and again for every connection it
opens, which goes to an address that answer approved (`scraper.pinned_adapter`); `FilteringProxy`
asks it for every request Chromium makes (pages, redirects, images, scripts' fetch/XHR, CONNECT
tunnels).

Why the proxy is written here: Chromium follows redirects and runs the page's scripts itself, so
checking the first URL is not enough; the only hook that sees every request is a proxy. It must
resolve the name itself, check the addresses and connect to exactly the address it checked, so a
name that resolves to a public address for the check and to 127.0.0.1 a moment later (DNS
rebinding) cannot slip through. No small, well-kept library fits: mitmproxy is a large
interception suite (TLS man-in-the-middle, its own event loop), proxy.py is a plugin framework;
what is needed is a CONNECT/forward filter of some 300 lines on the standard library, which is
what `FilteringProxy` is: threads, a bounded number of connections, idle timeouts, a clean stop.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

from stylescout.errors import ConfigError, ScrapeError

log = logging.getLogger(__name__)
DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = tuple[int, tuple]  # (socket family, sockaddr) as getaddrinfo gives it


class PolicyRefused(ScrapeError):
    """The policy refuses a destination; `reason` is `bad_url`, `private_address` or
    `no_such_host`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable unicast (and so is what it embeds)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global or ip.is_multicast:
        return False
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    return inner is None or (inner.is_global and not inner.is_multicast)


def normal_host(host: str) -> str:
    """A host as compared: lower case, no brackets or trailing dot, IP literals canonical."""
    host = host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def split_host_port(text: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` as (normal host, port); ValueError when it is not one."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text[:100]!r} is not host:port")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise ValueError(f"{text[:100]!r}: write an IPv6 address in brackets, [::1]:port")
    if not re.fullmatch(r"[\w.\-\[\]:%]+", host):
        raise ValueError(f"{text[:100]!r} has a character a host name cannot have")
    return normal_host(host), int(port)


@dataclass(frozen=True)
class Destination:
    """A checked host and port, with the addresses it resolved to (connect to these only)."""

    host: str
    port: int
    addresses: tuple[Address, ...]


class NetworkPolicy:
    """What one source may reach. Immutable; shared by its downloader and its browser's proxy."""

    def __init__(self, allow_private_network: bool = False, allowed_hosts: Iterable[str] = ()):
        self.allow_private_network = allow_private_network
        allowed: set[tuple[str, int]] = set()
        for entry in allowed_hosts:
            try:
                allowed.add(split_host_port(entry))
            except ValueError as exc:
                raise ConfigError(f"allowed_hosts: {exc} (write host:port)") from None
        self.allowed_hosts = frozenset(allowed)

    def check_url(self, url: str) -> Destination:
        """http(s) only, to a host the source may reach (`check_host`)."""
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
        except ValueError:
            raise PolicyRefused("bad_url", "the host or port is not valid") from None
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise PolicyRefused("bad_url", "only http and https addresses are fetched")
        return self.check_host(parts.hostname, port)

    def check_host(self, host: str, port: int) -> Destination:
        """`check_address`, and a name that does not resolve refused at once (`no_such_host`):
        retrying a DNS failure only repeats it, and offline every request would otherwise be
        retried with a warning each time. The downloader's connections ask this too
        (`scraper.pinned_adapter`), so a refusal reads the same before and at connect."""
        destination = self.check_address(host, port)
        if not destination.addresses:
            raise PolicyRefused(
                "no_such_host",
                f"cannot resolve {destination.host}: no such host, or this machine is offline",
            )
        return destination

    def check_address(self, host: str, port: int) -> Destination:
        """Resolve `host` once and refuse it unless every address it has may be reached."""
        host = normal_host(host)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return Destination(host, port, ())
        addresses: list[Address] = []
        for family, _type, _proto, _name, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address = (family, (sockaddr[0], port, *sockaddr[2:]))
            if address in addresses:
                continue
            if not self._may_reach(host, sockaddr[0], port):
                raise PolicyRefused(
                    "private_address",
                    f"{host}:{port} is {sockaddr[0]}: the source may not reach local networks",
                )
            addresses.append(address)
        return Destination(host, port, tuple(addresses))

    def _may_reach(self, host: str, address: str, port: int) -> bool:
        if self.allow_private_network or (host, port) in self.allowed_hosts:
            return True
        try:
            if is_public_address(address):
                return True
        except ValueError:
            return False
        return (normal_host(address.split("%")[0]), port) in self.allowed_hosts


# -- the browser's proxy ----------------------------------------------------------------------

_CHUNK = 64 * 1024
_MAX_HEAD = 64 * 1024
_TICK = 0.25  # how often loops look at the stop flag
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VERSIONS = (b"HTTP/1.0", b"HTTP/1.1")
_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"proxy-authorization",
    b"proxy-authenticate",
    b"te",
    b"trailer",
    b"upgrade",
}
_CONNECTION = {b"connection", b"keep-alive", b"proxy-connection"}
_STATUS = {
    400: "Bad Request",
    403: "Forbidden",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}


class _Reject(Exception):
    """Answer the client with `status` and `text`, then close."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class FilteringProxy:
    """An HTTP proxy on 127.0.0.1 (a free port) passing only what `policy` allows.

    Absolute-URI http requests are forwarded one per connection; CONNECT host:port opens a tunnel
    (https, wss). Either way the proxy resolves the host, checks every address and connects to
    the checked address itself. Refusals are 403 and logged at INFO with the reason; malformed
    requests are 400. At most `max_connections` clients are served at once (more wait in the
    listen queue); a connection with no traffic for `idle_timeout_s` is closed.
    """

    def __init__(
        self,
        policy: NetworkPolicy,
        *,
        max_connections: int = 64,
        idle_timeout_s: float = 60.0,
        head_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.policy = policy
        self.idle_timeout_s = idle_timeout_s
        self.head_timeout_s = head_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"proxy-{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._listener.listen(128)
        self._listener.settimeout(_TICK)
        self._acceptor.start()
        log.debug("filtering proxy on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop accepting, cut every open connection and wait for the threads to end."""
        self._stop.set()
        if self._acceptor.is_alive():
            self._acceptor.join(timeout=5)
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            threads = list(self._threads)
        deadline = time.monotonic() + 5
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connections ------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=_TICK):
                continue
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                self._slots.release()
                continue
            except OSError as exc:  # e.g. out of file descriptors: wait, do not spin
                self._slots.release()
                log.warning("proxy cannot accept: %s", exc)
                self._stop.wait(_TICK)
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            with self._lock:
                self._sockets.add(client)
                self._threads.add(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        owned = [client]  # every socket this connection opened, closed when it ends
        try:
            client.settimeout(self.head_timeout_s)
            upstream, tunnel = self._handle(client, owned)
            if upstream is not None:
                self._relay(client, upstream, rewrite_response=not tunnel)
        except _Reject as exc:
            self._reply(client, exc.status, exc.text)
        except OSError as exc:  # the client or the site went away
            log.debug("proxy connection ended: %s", exc)
        except Exception:  # one bad connection must never stop the proxy
            log.exception("proxy connection failed")
        finally:
            for sock in owned:
                with self._lock:
                    self._sockets.discard(sock)
                sock.close()
            with self._lock:
                self._threads.discard(threading.current_thread())
            self._slots.release()

    def _handle(
        self, client: socket.socket, owned: list[socket.socket]
    ) -> tuple[socket.socket | None, bool]:
        """Read and check one request: the connected site (None when the client left without
        asking) and whether it is a CONNECT tunnel."""
        head, rest = self._read_head(client)
        if head is None:
            return None, False
        line, *headers = head.split(b"\r\n")
        parts = line.split(b" ")
        if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or parts[2] not in _VERSIONS:
            raise _Reject(400, "not an HTTP/1.x request line")
        method, target = parts[0].decode("ascii"), parts[1].decode("latin-1")
        if method == "CONNECT":
            try:
                host, port = split_host_port(target)
            except ValueError:
                raise _Reject(400, "CONNECT needs host:port") from None
            upstream = self._connect(
                method, target, lambda: self.policy.check_address(host, port), owned
            )
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            return upstream, True
        try:
            url = urlsplit(target)
        except ValueError:
            raise _Reject(400, "not a valid URL") from None
        if url.scheme.lower() != "http" or not url.hostname:
            hint = "use CONNECT for https" if url.scheme.lower() == "https" else "absolute URI"
            raise _Reject(400, f"a proxy request needs an http:// {hint}")
        upstream = self._connect(method, target, lambda: self.policy.check_url(target), owned)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        host = url.netloc.rpartition("@")[2]
        upstream.sendall(_forwarded_head(f"{method} {path} ", parts[2], headers, host) + rest)
        return upstream, False

    def _read_head(self, client: socket.socket) -> tuple[bytes | None, bytes]:
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > _MAX_HEAD:
                raise _Reject(431, "request head too large")
            try:
                data = client.recv(_CHUNK)
            except TimeoutError:
                raise _Reject(408, "no complete request in time") from None
            if not data:
                return None, b""
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        if len(head) > _MAX_HEAD:
            raise _Reject(431, "request head too large")
        return head, rest

    def _connect(
        self,
        method: str,
        target: str,
        check: Callable[[], Destination],
        owned: list[socket.socket],
    ) -> socket.socket:
        """The site's socket, connected to an address `check` approved; _Reject otherwise."""
        try:
            destination: Destination = check()
        except PolicyRefused as exc:
            if exc.reason == "no_such_host":
                raise _Reject(502, exc.detail) from None
            log.info("browser request refused: %s %s (%s)", method, target[:200], exc)
            raise _Reject(403, f"refused by StyleScout's network policy: {exc}") from None
        if not destination.addresses:
            raise _Reject(502, f"cannot resolve {destination.host}")
        failure: OSError | None = None
        for family, sockaddr in destination.addresses:  # exactly the addresses checked
            sock = socket.socket(family, socket.SOCK_STREAM)
            owned.append(sock)
            with self._lock:
                self._sockets.add(sock)
            sock.settimeout(self.connect_timeout_s)
            try:
                sock.connect(sockaddr)
            except OSError as exc:
                failure = exc
                continue
            return sock
        status = 504 if isinstance(failure, TimeoutError) else 502
        raise _Reject(status, f"cannot connect to {destination.host}:{destination.port}")

    def _relay(
        self, client: socket.socket, upstream: socket.socket, rewrite_response: bool
    ) -> None:
        """Copy bytes both ways until the site closes, the proxy stops or nothing moves.

        For a forwarded request the response head gets `Connection: close`, so the browser
        sends its next request on a new connection, where it is checked, not down this one."""
        peer = {client: upstream, upstream: client}
        pending: bytearray | None = bytearray() if rewrite_response else None
        for sock in peer:
            sock.settimeout(self.idle_timeout_s)  # bounds a blocked sendall too
        last = time.monotonic()
        with selectors.DefaultSelector() as selector:
            for sock in peer:
                selector.register(sock, selectors.EVENT_READ)
            while not self._stop.is_set() and selector.get_map():
                ready = selector.select(_TICK)
                if not ready:
                    if time.monotonic() - last > self.idle_timeout_s:
                        return
                    continue
                last = time.monotonic()
                for key, _ in ready:
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(_CHUNK)
                    if not data and source is upstream:
                        if pending:  # a head that never ended: pass it on as it is
                            client.sendall(bytes(pending))
                        return  # the site is done: so is this connection
                    if not data:  # the client sent all it will: let the site finish answering
                        selector.unregister(source)
                        with contextlib.suppress(OSError):
                            upstream.shutdown(socket.SHUT_WR)
                        continue
                    if source is upstream and pending is not None:
                        pending += data
                        data, finished = _closing_response(pending)
                        if finished:
                            pending = None
                    if data:
                        peer[source].sendall(data)

    @staticmethod
    def _reply(client: socket.socket, status: int, text: str) -> None:
        body = text.encode("utf-8", errors="replace")
        head = (
            f"HTTP/1.1 {status} {_STATUS.get(status, 'Error')}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            client.settimeout(2)
            client.sendall(head.encode("ascii") + body)
            client.shutdown(socket.SHUT_WR)
            # read what the client still sends (briefly): closing with unread bytes would reset
            # the connection and could lose the answer before the client reads it
            client.settimeout(0.5)
            deadline = time.monotonic() + 1
            drained = 0
            while time.monotonic() < deadline and drained < _MAX_HEAD * 16:
                data = client.recv(_CHUNK)
                if not data:
                    break
                drained += len(data)


def _forwarded_head(start: str, version: bytes, headers: list[bytes], netloc: str) -> bytes:
    """The request as the site sees it: origin-form target, no hop-by-hop headers, one request
    per connection (`Connection: close`), so every request on the way is checked."""
    named = set()
    for line in headers:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"connection":
            named |= {token.strip().lower() for token in value.split(b",")}
    kept = [
        line
        for line in headers
        if line.partition(b":")[0].strip().lower() not in _HOP_BY_HOP | named
    ]
    if not any(line.partition(b":")[0].strip().lower() == b"host" for line in kept):
        kept.insert(0, b"Host: " + netloc.encode("idna"))
    return b"\r\n".join([start.encode("latin-1") + version, *kept, b"Connection: close", b"", b""])


def _closing_response(pending: bytearray) -> tuple[bytes, bool]:
    """What of the site's first bytes may go to the browser now (consumed from `pending`):
    interim 1xx heads as they are, then the final head with `Connection: close` and all after
    it. True once the final head has gone through."""
    out = bytearray()
    while (end := pending.find(b"\r\n\r\n")) >= 0:
        head = bytes(pending[:end])
        del pending[: end + 4]
        line, *headers = head.split(b"\r\n")
        status = line.split(b" ")
        if len(status) > 1 and status[1][:1] == b"1" and status[1] != b"101":
            out += head + b"\r\n\r\n"
            continue
        kept = [h for h in headers if h.partition(b":")[0].strip().lower() not in _CONNECTION]
        out += b"\r\n".join([line, *kept, b"Connection: close", b"", b""]) + pending
        pending.clear()
        return bytes(out), True
    if len(pending) > _MAX_HEAD:  # not a head this proxy can read: pass it through unchanged
        out += pending
        pending.clear()
        return bytes(out), True
    return bytes(out), False
