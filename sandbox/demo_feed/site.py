"""The demo feed web site: a small Instagram-like tag feed served by Flask.

`/tag/<tag>` renders posts with JavaScript and loads more as you scroll (browser scraping);
`/tag/<tag>?page=N` is plain HTML for clients without JavaScript (html scraping).
"""

from __future__ import annotations

import time

from flask import Flask, Response, abort, jsonify, render_template, request, url_for

from sandbox.demo_feed.catalog import THUMB_WIDTH, Post, shared_renderer
from stylescout.errors import InvalidTagError
from stylescout.settings import DemoFeedConfig
from stylescout.tags import normalise_tag

ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
# the feed's pictures are drawn by the demo itself: it dedicates them to the public domain
LICENCE_URL = "https://creativecommons.org/publicdomain/zero/1.0/"


def _post_json(post: Post, width: int) -> dict:
    """What a page shows of a post (shared by the HTML pages and the JSON API)."""
    full = url_for("media", post_id=post.id)
    thumb = url_for("media", post_id=post.id, w=THUMB_WIDTH)
    return {
        "id": post.id,
        "url": url_for("post_page", post_id=post.id),
        "image": full,
        "thumb": thumb,
        "srcset": f"{thumb} {THUMB_WIDTH}w, {full} {width}w",
        "caption": post.caption,
        "tags": list(post.tags),
        "user": post.user,
        "posted_at": post.posted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "posted_label": post.posted_at.strftime("%b %-d"),
        "likes": post.likes,
        "licence_url": LICENCE_URL,
    }


def create_feed_app(config: DemoFeedConfig | None = None, image_latency_ms: float = 0.0) -> Flask:
    """Build the feed site; `image_latency_ms` delays each image response (for benchmarks)."""
    config = config or DemoFeedConfig()
    catalog, renderer = shared_renderer(config)
    app = Flask(__name__)
    app.extensions["stylescout_feed"] = (catalog, renderer)

    def tag_or_404(raw: str) -> str:
        try:
            tag = normalise_tag(raw)
        except InvalidTagError:
            abort(404)
        if tag not in catalog.by_tag:
            abort(404)
        return tag

    @app.get("/")
    def index() -> str:
        return render_template("index.html", tags=catalog.tag_counts(), total=len(catalog.posts))

    @app.get("/tag/<tag>")
    def tag_page(tag: str) -> str:
        tag = tag_or_404(tag)
        page = request.args.get("page", type=int)
        if page is None:  # the JavaScript feed
            return render_template("tag.html", tag=tag, count=len(catalog.by_tag[tag]))
        posts, next_page = catalog.page(tag, page)
        if not posts:
            abort(404)
        return render_template(
            "page.html",
            tag=tag,
            page=page,
            pages=catalog.pages(tag),
            next_page=next_page,
            posts=[_post_json(p, config.image_width) for p in posts],
        )

    @app.get("/api/tag/<tag>")
    def tag_api(tag: str) -> Response:
        tag = tag_or_404(tag)
        page = request.args.get("page", default=1, type=int)
        posts, next_page = catalog.page(tag, page)
        return jsonify(
            tag=tag,
            page=page,
            next_page=next_page,
            posts=[_post_json(p, config.image_width) for p in posts],
        )

    @app.get("/p/<post_id>")
    def post_page(post_id: str) -> str:
        post = catalog.by_id.get(post_id) or abort(404)
        return render_template("post.html", post=_post_json(post, config.image_width))

    @app.get("/media/<post_id>.jpg")
    def media(post_id: str) -> Response:
        if post_id not in catalog.by_id:
            abort(404)
        width = request.args.get("w", type=int)
        if width is not None and width != THUMB_WIDTH:
            abort(404)
        if image_latency_ms:
            time.sleep(image_latency_ms / 1000)
        body = renderer.jpeg(post_id, width)
        return Response(
            body, mimetype="image/jpeg", headers={"Cache-Control": "public, max-age=86400"}
        )

    @app.get("/robots.txt")
    def robots() -> Response:
        return Response(ROBOTS_TXT, mimetype="text/plain")

    return app
