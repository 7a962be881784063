"""Local replicas of five social-media JSON APIs (Mastodon, Pixelfed, Bluesky, Flickr, Tumblr).

Offline tests and benchmarks of the scraper's JSON-API sources point a built-in source at one of
these apps (`base_url`) instead of the real service. Each replica answers in the service's own
shapes, status codes, error bodies, paging and rate-limit headers, as read from the services'
source code and documentation (see the notes on each factory), and serves every post's images
itself, from the host the request came to, so nothing ever leaves 127.0.0.1.

Every factory takes one `ReplicaOptions`: how many posts, which tags exist, and the faults to
inject (latency, 503s, a 429 with the service's headers, a broken first page, a duplicated post
across pages, failing images...). The same options always give the same posts. An app records the
requests it got in `app.config["requests"]` (never a secret) and what it holds in
`app.config["catalogue"]` (tag -> `ReplicaPost` list, newest first), so a test can say what the
scraper should have found.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import html
import io
import json
import math
import random
import secrets
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol
from urllib.parse import quote, urlencode

import numpy as np
from flask import Flask, Request, Response, request
from PIL import Image

from scraper.demo_feed.server import BackgroundServer

REFERENCE = dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC)
HOST = "http://replica.host.invalid"  # stands for the request's host in pre-rendered answers

BadBody = Literal["not_json", "too_big", "deep"]


@dataclass(frozen=True)
class ReplicaOptions:
    """What a replica holds and how it misbehaves; every app factory takes one.

    Post indexes (in `image_status`, `images_per_post`) count from 0, newest first, and apply to
    every known tag. API requests are the listing endpoints (timelines, search, feeds); logins,
    images and the rest are not counted as API requests.
    """

    posts: int = 30
    tags: AbstractSet[str] = frozenset({"boho"})  # stored as a lower-case frozenset
    reference: dt.datetime = REFERENCE  # posts are older than this, newest first
    post_spacing_h: float = 36.0  # hours between posts (with jitter)
    latency_s: float = 0.0  # added to every request, API and image alike
    fail_first: int = 0  # the first N API requests answer 503
    rate_limit_at: int | None = None  # the Nth API request answers 429 once
    rate_limit_wait_s: float = 1.0  # what the 429's headers say to wait
    bad_body: BadBody | None = None  # the first API page that passes the other checks
    too_big_bytes: int = 30_000_000
    empty_first_page: bool = False  # the first page is the service's empty answer
    duplicate_across_pages: bool = False  # the last post of page 1 comes again on page 2
    image_status: dict[int, int] = field(default_factory=dict)  # post index -> HTTP status
    images_per_post: dict[int, int] = field(default_factory=dict)  # post index -> images
    token: str | None = None  # the accepted credential; None: any non-empty one
    require_token: bool = False  # Mastodon: hashtag feeds need a signed-in user
    boosts: bool = False  # Mastodon: some statuses are boosts of a tagged status
    login_limit: int = 30  # Bluesky: createSession attempts before a 429
    html_403: bool = False  # Bluesky: a logged-out search gets the CDN's HTML 403
    session_ttl_s: float = 7200.0  # Bluesky: lifetime of an accessJwt
    handle: str = "scout.bsky.social"  # Bluesky: the account that can log in

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", frozenset(t.lower() for t in self.tags))


@dataclass(frozen=True)
class ReplicaPost:
    """One post as a test sees it: what the scraper should find for it."""

    index: int
    tag: str
    key: str  # the service's id for the post (status id, at:// uri, photo id, post id)
    created_at: dt.datetime
    url: str  # the post's page, as a path on the replica
    caption: str  # plain text, without the hashtags
    tags: tuple[str, ...]
    likes: int
    kind: str  # what the post carries, in the service's terms (image, video, text...)
    images: tuple[str, ...]  # paths of the post's full-size photos, in order


# ---------------------------------------------------------------------------------------------
# Images


@lru_cache(maxsize=1024)
def replica_jpeg(seed: int, width: int, height: int) -> bytes:
    """A JPEG of a random 5x6 colour grid: each seed gives a different layout and palette, so
    perceptual hashes of different seeds are far apart, while one seed at two sizes is the same
    picture (a thumbnail of its full-size photo)."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    img = Image.fromarray(cells).resize((width, height), Image.NEAREST)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 512  # not a picture


@dataclass(frozen=True)
class _Asset:
    """A file the replica serves: a photo (seed and size), a video or a playlist."""

    kind: Literal["jpeg", "mp4", "m3u8"]
    post: int | None  # the post it belongs to (None: an avatar)
    seed: int = 0
    width: int = 0
    height: int = 0

    def response(self) -> Response:
        if self.kind == "mp4":
            return Response(_MP4, mimetype="video/mp4")
        if self.kind == "m3u8":
            return Response("#EXTM3U\n#EXT-X-VERSION:3\n", mimetype="application/vnd.apple.mpegurl")
        return Response(replica_jpeg(self.seed, self.width, self.height), mimetype="image/jpeg")


def _seed(*parts: object) -> int:
    return zlib.crc32(":".join(map(str, parts)).encode())


def _digest(*parts: object, n: int = 16) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:n]


def _shape(rng: random.Random, long_side: int) -> tuple[int, int]:
    """Portrait (4:5) or landscape (4:3) at `long_side` pixels."""
    if rng.random() < 0.6:
        return long_side * 4 // 5, long_side
    return long_side, long_side * 3 // 4


def _scaled(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    w, h = size
    f = long_side / max(w, h)
    return max(1, round(w * f)), max(1, round(h * f))


# ---------------------------------------------------------------------------------------------
# Post content shared by all services

_PIECES = (
    "linen wrap dress",
    "crochet vest",
    "suede fringe jacket",
    "tiered maxi skirt",
    "embroidered blouse",
    "patchwork kimono",
    "wide-leg trousers",
    "macramé bag",
    "paisley scarf",
    "chunky knit cardigan",
    "peasant top",
    "corduroy flares",
)
_SETTINGS = (
    "for market day",
    "on a windy afternoon",
    "at the flea market",
    "by the sea",
    "for a slow Sunday",
    "after the rain",
    "in the garden",
    "on the train home",
)
_SECOND = ("it's all thrifted", "so cosy", "can't stop wearing this", "mum's old favourite", "")
_NAMES = ("mia", "jonas", "ana", "kofi", "lena", "ravi", "sofia", "tom", "yuki", "ines", "omar")
_EXTRA_TAGS = ("ootd", "vintage", "slowfashion", "thrifted", "layering", "handmade")


@dataclass(frozen=True)
class _Draft:
    """The service-neutral part of a post; each service renders it its own way."""

    index: int
    tag: str
    created_at: dt.datetime
    user: str
    display_name: str
    caption: str
    second_line: str
    tags: tuple[str, ...]
    likes: int
    reposts: int
    replies: int
    rng: random.Random = field(compare=False, repr=False)

    @property
    def text(self) -> str:
        return f"{self.caption}\n{self.second_line}" if self.second_line else self.caption


def _drafts(opts: ReplicaOptions, service: str, tag: str) -> list[_Draft]:
    """The tag's posts, newest first; the same options give the same posts."""
    step = dt.timedelta(hours=opts.post_spacing_h)
    out = []
    for i in range(opts.posts):
        rng = random.Random(f"{service}:{tag}:{i}")
        when = opts.reference - step * (i + 1) + step * 0.4 * rng.random()
        when = when.replace(microsecond=when.microsecond // 1000 * 1000)
        a, b = rng.sample(_PIECES, 2)
        name = rng.choice(_NAMES)
        user = f"{name}_{rng.choice(('threads', 'wears', 'studio', 'vintage'))}{rng.randint(1, 99)}"
        extras = tuple(rng.sample(_EXTRA_TAGS, rng.randint(0, 2)))
        out.append(
            _Draft(
                index=i,
                tag=tag,
                created_at=when,
                user=user,
                display_name=f"{name.capitalize()} {rng.choice('BCDFGHKLMNPRST')}.",
                caption=f"{a.capitalize()} & {b} {rng.choice(_SETTINGS)}",
                second_line=rng.choice(_SECOND),
                tags=(tag, *extras),
                likes=rng.randint(0, 400),
                reposts=rng.randint(0, 60),
                replies=rng.randint(0, 20),
                rng=rng,
            )
        )
    return out


def _iso_ms(t: dt.datetime) -> str:
    """2026-11-15T12:00:00.000Z, as Mastodon and Bluesky write times."""
    t = t.astimezone(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _months_before(t: dt.datetime, months: int) -> dt.datetime:
    month = t.month - months
    year = t.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return t.replace(year=year, month=month, day=min(t.day, 28))


# ---------------------------------------------------------------------------------------------
# Shared machinery: request log, faults, paging quirks, answers


@dataclass
class _Entry:
    """A post: what tests see, and the service's JSON for it with `HOST` for the host."""

    post: ReplicaPost
    data: dict[str, Any]


@dataclass
class _Service:
    """How one service decides what a request is and how it answers the shared faults."""

    is_api: Callable[[Request], bool]
    credential: Callable[[Request], tuple[bool, bool]]  # (present, correct)
    rate_limited: Callable[[float], Response]
    authorize: Callable[[Request, bool, bool], Response | None] = lambda *_: None
    validate: Callable[[Request], Response | None] = lambda _: None
    is_login: Callable[[Request], bool] = lambda _: False

    def kind_of(self, req: Request, assets: dict[str, _Asset]) -> str:
        """api (a listing: faults apply), login, image (any served file) or other."""
        if self.is_api(req):
            return "api"
        if self.is_login(req):
            return "login"
        return "image" if req.path in assets else "other"


class _State:
    """Per-app counters and the request log, shared by the server's threads."""

    def __init__(self, opts: ReplicaOptions) -> None:
        self.opts = opts
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.api_calls = 0
        self.done: set[str] = set()
        self.first_page_end: dict[str, int] = {}

    def once(self, name: str) -> bool:
        """True the first time only."""
        with self.lock:
            if name in self.done:
                return False
            self.done.add(name)
            return True

    def page(self, listing: str, items: Sequence[Any], start: int, stop: int) -> list[Any]:
        """items[start:stop] as served: empty the first time when `empty_first_page`, and with
        the post before it again when this page follows the listing's first page and
        `duplicate_across_pages` (what a new post arriving between two requests does)."""
        stop = min(stop, len(items))
        with self.lock:
            if self.opts.empty_first_page and start == 0 and "empty_first_page" not in self.done:
                self.done.add("empty_first_page")
                return []
            if start == 0:
                end = self.first_page_end.setdefault(listing, stop)
            else:
                end = self.first_page_end.get(listing, -1)
        out = list(items[start:stop])
        if self.opts.duplicate_across_pages and out and 0 < start == end:
            out.insert(0, items[start - 1])
        return out


def _unavailable() -> Response:
    return Response(
        "<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
        "<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
        status=503,
        mimetype="text/html",
    )


def _bad_body(kind: BadBody, size: int) -> Response:
    """A first page a client must survive: HTML labelled JSON, a huge or a deeply nested body."""
    if kind == "not_json":
        return Response(
            "<!DOCTYPE html><html><body><h1>We'll be right back</h1></body></html>",
            content_type="application/json; charset=utf-8",
        )
    if kind == "deep":
        return Response("[" * 5000 + "]" * 5000, content_type="application/json")
    item = b'"' + b"x" * 1022 + b'"'
    count = max(1, math.ceil((size - 1) / 1025))

    def stream() -> Iterator[bytes]:
        yield b"["
        for start in range(0, count, 64):
            n = min(64, count - start)
            yield (b"," if start else b"") + b",".join([item] * n)
        yield b"]"

    return Response(
        stream(),
        content_type="application/json",
        headers={"Content-Length": str(count * 1025 + 1)},
    )


def _image_refused(status: int, wait_s: float) -> Response:
    headers = {"Retry-After": str(math.ceil(wait_s))} if status == 429 else {}
    return Response(f"{status}", status=status, mimetype="text/plain", headers=headers)


def _host() -> str:
    return request.host_url.rstrip("/")


def _json(obj: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise a pre-rendered answer for this request's host."""
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).replace(HOST, _host())
    return Response(body, status=status, headers=headers, mimetype="application/json")


def _bearer(req: Request) -> str | None:
    value = req.headers.get("Authorization", "")
    if value[:7].lower() != "bearer ":
        return None
    return value[7:].strip() or None


def _accepts(token: str | None, expected: str | None) -> bool:
    return bool(token) and (expected is None or token == expected)


_SECRET_ARGS = {"api_key", "access_token", "password"}


def _install(
    app: Flask,
    opts: ReplicaOptions,
    service: _Service,
    assets: dict[str, _Asset],
    entries: dict[str, list[_Entry]],
) -> _State:
    """The shared part of every replica: request log, latency, faults in one `before_request`
    hook, in the order a real stack meets them (503, rate limit, parameters, credentials, the
    body), and the asset route's per-post image statuses."""
    state = _State(opts)
    app.config["requests"] = state.requests
    app.config["catalogue"] = {tag: [e.post for e in items] for tag, items in entries.items()}
    app.extensions["replica"] = state

    @app.before_request
    def gate() -> Response | None:
        kind = service.kind_of(request, assets)
        present, correct = service.credential(request)
        args = {k: "<redacted>" if k in _SECRET_ARGS else v for k, v in request.args.items()}
        with state.lock:
            if kind == "api":
                state.api_calls += 1
            number = state.api_calls
            state.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "args": args,
                    "kind": kind,
                    "auth_present": present,
                    "auth_valid": correct,
                    "at": time.monotonic(),
                }
            )
        if opts.latency_s:
            time.sleep(opts.latency_s)
        if kind != "api":
            return None
        if number <= opts.fail_first:
            return _unavailable()
        if number == opts.rate_limit_at:
            return service.rate_limited(opts.rate_limit_wait_s)
        if (refusal := service.validate(request)) is not None:
            return refusal
        if (refusal := service.authorize(request, present, correct)) is not None:
            return refusal
        if opts.bad_body and state.once("bad_body"):
            return _bad_body(opts.bad_body, opts.too_big_bytes)
        return None

    def asset(rest: str) -> Response:
        found = assets.get(request.path)
        if found is None:
            return Response("Not Found", status=404, mimetype="text/plain")
        status = opts.image_status.get(found.post) if found.post is not None else None
        if status is not None and status != 200:
            return _image_refused(status, opts.rate_limit_wait_s)
        return found.response()

    prefixes = sorted({"/" + path.split("/")[1] for path in assets})
    for prefix in prefixes:
        app.add_url_rule(f"{prefix}/<path:rest>", f"asset{prefix}", asset)
    return state


class _Builder(Protocol):
    """Renders a service-neutral draft as one service's post."""

    service: str

    def __call__(self, d: _Draft) -> _Entry: ...


def _entries_by_tag(opts: ReplicaOptions, build: _Builder) -> dict[str, list[_Entry]]:
    """Every known tag's posts, rendered by `build`, newest first."""
    return {tag: [build(d) for d in _drafts(opts, build.service, tag)] for tag in sorted(opts.tags)}


def _truthy_rails(value: str | None) -> bool:
    """Rails' boolean cast of a parameter ("0", "f", "false", "off" and "" are false)."""
    return value is not None and value.strip().lower() not in {"", "0", "f", "false", "off"}


def _digits(value: str | None) -> str | None:
    """An id parameter, or None when it is absent or not a number."""
    return value if value and value.isdigit() else None


def _ruby_to_i(value: str) -> int:
    """Ruby's String#to_i: the leading integer, 0 when there is none."""
    digits = ""
    for i, ch in enumerate(value.strip()):
        if ch.isdigit() or (i == 0 and ch in "+-"):
            digits += ch
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


# ---------------------------------------------------------------------------------------------
# Mastodon and Pixelfed: statuses


def _mastodon_id(t: dt.datetime, seq: int) -> int:
    """Mastodon's snowflake: milliseconds since the epoch, shifted 16 bits, plus a sequence."""
    return (int(t.timestamp() * 1000) << 16) | (seq & 0xFFFF)


def _pixelfed_id(t: dt.datetime, seq: int) -> int:
    """Pixelfed's snowflake: milliseconds since 2019-02-10, shifted 22 bits."""
    return ((int(t.timestamp() * 1000) - 1549756800000) << 22) | (seq & 0xFFF)


def _pixelfed_time(status_id: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(((status_id >> 22) + 1549756800000) / 1000, dt.UTC)


def _account(d: _Draft, assets: dict[str, _Asset], url: str, acct_id: int) -> dict[str, Any]:
    avatar = f"/system/accounts/avatars/{acct_id}/original/{_digest('avatar', d.user)}.jpeg"
    assets[avatar] = _Asset("jpeg", None, _seed("avatar", d.user), 96, 96)
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


_BLURHASH = "UFH_,Y~q4n%M_3%MxuRj4nWBM{M{%MWBt7WB"
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


class _MastodonBuilder:
    """Mastodon statuses, as REST::StatusSerializer writes them."""

    service = "mastodon"

    def __init__(self, opts: ReplicaOptions, assets: dict[str, _Asset]) -> None:
        self.opts = opts
        self.assets = assets

    def __call__(self, d: _Draft) -> _Entry:
        status_id = str(_mastodon_id(d.created_at, d.index))
        kind = _MASTODON_KINDS[d.index % len(_MASTODON_KINDS)]
        media, images = self.media(d, kind, status_id)
        status = self.status(d, status_id, media)
        if self.opts.boosts and d.index % 7 == 2:
            status = self.boost(d, status)
            kind = "boost"
        post = ReplicaPost(
            index=d.index,
            tag=d.tag,
            key=status_id,
            created_at=d.created_at,
            url=f"/@{d.user}/{status_id}",
            caption=d.text,
            tags=d.tags,
            likes=d.likes,
            kind=kind,
            images=images,
        )
        return _Entry(post, status)

    def content(self, d: _Draft) -> str:
        anchors = " ".join(
            f'<a href="{HOST}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
            for t in d.tags
        )
        second = f"<br />{html.escape(d.second_line, quote=False)}" if d.second_line else ""
        return f"<p>{html.escape(d.caption, quote=False)}{second} {anchors}</p>"

    def status(self, d: _Draft, status_id: str, media: list[dict[str, Any]]) -> dict[str, Any]:
        acct_id = 109_000_000_000_000_000 + _seed("acct", d.user)
        return {
            "id": status_id,
            "created_at": _iso_ms(d.created_at),
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
            "account": _account(d, self.assets, f"{HOST}/@{d.user}", acct_id),
            "media_attachments": media,
            "mentions": [],
            "tags": [{"name": t, "url": f"{HOST}/tags/{t}"} for t in d.tags],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def boost(self, d: _Draft, original: dict[str, Any]) -> dict[str, Any]:
        """A boost: the tagged status, older, inside a status of its own without content."""
        when = d.created_at - dt.timedelta(hours=2)
        original = {
            **original,
            "id": str(_mastodon_id(when, d.index)),
            "created_at": _iso_ms(when),
        }
        booster = dataclasses.replace(d, user=f"{d.user}_fan", display_name="A fan")
        outer = self.status(booster, str(_mastodon_id(d.created_at, d.index)), [])
        outer["uri"] = f"{outer['uri']}/activity"
        return {**outer, "content": "", "tags": [], "reblog": original, "favourites_count": 0}

    def media(
        self, d: _Draft, kind: str, status_id: str
    ) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        """The attachments and the paths of the photos among them."""
        if kind == "none":
            return [], ()
        base = f"/system/media_attachments/files/{d.tag}/{d.index:04d}"
        out: list[dict[str, Any]] = []
        images: list[str] = []
        photos = 0 if kind in ("video", "gifv") else self.opts.images_per_post.get(d.index, 1)
        for k in range(photos):
            size = _shape(d.rng, 600)
            small = _scaled(size, 300)
            seed = _seed("mastodon", d.tag, d.index, k)
            name = _digest("m", d.tag, d.index, k)
            full, preview = (
                f"{base}/{k:03d}/original/{name}.jpeg",
                f"{base}/{k:03d}/small/{name}.jpeg",
            )
            self.assets[full] = _Asset("jpeg", d.index, seed, *size)
            self.assets[preview] = _Asset("jpeg", d.index, seed, *small)
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
                "blurhash": _BLURHASH,
            }
            if kind == "processing":  # not processed yet: only the original, remote copy
                remote = f"/remote/media/{d.tag}/{d.index:04d}/{k:03d}/{name}.jpg"
                self.assets[remote] = _Asset("jpeg", d.index, seed, *size)
                attachment |= {"url": None, "preview_url": None, "remote_url": HOST + remote}
                attachment["meta"] = {}
                images.append(remote)
            else:
                images.append(full)
            out.append(attachment)
        if kind in ("video", "gifv", "mixed"):
            clip = f"{base}/video/original/{_digest('v', d.tag, d.index)}.mp4"
            still = f"{base}/video/small/{_digest('v', d.tag, d.index)}.jpeg"
            self.assets[clip] = _Asset("mp4", d.index)
            self.assets[still] = _Asset("jpeg", d.index, _seed("still", d.tag, d.index), 320, 180)
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
                    "blurhash": _BLURHASH,
                }
            )
        return out, tuple(images)


def _mastodon_credential(opts: ReplicaOptions) -> Callable[[Request], tuple[bool, bool]]:
    def credential(req: Request) -> tuple[bool, bool]:
        token = _bearer(req) or req.args.get("access_token")
        return bool(token), _accepts(token, opts.token)

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


def _id_window(
    items: Sequence[_Entry], limit: int, max_id: str | None, lower: str | None, immediate: bool
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
    assets: dict[str, _Asset] = {}
    entries = _entries_by_tag(opts, _MastodonBuilder(opts, assets))
    timeline = "/api/v1/timelines/tag/"

    def authorize(req: Request, present: bool, correct: bool) -> Response | None:
        if opts.require_token and not correct:
            return _json({"error": "This method requires an authenticated user"}, 422)
        return None

    state = _install(
        app,
        opts,
        _Service(
            is_api=lambda req: req.path.startswith(timeline),
            credential=_mastodon_credential(opts),
            rate_limited=_mastodon_rate_limited,
            authorize=authorize,
        ),
        assets,
        entries,
    )

    @app.get(timeline + "<hashtag>")
    def tag_timeline(hashtag: str) -> Response:
        only_media = _truthy_rails(request.args.get("only_media"))
        visible = [
            e
            for e in entries.get(hashtag.lower(), [])
            if e.data["media_attachments"] or not only_media
        ]
        raw = request.args.get("limit")
        limit = 20 if raw is None else min(abs(_ruby_to_i(raw)), 40)
        max_id, min_id = _digits(request.args.get("max_id")), _digits(request.args.get("min_id"))
        lower = min_id or _digits(request.args.get("since_id"))
        start, stop = _id_window(visible, limit, max_id, lower, immediate=bool(min_id))
        page = state.page(f"{hashtag.lower()}:{only_media}", visible, start, stop)
        if not page:
            return _json([])
        keep = {k: request.args[k] for k in ("limit", "local", "only_media") if k in request.args}
        base = f"{_host()}{timeline}{quote(hashtag)}"
        nxt = urlencode(sorted({**keep, "max_id": page[-1].data["id"]}.items()))
        prev = urlencode(sorted({**keep, "min_id": page[0].data["id"]}.items()))
        link = f'<{base}?{nxt}>; rel="next", <{base}?{prev}>; rel="prev"'
        return _json([e.data for e in page], headers={"Link": link})

    @app.get("/api/v1/apps/verify_credentials")
    def verify_app() -> Response:
        _, correct = _mastodon_credential(opts)(request)
        if not correct:
            return _json({"error": "The access token is invalid"}, 401)
        return _json({"name": "StyleScout", "website": None, "scopes": ["read"]})

    @app.get("/api/v1/instance")
    def instance_v1() -> Response:
        return _json(
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


# Pixelfed posts by index (mod 9): photos, and now and then a video.
_PIXELFED_KINDS = ("image",) * 4 + ("video",) + ("image",) * 4


class _PixelfedBuilder(_MastodonBuilder):
    """Pixelfed's Mastodon-compatible statuses: its own ids, links and hashtag markup."""

    service = "pixelfed"

    def __call__(self, d: _Draft) -> _Entry:
        status_id = str(_pixelfed_id(d.created_at, d.index))
        kind = _PIXELFED_KINDS[d.index % len(_PIXELFED_KINDS)]
        acct_id = 700_000_000_000_000_000 + _seed("acct", d.user)
        media, images = self.pixelfed_media(d, kind, status_id, acct_id)
        status = self.status(d, status_id, media)
        status |= {
            "uri": f"{HOST}/p/{d.user}/{status_id}",
            "url": f"{HOST}/p/{d.user}/{status_id}",
            "account": _account(d, self.assets, f"{HOST}/{d.user}", acct_id),
            "tags": [{"name": t, "url": f"{HOST}/discover/tags/{t}"} for t in d.tags],
            "application": {"name": "web", "website": None},
            "pf_type": "photo" if kind == "image" else "video",
        }
        post = ReplicaPost(
            index=d.index,
            tag=d.tag,
            key=status_id,
            created_at=d.created_at,
            url=f"/p/{d.user}/{status_id}",
            caption=d.text,
            tags=d.tags,
            likes=d.likes,
            kind=kind,
            images=images,
        )
        return _Entry(post, status)

    def content(self, d: _Draft) -> str:
        anchors = " ".join(
            f'<a href="{HOST}/discover/tags/{t}?src=hash" title="#{t}" class="u-url hashtag" '
            f'rel="external nofollow noopener">#{t}</a>'
            for t in d.tags
        )
        return f"{html.escape(d.text, quote=False).replace(chr(10), '<br />')} {anchors}"

    def pixelfed_media(
        self, d: _Draft, kind: str, status_id: str, acct_id: int
    ) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        base = f"/storage/m/_v2/{acct_id}/{_digest('pf', d.tag, d.index, n=10)}"
        if kind == "video":
            clip, still = f"{base}/{d.index}.mp4", f"{base}/{d.index}_thumb.jpeg"
            self.assets[clip] = _Asset("mp4", d.index)
            self.assets[still] = _Asset(
                "jpeg", d.index, _seed("pf-still", d.tag, d.index), 320, 180
            )
            video = {"id": status_id[:12], "type": "video", "url": HOST + clip}
            video |= {"remote_url": None, "preview_url": HOST + still, "text_url": None}
            return [video | {"meta": None, "description": None, "blurhash": _BLURHASH}], ()
        out, images = [], []
        for k in range(self.opts.images_per_post.get(d.index, 1)):
            size = _shape(d.rng, 640)
            seed = _seed("pixelfed", d.tag, d.index, k)
            name = _digest("pf", d.tag, d.index, k, n=40)
            full, thumb = f"{base}/{name}.jpg", f"{base}/{name}_thumb.jpg"
            self.assets[full] = _Asset("jpeg", d.index, seed, *size)
            self.assets[thumb] = _Asset("jpeg", d.index, seed, *_scaled(size, 320))
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
                    "blurhash": _BLURHASH,
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
    assets: dict[str, _Asset] = {}
    entries = _entries_by_tag(opts, _PixelfedBuilder(opts, assets))
    timeline = "/api/v1/timelines/tag/"
    cutoff = _months_before(opts.reference, 6)

    def authorize(req: Request, present: bool, correct: bool) -> Response | None:
        if correct:
            return None
        if _wants_json(req):
            return _json({"error": "Unauthenticated."}, 500)
        return Response("", status=302, headers={"Location": f"{_host()}/login"})

    def rate_limited(wait_s: float) -> Response:
        headers = {
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": "0",
            "Retry-After": str(math.ceil(wait_s)),
            "X-RateLimit-Reset": str(math.ceil(time.time() + wait_s)),
        }
        if _wants_json(request):
            return _json({"error": "Too Many Attempts."}, 429, headers)
        page = "<!DOCTYPE html><html><head><title>Too Many Requests</title></head><body>429</body>"
        return Response(page, status=429, headers=headers, mimetype="text/html")

    state = _install(
        app,
        opts,
        _Service(
            is_api=lambda req: req.path.startswith(timeline),
            credential=_mastodon_credential(opts),
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
            if bound and (not bound.isdigit() or _pixelfed_time(int(bound)) < cutoff):
                return _json([])
        if min_id:  # the newest posts above min_id, as Pixelfed's query orders them
            above = [e for e in visible if int(e.data["id"]) > int(min_id)]
            return _json([e.data for e in above[:limit]])
        start, stop = _id_window(visible, limit, max_id, None, immediate=False)
        page = state.page(f"{hashtag.lower()}:{only_media}", visible, start, stop)
        return _json([e.data for e in page])

    @app.get("/login")
    def login_page() -> str:
        return (
            '<!DOCTYPE html><html lang="en"><head><title>pixelfed</title></head><body>'
            '<form method="POST" action="/login"><input name="email"><input name="password" '
            'type="password"><button>Login</button></form></body></html>'
        )

    @app.get("/api/v1/instance")
    def instance() -> Response:
        return _json(
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


class _BlueskyBuilder:
    """app.bsky.feed.defs#postView objects, with the record and the hydrated embed view."""

    service = "bluesky"

    def __init__(self, opts: ReplicaOptions, assets: dict[str, _Asset]) -> None:
        self.opts = opts
        self.assets = assets

    def __call__(self, d: _Draft) -> _Entry:
        did = _did(d.user)
        rkey = _tid(d.created_at, d.index)
        uri = f"at://{did}/app.bsky.feed.post/{rkey}"
        kind = _BLUESKY_KINDS[d.index % len(_BLUESKY_KINDS)]
        text, facets = self.text(d)
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "createdAt": _iso_ms(d.created_at),
            "langs": ["en"],
            "text": text,
            "facets": facets,
        }
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
            "indexedAt": _iso_ms(d.created_at + dt.timedelta(seconds=1)),
            "viewer": {"bookmarked": False, "threadMuted": False, "embeddingDisabled": False},
            "labels": [],
        }
        if view:
            post_view["embed"] = view
        post = ReplicaPost(
            index=d.index,
            tag=d.tag,
            key=uri,
            created_at=d.created_at,
            url=f"/profile/{d.user.replace('_', '-')}.bsky.social/post/{rkey}",
            caption=d.text,
            tags=d.tags,
            likes=d.likes,
            kind=kind,
            images=images,
        )
        return _Entry(post, post_view)

    @staticmethod
    def text(d: _Draft) -> tuple[str, list[dict[str, Any]]]:
        """The post text with its hashtags, and facets at their UTF-8 byte offsets."""
        text = d.text + " " + " ".join(f"#{t}" for t in d.tags)
        facets, at = [], len((d.text + " ").encode())
        for t in d.tags:
            end = at + len(f"#{t}".encode())
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": t}
            facets.append({"index": {"byteStart": at, "byteEnd": end}, "features": [feature]})
            at = end + 1
        return text, facets

    def author(self, d: _Draft, did: str) -> dict[str, Any]:
        avatar = f"/img/avatar/plain/{did}/{_cid('bafkrei', 'avatar', d.user)}@jpeg"
        self.assets[avatar] = _Asset("jpeg", None, _seed("avatar", d.user), 96, 96)
        return {
            "did": did,
            "handle": f"{d.user.replace('_', '-')}.bsky.social",
            "displayName": d.display_name,
            "avatar": HOST + avatar,
            "associated": {"chat": {"allowIncoming": "following"}},
            "labels": [],
            "createdAt": "2024-02-06T00:00:00.000Z",
        }

    def photos(self, d: _Draft, did: str) -> list[_Photo]:
        """(cid, thumb path, fullsize path, aspect ratio) for each of the post's photos."""
        out = []
        for k in range(self.opts.images_per_post.get(d.index, 1)):
            cid = _cid("bafkrei", "img", d.tag, d.index, k)
            size = _shape(d.rng, 600)
            seed = _seed("bluesky", d.tag, d.index, k)
            thumb = f"/img/feed_thumbnail/plain/{did}/{cid}@jpeg"
            full = f"/img/feed_fullsize/plain/{did}/{cid}@jpeg"
            self.assets[thumb] = _Asset("jpeg", d.index, seed, *_scaled(size, 300))
            self.assets[full] = _Asset("jpeg", d.index, seed, *size)
            out.append((cid, thumb, full, {"width": size[0], "height": size[1]}))
        return out

    @staticmethod
    def blob(cid: str, mime: str, size: int) -> dict[str, Any]:
        return {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": size}

    def embed(
        self, d: _Draft, kind: str, did: str
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
            "record": {"$type": "app.bsky.embed.record#view", "record": quoted},
            "media": view,
        }
        return raw, view, fulls

    def images(self, d: _Draft, photos: list[_Photo]) -> tuple[_Json, _Json]:
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

    def gallery(self, d: _Draft, photos: list[_Photo]) -> tuple[_Json, _Json]:
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

    def external(self, d: _Draft, did: str) -> tuple[_Json, _Json]:
        """A link card: its thumbnail is an image, but not a photo of the post."""
        cid = _cid("bafkrei", "card", d.tag, d.index)
        thumb = f"/img/feed_thumbnail/plain/{did}/{cid}@jpeg"
        self.assets[thumb] = _Asset("jpeg", d.index, _seed("card", d.tag, d.index), 300, 157)
        link = {"uri": f"{HOST}/blog/{d.tag}-guide-{d.index}", "title": "A guide to layering"}
        link["description"] = "Ten ways to wear one skirt."
        raw = {
            "$type": "app.bsky.embed.external",
            "external": link | {"thumb": self.blob(cid, "image/jpeg", 40_000)},
        }
        view = {"$type": "app.bsky.embed.external#view", "external": link | {"thumb": HOST + thumb}}
        return raw, view

    def video(self, d: _Draft, did: str) -> tuple[_Json, _Json]:
        cid = _cid("bafkrei", "video", d.tag, d.index)
        base = f"/watch/{did}/{cid}"
        self.assets[f"{base}/playlist.m3u8"] = _Asset("m3u8", d.index)
        still = _Asset("jpeg", d.index, _seed("vthumb", d.tag, d.index), 320, 180)
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

    def quoted(self, d: _Draft) -> dict[str, Any]:
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
                "createdAt": _iso_ms(when),
                "text": "Which one?",
            },
            "labels": [],
            "likeCount": 3,
            "replyCount": 1,
            "repostCount": 0,
            "quoteCount": 1,
            "indexedAt": _iso_ms(when),
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
    assets: dict[str, _Asset] = {}
    entries = _entries_by_tag(opts, _BlueskyBuilder(opts, assets))
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
            return bool(password), _accepts(password, opts.token)
        scope = (
            "com.atproto.refresh" if req.path.endswith("refreshSession") else "com.atproto.access"
        )
        token = _bearer(req)
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
        verdict = token_state(_bearer(req), "com.atproto.access")
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

    state = _install(
        app,
        opts,
        _Service(
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
        if not known or not _accepts(str(body["password"]), opts.token):
            message = "Invalid identifier or password"
            return _xrpc_error(401, "AuthenticationRequired", message, **headers)
        return _json(new_session(), headers=headers)

    @app.post("/xrpc/com.atproto.server.refreshSession")
    def refresh_session() -> Response:
        token = _bearer(request)
        verdict = token_state(token, "com.atproto.refresh")
        if verdict == "missing":
            return _xrpc_error(401, "AuthMissing", "Authentication Required")
        if verdict != "ok":
            return _xrpc_error(400, "ExpiredToken", "Token has been revoked")
        with state.lock:
            tokens.pop(token or "", None)
        return _json(new_session())

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
        return _json(body)

    return app


# ---------------------------------------------------------------------------------------------
# Flickr

# Flickr's size suffixes: (suffix, long side); extras url_X map to them.
_FLICKR_SIZES = {
    "_s": 75,
    "_q": 150,
    "_t": 100,
    "_m": 240,
    "_n": 320,
    "": 500,
    "_z": 640,
    "_c": 800,
    "_b": 1024,
}
_FLICKR_EXTRAS_URL = {
    "url_sq": "_s",
    "url_q": "_q",
    "url_t": "_t",
    "url_s": "_m",
    "url_n": "_n",
    "url_m": "",
    "url_z": "_z",
    "url_c": "_c",
    "url_l": "_b",
}
_FLICKR_KEY_CHARS = set("0123456789abcdef")


class _FlickrBuilder:
    """Flickr photos: the public feed's item and the REST API's photo, one photo per post."""

    service = "flickr"

    def __init__(self, opts: ReplicaOptions, assets: dict[str, _Asset]) -> None:
        self.opts = opts
        self.assets = assets

    def __call__(self, d: _Draft) -> _Entry:
        photo_id = str(50_000_000_000 + int(d.created_at.timestamp()))  # grows with time
        secret = _digest("secret", d.tag, d.index, n=10)
        owner = f"{100_000_000 + _seed('owner', d.user) % 99_999_999}@N0{_seed(d.user) % 8 + 1}"
        size = _shape(d.rng, 1024)
        seed = _seed("flickr", d.tag, d.index)
        paths = {}
        for suffix, side in _FLICKR_SIZES.items():
            w, h = (side, side) if suffix in ("_s", "_q") else _scaled(size, side)
            path = f"/65535/{photo_id}_{secret}{suffix}.jpg"
            self.assets[path] = _Asset("jpeg", d.index, seed, w, h)
            paths[suffix] = (path, w, h)
        title = f"{d.display_name.split()[0]}'s {d.caption.split(' & ')[0].lower()}"
        taken = d.created_at - dt.timedelta(hours=5)
        data = {
            "photo_id": photo_id,
            "secret": secret,
            "owner": owner,
            "ownername": d.display_name,
            "pathalias": d.user.replace("_", ""),
            "title": title,
            "description": d.text,
            "uploaded": d.created_at,
            "taken": taken,
            "tags": " ".join(d.tags),
            "views": d.rng.randint(50, 9000),
            "faves": d.likes,
            "comments": d.replies,
            "paths": paths,
        }
        post = ReplicaPost(
            index=d.index,
            tag=d.tag,
            key=photo_id,
            created_at=d.created_at,
            url=f"/photos/{owner}/{photo_id}/",
            caption=d.text,
            tags=d.tags,
            likes=d.likes,
            kind="photo",
            images=(paths["_b"][0],),
        )
        return _Entry(post, data)


def _feed_item(p: dict[str, Any]) -> dict[str, Any]:
    small, w, h = p["paths"]["_m"]
    link = f"{HOST}/photos/{p['owner']}/{p['photo_id']}/"
    title = html.escape(p["title"], quote=False)
    description = (
        f' <p><a href="{HOST}/people/{p["owner"]}/">{html.escape(p["ownername"])}</a> posted a '
        f'photo:</p> <p><a href="{link}" title="{title}"><img src="{HOST}{small}" width="{w}" '
        f'height="{h}" alt="{title}" /></a></p> <p>{html.escape(p["description"], quote=False)}</p>'
    )
    return {
        "title": p["title"],
        "link": link,
        "media": {"m": HOST + small},
        "date_taken": p["taken"]
        .astimezone(dt.timezone(dt.timedelta(hours=-8)))
        .replace(microsecond=0)
        .isoformat(),
        "description": description,
        "published": p["uploaded"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "author": f'nobody@flickr.com ("{p["ownername"]}")',
        "author_id": p["owner"],
        "tags": p["tags"],
    }


def _rest_photo(p: dict[str, Any], extras: set[str]) -> dict[str, Any]:
    photo: dict[str, Any] = {
        "id": p["photo_id"],
        "owner": p["owner"],
        "secret": p["secret"],
        "server": "65535",
        "farm": 66,
        "title": p["title"],
        "ispublic": 1,
        "isfriend": 0,
        "isfamily": 0,
    }
    simple = {
        "license": ("license", "0"),
        "date_upload": ("dateupload", str(int(p["uploaded"].timestamp()))),
        "owner_name": ("ownername", p["ownername"]),
        "tags": ("tags", p["tags"]),
        "views": ("views", str(p["views"])),
        "path_alias": ("pathalias", p["pathalias"]),
        "count_faves": ("count_faves", str(p["faves"])),
        "count_comments": ("count_comments", str(p["comments"])),
    }
    for extra in extras:
        if extra in simple:
            key, value = simple[extra]
            photo[key] = value
        elif extra == "description":
            photo["description"] = {"_content": p["description"]}
        elif extra == "date_taken":
            photo["datetaken"] = p["taken"].strftime("%Y-%m-%d %H:%M:%S")
            photo["datetakengranularity"] = 0
            photo["datetakenunknown"] = "0"
        elif extra == "media":
            photo |= {"media": "photo", "media_status": "ready"}
        elif extra in _FLICKR_EXTRAS_URL:
            path, w, h = p["paths"][_FLICKR_EXTRAS_URL[extra]]
            letter = extra[4:]
            photo |= {extra: HOST + path, f"height_{letter}": h, f"width_{letter}": w}
    return photo


def _flickr_escape(body: str) -> str:
    """What Flickr's feed does to JSON text: `\\/` for slashes and `\\'` for apostrophes (the
    second is not valid JSON; strict parsers refuse the feed)."""
    return body.replace("/", "\\/").replace("'", "\\'")


def create_flickr_app(opts: ReplicaOptions | None = None) -> Flask:
    """Flickr's public tag feed and REST photo search, with photos at Flickr's size suffixes.

    `GET /services/feeds/photos_public.gne?tags=boho&format=json[&nojsoncallback=1]` answers
    the 20 newest, no paging, wrapped `jsonFlickrFeed(...)` without nojsoncallback, with `\\'`
    inside strings either way; no `format` is Atom. `GET /services/rest/?method=
    flickr.photos.search&api_key=..&tags=..&extras=..&page=N&per_page=M&format=json
    &nojsoncallback=1` answers {"photos": {page, pages, perpage, total, photo: [...]}, "stat":
    "ok"}; extras as Flickr names them in the answer (date_upload -> dateupload, owner_name ->
    ownername, url_l -> url_l/width_l/height_l at the `_b` 1024 size, count_faves); a missing
    or malformed key is HTTP 200 {"stat": "fail", "code": 100, "message": "Invalid API Key (Key
    has invalid format)"}, an unknown well-formed one "(Key not found)". Photo files are
    `/65535/<id>_<secret><suffix>.jpg` (`_m` 240 px ... `_b` 1024 px). `images_per_post` does
    not apply (one photo per post). The 429 (Retry-After, HTML) is a guess: Flickr documents none.
    """
    opts = opts or ReplicaOptions()
    app = Flask(__name__)
    assets: dict[str, _Asset] = {}
    entries = _entries_by_tag(opts, _FlickrBuilder(opts, assets))
    feed_path, rest_path = "/services/feeds/photos_public.gne", "/services/rest/"

    def key_state(key: str | None) -> str:
        if not key or len(key) != 32 or not set(key) <= _FLICKR_KEY_CHARS:
            return "malformed"
        return "ok" if opts.token is None or key == opts.token else "unknown"

    def credential(req: Request) -> tuple[bool, bool]:
        key = req.args.get("api_key")
        return bool(key), key_state(key) == "ok"

    def rest_answer(obj: dict[str, Any]) -> Response:
        if request.args.get("nojsoncallback") == "1":
            return _json(obj)
        body = json.dumps(obj, separators=(",", ":")).replace(HOST, _host())
        return Response(f"jsonFlickrApi({body})", mimetype="text/javascript")

    def authorize(req: Request, present: bool, correct: bool) -> Response | None:
        if req.path != rest_path or correct:
            return None
        why = (
            "Key not found"
            if key_state(req.args.get("api_key")) == "unknown"
            else "Key has invalid format"
        )
        return rest_answer({"stat": "fail", "code": 100, "message": f"Invalid API Key ({why})"})

    def rate_limited(wait_s: float) -> Response:
        page = "<html><body><h1>Too Many Requests</h1></body></html>"
        headers = {"Retry-After": str(math.ceil(wait_s))}
        return Response(page, status=429, mimetype="text/html", headers=headers)

    state = _install(
        app,
        opts,
        _Service(
            is_api=lambda req: req.path in (feed_path, rest_path),
            credential=credential,
            rate_limited=rate_limited,
            authorize=authorize,
        ),
        assets,
        entries,
    )

    def tagged(raw: str, mode: str) -> list[_Entry]:
        tags = [t.strip().lower() for t in raw.split(",") if t.strip()]
        if not tags or (mode == "all" and len(set(tags)) > 1):
            return []
        found = [e for t in dict.fromkeys(tags) for e in entries.get(t, [])]
        return sorted(found, key=lambda e: e.data["uploaded"], reverse=True)

    @app.get(feed_path)
    def public_feed() -> Response:
        raw = request.args.get("tags", "")
        items = state.page(f"feed:{raw}", tagged(raw, request.args.get("tagmode", "all")), 0, 20)
        if request.args.get("format") != "json":
            return Response(
                _atom(raw, items).replace(HOST, _host()), mimetype="application/atom+xml"
            )
        feed = {
            "title": f"Recent Uploads tagged {raw}",
            "link": f"{HOST}/photos/tags/{raw}/",
            "description": "",
            "modified": items[0].data["uploaded"].strftime("%Y-%m-%dT%H:%M:%SZ") if items else "",
            "generator": "https://www.flickr.com",
            "items": [_feed_item(e.data) for e in items],
        }
        body = _flickr_escape(
            json.dumps(feed, indent="\t", ensure_ascii=False).replace(HOST, _host())
        )
        if request.args.get("nojsoncallback") == "1":
            return Response(body, mimetype="application/json")
        return Response(f"jsonFlickrFeed({body})", mimetype="application/javascript")

    @app.get(rest_path)
    def rest() -> Response:
        method = request.args.get("method", "")
        if method != "flickr.photos.search":
            return rest_answer(
                {"stat": "fail", "code": 112, "message": f'Method "{method}" not found'}
            )
        found = tagged(request.args.get("tags", ""), request.args.get("tag_mode", "any"))
        try:
            per_page = min(max(int(request.args.get("per_page", 100)), 1), 500)
            number = max(int(request.args.get("page", 1)), 1)
        except ValueError:
            per_page, number = 100, 1
        start = (number - 1) * per_page
        listing = f"rest:{request.args.get('tags', '')}"
        page = state.page(listing, found, start, start + per_page)
        extras = {x.strip() for x in request.args.get("extras", "").split(",") if x.strip()}
        total = len(found) if page or start else 0
        photos = {
            "page": number,
            "pages": math.ceil(total / per_page),
            "perpage": per_page,
            "total": total,
            "photo": [_rest_photo(e.data, extras) for e in page],
        }
        return rest_answer({"photos": photos, "stat": "ok"})

    return app


def _atom(tag: str, items: list[_Entry]) -> str:
    entries = "".join(
        f"<entry><title>{html.escape(e.data['title'])}</title>"
        f'<link rel="alternate" type="text/html" href="{HOST}{e.post.url}"/>'
        f'<link rel="enclosure" type="image/jpeg" href="{HOST}{e.post.images[0]}"/></entry>'
        for e in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8" standalone="yes"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Recent Uploads tagged {html.escape(tag)}</title>{entries}</feed>"
    )


# ---------------------------------------------------------------------------------------------
# Tumblr

_TUMBLR_SIZES = (640, 500, 400, 250, 100)


class _TumblrBuilder:
    """Legacy-format Tumblr posts: photo posts with photo sizes, and some text posts."""

    service = "tumblr"

    def __init__(self, opts: ReplicaOptions, assets: dict[str, _Asset]) -> None:
        self.opts = opts
        self.assets = assets

    def __call__(self, d: _Draft) -> _Entry:
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
            "reblog_key": _digest("reblog", d.tag, d.index, n=8),
            "tags": list(d.tags),
            "short_url": f"{HOST}/t/{_digest('short', post_id, n=8)}",
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
        summary = ReplicaPost(
            index=d.index,
            tag=d.tag,
            key=str(post_id),
            created_at=d.created_at,
            url=f"/blog/{blog}/post/{post_id}/{slug}",
            caption=d.text,
            tags=d.tags,
            likes=d.likes,
            kind=kind,
            images=images,
        )
        return _Entry(summary, post)

    def photos(self, d: _Draft) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        out, originals = [], []
        for k in range(self.opts.images_per_post.get(d.index, 1)):
            size = _shape(d.rng, 640)
            seed = _seed("tumblr", d.tag, d.index, k)
            base = f"/media/{_digest('t', d.tag, d.index, k, n=32)}/{_digest('u', d.index, k)}"
            sizes = []
            for side in _TUMBLR_SIZES:
                w, h = _scaled(size, side)
                path = f"{base}/s{w}x{h}/{_digest('f', d.tag, d.index, k, n=40)}.jpg"
                self.assets[path] = _Asset("jpeg", d.index, seed, w, h)
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
    assets: dict[str, _Asset] = {}
    entries = _entries_by_tag(opts, _TumblrBuilder(opts, assets))

    def credential(req: Request) -> tuple[bool, bool]:
        key = req.args.get("api_key")
        return bool(key), _accepts(key, opts.token)

    def authorize(req: Request, present: bool, correct: bool) -> Response | None:
        if correct:
            return None
        error = {"title": "Unauthorized", "code": 0, "detail": "Got an error. Try again."}
        body = {"meta": {"status": 401, "msg": "Unauthorized"}, "response": [], "errors": [error]}
        return _json(body, 401)

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
        return _json(body, 429, headers)

    state = _install(
        app,
        opts,
        _Service(
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
        return _json({"meta": {"status": 200, "msg": "OK"}, "response": [e.data for e in page]})

    return app


# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    with BackgroundServer(app, "127.0.0.1", 0) as server:
        yield server.url


__all__ = [
    "REFERENCE",
    "ReplicaOptions",
    "ReplicaPost",
    "create_bluesky_app",
    "create_flickr_app",
    "create_mastodon_app",
    "create_pixelfed_app",
    "create_tumblr_app",
    "replica_jpeg",
    "serving",
]
