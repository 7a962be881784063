"""Images, their posts, tags and labels.

A row is committed only after its file sits under its final name, and the file is placed there while
the store's write lock is held. So a killed writer leaves at worst a file without a row (an orphan
that `check --repair` removes), never a row without its file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from store.database import Database, Transaction
from store.files import ImageFolder, StoredFile, extension_for
from store.records import (
    AddResult,
    ImageMeta,
    PerceptualHashes,
    posted_time,
    utc_now,
)
from stylescout.errors import StoreConstraintError, StoreError
from stylescout.tags import normalise_tags

log = logging.getLogger(__name__)


class ImageRepository:
    """Images and what was seen of them: posts, tags, imported labels."""

    def __init__(self, db: Database, files: ImageFolder) -> None:
        self._db, self.files = db, files

    # -- writing ----------------------------------------------------------------------------

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
        tag_list = normalise_tags(tags)
        labels = labels or {}
        staged = self.files.stage(data)
        try:
            ext = extension_for(meta.format)
            sha, size = staged.sha256, staged.size
            with self._db.transaction(lock=True) as tx:
                row = tx.row("SELECT id FROM images WHERE sha256 = ?", (sha,))
                if row is not None:
                    self._merge_tags(tx, row[0], tag_list)
                    if meta.post_url:
                        self._record_post(tx, row[0], meta)
                    return AddResult(row[0], sha, self.files.file(sha, ext), created=False)
                image_id = tx.insert(
                    "INSERT INTO images (sha256, phash, bytes, width, height, format, source,"
                    " source_url, post_url, caption, posted_at, likes, author, author_url,"
                    " licence, added_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
                        posted_time(meta.posted_at),
                        meta.likes,
                        meta.author,
                        meta.author_url,
                        meta.licence,
                        utc_now(),
                    ),
                )
                self._merge_tags(tx, image_id, tag_list)
                self._record_post(tx, image_id, meta)
                tx.executemany(
                    "INSERT INTO image_labels (image_id, name, value) VALUES (?, ?, ?)",
                    [(image_id, k, v) for k, v in labels.items()],
                )
                final = self.files.place(staged, sha, ext)  # still under the write lock
            log.debug("stored %s as image %d", sha[:12], image_id)
            return AddResult(image_id, sha, final, created=True)
        except StoreConstraintError as exc:
            raise StoreError(f"image metadata rejected by the store: {exc}") from None
        finally:
            self.files.discard(staged)

    @staticmethod
    def _merge_tags(tx: Transaction, image_id: int, tags: list[str]) -> None:
        tx.executemany(
            "INSERT INTO image_tags (image_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(image_id, tag) for tag in tags],
        )

    @staticmethod
    def _record_post(tx: Transaction, image_id: int, meta: ImageMeta) -> bool:
        """Record that `image_id` was seen in the post `meta` describes (once per post URL)."""
        if meta.post_url and tx.row(
            "SELECT 1 FROM posts WHERE post_url = ? AND image_id = ?", (meta.post_url, image_id)
        ):
            return False
        tx.execute(
            "INSERT INTO posts (image_id, source, post_url, posted_at, likes, author, author_url,"
            " licence, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                image_id,
                meta.source,
                meta.post_url,
                posted_time(meta.posted_at),
                meta.likes,
                meta.author,
                meta.author_url,
                meta.licence,
                utc_now(),
            ),
        )
        return True

    def add_tags(self, image_id: int, tags: Iterable[str]) -> None:
        """Merge tags into an existing image (e.g. when a repost carries other tags)."""
        with self._db.transaction() as tx:
            self._merge_tags(tx, image_id, normalise_tags(tags))

    def add_post(self, image_id: int, meta: ImageMeta, tags: Iterable[str] = ()) -> bool:
        """A repost of a stored image: its tags are merged and the post (URL, time, likes, credit)
        is recorded against the image. Returns whether the post was new."""
        try:  # the lock: "is this post recorded?" and the insert happen as one, on any back end
            with self._db.transaction(lock=True) as tx:
                self._merge_tags(tx, image_id, normalise_tags(tags))
                return self._record_post(tx, image_id, meta)
        except StoreConstraintError as exc:
            raise StoreError(f"cannot record a post of image {image_id}: {exc}") from None

    # -- reading ----------------------------------------------------------------------------

    def image_path(self, sha256: str, image_format: str) -> StoredFile:
        """Where the file of an image lives (a `Path` in the local folder)."""
        return self.files.file(sha256, extension_for(image_format))

    def file_for_sha(self, sha256: str) -> tuple[StoredFile, str] | None:
        """(file path, format) of the image with this hash, or None."""
        row = self._db.row("SELECT format FROM images WHERE sha256 = ?", (sha256,))
        return None if row is None else (self.image_path(sha256, row[0]), row[0])

    def image(self, image_id: int) -> dict | None:
        """One image row with its tags, or None."""
        rows = self._db.dicts("SELECT * FROM images WHERE id = ?", (image_id,))
        return {**rows[0], "tags": self.tags_of(image_id)} if rows else None

    def labels(self, name: str) -> dict[int, str]:
        """Every image's value of one imported label column (e.g. 'articleType')."""
        rows = self._db.rows("SELECT image_id, value FROM image_labels WHERE name = ?", (name,))
        return {int(i): v for i, v in rows}

    def labels_by_image(self) -> dict[int, dict[str, str]]:
        """Every labelled image's imported labels, by column."""
        out: dict[int, dict[str, str]] = {}
        for image_id, name, value in self._db.rows(
            "SELECT image_id, name, value FROM image_labels"
        ):
            out.setdefault(int(image_id), {})[name] = value
        return out

    def label_columns(self) -> list[str]:
        """The imported label columns, sorted."""
        return sorted(r[0] for r in self._db.rows("SELECT DISTINCT name FROM image_labels"))

    def image_id_by_sha(self, sha256: str) -> int | None:
        """Row id of the image with these bytes, or None."""
        row = self._db.row("SELECT id FROM images WHERE sha256 = ?", (sha256,))
        return None if row is None else int(row[0])

    def tags_of(self, image_id: int) -> list[str]:
        """Tags of one image, sorted."""
        rows = self._db.rows("SELECT tag FROM image_tags WHERE image_id = ?", (image_id,))
        return sorted(r[0] for r in rows)

    def has_post_url(self, post_url: str) -> bool:
        """Whether a post with this URL is already recorded, reposts included (scrapes skip it)."""
        return self.post_status(post_url) is not None

    def post_status(self, post_url: str) -> str | None:
        """'image' when an image was stored from this post, 'repost' when the post showed an image
        stored from another one, None when it is not recorded."""
        if self._db.row("SELECT 1 FROM images WHERE post_url = ? LIMIT 1", (post_url,)):
            return "image"
        row = self._db.row("SELECT 1 FROM posts WHERE post_url = ? LIMIT 1", (post_url,))
        return None if row is None else "repost"

    def stored_image_urls(self, post_url: str) -> set[str]:
        """The image addresses already stored from this post (a post may carry several)."""
        rows = self._db.rows(
            "SELECT source_url FROM images WHERE post_url = ? AND source_url IS NOT NULL",
            (post_url,),
        )
        return {r[0] for r in rows}

    def posts_of(self, image_id: int) -> list[dict]:
        """Every post an image was seen in, first first, with each post's credit."""
        return self._db.dicts(
            "SELECT source, post_url, posted_at, likes, author, author_url, licence, added_at"
            " FROM posts WHERE image_id = ? ORDER BY id",
            (image_id,),
        )

    def perceptual_hashes(self) -> PerceptualHashes:
        """Every stored image's perceptual hash, read once, for repeated look-ups."""
        table = PerceptualHashes()
        for image_id, text in self._db.rows(
            "SELECT id, phash FROM images WHERE phash IS NOT NULL ORDER BY id"
        ):
            table.add(int(image_id), text)
        return table

    def file_of(self, image_id: int) -> StoredFile | None:
        """Where the file of one image lives, or None when there is no such image."""
        row = self._db.row("SELECT sha256, format FROM images WHERE id = ?", (image_id,))
        return None if row is None else self.image_path(row[0], row[1])

    def image_files(self, ids: Iterable[int] | None = None) -> list[tuple[int, StoredFile]]:
        """(image id, file path) of every image, or of the given ids, in id order."""
        rows = self._db.rows("SELECT id, sha256, format FROM images ORDER BY id")
        wanted = None if ids is None else set(ids)
        return [
            (int(i), self.image_path(sha, fmt))
            for i, sha, fmt in rows
            if wanted is None or i in wanted
        ]

    def first_images(self, n: int) -> list[tuple[str, StoredFile]]:
        """(sha256, file) of the n oldest images, oldest first."""
        rows = self._db.rows("SELECT sha256, format FROM images ORDER BY id LIMIT ?", (int(n),))
        return [(sha, self.image_path(sha, fmt)) for sha, fmt in rows]

    def shas_and_formats(self) -> list[tuple[str, str]]:
        """(sha256, format) of every image, read under the write lock: no image is being placed
        meanwhile, so a file listed before this is either in the answer or an orphan."""
        with self._db.transaction(lock=True) as tx:
            return [(sha, fmt) for sha, fmt in tx.rows("SELECT sha256, format FROM images")]

    def remove_orphans(self, paths: Iterable[StoredFile]) -> int:
        """Delete the image files among `paths` that no row refers to; how many went."""
        removed = 0
        with self._db.transaction(lock=True) as tx:  # a writer cannot adopt one meanwhile
            for path in paths:
                sha, _, ext = path.name.partition(".")
                if tx.row("SELECT 1 FROM images WHERE sha256 = ?", (sha,)):
                    continue
                removed += self.files.remove(sha, ext)
        return removed

    def tags_by_image(self) -> dict[int, list[str]]:
        """Every image's tags (for naming styles)."""
        out: dict[int, list[str]] = {}
        for image_id, tag in self._db.rows("SELECT image_id, tag FROM image_tags"):
            out.setdefault(int(image_id), []).append(tag)
        return {i: sorted(tags) for i, tags in sorted(out.items())}

    def cards(self, ids: Iterable[int]) -> dict[int, dict]:
        """What the dashboard shows of each image (hash, post, caption, credit, tags), by id; the
        credit is the first post's (the one the image was stored from)."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self._db.rows(
            f"SELECT id, sha256, post_url, caption, posted_at, source, author, author_url,"
            f" licence FROM images WHERE id IN ({marks})",
            wanted,
        )
        out = {
            int(i): {
                "id": int(i),
                "sha256": sha,
                "post_url": post,
                "caption": caption,
                "posted_at": posted,
                "source": source,
                "author": author,
                "author_url": author_url,
                "licence": licence,
                "tags": [],
            }
            for i, sha, post, caption, posted, source, author, author_url, licence in rows
        }
        for image_id, tag in sorted(
            self._db.rows(
                f"SELECT image_id, tag FROM image_tags WHERE image_id IN ({marks})", wanted
            ),
            key=lambda r: r[1],
        ):
            out[int(image_id)]["tags"].append(tag)
        return out

    def post_times(self, tag: str | None = None) -> list[tuple[int, str]]:
        """(image id, when it was posted, else when it was stored) for every post, reposts
        included, optionally only of images with a tag."""
        return [(i, t) for i, _, t in self.source_post_times(tag)]

    def source_post_times(self, tag: str | None = None) -> list[tuple[int, str, str]]:
        """(image id, source, time) for the same posts as `post_times`, with the site each post
        was seen on: a repost on another site counts for that site, not for the one its image was
        first stored from (`images.source`)."""
        sql = "SELECT image_id, source, coalesce(posted_at, added_at) FROM posts"
        args: tuple = ()
        if tag:
            sql += " WHERE image_id IN (SELECT image_id FROM image_tags WHERE tag = ?)"
            args = (tag,)
        return [(int(i), s, t) for i, s, t in self._db.rows(sql + " ORDER BY id", args)]

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every tag with its image count, most used first."""
        rows = self._db.rows("SELECT tag, count(*) FROM image_tags GROUP BY tag")
        return sorted(((t, int(n)) for t, n in rows), key=lambda r: (-r[1], r[0]))
