"""Scrape runs: when each started and ended, what it added, and why anything failed."""

from __future__ import annotations

import json
import os
import socket

from store.database import Database
from store.files import pid_alive
from store.records import utc_now
from stylescout.errors import StoreError

RUN_STATUSES = ("running", "completed", "interrupted", "failed")


class RunRepository:
    """The scrape runs of a store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def start_run(self, tag: str, source: str, requested: int) -> int:
        """Record that a scrape started; returns its id."""
        with self._db.transaction() as tx:
            return tx.insert(
                "INSERT INTO scrape_runs (tag, source, requested, pid, host, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (tag, source, requested, os.getpid(), socket.gethostname(), utc_now()),
            )

    def finish_run(
        self,
        run_id: int,
        status: str,
        added: int,
        duplicates: int,
        failed_by_reason: dict[str, int] | None = None,
    ) -> None:
        """Record a scrape's outcome."""
        if status not in RUN_STATUSES[1:]:
            raise StoreError(f"unknown run status {status!r}")
        reasons = dict(failed_by_reason or {})
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE scrape_runs SET status = ?, added = ?, duplicates = ?, failed = ?,"
                " failed_by_reason = ?, ended_at = ? WHERE id = ?",
                (
                    status,
                    added,
                    duplicates,
                    sum(reasons.values()),
                    json.dumps(reasons, sort_keys=True),
                    utc_now(),
                    run_id,
                ),
            )

    def abandoned_runs(self) -> list[int]:
        """Runs of this machine still 'running' whose process is gone. Another machine's runs
        are left to it: only it can see whether their process lives."""
        running = self._db.rows(
            "SELECT id, pid FROM scrape_runs WHERE status = 'running'"
            " AND (host IS NULL OR host = ?)",
            (socket.gethostname(),),
        )
        return [run_id for run_id, pid in running if pid is None or not pid_alive(pid)]

    def mark_abandoned_runs(self) -> int:
        """Runs still 'running' whose process is gone become 'interrupted'; returns how many."""
        dead = self.abandoned_runs()
        if dead:
            with self._db.transaction() as tx:
                tx.executemany(
                    "UPDATE scrape_runs SET status = 'interrupted', ended_at = ?"
                    " WHERE id = ? AND status = 'running'",  # unless it finished meanwhile
                    [(utc_now(), run_id) for run_id in dead],
                )
        return len(dead)

    def recent(self, limit: int = 20) -> list[dict]:
        """Most recent scrape runs, newest first."""
        out = self._db.dicts(
            "SELECT id, tag, source, requested, added, duplicates, failed, failed_by_reason,"
            " status, started_at, ended_at FROM scrape_runs ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        for item in out:
            item["failed_by_reason"] = json.loads(item["failed_by_reason"])
        return out
