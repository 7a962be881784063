"""A local site that misbehaves on purpose (in the spirit of Scrapy's mock server).

Every image case has its own URL; `/page` lists them all as posts. Stateful cases (500 then OK,
429 then OK) count their hits. `/encodings` lists good images and ones with a hostile
`Content-Encoding`; `robots_encoding` sends robots.txt so too.
"""

from __future__ import annotations

import gzip
import io
import struct
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import Literal

import numpy as np
from flask import Flask, Response, redirect
from PIL import Image

EXPECTED_FAILURES = {
    "timeout": 1,
    "truncated": 1,
    "corrupt": 1,
    "not_image": 2,
    "too_many_pixels": 1,
    "too_large": 1,
    "redirect_loop": 1,
    "bad_url": 2,
    "robots": 1,
    "http_404": 1,
    "bad_encoding": 2,
}
GOOD = 6  # good0-3, plus flaky and rate-limited once they answer

# (post link, caption HTML) of /hostile's posts
HOSTILE_POSTS = [
    ("javascript:alert(1)", "&lt;script&gt;alert(1)&lt;/script&gt; so chic #boho"),
    ("/p/2", "nice <script>window.__pwned = 1</script> <b>bold</b> #minimal"),
    ("data:text/html,<script>alert(2)</script>", "#🔥fire #موضة #אופנה #boho✨ ‮txet‬"),
    ("/p/4", "long " * 2000 + "#longread"),
    ("  JAVASCRIPT:alert(3)", "&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt; #street"),
]


@lru_cache(maxsize=16)
def good_jpeg(n: int, scale: float = 1.0) -> bytes:
    """A distinct photo-like JPEG per n (noise, so perceptual hashes differ)."""
    rng = np.random.default_rng(n)
    small = rng.integers(0, 255, size=(8, 8, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize((160, 200), Image.BICUBIC)
    if scale != 1.0:
        img = img.resize((int(160 * scale), int(200 * scale)), Image.LANCZOS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90 if scale == 1.0 else 75)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=1)
def bomb_png(side: int = 20_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels that compresses to a few dozen KB."""
    row = b"\x00" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


IMAGE_SOURCES = [
    "/img/good0.jpg",
    "/img/good1.jpg",
    "/img/good2.jpg",
    "/img/good3.jpg",
    "/img/flaky.jpg",
    "/img/ratelimited.jpg",
    "/img/dup.jpg",
    "/img/near.jpg",
    "/img/slow.jpg",
    "/img/truncated.jpg",
    "/img/corrupt.jpg",
    "/img/html.jpg",
    "/img/page.jpg",
    "/img/bomb.png",
    "/img/huge.jpg",
    "/img/loop.jpg",
    "file:///etc/passwd",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
    "/private/secret.jpg",
    "/img/missing.jpg",
    "/img/badgzip.jpg",
    "/img/gzip8.jpg",
]
ENCODING_SOURCES = [  # /encodings: three good images and two badly encoded ones
    "/img/good0.jpg",
    "/img/badgzip.jpg",
    "/img/good1.jpg",
    "/img/gzip8.jpg",
    "/img/good2.jpg",
]

BadEncoding = Literal["not_gzip", "chained"]
CHAINED_ENCODINGS = 8  # more links than urllib3 decodes (it refuses above 5)


def badly_encoded(body: bytes, kind: BadEncoding) -> tuple[bytes, dict[str, str]]:
    """`body` and its headers as a hostile site sends them: labelled gzip but not gzip
    (`not_gzip`), or really gzipped eight times over and labelled `gzip, gzip, ...` (`chained`)."""
    if kind == "not_gzip":
        return body, {"Content-Encoding": "gzip"}
    for _ in range(CHAINED_ENCODINGS):
        body = gzip.compress(body, mtime=0)
    return body, {"Content-Encoding": ", ".join(["gzip"] * CHAINED_ENCODINGS)}


def _posts(sources: list[str]) -> str:
    posts = "".join(
        f'<article class="post"><a class="post-link" href="/p/{i}">'
        f'<img class="post-image" src="{src}"></a><p class="caption">case {i} #fault</p>'
        f'<time datetime="2026-11-0{1 + i % 9}T10:00:00Z"></time></article>'
        for i, src in enumerate(sources)
    )
    return f"<html><body>{posts}</body></html>"


def source_entry(page_url: str) -> dict[str, object]:
    """The `sources:` entry that reads one of this site's pages (`/page`, `/encodings`) as a
    person's html source would, robots.txt honoured."""
    return {
        "url": page_url,
        "kind": "html",
        "allow_private_network": True,
        "robots": True,
        "selectors": {"post": "article.post", "image": "img.post-image", "link": "a.post-link"},
    }


def create_fault_app(
    slow_seconds: float = 3.0, robots_encoding: BadEncoding | None = None
) -> Flask:
    app = Flask(__name__)
    hits: Counter[str] = Counter()
    app.extensions["hits"] = hits

    @app.get("/robots.txt")
    def robots() -> Response:
        rules = b"User-agent: *\nDisallow: /private/\n"
        if robots_encoding is None:
            return Response(rules, mimetype="text/plain")
        body, headers = badly_encoded(rules, robots_encoding)
        return Response(body, mimetype="text/plain", headers=headers)

    @app.get("/page")
    def page() -> str:
        return _posts(IMAGE_SOURCES)

    @app.get("/encodings")
    def encodings() -> str:
        return _posts(ENCODING_SOURCES)

    def jpeg(body: bytes) -> Response:
        return Response(body, mimetype="image/jpeg")

    @app.get("/img/good<int:n>.jpg")
    def good(n: int) -> Response:
        return jpeg(good_jpeg(n))

    @app.get("/img/dup.jpg")
    def dup() -> Response:
        return jpeg(good_jpeg(0))

    @app.get("/img/near.jpg")
    def near() -> Response:
        return jpeg(good_jpeg(1, scale=0.9))

    @app.get("/img/flaky.jpg")
    def flaky() -> Response:
        hits["flaky"] += 1
        return Response("busy", status=500) if hits["flaky"] == 1 else jpeg(good_jpeg(4))

    @app.get("/img/ratelimited.jpg")
    def ratelimited() -> Response:
        hits["ratelimited"] += 1
        if hits["ratelimited"] == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return jpeg(good_jpeg(5))

    @app.get("/img/slow.jpg")
    def slow() -> Response:
        body = good_jpeg(6)

        def trickle() -> Iterator[bytes]:
            yield body[:100]
            time.sleep(slow_seconds)
            yield body[100:]

        return Response(trickle(), mimetype="image/jpeg")

    @app.get("/img/truncated.jpg")
    def truncated() -> Response:
        body = good_jpeg(7)
        return Response(
            iter([body[:1000]]), mimetype="image/jpeg", headers={"Content-Length": str(len(body))}
        )

    @app.get("/img/badgzip.jpg")
    def badgzip() -> Response:
        body, headers = badly_encoded(good_jpeg(9), "not_gzip")
        return Response(body, mimetype="image/jpeg", headers=headers)

    @app.get("/img/gzip8.jpg")
    def gzip8() -> Response:
        body, headers = badly_encoded(good_jpeg(20), "chained")
        return Response(body, mimetype="image/jpeg", headers=headers)

    @app.get("/img/corrupt.jpg")
    def corrupt() -> Response:
        return jpeg(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20)

    @app.get("/img/html.jpg")
    def html_as_jpeg() -> Response:
        return jpeg(b"<!doctype html><html><body>not a picture</body></html>")

    @app.get("/img/page.jpg")
    def page_jpg() -> Response:
        return Response("<html>login first</html>", mimetype="text/html")

    @app.get("/img/bomb.png")
    def bomb() -> Response:
        return Response(bomb_png(), mimetype="image/png")

    @app.get("/img/huge.jpg")
    def huge() -> Response:
        block = b"\xff\xd8\xff" + b"\x00" * (1024 * 1024 - 3)

        def stream() -> Iterator[bytes]:
            for _ in range(50):
                yield block

        return Response(stream(), mimetype="image/jpeg")  # no Content-Length: capped while read

    @app.get("/img/loop.jpg")
    def loop() -> Response:
        return redirect("/img/loop.jpg", code=302)

    @app.get("/hostile")
    def hostile() -> str:
        """Posts whose text is hostile: markup in captions, script links, odd hashtags."""
        return (
            "<html><body>"
            + "".join(
                f'<article class="post"><a class="post-link" href="{link}">'
                f'<img class="post-image" src="/img/good{10 + i}.jpg"></a>'
                f'<p class="caption">{caption}</p></article>'
                for i, (link, caption) in enumerate(HOSTILE_POSTS)
            )
            + "</body></html>"
        )

    @app.get("/private/secret.jpg")
    def private() -> Response:
        return jpeg(good_jpeg(8))

    return app
