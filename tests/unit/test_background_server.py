"""The one background-server helper (`stylescout.background_server`) under its three servers."""

from __future__ import annotations

import socket
import urllib.request

from dash_app.web.serving import DashboardServer
from sandbox.balancer import Balancer
from sandbox.demo_feed.server import BackgroundServer
from stylescout.settings import DashboardConfig


def _hello(environ: dict, start_response: object) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
    return [b"hello"]


def _free(port: int) -> bool:
    """Nothing listens on `port` (a connection's TIME_WAIT does not count, as for servers)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_each_server_serves_from_its_thread_and_stops() -> None:
    with (
        BackgroundServer(_hello) as feed,
        DashboardServer(_hello, "127.0.0.1", 0, DashboardConfig()) as board,
    ):
        assert feed.url == f"http://127.0.0.1:{feed.port}" and feed.port != board.port
        with Balancer([board.port], lambda path, body: 0) as balancer:
            for server in (feed, board, balancer):
                with urllib.request.urlopen(server.url + "/", timeout=10) as answer:
                    assert answer.read() == b"hello"
            assert [entry[1] for entry in balancer.log] == ["/"]
    assert _free(feed.port) and _free(board.port) and _free(balancer.port)


def test_a_server_that_never_started_releases_its_port_at_once() -> None:
    for server in (
        BackgroundServer(_hello),
        DashboardServer(_hello, "127.0.0.1", 0, DashboardConfig()),
    ):
        assert not _free(server.port)  # bound on creation
        server.stop()  # not waited for: it never served
        assert _free(server.port)
