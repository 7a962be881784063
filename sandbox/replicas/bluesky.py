"""Bluesky's post search (app.bsky.feed.searchPosts), sessions and rate limits."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import math
import secrets
import threading
import time
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
    bearer,
    entries_by_tag,
    install,
    iso_ms,
    json_answer,
    scaled,
    seed_of,
    shape,
)

# ---------------------------------------------------------------------------------------------
# Bluesky

_TID = "234567abcdefghijklmnopqrstuvwxyz"
# Bluesky posts by index (mod 8): images, a quote with images (recordWithMedia), a link card,
# the new gallery embed, a video, and text alone.
_BLUESKY_KINDS = ("images", "quote", "images", "external", "gallery", "images", "video", "text")


def _tid(t: dt.datetime, clock: int) -> str:
    """A record key: microseconds and a clock id in base32-sortable, 13 characters."""
    value = (int(t.timestamp() * 1_000_000) << 10) | (clock & 0x3FF)
    return "".join(_TID[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _cid(prefix: str, *parts: object) -> str:
    raw = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return prefix + base64.b32encode(raw).decode().lower().rstrip("=")[:52]


def _did(user: str) -> str:
    raw = hashlib.sha256(f"did:{user}".encode()).digest()
    return "did:plc:" + base64.b32encode(raw).decode().lower()[:24]


def _xrpc_error(status: int, error: str, message: str, **headers: str) -> Response:
    body = json.dumps({"error": error, "message": message})
    return Response(body, status=status, mimetype="application/json", headers=headers)


def _bluesky_rate_limited(limit: int, wait_s: float) -> Response:
    """@atproto/xrpc-server's answer: RateLimit-* with the reset in Unix seconds (floored),
    the policy as "limit;w=window", and since 2026-07 a Retry-After too."""
    return _xrpc_error(
        429,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
        **_ratelimit_headers(limit, 0, wait_s),
        **{"Retry-After": str(math.ceil(wait_s))},
    )


def _ratelimit_headers(limit: int, remaining: int, reset_s: float) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(math.floor(time.time() + reset_s)),
        "RateLimit-Policy": f"{limit};w=300",
    }


_Json = dict[str, Any]
_Photo = tuple[str, str, str, dict[str, int]]  # blob cid, thumbnail path, full-size path, ratio


class _BlueskyBuilder(Builder):
    """app.bsky.feed.defs#postView objects, with the record and the hydrated embed view."""

    service = "bluesky"

    def __call__(self, d: Draft) -> Entry:
        did = _did(d.user)
        rkey = _tid(d.created_at, d.index)
        uri = f"at://{did}/app.bsky.feed.post/{rkey}"
        kind = _BLUESKY_KINDS[d.index % len(_BLUESKY_KINDS)]
        text, facets = self.text(d)
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "createdAt": iso_ms(d.created_at),
            "langs": ["en"],
            "text": text,
            "facets": facets,
        }
        if len(self.in_text(d)) < len(d.tags):
            record["tags"] = list(d.tags[len(self.in_text(d)) :])
        raw, view, images = self.embed(d, kind, did)
        if raw:
            record["embed"] = raw
        post_view: dict[str, Any] = {
            "uri": uri,
            "cid": _cid("bafyrei", "post", d.tag, d.index),
            "author": self.author(d, did),
            "record": record,
            "bookmarkCount": 0,
            "replyCount": d.replies,
            "repostCount": d.reposts,
            "likeCount": d.likes,
            "quoteCount": 0,
            "indexedAt": iso_ms(d.created_at + dt.timedelta(seconds=1)),
            "viewer": {"bookmarked": False, "threadMuted": False, "embeddingDisabled": False},
            "labels": [],
        }
        if view:
            post_view["embed"] = view
        post = self.post(
            d,
            key=uri,
            url=f"/profile/{d.user.replace('_', '-')}.bsky.social/post/{rkey}",
            kind=kind,
            images=images,
        )
        return Entry(post, post_view)

    @staticmethod
    def in_text(d: Draft) -> tuple[str, ...]:
        """The hashtags written in the text: every third post with more than one tag keeps
        the others in `record.tags` (the lexicon's "additional hashtags", not in the text)."""
        return d.tags[:1] if d.index % 3 == 0 and len(d.tags) > 1 else d.tags

    @classmethod
    def text(cls, d: Draft) -> tuple[str, list[dict[str, Any]]]:
        """The post text with its hashtags, and facets at their UTF-8 byte offsets."""
        written = cls.in_text(d)
        text = d.text + " " + " ".join(f"#{t}" for t in written)
        facets, at = [], len((d.text + " ").encode())
        for t in written:
            end = at + len(f"#{t}".encode())
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": t}
            facets.append({"index": {"byteStart": at, "byteEnd": end}, "features": [feature]})
            at = end + 1
        return text, facets

    def author(self, d: Draft, did: str) -> dict[str, Any]:
        avatar = f"/img/avatar/plain/{did}/{_cid('bafkrei', 'avatar', d.user)}@jpeg"
        self.assets[avatar] = Asset("jpeg", None, seed_of("avatar", d.user), 96, 96)
        return {
            "did": did,
            "handle": f"{d.user.replace('_', '-')}.bsky.social",
            "displayName": d.display_name,
            "avatar": HOST + avatar,
            "associated": {"chat": {"allowIncoming": "following"}},
            "labels": [],
            "createdAt": "2024-02-06T00:00:00.000Z",
        }

    def photos(self, d: Draft, did: str) -> list[_Photo]:
        """(cid, thumb path, fullsize path, aspect ratio) for each of the post's photos."""
        out = []
        for k in range(self.opts.images_per_post.get(d.index, 1)):
            cid = _cid("bafkrei", "img", d.tag, d.index, k)
            size = shape(d.rng, 600)
            seed = seed_of("bluesky", d.tag, d.index, k)
            thumb = f"/img/feed_thumbnail/plain/{did}/{cid}@jpeg"
            full = f"/img/feed_fullsize/plain/{did}/{cid}@jpeg"
            self.assets[thumb] = Asset("jpeg", d.index, seed, *scaled(size, 300))
            self.assets[full] = Asset("jpeg", d.index, seed, *size)
            out.append((cid, thumb, full, {"width": size[0], "height": size[1]}))
        return out

    @staticmethod
    def blob(cid: str, mime: str, size: int) -> dict[str, Any]:
        return {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": size}

    def embed(
        self, d: Draft, kind: str, did: str
    ) -> tuple[_Json | None, _Json | None, tuple[str, ...]]:
        """The record's embed (blobs), its hydrated view (URLs), and the full-size photo paths."""
        if kind == "text":
            return None, None, ()
        if kind == "external":
            return (*self.external(d, did), ())
        if kind == "video":
            return (*self.video(d, did), ())
        photos = self.photos(d, did)
        fulls = tuple(full for _, _, full, _ in photos)
        if kind == "gallery":
            return (*self.gallery(d, photos), fulls)
        raw, view = self.images(d, photos)
        if kind == "images":
            return raw, view, fulls
        quoted = self.quoted(d)
        link = {"uri": quoted["uri"], "cid": quoted["cid"]}
        raw = {
            "$type": "app.bsky.embed.recordWithMedia",
            "media": raw,
            "record": {"$type": "app.bsky.embed.record", "record": link},
        }
        view = {
            "$type": "app.bsky.embed.recordWithMedia#view",
            "record": {"record": quoted},  # a ref, not a union: no $type
            "media": view,
        }
        return raw, view, fulls

    def images(self, d: Draft, photos: list[_Photo]) -> tuple[_Json, _Json]:
        alt = d.caption.lower()
        raw = {
            "$type": "app.bsky.embed.images",
            "images": [
                {"alt": alt, "aspectRatio": r, "image": self.blob(c, "image/jpeg", 150_000 + i)}
                for i, (c, _, _, r) in enumerate(photos)
            ],
        }
        view = {
            "$type": "app.bsky.embed.images#view",
            "images": [
                {"thumb": HOST + t, "fullsize": HOST + f, "alt": alt, "aspectRatio": r}
                for _, t, f, r in photos
            ],
        }
        return raw, view

    def gallery(self, d: Draft, photos: list[_Photo]) -> tuple[_Json, _Json]:
        """The gallery embed (2026): items, and `thumbnail` where images have `thumb`."""
        alt = d.caption.lower()
        raw = {
            "$type": "app.bsky.embed.gallery",
            "items": [
                {
                    "$type": "app.bsky.embed.gallery#image",
                    "image": self.blob(c, "image/jpeg", 180_000 + i),
                    "alt": alt,
                    "aspectRatio": r,
                }
                for i, (c, _, _, r) in enumerate(photos)
            ],
        }
        view = {
            "$type": "app.bsky.embed.gallery#view",
            "items": [
                {
                    "$type": "app.bsky.embed.gallery#viewImage",
                    "thumbnail": HOST + t,
                    "fullsize": HOST + f,
                    "alt": alt,
                    "aspectRatio": r,
                }
                for _, t, f, r in photos
            ],
        }
        return raw, view

    def external(self, d: Draft, did: str) -> tuple[_Json, _Json]:
        """A link card: its thumbnail is an image, but not a photo of the post."""
        cid = _cid("bafkrei", "card", d.tag, d.index)
        thumb = f"/img/feed_thumbnail/plain/{did}/{cid}@jpeg"
        self.assets[thumb] = Asset("jpeg", d.index, seed_of("card", d.tag, d.index), 300, 157)
        link = {"uri": f"{HOST}/blog/{d.tag}-guide-{d.index}", "title": "A guide to layering"}
        link["description"] = "Ten ways to wear one skirt."
        raw = {
            "$type": "app.bsky.embed.external",
            "external": link | {"thumb": self.blob(cid, "image/jpeg", 40_000)},
        }
        view = {"$type": "app.bsky.embed.external#view", "external": link | {"thumb": HOST + thumb}}
        return raw, view

    def video(self, d: Draft, did: str) -> tuple[_Json, _Json]:
        cid = _cid("bafkrei", "video", d.tag, d.index)
        base = f"/watch/{did}/{cid}"
        self.assets[f"{base}/playlist.m3u8"] = Asset("m3u8", d.index)
        still = Asset("jpeg", d.index, seed_of("vthumb", d.tag, d.index), 320, 180)
        self.assets[f"{base}/thumbnail.jpg"] = still
        ratio = {"width": 1280, "height": 720}
        raw = {
            "$type": "app.bsky.embed.video",
            "video": self.blob(cid, "video/mp4", 2_000_000),
            "aspectRatio": ratio,
        }
        view = {
            "$type": "app.bsky.embed.video#view",
            "cid": cid,
            "playlist": f"{HOST}{base}/playlist.m3u8",
            "thumbnail": f"{HOST}{base}/thumbnail.jpg",
            "aspectRatio": ratio,
        }
        return raw, view

    def quoted(self, d: Draft) -> dict[str, Any]:
        """The quoted post (app.bsky.embed.record#viewRecord): text only, not tagged."""
        other = dataclasses.replace(d, user=f"{d.user}_friend", display_name="A friend")
        did = _did(other.user)
        when = d.created_at - dt.timedelta(days=1)
        return {
            "$type": "app.bsky.embed.record#viewRecord",
            "uri": f"at://{did}/app.bsky.feed.post/{_tid(when, d.index)}",
            "cid": _cid("bafyrei", "quoted", d.tag, d.index),
            "author": self.author(other, did),
            "value": {
                "$type": "app.bsky.feed.post",
                "createdAt": iso_ms(when),
                "text": "Which one?",
            },
            "labels": [],
            "likeCount": 3,
            "replyCount": 1,
            "repostCount": 0,
            "quoteCount": 1,
            "indexedAt": iso_ms(when),
        }


class _LoginThrottle:
    """createSession's limiter: `limit` attempts, then 429s until `wait_s` after the first
    refusal, then a fresh window (the PDS allows 30 per 5 minutes and 300 a day)."""

    def __init__(self, limit: int, wait_s: float) -> None:
        self.limit, self.wait_s = limit, wait_s
        self.used = 0
        self.reopens: float | None = None
        self.lock = threading.Lock()

    def attempt(self) -> tuple[int, float | None]:
        """Attempts used in this window, and seconds until it reopens when this one is refused."""
        now = time.monotonic()
        with self.lock:
            if self.reopens is not None and now >= self.reopens:
                self.used, self.reopens = 0, None
            self.used += 1
            if self.used <= self.limit:
                return self.used, None
            if self.reopens is None:
                self.reopens = now + self.wait_s
            return self.used, self.reopens - now


def _fake_jwt(did: str, scope: str, ttl_s: float) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    now = int(time.time())
    header = {"typ": "at+jwt" if scope.endswith("access") else "refresh+jwt", "alg": "ES256K"}
    payload = {"scope": scope, "sub": did, "iat": now, "exp": now + int(ttl_s)}
    payload["aud"] = "did:web:replica.host.invalid"
    return f"{part(header)}.{part(payload)}.{secrets.token_urlsafe(32)}"


def create_bluesky_app(opts: ReplicaOptions | None = None) -> Flask:
    """A Bluesky PDS with the AppView's post search, as @atproto's source has them.

    `POST /xrpc/com.atproto.server.createSession` {identifier, password} (the handle, or its did;
    `token` is the app password) answers {accessJwt, refreshJwt, handle, did, ...}; a wrong
    password 401 {"error": "AuthenticationRequired", "message": "Invalid identifier or
    password"}. Attempts are counted in `app.config["logins"]`; past `login_limit` a 429 with
    RateLimit-Limit/-Remaining/-Reset (Unix seconds)/-Policy ("30;w=300") and Retry-After, and
    logins work again once that reset has passed. `refreshSession` swaps a refreshJwt.

    `GET /xrpc/app.bsky.feed.searchPosts?q=%23boho&sort=latest|top&limit=1..100&cursor=` checks
    its parameters first (limit 101: 400 {"error": "InvalidRequest", "message": "Error: limit can
    not be greater than 100"}), then the token: none is 401 AuthMissing "Authentication
    Required" (with `html_403`, the public AppView's CDN HTML 403 instead); an unknown token 400
    InvalidToken, an expired one 400 ExpiredToken. It answers {"posts": [...], "cursor": "N"},
    with no cursor on the last page and no hitsTotal (optional in the lexicon).
    """
    opts = opts or ReplicaOptions()
    app = Flask(__name__)
    assets: dict[str, Asset] = {}
    entries = entries_by_tag(opts, _BlueskyBuilder(opts, assets))
    search = "/xrpc/app.bsky.feed.searchPosts"
    account_did = _did(opts.handle)
    tokens: dict[str, tuple[str, float]] = {}  # jwt -> (scope, expires at, wall clock)
    app.config["logins"] = 0
    throttle = _LoginThrottle(opts.login_limit, opts.rate_limit_wait_s)

    def token_state(token: str | None, scope: str) -> str:
        if not token:
            return "missing"
        found = tokens.get(token)
        if found is None or found[0] != scope:
            return "invalid"
        return "expired" if time.time() >= found[1] else "ok"

    def credential(req: Request) -> tuple[bool, bool]:
        if req.path.endswith("createSession"):
            body = req.get_json(silent=True) or {}
            password = body.get("password") if isinstance(body, dict) else None
            return bool(password), accepts(password, opts.token)
        scope = (
            "com.atproto.refresh" if req.path.endswith("refreshSession") else "com.atproto.access"
        )
        token = bearer(req)
        return token is not None, token_state(token, scope) == "ok"

    def validate(req: Request) -> Response | None:
        if not req.args.get("q"):
            return _xrpc_error(400, "InvalidRequest", 'Error: Params must have the property "q"')
        raw = req.args.get("limit")
        if raw is not None:
            try:
                limit = int(raw)
            except ValueError:
                return _xrpc_error(400, "InvalidRequest", "Error: limit must be an integer")
            if limit > 100:
                return _xrpc_error(
                    400, "InvalidRequest", "Error: limit can not be greater than 100"
                )
            if limit < 1:
                return _xrpc_error(400, "InvalidRequest", "Error: limit can not be less than 1")
        return None

    def authorize(req: Request, present: bool, correct: bool) -> Response | None:
        verdict = token_state(bearer(req), "com.atproto.access")
        if verdict == "missing" and opts.html_403:
            page = (
                "<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body>"
                "<h1>403 Forbidden</h1><p>Request forbidden by administrative rules.</p>"
                "</body></html>"
            )
            return Response(page, status=403, mimetype="text/html")
        if verdict == "missing":
            return _xrpc_error(401, "AuthMissing", "Authentication Required")
        if verdict == "expired":
            return _xrpc_error(400, "ExpiredToken", "Token has expired")
        if verdict == "invalid":
            return _xrpc_error(400, "InvalidToken", "Token could not be verified")
        return None

    state = install(
        app,
        opts,
        Service(
            is_api=lambda req: req.path == search,
            credential=credential,
            rate_limited=lambda wait_s: _bluesky_rate_limited(3000, wait_s),
            authorize=authorize,
            validate=validate,
            is_login=lambda req: req.path.startswith("/xrpc/com.atproto.server."),
        ),
        assets,
        entries,
    )

    def new_session() -> dict[str, Any]:
        access = _fake_jwt(account_did, "com.atproto.access", opts.session_ttl_s)
        refresh = _fake_jwt(account_did, "com.atproto.refresh", 90 * 86400)
        with state.lock:
            tokens[access] = ("com.atproto.access", time.time() + opts.session_ttl_s)
            tokens[refresh] = ("com.atproto.refresh", time.time() + 90 * 86400)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": opts.handle,
            "did": account_did,
            "email": "scout@replica.invalid",
            "emailConfirmed": True,
            "emailAuthFactor": False,
            "active": True,
        }

    @app.post("/xrpc/com.atproto.server.createSession")
    def create_session() -> Response:
        with state.lock:
            app.config["logins"] += 1
        used, wait_s = throttle.attempt()
        if wait_s is not None:
            return _bluesky_rate_limited(opts.login_limit, wait_s)
        headers = _ratelimit_headers(opts.login_limit, opts.login_limit - used, 300)
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else {}
        for name in ("identifier", "password"):
            if name not in body:
                message = f'Input must have the property "{name}"'
                return _xrpc_error(400, "InvalidRequest", message, **headers)
        known = str(body["identifier"]).lower() in {opts.handle.lower(), account_did}
        if not known or not accepts(str(body["password"]), opts.token):
            message = "Invalid identifier or password"
            return _xrpc_error(401, "AuthenticationRequired", message, **headers)
        return json_answer(new_session(), headers=headers)

    @app.post("/xrpc/com.atproto.server.refreshSession")
    def refresh_session() -> Response:
        token = bearer(request)
        verdict = token_state(token, "com.atproto.refresh")
        if verdict == "missing":
            return _xrpc_error(401, "AuthMissing", "Authentication Required")
        if verdict != "ok":
            return _xrpc_error(400, "ExpiredToken", "Token has been revoked")
        with state.lock:
            tokens.pop(token or "", None)
        return json_answer(new_session())

    @app.get(search)
    def search_posts() -> Response:
        q = request.args.get("q", "").strip()
        tag = (request.args.get("tag") or q).lstrip("#").lower()
        items = entries.get(tag, [])
        if request.args.get("sort") == "top":
            items = sorted(items, key=lambda e: -e.data["likeCount"])
        limit = int(request.args.get("limit", 25))
        cursor = request.args.get("cursor", "0")
        start = int(cursor) if cursor.isdigit() else 0
        page = state.page(f"{tag}:{request.args.get('sort')}", items, start, start + limit)
        body: dict[str, Any] = {"posts": [e.data for e in page]}
        if page and start + limit < len(items):
            body["cursor"] = str(start + limit)
        return json_answer(body)

    return app
