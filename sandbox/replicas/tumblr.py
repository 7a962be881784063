"""Tumblr's tagged posts API (`/v2/tagged`)."""

from __future__ import annotations

import dataclasses
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
# the sizes Tumblr's media servers give a photo of a blocks-format post (srcset), widest last
_SRCSET_SIZES = (
    (75, "s75x75_c1"),
    (100, "s100x200"),
    (250, "s250x400"),
    (400, "s400x600"),
    (500, "s500x750"),
    (540, "s540x810"),
    (640, "s640x960"),
    (1280, "s1280x1920"),
)
# what each post of ten is, as a tag's feed mixes them today: posts made in the apps are
# blocks-format (photos in the body, or NPF blocks), the older ones legacy photo posts
_MIX = (
    "photo",
    "blocks",
    "blocks",
    "text",
    "photo",
    "blocks",
    "video",
    "animated",
    "photo",
    "blocks",
)
_BLOCK_PHOTOS = {1: 2, 2: 1, 5: 2, 9: 1}  # photos of a blocks-format post by index % 10


def tumblr_kind(index: int) -> str:
    """photo (legacy photo post), blocks (app post with photos), text, video or animated (a GIF)."""
    return _MIX[index % 10]


class _TumblrBuilder(Builder):
    """Tumblr posts in both formats: legacy (photo posts with photo sizes; app posts as text
    posts with `<figure><img srcset>` in the body; video posts) and NPF (`npf=true`: every post
    as content blocks). `npf` maps a post's id to its NPF form."""

    service = "tumblr"

    def __init__(self, opts: ReplicaOptions, assets: dict[str, Asset]) -> None:
        super().__init__(opts, assets)
        self.npf: dict[str, dict[str, Any]] = {}

    def __call__(self, d: Draft) -> Entry:
        blog = d.user.replace("_", "")
        post_id = 790_000_000_000_000_000 + int(d.created_at.timestamp()) * 1000 + d.index % 1000
        slug = "-".join(d.caption.lower().replace("&", "and").split()[:6])
        kind = tumblr_kind(d.index)
        common: dict[str, Any] = {
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
            "tags": [*d.tags, *_spaced_tags(d)],
            "short_url": f"{HOST}/t/{digest_of('short', post_id, n=8)}",
            "summary": d.caption,
            "note_count": d.likes + d.reposts,
            "is_blocks_post_format": kind not in ("photo", "text"),
        }
        images: tuple[str, ...] = ()
        caption_html = f"<p>{html.escape(d.text, quote=False).replace(chr(10), '<br/>')}</p>"
        text_blocks = [{"type": "text", "text": line} for line in d.text.split("\n")]
        if kind == "photo":
            photos, images, media = self.photos(d)
            legacy = {
                "type": "photo",
                "caption": caption_html,
                "image_permalink": f"{HOST}/blog/{blog}/image/{post_id}",
                "photos": photos,
            }
            content = [_image_block(m) for m in media] + text_blocks
        elif kind == "blocks":
            figures, images, media = self.figures(d)
            legacy = {"type": "text", "title": None, "body": "".join(figures) + caption_html}
            content = [_image_block(m) for m in media] + text_blocks
        elif kind == "animated":
            figure, block = self.gif(d)
            legacy = {"type": "text", "title": None, "body": figure + caption_html}
            content = [block, *text_blocks]
        elif kind == "video":
            legacy, block = self.video(d, caption_html)
            content = [block, *text_blocks]
        else:
            legacy = {
                "type": "text",
                "title": d.caption,
                "body": f"<p>{html.escape(d.second_line or d.caption)}</p>",
            }
            content = text_blocks
        trail: list[dict[str, Any]] = []
        if kind == "blocks" and d.index % 10 == 5:  # a reblog: the photos are its trail's
            root = {"name": f"{blog}-finds", "url": f"{HOST}/blog/{blog}-finds/"}
            trail = [{"post": {"id": str(post_id - 7)}, "blog": root, "content": content}]
            trail[0]["layout"] = []
            content = [{"type": "text", "text": "reblogging this, the layers!"}]
        self.npf[str(post_id)] = {
            **common,
            "type": "blocks",
            "content": content,
            "layout": [],
            "trail": trail,
        }
        summary = self.post(
            d, key=str(post_id), url=f"/blog/{blog}/post/{post_id}/{slug}", kind=kind, images=images
        )
        # a tag of several words counts as the words joined, as a hashtag of it is written
        spaced = tuple("".join(t.split()) for t in _spaced_tags(d))
        summary = dataclasses.replace(summary, tags=(*summary.tags, *spaced))
        return Entry(summary, {**common, **legacy})

    def _photo_count(self, d: Draft, default: int) -> int:
        return self.opts.images_per_post.get(d.index, default)

    def photos(
        self, d: Draft
    ) -> tuple[list[dict[str, Any]], tuple[str, ...], list[list[dict[str, Any]]]]:
        """A legacy photo post's `photos`, the full-size paths, and each photo's NPF media."""
        out, originals, media = [], [], []
        for k in range(self._photo_count(d, 1)):
            size = shape(d.rng, 640)
            seed = seed_of("tumblr", d.tag, d.index, k)
            base = f"/media/{digest_of('t', d.tag, d.index, k, n=32)}/{digest_of('u', d.index, k)}"
            sizes = []
            for side in _TUMBLR_SIZES:
                w, h = scaled(size, side)
                path = f"{base}/s{w}x{h}/{digest_of('f', d.tag, d.index, k, n=40)}.jpg"
                self.assets[path] = Asset("jpeg", d.index, seed, w, h)
                sizes.append({"url": HOST + path, "width": w, "height": h})
            out.append({"caption": "", "original_size": sizes[0], "alt_sizes": sizes})
            originals.append(sizes[0]["url"].removeprefix(HOST))
            media.append([{"type": "image/jpeg", **s} for s in sizes])
            media[-1][0]["has_original_dimensions"] = True
        return out, tuple(originals), media

    def figures(self, d: Draft) -> tuple[list[str], tuple[str, ...], list[list[dict[str, Any]]]]:
        """A blocks-format post's photos as its legacy body shows them (`<figure>` with an img
        whose `srcset` lists every size, `src` a middle one), the widest paths, and NPF media."""
        figures, originals, media = [], [], []
        for k in range(self._photo_count(d, _BLOCK_PHOTOS.get(d.index % 10, 1))):
            size = shape(d.rng, 1280)
            seed = seed_of("tumblr-blocks", d.tag, d.index, k)
            base = f"/media/{digest_of('b', d.tag, d.index, k, n=32)}/{digest_of('v', d.index, k)}"
            name = digest_of("g", d.tag, d.index, k, n=40)
            sizes = []
            for side, label in _SRCSET_SIZES:
                ow, oh = size  # a size class bounds the width; _c1 is a square crop
                w = side if label.endswith("_c1") else min(side, ow)
                h = side if label.endswith("_c1") else round(oh * w / ow)
                path = f"{base}/{label}/{name}.jpg"
                self.assets[path] = Asset("jpeg", d.index, seed, w, h)
                sizes.append((HOST + path, w, h))
            srcset = ", ".join(f"{url} {w}w" for url, w, _ in sizes)
            middle = sizes[-2][0]
            ow, oh = size
            figures.append(
                f'<figure class="tmblr-full" data-orig-height="{oh}" data-orig-width="{ow}">'
                f'<img src="{middle}" data-orig-height="{oh}" data-orig-width="{ow}"'
                f' srcset="{srcset}" sizes="(max-width: {ow}px) 100vw, {ow}px"/></figure>'
            )
            originals.append(sizes[-1][0].removeprefix(HOST))
            widest_first = [
                {"type": "image/jpeg", "url": u, "width": w, "height": h}
                for u, w, h in reversed(sizes)
                if not u.split("/")[-2].endswith("_c1")
            ]
            widest_first[0]["has_original_dimensions"] = True
            media.append(widest_first)
        return figures, tuple(originals), media

    def gif(self, d: Draft) -> tuple[str, dict[str, Any]]:
        """A GIF posted from the app: its body figure and its NPF image block (with a poster)."""
        base = f"/media/{digest_of('a', d.tag, d.index, n=32)}/{digest_of('w', d.index)}"
        gif = f"{base}/s540x540/{digest_of('h', d.tag, d.index, n=40)}.gif"
        still = f"{base}/s540x540/{digest_of('h', d.tag, d.index, n=40)}.jpg"
        self.assets[gif] = Asset("gif", d.index, seed_of("gif", d.tag, d.index), 540, 540)
        self.assets[still] = Asset("jpeg", d.index, seed_of("gif", d.tag, d.index), 540, 540)
        figure = (
            '<figure class="tmblr-full" data-orig-height="540" data-orig-width="540">'
            f'<img src="{HOST}{gif}" data-orig-height="540" data-orig-width="540"'
            f' srcset="{HOST}{gif} 540w" sizes="(max-width: 540px) 100vw, 540px"/></figure>'
        )
        poster = {"type": "image/jpeg", "url": HOST + still, "width": 540, "height": 540}
        media = {"type": "image/gif", "url": HOST + gif, "width": 540, "height": 540}
        return figure, {"type": "image", "media": [{**media, "poster": poster}]}

    def video(self, d: Draft, caption_html: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """A native video: the legacy video post's fields and its NPF video block."""
        base = f"/media/{digest_of('m', d.tag, d.index, n=32)}"
        mp4, still = f"{base}/video.mp4", f"{base}/poster_frame1.jpg"
        self.assets[mp4] = Asset("mp4", d.index)
        self.assets[still] = Asset("jpeg", d.index, seed_of("poster", d.tag, d.index), 480, 640)
        player = (
            f'<video controls poster="{HOST}{still}"><source src="{HOST}{mp4}"'
            ' type="video/mp4"></video>'
        )
        legacy = {
            "type": "video",
            "caption": caption_html,
            "video_type": "tumblr",
            "video_url": HOST + mp4,
            "thumbnail_url": HOST + still,
            "thumbnail_width": 480,
            "thumbnail_height": 640,
            "duration": 12,
            "player": [{"width": w, "embed_code": player} for w in (250, 400, 500)],
        }
        block = {
            "type": "video",
            "provider": "tumblr",
            "url": HOST + mp4,
            "media": {"type": "video/mp4", "url": HOST + mp4, "width": 480, "height": 640},
            "poster": [{"type": "image/jpeg", "url": HOST + still, "width": 480, "height": 640}],
        }
        return legacy, block


def _spaced_tags(d: Draft) -> tuple[str, ...]:
    """Tags of several words, which Tumblr allows: one on every fourth post."""
    return (("vintage fashion", "street style")[d.index // 4 % 2],) if d.index % 4 == 1 else ()


def _image_block(media: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "image", "media": media}


def create_tumblr_app(opts: ReplicaOptions | None = None) -> Flask:
    """Tumblr's `GET /v2/tagged?tag=..&api_key=..&before=<unix ts>&limit=1..20[&npf=true]`.

    Answers {"meta": {"status": 200, "msg": "OK"}, "response": [posts]}, newest first, strictly
    before `before`; a client pages with `before` = the last post's timestamp. Posts mix as a
    tag's feed does today (`tumblr_kind`): legacy photo posts, posts made in the apps (photos as
    body figures, or a GIF), video posts and text posts. Without `npf` they come in the legacy
    format; with `npf=true` every post comes as NPF content blocks (`type: "blocks"`).
    A missing or wrong key is 401 {"meta": {"status": 401, "msg": "Unauthorized"}, "response":
    [], "errors": [...]}; a 429 says the hourly limit is spent (X-Ratelimit-Perhour-Remaining 0,
    X-Ratelimit-Perhour-Reset in seconds), as gallery-dl reads it.
    """
    opts = opts or ReplicaOptions()
    app = Flask(__name__)
    assets: dict[str, Asset] = {}
    builder = _TumblrBuilder(opts, assets)
    entries = entries_by_tag(opts, builder)

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
        npf = request.args.get("npf", "").lower() in ("true", "1")
        posts = [builder.npf[e.post.key] if npf else e.data for e in page]
        return json_answer({"meta": {"status": 200, "msg": "OK"}, "response": posts})

    return app
