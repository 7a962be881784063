"""A designed-trend feed of real product photos: a few kinds of item rise and fall over 12 weeks.

Only the photos can show the trend: every caption is the same `#look`, so no tag and no label
says which kind a photo is. The design is the ground truth a trend finder is scored against:
which photo is which kind, which kinds rise, which fall, which stay flat. Served as a plain
paged feed (`sandbox.folder_feed`), it is scraped by the normal scraper as a person would.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sandbox.folder_feed import create_folder_feed_app, folder_feed_source

TAG = "look"
# Chosen by measurement (P@10 same kind in the random-weight ResNet50 space, garment blocks off /
# on): kinds that look like themselves, so only the finder is on trial, yet not all the easiest:
# Backpacks 0.75 / 0.95, Formal Shoes 0.72 / 0.77 (beside casual and sports shoes), Belts 0.79 /
# 0.95, Watches 0.56 / 0.82. The two most distinct kinds (Sunglasses 0.91, Bra 0.80) stay flat:
# a tight flat cluster is where a false call would show first.
RISING = ("Backpacks", "Formal Shoes")
FALLING = ("Belts", "Watches")
END = dt.date(2026, 11, 15)  # a Sunday (the demo feed's last day): every week is whole
WEEKS = 12


@dataclass(frozen=True)
class DesignedPost:
    """One post of the feed: a photo (reposts share a photo), its kind and when it was posted."""

    number: int  # its place in the feed, newest first: the post URL is /p/<number>
    photo: Path
    kind: str
    posted_at: dt.datetime


@dataclass
class DesignedFeed:
    """The schedule and its ground truth: posts newest first, the kinds designed to rise and to
    fall (every other kind is flat)."""

    posts: list[DesignedPost]
    rising: tuple[str, ...]
    falling: tuple[str, ...]
    kinds: list[str]
    weeks: list[dt.date] = field(default_factory=list)  # the Mondays, oldest first

    @property
    def flat(self) -> list[str]:
        return [k for k in self.kinds if k not in self.rising and k not in self.falling]

    def direction_of(self, kind: str) -> str:
        """'rising', 'falling' or 'flat', as designed."""
        if kind in self.rising:
            return "rising"
        return "falling" if kind in self.falling else "flat"

    def kind_of_url(self, post_url: str) -> str | None:
        """The kind of the photo behind a post URL the feed served (`.../p/<number>`)."""
        tail = post_url.rstrip("/").rsplit("/", 1)[-1]
        if not tail.isdigit() or int(tail) >= len(self.posts):
            return None
        return self.posts[int(tail)].kind

    def weekly_counts(self, kind: str) -> np.ndarray:
        """Posts of a kind per designed week, oldest first."""
        index = {w: n for n, w in enumerate(self.weeks)}
        out = np.zeros(len(self.weeks), int)
        for post in self.posts:
            if post.kind == kind:
                day = post.posted_at.date()
                out[index[day - dt.timedelta(days=day.weekday())]] += 1
        return out

    def app(self, page_size: int = 50):
        """A Flask app serving the feed at `/tag/look?page=N` (see `create_folder_feed_app`)."""
        return create_folder_feed_app(
            [p.photo for p in self.posts],
            tag=TAG,
            page_size=page_size,
            picture=False,
            times=[p.posted_at for p in self.posts],
            captions=[f"#{TAG}"] * len(self.posts),
        )

    @staticmethod
    def source(base_url: str) -> dict:
        """The config entry of a source reading `app()` (every page of it)."""
        return {**folder_feed_source(base_url, TAG), "max_pages": 10_000}


def read_kinds(folder: Path) -> dict[Path, str]:
    """Each photo of a Kaggle-layout folder (`images/<id>.jpg`, `styles.csv`) and its kind
    (articleType)."""
    with (folder / "styles.csv").open(newline="", encoding="utf-8") as handle:
        kind_of = {row["id"]: row["articleType"] for row in csv.DictReader(handle)}
    root = folder / "images"
    return {
        p: kind_of[p.stem]
        for p in sorted(root.glob("*.jpg"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
        if p.stem in kind_of
    }


def ramp(count: int, weeks: int, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """`count` posts spread over `weeks` with weights growing linearly by `ratio` from the first
    week to the last (ratio 1: flat; below 1: falling), rounded so they sum to `count` (the
    posts left over by rounding go to weeks drawn at random, weighted by what they missed, so
    flat kinds lean to no side)."""
    weights = np.linspace(1.0, ratio, weeks)
    exact = count * weights / weights.sum()
    out = np.floor(exact).astype(int)
    left = count - int(out.sum())
    if left:
        missed = exact - out
        out[rng.choice(weeks, left, replace=False, p=missed / missed.sum())] += 1
    return out


def designed_feed(
    folder: Path,
    rising: Sequence[str] = RISING,
    falling: Sequence[str] = FALLING,
    ratio: float = 6.0,
    per_kind: int | None = None,
    reposts: float = 2.0,
    end: dt.date = END,
    weeks: int = WEEKS,
    seed: int = 26,
) -> DesignedFeed:
    """The schedule: each photo posted once at a designed time (plus `reposts` x as many reposts
    of the same kind's photos, at their own designed times), rising kinds' weekly posts ramping
    up by `ratio` from the first week to the last, falling kinds' down, the rest flat. `per_kind`
    photos of each kind (default all). The newest post is on the last Sunday, so the newest week
    is whole and every week counts."""
    if end.weekday() != 6:
        raise ValueError(f"end must be a Sunday, not {end:%A}")
    by_kind: dict[str, list[Path]] = {}
    for photo, kind in read_kinds(folder).items():
        by_kind.setdefault(kind, []).append(photo)
    missing = [k for k in (*rising, *falling) if k not in by_kind]
    if missing:
        raise ValueError(f"no photos of {', '.join(missing)} in {folder}")
    rng = np.random.default_rng(seed)
    first = end - dt.timedelta(days=7 * weeks - 1)  # a Monday
    week_starts = [first + dt.timedelta(weeks=n) for n in range(weeks)]
    drafts: list[tuple[dt.datetime, Path, str]] = []
    for kind in sorted(by_kind):
        photos = by_kind[kind][:per_kind]
        shape = ratio if kind in rising else 1 / ratio if kind in falling else 1.0
        total = len(photos) + round(reposts * len(photos))
        order = [photos[i % len(photos)] for i in rng.permutation(total)]
        counts = ramp(total, weeks, shape, rng)
        at = 0
        for week, n in enumerate(counts):
            start = dt.datetime.combine(week_starts[week], dt.time(0, 0), tzinfo=dt.UTC)
            for _ in range(n):
                seconds = float(rng.uniform(3600, 7 * 86400 - 3600))  # inside the week
                drafts.append((start + dt.timedelta(seconds=seconds), order[at], kind))
                at += 1
    drafts.sort(key=lambda d: d[0], reverse=True)
    last = dt.datetime.combine(end, dt.time(20, 0), tzinfo=dt.UTC)  # the newest: last Sunday
    drafts[0] = (last, *drafts[0][1:])
    posts = [DesignedPost(n, photo, kind, when) for n, (when, photo, kind) in enumerate(drafts)]
    return DesignedFeed(posts, tuple(rising), tuple(falling), sorted(by_kind), week_starts)
