"""Verify the store: the database's integrity, every row's file present with the right hash,
no orphans."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from store.files import StoredFile, extension_for, sha256_file
from store.local_store import Store

log = logging.getLogger(__name__)


@dataclass
class CheckReport:
    """Findings of one check; `clean` when nothing needs attention."""

    integrity: list[str]
    rows: int
    files: int
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    stale_temps: list[Path] = field(default_factory=list)
    unreferenced: list[StoredFile] = field(default_factory=list)
    abandoned_runs: int = 0
    repaired: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing wrong. Image files with no row are harmless (intact bytes that a later add of
        the same image adopts), so they are only noted; `--repair` removes them."""
        return not (
            self.integrity
            or self.missing
            or self.corrupt
            or self.stale_temps
            or self.abandoned_runs
        )

    def lines(self) -> list[str]:
        """Human-readable summary, one finding per line."""
        out = [f"rows: {self.rows}, files: {self.files}"]
        out += [f"database: {msg}" for msg in self.integrity]
        if self.missing:
            out.append(
                f"rows without their file: {len(self.missing)} (e.g. {self.missing[0][:16]})"
            )
        if self.corrupt:
            out.append(
                f"files whose bytes do not match their hash: {len(self.corrupt)}"
                f" (e.g. {self.corrupt[0][:16]})"
            )
        if self.stale_temps:
            out.append(f"temp files left by stopped writers: {len(self.stale_temps)}")
        if self.unreferenced:
            out.append(f"note: image files with no row (harmless): {len(self.unreferenced)}")
        if self.abandoned_runs:
            out.append(f"scrape runs left 'running' by a stopped process: {self.abandoned_runs}")
        out += [f"repaired: {item}" for item in self.repaired]
        return out


def check_store(
    store: Store,
    *,
    repair: bool = False,
    verify_hashes: bool = True,
    progress: Callable[[int], None] | None = None,
) -> CheckReport:
    """Check (and with `repair`, tidy) the store. Safe while writers run.

    Files are listed first and the rows read under the write lock afterwards: a writer places its
    file and commits its row under that lock, so a file listed earlier either has a committed row
    by then or belongs to a writer that died.
    """
    integrity = store.db.integrity_problems()
    stale = store.files.stale_temps()
    on_disk = {(sha, ext): path for sha, ext, path in store.files.iter_final()}
    rows = [(sha, extension_for(fmt)) for sha, fmt in store.images.shas_and_formats()]
    abandoned = store.runs.abandoned_runs()

    expected = set(rows)
    report = CheckReport(integrity=integrity, rows=len(rows), files=len(on_disk))
    report.stale_temps = stale
    report.unreferenced = [path for key, path in sorted(on_disk.items()) if key not in expected]
    report.abandoned_runs = len(abandoned)
    for sha, ext in rows:
        path = on_disk.get((sha, ext))
        if path is None:
            report.missing.append(sha)
        elif verify_hashes and sha256_file(path) != sha:
            report.corrupt.append(sha)
        if progress:
            progress(1)

    if repair:
        _repair(store, report)
    return report


def _repair(store: Store, report: CheckReport) -> None:
    """Remove orphans and close abandoned runs; rows without intact files are only reported."""
    for path in report.stale_temps:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if report.stale_temps:
        report.repaired.append(f"removed {len(report.stale_temps)} temp files")
    removed = store.images.remove_orphans(report.unreferenced)
    if removed:
        report.repaired.append(f"removed {removed} image files with no row")
    if report.abandoned_runs:
        closed = store.runs.mark_abandoned_runs()
        report.repaired.append(f"marked {closed} abandoned scrape runs as interrupted")
    if report.missing or report.corrupt:
        report.repaired.append(
            "rows without an intact file are kept; re-scrape or re-import those images"
        )
    report.stale_temps, report.unreferenced, report.abandoned_runs = [], [], 0
