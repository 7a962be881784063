"""Tumblr's tagged posts API (`/v2/tagged`)."""

from __future__ import annotations

import html
import math
from typing import Any

from flask import Flask, Request, Response, request

from sandbox.replicas.common import (
    HOST,
    Asset,
    Builder,
    Draft,
    Entry,
    ReplicaOptions,
    Service,
    accepts,
    digest_of,
    entries_by_tag,
    install,
    json_answer,
    scaled,
    seed_of,
    shape,
)

# ---------------------------------------------------------------------------------------------
# Tumblr

_TUMBLR_SIZES = (640, 500, 400, 250, 100)


class _TumblrBuilder(Builder):
    """Legacy-format Tumblr posts: photo posts with photo sizes, and some text posts."""

    service = "tumblr"

    def __call__(self, d: Draft) -> Entry:
        blog = d.user.replace("_", "")
        post_id = 790_000_000_000_000_000 + int(d.created_at.timestamp()) * 1000 + d.index % 1000
        slug = "-".join(d.caption.lower().replace("&", "and").split()[:6])
        kind = "text" if d.index % 5 == 3 else "photo"
        post: dict[str, Any] = {
            "type": kind,
            "blog_name": blog,
            "blog": {"name": blog, "title": d.display_name, "url": f"{HOST}/blog/{blog}/"},
            "id": post_id,
            "id_string": str(post_id),
            "post_url": f"{HOST}/blog/{blog}/post/{post_id}/{slug}",
            "slug": slug,
            "date": d.created_at.strftime("%Y-%m-%d %H:%M:%S GMT"),
            "timestamp": int(d.created_at.timestamp()),
            "state": "published",
            "format": "html",
            "reblog_key": digest_of("reblog", d.tag, d.index, n=8),
            "tags": list(d.tags),
            "short_url": f"{HOST}/t/{digest_of('short', post_id, n=8)}",
            "summary": d.caption,
            "should_open_in_legacy": True,
            "note_count": d.likes + d.reposts,
        }
        images: tuple[str, ...] = ()
        if kind == "photo":
            photos, images = self.photos(d)
            post |= {
                "caption": f"<p>{html.escape(d.text, quote=False).replace(chr(10), '<br/>')}</p>",
                "image_permalink": f"{HOST}/blog/{blog}/image/{post_id}",
                "photos": photos,
            }
        else:
            post |= {
                "title": d.caption,
                "body": f"<p>{html.escape(d.second_line or d.caption)}</p>",
            }
        summary = self.post(
            d, key=str(post_id), url=f"/blog/{blog}/post/{post_id}/{slug}", kind=kind, images=images
        )
        return Entry(summary, post)

    def photos(self, d: Draft) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        out, originals = [], []
        for k in range(self.opts.images_per_post.get(d.index, 1)):
            size = shape(d.rng, 640)
            seed = seed_of("tumblr", d.tag, d.index, k)
            base = f"/media/{digest_of('t', d.tag, d.index, k, n=32)}/{digest_of('u', d.index, k)}"
            sizes = []
            for side in _TUMBLR_SIZES:
                w, h = scaled(size, side)
                path = f"{base}/s{w}x{h}/{digest_of('f', d.tag, d.index, k, n=40)}.jpg"
                self.assets[path] = Asset("jpeg", d.index, seed, w, h)
                sizes.append({"url": HOST + path, "width": w, "height": h})
            out.append({"caption": "", "exif": {}, "original_size": sizes[0], "alt_sizes": sizes})
            originals.append(sizes[0]["url"].removeprefix(HOST))
        return out, tuple(originals)


def create_tumblr_app(opts: ReplicaOptions | None = None) -> Flask:
    """Tumblr's `GET /v2/tagged?tag=..&api_key=..&before=<unix ts>&limit=1..20`.

    Answers {"meta": {"status": 200, "msg": "OK"}, "response": [posts]} in the legacy post
    format (photo posts with `photos[].original_size` and `alt_sizes`, some text posts), newest
    first, strictly before `before`; a client pages with `before` = the last post's timestamp.
    A missing or wrong key is 401 {"meta": {"status": 401, "msg": "Unauthorized"}, "response":
    [], "errors": [...]}; a 429 says the hourly limit is spent (X-Ratelimit-Perhour-Remaining 0,
    X-Ratelimit-Perhour-Reset in seconds), as gallery-dl reads it.
    """
    opts = opts or ReplicaOptions()
    app = Flask(__name__)
    assets: dict[str, Asset] = {}
    entries = entries_by_tag(opts, _TumblrBuilder(opts, assets))

    def credential(req: Request) -> tuple[bool, bool]:
        key = req.args.get("api_key")
        return bool(key), accepts(key, opts.token)

    def authorize(req: Request, present: bool, correct: bool) -> Response | None:
        if correct:
            return None
        error = {"title": "Unauthorized", "code": 0, "detail": "Got an error. Try again."}
        body = {"meta": {"status": 401, "msg": "Unauthorized"}, "response": [], "errors": [error]}
        return json_answer(body, 401)

    def rate_limited(wait_s: float) -> Response:
        headers = {
            "X-Ratelimit-Perday-Limit": "5000",
            "X-Ratelimit-Perday-Remaining": "4000",
            "X-Ratelimit-Perday-Reset": "43200",
            "X-Ratelimit-Perhour-Limit": "1000",
            "X-Ratelimit-Perhour-Remaining": "0",
            "X-Ratelimit-Perhour-Reset": str(math.ceil(wait_s)),
        }
        body = {"meta": {"status": 429, "msg": "Limit Exceeded"}, "response": []}
        return json_answer(body, 429, headers)

    state = install(
        app,
        opts,
        Service(
            is_api=lambda req: req.path == "/v2/tagged",
            credential=credential,
            rate_limited=rate_limited,
            authorize=authorize,
        ),
        assets,
        entries,
    )

    @app.get("/v2/tagged")
    def tagged() -> Response:
        tag = request.args.get("tag", "").lower()
        items = entries.get(tag, [])
        try:
            limit = min(max(int(request.args.get("limit", 20)), 1), 20)
            before = int(request.args.get("before", 0)) or None
        except ValueError:
            limit, before = 20, None
        start = 0
        if before is not None:
            start = next(
                (i for i, e in enumerate(items) if e.data["timestamp"] < before), len(items)
            )
        page = state.page(tag, items, start, start + limit)
        return json_answer(
            {"meta": {"status": 200, "msg": "OK"}, "response": [e.data for e in page]}
        )

    return app
