"""Import an existing folder of images (e.g. Kaggle "Fashion Product Images": images/<id>.jpg +
styles.csv) into the store. Label columns become tags, and are kept by column for evaluation."""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scraper.image_check import ImageRejected, inspect_image
from store import ImageMeta, Store
from stylescout.errors import InvalidTagError, ScrapeError, StoreError
from stylescout.tags import normalise_tag

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"}
DEFAULT_TAG_COLUMNS = ("articleType", "usage", "baseColour")
ID_COLUMN = "id"
CAPTION_COLUMN = "productDisplayName"


@dataclass
class ImportProgress:
    """Counts of one import."""

    total: int
    added: int = 0
    duplicates: int = 0
    failed_by_reason: Counter[str] = field(default_factory=Counter)

    @property
    def done(self) -> int:
        return self.added + self.duplicates + sum(self.failed_by_reason.values())


def find_images(folder: Path) -> list[Path]:
    """Image files of a folder: its `images/` subfolder when there is one, else the folder."""
    root = folder / "images" if (folder / "images").is_dir() else folder
    return sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_labels(path: Path) -> dict[str, dict[str, str]]:
    """Rows of a labels CSV keyed by its `id` column (the image file's stem)."""
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or ID_COLUMN not in reader.fieldnames:
                raise ScrapeError(f"{path}: needs an '{ID_COLUMN}' column naming each image file")
            return {row[ID_COLUMN].strip(): row for row in reader if row.get(ID_COLUMN)}
    except OSError as exc:
        raise ScrapeError(f"cannot read labels {path}: {exc.strerror}") from None


def label_tag(value: str) -> str | None:
    """A label as a tag: 'Navy Blue' -> 'navy_blue'; None when it cannot be one."""
    try:
        return normalise_tag("_".join(value.split()))
    except InvalidTagError:
        return None


def import_folder(
    store: Store,
    folder: Path,
    *,
    labels: Path | None = None,
    tag_columns: Sequence[str] = DEFAULT_TAG_COLUMNS,
    max_bytes: int = 20_000_000,
    max_pixels: int = 40_000_000,
    progress: Callable[[ImportProgress], None] | None = None,
) -> ImportProgress:
    """Bring every image of `folder` into the store; bad files are counted, never fatal."""
    if not folder.is_dir():
        raise ScrapeError(f"{folder} is not a folder")
    if labels is None and (folder / "styles.csv").is_file():
        labels = folder / "styles.csv"
    rows = read_labels(labels) if labels else {}
    if rows:
        header = next(iter(rows.values())).keys()
        missing = [c for c in tag_columns if c not in header]
        if missing:
            raise ScrapeError(
                f"{labels}: no column {', '.join(missing)}; it has {', '.join(header)}"
            )
    files = find_images(folder)
    state = ImportProgress(total=len(files))
    for path in files:
        row = rows.get(path.stem, {})
        try:
            if path.stat().st_size > max_bytes:
                raise ImageRejected("too_large", str(path))
            data = path.read_bytes()
            info = inspect_image(data, max_pixels)
            result = store.images.add_image_bytes(
                data,
                ImageMeta(
                    width=info.width,
                    height=info.height,
                    format=info.format,
                    source="import",
                    phash=info.phash,
                    source_url=str(path.relative_to(folder)),
                    caption=(row.get(CAPTION_COLUMN) or "").strip() or None,
                ),
                [t for c in tag_columns if (t := label_tag(row.get(c, "")))],
                labels={
                    k: v.strip() for k, v in row.items() if k and k != ID_COLUMN and v and v.strip()
                },
            )
            if result.created:
                state.added += 1
            else:
                state.duplicates += 1
        except ImageRejected as exc:
            state.failed_by_reason[exc.reason] += 1
            log.info("skipped %s: %s", path.name, exc)
        except (OSError, StoreError) as exc:
            state.failed_by_reason["unreadable"] += 1
            log.info("skipped %s: %s", path.name, exc)
        if progress:
            progress(state)
    return state
