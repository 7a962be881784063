"""Small JSON routes for health checks and monitoring: is the app up, which index it serves."""

from __future__ import annotations

import flask

from dash_app.web.auth import current_person
from dash_app.web.context import get_context


def register_api_routes(server: flask.Flask) -> None:
    """Add /api/health and /api/index to the dashboard's server."""

    @server.get("/api/health")
    def health() -> flask.Response:
        ctx = get_context()
        if ctx.auth != "none" and current_person() is None:  # a load balancer's check
            return flask.jsonify(ok=True)
        stats = ctx.store.stats(top=0)
        return flask.jsonify(ok=True, images=stats.images, ratings=stats.ratings)

    @server.get("/api/index")
    def index() -> tuple[flask.Response, int]:
        loaded = get_context().engine.loaded()
        if loaded is None:
            return flask.jsonify(index=None), 404
        meta = loaded.index.meta
        return flask.jsonify(
            index=loaded.folder.name,
            built_at=meta.built_at,
            model_key=meta.model_key,
            styles=len(meta.names),
            items=len(loaded.index.ids),
        ), 200
