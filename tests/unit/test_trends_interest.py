"""Interest 0-100, the rising list and sites side by side, on planted weekly series."""

from __future__ import annotations

import datetime as dt
import io
import itertools

import numpy as np
import pytest

from clustering.trends.interest import interest_of, rising_list, side_by_side
from clustering.trends.tables import Table, write_csv

START = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)  # a Monday
WEEKS = 12


def _posts(plan: dict[tuple[str, str], list[int]], seed: int = 0) -> tuple[list, dict]:
    """Post rows and image tags from {(tag, source): posts per week}; a post's day in its week
    is drawn at random, the last post falls on a Sunday evening so the last week is whole."""
    rng = np.random.default_rng(seed)
    rows, tags_of, ids = [], {}, itertools.count(1)
    for (tag, source), weekly in plan.items():
        for week, n in enumerate(weekly):
            for _ in range(n):
                image_id = next(ids)
                when = START + dt.timedelta(weeks=week, days=int(rng.integers(0, 7)))
                rows.append((image_id, source, when.isoformat()))
                tags_of[image_id] = [tag]
    end = START + dt.timedelta(weeks=WEEKS - 1, days=6, hours=10)
    image_id = next(ids)
    rows.append((image_id, "a", end.isoformat()))
    tags_of[image_id] = ["other"]
    return rows, tags_of


def test_interest_is_the_share_of_the_sources_posts_scaled_to_its_peak() -> None:
    plan = {
        ("boho", "a"): [2, 4, 8, 4] + [4] * 8,
        ("other", "a"): [18, 16, 12, 16] + [16] * 8,
        ("boho", "b"): [1] * 12,
        ("other", "b"): [99] * 12,
    }
    rows, tags_of = _posts(plan)
    on_a = interest_of(rows, tags_of, ["boho"], "a")["boho"]
    assert len(on_a.weeks) == WEEKS and on_a.counts[:4].tolist() == [2, 4, 8, 4]
    assert on_a.totals[0] == 20 and on_a.shares[2] == 8 / 20
    assert on_a.index[:4].tolist() == [25, 50, 100, 50]  # 100 at its own peak share
    on_b = interest_of(rows, tags_of, ["boho"], "b")["boho"]
    assert on_b.index.tolist() == [100] * 12  # 1 of 100 each week: flat at its peak
    both = interest_of(rows, tags_of, ["boho"])["boho"]
    assert both.totals[0] == 120 and both.counts[2] == 9  # every source together
    assert interest_of(rows, tags_of, ["nothing"]) == {}


def test_the_rising_list_calls_planted_changes_and_leaves_steady_ones() -> None:
    flat = [10] * 12
    plan = {
        ("rises", "a"): [4, 4, 5, 5, 6, 7, 8, 10, 12, 14, 16, 18],
        ("falls", "a"): [18, 16, 14, 12, 10, 9, 8, 6, 5, 4, 4, 3],
        ("steady", "a"): flat,
        ("fresh", "a"): [0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 12, 15],
        ("other", "a"): [200] * 12,
    }
    rows, tags_of = _posts(plan)
    found = interest_of(rows, tags_of, ["rises", "falls", "steady", "fresh"])
    # "fresh" has no post before week 10: its scrape covers only 2 whole weeks, too few
    assert "fresh" in found and len(found["fresh"].weeks) < 6
    changes = {c.name: c for c in rising_list(found.values())}
    assert set(changes) == {"rises", "falls", "steady"}
    assert changes["rises"].label == "rising" and changes["rises"].weekly_change > 0
    assert changes["falls"].label == "falling" and changes["falls"].change < 0
    assert changes["steady"].label == "steady" and not changes["steady"].breakout
    assert next(c.name for c in rising_list(found.values())) == "rises"  # rising first
    assert changes["rises"].recent == 14 + 16 + 18 and changes["rises"].before == 8 + 10 + 12


def test_a_tag_from_nothing_is_new_and_a_breakout() -> None:
    plan = {
        ("fresh", "a"): [1, 0, 0, 0, 0, 0, 0, 0, 0, 12, 15, 20],  # one old post: whole weeks
        ("other", "a"): [100] * 12,
    }
    rows, tags_of = _posts(plan)
    (change,) = rising_list(interest_of(rows, tags_of, ["fresh"]).values())
    assert change.label == "new" and change.breakout and change.before == 0
    assert "new (none in the 3 weeks before)" in change.describe()


def test_a_flat_world_calls_almost_nothing() -> None:
    """20 tags with Poisson weekly counts around a constant share, 10 seeds: the Holm-corrected
    calls stay rare (at most one tag in all 10 worlds)."""
    called = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        plan = {(f"t{i}", "a"): rng.poisson(8, WEEKS).tolist() for i in range(20)}
        plan[("other", "a")] = [100] * WEEKS
        rows, tags_of = _posts(plan, seed)
        names = [f"t{i}" for i in range(20)]
        changes = rising_list(interest_of(rows, tags_of, names).values())
        assert len(changes) == 20
        called += sum(c.label != "steady" or c.breakout for c in changes)
    assert called <= 1, called


def test_sites_side_by_side_say_where_they_disagree() -> None:
    plan = {
        ("boho", "a"): [4, 4, 5, 5, 6, 7, 8, 10, 12, 14, 16, 18],
        ("other", "a"): [100] * 12,
        ("boho", "b"): [18, 16, 14, 12, 10, 9, 8, 6, 5, 4, 4, 3],
        ("other", "b"): [50] * 12,
        ("boho", "c"): [10] * 12,
        ("other", "c"): [50] * 12,
    }
    rows, tags_of = _posts(plan)
    sites = side_by_side(rows, tags_of, "boho")
    assert list(sites.by_source) == ["b", "c", "a"] or set(sites.by_source) == {"a", "b", "c"}
    assert all(s.index.max() == 100 for s in sites.by_source.values())  # each to its own peak
    labels = {c.source: c.label for c in sites.changes}
    assert labels == {"a": "rising", "b": "falling", "c": "steady"}
    assert sites.disagreement == "Sites disagree on #boho: rising on a, falling on b."
    agree = {k: v for k, v in plan.items() if k[1] != "b"}
    rows, tags_of = _posts(agree)
    only = side_by_side(rows, tags_of, "boho").disagreement
    assert only == "Sites disagree on #boho: rising on a only; steady on c."


def test_csv_cells_that_would_be_formulas_are_quoted() -> None:
    table = Table("rising", ("tag", "change"), [{"tag": "=HYPERLINK(1)", "change": -0.5}])
    out = io.StringIO()
    write_csv(table, out)
    assert out.getvalue() == "tag,change\n'=HYPERLINK(1),-0.5\n"  # numbers keep their sign


def test_a_tag_that_faded_to_nothing_is_still_judged() -> None:
    plan = {
        ("faded", "a"): [20, 18, 16, 12, 10, 8, 0, 0, 0, 0, 0, 0],
        ("other", "a"): [100] * 12,
    }
    rows, tags_of = _posts(plan)
    (change,) = rising_list(interest_of(rows, tags_of, ["faded"]).values())
    assert change.recent == change.before == 0 and change.label == "falling"
    assert not change.breakout and "no post in the last 6 weeks" in change.describe()


def test_the_rising_list_is_worked_out_once_per_set_of_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from clustering.trends import interest

    plan = {("rises", "a"): [4, 4, 5, 5, 6, 7, 8, 10, 12, 14, 16, 18], ("other", "a"): [50] * 12}
    rows, tags_of = _posts(plan)
    found = interest_of(rows, tags_of, ["rises"])
    calls: list[int] = []
    work = interest._rising_list
    monkeypatch.setattr(interest, "_rising_list", lambda s, a: calls.append(1) or work(s, a))
    monkeypatch.setattr(interest, "_rising", type(interest._rising)())
    first = rising_list(found.values())
    first.clear()  # a caller's copy: the remembered list is untouched
    again = rising_list(found.values())
    assert len(calls) == 1 and [c.name for c in again] == ["rises"]
    # other counts (a new scrape) are worked out afresh
    rows, tags_of = _posts({**plan, ("rises", "a"): [4] * 11 + [30]})
    rising_list(interest_of(rows, tags_of, ["rises"]).values())
    assert len(calls) == 2
