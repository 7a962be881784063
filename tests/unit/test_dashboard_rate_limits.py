"""Rate limits on a shared dashboard (dash_app/web/rate_limits.py): sign-in attempts per
address, callbacks, images and the API per person, a 429 with Retry-After over a limit, counted
together by every worker of a team through Redis, and none on a local dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash import Dash

from dash_app import create_app
from dash_app.app import close_app
from dash_app.web.auth import CSRF_COOKIE, CSRF_HEADER
from store import Store
from tests.conftest import jpeg_bytes, make_config, meta_for
from tests.unit.test_sign_in import PASSWORD, sign_in

LIMITS = {"sign_in": "3/minute", "callbacks": "4/minute", "images": "5/minute", "api": "2/minute"}


def _app(data_dir: Path, **dashboard: object) -> Dash:
    dashboard = {"auth": "password", "rate_limits": LIMITS, **dashboard}
    return create_app(make_config(data_dir, dashboard=dashboard))


@pytest.fixture
def accounts(data_dir: Path) -> str:
    with Store(data_dir) as store:
        store.accounts.add("ana", PASSWORD)
        store.accounts.add("bob", PASSWORD)
        image = store.images.add_image_bytes(jpeg_bytes(1), meta_for(1), ["boho"])
        return store.images.image(image.image_id)["sha256"]


def _over(answer: object) -> bool:
    retry = answer.headers.get("Retry-After")  # type: ignore[attr-defined]
    return answer.status_code == 429 and retry is not None and int(retry) > 0  # type: ignore[attr-defined]


def test_sign_in_attempts_are_limited_per_address(data_dir: Path, accounts: str) -> None:
    app = _app(data_dir)
    try:
        client = app.server.test_client()
        answers = [sign_in(client, f"nobody{n}", "guess") for n in range(4)]  # a name each
        assert [a.status_code for a in answers[:3]] == [401, 401, 401]
        assert _over(answers[3]) and b"per 1 minute" in answers[3].data
        # the right password from that address waits too; another address does not
        assert _over(sign_in(client, "ana", PASSWORD))
        elsewhere = app.server.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "10.1.2.3"
        assert sign_in(elsewhere, "ana", PASSWORD).status_code == 303
    finally:
        close_app(app)


def test_images_and_the_api_are_limited_per_person(data_dir: Path, accounts: str) -> None:
    app = _app(data_dir)
    try:
        ana, bob = app.server.test_client(), app.server.test_client()
        for client, name in ((ana, "ana"), (bob, "bob")):
            client.environ_base["REMOTE_ADDR"] = "10.0.0." + str(len(name) + ord(name[0]))
            assert sign_in(client, name, PASSWORD).status_code == 303
        thumbs = [ana.get(f"/thumb/160/{accounts}").status_code for _ in range(6)]
        assert thumbs[:5] == [200] * 5 and thumbs[5] == 429
        assert _over(ana.get(f"/image/{accounts}"))
        assert bob.get(f"/thumb/160/{accounts}").status_code == 200  # another person's own count
        api = [ana.get("/api/health") for _ in range(3)]
        assert [a.status_code for a in api[:2]] == [200, 200] and _over(api[2])
    finally:
        close_app(app)


def test_callbacks_are_limited_per_person(data_dir: Path, accounts: str) -> None:
    app = _app(data_dir)
    try:
        client = app.server.test_client()
        assert sign_in(client, "ana", PASSWORD).status_code == 303
        csrf = {CSRF_HEADER: client.get_cookie(CSRF_COOKIE).value}
        codes = [
            client.post("/_dash-update-component", json={}, headers=csrf).status_code
            for _ in range(5)
        ]
        # past the gate, Dash refuses the junk; then the limit
        assert codes == [400, 400, 400, 400, 429]
    finally:
        close_app(app)


def test_a_local_dashboard_has_no_limits(data_dir: Path, accounts: str) -> None:
    app = create_app(make_config(data_dir, dashboard={"rate_limits": LIMITS}))  # 127.0.0.1
    try:
        client = app.server.test_client()
        assert all(client.get(f"/thumb/160/{accounts}").status_code == 200 for _ in range(8))
    finally:
        close_app(app)


def test_a_teams_workers_count_together_in_redis(
    data_dir: Path, accounts: str, redis_url: str
) -> None:
    """Two apps (two workers) sharing the team's Redis: four API requests, two on each, pass a
    limit of two per minute once."""
    first, second = (_app(data_dir, redis_url=redis_url) for _ in range(2))
    try:
        clients = [first.server.test_client(), second.server.test_client()]
        for client in clients:
            client.environ_base["REMOTE_ADDR"] = "10.9.9.9"
            assert sign_in(client, "ana", PASSWORD).status_code == 303
        codes = [clients[n % 2].get("/api/health").status_code for n in range(4)]
        assert codes == [200, 200, 429, 429]
    finally:
        close_app(first)
        close_app(second)
