"""The local store: one SQLite database plus content-addressed image files.

A row is committed only after its file sits under its final name, and the file is moved there while
the write lock is held. So a killed writer leaves at worst a file without a row (an orphan that
`check --repair` removes), never a row without its file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from store.errors import StoreBusyError, StoreError
from store.files import ImageFiles, extension_for, pid_alive, sha256_file
from store.locks import exclusive
from store.schema import migrate
from store.tags import normalise_tags

if TYPE_CHECKING:
    from store.config import Config

log = logging.getLogger(__name__)

DB_NAME = "store.sqlite"
RUN_STATUSES = ("running", "completed", "interrupted", "failed")
_USER_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def utc_now() -> str:
    """Current time as an ISO 8601 UTC string, the one time format the store uses."""
    return to_utc_text(dt.datetime.now(dt.UTC))


def to_utc_text(value: dt.datetime | str | None) -> str | None:
    """Normalise a datetime (naive means UTC) or ISO string to 'YYYY-MM-DDTHH:MM:SSZ'."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise StoreError(f"time {value!r} is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ImageMeta:
    """What the caller knows about an image; the store computes the sha256 and the size itself."""

    width: int
    height: int
    format: str
    source: str
    phash: str | None = None
    source_url: str | None = None
    post_url: str | None = None
    caption: str | None = None
    posted_at: dt.datetime | str | None = None
    likes: int | None = None


@dataclass(frozen=True)
class AddResult:
    """Outcome of adding an image: its row id, hash, file, and whether it was new."""

    image_id: int
    sha256: str
    path: Path
    created: bool


@dataclass(frozen=True)
class StoreStats:
    """Counts shown by `python -m store stats` and the dashboard header."""

    images: int
    image_bytes: int
    posts: int
    tags: int
    tagged: int
    scrape_runs: dict[str, int]
    users: int
    ratings: int
    sources: dict[str, int]
    top_tags: list[tuple[str, int]] = field(default_factory=list)


class PerceptualHashes:
    """64-bit perceptual hashes held in memory: Hamming-distance look-ups without a query each.

    A scrape loads the store's table once and adds what it stores, instead of reading every hash
    from SQLite for every downloaded image.
    """

    def __init__(self) -> None:
        self._ids: list[int] = []
        self._values: list[int] = []
        self._array: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, image_id: int, phash: str) -> None:
        self._ids.append(image_id)
        self._values.append(int(phash, 16))
        self._array = None

    def near(self, phash: str, max_distance: int) -> list[tuple[int, int]]:
        """(image id, distance) within `max_distance` bits, nearest first."""
        if not self._ids:
            return []
        if self._array is None:
            self._array = np.array(self._values, dtype=np.uint64)
        xor = self._array ^ np.uint64(int(phash, 16))
        distances = np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
        close = np.flatnonzero(distances <= max_distance)
        order = close[np.argsort(distances[close], kind="stable")]
        return [(self._ids[i], int(distances[i])) for i in order]


class Store:
    """Access to `data_dir`: thread-safe (one SQLite connection per thread), multi-process safe."""

    def __init__(self, data_dir: Path | str, busy_timeout_ms: int = 10_000) -> None:
        self.data_dir = Path(data_dir)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.files = ImageFiles(self.data_dir / "images")
        except OSError as exc:
            raise StoreError(
                f"cannot create the data folder {self.data_dir}: {exc.strerror}"
            ) from None
        self.db_path = self.data_dir / DB_NAME
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        migrate(self._conn())
        self.recovered: list[str] = self._recover()

    def _recover(self) -> list[str]:
        """Undo what stopped writers left, as SQLite rolls back a hot journal on open.

        Only leftovers of processes that no longer exist are touched, so this is safe while other
        writers run: their temp files, and their scrape runs still marked 'running'.
        """
        done = []
        stale = self.files.stale_temps()
        for path in stale:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if stale:
            done.append(f"removed {len(stale)} temp files left by stopped writers")
        closed = self.mark_abandoned_runs()
        if closed:
            done.append(f"marked {closed} scrape runs of stopped processes as interrupted")
        for line in done:
            log.info("store recovery: %s", line)
        return done

    @classmethod
    def from_config(cls, config: Config) -> Store:
        """Open the store a `Config` points at."""
        return cls(config.data_dir, config.store.busy_timeout_ms)

    # -- connections and transactions -------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.db_path,
                    timeout=self.busy_timeout_ms / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot open {self.db_path}: {exc}") from None
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, for read queries that have no method here."""
        return self._conn()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock from its start (BEGIN IMMEDIATE)."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # the wait for the lock (busy_timeout) ran out
            raise StoreBusyError(f"the store stayed busy: {exc}") from None
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[sqlite3.Connection]:
        """Hold the store's write lock: no image can be placed or recorded meanwhile."""
        with self._write() as conn:
            yield conn

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def cache_dir(self) -> Path:
        """Where derived files that can be rebuilt at any time live (e.g. thumbnails)."""
        return self.data_dir / "cache"

    def job_slot(self, name: str, what: str) -> contextlib.AbstractContextManager[None]:
        """Run a job of kind `name` only while no other one runs on this store (any process);
        raises BusyError carrying the running job's `what` otherwise."""
        return exclusive(self.data_dir / "cache" / f"{name}.lock", what)

    def file_for_sha(self, sha256: str) -> tuple[Path, str] | None:
        """(file path, format) of the image with this hash, or None."""
        row = (
            self._conn().execute("SELECT format FROM images WHERE sha256 = ?", (sha256,)).fetchone()
        )
        return None if row is None else (self.image_path(sha256, row[0]), row[0])

    @property
    def index_dir(self) -> Path:
        """Where style index artefacts live (`data/index/`); the clustering package writes them."""
        return self.data_dir / "index"

    @property
    def challenger_index_dir(self) -> Path:
        """Where the index of the backbone compared online lives (`recommender.interleave`)."""
        return self.data_dir / "index-challenger"

    # -- images -----------------------------------------------------------------------------

    def image_path(self, sha256: str, image_format: str) -> Path:
        """Where the file of an image lives."""
        return self.files.path_for(sha256, extension_for(image_format))

    def add_image_bytes(
        self,
        data: bytes,
        meta: ImageMeta,
        tags: Iterable[str] = (),
        labels: dict[str, str] | None = None,
    ) -> AddResult:
        """Store image bytes with metadata, tags and (for imports) labels.

        Adding bytes that are already stored is a no-op that merges the tags into the stored image.
        """
        if not data:
            raise StoreError("refusing to store an empty image")
        return self._add_temp(self.files.write_temp(data), meta, tags, labels or {})

    def _add_temp(
        self, temp: Path, meta: ImageMeta, tags: Iterable[str], labels: dict[str, str]
    ) -> AddResult:
        """Store a finished temp file (taking ownership of it)."""
        tag_list = normalise_tags(tags)
        try:
            ext = extension_for(meta.format)
            sha = sha256_file(temp)
            size = temp.stat().st_size
            if size == 0:
                raise StoreError("refusing to store an empty image")
            with self._write() as conn:
                row = conn.execute("SELECT id FROM images WHERE sha256 = ?", (sha,)).fetchone()
                if row is not None:
                    self._merge_tags(conn, row[0], tag_list)
                    if meta.post_url:
                        self._record_post(conn, row[0], meta)
                    return AddResult(row[0], sha, self.files.path_for(sha, ext), created=False)
                cur = conn.execute(
                    "INSERT INTO images (sha256, phash, bytes, width, height, format, source,"
                    " source_url, post_url, caption, posted_at, likes, added_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        sha,
                        meta.phash,
                        size,
                        meta.width,
                        meta.height,
                        meta.format.upper(),
                        meta.source,
                        meta.source_url,
                        meta.post_url,
                        meta.caption,
                        to_utc_text(meta.posted_at),
                        meta.likes,
                        utc_now(),
                    ),
                )
                image_id = int(cur.lastrowid)
                self._merge_tags(conn, image_id, tag_list)
                self._record_post(conn, image_id, meta)
                conn.executemany(
                    "INSERT INTO image_labels (image_id, name, value) VALUES (?, ?, ?)",
                    [(image_id, k, v) for k, v in labels.items()],
                )
                final = self.files.place(temp, sha, ext)  # still under the write lock
            log.debug("stored %s as image %d", sha[:12], image_id)
            return AddResult(image_id, sha, final, created=True)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"image metadata rejected by the store: {exc}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    @staticmethod
    def _merge_tags(conn: sqlite3.Connection, image_id: int, tags: list[str]) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO image_tags (image_id, tag) VALUES (?, ?)",
            [(image_id, tag) for tag in tags],
        )

    @staticmethod
    def _record_post(conn: sqlite3.Connection, image_id: int, meta: ImageMeta) -> bool:
        """Record that `image_id` was seen in the post `meta` describes (once per post URL)."""
        if (
            meta.post_url
            and conn.execute(
                "SELECT 1 FROM posts WHERE post_url = ? AND image_id = ?", (meta.post_url, image_id)
            ).fetchone()
        ):
            return False
        conn.execute(
            "INSERT INTO posts (image_id, source, post_url, posted_at, likes, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                image_id,
                meta.source,
                meta.post_url,
                to_utc_text(meta.posted_at),
                meta.likes,
                utc_now(),
            ),
        )
        return True

    def add_tags(self, image_id: int, tags: Iterable[str]) -> None:
        """Merge tags into an existing image (e.g. when a repost carries other tags)."""
        with self._write() as conn:
            self._merge_tags(conn, image_id, normalise_tags(tags))

    def add_post(self, image_id: int, meta: ImageMeta, tags: Iterable[str] = ()) -> bool:
        """A repost of a stored image: its tags are merged and the post (URL, time, likes) is
        recorded against the image. Returns whether the post was new."""
        try:
            with self._write() as conn:
                self._merge_tags(conn, image_id, normalise_tags(tags))
                return self._record_post(conn, image_id, meta)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"cannot record a post of image {image_id}: {exc}") from None

    def image(self, image_id: int) -> dict | None:
        """One image row with its tags, or None."""
        conn = self._conn()
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
        finally:
            conn.row_factory = None
        if row is None:
            return None
        return {**dict(row), "tags": self.tags_of(image_id)}

    def labels(self, name: str) -> dict[int, str]:
        """Every image's value of one imported label column (e.g. 'articleType')."""
        rows = self._conn().execute(
            "SELECT image_id, value FROM image_labels WHERE name = ?", (name,)
        )
        return {int(i): v for i, v in rows}

    def labels_by_image(self) -> dict[int, dict[str, str]]:
        """Every labelled image's imported labels, by column."""
        out: dict[int, dict[str, str]] = {}
        for image_id, name, value in self._conn().execute(
            "SELECT image_id, name, value FROM image_labels"
        ):
            out.setdefault(int(image_id), {})[name] = value
        return out

    def label_columns(self) -> list[str]:
        """The imported label columns, sorted."""
        rows = self._conn().execute("SELECT DISTINCT name FROM image_labels ORDER BY name")
        return [r[0] for r in rows]

    def image_id_by_sha(self, sha256: str) -> int | None:
        """Row id of the image with these bytes, or None."""
        row = self._conn().execute("SELECT id FROM images WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else int(row[0])

    def tags_of(self, image_id: int) -> list[str]:
        """Tags of one image, sorted."""
        rows = self._conn().execute(
            "SELECT tag FROM image_tags WHERE image_id = ? ORDER BY tag", (image_id,)
        )
        return [r[0] for r in rows]

    def has_post_url(self, post_url: str) -> bool:
        """Whether a post with this URL is already recorded, reposts included (scrapes skip it)."""
        return self.post_status(post_url) is not None

    def post_status(self, post_url: str) -> str | None:
        """'image' when an image was stored from this post, 'repost' when the post showed an image
        stored from another one, None when it is not recorded."""
        conn = self._conn()
        if conn.execute("SELECT 1 FROM images WHERE post_url = ? LIMIT 1", (post_url,)).fetchone():
            return "image"
        row = conn.execute("SELECT 1 FROM posts WHERE post_url = ? LIMIT 1", (post_url,)).fetchone()
        return None if row is None else "repost"

    def stored_image_urls(self, post_url: str) -> set[str]:
        """The image addresses already stored from this post (a post may carry several)."""
        rows = self._conn().execute(
            "SELECT source_url FROM images WHERE post_url = ? AND source_url IS NOT NULL",
            (post_url,),
        )
        return {r[0] for r in rows}

    def posts_of(self, image_id: int) -> list[dict]:
        """Every post an image was seen in, first first."""
        cur = self._conn().execute(
            "SELECT source, post_url, posted_at, likes, added_at FROM posts WHERE image_id = ?"
            " ORDER BY id",
            (image_id,),
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def perceptual_hashes(self) -> PerceptualHashes:
        """Every stored image's perceptual hash, read once, for repeated look-ups."""
        rows = self._conn().execute("SELECT id, phash FROM images WHERE phash IS NOT NULL")
        table = PerceptualHashes()
        for image_id, text in rows:
            table.add(int(image_id), text)
        return table

    def file_of(self, image_id: int) -> Path | None:
        """Where the file of one image lives, or None when there is no such image."""
        row = (
            self._conn()
            .execute("SELECT sha256, format FROM images WHERE id = ?", (image_id,))
            .fetchone()
        )
        return None if row is None else self.image_path(row[0], row[1])

    def image_files(self, ids: Iterable[int] | None = None) -> list[tuple[int, Path]]:
        """(image id, file path) of every image, or of the given ids, in id order."""
        rows = self._conn().execute("SELECT id, sha256, format FROM images ORDER BY id")
        wanted = None if ids is None else set(ids)
        return [
            (int(i), self.image_path(sha, fmt))
            for i, sha, fmt in rows
            if wanted is None or i in wanted
        ]

    def popular_images(self, limit: int = 10) -> list[int]:
        """Most liked by raters first (mean of latest ratings), then most reposted and liked."""
        rows = self._conn().execute(
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

    # -- feature cache ----------------------------------------------------------------------

    def images_without_features(self, model_key: str) -> list[tuple[int, Path]]:
        """Images that have neither features nor a recorded failure for this model key."""
        rows = self._conn().execute(
            "SELECT id, sha256, format FROM images WHERE id NOT IN"
            " (SELECT image_id FROM features WHERE model_key = ?) ORDER BY id",
            (model_key,),
        )
        return [(int(i), self.image_path(sha, fmt)) for i, sha, fmt in rows]

    def save_features(self, model_key: str, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Cache one float32 vector per image for a model key."""
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO features (model_key, image_id, vector) VALUES (?, ?, ?)",
                [(model_key, int(i), row.tobytes()) for i, row in zip(ids, data, strict=True)],
            )

    def save_feature_failures(self, model_key: str, failures: dict[int, str]) -> None:
        """Remember images a model could not read, with why."""
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO features (model_key, image_id, failure) VALUES (?, ?, ?)",
                [(model_key, int(i), reason[:500]) for i, reason in failures.items()],
            )

    def load_features(self, model_key: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 (n,), vectors float32 (n, d)) cached for a model key, in id order."""
        rows = (
            self._conn()
            .execute(
                "SELECT image_id, vector FROM features WHERE model_key = ? AND vector IS NOT NULL"
                " ORDER BY image_id",
                (model_key,),
            )
            .fetchall()
        )
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        return ids, np.stack([np.frombuffer(r[1], np.float32) for r in rows])

    def feature_failures(self, model_key: str) -> dict[int, str]:
        """Images this model key could not read."""
        rows = self._conn().execute(
            "SELECT image_id, failure FROM features WHERE model_key = ? AND failure IS NOT NULL",
            (model_key,),
        )
        return {int(i): f for i, f in rows}

    def tags_by_image(self) -> dict[int, list[str]]:
        """Every image's tags (for naming styles)."""
        out: dict[int, list[str]] = {}
        for image_id, tag in self._conn().execute("SELECT image_id, tag FROM image_tags"):
            out.setdefault(int(image_id), []).append(tag)
        return out

    def cards(self, ids: Iterable[int]) -> dict[int, dict]:
        """What the dashboard shows of each image (hash, post, caption, tags), by id."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return {}
        conn = self._conn()
        marks = ",".join("?" * len(wanted))
        rows = conn.execute(
            f"SELECT id, sha256, post_url, caption, posted_at, source FROM images"
            f" WHERE id IN ({marks})",
            wanted,
        ).fetchall()
        out = {
            int(i): {
                "id": int(i),
                "sha256": sha,
                "post_url": post,
                "caption": caption,
                "posted_at": posted,
                "source": source,
                "tags": [],
            }
            for i, sha, post, caption, posted, source in rows
        }
        for image_id, tag in conn.execute(
            f"SELECT image_id, tag FROM image_tags WHERE image_id IN ({marks}) ORDER BY tag",
            wanted,
        ):
            out[int(image_id)]["tags"].append(tag)
        return out

    def post_times(self, tag: str | None = None) -> list[tuple[int, str]]:
        """(image id, when it was posted, else when it was stored) for every post, reposts
        included, optionally only of images with a tag."""
        sql = "SELECT image_id, coalesce(posted_at, added_at) FROM posts"
        args: tuple = ()
        if tag:
            sql += " WHERE image_id IN (SELECT image_id FROM image_tags WHERE tag = ?)"
            args = (tag,)
        return [(int(i), t) for i, t in self._conn().execute(sql + " ORDER BY id", args)]

    def source_post_times(self, tag: str | None = None) -> list[tuple[int, str, str]]:
        """(image id, source, time) for the same posts as `post_times`, with the site each post
        was seen on: a repost on another site counts for that site, not for the one its image was
        first stored from (`images.source`)."""
        sql = "SELECT image_id, source, coalesce(posted_at, added_at) FROM posts"
        args: tuple = ()
        if tag:
            sql += " WHERE image_id IN (SELECT image_id FROM image_tags WHERE tag = ?)"
            args = (tag,)
        return [(int(i), s, t) for i, s, t in self._conn().execute(sql + " ORDER BY id", args)]

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every tag with its image count, most used first."""
        rows = self._conn().execute(
            "SELECT tag, count(*) AS n FROM image_tags GROUP BY tag ORDER BY n DESC, tag"
        )
        return [(t, int(n)) for t, n in rows]

    # -- scrape runs ------------------------------------------------------------------------

    def start_run(self, tag: str, source: str, requested: int) -> int:
        """Record that a scrape started; returns its id."""
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO scrape_runs (tag, source, requested, pid, started_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (tag, source, requested, os.getpid(), utc_now()),
            )
            return int(cur.lastrowid)

    def finish_run(
        self,
        run_id: int,
        status: str,
        added: int,
        duplicates: int,
        failed_by_reason: dict[str, int] | None = None,
    ) -> None:
        """Record a scrape's outcome."""
        if status not in RUN_STATUSES[1:]:
            raise StoreError(f"unknown run status {status!r}")
        reasons = dict(failed_by_reason or {})
        with self._write() as conn:
            conn.execute(
                "UPDATE scrape_runs SET status = ?, added = ?, duplicates = ?, failed = ?,"
                " failed_by_reason = ?, ended_at = ? WHERE id = ?",
                (
                    status,
                    added,
                    duplicates,
                    sum(reasons.values()),
                    json.dumps(reasons, sort_keys=True),
                    utc_now(),
                    run_id,
                ),
            )

    def mark_abandoned_runs(self) -> int:
        """Runs still 'running' whose process is gone become 'interrupted'; returns how many."""
        conn = self._conn()
        running = conn.execute(
            "SELECT id, pid FROM scrape_runs WHERE status = 'running'"
        ).fetchall()
        dead = [run_id for run_id, pid in running if pid is None or not pid_alive(pid)]
        if dead:
            with self._write() as wconn:
                wconn.executemany(
                    "UPDATE scrape_runs SET status = 'interrupted', ended_at = ? WHERE id = ?",
                    [(utc_now(), run_id) for run_id in dead],
                )
        return len(dead)

    def runs(self, limit: int = 20) -> list[dict]:
        """Most recent scrape runs, newest first."""
        conn = self._conn()
        cur = conn.execute(
            "SELECT id, tag, source, requested, added, duplicates, failed, failed_by_reason,"
            " status, started_at, ended_at FROM scrape_runs ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        names = [d[0] for d in cur.description]
        out = []
        for row in cur:
            item = dict(zip(names, row, strict=True))
            item["failed_by_reason"] = json.loads(item["failed_by_reason"])
            out.append(item)
        return out

    # -- users and ratings ------------------------------------------------------------------

    def ensure_user(self, user_id: str) -> None:
        """Create the anonymous user if new."""
        if not _USER_ID.fullmatch(user_id):
            raise StoreError("a user id is 8-64 letters, digits, '_' or '-'")
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user_id, utc_now())
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
            with self._write() as conn:
                cur = conn.execute(
                    "INSERT INTO ratings (user_id, image_id, rating, model_key, style, query_kind,"
                    " impression_id, rated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
                return int(cur.lastrowid)
        except sqlite3.IntegrityError:
            raise StoreError(f"cannot rate image {image_id}: no such image") from None

    def latest_ratings(self, user_id: str) -> dict[int, int]:
        """The person's current rating of each image they rated."""
        rows = self._conn().execute(
            "SELECT image_id, rating FROM ratings WHERE id IN"
            " (SELECT max(id) FROM ratings WHERE user_id = ? GROUP BY image_id)",
            (user_id,),
        )
        return {int(i): int(r) for i, r in rows}

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
        try:
            with self._write() as conn:
                last = conn.execute(
                    "SELECT id, model_a, model_b FROM impressions WHERE user_id = ?"
                    " ORDER BY id DESC LIMIT 1",
                    (user_id,),
                ).fetchone()
                if last is not None and (last[1], last[2]) == tuple(models):
                    shown = conn.execute(
                        "SELECT image_id, team FROM impression_items WHERE impression_id = ?"
                        " ORDER BY position",
                        (last[0],),
                    ).fetchall()
                    if [(int(i), t) for i, t in shown] == items:
                        return int(last[0])
                cur = conn.execute(
                    "INSERT INTO impressions (user_id, model_a, model_b, shown_at)"
                    " VALUES (?, ?, ?, ?)",
                    (user_id, models[0], models[1], utc_now()),
                )
                impression = int(cur.lastrowid)
                conn.executemany(
                    "INSERT INTO impression_items (impression_id, image_id, position, team)"
                    " VALUES (?, ?, ?, ?)",
                    [(impression, i, n, t) for n, (i, t) in enumerate(items)],
                )
                return impression
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"cannot record the list shown: {exc}") from None

    def impression_credit(self, user_id: str, image_id: int) -> tuple[int, str] | None:
        """(impression id, credited model key) of the latest interleaved list that showed
        `image_id` to this person, or None when no such list did."""
        row = (
            self._conn()
            .execute(
                "SELECT i.id, CASE t.team WHEN 'a' THEN i.model_a ELSE i.model_b END"
                " FROM impression_items t JOIN impressions i ON i.id = t.impression_id"
                " WHERE i.user_id = ? AND t.image_id = ? ORDER BY i.id DESC LIMIT 1",
                (user_id, int(image_id)),
            )
            .fetchone()
        )
        return None if row is None else (int(row[0]), str(row[1]))

    def interleaved_ratings(self) -> list[dict]:
        """Every interleaved list that got ratings: its models and, per rated item, the team
        that placed it and the latest rating given in that list (oldest list first)."""
        cur = self._conn().execute(
            "SELECT i.id AS impression_id, i.model_a, i.model_b, t.image_id, t.team, r.rating"
            " FROM ratings r JOIN impressions i ON i.id = r.impression_id"
            " JOIN impression_items t ON t.impression_id = i.id AND t.image_id = r.image_id"
            " WHERE r.id IN (SELECT max(id) FROM ratings WHERE impression_id IS NOT NULL"
            " GROUP BY impression_id, image_id)"
            " ORDER BY i.id, t.position"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def liked_by_user(self, liked: int = 4) -> dict[str, list[int]]:
        """Per person, the items whose latest rating is `liked` or better."""
        out: dict[str, list[int]] = {}
        for user, image_id in self._conn().execute(
            "SELECT user_id, image_id FROM ratings WHERE rating >= ? AND id IN"
            " (SELECT max(id) FROM ratings GROUP BY user_id, image_id) ORDER BY id",
            (liked,),
        ):
            out.setdefault(user, []).append(int(image_id))
        return out

    def ratings_history(self) -> list[dict]:
        """Every rating (oldest first) with the style and model key it was given under."""
        cur = self._conn().execute(
            "SELECT id, user_id, image_id, rating, model_key, style, query_kind, impression_id,"
            " rated_at"
            " FROM ratings ORDER BY id"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    # -- summaries --------------------------------------------------------------------------

    def stats(self, top: int = 10) -> StoreStats:
        """Counts of everything in the store."""
        conn = self._conn()
        conn.execute("BEGIN")  # one consistent snapshot
        try:
            images, image_bytes = conn.execute(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM images"
            ).fetchone()
            posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
            tags, tagged = conn.execute(
                "SELECT count(DISTINCT tag), count(DISTINCT image_id) FROM image_tags"
            ).fetchone()
            runs = dict(conn.execute("SELECT status, count(*) FROM scrape_runs GROUP BY status"))
            users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
            ratings = conn.execute("SELECT count(*) FROM ratings").fetchone()[0]
            sources = dict(
                conn.execute(
                    "SELECT source, count(*) FROM images GROUP BY source ORDER BY count(*) DESC"
                )
            )
            top_tags = conn.execute(
                "SELECT tag, count(*) AS n FROM image_tags GROUP BY tag ORDER BY n DESC, tag"
                " LIMIT ?",
                (top,),
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        return StoreStats(
            images=images,
            image_bytes=image_bytes,
            posts=posts,
            tags=tags,
            tagged=tagged,
            scrape_runs={s: runs.get(s, 0) for s in RUN_STATUSES},
            users=users,
            ratings=ratings,
            sources=sources,
            top_tags=[(t, n) for t, n in top_tags],
        )
