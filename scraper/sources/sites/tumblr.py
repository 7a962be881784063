"""Tumblr's tagged posts (`/v2/tagged`) with your app's consumer key.

Tumblr answers in two formats. Asked with `npf=true` (what this entry does), every post comes
in the Neue Post Format: `content` blocks (and, for a reblog, the `trail` of the posts it
reblogs), each photo an `image` block whose `media` lists its sizes widest first. Without it,
posts come in the legacy format: photo posts carry `photos[].original_size`, and posts made in
the apps (blocks-format posts, `is_blocks_post_format: true`) come as `type: "text"` with their
photos as `<figure><img srcset>` in the `body` HTML. Both are read, so an entry that drops
`npf` still finds every photo. GIFs, videos, audio and posts with text alone are skipped, each
by its reason.
"""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup

from scraper.sources.api import ApiSource, web_url
from stylescout.settings import ApiConfig, CredentialConfig, FieldPaths, PagingConfig, SourceConfig

ENTRY = SourceConfig(
    kind="api",
    module="tumblr",
    enabled=False,
    base_url="https://api.tumblr.com",
    url="{base_url}/v2/tagged",
    max_pages=25,
    api=ApiConfig(
        params={"tag": "{tag}", "limit": "20", "npf": "true"},
        items="response",
        fields=FieldPaths(
            # TumblrSource reads photos itself (GIFs left out); these paths say where they are
            image=["content[type=image].media[0].url", "photos[].original_size.url"],
            post_url="post_url",
            text="summary",
            text_is_html=False,
            time="timestamp",
            likes="note_count",
            tags="tags",
            author="blog_name",
            author_url="blog.url",
        ),
        paging=PagingConfig(kind="max_id", param="before", field="timestamp"),
        request_spacing_s=0.5,
        credential=CredentialConfig(
            env="STYLESCOUT_TUMBLR_API_KEY",
            send="param",
            param="api_key",
            required=True,
            help="the OAuth consumer key of an app you register (tumblr.com/oauth/apps)",
        ),
    ),
)

MAX_BODY = 200_000  # characters of a legacy body parsed for figures: a post, not a page
MAX_BLOCKS = 200  # content blocks read per post, trail included
ANIMATED = ("image/gif", "image/webp-animated")
# legacy post types without photos, by what they are
LEGACY_REASONS = {"video": "video", "audio": "audio", "link": "link"}


class TumblrSource(ApiSource):
    """Photos from NPF image blocks (the post's and its reblog trail's), legacy photo posts and
    the figures of blocks-format posts' bodies; the rest skipped by reason."""

    def image_urls(self, item: dict[str, Any], base: str) -> list[str]:
        urls = [u for u in (web_url(v, base) for v in self._photos(item)) if u]
        return list(dict.fromkeys(urls))[: self.api.max_images_per_post]

    def has_image_field(self, item: dict[str, Any]) -> bool:
        return any(key in item for key in ("content", "photos", "body")) or super().has_image_field(
            item
        )

    def skip_reason(self, item: dict[str, Any]) -> str:
        blocks = _blocks(item)
        if blocks:
            kinds = {b.get("type") for b in blocks}
            if any(_is_animated(b) for b in blocks if b.get("type") == "image"):
                return "animated"
            for kind in ("video", "audio", "link"):
                if kind in kinds:
                    return kind
            return "text only"
        kind = item.get("type")
        if isinstance(kind, str) and kind in LEGACY_REASONS:
            return LEGACY_REASONS[kind]
        body = item.get("body")
        if isinstance(body, str) and _body_images(body, animated=True):
            return "animated"
        if isinstance(body, str) and "<video" in body[:MAX_BODY]:
            return "video"
        return "text only"

    def _photos(self, item: dict[str, Any]) -> list[Any]:
        """Full-size photo addresses, in the post's order, from whichever format it came in."""
        blocks = _blocks(item)
        if blocks:
            return [_widest(b["media"]) for b in blocks if _is_photo(b)]
        photos = item.get("photos")
        if isinstance(photos, list):
            sizes = [p.get("original_size") for p in photos if isinstance(p, dict)]
            return [s.get("url") for s in sizes if isinstance(s, dict)]
        body = item.get("body")
        if isinstance(body, str):
            return _body_images(body, animated=False)
        return []


def _blocks(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The NPF content blocks of a post: those of the posts it reblogs (the trail, oldest
    first), then its own, capped."""
    out: list[dict[str, Any]] = []
    trail = item.get("trail")
    parts: list[Any] = []
    if isinstance(trail, list):
        parts = [t.get("content") for t in trail if isinstance(t, dict)]
    parts.append(item.get("content"))
    for content in parts:
        if isinstance(content, list):
            out.extend(b for b in content if isinstance(b, dict))
    return out[:MAX_BLOCKS]


def _is_animated(block: dict[str, Any]) -> bool:
    media = block.get("media")
    if not isinstance(media, list):
        return False
    types = [m.get("type") for m in media if isinstance(m, dict)]
    return any(isinstance(t, str) and t.lower() in ANIMATED for t in types)


def _is_photo(block: dict[str, Any]) -> bool:
    """An image block with a still photo (a GIF's first frame is not the look)."""
    media = block.get("media")
    return block.get("type") == "image" and isinstance(media, list) and not _is_animated(block)


def _widest(media: list[Any]) -> Any:
    """The URL of the widest size (the spec lists them widest first; trusted only as a tie)."""
    sizes = [m for m in media if isinstance(m, dict) and isinstance(m.get("url"), str)]
    if not sizes:
        return None

    def width(m: dict[str, Any]) -> int:
        value = m.get("width")
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return max(sizes, key=width)["url"]  # max keeps the first of equal widths


def _body_images(body: str, *, animated: bool) -> list[str]:
    """The photos of a legacy body's `<figure>`s: each img's widest `srcset` candidate, else its
    `src`. With `animated`, the GIFs instead."""
    soup = BeautifulSoup(body[:MAX_BODY], "lxml")
    found: list[str] = []
    for img in soup.select("figure img"):
        url = _largest_candidate(img.get("srcset")) or img.get("src")
        if not isinstance(url, str):
            continue
        is_gif = url.split("?")[0].lower().endswith((".gif", ".gifv"))
        if is_gif == animated:
            found.append(url)
    return found


def _largest_candidate(srcset: Any) -> str | None:
    """The candidate with the largest width descriptor of an HTML `srcset` ("url 640w, ...")."""
    if not isinstance(srcset, str):
        return None
    best: tuple[int, str] | None = None
    for candidate in srcset.split(","):
        parts = candidate.split()
        if not parts:
            continue
        width = 0
        if len(parts) > 1 and parts[1].endswith("w") and parts[1][:-1].isdigit():
            width = int(parts[1][:-1])
        if best is None or width > best[0]:
            best = (width, parts[0])
    return best[1] if best else None


SOURCE = TumblrSource
