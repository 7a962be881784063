"""What a person takes away: the store, a tag, a source or a style as rows (CSV, JSON Lines or
Parquet), one per image with its hash, file, posts, credit, tags, labels and style; and the
files themselves, copied with readable names."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from clustering.index import IndexMissingError, load_index
from store import Store
from stylescout.errors import SCALE_HINT, StyleScoutError, UsageError

FORMATS = ("csv", "jsonl", "parquet")
COLUMNS = (
    "id",
    "sha256",
    "file",
    "post_urls",
    "sources",
    "posted_at",
    "likes",
    "caption",
    "author",
    "author_url",
    "licence",
    "tags",
    "labels",
    "style",
    "style_name",
)


@dataclass
class ExportRow:
    """One image as exported."""

    id: int
    sha256: str
    file: str
    post_urls: list[str]
    sources: list[str]
    posted_at: str | None
    likes: int | None
    caption: str | None
    tags: list[str]
    labels: dict[str, str] = field(default_factory=dict)
    author: str | None = None  # the credit of the post the image was stored from
    author_url: str | None = None
    licence: str | None = None
    style: int | None = None
    style_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}


def _styles(store: Store) -> tuple[dict[int, int], list[str]]:
    """Each indexed image's style, and the styles' names (empty before any build)."""
    try:
        index = load_index(store.index_dir)
    except IndexMissingError:
        return {}, []
    labels = dict(zip(index.ids.tolist(), index.labels.tolist(), strict=True))
    return {int(i): int(s) for i, s in labels.items()}, list(index.meta.names)


def style_number(value: str, names: list[str]) -> int:
    """A style given as its number (1-based, as `stylescout styles` lists them) or its name."""
    if not names:
        raise UsageError("--style needs a style index: run `stylescout build` first")
    if value.isdigit() and 1 <= int(value) <= len(names):
        return int(value) - 1
    wanted = value.strip().casefold()
    for n, name in enumerate(names):
        if name.casefold() == wanted:
            return n
    raise UsageError(
        f"no style {value!r}: give its number (1-{len(names)}) or its name, as"
        " `stylescout styles` lists them"
    )


def export_rows(
    store: Store,
    tag: str | None = None,
    source: str | None = None,
    style: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[ExportRow]:
    """The store's images (or those with `tag`, seen on `source`, in `style`), in id order."""
    by_style, names = _styles(store)
    wanted_style = style_number(style, names) if style is not None else None
    files = store.images.image_files()
    labels = store.images.labels_by_image()
    total = len(files)
    for done, chunk in enumerate(_chunks(files, 500)):
        cards = store.images.cards([i for i, _ in chunk])
        for image_id, path in chunk:
            card = cards.get(image_id)
            if card is None:
                continue
            if tag is not None and tag not in card["tags"]:
                continue
            if wanted_style is not None and by_style.get(image_id) != wanted_style:
                continue
            posts = store.images.posts_of(image_id)
            sources = sorted({p["source"] for p in posts} | {card["source"]})
            if source is not None and source not in sources:
                continue
            number = by_style.get(image_id)
            yield ExportRow(
                id=image_id,
                sha256=card["sha256"],
                file=str(path),
                post_urls=list(dict.fromkeys(p["post_url"] for p in posts if p["post_url"])),
                sources=sources,
                posted_at=card["posted_at"],
                likes=max((p["likes"] for p in posts if p["likes"] is not None), default=None),
                caption=card["caption"],
                author=card["author"],
                author_url=card["author_url"],
                licence=card["licence"],
                tags=card["tags"],
                labels=labels.get(image_id, {}),
                style=None if number is None else number + 1,
                style_name=None if number is None else names[number],
            )
        if progress is not None:
            progress(min(total, (done + 1) * 500), total)


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula (`=`, `+`, `-`,
    `@`, tab, carriage return) gets a leading `'`, since captions, credits and tags come from
    other people's posts (OWASP's CSV injection advice). Numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def write_rows(rows: Iterable[ExportRow], fmt: str, out: IO[str] | Path) -> int:
    """Write `rows` as `fmt`; CSV joins lists with a space and spreads labels over `label_*`
    columns, and writes no cell a spreadsheet would run (`spreadsheet_safe`). Returns how many
    rows were written."""
    if fmt not in FORMATS:
        raise UsageError(f"--format is one of {', '.join(FORMATS)}, not {fmt!r}")
    rows = list(rows)
    if fmt == "parquet":
        return _write_parquet(rows, out)
    stream = out.open("w", encoding="utf-8", newline="") if isinstance(out, Path) else out
    try:
        if fmt == "jsonl":
            for row in rows:
                stream.write(json.dumps(row.as_dict(), ensure_ascii=False) + "\n")
        else:
            label_names = sorted({name for row in rows for name in row.labels})
            writer = csv.writer(stream)
            plain = [c for c in COLUMNS if c != "labels"]
            writer.writerow(plain + [f"label_{n}" for n in label_names])
            for row in rows:
                values = row.as_dict()
                writer.writerow(
                    [
                        spreadsheet_safe(" ".join(v) if isinstance(v := values[c], list) else v)
                        for c in plain
                    ]
                    + [spreadsheet_safe(row.labels.get(n, "")) for n in label_names]
                )
    finally:
        if isinstance(out, Path):
            stream.close()
    return len(rows)


def _write_parquet(rows: list[ExportRow], out: IO[str] | Path) -> int:
    if not isinstance(out, Path):
        raise UsageError("--format parquet needs --out FILE")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise StyleScoutError(f"--format parquet needs pyarrow: {SCALE_HINT}") from None
    table = pa.Table.from_pylist(
        [{**row.as_dict(), "labels": json.dumps(row.labels, ensure_ascii=False)} for row in rows]
    )
    pq.write_table(table, out)
    return len(rows)


_UNSAFE = re.compile(r"[^a-z0-9]+")


def readable_name(row: ExportRow, suffix: str) -> str:
    """`<style>/<id>-<tags>.<ext>`: sorted by style, named by what the image shows."""
    folder = _UNSAFE.sub("-", (row.style_name or "no-style").casefold()).strip("-") or "style"
    words = _UNSAFE.sub("-", "-".join(row.tags[:3]).casefold()).strip("-")[:60]
    return f"{folder}/{row.id}{'-' + words if words else ''}{suffix}"


def copy_images(store: Store, rows: Iterable[ExportRow], folder: Path) -> int:
    """Copy each row's file into `folder` under its readable name; returns how many."""
    copied = 0
    for row in rows:
        found = store.images.file_for_sha(row.sha256)
        if found is None:
            continue
        stored, _fmt = found
        target = folder / readable_name(row, Path(str(stored)).suffix or ".jpg")
        target.parent.mkdir(parents=True, exist_ok=True)
        with stored.open("rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        copied += 1
    return copied


def to_text(rows: Iterable[ExportRow], fmt: str) -> str:
    """The rows as text (for tests and small exports)."""
    buffer = io.StringIO()
    write_rows(rows, fmt, buffer)
    return buffer.getvalue()
