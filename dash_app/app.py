"""`create_app()`: the StyleScout dashboard (Dash pages + Bootstrap served from assets/)."""

from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import diskcache
from dash import Dash, dcc, html

from clustering.index import read_meta
from dash_app.components import header_counts, weights_banner
from dash_app.context import EXTENSION_KEY, AppContext, get_context
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
            dbc.Container(
                [weights_banner(meta.weights_note if meta else ""), dash.page_container],
                fluid=True,
                className="pb-5",
            ),
        ]
    )


def create_app(config: Config | None = None) -> Dash:
    """Build the dashboard for a config (default: ./config.yaml). Opens the store.

    Page modules are (re-)imported by Dash for each app, so their callbacks belong to the app
    being built; build apps one at a time.
    """
    config = config or load_config()
    store = Store.from_config(config)
    app = Dash(
        "dash_app",
        use_pages=True,
        pages_folder="pages",
        assets_folder=str(ASSETS),
        title=config.dashboard.title,
        update_title=None,
        serve_locally=True,
    )
    app.server.extensions[EXTENSION_KEY] = AppContext(config=config, store=store)
    thumbs = diskcache.Cache(str(store.cache_dir / "thumbnails"), size_limit=256 * 2**20)
    register_image_routes(app.server, thumbs)
    with app.server.app_context():  # Dash calls the layout once on assignment to validate it
        app.layout = _shell
    return app
