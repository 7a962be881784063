"""Followed tags and the notices they raise: which tags are gathered on a schedule, from which
sources and how often, what each run did, and what a person should see of their trends."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from store.database import Database
from store.records import to_utc_text, utc_now
from stylescout.errors import StoreError

MIN_EVERY_HOURS = 0.25


@dataclass(frozen=True)
class Follow:
    """A followed tag: gathered from `sources` (empty: the configured default) every
    `every_hours`, `count` new images a source at most per run."""

    tag: str
    sources: list[str]
    every_hours: float
    count: int
    added_at: str
    next_run_at: str
    last_run_at: str | None = None
    last_status: str | None = None
    last_added: int | None = None
    last_message: str | None = None
    last_call: str | None = None  # what the trends last said of it: rising, new, ...

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Notice:
    id: int
    tag: str
    kind: str  # breakout | new | rising | falling
    text: str
    created_at: str
    seen: bool


_COLUMNS = (
    "tag, sources, every_hours, count, added_at, next_run_at, last_run_at, last_status,"
    " last_added, last_message, last_call"
)


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _follow(row: tuple) -> Follow:
    tag, sources, every, count, added, next_run, last_run, status, added_n, message, call = row
    return Follow(
        tag,
        json.loads(sources),
        float(every),
        int(count),
        added,
        next_run,
        last_run,
        status,
        None if added_n is None else int(added_n),
        message,
        call,
    )


class FollowRepository:
    """The followed tags of a store and their notices."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def follow(
        self,
        tag: str,
        sources: list[str],
        every_hours: float,
        count: int,
        first_run: str | None = None,
        keep: bool = False,
    ) -> Follow:
        """Follow `tag` (or change how an already followed tag is gathered, unless `keep`); its
        first run is due at once unless `first_run` says when. Two callers at once are fine: the
        row is inserted once (ON CONFLICT), then updated."""
        if every_hours < MIN_EVERY_HOURS:
            raise StoreError(
                f"a followed tag is gathered at most every {MIN_EVERY_HOURS * 60:.0f} minutes"
            )
        now = utc_now()
        with self._db.transaction() as tx:
            added = tx.execute(
                f"INSERT INTO follows ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL,"
                " NULL, NULL) ON CONFLICT (tag) DO NOTHING",
                (tag, json.dumps(sources), every_hours, count, now, to_utc_text(first_run) or now),
            )
            if not added and not keep:
                tx.execute(
                    "UPDATE follows SET sources = ?, every_hours = ?, count = ? WHERE tag = ?",
                    (json.dumps(sources), every_hours, count, tag),
                )
        found = self.get(tag)
        assert found is not None
        return found

    def unfollow(self, tag: str) -> bool:
        with self._db.transaction() as tx:
            return tx.execute("DELETE FROM follows WHERE tag = ?", (tag,)) > 0

    def get(self, tag: str) -> Follow | None:
        row = self._db.row(f"SELECT {_COLUMNS} FROM follows WHERE tag = ?", (tag,))
        return None if row is None else _follow(row)

    def all(self) -> list[Follow]:
        return [_follow(r) for r in self._db.rows(f"SELECT {_COLUMNS} FROM follows ORDER BY tag")]

    def due(self, now: dt.datetime | str | None = None) -> list[Follow]:
        """Followed tags whose next run is due at `now` (default: now), longest waiting first."""
        at = to_utc_text(now) if now is not None else utc_now()
        rows = self._db.rows(
            f"SELECT {_COLUMNS} FROM follows WHERE next_run_at <= ? ORDER BY next_run_at, tag",
            (at,),
        )
        return [_follow(r) for r in rows]

    def next_due(self) -> str | None:
        row = self._db.row("SELECT min(next_run_at) FROM follows")
        return None if row is None else row[0]

    def claim(self, follow: Follow, now: dt.datetime) -> bool:
        """Take a due run of `follow` for this caller: its next run moves on by whole periods
        from its schedule (never drifting later by how late it was looked at), only if no other
        caller moved it since `follow` was read. On PostgreSQL several workers (and their beats)
        may look at once: exactly one of them gets each run."""
        nxt = _parse(follow.next_run_at)
        every = dt.timedelta(hours=follow.every_hours)
        if nxt <= now:
            nxt += every * (1 + int((now - nxt) / every))
        with self._db.transaction() as tx:
            moved = tx.execute(
                "UPDATE follows SET next_run_at = ? WHERE tag = ? AND next_run_at = ?",
                (to_utc_text(nxt), follow.tag, follow.next_run_at),
            )
        return moved == 1

    def record_run(
        self,
        tag: str,
        started: dt.datetime,
        status: str,
        added: int,
        message: str,
        due_again: str | None = None,
    ) -> None:
        """What a run of `tag` did (its next run was set when it was claimed; `due_again` sets
        it back, e.g. to when it was due, for a run that was cut short)."""
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE follows SET last_run_at = ?, last_status = ?, last_added = ?,"
                " last_message = ?, next_run_at = coalesce(?, next_run_at) WHERE tag = ?",
                (to_utc_text(started), status, added, message[:500], due_again, tag),
            )

    def set_call(self, tag: str, before: str | None, call: str | None) -> bool:
        """Record the trends' new call of `tag`, only if it still reads `before` (so of two
        callers at once exactly one sees the change, and raises its notice)."""
        with self._db.transaction() as tx:
            if before is None:
                changed = tx.execute(
                    "UPDATE follows SET last_call = ? WHERE tag = ? AND last_call IS NULL",
                    (call, tag),
                )
            else:
                changed = tx.execute(
                    "UPDATE follows SET last_call = ? WHERE tag = ? AND last_call = ?",
                    (call, tag, before),
                )
        return changed == 1

    def add_notice(self, tag: str, kind: str, text: str) -> int:
        with self._db.transaction() as tx:
            return tx.insert(
                "INSERT INTO notices (tag, kind, text, created_at, seen) VALUES (?, ?, ?, ?, 0)"
                " RETURNING id",
                (tag, kind, text[:500], utc_now()),
            )

    def notices(self, unseen_only: bool = True, limit: int = 20) -> list[Notice]:
        sql = "SELECT id, tag, kind, text, created_at, seen FROM notices"
        if unseen_only:
            sql += " WHERE seen = 0"
        rows = self._db.rows(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", (limit,))
        return [Notice(int(i), t, k, x, c, bool(s)) for i, t, k, x, c, s in rows]

    def mark_seen(self, ids: list[int] | None = None) -> int:
        """Notices seen (all unseen ones when `ids` is None); returns how many changed."""
        with self._db.transaction() as tx:
            if ids is None:
                return tx.execute("UPDATE notices SET seen = 1 WHERE seen = 0")
            return sum(
                tx.execute("UPDATE notices SET seen = 1 WHERE id = ? AND seen = 0", (int(i),))
                for i in ids
            )
