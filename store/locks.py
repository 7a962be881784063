"""Jobs that run one at a time per store: an advisory file lock, released by the kernel when the
process holding it ends, however it ends (so a killed job never leaves the store locked)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from stylescout.errors import BusyError


@contextlib.contextmanager
def exclusive(path: Path, what: str) -> Iterator[None]:
    """Hold the lock at `path` while the block runs; BusyError naming the holder's `what` when
    another process (or another holder in this one) has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another job"
            raise BusyError(holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, what.encode("utf-8")[:200], 0)
        yield
    finally:
        os.close(fd)
