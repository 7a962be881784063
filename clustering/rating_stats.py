"""Feedback summaries without Dash: ratings over time, mean rating per style and per model key."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeanRating:
    """Mean of the latest ratings for one group (style or model key)."""

    group: str
    mean: float
    count: int


def latest_only(history: list[dict]) -> list[dict]:
    """Each person's latest rating of each item (history oldest first)."""
    latest: dict[tuple[str, int], dict] = {}
    for row in history:
        latest[(row["user_id"], row["image_id"])] = row
    return list(latest.values())


def mean_by(rows: list[dict], key: str, missing: str = "unknown") -> list[MeanRating]:
    """Mean rating per value of `key`, best first."""
    groups: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        groups[row.get(key) or missing].append(int(row["rating"]))
    out = [MeanRating(g, float(np.mean(v)), len(v)) for g, v in groups.items()]
    return sorted(out, key=lambda m: (-m.mean, -m.count, m.group))


def ratings_per_day(history: list[dict]) -> tuple[list[str], list[int], list[float]]:
    """Days with ratings, how many were given, and their mean."""
    days: dict[str, list[int]] = defaultdict(list)
    for row in history:
        days[str(row["rated_at"])[:10]].append(int(row["rating"]))
    ordered = sorted(days)
    return ordered, [len(days[d]) for d in ordered], [float(np.mean(days[d])) for d in ordered]
