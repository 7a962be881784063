"""Cached image descriptors per model key, and the images a model could not read."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from store.database import Database
from store.files import StoredFile
from store.repositories.images import ImageRepository


class FeatureRepository:
    """One float32 vector (or a failure) per image and model key; vectors are blobs / bytea."""

    def __init__(self, db: Database, images: ImageRepository) -> None:
        self._db, self._images = db, images

    def images_without_features(self, model_key: str) -> list[tuple[int, StoredFile]]:
        """Images that have neither features nor a recorded failure for this model key."""
        rows = self._db.rows(
            "SELECT id, sha256, format FROM images WHERE id NOT IN"
            " (SELECT image_id FROM features WHERE model_key = ?) ORDER BY id",
            (model_key,),
        )
        return [(int(i), self._images.image_path(sha, fmt)) for i, sha, fmt in rows]

    def save_features(self, model_key: str, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Cache one float32 vector per image for a model key (idempotent: a rerun replaces)."""
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._db.transaction() as tx:
            tx.executemany(
                "INSERT INTO features (model_key, image_id, vector) VALUES (?, ?, ?)"
                " ON CONFLICT (model_key, image_id)"
                " DO UPDATE SET vector = excluded.vector, failure = NULL",
                [(model_key, int(i), row.tobytes()) for i, row in zip(ids, data, strict=True)],
            )

    def save_feature_failures(self, model_key: str, failures: dict[int, str]) -> None:
        """Remember images a model could not read, with why."""
        with self._db.transaction() as tx:
            tx.executemany(
                "INSERT INTO features (model_key, image_id, failure) VALUES (?, ?, ?)"
                " ON CONFLICT (model_key, image_id)"
                " DO UPDATE SET failure = excluded.failure, vector = NULL",
                [(model_key, int(i), reason[:500]) for i, reason in failures.items()],
            )

    def load_features(self, model_key: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 (n,), vectors float32 (n, d)) cached for a model key, in id order. Read in
        batches into one preallocated array, from one consistent snapshot: the peak is the
        answer's own size, not twice it."""
        where = "WHERE model_key = ? AND vector IS NOT NULL"
        with self._db.snapshot() as tx:
            n = int(tx.row(f"SELECT count(*) FROM features {where}", (model_key,))[0])
            if n == 0:
                return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
            ids = np.empty(n, np.int64)
            vectors: np.ndarray | None = None
            done = 0
            sql = f"SELECT image_id, vector FROM features {where} ORDER BY image_id"
            for rows in tx.batches(sql, (model_key,)):
                if vectors is None:
                    vectors = np.empty((n, len(rows[0][1]) // 4), np.float32)
                for image_id, blob in rows:
                    ids[done] = image_id
                    vectors[done] = np.frombuffer(blob, np.float32)
                    done += 1
        assert vectors is not None and done == n
        return ids, vectors

    def model_keys(self, prefix: str = "") -> dict[str, int]:
        """Every model key starting with `prefix` that has vectors, with how many."""
        rows = self._db.rows(
            "SELECT model_key, count(*) FROM features WHERE vector IS NOT NULL"
            " GROUP BY model_key ORDER BY model_key"
        )
        return {k: int(n) for k, n in rows if str(k).startswith(prefix)}

    def feature_failures(self, model_key: str) -> dict[int, str]:
        """Images this model key could not read."""
        rows = self._db.rows(
            "SELECT image_id, failure FROM features WHERE model_key = ? AND failure IS NOT NULL",
            (model_key,),
        )
        return {int(i): f for i, f in rows}
