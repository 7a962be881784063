"""Pixelfed's hashtag timeline (its Mastodon-shaped API, with its own ids and quirks)."""

from __future__ import annotations

import html
import math
import time
from typing import Any

from flask import Flask, Request, Response, request

from sandbox.replicas.common import (
    HOST,
    Asset,
    Draft,
    Entry,
    ReplicaOptions,
    Service,
    digest_of,
    entries_by_tag,
    install,
    json_answer,
    months_before,
    request_host,
    scaled,
    seed_of,
    shape,
)
from sandbox.replicas.mastodon import (
    BLURHASH,
    MastodonBuilder,
    account_json,
    id_window,
    mastodon_credential,
    pixelfed_id,
    pixelfed_time,
)

# Pixelfed posts by index (mod 9): photos, and now and then a video.
_PIXELFED_KINDS = ("image",) * 4 + ("video",) + ("image",) * 4


class _PixelfedBuilder(MastodonBuilder):
    """Pixelfed's Mastodon-compatible statuses: its own ids, links and hashtag markup."""

    service = "pixelfed"

    def __call__(self, d: Draft) -> Entry:
        status_id = str(pixelfed_id(d.created_at, d.index))
        kind = _PIXELFED_KINDS[d.index % len(_PIXELFED_KINDS)]
        acct_id = 700_000_000_000_000_000 + seed_of("acct", d.user)
        media, images = self.pixelfed_media(d, kind, status_id, acct_id)
        status = self.status(d, status_id, media)
        status.pop("quotes_count", None)  # Mastodon 4.5's quotes: Pixelfed has none
        account = account_json(d, self.assets, f"{HOST}/{d.user}", acct_id)
        for key in ("group", "uri"):  # Mastodon's, not in Pixelfed's account
            account.pop(key, None)
        status |= {
            "uri": f"{HOST}/p/{d.user}/{status_id}",
            "url": f"{HOST}/p/{d.user}/{status_id}",
            "account": account,
            "tags": [{"name": t, "url": f"{HOST}/discover/tags/{t}"} for t in d.tags],
            "application": {"name": "web", "website": None},
        }
        post = self.post(d, key=status_id, url=f"/p/{d.user}/{status_id}", kind=kind, images=images)
        return Entry(post, status)

    def content(self, d: Draft) -> str:
        anchors = " ".join(
            f'<a href="{HOST}/discover/tags/{t}?src=hash" title="#{t}" class="u-url hashtag" '
            f'rel="external nofollow noopener">#{t}</a>'
            for t in d.tags
        )
        return f"{html.escape(d.text, quote=False).replace(chr(10), '<br />')} {anchors}"

    def pixelfed_media(
        self, d: Draft, kind: str, status_id: str, acct_id: int
    ) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        base = f"/storage/m/_v2/{acct_id}/{digest_of('pf', d.tag, d.index, n=10)}"
        if kind == "video":
            clip, still = f"{base}/{d.index}.mp4", f"{base}/{d.index}_thumb.jpeg"
            self.assets[clip] = Asset("mp4", d.index)
            self.assets[still] = Asset(
                "jpeg", d.index, seed_of("pf-still", d.tag, d.index), 320, 180
            )
            video = {"id": status_id[:12], "type": "video", "url": HOST + clip}
            video |= {"remote_url": None, "preview_url": HOST + still, "text_url": None}
            return [video | {"meta": None, "description": None, "blurhash": BLURHASH}], ()
        out, images = [], []
        for k in range(self.opts.images_per_post.get(d.index, 1)):
            size = shape(d.rng, 640)
            seed = seed_of("pixelfed", d.tag, d.index, k)
            name = digest_of("pf", d.tag, d.index, k, n=40)
            full, thumb = f"{base}/{name}.jpg", f"{base}/{name}_thumb.jpg"
            self.assets[full] = Asset("jpeg", d.index, seed, *size)
            self.assets[thumb] = Asset("jpeg", d.index, seed, *scaled(size, 320))
            out.append(
                {
                    "id": str(int(status_id[:15]) + k),
                    "type": "image",
                    "url": HOST + full,
                    "remote_url": None,
                    "preview_url": HOST + thumb,
                    "text_url": None,
                    "meta": None,
                    "description": f"{d.caption.lower()}",
                    "blurhash": BLURHASH,
                }
            )
            images.append(full)
        return out, tuple(images)


def _wants_json(req: Request) -> bool:
    """Laravel's Request::wantsJson: the first acceptable type mentions /json or +json."""
    first = next(iter(req.accept_mimetypes.values()), "")
    return "/json" in first or "+json" in first


def create_pixelfed_app(opts: ReplicaOptions | None = None) -> Flask:
    """Pixelfed's hashtag timeline, `GET /api/v1/timelines/tag/<tag>` (ApiV1Controller).

    As in Pixelfed's source: the route sits behind `auth:api`, so without a valid token Laravel
    redirects (302) to `/login`, an HTML page, unless the request wants JSON (`Accept:
    application/json` first), which gets 500 `{"error": "Unauthenticated."}` (the app's
    exception handler maps exceptions without a status to 500). `limit` defaults to 20, clamped
    to 40; `only_media` defaults to true; no Link header: a client pages with `max_id` = the last
    id; a `max_id` or `min_id` older than six months before the reference time answers `[]`
    (`min_id` gives the newest posts above it). A 429 is Laravel's throttle (X-RateLimit-*,
    Retry-After).
    """
    opts = opts or ReplicaOptions()
    app = Flask(__name__)
    assets: dict[str, Asset] = {}
    entries = entries_by_tag(opts, _PixelfedBuilder(opts, assets))
    timeline = "/api/v1/timelines/tag/"
    cutoff = months_before(opts.reference, 6)

    def authorize(req: Request, present: bool, correct: bool) -> Response | None:
        if correct:
            return None
        if _wants_json(req):
            return json_answer({"error": "Unauthenticated."}, 500)
        return Response("", status=302, headers={"Location": f"{request_host()}/login"})

    def rate_limited(wait_s: float) -> Response:
        headers = {
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": "0",
            "Retry-After": str(math.ceil(wait_s)),
            "X-RateLimit-Reset": str(math.ceil(time.time() + wait_s)),
        }
        if _wants_json(request):
            return json_answer({"error": "Too Many Attempts."}, 429, headers)
        page = "<!DOCTYPE html><html><head><title>Too Many Requests</title></head><body>429</body>"
        return Response(page, status=429, headers=headers, mimetype="text/html")

    state = install(
        app,
        opts,
        Service(
            is_api=lambda req: req.path.startswith(timeline),
            credential=mastodon_credential(opts),
            rate_limited=rate_limited,
            authorize=authorize,
        ),
        assets,
        entries,
    )

    @app.get(timeline + "<hashtag>")
    def tag_timeline(hashtag: str) -> Response:
        raw_only = request.args.get("only_media")
        only_media = raw_only is None or raw_only.lower() in {"1", "true", "on", "yes"}
        visible = [
            e
            for e in entries.get(hashtag.lower(), [])
            if e.data["media_attachments"] or not only_media
        ]
        try:
            limit = min(max(int(request.args.get("limit", 20)), 1), 40)
        except ValueError:
            limit = 20
        max_id, min_id = request.args.get("max_id"), request.args.get("min_id")
        for bound in (max_id, min_id):
            if bound and (not bound.isdigit() or pixelfed_time(int(bound)) < cutoff):
                return json_answer([])
        if min_id:  # the newest posts above min_id, as Pixelfed's query orders them
            above = [e for e in visible if int(e.data["id"]) > int(min_id)]
            return json_answer([e.data for e in above[:limit]])
        start, stop = id_window(visible, limit, max_id, None, immediate=False)
        page = state.page(f"{hashtag.lower()}:{only_media}", visible, start, stop)
        return json_answer([e.data for e in page])

    @app.get("/login")
    def login_page() -> str:
        return (
            '<!DOCTYPE html><html lang="en"><head><title>pixelfed</title></head><body>'
            '<form method="POST" action="/login"><input name="email"><input name="password" '
            'type="password"><button>Login</button></form></body></html>'
        )

    @app.get("/api/v1/instance")
    def instance() -> Response:
        return json_answer(
            {
                "uri": request.host,
                "title": "Replica Pixelfed",
                "short_description": "A local replica of a Pixelfed server.",
                "description": "",
                "version": "3.5.3 (compatible; Pixelfed 0.12.6)",
                "languages": ["en"],
                "registrations": False,
            }
        )

    return app
