"""Sign-in sessions of the shared dashboard, server-side: the cookie carries a random secret, the
store keeps only its sha256, the account it belongs to, its CSRF token and when it ends.

Kept in the store rather than in a signed cookie so that every dashboard worker and machine sees
the same sessions without sharing a key, and so that signing out, removing an account or a
new password ends them at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from store.database import Database
from store.records import to_utc_text
from stylescout.errors import StoreError

KINDS = ("password", "header")


@dataclass(frozen=True)
class Session:
    """A live session: who it is for, how they signed in, the token state changes must carry."""

    account: str
    kind: str
    csrf: str
    expires_at: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class SessionRepository:
    """The sessions of a store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self, account: str, kind: str, hours: float, now: dt.datetime | None = None
    ) -> tuple[str, Session]:
        """A new session; returns (the cookie's secret, the session). Expired ones go too."""
        if kind not in KINDS:
            raise StoreError(f"a session is made by one of {', '.join(KINDS)}, not {kind!r}")
        if not isinstance(account, str) or not 1 <= len(account) <= 256:
            raise StoreError("a session belongs to an account name of 1-256 characters")
        moment = now or dt.datetime.now(dt.UTC)
        token, csrf = secrets.token_urlsafe(32), secrets.token_hex(32)
        expires = to_utc_text(moment + dt.timedelta(hours=hours))
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM sessions WHERE expires_at <= ?", (to_utc_text(moment),))
            tx.execute(
                "INSERT INTO sessions (token_hash, account, kind, csrf, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (_hash(token), account, kind, csrf, to_utc_text(moment), expires),
            )
        return token, Session(account, kind, csrf, expires)

    def get(self, token: object, now: dt.datetime | None = None) -> Session | None:
        """The live session of a cookie's secret, or None (unknown, expired, malformed)."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            return None
        row = self._db.row(
            "SELECT account, kind, csrf, expires_at FROM sessions"
            " WHERE token_hash = ? AND expires_at > ?",
            (_hash(token), to_utc_text(now or dt.datetime.now(dt.UTC))),
        )
        return None if row is None else Session(*row)

    def end(self, token: object) -> None:
        """Sign out: the session is gone for every worker."""
        if isinstance(token, str):
            with self._db.transaction() as tx:
                tx.execute("DELETE FROM sessions WHERE token_hash = ?", (_hash(token),))

    def end_all(self, account: str) -> int:
        """End every session of an account (removed, or given a new password)."""
        with self._db.transaction() as tx:
            return tx.execute("DELETE FROM sessions WHERE account = ?", (account,))

    def shared_secret(self, name: str) -> str:
        """A random secret every process of this store reads back the same (made on first use,
        never expiring): e.g. the key a team's dashboard workers sign job handles with."""
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO app_secrets (name, value, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, secrets.token_hex(32), to_utc_text(dt.datetime.now(dt.UTC))),
            )
            row = tx.row("SELECT value FROM app_secrets WHERE name = ?", (name,))
        assert row is not None
        return str(row[0])

    def count(self, account: str | None = None) -> int:
        """Live and expired sessions kept (of one account)."""
        if account is None:
            row = self._db.row("SELECT count(*) FROM sessions")
        else:
            row = self._db.row("SELECT count(*) FROM sessions WHERE account = ?", (account,))
        return int(row[0]) if row else 0
