"""People, their ratings, and the interleaved lists they were shown."""

from __future__ import annotations

import re
from collections.abc import Iterable

from store.database import Database
from store.records import utc_now
from stylescout.errors import StoreConstraintError, StoreError

_USER_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class RatingRepository:
    """Ratings (the history is kept; the latest per person and image counts) and impressions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def ensure_user(self, user_id: str) -> None:
        """Create the anonymous user if new."""
        if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
            raise StoreError("a user id is 8-64 letters, digits, '_' or '-'")
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO users (id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (user_id, utc_now()),
            )

    def add_rating(
        self,
        user_id: str,
        image_id: int,
        rating: int,
        *,
        model_key: str | None = None,
        style: str | None = None,
        query_kind: str | None = None,
        impression_id: int | None = None,
    ) -> int:
        """Store one rating (1-5); the history is kept, the latest per user and image counts.
        `impression_id`: the interleaved list the item was rated in (`record_impression`)."""
        if not isinstance(rating, int) or not 1 <= rating <= 5:
            raise StoreError(f"a rating is a whole number from 1 to 5, not {rating!r}")
        self.ensure_user(user_id)
        try:
            with self._db.transaction() as tx:
                return tx.insert(
                    "INSERT INTO ratings (user_id, image_id, rating, model_key, style, query_kind,"
                    " impression_id, rated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (
                        user_id,
                        image_id,
                        rating,
                        model_key,
                        style,
                        query_kind,
                        impression_id,
                        utc_now(),
                    ),
                )
        except StoreConstraintError:
            raise StoreError(f"cannot rate image {image_id}: no such image") from None

    def latest_ratings(self, user_id: str) -> dict[int, int]:
        """The person's current rating of each image they rated."""
        rows = self._db.rows(
            "SELECT image_id, rating FROM ratings WHERE id IN"
            " (SELECT max(id) FROM ratings WHERE user_id = ? GROUP BY image_id)",
            (user_id,),
        )
        return {int(i): int(r) for i, r in rows}

    def popular_images(self, limit: int = 10) -> list[int]:
        """Most liked by raters first (mean of latest ratings), then most reposted and liked."""
        rows = self._db.rows(
            "SELECT i.id FROM images i LEFT JOIN ("
            "  SELECT image_id, avg(rating) AS score, count(*) AS n FROM ratings WHERE id IN"
            "  (SELECT max(id) FROM ratings GROUP BY user_id, image_id) GROUP BY image_id"
            ") r ON r.image_id = i.id"
            " ORDER BY coalesce(r.score, 0) DESC, coalesce(r.n, 0) DESC,"
            " (SELECT count(*) FROM posts p WHERE p.image_id = i.id) DESC,"
            " (SELECT coalesce(sum(p.likes), 0) FROM posts p WHERE p.image_id = i.id) DESC,"
            " i.id LIMIT ?",
            (limit,),
        )
        return [int(r[0]) for r in rows]

    def liked_by_user(self, liked: int = 4) -> dict[str, list[int]]:
        """Per person, the items whose latest rating is `liked` or better."""
        out: dict[str, list[int]] = {}
        for user, image_id in self._db.rows(
            "SELECT user_id, image_id FROM ratings WHERE rating >= ? AND id IN"
            " (SELECT max(id) FROM ratings GROUP BY user_id, image_id) ORDER BY id",
            (liked,),
        ):
            out.setdefault(user, []).append(int(image_id))
        return out

    def ratings_history(self) -> list[dict]:
        """Every rating (oldest first) with the style and model key it was given under."""
        return self._db.dicts(
            "SELECT id, user_id, image_id, rating, model_key, style, query_kind, impression_id,"
            " rated_at FROM ratings ORDER BY id"
        )

    # -- interleaved lists ------------------------------------------------------------------

    def record_impression(
        self, user_id: str, models: tuple[str, str], credits: Iterable[tuple[int, str]]
    ) -> int:
        """Record a list shown to a person with two models interleaved: (image id, 'a' or 'b')
        in the order shown, for `models` (a's key, b's key). The person's latest list is reused
        when it is the same, so re-rendering a page does not count as a new list."""
        items = [(int(i), str(t)) for i, t in credits]
        if any(t not in ("a", "b") for _, t in items):
            raise StoreError("an interleaved item is credited to model 'a' or 'b'")
        self.ensure_user(user_id)
        try:  # the lock: two renders of one page must not record two lists, on any back end
            with self._db.transaction(lock=True) as tx:
                last = tx.row(
                    "SELECT id, model_a, model_b FROM impressions WHERE user_id = ?"
                    " ORDER BY id DESC LIMIT 1",
                    (user_id,),
                )
                if last is not None and (last[1], last[2]) == tuple(models):
                    shown = tx.rows(
                        "SELECT image_id, team FROM impression_items WHERE impression_id = ?"
                        " ORDER BY position",
                        (last[0],),
                    )
                    if [(int(i), t) for i, t in shown] == items:
                        return int(last[0])
                impression = tx.insert(
                    "INSERT INTO impressions (user_id, model_a, model_b, shown_at)"
                    " VALUES (?, ?, ?, ?) RETURNING id",
                    (user_id, models[0], models[1], utc_now()),
                )
                tx.executemany(
                    "INSERT INTO impression_items (impression_id, image_id, position, team)"
                    " VALUES (?, ?, ?, ?)",
                    [(impression, i, n, t) for n, (i, t) in enumerate(items)],
                )
                return impression
        except StoreConstraintError as exc:
            raise StoreError(f"cannot record the list shown: {exc}") from None

    def impression_credit(self, user_id: str, image_id: int) -> tuple[int, str] | None:
        """(impression id, credited model key) of the latest interleaved list that showed
        `image_id` to this person, or None when no such list did."""
        row = self._db.row(
            "SELECT i.id, CASE t.team WHEN 'a' THEN i.model_a ELSE i.model_b END"
            " FROM impression_items t JOIN impressions i ON i.id = t.impression_id"
            " WHERE i.user_id = ? AND t.image_id = ? ORDER BY i.id DESC LIMIT 1",
            (user_id, int(image_id)),
        )
        return None if row is None else (int(row[0]), str(row[1]))

    def interleaved_ratings(self) -> list[dict]:
        """Every interleaved list that got ratings: its models and, per rated item, the team
        that placed it and the latest rating given in that list (oldest list first)."""
        return self._db.dicts(
            "SELECT i.id AS impression_id, i.model_a, i.model_b, t.image_id, t.team, r.rating"
            " FROM ratings r JOIN impressions i ON i.id = r.impression_id"
            " JOIN impression_items t ON t.impression_id = i.id AND t.image_id = r.image_id"
            " WHERE r.id IN (SELECT max(id) FROM ratings WHERE impression_id IS NOT NULL"
            " GROUP BY impression_id, image_id)"
            " ORDER BY i.id, t.position"
        )
