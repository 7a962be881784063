"""Slow and oversized clients against the dashboard's server, in one process and as a team's
gunicorn workers: a client that trickles its request holds no connection for long, one address
holds a bounded share of the connections, and a body too large for its route, or without a
length, is refused from its headers before any of it is read."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dash_app import create_app
from dash_app.app import close_app
from dash_app.web.serving import serve_app
from store import Store
from stylescout.settings import Config
from tests.conftest import jpeg_bytes, make_config, meta_for
from tests.services import Process, free_port

LIMITS = {
    "header_timeout_s": 2,
    "min_body_rate": 2000,
    "connections_per_address": 8,
    "connection_limit": 40,
    "threads": 2,
    "idle_timeout_s": 60,  # waitress's own idle timer: far beyond the deadlines tested here
}
ATTACKER = "127.0.0.2"  # the whole of 127/8 is this machine: a second client address


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, int]]:
    data_dir = tmp_path_factory.mktemp("slow-clients") / "data"
    with Store(data_dir) as store:
        store.images.add_image_bytes(jpeg_bytes(1), meta_for(1), ["boho"])
    config = make_config(data_dir, dashboard=LIMITS)
    app = create_app(config)
    with serve_app(app) as server:
        yield config, server.port
    close_app(app)


def _open(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the headers never end
    return sock


def _closed(sock: socket.socket, within: float) -> bool:
    """Whether the server closes the connection within `within` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass  # an answer (an error page) before the close
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def _health_s(port: int) -> float:
    started = time.monotonic()
    answer = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=15)
    assert answer.status_code == 200
    return time.monotonic() - started


def _trickle(socks: list[socket.socket], stop: threading.Event) -> None:
    """One more header line on every socket each half second: each resets an idle timer."""
    n = 0
    while not stop.wait(0.5):
        n += 1
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.sendall(f"X-Slow-{n}: {n}\r\n".encode())


def test_a_client_that_trickles_its_headers_is_closed_at_the_deadline(
    served: tuple[Config, int],
) -> None:
    config, port = served
    deadline = config.dashboard.header_timeout_s
    socks = [_open(port) for _ in range(4)]
    stop = threading.Event()
    trickler = threading.Thread(target=_trickle, args=(socks, stop), daemon=True)
    trickler.start()
    started = time.monotonic()
    try:
        assert _health_s(port) < 2  # an honest client meanwhile
        assert all(_closed(s, deadline + 4) for s in socks)  # not the 60 s idle timer
        assert time.monotonic() - started < deadline + 4
    finally:
        stop.set()
        trickler.join()
        for sock in socks:
            sock.close()


def test_one_address_holds_a_bounded_share_of_the_connections(
    served: tuple[Config, int],
) -> None:
    """40 slow connections from one address would fill the server's 40 slots; it keeps 8."""
    config, port = served
    socks = [_open(port, ATTACKER) for _ in range(40)]
    try:
        started = time.monotonic()
        closed = sum(_closed(s, 0.05) for s in socks)  # closed at once, not at the deadline
        assert closed >= 40 - config.dashboard.connections_per_address
        assert time.monotonic() - started < config.dashboard.header_timeout_s
        assert _health_s(port) < 2  # another address is answered at once
    finally:
        for sock in socks:
            sock.close()


def test_a_body_that_trickles_is_closed(served: tuple[Config, int]) -> None:
    config, port = served
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = (
        "POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    sock.sendall(head.encode())
    started = time.monotonic()
    try:
        while time.monotonic() - started < config.dashboard.header_timeout_s + 6:
            try:
                sock.sendall(b"x" * 20)  # 40 bytes a second, far below min_body_rate
            except OSError:
                break
            if _closed(sock, 0.5):
                break
        assert time.monotonic() - started < config.dashboard.header_timeout_s + 5
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        ("POST /login HTTP/1.1\r\nContent-Length: 100000000\r\n", b"413"),
        ("POST /_dash-update-component HTTP/1.1\r\nContent-Length: 5000000000\r\n", b"413"),
        ("POST /_dash-update-component HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", b"411"),
        ("POST /login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", b"411"),
    ],
)
def test_a_body_too_large_for_its_route_is_refused_before_it_is_read(
    served: tuple[Config, int], request_head: str, status: bytes
) -> None:
    _, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"{request_head}Host: 127.0.0.1\r\n\r\n".encode())  # and no body at all
        answer = sock.recv(4096)
    assert answer.split(b" ")[1] == status, answer[:200]


def test_the_guard_refuses_a_body_without_a_length_whatever_the_server() -> None:
    """gunicorn's own workers pass a chunked body on without CONTENT_LENGTH: not read."""
    from dash_app.web.http_guard import HttpGuard

    class Unread:
        def read(self, *_: object) -> bytes:
            raise AssertionError("the body was read")

    calls: list[str] = []
    guard = HttpGuard(lambda e, s: [b"app"], frozenset({"127.0.0.1"}), 1000, 10_000)
    environ = {
        "HTTP_HOST": "127.0.0.1",
        "PATH_INFO": "/_dash-update-component",
        "REQUEST_METHOD": "POST",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": Unread(),
    }
    body = guard(environ, lambda status, _headers, *_: calls.append(status))
    assert calls == ["411 Length Required"] and b"Content-Length" in b"".join(body)


@pytest.fixture
def team(tmp_path: Path, redis_url: str) -> Iterator[tuple[Config, int, Process]]:
    """`python -m dash_app --workers 2` (gunicorn, sign-in) with the limits above."""
    data = tmp_path / "data"
    with Store(data) as store:
        store.accounts.add("ana", "a long team password")
    config = tmp_path / "config.yaml"
    limits = "".join(f"  {k}: {v}\n" for k, v in LIMITS.items())
    config.write_text(
        f"data_dir: {data}\ndashboard:\n  auth: password\n  redis_url: '{redis_url}'\n{limits}"
    )
    port = free_port()
    server = Process(
        tmp_path / "dashboard.log",
        "dash_app",
        "--config",
        str(config),
        "--workers",
        "2",
        "--port",
        str(port),
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert server.proc.poll() is None, server.output()[-3000:]
            assert time.monotonic() < deadline, server.output()[-3000:]
            time.sleep(0.25)
        yield make_config(data, dashboard=LIMITS), port, server
    finally:
        server.stop()


@pytest.mark.slow
def test_slow_clients_hold_no_worker_of_a_teams_dashboard(
    team: tuple[Config, int, Process],
) -> None:
    """Ten clients trickling their headers held every thread of two gunicorn workers for 40 s;
    now every health check is answered at once, and a chunked body is refused unread."""
    config, port, server = team
    socks = [_open(port, ATTACKER) for _ in range(10)]
    stop = threading.Event()
    trickler = threading.Thread(target=_trickle, args=(socks, stop), daemon=True)
    trickler.start()
    try:
        times = [_health_s(port) for _ in range(10)]
        assert max(times) < 2, times
        assert all(_closed(s, config.dashboard.header_timeout_s + 4) for s in socks)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(
                b"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            assert sock.recv(4096).split(b" ")[1] == b"411"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(  # an upload-sized body with no session: refused before it is read
                b"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Length: 100000000\r\n\r\n"
            )
            assert sock.recv(4096).split(b" ")[1] == b"401"
    finally:
        stop.set()
        trickler.join()
        for sock in socks:
            sock.close()
    assert server.proc.poll() is None, server.output()[-3000:]


def test_a_large_body_that_finds_every_turn_taken_is_told_to_come_back() -> None:
    """Large bodies (uploads) go a few at a time; one that waits a second for its turn is a 503
    with Retry-After, not a thread held in a queue."""
    import io
    import json

    from dash_app.web.http_guard import HttpGuard

    started = threading.Event()
    release = threading.Event()

    def app(_environ: dict, start_response: object) -> list[bytes]:
        started.set()
        release.wait(10)
        start_response("200 OK", [])  # type: ignore[operator]
        return [b"done"]

    guard = HttpGuard(app, frozenset({"127.0.0.1"}), 100, 10_000, large_at_once=1)
    body = json.dumps({"output": "..my-photos.data...upload-messages.children...upload.contents.."})
    body = body.encode() + b" " * 500

    def environ() -> dict:
        return {
            "HTTP_HOST": "127.0.0.1",
            "PATH_INFO": "/_dash-update-component",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }

    first = threading.Thread(target=lambda: guard(environ(), lambda *_: None))
    first.start()
    assert started.wait(5)
    statuses: list[tuple[str, list]] = []
    waited = time.monotonic()
    guard(environ(), lambda status, headers, *_: statuses.append((status, headers)))
    assert time.monotonic() - waited < 3
    release.set()
    first.join()
    status, headers = statuses[0]
    assert status.startswith("503") and ("Retry-After", "2") in headers
