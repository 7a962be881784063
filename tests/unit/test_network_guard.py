from __future__ import annotations

import socket

import pytest

from tests.conftest import NetworkGuardError


def test_connections_beyond_loopback_fail() -> None:
    with socket.socket() as sock, pytest.raises(NetworkGuardError):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never reached, the guard refuses first


def test_name_lookups_beyond_loopback_fail() -> None:
    with pytest.raises(NetworkGuardError):
        socket.getaddrinfo("example.org", 443)


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(("127.0.0.1", server.getsockname()[1]), timeout=2):
            pass
