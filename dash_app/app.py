"""`create_app()`: the StyleScout dashboard (Dash pages + Bootstrap served from assets/)."""

from __future__ import annotations

import uuid
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import diskcache
from dash import Dash, DiskcacheManager, Input, Output, State, dcc, html

from clustering.index import read_meta
from dash_app.api import register_api_routes
from dash_app.components import header_counts, weights_banner
from dash_app.context import EXTENSION_KEY, AppContext, get_context, register_context
from dash_app.engine import Engine
from dash_app.images import register_image_routes
from store import Config, Store, load_config

ASSETS = Path(__file__).resolve().parents[1] / "assets"


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
            dcc.Store(id="user-id", storage_type="local"),
            dcc.Store(id="app-token", data=ctx.token),
            dbc.Container(
                [weights_banner(meta.weights_note if meta else ""), dash.page_container],
                fluid=True,
                className="pb-5",
            ),
        ]
    )


# The person is an anonymous id kept in this browser's local storage; ratings are keyed by it.
# getRandomValues works on plain http too (randomUUID needs a secure context).
_USER_ID_JS = """
function (_ts, current) {
    if (current && /^u[0-9a-f]{32}$/.test(current)) { return window.dash_clientside.no_update; }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "u" + Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("");
}
"""


def create_app(config: Config | None = None, warm: bool = False) -> Dash:
    """Build the dashboard for a config (default: ./config.yaml). Opens the store.

    Page modules are (re-)imported by Dash for each app, so their callbacks belong to the app
    being built; build apps one at a time. `warm` loads the index and the model in the background.
    """
    config = config or load_config()
    store = Store.from_config(config)
    jobs = diskcache.Cache(str(store.cache_dir / "jobs"))
    app = Dash(
        "dash_app",
        use_pages=True,
        pages_folder="pages",
        assets_folder=str(ASSETS),
        title=config.dashboard.title,
        update_title=None,
        serve_locally=True,
        background_callback_manager=DiskcacheManager(jobs, expire=3600),
        suppress_callback_exceptions=True,
    )
    engine = Engine(config, store)
    ctx = AppContext(config=config, store=store, engine=engine, jobs=jobs, token=uuid.uuid4().hex)
    register_context(ctx)
    app.server.extensions[EXTENSION_KEY] = ctx
    # a request body holds at most max_photos uploads, base64-encoded (4/3 larger)
    app.server.config["MAX_CONTENT_LENGTH"] = (
        config.dashboard.max_upload_bytes * config.dashboard.max_photos * 4 // 3 + 2**20
    )
    thumbs = diskcache.Cache(str(store.cache_dir / "thumbnails"), size_limit=256 * 2**20)
    register_image_routes(app.server, thumbs)
    register_api_routes(app.server)
    app.clientside_callback(
        _USER_ID_JS,
        Output("user-id", "data"),
        Input("user-id", "modified_timestamp"),
        State("user-id", "data"),
    )
    with app.server.app_context():  # Dash calls the layout once on assignment to validate it
        app.layout = _shell
    # Dash finishes its setup (page callbacks move into the app) on the first request, without a
    # lock: do it now, so a burst of first requests cannot find a callback missing.
    app.server.test_client().get("/_dash-dependencies")
    if warm:
        engine.warm()
    return app
