"""What a source finds: one post with its image(s)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

MAX_AUTHOR = 200  # a name or handle to show on one line; longer is cut


@dataclass(frozen=True)
class Post:
    """A post as found on a site; `tags` are normalised hashtags of its caption. A post with
    several images lists the others in `more_images` (each is stored, linked to the post).

    `author` (a name or handle), `author_url` (their page, http(s) only) and `licence` (an
    identifier from `stylescout.licences`) are the credit, where the site gives them."""

    image_url: str
    post_url: str | None
    caption: str | None
    tags: tuple[str, ...]
    posted_at: dt.datetime | None
    likes: int | None
    source: str
    more_images: tuple[str, ...] = ()
    author: str | None = None
    author_url: str | None = None
    licence: str | None = None

    @property
    def image_urls(self) -> tuple[str, ...]:
        return (self.image_url, *self.more_images)


def credit_name(value: Any) -> str | None:
    """A site's author name or handle fit to show: text on one line (control, format and
    direction characters folded into spaces), at most MAX_AUTHOR characters; None for anything
    that is not text or a number, or leaves nothing."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)[: MAX_AUTHOR * 4]
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text[:MAX_AUTHOR] or None


def skipped_text(skipped: Counter[str]) -> str:
    """`12 posts (8 video, 4 text only)`: posts passed over, by reason, most first."""
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(skipped.items(), key=lambda x: (-x[1], x[0])))
    total = sum(skipped.values())
    return f"{total} post{'s' if total != 1 else ''} ({reasons})"
