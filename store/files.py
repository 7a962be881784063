"""Content-addressed image files: `<root>/ab/<sha256>.<ext>`, in a local folder or behind an URL.

The default is the local folder `data/images/`: bytes always land in `images/tmp/` first (named
after the writing process) and reach their final name with one `os.replace`, so a reader or a crash
never sees half a file under a final name. `store.images_url` may instead name an fsspec folder
(`s3://bucket/prefix` through s3fs): there an object PUT is atomic, so bytes go straight to their
final key and no temp files exist.

Readers get a `StoredFile` for each image: a `Path` for the local folder, a `RemoteFile` for an
fsspec one. Both have `name`, `open("rb")` and `is_file()`; `image_source` hands either to Pillow.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from stylescout.errors import SCALE_HINT, StoreError

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


@dataclass(frozen=True)
class RemoteFile:
    """One image object in an fsspec folder: what readers get instead of a local `Path`.

    It pickles with its filesystem (fsspec rebuilds that from its options), so Ray actors can
    open it too."""

    fs: Any  # fsspec.AbstractFileSystem; not imported here, it is an optional dependency
    path: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def open(self, mode: str = "rb") -> IO[bytes]:
        """The object's bytes, fetched in one request (images are small and read whole)."""
        if mode != "rb":
            raise ValueError("stored images are opened for reading only")
        return io.BytesIO(self.fs.cat_file(self.path))

    def is_file(self) -> bool:
        return bool(self.fs.isfile(self.path))

    def __str__(self) -> str:  # an URL for messages; options (credentials) are never in it
        return str(self.fs.unstrip_protocol(self.path))


StoredFile = Path | RemoteFile


@contextlib.contextmanager
def image_source(file: StoredFile | str | IO[bytes]) -> Iterator[Path | str | IO[bytes]]:
    """What `PIL.Image.open` takes for a stored image: a local path as is, a remote one opened."""
    if isinstance(file, RemoteFile):
        with file.open("rb") as handle:
            yield handle
    else:
        yield file


def sha256_file(path: StoredFile) -> str:
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


@dataclass
class Staged:
    """Bytes on their way into the folder: hashed and measured, not yet under a final name."""

    sha256: str
    size: int
    temp: Path | None = None  # the local folder's temp file
    data: bytes | None = None  # an fsspec folder keeps the bytes until they are placed


class ImageFolder(ABC):
    """Where image files live; knows names and atomic placement, not the database."""

    location: str  # for messages

    @abstractmethod
    def file(self, sha256: str, ext: str) -> StoredFile:
        """The file (final name) of the image with this hash."""

    @abstractmethod
    def stage(self, data: bytes) -> Staged:
        """Get bytes ready to be placed (hashed, and written wherever that must happen first)."""

    @abstractmethod
    def place(self, staged: Staged, sha256: str, ext: str) -> StoredFile:
        """Put staged bytes under their final content-addressed name, in one atomic step."""

    @abstractmethod
    def discard(self, staged: Staged) -> None:
        """Forget staged bytes that were not placed (a no-op once they were)."""

    @abstractmethod
    def iter_final(self) -> Iterator[tuple[str, str, StoredFile]]:
        """Every file under a final name as (sha256, ext, file); other names are ignored."""

    @abstractmethod
    def remove(self, sha256: str, ext: str) -> bool:
        """Delete one final file; whether it was there."""

    def stale_temps(self, now: float | None = None) -> list[Path]:
        """Temp files whose writer is gone; only a local folder has temp files."""
        return []

    def open(self, sha256: str, ext: str) -> IO[bytes]:
        """The bytes of one image, for reading."""
        return self.file(sha256, ext).open("rb")

    def exists(self, sha256: str, ext: str) -> bool:
        """Whether the file of this image is there."""
        return self.file(sha256, ext).is_file()

    @abstractmethod
    def size(self, sha256: str, ext: str) -> int | None:
        """Bytes in the file of this image, or None when it is not there."""

    @abstractmethod
    def open_file(self, text: str) -> StoredFile:
        """A file back from its `str()` (how Ray hands files to its actors)."""


class ImageFiles(ImageFolder):
    """The local folder of image files, with temp files and `os.replace` placement."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str, ext: str) -> Path:
        """Final location of the file with this hash."""
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    file = path_for

    def open_file(self, text: str) -> Path:
        return Path(text)

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

    def stage(self, data: bytes) -> Staged:
        temp = self.write_temp(data)
        try:
            return Staged(sha256_file(temp), temp.stat().st_size, temp=temp)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def place(self, staged: Staged, sha256: str, ext: str) -> Path:
        """Move a finished temp file to its final content-addressed name (atomic)."""
        assert staged.temp is not None
        final = self.path_for(sha256, ext)
        final.parent.mkdir(exist_ok=True)
        staged.temp.replace(final)
        return final

    def discard(self, staged: Staged) -> None:
        if staged.temp is not None:
            staged.temp.unlink(missing_ok=True)

    def iter_final(self) -> Iterator[tuple[str, str, Path]]:
        for shard in sorted(self.root.iterdir()):
            if shard == self.tmp or not shard.is_dir() or len(shard.name) != 2:
                continue
            for entry in sorted(shard.iterdir()):
                match = _FINAL_NAME.fullmatch(entry.name)
                if match and match.group(1)[:2] == shard.name:
                    yield match.group(1), match.group(2), entry

    def remove(self, sha256: str, ext: str) -> bool:
        try:
            self.path_for(sha256, ext).unlink()
        except FileNotFoundError:
            return False
        return True

    def size(self, sha256: str, ext: str) -> int | None:
        try:
            return self.path_for(sha256, ext).stat().st_size
        except FileNotFoundError:
            return None

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


class RemoteImageFiles(ImageFolder):
    """An fsspec folder of image files (`s3://bucket/prefix`): objects written straight to their
    final keys, since a PUT is atomic. Credentials come from `options` or the filesystem's own
    configuration (for S3 the usual AWS variables and files)."""

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        self.location = url
        try:
            from fsspec.core import url_to_fs

            # no listings cache: other processes write to the same folder
            fs, root = url_to_fs(url, **{"use_listings_cache": False, **(options or {})})
        except ImportError:
            scheme = url.split("://", 1)[0]
            raise StoreError(
                f"the image folder {url} needs the {scheme} filesystem of the scale-out extra:"
                f" {SCALE_HINT}"
            ) from None
        except (ValueError, TypeError) as exc:  # an unknown protocol or option name
            raise StoreError(f"store.images_url {url}: {exc}") from None
        self.fs, self.root = fs, root.rstrip("/")

    def _key(self, sha256: str, ext: str) -> str:
        return f"{self.root}/{sha256[:2]}/{sha256}.{ext}"

    def file(self, sha256: str, ext: str) -> RemoteFile:
        return RemoteFile(self.fs, self._key(sha256, ext))

    def stage(self, data: bytes) -> Staged:
        return Staged(hashlib.sha256(data).hexdigest(), len(data), data=data)

    def place(self, staged: Staged, sha256: str, ext: str) -> RemoteFile:
        """PUT the bytes at their final key, unless an object of that size is already there (an
        orphan of an earlier writer: the same hash, so the same bytes)."""
        assert staged.data is not None
        key = self._key(sha256, ext)
        try:
            if self.size(sha256, ext) != staged.size:
                self.fs.pipe_file(key, staged.data)
        except OSError as exc:  # s3fs's words for a missing bucket, refused keys, no network
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise StoreError(
                f"cannot write to the image folder {self.location}: {reason}"
            ) from None
        staged.data = None
        return RemoteFile(self.fs, key)

    def discard(self, staged: Staged) -> None:
        staged.data = None

    def iter_final(self) -> Iterator[tuple[str, str, RemoteFile]]:
        try:
            keys = sorted(self.fs.find(self.root))
        except FileNotFoundError:
            return
        prefix = self.root + "/"
        for key in keys:
            shard, _, name = key.removeprefix(prefix).partition("/")
            match = _FINAL_NAME.fullmatch(name)
            if key.startswith(prefix) and match and match.group(1)[:2] == shard:
                yield match.group(1), match.group(2), RemoteFile(self.fs, key)

    def remove(self, sha256: str, ext: str) -> bool:
        try:
            self.fs.rm_file(self._key(sha256, ext))
        except FileNotFoundError:
            return False
        return True

    def size(self, sha256: str, ext: str) -> int | None:
        try:
            return int(self.fs.info(self._key(sha256, ext))["size"])
        except FileNotFoundError:
            return None

    def open_file(self, text: str) -> RemoteFile:
        return RemoteFile(self.fs, self.fs._strip_protocol(text))


def open_image_folder(
    data_dir: Path, url: str | None = None, options: dict[str, Any] | None = None
) -> ImageFolder:
    """The image folder a store uses: `data_dir/images` unless `url` names another one (a local
    path, relative to `data_dir`, or an fsspec URL such as `s3://bucket/prefix`)."""
    if url and "://" in url and not url.startswith("file://"):
        return RemoteImageFiles(url, options)
    if options:
        raise StoreError("store.images_options applies only to an fsspec images_url (s3://…)")
    root = data_dir / "images" if not url else data_dir / url.removeprefix("file://")
    return ImageFiles(root)
