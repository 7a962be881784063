"""Sign-in on a shared dashboard (dash_app/web/auth.py) through Flask's test client: what refuses
without a session, the sign-in and sign-out forms with their CSRF tokens, the backoff, the
trusted-header mode, and that one account cannot rate as, cancel or read another."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import flask
import pytest
from dash import Dash

from clustering.index import save_index
from dash_app import create_app
from dash_app.app import close_app
from dash_app.web import inputs
from dash_app.web.auth import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    Person,
    current_person,
    mode_for,
)
from dash_app.web.context import get_context
from store import Store
from stylescout.settings import DashboardConfig
from tests.conftest import jpeg_bytes, make_config, meta_for
from tests.unit.test_dashboard_callbacks import _index

PASSWORD = "correct horse battery"
BROWSER_ID = "u" + "cd" * 16


def _app(data_dir: Path, **dashboard: object) -> Dash:
    """A dashboard asking for passwords; its rate limits are tested on their own
    (test_dashboard_rate_limits.py), and would otherwise end these tests' many sign-ins."""
    limits = {"enabled": False}
    return create_app(
        make_config(data_dir, dashboard={"auth": "password", "rate_limits": limits, **dashboard})
    )


@pytest.fixture
def shared(data_dir: Path) -> Iterator[tuple[Dash, list[str]]]:
    """A dashboard asking for passwords, with two accounts, 30 images and a style index."""
    with Store(data_dir) as store:
        ids = [
            store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["boho"]).image_id
            for seed in range(30)
        ]
        shas = [store.images.image(i)["sha256"] for i in ids]
        save_index(_index(ids), store.index_dir)
        store.accounts.add("ana", PASSWORD)
        store.accounts.add("bob", PASSWORD + "!")
    app = _app(data_dir)
    yield app, shas
    close_app(app)


def _form_token(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found, page
    return found.group(1)


def sign_in(client: flask.testing.FlaskClient, name: str, password: str, **form: str) -> object:
    token = _form_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"name": name, "password": password, "csrf": token, **form})


def test_sign_in_is_asked_for_beyond_this_machine_or_with_workers() -> None:
    assert mode_for(DashboardConfig()) == "none"
    assert mode_for(DashboardConfig(host="localhost")) == "none"
    assert mode_for(DashboardConfig(host="0.0.0.0")) == "password"
    assert mode_for(DashboardConfig(host="192.168.1.20")) == "password"
    assert mode_for(DashboardConfig(workers=2)) == "password"
    assert mode_for(DashboardConfig(auth="header")) == "header"


@pytest.mark.parametrize(
    ("host", "mode"),
    [
        ("127.0.0.1", "none"),
        ("127.0.0.2", "none"),
        ("::1", "none"),
        ("localhost", "none"),
        ("127.example.com", "password"),  # a name, whatever address it resolves to
        ("127.0.0.1.nip.io", "password"),
        ("localhost.example.com", "password"),
        ("127.1", "password"),  # not a literal address ipaddress reads
        ("0.0.0.0", "password"),
        ("::", "password"),
    ],
)
def test_only_a_loopback_address_or_localhost_goes_without_sign_in(host: str, mode: str) -> None:
    assert mode_for(DashboardConfig(host=host)) == mode


def test_pages_callbacks_images_and_the_api_refuse_without_a_session(shared) -> None:
    app, shas = shared
    client = app.server.test_client()
    for page in ("/", "/styles", "/scrape", "/feedback"):
        answer = client.get(page)
        assert answer.status_code == 303
        assert answer.headers["Location"].startswith("/login?next=")
    for path in (
        "/_dash-layout",
        "/_dash-dependencies",
        f"/image/{shas[0]}",
        f"/thumb/160/{shas[0]}",
        "/api/index",
        "/api/styles",
        "/api/styles/1",
        "/api/recommend?id=1",
        "/api/trends",
        "/api/openapi.json",
        "/_reload-hash",
        "/_dash-component-suites/dash/dcc/dash_core_components.js",
        "/assets/",  # Dash's catch-all page behind the stylesheets' folder
        "/assets//",
    ):
        for method in (client.get, client.head, client.options):
            answer = method(path)
            assert answer.status_code in (401, 303), (method, path)
            assert shas[0].encode() not in answer.data and b"_dash-config" not in answer.data
    # a load balancer's health check hears only that the dashboard is up
    assert client.get("/api/health").json == {"ok": True}
    answer = client.post("/_dash-update-component", json={"output": "x.children", "inputs": []})
    assert answer.status_code == 401
    # a forged or unknown session cookie is no session
    client.set_cookie(SESSION_COOKIE, "x" * 43)
    assert client.get(f"/image/{shas[0]}").status_code == 401
    # what the sign-in page needs is open
    assert client.get("/assets/bootstrap.min.css").status_code == 200
    assert client.get("/login").status_code == 200


def test_head_login_answers_as_get_does_without_a_body(shared) -> None:
    app, _ = shared
    client = app.server.test_client()
    get, head = client.get("/login"), client.head("/login")
    assert get.status_code == 200 and b"login-form" in get.data
    assert head.status_code == 200 and head.data == b""
    assert head.mimetype == get.mimetype == "text/html"


def test_sign_in_then_everything_answers_and_state_changes_need_the_csrf_token(shared) -> None:
    app, shas = shared
    client = app.server.test_client()
    answer = sign_in(client, "ana", PASSWORD, next="/styles")
    assert answer.status_code == 303 and answer.headers["Location"] == "/styles"
    cookies = answer.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    csrf = client.get_cookie(CSRF_COOKIE).value
    assert re.fullmatch(r"[0-9a-f]{64}", csrf)
    assert client.get("/styles").status_code == 200
    assert b"signed-in-as" in client.get("/_dash-layout").data
    image = client.get(f"/image/{shas[0]}")
    assert image.status_code == 200 and image.headers["Cache-Control"].startswith("private")
    assert client.get("/api/health").json["ok"] is True
    body = {"output": "nothing.children", "outputs": {}, "inputs": [], "changedPropIds": []}
    assert client.post("/_dash-update-component", json=body).status_code == 403
    wrong = {CSRF_HEADER: "0" * 64}
    assert client.post("/_dash-update-component", json=body, headers=wrong).status_code == 403
    right = client.post("/_dash-update-component", json=body, headers={CSRF_HEADER: csrf})
    assert right.status_code == 400  # past the gate: Dash itself refuses the junk
    assert set(client.get("/api/health").json) == {"ok", "images", "ratings"}


def test_the_sign_in_form_refuses_wrong_tokens_passwords_and_then_waits(shared) -> None:
    app, _ = shared
    client = app.server.test_client()
    client.get("/login")
    forged = client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf": "1" * 64})
    assert forged.status_code == 403 and client.get_cookie(SESSION_COOKIE) is None
    assert sign_in(client, "ana", "wrong password!").status_code == 401
    assert sign_in(client, "nobody", PASSWORD).status_code == 401
    assert sign_in(client, "ana", "wrong password!").status_code == 401
    third = sign_in(client, "ana", "wrong password!")
    assert third.status_code == 429 and b"try again in" in third.data
    # locked: even the right password waits
    assert sign_in(client, "ana", PASSWORD).status_code == 429
    assert client.get_cookie(SESSION_COOKIE) is None
    # an address elsewhere is not followed after signing in
    for target in (
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example",
        "/a\r\nSet-Cookie: x=1",
    ):
        other = app.server.test_client()
        answer = sign_in(other, "bob", PASSWORD + "!", next=target)
        assert answer.headers["Location"] == "/", target
    # the page asked for, with its query, is where signing in leads
    other = app.server.test_client()
    asked = other.get("/trends?tag=boho")
    assert asked.headers["Location"] == "/login?next=/trends%3Ftag%3Dboho"
    token = _form_token(other.get(asked.headers["Location"]).get_data(as_text=True))
    answer = other.post(
        "/login",
        data={"name": "bob", "password": PASSWORD + "!", "csrf": token, "next": "/trends?tag=boho"},
    )
    assert answer.headers["Location"] == "/trends?tag=boho"


def test_signing_out_and_removing_an_account_end_its_sessions(shared, data_dir: Path) -> None:
    app, shas = shared
    client = app.server.test_client()
    sign_in(client, "ana", PASSWORD)
    page = client.get("/logout").get_data(as_text=True)
    assert "ana" in page
    assert client.post("/logout", data={"csrf": "2" * 64}).status_code == 403
    old = client.get_cookie(SESSION_COOKIE).value
    out = client.post("/logout", data={"csrf": _form_token(page)})
    assert out.status_code == 303
    assert client.get(f"/image/{shas[0]}").status_code == 401
    replay = app.server.test_client()  # the old cookie, kept by someone: the session is gone
    replay.set_cookie(SESSION_COOKIE, old)
    assert replay.get(f"/image/{shas[0]}").status_code == 401
    sign_in(client, "ana", PASSWORD)
    assert client.get(f"/image/{shas[0]}").status_code == 200
    with Store(data_dir) as store:
        store.accounts.remove("ana")
    assert client.get(f"/image/{shas[0]}").status_code == 401


@contextmanager
def as_person(app: Dash, client: flask.testing.FlaskClient, path: str = "/") -> Iterator[None]:
    """A request context carrying the client's cookies, past the gate."""
    cookies = "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())
    with app.server.test_request_context(path, headers={"Cookie": cookies}):
        assert app.server.preprocess_request() is None
        yield


@pytest.fixture
def people(shared) -> tuple[Dash, flask.testing.FlaskClient, flask.testing.FlaskClient]:
    """The shared dashboard with ana and bob signed in, each in a browser of their own."""
    app, _ = shared
    ana, bob = app.server.test_client(), app.server.test_client()
    sign_in(ana, "ana", PASSWORD)
    sign_in(bob, "bob", PASSWORD + "!")
    return app, ana, bob


def test_ratings_are_keyed_to_the_account_not_to_the_browsers_id(people) -> None:
    from dash_app.pages import discover

    app, ana, bob = people
    ana_id, bob_id = Person("ana", "password").user_id, Person("bob", "password").user_id
    with as_person(app, ana):
        store = get_context().store
        image_id = get_context().engine.loaded().index.ids.tolist()[0]
        assert "saved" in discover.save_rating(image_id, 4, BROWSER_ID).lower()
        assert store.ratings.latest_ratings(ana_id) == {image_id: 4}
        assert store.ratings.latest_ratings(BROWSER_ID) == {}
    with as_person(app, bob):  # bob, even sending ana's id, rates as bob and sees none of hers
        discover.save_rating(image_id, 1, ana_id)
        assert store.ratings.latest_ratings(ana_id) == {image_id: 4}
        assert store.ratings.latest_ratings(bob_id) == {image_id: 1}


def test_one_account_cannot_cancel_anothers_scrape(people) -> None:
    from dash_app.pages import scrape

    app, ana, bob = people
    with as_person(app, ana):
        job, _ = scrape.new_job("boho", 5, "demo")
    with as_person(app, bob):
        assert "No scrape" in scrape.request_cancel(1, job)
        assert get_context().jobs.get(scrape.cancel_key(job["id"])) is None
    with as_person(app, ana):
        assert "Cancelling" in scrape.request_cancel(1, job)


def test_the_trusted_header_is_believed_only_from_the_proxy(data_dir: Path) -> None:
    with Store(data_dir) as store:
        sha = store.images.add_image_bytes(jpeg_bytes(1), meta_for(1), ["boho"]).sha256
    app = create_app(make_config(data_dir, dashboard={"auth": "header"}))
    try:
        client = app.server.test_client()
        header = {"X-Forwarded-User": "Ana@Example.com"}
        assert client.get(f"/image/{sha}").status_code == 401  # no header
        assert client.get(f"/image/{sha}", headers=header).status_code == 200
        assert client.get_cookie(SESSION_COOKIE) is None  # an image starts no session
        assert client.get("/", headers=header).status_code == 200  # a page does
        assert client.get_cookie(CSRF_COOKIE) is not None
        elsewhere = app.server.test_client()
        answer = elsewhere.get(
            f"/image/{sha}", headers=header, environ_base={"REMOTE_ADDR": "10.1.2.3"}
        )
        assert answer.status_code == 401  # not from a trusted proxy
        bad = {"X-Forwarded-User": "ana bob/../x"}
        assert elsewhere.get(f"/image/{sha}", headers=bad).status_code == 401
        # a state change needs the session's token; a first request that changes state is refused
        csrf = client.get_cookie(CSRF_COOKIE).value
        body = {"output": "nothing.children", "outputs": {}, "inputs": [], "changedPropIds": []}
        update = "/_dash-update-component"
        assert client.post(update, json=body, headers=header).status_code == 403
        with_token = {**header, CSRF_HEADER: csrf}
        assert client.post(update, json=body, headers=with_token).status_code == 400  # past it
        fresh = app.server.test_client()
        assert fresh.post(update, json=body, headers=with_token).status_code == 403
        # the proxy names someone else: a new session, the old one ended
        old = client.get_cookie(SESSION_COOKIE).value
        bob = {"X-Forwarded-User": "bob"}
        assert client.get(f"/image/{sha}", headers=bob).status_code == 200
        with Store(data_dir) as store:
            assert store.sessions.get(old) is None
        assert client.get("/", headers=bob).status_code == 200
        assert client.get_cookie(SESSION_COOKIE).value != old
        local = {"REMOTE_ADDR": "127.0.0.1"}
        with app.server.test_request_context("/", headers=header, environ_base=local):
            assert app.server.preprocess_request() is None
            assert current_person() == Person("ana@example.com", "header")
    finally:
        close_app(app)


def test_header_sign_in_makes_a_session_on_a_page_request_only_and_reuses_it(
    data_dir: Path,
) -> None:
    with Store(data_dir) as store:
        sha = store.images.add_image_bytes(jpeg_bytes(1), meta_for(1), ["boho"]).sha256
    app = create_app(make_config(data_dir, dashboard={"auth": "header"}))
    header = {"X-Forwarded-User": "ana"}
    try:
        # a load balancer's health checks, scripts, images, Dash's own requests: no cookies kept
        paths = ("/api/health", f"/image/{sha}", f"/thumb/160/{sha}", "/_dash-layout")
        for i in range(200):
            client = app.server.test_client(use_cookies=False)
            answer = client.get(paths[i % len(paths)], headers=header)
            assert answer.status_code == 200, paths[i % len(paths)]
            assert not any(
                c.startswith(SESSION_COOKIE + "=") for c in answer.headers.getlist("Set-Cookie")
            )
        assert client.head("/", headers=header).status_code == 200
        health = client.get("/api/health", headers=header).json
        assert set(health) == {"ok", "images", "ratings"}  # believed for the request itself
        with Store(data_dir) as store:
            assert store.sessions.count() == 0
        # a browser: its first page makes the session, every request after reuses it
        browser = app.server.test_client()
        for i in range(200):
            path = ("/", "/styles", "/api/health", f"/image/{sha}")[i % 4]
            assert browser.get(path, headers=header).status_code == 200, path
        with Store(data_dir) as store:
            assert store.sessions.count() == 1
        assert browser.get_cookie(SESSION_COOKIE) is not None
    finally:
        close_app(app)


def test_one_accounts_uploaded_photos_are_not_found_through_another(people) -> None:
    from dash_app.pages import discover
    from dash_app.recommend import query_photos

    app, ana, bob = people
    photo = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(99, (96, 120))).decode()
    with as_person(app, ana):
        photos, messages = discover.change_photos("upload", [photo], ["me.jpg"], [])
        assert len(photos) == 1 and photos[0]["kind"] == "upload", messages
        assert query_photos(get_context().engine, inputs.photos(photos, 10))[0].path is not None
    with as_person(app, bob):  # bob, sending ana's photo entry (its hash), finds no such upload
        assert query_photos(get_context().engine, inputs.photos(photos, 10))[0].path is None


def test_cookies_are_secure_when_a_trusted_proxy_says_https(shared) -> None:
    app, _ = shared
    for remote, secure in (("127.0.0.1", True), ("10.9.8.7", False)):
        client = app.server.test_client()
        client.environ_base["REMOTE_ADDR"] = remote
        token = _form_token(client.get("/login").get_data(as_text=True))
        answer = client.post(
            "/login",
            data={"name": "ana", "password": PASSWORD, "csrf": token},
            headers={"X-Forwarded-Proto": "https"},
        )
        cookies = answer.headers.getlist("Set-Cookie")
        session = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
        assert ("Secure" in session) is secure, remote
