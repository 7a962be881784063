"""What the store hands out and takes in: image metadata, results, counts, the time format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from store.files import StoredFile
from stylescout.errors import StoreError


def utc_now() -> str:
    """Current time as an ISO 8601 UTC string, the one time format the store uses."""
    return to_utc_text(dt.datetime.now(dt.UTC))


def to_utc_text(value: dt.datetime | str | None) -> str | None:
    """Normalise a datetime (naive means UTC) or ISO string to 'YYYY-MM-DDTHH:MM:SSZ'."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise StoreError(f"time {value!r} is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


FUTURE_SLACK = dt.timedelta(days=1)  # site clocks run a little ahead; beyond this, not a time


def posted_time(value: dt.datetime | str | None) -> str | None:
    """When a post says it was made, as the store keeps it: a time later than now (beyond a
    day's slack for clocks) is a bad clock or a hostile site, and is kept as now, the time it
    was seen, so that one such post cannot move every trend's newest week into the future."""
    text = to_utc_text(value)
    if text is None:
        return None
    latest = to_utc_text(dt.datetime.now(dt.UTC) + FUTURE_SLACK)
    return utc_now() if text > latest else text


@dataclass(frozen=True)
class ImageMeta:
    """What the caller knows about an image; the store computes the sha256 and the size itself."""

    width: int
    height: int
    format: str
    source: str
    phash: str | None = None
    source_url: str | None = None
    post_url: str | None = None
    caption: str | None = None
    posted_at: dt.datetime | str | None = None
    likes: int | None = None
    author: str | None = None  # the credit: a name or handle, their page, a licence identifier
    author_url: str | None = None
    licence: str | None = None


@dataclass(frozen=True)
class AddResult:
    """Outcome of adding an image: its row id, hash, file, and whether it was new."""

    image_id: int
    sha256: str
    path: StoredFile  # a Path in the local folder
    created: bool


@dataclass(frozen=True)
class StoreStats:
    """Counts shown by `python -m store stats` and the dashboard header."""

    images: int
    image_bytes: int
    posts: int
    tags: int
    tagged: int
    scrape_runs: dict[str, int]
    users: int
    ratings: int
    sources: dict[str, int]
    top_tags: list[tuple[str, int]] = field(default_factory=list)


class PerceptualHashes:
    """64-bit perceptual hashes held in memory: Hamming-distance look-ups without a query each.

    A scrape loads the store's table once and adds what it stores, instead of reading every hash
    from SQLite for every downloaded image.
    """

    def __init__(self) -> None:
        self._ids: list[int] = []
        self._values: list[int] = []
        self._array: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, image_id: int, phash: str) -> None:
        self._ids.append(image_id)
        self._values.append(int(phash, 16))
        self._array = None

    def near(self, phash: str, max_distance: int) -> list[tuple[int, int]]:
        """(image id, distance) within `max_distance` bits, nearest first."""
        if not self._ids:
            return []
        if self._array is None:
            self._array = np.array(self._values, dtype=np.uint64)
        xor = self._array ^ np.uint64(int(phash, 16))
        distances = np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
        close = np.flatnonzero(distances <= max_distance)
        order = close[np.argsort(distances[close], kind="stable")]
        return [(self._ids[i], int(distances[i])) for i in order]
