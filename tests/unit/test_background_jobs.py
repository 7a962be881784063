"""Where background jobs run (dash_app/web/background.py) and a team's dashboard's command line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from dash import CeleryManager, DiskcacheManager

from dash_app import create_app
from dash_app.app import close_app
from dash_app.web.background import RedisFlags, open_background, redis_url, shared_token
from dash_app.web.workers import gunicorn_options
from store import Store
from stylescout.errors import ConfigError
from stylescout.loader import load_config
from tests.conftest import make_config


def test_one_machine_keeps_the_disk_cache_and_a_token_of_its_own(data_dir: Path) -> None:
    config = make_config(data_dir)
    with Store(data_dir) as store:
        first, second = open_background(config, store), open_background(config, store)
        try:
            assert isinstance(first.manager, DiskcacheManager) and first.celery is None
            assert first.token != second.token
        finally:
            first.flags.close()
            second.flags.close()


def test_with_redis_jobs_go_through_celery_and_every_worker_agrees_on_the_token(
    data_dir: Path, redis_url: str
) -> None:
    config = make_config(data_dir, dashboard={"redis_url": redis_url})
    apps = [create_app(config), create_app(config)]
    try:
        contexts = [app.server.extensions["stylescout"] for app in apps]
        assert all(isinstance(app._background_manager, CeleryManager) for app in apps)
        with Store(data_dir) as store:
            assert contexts[0].token == contexts[1].token == shared_token(store)
        # a flag set through one app is seen through the other (they share only Redis)
        contexts[0].jobs.set("cancel:" + "a" * 32, True, expire=60)
        assert contexts[1].jobs.get("cancel:" + "a" * 32) is True
        contexts[1].jobs.delete("cancel:" + "a" * 32)
        assert contexts[0].jobs.get("cancel:" + "a" * 32) is None
    finally:
        for app in apps:
            close_app(app)


def test_flags_expire_and_keep_to_their_prefix(redis_url: str) -> None:
    import redis

    flags = RedisFlags(redis_url)
    try:
        flags.set("owner:x", "acct_1", expire=30)
        raw = redis.Redis.from_url(redis_url)
        assert raw.ttl("stylescout:flag:owner:x") <= 30 and raw.get("owner:x") is None
        assert flags.get("owner:x") == "acct_1" and flags.get("nothing", 5) == 5
        raw.close()
    finally:
        flags.close()


def test_a_refused_start_leaves_the_running_team_job_cancellable(
    data_dir: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on one machine (test_dashboard_callbacks.py): a start refused while a scrape runs
    touches none of the running job's keys in Redis."""
    from tests.unit.test_dashboard_callbacks import (
        check_a_refused_start_keeps_the_running_jobs_keys,
    )

    app = create_app(make_config(data_dir, dashboard={"redis_url": redis_url}))
    try:
        assert isinstance(app.server.extensions["stylescout"].jobs, RedisFlags)
        check_a_refused_start_keeps_the_running_jobs_keys(app, monkeypatch)
    finally:
        close_app(app)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("redis://user:s3cretpw@127.0.0.1:1/0?password=qsecret", "password"),
        ("redis://127.0.0.1:1/0?password=qsecret", "password"),
        ("redis://:s3cretpw@127.0.0.1:99999/0", "port"),
        ("redis://:s3cretpw@127.0.0.1:port/0", "port"),
        ("redis://:s3cretpw@[::1/0", "address"),
        ("redis://:s3cretpw@127.0.0.1:6379/0?socket_timeout=soon", "socket_timeout"),
        ("rediss://:s3cretpw@127.0.0.1:6379/0?ssl_cert_reqs=qsecret", "ssl_cert_reqs"),
    ],
)
def test_redis_urls_that_cannot_be_read_are_one_line_without_the_password(
    data_dir: Path, url: str, why: str
) -> None:
    config = make_config(data_dir, dashboard={"redis_url": url})
    with pytest.raises(ConfigError) as raised:
        redis_url(config)
    message = str(raised.value)
    assert message.startswith("dashboard.redis_url") and why in message, message
    assert "\n" not in message and "s3cretpw" not in message and "qsecret" not in message
    assert redis_url(make_config(data_dir, dashboard={"redis_url": "redis://:pw@h:6380/2"}))


def test_redis_urls_are_checked_and_the_environment_wins(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(data_dir, dashboard={"redis_url": "http://127.0.0.1:6379"})
    with pytest.raises(ConfigError, match="redis://"):
        redis_url(config)
    monkeypatch.setenv("STYLESCOUT_REDIS_URL", "redis://127.0.0.1:1/0")
    assert redis_url(load_config(data_dir=data_dir)) == "redis://127.0.0.1:1/0"
    monkeypatch.setenv("STYLESCOUT_DASHBOARD__REDIS_URL", "redis://127.0.0.1:2/0")
    monkeypatch.delenv("STYLESCOUT_REDIS_URL")
    assert redis_url(load_config(data_dir=data_dir)) == "redis://127.0.0.1:2/0"


def test_gunicorn_gets_the_dashboards_bounds(data_dir: Path) -> None:
    config = make_config(data_dir, dashboard={"workers": 3, "threads": 4})
    options = gunicorn_options(config, "::1", 8050)
    assert options["bind"] == "[::1]:8050" and options["workers"] == 3
    assert options["preload_app"] is False  # each worker builds its app after the fork
    # each worker reads requests with waitress and the dashboard's own bounds (threads, ...)
    assert options["worker_class"] == "dash_app.web.waitress_worker.WaitressWorker"
    assert "threads" not in options and "worker_connections" not in options


def test_with_redis_away_pages_answer_and_start_and_cancel_say_why(data_dir: Path) -> None:
    from tests.services import free_port

    pytest.importorskip("redis")
    pytest.importorskip("celery")
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(make_config(data_dir, dashboard={"redis_url": closed}))
    from dash_app.pages import scrape  # after an app exists: the page registers with it

    try:
        client = app.server.test_client()
        assert client.get("/scrape").status_code == 200
        with app.server.test_request_context("/scrape"):
            job, message = scrape.new_job("boho", 5, "demo")
            assert job is None and "their Redis is not answering" in str(message)
            note = scrape.request_cancel(1, {"id": "a" * 32})
            assert note.startswith("Could not cancel: background jobs are unavailable")
    finally:
        close_app(app)


def test_queued_jobs_carry_no_session_secret_and_workers_share_the_signing_key(
    data_dir: Path, redis_url: str
) -> None:
    """Dash queues a background callback's context in Redis: the request's cookies and headers
    (the session's secret, the CSRF token) are left out; the key job handles are signed with is
    the store's, the same for every worker, and does not expire with the results."""
    import redis

    from tests.unit.test_sign_in import PASSWORD, sign_in

    with Store(data_dir) as store:
        store.accounts.add("ana", PASSWORD)
        key = store.sessions.shared_secret("dash-background-handles")
    config = make_config(data_dir, dashboard={"redis_url": redis_url, "auth": "password"})
    app = create_app(config)
    from dash_app.pages import scrape  # after an app exists: the page registers with it

    try:
        assert app.server.secret_key == key
        client = app.server.test_client()
        sign_in(client, "ana", PASSWORD)
        session, csrf = (client.get_cookie(n).value for n in ("stylescout_session", "_csrf_token"))
        cookies = f"stylescout_session={session}"
        with app.server.test_request_context("/scrape", headers={"Cookie": cookies}):
            assert app.server.preprocess_request() is None
            job, _ = scrape.new_job("boho", 5, "demo")
        token = app.server.extensions["stylescout"].token
        body = {
            "output": "scrape-result.children",
            "outputs": {"id": "scrape-result", "property": "children"},
            "inputs": [{"id": "scrape-job", "property": "data", "value": job}],
            "changedPropIds": ["scrape-job.data"],
            "state": [{"id": "app-token", "property": "data", "value": token}],
        }
        answer = client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": csrf})
        assert answer.status_code == 200 and "job" in answer.json, answer.data[:300]
        raw = redis.Redis.from_url(redis_url)
        messages = [json.loads(m) for m in raw.lrange("celery", 0, -1)]
        raw.close()
        # the message as queued, and its body decoded (kombu sends it base64-encoded)
        queued = b"".join(json.dumps(m).encode() + base64.b64decode(m["body"]) for m in messages)
        assert queued and b"scrape-job" in queued  # the job is there, its request's secrets not
        assert session.encode() not in queued and csrf.encode() not in queued
    finally:
        close_app(app)


@pytest.mark.parametrize("missing", ["celery", "redis"])
def test_redis_jobs_without_the_extra_name_the_command_that_installs_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    import builtins

    real_import = builtins.__import__

    def without(name: str, *args: object, **kwargs: object) -> object:
        if name == missing or name.startswith(missing + "."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    config = make_config(data_dir, dashboard={"redis_url": "redis://127.0.0.1:6379/0"})
    with Store(data_dir) as store, pytest.raises(ConfigError, match="make setup-scale"):
        open_background(config, store)


def test_workers_without_gunicorn_name_the_command_that_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from dash_app.web import workers

    monkeypatch.setitem(sys.modules, "gunicorn.app.base", None)  # an import of it fails
    with pytest.raises(ConfigError, match="make setup-scale"):
        workers._gunicorn_base()
