"""The demo feed's pictures kept on disk, so each is drawn once per machine, not once per process.

Drawing a picture (sandbox/demo_feed/artist.py) is most of what a demo scrape costs, and a demo
site is started by many processes: `make demo` after every restart, each test worker, each command
line that serves the feed. The in-process cache (catalog.ImageRenderer) covers repeats within one
process; this covers the rest. Entries are keyed by what decides the bytes (the drawing code
itself included), so a changed artist never serves an old picture.

`STYLESCOUT_DEMO_CACHE` names the folder; empty or `off` turns it off. By default it is the
user's cache folder (platformdirs), bounded to `SIZE_LIMIT` bytes by diskcache, which also makes
it safe for several processes at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import diskcache
import PIL
import platformdirs

log = logging.getLogger(__name__)

ENV = "STYLESCOUT_DEMO_CACHE"
SIZE_LIMIT = 256 * 2**20
LOCK_EXPIRE_S = 30  # a picture takes 30-60 ms to draw; a dead drawer's claim lapses after this
# diskcache raises its database's own errors too (a corrupt or unopenable file); a cache that
# fails must only mean drawing again, never a feed that stops answering
_FAILURES = (Exception,)
_CODE = ("artist.py", "catalog.py")  # what draws and degrades a picture


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the drawing code and the JPEG encoder's version: part of every key."""
    digest = hashlib.sha256(PIL.__version__.encode())
    for name in _CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_folder() -> Path | None:
    """Where the pictures are kept, or None when the cache is off."""
    value = os.environ.get(ENV)
    if value is None:
        return Path(platformdirs.user_cache_dir("stylescout")) / "demo-feed"
    if value.strip().lower() in ("", "off", "0", "none"):
        return None
    return Path(value)


class RenderCache:
    """JPEG bytes by key, on disk; every failure to read or write only means drawing again."""

    def __init__(self, folder: Path | None) -> None:
        self._cache: diskcache.Cache | None = None
        if folder is None:
            return
        try:
            self._cache = diskcache.Cache(str(folder), size_limit=SIZE_LIMIT)
        except _FAILURES as exc:  # read-only home, full disk: draw instead
            log.warning("demo feed pictures are not cached on disk (%s): %s", folder, exc)

    @staticmethod
    def key(*parts: object) -> str:
        return hashlib.sha256(repr((code_version(), *parts)).encode()).hexdigest()

    def get(self, key: str) -> bytes | None:
        if self._cache is None:
            return None
        try:
            value = self._cache.get(key)
        except _FAILURES:
            return None
        return value if isinstance(value, bytes) else None

    def get_or_make(self, key: str, make: Callable[[], bytes]) -> bytes:
        """The cached bytes, or `make()`'s, drawn by one process or thread at a time per key:
        feeds started together (test workers, a team's web workers) ask for the same pictures
        in the same order, and each would draw every one of them. A holder that dies frees its
        key after `LOCK_EXPIRE_S`."""
        value = self.get(key)
        if value is not None or self._cache is None:
            return value if value is not None else make()
        lock = diskcache.Lock(self._cache, f"drawing:{key}", expire=LOCK_EXPIRE_S)
        try:
            lock.acquire()
        except _FAILURES:
            return make()
        try:
            value = self.get(key)
            if value is None:
                value = make()
                self.put(key, value)
            return value
        finally:
            with contextlib.suppress(*_FAILURES):
                lock.release()

    def put(self, key: str, value: bytes) -> None:
        if self._cache is None:
            return
        try:
            self._cache.set(key, value)
        except _FAILURES as exc:
            log.debug("demo feed picture not cached: %s", exc)


@lru_cache(maxsize=4)
def _open(folder: Path | None) -> RenderCache:
    return RenderCache(folder)


def render_cache() -> RenderCache:
    """The cache this process uses (one per folder)."""
    return _open(cache_folder())
