"""The store: SQLite or PostgreSQL + content-addressed image files.

It imports only the core (`stylescout`); all code that touches `data/` lives here.
"""

from store.local_store import Store
from store.records import AddResult, ImageMeta, StoreStats

__all__ = ["AddResult", "ImageMeta", "Store", "StoreStats"]
