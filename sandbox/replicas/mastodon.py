"""Mastodon's hashtag timeline as the real service answers it (statuses, Link paging, limits)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

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
    bearer,
    digest_of,
    digits_of,
    entries_by_tag,
    install,
    iso_ms,
    json_answer,
    request_host,
    ruby_to_i,
    scaled,
    seed_of,
    shape,
    truthy_rails,
)

# ---------------------------------------------------------------------------------------------
# Mastodon and Pixelfed: statuses


def _mastodon_id(t: dt.datetime, seq: int) -> int:
    """Mastodon's snowflake: milliseconds since the epoch, shifted 16 bits, plus a sequence."""
    return (int(t.timestamp() * 1000) << 16) | (seq & 0xFFFF)


def pixelfed_id(t: dt.datetime, seq: int) -> int:
    """Pixelfed's snowflake: milliseconds since 2019-02-10, shifted 22 bits."""
    return ((int(t.timestamp() * 1000) - 1549756800000) << 22) | (seq & 0xFFF)


def pixelfed_time(status_id: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(((status_id >> 22) + 1549756800000) / 1000, dt.UTC)


def account_json(d: Draft, assets: dict[str, Asset], url: str, acct_id: int) -> dict[str, Any]:
    avatar = f"/system/accounts/avatars/{acct_id}/original/{digest_of('avatar', d.user)}.jpeg"
    assets[avatar] = Asset("jpeg", None, seed_of("avatar", d.user), 96, 96)
    return {
        "id": str(acct_id),
        "username": d.user,
        "acct": d.user,
        "display_name": d.display_name,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "group": False,
        "created_at": "2023-03-01T00:00:00.000Z",
        "note": "<p>Slow fashion, second hand, handmade.</p>",
        "url": url,
        "uri": f"{HOST}/users/{d.user}",
        "avatar": HOST + avatar,
        "avatar_static": HOST + avatar,
        "header": f"{HOST}/headers/original/missing.png",
        "header_static": f"{HOST}/headers/original/missing.png",
        "followers_count": d.rng.randint(10, 5000),
        "following_count": d.rng.randint(10, 800),
        "statuses_count": d.rng.randint(20, 3000),
        "last_status_at": d.created_at.date().isoformat(),
        "emojis": [],
        "fields": [],
    }


def _image_meta(size: tuple[int, int], small: tuple[int, int]) -> dict[str, Any]:
    def one(w: int, h: int) -> dict[str, Any]:
        return {"width": w, "height": h, "size": f"{w}x{h}", "aspect": round(w / h, 6)}

    return {"original": one(*size), "small": one(*small), "focus": {"x": 0.0, "y": 0.0}}


BLURHASH = "UFH_,Y~q4n%M_3%MxuRj4nWBM{M{%MWBt7WB"
# Mastodon posts by index (mod 10): most carry photos; some a video only, no media at all,
# a photo and a video, or a photo whose processing has not finished (url null).
_MASTODON_KINDS = ("image",) * 3 + (
    "video",
    "processing",
    "image",
    "none",
    "image",
    "mixed",
    "gifv",
)


class MastodonBuilder(Builder):
    """Mastodon statuses, as REST::StatusSerializer writes them."""

    service = "mastodon"

    def __call__(self, d: Draft) -> Entry:
        status_id = str(_mastodon_id(d.created_at, d.index))
        kind = _MASTODON_KINDS[d.index % len(_MASTODON_KINDS)]
        media, images = self.media(d, kind, status_id)
        status = self.status(d, status_id, media)
        if self.opts.boosts and d.index % 7 == 2:
            status = self.boost(d, status)
            kind = "boost"
        post = self.post(d, key=status_id, url=f"/@{d.user}/{status_id}", kind=kind, images=images)
        return Entry(post, status)

    def content(self, d: Draft) -> str:
        anchors = " ".join(
            f'<a href="{HOST}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
            for t in d.tags
        )
        second = f"<br />{html.escape(d.second_line, quote=False)}" if d.second_line else ""
        return f"<p>{html.escape(d.caption, quote=False)}{second} {anchors}</p>"

    def status(self, d: Draft, status_id: str, media: list[dict[str, Any]]) -> dict[str, Any]:
        acct_id = 109_000_000_000_000_000 + seed_of("acct", d.user)
        return {
            "id": status_id,
            "created_at": iso_ms(d.created_at),
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": f"{HOST}/users/{d.user}/statuses/{status_id}",
            "url": f"{HOST}/@{d.user}/{status_id}",
            "replies_count": d.replies,
            "reblogs_count": d.reposts,
            "favourites_count": d.likes,
            "quotes_count": 0,
            "edited_at": None,
            "content": self.content(d),
            "reblog": None,
            "application": {"name": "Web", "website": None},
            "account": account_json(d, self.assets, f"{HOST}/@{d.user}", acct_id),
            "media_attachments": media,
            "mentions": [],
            "tags": [{"name": t, "url": f"{HOST}/tags/{t}"} for t in d.tags],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def boost(self, d: Draft, original: dict[str, Any]) -> dict[str, Any]:
        """A boost: the tagged status, older, inside a status of its own without content."""
        when = d.created_at - dt.timedelta(hours=2)
        original = {
            **original,
            "id": str(_mastodon_id(when, d.index)),
            "created_at": iso_ms(when),
        }
        booster = dataclasses.replace(d, user=f"{d.user}_fan", display_name="A fan")
        outer = self.status(booster, str(_mastodon_id(d.created_at, d.index)), [])
        outer["uri"] = f"{outer['uri']}/activity"
        return {**outer, "content": "", "tags": [], "reblog": original, "favourites_count": 0}

    def media(
        self, d: Draft, kind: str, status_id: str
    ) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        """The attachments and the paths of the photos among them."""
        if kind == "none":
            return [], ()
        base = f"/system/media_attachments/files/{d.tag}/{d.index:04d}"
        out: list[dict[str, Any]] = []
        images: list[str] = []
        photos = 0 if kind in ("video", "gifv") else self.opts.images_per_post.get(d.index, 1)
        for k in range(photos):
            size = shape(d.rng, 600)
            small = scaled(size, 300)
            seed = seed_of("mastodon", d.tag, d.index, k)
            name = digest_of("m", d.tag, d.index, k)
            full, preview = (
                f"{base}/{k:03d}/original/{name}.jpeg",
                f"{base}/{k:03d}/small/{name}.jpeg",
            )
            self.assets[full] = Asset("jpeg", d.index, seed, *size)
            self.assets[preview] = Asset("jpeg", d.index, seed, *small)
            attachment = {
                "id": str(int(status_id) + k + 1),
                "type": "image",
                "url": HOST + full,
                "preview_url": HOST + preview,
                "remote_url": None,
                "preview_remote_url": None,
                "text_url": None,
                "meta": _image_meta(size, small),
                "description": f"Photo {k + 1}: {d.caption.lower()}",
                "blurhash": BLURHASH,
            }
            if kind == "processing":  # not processed yet: only the original, remote copy
                remote = f"/remote/media/{d.tag}/{d.index:04d}/{k:03d}/{name}.jpg"
                self.assets[remote] = Asset("jpeg", d.index, seed, *size)
                attachment |= {"url": None, "preview_url": None, "remote_url": HOST + remote}
                attachment["meta"] = {}
                images.append(remote)
            else:
                images.append(full)
            out.append(attachment)
        if kind in ("video", "gifv", "mixed"):
            clip = f"{base}/video/original/{digest_of('v', d.tag, d.index)}.mp4"
            still = f"{base}/video/small/{digest_of('v', d.tag, d.index)}.jpeg"
            self.assets[clip] = Asset("mp4", d.index)
            self.assets[still] = Asset("jpeg", d.index, seed_of("still", d.tag, d.index), 320, 180)
            out.append(
                {
                    "id": str(int(status_id) + 99),
                    "type": "gifv" if kind == "gifv" else "video",
                    "url": HOST + clip,
                    "preview_url": HOST + still,
                    "remote_url": None,
                    "preview_remote_url": None,
                    "text_url": None,
                    "meta": {
                        "original": {"width": 640, "height": 360, "frame_rate": "30/1"},
                        "small": {"width": 320, "height": 180, "size": "320x180"},
                    },
                    "description": None,
                    "blurhash": BLURHASH,
                }
            )
        return out, tuple(images)


def mastodon_credential(opts: ReplicaOptions) -> Callable[[Request], tuple[bool, bool]]:
    def credential(req: Request) -> tuple[bool, bool]:
        token = bearer(req) or req.args.get("access_token")
        return bool(token), accepts(token, opts.token)

    return credential


def _mastodon_rate_limited(wait_s: float) -> Response:
    """rack-attack's throttled responder: the limit, 0 left, the reset time in ISO 8601 with
    microseconds, and no Retry-After."""
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait_s)
    return Response(
        json.dumps({"error": "Too many requests"}),
        status=429,
        mimetype="application/json",
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    )


def id_window(
    items: Sequence[Entry], limit: int, max_id: str | None, lower: str | None, immediate: bool
) -> tuple[int, int]:
    """Start and stop in a newest-first list: below `max_id`, above `lower` (since_id or
    min_id); with `immediate` (min_id) the posts just above `lower`, not the newest."""
    ids = [int(e.data["id"]) for e in items]
    start = next((i for i, v in enumerate(ids) if v < int(max_id)), len(ids)) if max_id else 0
    stop = next((i for i, v in enumerate(ids) if v <= int(lower)), len(ids)) if lower else len(ids)
    stop = max(start, stop)
    if immediate:
        return max(start, stop - limit), stop
    return start, min(stop, start + limit)


def create_mastodon_app(opts: ReplicaOptions | None = None) -> Flask:
    """Mastodon 4.5's hashtag timeline, `GET /api/v1/timelines/tag/<tag>`.

    As in Mastodon's source: `limit` defaults to 20 and is clamped to 40 (Ruby's to_i, abs);
    `max_id` is exclusive, `since_id` gives the newest above it, `min_id` the ones just above it;
    `only_media` drops statuses without attachments (videos count; boosts have none); a `Link`
    header (next by max_id, prev by min_id, absolute, with limit/local/only_media kept) on every
    non-empty page and none on an empty one; an unknown tag answers 200 `[]`. With
    `require_token` (the 4.5 `*_topic_feed_access` setting) a request without a known token gets
    422 `{"error": "This method requires an authenticated user"}` (`require_user!`; an unknown
    token counts as none, as Doorkeeper finds no token for it), while
    `/api/v1/apps/verify_credentials` answers an unknown or missing token 401 `{"error": "The
    access token is invalid"}`. A 429 is rack-attack's. Tokens come as `Authorization: Bearer`
    or `?access_token=`. Real tag timelines hold no boosts (a boost carries no tags); `boosts`
    adds some, as other servers and timelines serve them.
    """
    opts = opts or ReplicaOptions()
    app = Flask(__name__)
    assets: dict[str, Asset] = {}
    entries = entries_by_tag(opts, MastodonBuilder(opts, assets))
    timeline = "/api/v1/timelines/tag/"

    def authorize(req: Request, present: bool, correct: bool) -> Response | None:
        if opts.require_token and not correct:
            return json_answer({"error": "This method requires an authenticated user"}, 422)
        return None

    state = install(
        app,
        opts,
        Service(
            is_api=lambda req: req.path.startswith(timeline),
            credential=mastodon_credential(opts),
            rate_limited=_mastodon_rate_limited,
            authorize=authorize,
        ),
        assets,
        entries,
    )

    @app.get(timeline + "<hashtag>")
    def tag_timeline(hashtag: str) -> Response:
        only_media = truthy_rails(request.args.get("only_media"))
        visible = [
            e
            for e in entries.get(hashtag.lower(), [])
            if e.data["media_attachments"] or not only_media
        ]
        raw = request.args.get("limit")
        limit = 20 if raw is None else min(abs(ruby_to_i(raw)), 40)
        max_id, min_id = (
            digits_of(request.args.get("max_id")),
            digits_of(request.args.get("min_id")),
        )
        lower = min_id or digits_of(request.args.get("since_id"))
        start, stop = id_window(visible, limit, max_id, lower, immediate=bool(min_id))
        page = state.page(f"{hashtag.lower()}:{only_media}", visible, start, stop)
        if not page:
            return json_answer([])
        keep = {k: request.args[k] for k in ("limit", "local", "only_media") if k in request.args}
        base = f"{request_host()}{timeline}{quote(hashtag)}"
        nxt = urlencode(sorted({**keep, "max_id": page[-1].data["id"]}.items()))
        prev = urlencode(sorted({**keep, "min_id": page[0].data["id"]}.items()))
        link = f'<{base}?{nxt}>; rel="next", <{base}?{prev}>; rel="prev"'
        return json_answer([e.data for e in page], headers={"Link": link})

    @app.get("/api/v1/apps/verify_credentials")
    def verify_app() -> Response:
        _, correct = mastodon_credential(opts)(request)
        if not correct:
            return json_answer({"error": "The access token is invalid"}, 401)
        return json_answer({"name": "StyleScout", "website": None, "scopes": ["read"]})

    @app.get("/api/v1/instance")
    def instance_v1() -> Response:
        return json_answer(
            {
                "uri": request.host,
                "title": "Replica Social",
                "short_description": "A local replica of a Mastodon server.",
                "description": "",
                "email": "admin@replica.invalid",
                "version": "4.5.6",
                "urls": {"streaming_api": f"ws://{request.host}"},
                "stats": {"user_count": 42, "status_count": opts.posts, "domain_count": 1},
                "thumbnail": None,
                "languages": ["en"],
                "registrations": False,
                "approval_required": False,
                "invites_enabled": False,
                "configuration": {"statuses": {"max_characters": 500, "max_media_attachments": 4}},
            }
        )

    return app
