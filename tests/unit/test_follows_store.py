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
    [due] = follows.due(NOW)
    assert follows.due(NOW - dt.timedelta(minutes=1)) == []
    # looked at 10 minutes late: the next run keeps to the schedule, it does not drift
    late = NOW + dt.timedelta(minutes=10)
    assert follows.claim(due, late)
    assert not follows.claim(due, late)  # a second worker with the same reading gets nothing
    follows.record_run("boho", late, "completed", 12, "added 12")
    after = follows.get("boho")
    assert after.last_status == "completed" and after.last_added == 12
    assert after.next_run_at == "2026-12-04T18:00:00Z"
    assert follows.due(NOW + dt.timedelta(hours=5, minutes=59)) == []
    [again] = follows.due(NOW + dt.timedelta(hours=6))
    # a day late: whole periods skipped, the next one on the schedule
    assert follows.claim(again, NOW + dt.timedelta(hours=30))
    assert follows.get("boho").next_run_at == "2026-12-06T00:00:00Z"  # the first after now
    # a run cut short is due again when it was
    follows.record_run("boho", NOW, "interrupted", 0, "stopped", due_again=again.next_run_at)
    assert follows.get("boho").next_run_at == again.next_run_at
    # following again changes how, not when; `keep` changes nothing
    before = follows.get("boho")
    changed = follows.follow("boho", [], 12, 50)
    assert changed.sources == [] and changed.every_hours == 12
    assert changed.next_run_at == before.next_run_at
    assert follows.follow("boho", ["x"], 24, 5, keep=True).every_hours == 12
    # the trends' call is set by one caller only
    assert follows.set_call("boho", None, "rising") and not follows.set_call("boho", None, "new")
    assert follows.set_call("boho", "rising", None) and follows.get("boho").last_call is None
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
