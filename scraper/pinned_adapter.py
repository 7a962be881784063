"""The downloader's transport: every connection goes to an address the network policy approved.

`Downloader._get` checks each URL with `NetworkPolicy` before asking requests for it, but urllib3
resolves the name again to connect, so a name whose answer changes in between (DNS rebinding:
public for the check, 169.254.169.254 a moment later) would reach an address no check saw. Here
each new connection resolves its host once through the same policy (`check_host`), is refused as
the check would refuse it, and connects to one of exactly the addresses that answer approved. Only
the socket underneath changes: the URL's name stays the Host header, the TLS server name (SNI) and
the name the certificate is verified against, and connection pools stay keyed by that name.

Why not requests-hardened's `IPFilterAdapter`, which pins the same way: its filter is its own
fixed rule (ipaddress's `is_private`, a list of extra ranges, one `allow_loopback` switch), so a
source's `allowed_hosts` pairs (a replica on 127.0.0.1:<port>) cannot be expressed without opening
all of loopback, its idea of a private address differs from `NetworkPolicy`'s (two rules that
would drift), it checks and uses only the first address a name resolves to where the policy
refuses a name if any address is refused, and its refusal is an exception carrying just the
address, so `private_address`/`no_such_host` and their messages would have to be rebuilt. Putting
our policy into it means overriding the one method it has, using none of its code; what remains is
the small subclass below on urllib3's own extension points (a pool's `ConnectionCls`, a
connection's `_new_conn`, as urllib3's SOCKS support does).
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any, ClassVar

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError
from urllib3.util.connection import create_connection

from scraper.network_policy import NetworkPolicy, PolicyRefused

log = logging.getLogger(__name__)


class RefusedAtConnect(HTTPError):
    """The policy refused the address a connection was about to use; `refusal` says why.

    A urllib3 `HTTPError` but none of its connection, timeout or protocol errors: the pool lets
    it through untouched (no retry, nothing wrapped) and requests re-raises it as it is."""

    def __init__(self, refusal: PolicyRefused) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


class _PinnedHTTPConnection(HTTPConnection):
    """An HTTP connection whose socket goes to an address `policy` approved at connect time."""

    policy: NetworkPolicy  # set on the per-adapter subclass (`_pool_classes`)

    def _new_conn(self) -> socket.socket:
        try:
            destination = self.policy.check_host(self.host, self.port)
        except PolicyRefused as exc:
            log.warning("connection to %s:%s refused when opened: %s", self.host, self.port, exc)
            raise RefusedAtConnect(exc) from None
        failure: OSError | None = None
        for _family, sockaddr in destination.addresses:
            try:  # a numeric address: no second lookup that could answer otherwise
                sock = create_connection(
                    (sockaddr[0], self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:  # the next checked address, as urllib3 itself would
                failure = exc
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        if isinstance(failure, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from failure
        raise NewConnectionError(
            self, f"Failed to establish a new connection: {failure}"
        ) from failure


class _PinnedHTTPSConnection(_PinnedHTTPConnection, HTTPSConnection):
    """TLS over a pinned socket: `HTTPSConnection.connect` wraps what `_new_conn` returns, with
    the URL's host as server name and for certificate verification."""


def _pool_classes(policy: NetworkPolicy) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes whose connections ask `policy`. Classes, because urllib3 builds each
    connection from its pool's `ConnectionCls` and a pool manager passes on only the keyword
    arguments its pool keys know."""
    http = type("PinnedHTTPConnection", (_PinnedHTTPConnection,), {"policy": policy})
    https = type("PinnedHTTPSConnection", (_PinnedHTTPSConnection,), {"policy": policy})
    return {
        "http": type("PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type(
            "PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}
        ),
    }


class PinnedAdapter(HTTPAdapter):
    """requests' HTTPAdapter (retries, pooling, TLS as usual) whose direct connections resolve
    through `policy` and connect only to an address it approved; a refusal is `RefusedAtConnect`.
    The downloader uses no proxy (`trust_env` is off): a proxy's connections are not pinned."""

    __attrs__: ClassVar[list[str]] = [*HTTPAdapter.__attrs__, "policy"]  # pickled with it

    def __init__(self, policy: NetworkPolicy, **kwargs: Any) -> None:
        self.policy = policy  # before HTTPAdapter.__init__, which builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.policy)
