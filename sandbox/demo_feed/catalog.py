"""The demo feed's posts: who posted which outfit when, with which tags; and their images.

Everything follows from the config's seed, so every run, test and benchmark sees the same feed.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from sandbox.demo_feed.artist import render_outfit
from sandbox.demo_feed.render_cache import render_cache
from sandbox.demo_feed.styles import CROSS_TAGS, STYLES
from stylescout.settings import DemoFeedConfig

REPOST_VARIANTS = ("resized", "reencoded", "cropped")
THUMB_WIDTH = 160
_FIRST = (
    "ava",
    "mila",
    "noor",
    "leo",
    "kai",
    "zoe",
    "ines",
    "yuki",
    "omar",
    "lena",
    "ravi",
    "sofia",
    "jade",
    "marco",
    "elin",
    "tariq",
    "amara",
    "finn",
    "lucia",
    "sami",
)
_SECOND = ("style", "looks", "fits", "wears", "closet", "threads", "daily", "studio")


@dataclass(frozen=True)
class Post:
    """One post of the feed."""

    id: str
    style: str
    outfit: tuple[str, ...]
    tags: tuple[str, ...]
    caption: str
    user: str
    posted_at: dt.datetime
    likes: int
    image_seed: int
    repost_of: str | None = None
    variant: str | None = None


def _user(rng: np.random.Generator) -> str:
    return (
        f"{_FIRST[rng.integers(len(_FIRST))]}.{_SECOND[rng.integers(len(_SECOND))]}"
        f"{int(rng.integers(1, 100))}"
    )


def _week_weights(trend: float, weeks: int) -> np.ndarray:
    """How a style's posts spread over the weeks: rising styles post more in later weeks."""
    position = np.linspace(-1.0, 1.0, weeks)
    weights = np.maximum(0.08, 1.0 + trend * position)
    return weights / weights.sum()


class Catalog:
    """All posts, newest first, with a per-tag index."""

    def __init__(self, config: DemoFeedConfig) -> None:
        self.config = config
        end = dt.datetime.combine(config.end_date, dt.time(20, 0), tzinfo=dt.UTC)
        start = end - dt.timedelta(weeks=config.weeks)
        drafts: list[dict] = []
        for style_index, family in enumerate(STYLES.values()):
            rng = np.random.default_rng([config.seed, style_index])
            reposts = round(config.posts_per_style * config.repost_rate)
            originals: list[dict] = []
            weights = _week_weights(family.trend, config.weeks)
            for i in range(config.posts_per_style - reposts):
                week = int(rng.choice(config.weeks, p=weights))
                when = start + dt.timedelta(weeks=week, seconds=float(rng.uniform(0, 7 * 86400)))
                outfit = family.outfits[int(rng.integers(len(family.outfits)))]
                tags = [family.name, *outfit]
                tags += [t for t in CROSS_TAGS if rng.random() < 0.55]
                if rng.random() < 0.5:
                    tags.append(family.flavour_tags[int(rng.integers(len(family.flavour_tags)))])
                text = (
                    f"{family.captions[int(rng.integers(len(family.captions)))]} "
                    f"{family.emojis[int(rng.integers(len(family.emojis)))]}"
                )
                originals.append(
                    dict(
                        style=family.name,
                        outfit=outfit,
                        tags=tuple(dict.fromkeys(tags)),
                        text=text,
                        user=_user(rng),
                        posted_at=when,
                        likes=int(math.exp(rng.normal(4.2 + 1.2 * family.popularity, 0.8))),
                        image_seed=int(config.seed * 1_000_003 + style_index * 10_007 + i),
                        repost_of=None,
                        variant=None,
                    )
                )
            old_enough = [o for o in originals if o["posted_at"] < end - dt.timedelta(days=2)]
            for _ in range(reposts):
                source = old_enough[int(rng.integers(len(old_enough)))]
                days_left = (end - source["posted_at"]).total_seconds() / 86400
                delay = dt.timedelta(days=float(rng.uniform(1, min(20.0, days_left))))
                drafts.append(
                    dict(
                        source,
                        user=_user(rng),
                        posted_at=source["posted_at"] + delay,
                        text=f"Repost from @{source['user']}: {source['text']}",
                        likes=int(source["likes"] * rng.uniform(0.1, 0.6)),
                        repost_of=source,
                        variant=REPOST_VARIANTS[int(rng.integers(len(REPOST_VARIANTS)))],
                    )
                )
            drafts.extend(originals)

        drafts.sort(key=lambda d: (d["posted_at"], d["image_seed"], d["repost_of"] is not None))
        ids = {id(d): f"p{n:05d}" for n, d in enumerate(drafts, start=1)}
        posts = [
            Post(
                id=ids[id(d)],
                style=d["style"],
                outfit=d["outfit"],
                tags=d["tags"],
                caption=f"{d['text']} " + " ".join(f"#{t}" for t in d["tags"]),
                user=d["user"],
                posted_at=d["posted_at"],
                likes=d["likes"],
                image_seed=d["image_seed"],
                repost_of=ids[id(d["repost_of"])] if d["repost_of"] else None,
                variant=d["variant"],
            )
            for d in drafts
        ]
        self.posts: list[Post] = posts[::-1]  # newest first, as feeds show them
        self.by_id = {p.id: p for p in self.posts}
        self.by_tag: dict[str, list[Post]] = {}
        for post in self.posts:
            for tag in post.tags:
                self.by_tag.setdefault(tag, []).append(post)

    def tag_counts(self) -> dict[str, int]:
        """Number of posts per tag, most used first."""
        return dict(
            sorted(((t, len(p)) for t, p in self.by_tag.items()), key=lambda x: (-x[1], x[0]))
        )

    def page(self, tag: str, page: int) -> tuple[list[Post], int | None]:
        """Posts on page `page` (1-based) of a tag, and the next page number or None."""
        posts = self.by_tag.get(tag, [])
        size = self.config.page_size
        chunk = posts[(page - 1) * size : page * size] if page >= 1 else []
        has_next = page >= 1 and page * size < len(posts)
        return chunk, (page + 1 if has_next else None)

    def pages(self, tag: str) -> int:
        """How many pages a tag has."""
        return math.ceil(len(self.by_tag.get(tag, [])) / self.config.page_size)


class ImageRenderer:
    """JPEG bytes for a post's image (full size or thumbnail), rendered once: kept in memory here,
    and on disk for the other processes (render_cache.py)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.size = (catalog.config.image_width, catalog.config.image_height)
        self._original = lru_cache(maxsize=256)(self._render_original)
        self.jpeg = lru_cache(maxsize=4096)(self._jpeg)

    def _render_original(self, image_seed: int, style: str, outfit: tuple[str, ...]) -> Image.Image:
        return render_outfit(style, outfit, image_seed, self.size)

    def image(self, post_id: str) -> tuple[Image.Image, int]:
        """The picture a post shows and the JPEG quality it was uploaded with."""
        post = self.catalog.by_id[post_id]
        img = self._original(post.image_seed, post.style, post.outfit)
        w, h = img.size
        if post.variant == "resized":
            return img.resize((int(w * 0.8), int(h * 0.8)), Image.LANCZOS), 85
        if post.variant == "reencoded":
            return img, 68
        if post.variant == "cropped":
            dx, dy = int(w * 0.02), int(h * 0.02)
            return img.crop((dx, dy, w - dx, h - dy)).resize((w, h), Image.LANCZOS), 88
        return img, 90

    def _jpeg(self, post_id: str, width: int | None = None) -> bytes:
        post = self.catalog.by_id[post_id]
        disk = render_cache()
        key = disk.key(post.image_seed, post.style, post.outfit, self.size, post.variant, width)
        return disk.get_or_make(key, lambda: self._encode(post_id, width))

    def _encode(self, post_id: str, width: int | None) -> bytes:
        img, quality = self.image(post_id)
        if width is not None and width < img.width:
            img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=quality, optimize=False)
        return out.getvalue()


@lru_cache(maxsize=3)
def _shared(config: DemoFeedConfig) -> tuple[Catalog, ImageRenderer]:
    catalog = Catalog(config)
    return catalog, ImageRenderer(catalog)


def shared_renderer(config: DemoFeedConfig) -> tuple[Catalog, ImageRenderer]:
    """The catalogue and renderer for `config`, one per process: every feed served with the same
    design (whatever its address) draws each picture once, not once per server. Rendering was
    most of a demo scrape's time, and a test run starts dozens of feeds."""
    return _shared(config.model_copy(update={"host": "127.0.0.1", "port": 0}))
