"""What the service replicas share: options, the posts they hold, their images, request log,
faults, paging quirks and answers. One module per service sits beside this one."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import math
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from flask import Flask, Request, Response, request
from PIL import Image

from sandbox.demo_feed.server import BackgroundServer
from sandbox.fault_server import badly_encoded

REFERENCE = dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC)
HOST = "http://replica.host.invalid"  # stands for the request's host in pre-rendered answers

BadBody = Literal["not_json", "too_big", "deep", "not_gzip", "chained", "junk"]


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
    bad_body_after: int = 0  # good API pages served before the bad one
    too_big_bytes: int = 30_000_000
    junk_items: int = 100_000  # bad_body junk: a list of this many `junk_item`s
    junk_item: str = "{}"  # JSON text of one item
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


@lru_cache(maxsize=64)
def replica_gif(seed: int, width: int, height: int) -> bytes:
    """An animated GIF of two frames of the seed's grid (the second one mirrored)."""
    first = Image.open(io.BytesIO(replica_jpeg(seed, width, height))).convert("P")
    second = first.transpose(Image.FLIP_LEFT_RIGHT)
    out = io.BytesIO()
    first.save(out, "GIF", save_all=True, append_images=[second], duration=200, loop=0)
    return out.getvalue()


_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 512  # not a picture


@dataclass(frozen=True)
class Asset:
    """A file the replica serves: a photo (seed and size), a GIF, a video or a playlist."""

    kind: Literal["jpeg", "gif", "mp4", "m3u8"]
    post: int | None  # the post it belongs to (None: an avatar)
    seed: int = 0
    width: int = 0
    height: int = 0

    def response(self) -> Response:
        if self.kind == "mp4":
            return Response(_MP4, mimetype="video/mp4")
        if self.kind == "m3u8":
            return Response("#EXTM3U\n#EXT-X-VERSION:3\n", mimetype="application/vnd.apple.mpegurl")
        if self.kind == "gif":
            return Response(replica_gif(self.seed, self.width, self.height), mimetype="image/gif")
        return Response(replica_jpeg(self.seed, self.width, self.height), mimetype="image/jpeg")


def seed_of(*parts: object) -> int:
    return zlib.crc32(":".join(map(str, parts)).encode())


def digest_of(*parts: object, n: int = 16) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:n]


def shape(rng: random.Random, long_side: int) -> tuple[int, int]:
    """Portrait (4:5) or landscape (4:3) at `long_side` pixels."""
    if rng.random() < 0.6:
        return long_side * 4 // 5, long_side
    return long_side, long_side * 3 // 4


def scaled(size: tuple[int, int], long_side: int) -> tuple[int, int]:
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
class Draft:
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


def _drafts(opts: ReplicaOptions, service: str, tag: str) -> list[Draft]:
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
            Draft(
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


def iso_ms(t: dt.datetime) -> str:
    """2026-11-15T12:00:00.000Z, as Mastodon and Bluesky write times."""
    t = t.astimezone(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def months_before(t: dt.datetime, months: int) -> dt.datetime:
    month = t.month - months
    year = t.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return t.replace(year=year, month=month, day=min(t.day, 28))


# ---------------------------------------------------------------------------------------------
# Shared machinery: request log, faults, paging quirks, answers


@dataclass
class Entry:
    """A post: what tests see, and the service's JSON for it with `HOST` for the host."""

    post: ReplicaPost
    data: dict[str, Any]


@dataclass
class Service:
    """How one service decides what a request is and how it answers the shared faults."""

    is_api: Callable[[Request], bool]
    credential: Callable[[Request], tuple[bool, bool]]  # (present, correct)
    rate_limited: Callable[[float], Response]
    authorize: Callable[[Request, bool, bool], Response | None] = lambda *_: None
    validate: Callable[[Request], Response | None] = lambda _: None
    is_login: Callable[[Request], bool] = lambda _: False

    def kind_of(self, req: Request, assets: dict[str, Asset]) -> str:
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
        self.answered = 0  # API requests that passed the faults before the bad body
        self.done: set[str] = set()
        self.first_page_end: dict[str, int] = {}

    def bad_body_due(self) -> bool:
        """True for the one API answer that gets the bad body: the first after
        `bad_body_after` answers that passed the other checks."""
        with self.lock:
            self.answered += 1
            return self.answered == self.opts.bad_body_after + 1

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


def _bad_body(opts: ReplicaOptions) -> Response:
    """A page a client must survive: HTML labelled JSON, a huge or a deeply nested body, a
    hostile `Content-Encoding` (not gzip, or gzip eight times over), a list of junk items."""
    kind, size = opts.bad_body, opts.too_big_bytes
    if kind in ("not_gzip", "chained"):
        body, headers = badly_encoded(b"[]", kind)
        return Response(body, content_type="application/json", headers=headers)
    if kind == "junk":
        items = ",".join([opts.junk_item] * opts.junk_items)
        return Response(f"[{items}]", content_type="application/json")
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


def request_host() -> str:
    return request.host_url.rstrip("/")


def json_answer(obj: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise a pre-rendered answer for this request's host."""
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).replace(HOST, request_host())
    return Response(body, status=status, headers=headers, mimetype="application/json")


def bearer(req: Request) -> str | None:
    value = req.headers.get("Authorization", "")
    if value[:7].lower() != "bearer ":
        return None
    return value[7:].strip() or None


def accepts(token: str | None, expected: str | None) -> bool:
    return bool(token) and (expected is None or token == expected)


_SECRET_ARGS = {"api_key", "access_token", "password"}


def install(
    app: Flask,
    opts: ReplicaOptions,
    service: Service,
    assets: dict[str, Asset],
    entries: dict[str, list[Entry]],
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
        if opts.bad_body and state.bad_body_due():
            return _bad_body(opts)
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


class Builder:
    """Renders a service-neutral draft as one service's post (subclasses: one per service)."""

    service: str

    def __init__(self, opts: ReplicaOptions, assets: dict[str, Asset]) -> None:
        self.opts = opts
        self.assets = assets

    def __call__(self, d: Draft) -> Entry:
        raise NotImplementedError

    @staticmethod
    def post(d: Draft, key: str, url: str, kind: str, images: tuple[str, ...]) -> ReplicaPost:
        """What a test expects the scraper to find for the draft as this service shows it."""
        return ReplicaPost(
            index=d.index,
            tag=d.tag,
            key=key,
            created_at=d.created_at,
            url=url,
            caption=d.text,
            tags=d.tags,
            likes=d.likes,
            kind=kind,
            images=images,
        )


def entries_by_tag(opts: ReplicaOptions, build: Builder) -> dict[str, list[Entry]]:
    """Every known tag's posts, rendered by `build`, newest first."""
    return {tag: [build(d) for d in _drafts(opts, build.service, tag)] for tag in sorted(opts.tags)}


def truthy_rails(value: str | None) -> bool:
    """Rails' boolean cast of a parameter ("0", "f", "false", "off" and "" are false)."""
    return value is not None and value.strip().lower() not in {"", "0", "f", "false", "off"}


def digits_of(value: str | None) -> str | None:
    """An id parameter, or None when it is absent or not a number."""
    return value if value and value.isdigit() else None


def ruby_to_i(value: str) -> int:
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


@contextlib.contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    with BackgroundServer(app, "127.0.0.1", 0) as server:
        yield server.url
