"""Copy a store's database into another (SQLite into PostgreSQL, or back), keeping every id.

The image files stay where they are: both databases name the same content-addressed files, so
moving to PostgreSQL is a copy of the rows and a change of `store.url`.
"""

from __future__ import annotations

from collections.abc import Callable

from store.database import Database
from stylescout.errors import StoreError

# Parents before children, so every reference points at a row already copied.
TABLES = (
    "images",
    "image_tags",
    "image_labels",
    "features",
    "posts",
    "scrape_runs",
    "users",
    "impressions",
    "impression_items",
    "ratings",
    "accounts",
)
WITH_IDS = ("images", "posts", "scrape_runs", "impressions", "ratings")


def copy_database(
    source: Database, target: Database, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row of `source` into the empty, migrated `target`; rows copied per table."""
    if source.schema_version() != target.schema_version():
        raise StoreError("the two stores have different schema versions: open both first")
    for table in TABLES:
        if target.row(f"SELECT 1 FROM {table} LIMIT 1"):
            raise StoreError(f"the target store is not empty ({table} has rows): use a new one")
    counts: dict[str, int] = {}
    with source.snapshot() as read, target.transaction(lock=True) as write:
        for table in TABLES:
            columns = source.columns(table)
            marks = ", ".join("?" * len(columns))
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            order = "id" if table in WITH_IDS else ", ".join(columns[:2])  # a stable order
            counts[table] = 0
            for rows in read.batches(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"):
                write.executemany(insert, rows)
                counts[table] += len(rows)
                if progress:
                    progress(table, len(rows))
        target.after_copy(write, WITH_IDS)
    return counts
