"""Accounts for a dashboard shared beyond one machine: names, argon2 password hashes, and a
backoff after failed sign-ins.

A failed attempt counts against the account; from the third one on, the account waits 2, 4, 8 ...
seconds (at most 15 minutes) before another attempt is even checked. Unknown names cost a hash
check too, so a timing does not tell which names exist.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from store.database import Database, Transaction
from store.errors import StoreConstraintError, StoreError
from store.records import to_utc_text, utc_now

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,63}")
MIN_PASSWORD = 10
FREE_FAILURES = 2
MAX_WAIT_S = 900
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("a password no account has")


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: `ok`, or why not and how long to wait."""

    ok: bool
    wait_s: int = 0


def check_name(name: str) -> str:
    """A valid account name (3-64 lower-case letters, digits, '_', '.', '-'), or StoreError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise StoreError("an account name is 3-64 lower-case letters, digits, '_', '.' or '-'")
    return name


class AccountRepository:
    """The accounts of a store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, name: str, password: str) -> None:
        """Create an account; refuses a taken name or a short password."""
        check_name(name)
        digest = _HASHER.hash(_check_password(password))
        try:
            with self._db.transaction() as tx:
                tx.execute(
                    "INSERT INTO accounts (name, password_hash, created_at) VALUES (?, ?, ?)",
                    (name, digest, utc_now()),
                )
        except StoreConstraintError:
            raise StoreError(f"there is already an account named {name!r}") from None

    def set_password(self, name: str, password: str) -> None:
        """A new password (and a clean slate of failed attempts)."""
        digest = _HASHER.hash(_check_password(password))
        with self._db.transaction() as tx:
            changed = tx.execute(
                "UPDATE accounts SET password_hash = ?, failed = 0, locked_until = NULL"
                " WHERE name = ?",
                (digest, check_name(name)),
            )
            _end_sessions(tx, name)  # a new password signs every browser out
        if not changed:
            raise StoreError(f"no account named {name!r}")

    def remove(self, name: str) -> None:
        with self._db.transaction() as tx:
            if not tx.execute("DELETE FROM accounts WHERE name = ?", (check_name(name),)):
                raise StoreError(f"no account named {name!r}")
            _end_sessions(tx, name)

    def names(self) -> list[str]:
        return sorted(r[0] for r in self._db.rows("SELECT name FROM accounts"))

    def sign_in(self, name: str, password: str, now: dt.datetime | None = None) -> SignIn:
        """Check a password, counting failures; a locked account is not even checked."""
        moment = now or dt.datetime.now(dt.UTC)
        try:
            check_name(name)
        except StoreError:
            _verify(_DUMMY, password)
            return SignIn(False)
        row = self._db.row(
            "SELECT password_hash, failed, locked_until FROM accounts WHERE name = ?", (name,)
        )
        if row is None:
            _verify(_DUMMY, password)
            return SignIn(False)
        digest, failed, locked_until = row
        if locked_until and locked_until > to_utc_text(moment):
            wait = dt.datetime.fromisoformat(locked_until.replace("Z", "+00:00")) - moment
            return SignIn(False, max(1, int(wait.total_seconds())))
        if _verify(digest, password):
            with self._db.transaction() as tx:
                tx.execute(
                    "UPDATE accounts SET failed = 0, locked_until = NULL WHERE name = ?", (name,)
                )
                if _HASHER.check_needs_rehash(digest):
                    tx.execute(
                        "UPDATE accounts SET password_hash = ? WHERE name = ?",
                        (_HASHER.hash(password), name),
                    )
            return SignIn(True)
        failed = int(failed) + 1
        wait = 0 if failed <= FREE_FAILURES else min(MAX_WAIT_S, 2 ** (failed - FREE_FAILURES))
        until = to_utc_text(moment + dt.timedelta(seconds=wait)) if wait else None
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE accounts SET failed = ?, locked_until = ? WHERE name = ?",
                (failed, until, name),
            )
        return SignIn(False, wait)


def _end_sessions(tx: Transaction, name: str) -> None:
    tx.execute("DELETE FROM sessions WHERE account = ? AND kind = 'password'", (name,))


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise StoreError(f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise StoreError("a password has at most 1,024 characters")
    return password


def _verify(digest: str, password: str) -> bool:
    try:
        return _HASHER.verify(digest, password if isinstance(password, str) else "")
    except (VerificationError, InvalidHashError):
        return False
