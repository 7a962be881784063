"""Team-draft interleaving (Radlinski, Kurup and Joachims, CIKM 2008): two models' rankings
merged into one list a person sees, each item credited to exactly one model, so what the person
rates says which model they prefer, without showing two lists.

Like picking teams: in each round the model with fewer picks so far (a coin decides ties) adds
its best item not already in the list. An item both models rank is credited to the one that
placed it. A query's outcome is the model whose credited items were rated better; over many
queries the share of wins for model A, with a Wilson interval, says whether people prefer it.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Interleaved:
    """The merged list, and which model each item is credited to ('a' or 'b')."""

    items: list[int]
    credit: dict[int, str]


def team_draft(a: Sequence[int], b: Sequence[int], k: int, rng: random.Random) -> Interleaved:
    """Up to `k` items from rankings `a` and `b` (best first), each credited to one model."""
    items: list[int] = []
    credit: dict[int, str] = {}
    picks = {"a": 0, "b": 0}
    ranked = {"a": list(a), "b": list(b)}
    position = {"a": 0, "b": 0}
    while len(items) < k:
        left = {
            team: any(i not in credit for i in ranked[team][position[team] :]) for team in ranked
        }
        if not any(left.values()):
            break
        if picks["a"] != picks["b"]:
            team = "a" if picks["a"] < picks["b"] else "b"
        else:
            team = "a" if rng.random() < 0.5 else "b"
        if not left[team]:
            team = "b" if team == "a" else "a"
        while ranked[team][position[team]] in credit:
            position[team] += 1
        item = ranked[team][position[team]]
        items.append(item)
        credit[item] = team
        picks[team] += 1
    return Interleaved(items, credit)


def outcome(shown: Interleaved, ratings: Mapping[int, int], liked: int = 4) -> str | None:
    """'a' or 'b' when that model's credited items got more ratings of `liked` or better,
    None for a tie or no ratings (which says nothing of either)."""
    wins = {"a": 0, "b": 0}
    for item, rating in ratings.items():
        team = shown.credit.get(item)
        if team is not None and rating >= liked:
            wins[team] += 1
    if wins["a"] == wins["b"]:
        return None
    return "a" if wins["a"] > wins["b"] else "b"


@dataclass(frozen=True)
class Preference:
    """How often model A won the queries that had a winner, with a 95% Wilson interval."""

    a_wins: int
    b_wins: int
    share_a: float
    low: float
    high: float

    @property
    def decided(self) -> bool:
        """Whether the interval leaves out 0.5 (no preference)."""
        return self.low > 0.5 or self.high < 0.5


def preference(outcomes: Sequence[str | None], z: float = 1.96) -> Preference:
    """The share of wins for model A over the decided queries, with a Wilson interval."""
    a_wins = sum(1 for o in outcomes if o == "a")
    b_wins = sum(1 for o in outcomes if o == "b")
    n = a_wins + b_wins
    if n == 0:
        return Preference(0, 0, 0.5, 0.0, 1.0)
    share = a_wins / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Preference(a_wins, b_wins, share, centre - half, centre + half)


@dataclass(frozen=True)
class OnlineComparison:
    """What people's ratings of interleaved lists say about one pair of models."""

    model_a: str
    model_b: str
    lists: int  # interleaved lists with at least one rating
    ratings: int
    preference: Preference


def compare_online(rows: Sequence[Mapping], liked: int = 4) -> list[OnlineComparison]:
    """Per pair of models, newest pair first: the preference over the lists people rated in.
    `rows` are rated items of interleaved lists (`Store.interleaved_ratings`): impression_id,
    model_a, model_b, image_id, team ('a'/'b'), rating."""
    lists: dict[tuple[str, str], dict[int, list[Mapping]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        lists[(row["model_a"], row["model_b"])][int(row["impression_id"])].append(row)
    out = []
    for (model_a, model_b), by_list in lists.items():
        outcomes = []
        for items in by_list.values():
            shown = Interleaved(
                [int(r["image_id"]) for r in items],
                {int(r["image_id"]): str(r["team"]) for r in items},
            )
            outcomes.append(
                outcome(shown, {int(r["image_id"]): int(r["rating"]) for r in items}, liked)
            )
        count = sum(len(items) for items in by_list.values())
        out.append(OnlineComparison(model_a, model_b, len(by_list), count, preference(outcomes)))
    out.sort(key=lambda c: -max(lists[(c.model_a, c.model_b)]))
    return out
