"""Followed tags and notices in the store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt

import pytest

from store import Store
from stylescout.errors import StoreError

NOW = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)


def test_a_followed_tag_is_due_at_once_then_every_n_hours(any_store: Store) -> None:
    follows = any_store.follows
    first = follows.follow("boho", ["mastodon", "flickr"], 6, 100, first_run=NOW)
    assert first.sources == ["mastodon", "flickr"] and first.last_run_at is None
    assert [f.tag for f in follows.due(NOW)] == ["boho"]
    assert follows.due(NOW - dt.timedelta(minutes=1)) == []
    follows.record_run("boho", NOW, "completed", 12, "added 12")
    after = follows.get("boho")
    assert after.last_status == "completed" and after.last_added == 12
    assert after.next_run_at == "2026-12-04T18:00:00Z"
    assert follows.due(NOW + dt.timedelta(hours=5, minutes=59)) == []
    assert [f.tag for f in follows.due(NOW + dt.timedelta(hours=6))] == ["boho"]
    # following again changes how, not when
    again = follows.follow("boho", [], 12, 50)
    assert (
        again.sources == [] and again.every_hours == 12 and again.next_run_at == after.next_run_at
    )
    assert follows.unfollow("boho") and not follows.unfollow("boho")
    follows.record_run("boho", NOW, "completed", 1, "gone meanwhile")  # no error, nothing written
    assert follows.all() == []
    with pytest.raises(StoreError):
        follows.follow("boho", [], 0.1, 10)


def test_notices_are_kept_until_seen(any_store: Store) -> None:
    follows = any_store.follows
    first = follows.add_notice("boho", "breakout", "#boho: new")
    second = follows.add_notice("preppy", "rising", "#preppy: rising")
    assert [n.id for n in follows.notices()] == [second, first]  # newest first
    assert follows.mark_seen([first]) == 1 and follows.mark_seen([first]) == 0
    assert [n.tag for n in follows.notices()] == ["preppy"]
    assert len(follows.notices(unseen_only=False)) == 2
    assert follows.mark_seen() == 1 and follows.notices() == []
