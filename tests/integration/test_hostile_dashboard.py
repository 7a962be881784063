"""A hostile client against a running dashboard (the production server on 127.0.0.1): crafted
posts to `/_dash-update-component`, odd Host headers, large bodies, idle connections, parallel
uploads. Every answer is a message or a 4xx, never a 500, and the server stays within bounds."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from dash_app import create_app
from dash_app.app import close_app
from dash_app.web.serving import serve_app
from sandbox.dash_client import UPDATE, rate_body, recommend_body, upload_body
from store import Store
from stylescout.settings import Config
from tests.conftest import jpeg_bytes, make_config, meta_for

USER = "u" + "cd" * 16


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, str, list[int]]]:
    data_dir = tmp_path_factory.mktemp("hostile-dash") / "data"
    with Store(data_dir) as store:
        ids = [
            store.images.add_image_bytes(jpeg_bytes(s), meta_for(s), ["boho"]).image_id
            for s in range(3)
        ]
    config = make_config(
        data_dir,
        dashboard={"idle_timeout_s": 2, "threads": 4, "allowed_hosts": ["styles.example"]},
    )
    app = create_app(config)
    with serve_app(app) as server:
        yield config, server.url, ids
    close_app(app)


def _post(url: str, body: object, **kw: object) -> requests.Response:
    return requests.post(url + UPDATE, json=body, timeout=60, **kw)


def _text(response: requests.Response) -> str:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return json.dumps(response.json())


def test_an_upload_hash_that_is_a_path_is_refused_the_same_whether_the_file_exists(
    dashboard: tuple[Config, str, list[int]], tmp_path: Path
) -> None:
    _, url, _ = dashboard
    real = tmp_path / "exists"
    real.with_suffix(".jpg").write_bytes(jpeg_bytes(3))
    answers = set()
    for name in (str(real), str(tmp_path / "missing"), "../../../../etc/passwd", "F" * 64):
        body = recommend_body([{"kind": "upload", "sha256": name}], USER)
        text = _text(_post(url, body))
        assert "not accepted" in text
        answers.add(text.replace(name, "NAME"))
    assert len(answers) == 1  # nothing in the reply tells whether a file exists


@pytest.mark.parametrize(
    ("image_id", "value", "user"),
    [
        (None, 4.9, USER),
        (None, True, USER),
        (1.7, 4, USER),
        (2**63, 4, USER),
        ("abc", 4, USER),
        (None, 4, {"id": USER}),
        (None, 4, ["u"]),
        (None, None, USER),
    ],
)
def test_crafted_ratings_get_a_message_or_nothing_never_a_500(
    dashboard: tuple[Config, str, list[int]], image_id: object, value: object, user: object
) -> None:
    config, url, ids = dashboard
    body = rate_body(ids[0] if image_id is None else image_id, value, user)  # type: ignore[arg-type]
    response = _post(url, body)
    assert response.status_code in (200, 204), response.text[:300]  # 204: no value, no update
    if response.status_code == 200:
        assert "Could not save" in response.text
    with Store(config.data_dir) as store:
        assert store.ratings.ratings_history() == []


@pytest.mark.parametrize(
    "body",
    [
        recommend_body(["not an object"], USER),  # type: ignore[list-item]
        recommend_body([{"kind": "item", "id": "1"}], USER),
        recommend_body([{"kind": "item", "id": 1, "sha256": "a" * 64}] * 300, USER),
        recommend_body([], {"id": 1}),  # type: ignore[arg-type]
    ],
)
def test_crafted_photo_lists_get_a_message(
    dashboard: tuple[Config, str, list[int]], body: dict
) -> None:
    _, url, _ = dashboard
    assert "not accepted" in _text(_post(url, body))


def test_malformed_callback_requests_are_400_not_500(
    dashboard: tuple[Config, str, list[int]],
) -> None:
    _, url, _ = dashboard
    for body in ({}, {"output": "discover-result.children"}, [], "x", {"output": 5, "inputs": 1}):
        response = _post(url, body)
        assert 400 <= response.status_code < 500, (body, response.status_code)
    response = requests.post(url + UPDATE, data=b"{not json", timeout=30)
    assert 400 <= response.status_code < 500
    for query in ("²", "٣", "-1", "9" * 400, "<script>"):
        assert requests.get(url + "/styles", params={"style": query}, timeout=30).ok


def test_only_the_upload_callback_takes_a_large_body(
    dashboard: tuple[Config, str, list[int]],
) -> None:
    config, url, _ = dashboard
    padding = "x" * (2 * config.dashboard.max_callback_bytes)
    big = recommend_body([{"kind": "upload", "sha256": "a" * 64, "name": padding}], USER)
    assert _post(url, big).status_code == 413
    token = {
        "output": "scrape-result.children",
        "inputs": [{"id": "scrape-job", "property": "data", "value": {}}],
        "state": [{"id": "app-token", "property": "data", "value": "t" * 5_000_000}],
    }
    assert _post(url, token).status_code == 413
    # the upload callback itself takes a photo bigger than the cap for other callbacks
    photo = jpeg_bytes(5, size=(1400, 1400), quality=100)
    photo += b"\0" * (config.dashboard.max_callback_bytes + 1000 - len(photo))
    text = _text(_post(url, upload_body(photo, "big.jpg", "image/jpeg")))
    assert '"kind": "upload"' in text
    # ...but not one beyond the upload cap, nor a body that only claims to be an upload
    assert _post(url, upload_body(b"\xff\xd8" + b"\0" * 170_000_000, "huge.jpg")).status_code == 413
    fake = {"padding": padding, **upload_body(b"", "x.jpg")}  # "output" is not the first key
    assert _post(url, fake).status_code == 413


def test_uploads_are_decoded_a_few_at_a_time(
    dashboard: tuple[Config, str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dash_app.pages import discover

    config, url, _ = dashboard
    running, most = [0], [0]
    lock = threading.Lock()
    real = discover.accept_upload

    def slow_accept(*args: object) -> object:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.3)
            return real(*args)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(discover, "accept_upload", slow_accept)
    bodies = [upload_body(jpeg_bytes(100 + n), f"p{n}.jpg") for n in range(6)]
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda b: _post(url, b), bodies))
    assert all(r.status_code == 200 for r in replies)
    assert most[0] == config.dashboard.max_concurrent_decodes


def test_parallel_uploads_of_one_new_photo_all_succeed(
    dashboard: tuple[Config, str, list[int]],
) -> None:
    config, url, _ = dashboard
    folder = config.data_dir / "cache" / "uploads"
    for round_ in range(5):
        body = upload_body(jpeg_bytes(500 + round_, size=(600, 600)), "same.jpg")
        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(lambda b: _post(url, b), [body] * 4))
        shas = {r.json()["response"]["my-photos"]["data"][0]["sha256"] for r in replies}
        assert len(shas) == 1 and all(r.status_code == 200 for r in replies)
        assert (folder / f"{shas.pop()}.jpg").is_file()
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_unknown_host_names_are_refused_and_pages_cannot_be_framed(
    dashboard: tuple[Config, str, list[int]],
) -> None:
    _, url, _ = dashboard
    port = url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", ""):
        assert requests.get(url + "/", headers={"Host": host}, timeout=30).status_code == 400
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "styles.example", f"[::1]:{port}"):
        response = requests.get(url + "/api/health", headers={"Host": host}, timeout=30)
        assert response.status_code == 200, host
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_idle_connections_are_closed_and_do_not_hold_threads(
    dashboard: tuple[Config, str, list[int]],
) -> None:
    config, url, _ = dashboard
    host, port = url.removeprefix("http://").rsplit(":", 1)
    threads_before = threading.active_count()
    idle = [socket.create_connection((host, int(port)), timeout=15) for _ in range(20)]
    try:
        started = time.monotonic()
        assert requests.get(url + "/api/health", timeout=10).ok  # served while 20 sit idle
        assert time.monotonic() - started < 5
        assert threading.active_count() <= threads_before + 1  # no thread per connection
        for conn in idle:  # the server closes them after idle_timeout_s (2 s here)
            assert conn.recv(1) == b""
        assert time.monotonic() - started < 4 * config.dashboard.idle_timeout_s + 10
    finally:
        for conn in idle:
            conn.close()


def test_parallel_wrong_passwords_over_http_are_counted_before_they_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 16 guesses sent at once to a served dashboard that asks for passwords: only the free ones
    # and the one that starts the wait are checked, the rest are told to wait (429)
    from store.repositories import accounts

    password = "correct horse battery"
    data_dir = tmp_path / "data"
    with Store(data_dir) as store:
        store.accounts.add("ana", password)
    real_verify = accounts._verify
    checked: list[str] = []

    def slow_verify(digest: str, sent: str) -> bool:
        checked.append(sent)
        time.sleep(0.3)  # what a production hash costs: the window a read-then-write loses
        return real_verify(digest, sent)

    monkeypatch.setattr(accounts, "_verify", slow_verify)
    # the per-address limit on sign-ins has its own tests: this one is about the per-name count
    unlimited = {"auth": "password", "threads": 16, "rate_limits": {"enabled": False}}
    app = create_app(make_config(data_dir, dashboard=unlimited))
    try:
        with serve_app(app) as server:
            forms = []
            for _ in range(16):
                browser = requests.Session()
                page = browser.get(server.url + "/login", timeout=30).text
                forms.append((browser, re.search(r'name="csrf" value="([0-9a-f]{64})"', page)[1]))
            start = threading.Barrier(16)

            def guess(i: int) -> int:
                browser, token = forms[i]
                start.wait()
                form = {"name": "ana", "password": f"wrong password {i}", "csrf": token}
                answer = browser.post(
                    server.url + "/login", data=form, allow_redirects=False, timeout=60
                )
                return answer.status_code

            with ThreadPoolExecutor(16) as pool:
                codes = sorted(pool.map(guess, range(16)))
            assert codes == [401, 401] + [429] * 14 and len(checked) == 3
            with Store(data_dir) as store:
                failed, until = store.db.row(
                    "SELECT failed, locked_until FROM sign_in_failures WHERE name = 'ana'"
                )
                assert failed == 3
                deadline = dt.datetime.fromisoformat(until.replace("Z", "+00:00"))
                before = deadline - dt.timedelta(seconds=1)
                assert store.accounts.sign_in("ana", password, before).wait_s == 1
            time.sleep(max(0.0, (deadline - dt.datetime.now(dt.UTC)).total_seconds()) + 0.1)
            browser, token = forms[0]
            form = {"name": "ana", "password": password, "csrf": token}
            answer = browser.post(
                server.url + "/login", data=form, allow_redirects=False, timeout=60
            )
            assert answer.status_code == 303  # the wait passed: the right password works
    finally:
        close_app(app)
