"""The store (SQLite or PostgreSQL + content-addressed image files) and configuration loading.

It imports none of the other StyleScout packages; all code that touches `data/` lives here.
"""

from store.config import Config, load_config
from store.errors import (
    BrowserMissingError,
    BusyError,
    ConfigError,
    InvalidTagError,
    ScrapeError,
    ServeError,
    StoreBusyError,
    StoreConstraintError,
    StoreError,
    StyleScoutError,
)
from store.local_store import Store
from store.records import AddResult, ImageMeta, StoreStats
from store.tags import normalise_tag, normalise_tags

__all__ = [
    "AddResult",
    "BrowserMissingError",
    "BusyError",
    "Config",
    "ConfigError",
    "ImageMeta",
    "InvalidTagError",
    "ScrapeError",
    "ServeError",
    "Store",
    "StoreBusyError",
    "StoreConstraintError",
    "StoreError",
    "StoreStats",
    "StyleScoutError",
    "load_config",
    "normalise_tag",
    "normalise_tags",
]
