"""What a source finds: one post with its image(s)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Post:
    """A post as found on a site; `tags` are normalised hashtags of its caption. A post with
    several images lists the others in `more_images` (each is stored, linked to the post)."""

    image_url: str
    post_url: str | None
    caption: str | None
    tags: tuple[str, ...]
    posted_at: dt.datetime | None
    likes: int | None
    source: str
    more_images: tuple[str, ...] = ()

    @property
    def image_urls(self) -> tuple[str, ...]:
        return (self.image_url, *self.more_images)
