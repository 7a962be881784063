"""Content-addressed image files under `data/images/ab/<sha256>.<ext>`.

Bytes always land in `images/tmp/` first (named after the writing process) and reach their final
name with one `os.replace`, so a reader or a crash never sees half a file under a final name.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from store.errors import StoreError

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}
_FINAL_NAME = re.compile(r"([0-9a-f]{64})\.([a-z]+)")
_TEMP_NAME = re.compile(r"(\d+)-[0-9a-f]{32}\.part")
STALE_TEMP_SECONDS = 24 * 3600
_CHUNK = 1 << 20


def extension_for(image_format: str) -> str:
    """File extension for a Pillow format name ('JPEG' -> 'jpg')."""
    try:
        return EXTENSIONS[image_format.upper()]
    except KeyError:
        raise StoreError(
            f"image format {image_format!r} is not stored; accepted: {', '.join(EXTENSIONS)}"
        ) from None


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (used to tell abandoned temp files and runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ImageFiles:
    """The folder of image files; knows names, temp files and atomic placement, not the database."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str, ext: str) -> Path:
        """Final location of the file with this hash."""
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def new_temp_path(self) -> Path:
        """A fresh temp file name owned by this process."""
        return self.tmp / f"{os.getpid()}-{uuid.uuid4().hex}.part"

    def write_temp(self, data: bytes) -> Path:
        """Write bytes to a new temp file, flushed to disk."""
        path = self.new_temp_path()
        with path.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return path

    def place(self, temp: Path, sha256: str, ext: str) -> Path:
        """Move a finished temp file to its final content-addressed name (atomic)."""
        final = self.path_for(sha256, ext)
        final.parent.mkdir(exist_ok=True)
        temp.replace(final)
        return final

    def iter_final(self) -> Iterator[tuple[str, str, Path]]:
        """Every file under a final name as (sha256, ext, path); other names are ignored."""
        for shard in sorted(self.root.iterdir()):
            if shard == self.tmp or not shard.is_dir() or len(shard.name) != 2:
                continue
            for entry in sorted(shard.iterdir()):
                match = _FINAL_NAME.fullmatch(entry.name)
                if match and match.group(1)[:2] == shard.name:
                    yield match.group(1), match.group(2), entry

    def stale_temps(self, now: float | None = None) -> list[Path]:
        """Temp files whose writer is gone (dead process, or older than a day)."""
        now = time.time() if now is None else now
        stale = []
        for entry in sorted(self.tmp.iterdir()):
            match = _TEMP_NAME.fullmatch(entry.name)
            try:
                age = now - entry.stat().st_mtime
            except FileNotFoundError:
                continue  # its writer just finished with it
            if not match or not pid_alive(int(match.group(1))) or age > STALE_TEMP_SECONDS:
                stale.append(entry)
        return stale
