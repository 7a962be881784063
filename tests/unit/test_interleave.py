"""Team-draft interleaving: every shown item credited to exactly one model, fairly."""

from __future__ import annotations

import random

import pytest

from clustering.interleave import compare_online, outcome, preference, team_draft


@pytest.mark.parametrize("seed", range(20))
def test_every_item_is_credited_to_exactly_one_model_and_no_item_twice(seed: int) -> None:
    rng = random.Random(seed)
    pool = list(range(30))
    a, b = rng.sample(pool, 15), rng.sample(pool, 15)
    shown = team_draft(a, b, 10, rng)
    assert len(shown.items) == 10 == len(set(shown.items))
    assert set(shown.credit) == set(shown.items)
    assert all(shown.credit[i] in ("a", "b") for i in shown.items)
    assert all(i in (a if shown.credit[i] == "a" else b) for i in shown.items)
    counts = [sum(1 for t in shown.credit.values() if t == team) for team in "ab"]
    assert abs(counts[0] - counts[1]) <= 1  # the teams pick in turn


def test_each_model_contributes_its_best_first_and_shared_items_go_to_whoever_placed_them() -> None:
    rng = random.Random(1)
    same = team_draft([1, 2, 3], [1, 2, 3], 3, rng)
    assert same.items == [1, 2, 3]  # identical rankings: the list is that ranking
    shown = team_draft([1, 2, 3, 4], [5, 6, 7, 8], 4, rng)
    assert sorted(shown.items[:2]) == [1, 5] and sorted(shown.items[2:]) == [2, 6]
    short = team_draft([1], [2, 3, 4], 4, rng)  # one model runs out: the other fills the list
    assert sorted(short.items) == [1, 2, 3, 4]


def test_ratings_decide_queries_and_the_preference_has_an_interval() -> None:
    shown = team_draft([1, 2], [3, 4], 4, random.Random(0))
    assert outcome(shown, {1: 5, 2: 5, 3: 1}) == "a"
    assert outcome(shown, {3: 4}) == "b"
    assert outcome(shown, {1: 5, 3: 5}) is None and outcome(shown, {}) is None
    even = preference(["a", "b"] * 50 + [None] * 10)
    assert (even.a_wins, even.b_wins) == (50, 50) and not even.decided
    assert even.low < 0.5 < even.high
    clear = preference(["a"] * 70 + ["b"] * 30)
    assert clear.decided and 0.6 < clear.low < clear.share_a == 0.7 < clear.high < 0.8
    assert preference([]).share_a == 0.5


def _row(impression: int, image: int, team: str, rating: int, pair: int = 0) -> dict:
    return {
        "impression_id": impression,
        "model_a": f"a{pair}",
        "model_b": f"b{pair}",
        "image_id": image,
        "team": team,
        "rating": rating,
    }


def test_online_comparison_counts_lists_and_ratings_per_pair_of_models() -> None:
    rows = [
        _row(1, 10, "b", 5),
        _row(1, 11, "a", 1),  # list 1: B's item liked, A's not: B wins
        _row(2, 12, "a", 4),
        _row(2, 13, "b", 4),  # list 2: one liked each: a tie, no winner
        _row(3, 14, "b", 5),  # list 3: B wins
        _row(4, 15, "a", 5, pair=1),  # another pair of models, compared later
    ]
    later, first = compare_online(rows)
    assert (later.model_a, later.lists, later.ratings) == ("a1", 1, 1)
    assert (first.model_a, first.model_b, first.lists, first.ratings) == ("a0", "b0", 3, 5)
    assert (first.preference.a_wins, first.preference.b_wins) == (0, 2)
    assert first.preference.low < 0.5 < first.preference.high  # two lists decide nothing
    assert compare_online([]) == []
