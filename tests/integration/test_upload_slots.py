"""Uploads against a running dashboard while every decode slot is taken: each drop is answered
with a 'busy' message in about a second, and the server's threads stay free for other requests
(they used to wait on the slots, and /api/health timed out)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from dash_app import create_app
from dash_app.app import close_app
from dash_app.web.context import EXTENSION_KEY, AppContext
from dash_app.web.serving import serve_app
from sandbox.dash_client import UPDATE, upload_body
from tests.conftest import jpeg_bytes, make_config


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppContext, str]]:
    data_dir = tmp_path_factory.mktemp("upload-slots") / "data"
    config = make_config(data_dir, dashboard={"threads": 4, "max_concurrent_decodes": 1})
    app = create_app(config)
    with serve_app(app) as server:
        yield app.server.extensions[EXTENSION_KEY], server.url
    close_app(app)


def test_drops_get_busy_and_health_answers_while_the_slots_are_taken(
    served: tuple[AppContext, str],
) -> None:
    ctx, url = served
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:  # a long decode of another request
        with ctx.decode_slots:
            taken.set()
            done.wait(60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert taken.wait(5)
    bodies = [upload_body(jpeg_bytes(300 + n), f"p{n}.jpg", "image/jpeg") for n in range(6)]
    try:
        with ThreadPoolExecutor(6) as pool:
            started = time.monotonic()
            replies = pool.map(lambda b: requests.post(url + UPDATE, json=b, timeout=8), bodies)
            time.sleep(0.2)  # the drops now have every server thread
            health = requests.get(url + "/api/health", timeout=8)
            answers = list(replies)
            took = time.monotonic() - started
    except requests.Timeout:
        pytest.fail("a request waited on the decode slots until it timed out")
    finally:
        done.set()
        holder.join(10)
    assert health.ok
    assert all(r.status_code == 200 for r in answers)
    assert all("busy" in r.text and "try again" in r.text for r in answers)
    assert took < 6, took  # six one-second waits on four threads
    photos = requests.post(url + UPDATE, json=bodies[0], timeout=30).json()
    assert photos["response"]["my-photos"]["data"][0]["kind"] == "upload"
