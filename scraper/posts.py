"""What a source finds: one post with its image."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Post:
    """A post as found on a site; `tags` are normalised hashtags of its caption."""

    image_url: str
    post_url: str | None
    caption: str | None
    tags: tuple[str, ...]
    posted_at: dt.datetime | None
    likes: int | None
    source: str
