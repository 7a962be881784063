"""A plain paged feed of a folder's photos, as a shop or blog serves them (html kind)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from pathlib import Path

from flask import Flask, Response, request

from sandbox.fault_server import good_jpeg


def create_folder_feed_app(
    images: list[Path],
    tag: str = "catalog",
    page_size: int = 24,
    picture: bool = True,
    times: Sequence[dt.datetime] | None = None,
    captions: Sequence[str] | None = None,
) -> Flask:
    """A plain paged feed of a folder's photos (one post each), as a shop or blog would serve
    them: `/tag/<tag>?page=N` with a next link, each photo in `<picture><source srcset>` with a
    small `<img>` fallback (`picture=False`: the `<img>` alone), `/media/<n>` the bytes.

    `times` and `captions` (one per photo, in feed order: newest first) design when each post
    was made and what it says; by default posts are an hour apart and captioned with the file's
    name and the tag. A photo listed twice is a repost of the same bytes."""
    app = Flask(__name__)
    start = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    for given, what in ((times, "times"), (captions, "captions")):
        if given is not None and len(given) != len(images):
            raise ValueError(f"{what}: {len(given)} for {len(images)} photos")

    def post(n: int) -> str:
        full = f"/media/{n}"
        if picture:
            image = (
                f'<picture><source type="image/jpeg" srcset="/media/{n}?small=1 30w, {full} 60w">'
                f'<img class="post-image" src="/media/{n}?small=1" alt="photo {n}"></picture>'
            )
        else:
            image = f'<img class="post-image" src="{full}" alt="photo {n}">'
        when = (times[n] if times is not None else start - dt.timedelta(hours=n)).isoformat()
        caption = escape(captions[n]) if captions is not None else f"{images[n].stem} #{tag}"
        return (
            f'<article class="post"><a class="post-link" href="/p/{n}">{image}</a>'
            f'<time datetime="{when}"></time><p class="caption">{caption}</p>'
            "</article>"
        )

    @app.get("/tag/<name>")
    def page(name: str) -> str:
        number = request.args.get("page", default=1, type=int)
        chunk = range((number - 1) * page_size, min(number * page_size, len(images)))
        if name != tag or not chunk:
            return "<html><body></body></html>"
        more = chunk.stop < len(images)
        link = f'<a rel="next" href="/tag/{tag}?page={number + 1}">next</a>' if more else ""
        return f"<html><body>{''.join(post(n) for n in chunk)}{link}</body></html>"

    @app.get("/media/<int:n>")
    def media(n: int) -> Response:
        if not 0 <= n < len(images):
            return Response("no such photo", status=404)
        if request.args.get("small"):
            return Response(good_jpeg(n), mimetype="image/jpeg")  # the fallback is another image
        return Response(images[n].read_bytes(), mimetype="image/jpeg")

    return app


def folder_feed_source(base_url: str, tag: str = "catalog") -> dict:
    """The config entry of a source reading `create_folder_feed_app`."""
    return {
        "kind": "html",
        "url": f"{base_url}/tag/{{tag}}?page=1",
        "allow_private_network": True,
        "robots": False,
        "selectors": {"post": "article.post", "image": "img.post-image", "link": "a.post-link"},
    }
