"""The store: a database (SQLite by default, or PostgreSQL) plus content-addressed image files.

`Store` opens both and hands out the repositories the rest of StyleScout reads and writes through
(`store.images`, `store.features`, `store.runs`, `store.ratings`, `store.accounts`,
`store.sessions`, `store.follows`); SQL lives in those, connections and transactions in
`store/database.py`.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.database import Database, open_database
from store.files import ImageFolder, open_image_folder
from store.locks import exclusive
from store.records import StoreStats
from store.repositories import (
    RUN_STATUSES,
    AccountRepository,
    FeatureRepository,
    FollowRepository,
    ImageRepository,
    RatingRepository,
    RunRepository,
    SessionRepository,
)
from stylescout import paths
from stylescout.errors import StoreError

if TYPE_CHECKING:
    from stylescout.settings import StorePlace

log = logging.getLogger(__name__)


class Store:
    """Access to a store: thread-safe (one connection per thread), multi-process safe."""

    def __init__(
        self,
        data_dir: Path | str,
        busy_timeout_ms: int = 10_000,
        url: str | None = None,
        images_url: str | None = None,
        images_options: dict[str, Any] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.files: ImageFolder = open_image_folder(self.data_dir, images_url, images_options)
        except OSError as exc:
            raise StoreError(
                f"cannot create the data folder {self.data_dir}: {exc.strerror}"
            ) from None
        self.db: Database = open_database(url, self.data_dir, busy_timeout_ms)
        try:
            self.db.migrate()
        except BaseException:
            self.db.close()
            raise
        self.images = ImageRepository(self.db, self.files)
        self.features = FeatureRepository(self.db, self.images)
        self.runs = RunRepository(self.db)
        self.ratings = RatingRepository(self.db)
        self.accounts = AccountRepository(self.db)
        self.sessions = SessionRepository(self.db)
        self.follows = FollowRepository(self.db)
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
        closed = self.runs.mark_abandoned_runs()
        if closed:
            done.append(f"marked {closed} scrape runs of stopped processes as interrupted")
        for line in done:
            log.info("store recovery: %s", line)
        return done

    @classmethod
    def from_config(cls, config: StorePlace) -> Store:
        """Open the store a `Config` (or a part's settings) points at. The environment's
        `STYLESCOUT_STORE_URL` and the like reach it through the settings' loader."""
        return cls(
            config.data_dir,
            config.store.busy_timeout_ms,
            config.store.url,
            config.store.images_url,
            config.store.images_options,
        )

    @property
    def location(self) -> str:
        """Where the database is, for messages (a URL's password is hidden)."""
        return self.db.location

    @property
    def images_location(self) -> str:
        """Where the image files are, for messages (a folder or an URL, never its options)."""
        return self.files.location

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def cache_dir(self) -> Path:
        """Where derived files that can be rebuilt at any time live (e.g. thumbnails)."""
        return paths.cache_dir(self.data_dir)

    @property
    def index_dir(self) -> Path:
        """Where style index artefacts live (`data/index/`); the clustering package writes them."""
        return paths.index_dir(self.data_dir)

    @property
    def challenger_index_dir(self) -> Path:
        """Where the index of the backbone compared online lives (`recommender.interleave`)."""
        return paths.challenger_index_dir(self.data_dir)

    def job_slot(self, name: str, what: str) -> contextlib.AbstractContextManager[None]:
        """Run a job of kind `name` only while no other one runs on this store (any process);
        raises BusyError carrying the running job's `what` otherwise."""
        return exclusive(self.data_dir / "cache" / f"{name}.lock", what)

    def stats(self, top: int = 10) -> StoreStats:
        """Counts of everything in the store, from one consistent snapshot."""
        with self.db.snapshot() as tx:
            images, image_bytes = tx.row("SELECT count(*), coalesce(sum(bytes), 0) FROM images")
            posts = tx.row("SELECT count(*) FROM posts")[0]
            tags, tagged = tx.row(
                "SELECT count(DISTINCT tag), count(DISTINCT image_id) FROM image_tags"
            )
            runs = dict(tx.rows("SELECT status, count(*) FROM scrape_runs GROUP BY status"))
            users = tx.row("SELECT count(*) FROM users")[0]
            ratings = tx.row("SELECT count(*) FROM ratings")[0]
            sources = tx.rows("SELECT source, count(*) FROM images GROUP BY source")
            tag_counts = tx.rows("SELECT tag, count(*) FROM image_tags GROUP BY tag")
        return StoreStats(
            images=int(images),
            image_bytes=int(image_bytes),
            posts=int(posts),
            tags=int(tags),
            tagged=int(tagged),
            scrape_runs={s: int(runs.get(s, 0)) for s in RUN_STATUSES},
            users=int(users),
            ratings=int(ratings),
            sources={s: int(n) for s, n in sorted(sources, key=lambda r: (-r[1], r[0]))},
            top_tags=sorted(((t, int(n)) for t, n in tag_counts), key=lambda r: (-r[1], r[0]))[
                :top
            ],
        )
