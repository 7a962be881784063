"""`create_app()`: the StyleScout dashboard (Dash pages + Bootstrap served from assets/)."""

from __future__ import annotations

import logging
import threading
from html import escape
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc
import diskcache
import flask
from dash import Dash, Input, Output, State, dcc, html
from werkzeug.exceptions import HTTPException

from clustering.engine import Engine
from clustering.index import read_meta
from dash_app.ui.components import header_counts, weights_banner
from dash_app.ui.ids import APP_TOKEN, SIGNED_IN_AS, USER_ID
from dash_app.web.api import register_api_routes
from dash_app.web.auth import SignIn, current_person, mode_for
from dash_app.web.background import open_background, redis_url
from dash_app.web.context import (
    EXTENSION_KEY,
    AppContext,
    get_context,
    register_context,
    unregister_context,
)
from dash_app.web.http_guard import UPDATE_PATH, HttpGuard, served_names, upload_bytes
from dash_app.web.images import register_image_routes
from dash_app.web.rate_limits import install_rate_limits
from dash_app.web.trend_exports import register_trend_export_routes
from store import Store
from stylescout.loader import load_config
from stylescout.settings import Config

log = logging.getLogger(__name__)
# CSS, logo and favicon: the top-level assets/ of a checkout, or dash_app/assets in a wheel.
_HERE = Path(__file__).resolve().parent
ASSETS = next(
    (p for p in (_HERE.parent / "assets", _HERE / "assets") if (p / "stylescout.css").is_file()),
    _HERE.parent / "assets",
)


class _Dashboard(Dash):
    """Dash, with the page's <title> written as text: Dash puts the app's title into the HTML as
    it is, and `dashboard.title` is a setting, not markup (`</title><script>` must not run)."""

    def interpolate_index(self, **kwargs: Any) -> str:
        kwargs["title"] = escape(str(kwargs.get("title", "")))
        return super().interpolate_index(**kwargs)


def _shell() -> html.Div:
    """The frame around every page; rebuilt on each full page load so the counts are fresh."""
    ctx = get_context()
    meta = read_meta(ctx.store.index_dir)
    nav = dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [html.Span(className="ss-brand-mark"), ctx.config.dashboard.title],
                    href="/",
                    className="ss-brand",
                ),
                dbc.Nav(
                    [
                        dbc.NavLink(page["name"], href=page["relative_path"], active="exact")
                        for page in dash.page_registry.values()
                    ],
                    className="me-auto",
                ),
                header_counts(ctx.store.stats(), meta.model_key if meta else None),
                *_signed_in(),
            ],
            fluid=True,
        ),
        className="ss-navbar mb-4",
        expand="md",
        color="light",
        dark=False,
    )
    return html.Div(
        [
            nav,
            dcc.Store(id=USER_ID, storage_type="local"),
            dcc.Store(id=APP_TOKEN, data=ctx.token),
            dbc.Container(
                [weights_banner(meta.weights_note if meta else ""), dash.page_container],
                fluid=True,
                className="pb-5",
            ),
        ]
    )


def _signed_in() -> list:
    """The signed-in name and a way out, when the dashboard asks people to sign in."""
    person = current_person()
    if person is None:
        return []
    return [
        dbc.NavLink(
            [html.Span(person.name, id=SIGNED_IN_AS), " · sign out"],
            href="/logout",
            external_link=True,
            className="ms-3 small",
        )
    ]


# Without sign-in, the person is an anonymous id kept in this browser's local storage; ratings
# are keyed by it.
# getRandomValues works on plain http too (randomUUID needs a secure context).
_USER_ID_JS = """
function (_ts, current) {
    if (current && /^u[0-9a-f]{32}$/.test(current)) { return window.dash_clientside.no_update; }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "u" + Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("");
}
"""


def _service_down(exc: BaseException) -> bool:
    """Whether an error (or what caused it) is a connection to Redis or Celery's broker failing."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ConnectionError) or type(seen).__module__.split(".")[0] in (
            "redis",
            "kombu",
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def register_bad_request_handler(server: flask.Flask) -> None:
    """A callback request Dash cannot take apart (missing keys, ids that are not JSON, values of
    the wrong shape) is the client's fault: a 400 with one line, logged, never a 500."""

    @server.errorhandler(Exception)
    def bad_request(exc: Exception) -> flask.Response | HTTPException:
        if isinstance(exc, HTTPException):
            return exc
        if flask.request.path != UPDATE_PATH:
            raise exc
        if _service_down(exc):  # Redis (a team's background jobs) is away: not the client's fault
            log.warning("a callback failed, a service is not answering: %s", exc)
            return flask.Response(
                "background jobs are unavailable: try again shortly", 503, mimetype="text/plain"
            )
        log.warning("refused a malformed callback request: %s", exc, exc_info=True)
        return flask.Response("malformed callback request", 400, mimetype="text/plain")


def create_app(config: Config | None = None, warm: bool = False) -> Dash:
    """Build the dashboard for a config (default: ./config.yaml). Opens the store.

    Page modules are (re-)imported by Dash for each app, so their callbacks belong to the app
    being built; build apps one at a time. `warm` loads the index and the model in the background.
    """
    config = config or load_config()
    store = Store.from_config(config)
    background = open_background(config, store)
    app = _Dashboard(
        "dash_app",
        use_pages=True,
        pages_folder="pages",
        assets_folder=str(ASSETS),
        title=config.dashboard.title,
        update_title=None,
        serve_locally=True,
        background_callback_manager=background.manager,
        suppress_callback_exceptions=True,
    )
    if background.signing_key:
        app.server.secret_key = background.signing_key  # Dash signs job handles with it
    engine = Engine(config.engine, store)
    cfg = config.dashboard
    ctx = AppContext(
        config=config,
        store=store,
        engine=engine,
        jobs=background.flags,
        token=background.token,
        auth=mode_for(cfg),
        celery=background.celery,
        decode_slots=threading.BoundedSemaphore(cfg.max_concurrent_decodes),
    )
    register_context(ctx)
    app.server.extensions[EXTENSION_KEY] = ctx
    # the upload callback's body holds at most max_photos uploads, base64-encoded (4/3 larger);
    # every other request is held to max_callback_bytes at the door (dash_app/web/http_guard.py)
    upload_cap = upload_bytes(cfg)
    app.server.config["MAX_CONTENT_LENGTH"] = upload_cap
    app.server.wsgi_app = HttpGuard(
        app.server.wsgi_app,
        served_names(cfg.host, cfg.allowed_hosts),
        small_bytes=cfg.max_callback_bytes,
        upload_bytes=upload_cap,
        large_at_once=cfg.max_concurrent_decodes,
    )
    thumbs = diskcache.Cache(str(store.cache_dir / "thumbnails"), size_limit=256 * 2**20)
    register_image_routes(app.server, thumbs)
    register_api_routes(app.server)
    register_trend_export_routes(app.server)
    register_bad_request_handler(app.server)
    if ctx.auth != "none":  # a shared dashboard: the gate, then the limits keyed by its person
        SignIn(app.server, store, cfg, ctx.auth)
        install_rate_limits(app.server, cfg, redis_url(config))
    app.clientside_callback(
        _USER_ID_JS,
        Output(USER_ID, "data"),
        Input(USER_ID, "modified_timestamp"),
        State(USER_ID, "data"),
    )
    with app.server.app_context():  # Dash calls the layout once on assignment to validate it
        app.layout = _shell
    # Dash finishes its setup (page callbacks move into the app) on the first request, without a
    # lock: do it now, so a burst of first requests cannot find a callback missing.
    app.server.test_client().get("/_dash-dependencies")
    if warm:
        engine.warm()
    return app


def close_app(app: Dash) -> None:
    """Release what `create_app` opened: the app's context (no longer found by its token), its
    store connections and its caches."""
    ctx = app.server.extensions.pop(EXTENSION_KEY, None)
    if ctx is None:
        return
    unregister_context(ctx)
    ctx.store.close()
    ctx.jobs.close()
