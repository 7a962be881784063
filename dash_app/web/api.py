"""The dashboard's JSON API: health and index for monitoring, and read-only data a person or a
script can take away (styles, a style's items, recommendations for given items, a tag's style
trends), described by `/api/openapi.json`.

Every route sits behind the same sign-in gate as the pages (only `/api/health` answers without
it, and then says only that the app is up). Query values are checked here (ids, hashes, counts,
lengths) and a bad one is a 400 with one line, never a 500; lists and pages are capped.
"""

from __future__ import annotations

import re
from typing import Any

import flask

from clustering.query import IndexMismatchError, Photo
from dash_app.web.auth import current_person
from dash_app.web.context import get_context
from dash_app.web.inputs import MAX_ID, SHA256_RE
from stylescout.errors import InvalidTagError, StyleScoutError
from stylescout.tags import normalise_tag

MAX_ITEMS = 200  # a page of a style's items
MAX_PHOTOS = 20  # ids and hashes one recommendation may start from
MAX_K = 100
MIN_POSTS = 5  # weeks with fewer posts are left out of the trends, as on the Trends page
_SOURCE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class _Bad(ValueError):
    """A query value that does not fit: a 400 with this line."""


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = flask.request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d{1,19}", raw) or not low <= int(raw) <= high:
        raise _Bad(f"{name} is a whole number from {low} to {high}")
    return int(raw)


def _loaded() -> Any:
    loaded = get_context().engine.loaded()
    if loaded is None:
        flask.abort(flask.make_response(flask.jsonify(error="no style index yet"), 404))
    return loaded


def _style(loaded: Any, number: int) -> dict[str, Any]:
    from dash_app.recommend import style_tags

    store = get_context().store
    index = loaded.index
    reps = index.meta.representatives[number][:4]
    rows = store.images.cards(reps)
    return {
        "number": number + 1,
        "name": index.meta.names[number],
        "size": int(index.sizes[number]),
        "top_tags": [{"tag": t, "images": n} for t, n in style_tags(loaded, store)[number]],
        "representatives": [rows[i]["sha256"] for i in reps if i in rows],
    }


def _item(card: dict[str, Any], distance: float | None = None) -> dict[str, Any]:
    out = {
        "id": card["id"],
        "sha256": card["sha256"],
        "image": f"/image/{card['sha256']}",
        "post_url": card["post_url"],
        "source": card["source"],
        "posted_at": card["posted_at"],
        "author": card["author"],
        "author_url": card["author_url"],
        "licence": card["licence"],
        "tags": card["tags"],
    }
    if distance is not None:
        out["distance"] = round(distance, 4)
    return out


def register_api_routes(server: flask.Flask) -> None:
    """Add the API's routes to the dashboard's server."""

    @server.errorhandler(_Bad)
    def bad(exc: _Bad) -> tuple[flask.Response, int]:
        return flask.jsonify(error=str(exc)), 400

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

    @server.get("/api/styles")
    def styles() -> flask.Response:
        loaded = _loaded()
        meta = loaded.index.meta
        return flask.jsonify(
            index=loaded.folder.name,
            model_key=meta.model_key,
            random_weights=loaded.index.random_weights,
            styles=[_style(loaded, n) for n in range(len(meta.names))],
        )

    @server.get("/api/styles/<int:number>")
    def style(number: int) -> tuple[flask.Response, int]:
        loaded = _loaded()
        names = loaded.index.meta.names
        if not 1 <= number <= len(names):
            return flask.jsonify(error=f"no style {number}: styles are 1 to {len(names)}"), 404
        limit = _int("limit", 50, 1, MAX_ITEMS)
        offset = _int("offset", 0, 0, MAX_ID)
        members = [
            int(i)
            for i, s in zip(loaded.index.ids, loaded.index.labels, strict=True)
            if s == number - 1
        ]
        page = members[offset : offset + limit]
        cards = get_context().store.images.cards(page)
        return flask.jsonify(
            **_style(loaded, number - 1),
            offset=offset,
            items=[_item(cards[i]) for i in page if i in cards],
        ), 200

    @server.get("/api/recommend")
    def recommend() -> tuple[flask.Response, int]:
        loaded = _loaded()
        ctx = get_context()
        ids = flask.request.args.getlist("id")
        hashes = flask.request.args.getlist("sha256")
        if not 1 <= len(ids) + len(hashes) <= MAX_PHOTOS:
            raise _Bad(f"give 1 to {MAX_PHOTOS} catalogue items as id=N or sha256=HEX")
        photos = []
        for raw in ids:
            if not re.fullmatch(r"\d{1,19}", raw) or not 1 <= int(raw) <= MAX_ID:
                raise _Bad("id is an image id, a whole number from 1")
            photos.append(Photo.item(int(raw)))
        for raw in hashes:
            if not SHA256_RE.match(raw):
                raise _Bad("sha256 is 64 lower-case hex digits")
            found = ctx.store.images.image_id_by_sha(raw)
            if found is None:
                raise _Bad(f"no stored image has sha256 {raw}")
            photos.append(Photo.item(found))
        k = _int("k", ctx.config.recommender.k, 1, MAX_K)
        person = current_person()
        ratings = ctx.store.ratings.latest_ratings(person.user_id) if person else {}
        try:  # read-only: no interleaved impression is recorded for the API
            served = ctx.engine.answer(photos, ratings, None, k=k)
        except IndexMismatchError as exc:
            return flask.jsonify(error=str(exc)), 409
        except StyleScoutError as exc:  # e.g. the index was swapped away mid-request
            return flask.jsonify(error=str(exc)), 503
        result = served.answer
        if result.match is None:
            return flask.jsonify(error="none of these items is in the style index"), 404
        cards = ctx.store.images.cards([n.image_id for n in served.neighbours] + result.popular)
        return flask.jsonify(
            style=None if result.fallback else _style(loaded, result.match.style),
            score=round(result.match.score, 4),
            fallback=result.fallback,
            items=[
                _item(cards[n.image_id], n.distance)
                for n in served.neighbours
                if n.image_id in cards
            ],
            popular=[_item(cards[i]) for i in result.popular if i in cards],
            model_key=loaded.index.meta.model_key,
        ), 200

    @server.get("/api/trends")
    def trends() -> tuple[flask.Response, int]:
        from clustering.trends.shares import tag_styles

        loaded = _loaded()
        raw_tag = flask.request.args.get("tag")
        raw_source = flask.request.args.get("source")
        try:
            tag = normalise_tag(raw_tag) if raw_tag else None
        except InvalidTagError as exc:
            raise _Bad(str(exc)) from None
        if raw_source is not None and not _SOURCE.match(raw_source):
            raise _Bad("source is a source's name: letters, digits, '.', '_' and '-'")
        found = tag_styles(get_context().store, loaded.index, tag, raw_source, MIN_POSTS)
        weekly = found.weekly
        weeks = [] if weekly is None else [w.isoformat() for w in weekly.weeks]
        names = loaded.index.meta.names
        return flask.jsonify(
            tag=tag,
            source=raw_source,
            weeks=weeks,
            sources=sorted(found.by_source),
            styles=[
                {
                    "number": n + 1,
                    "name": name,
                    "posts": [] if weekly is None else [int(c) for c in weekly.counts[:, n]],
                }
                for n, name in enumerate(names)
            ],
            trends=[
                {
                    "style": t.name,
                    "direction": t.direction,
                    "weekly_change": round(t.weekly_change, 4),
                    "interval": [round(v, 4) for v in t.interval],
                    "posts": int(t.counts.sum()),
                }
                for t in found.trends
            ],
            min_posts_a_week=MIN_POSTS,
        ), 200

    @server.get("/api/openapi.json")
    def openapi() -> flask.Response:
        return flask.jsonify(OPENAPI)


def _get(summary: str, params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    responses = {
        "200": {"description": "JSON"},
        "400": {"description": "a query value that does not fit: {error}"},
        "404": {"description": "no style index yet, or no such style: {error}"},
    }
    return {"get": {"summary": summary, "parameters": params or [], "responses": responses}}


def _param(name: str, kind: str, about: str, many: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind}
    if many:
        schema = {"type": "array", "items": schema}
    return {"name": name, "in": "query", "schema": schema, "description": about}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "StyleScout dashboard API",
        "version": "1",
        "description": "Read-only. Behind the dashboard's sign-in wherever it asks for one.",
    },
    "paths": {
        "/api/health": _get("is the app up (and, signed in, how much it holds)"),
        "/api/index": _get("the style index served: folder, model key, styles, items"),
        "/api/styles": _get("every style: number, name, size, top tags, representatives"),
        "/api/styles/{number}": _get(
            "one style and a page of its items",
            [
                {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}},
                _param("limit", "integer", f"items on the page (1-{MAX_ITEMS}, default 50)"),
                _param("offset", "integer", "items skipped (default 0)"),
            ],
        ),
        "/api/recommend": _get(
            "the best-matching style and the nearest items for catalogue items",
            [
                _param("id", "integer", "an image id (repeatable)", many=True),
                _param("sha256", "string", "a stored image's sha256 (repeatable)", many=True),
                _param("k", "integer", f"how many items (1-{MAX_K})"),
            ],
        ),
        "/api/trends": _get(
            "each style's posts per week for a tag and a source, and which rise or fall",
            [
                _param("tag", "string", "a tag (default: every post)"),
                _param("source", "string", "a source (default: all)"),
            ],
        ),
        "/api/openapi.json": _get("this description"),
    },
}
