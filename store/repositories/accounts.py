"""Accounts for a dashboard shared beyond one machine: names, argon2 password hashes, and a
backoff after failed sign-ins.

A failed attempt counts against the name tried, whether an account has it or not; from the third
one on, the name waits 2, 4, 8 ... seconds (at most 15 minutes) before another attempt is even
checked, and an hour without failures forgets them. Unknown names cost a hash check and wait the
same way, so neither the answers nor their timing tell which names exist.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from store.database import Database, Transaction
from store.records import to_utc_text, utc_now
from stylescout.errors import StoreConstraintError, StoreError, StoreValueError

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,63}")
MIN_PASSWORD = 10
FREE_FAILURES = 2
MAX_WAIT_S = 900
FORGET_AFTER_S = 3600  # failures an hour old are forgotten
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, checked for unknown names so they cost what known ones do;
    made on first use, not at import (an argon2 hash takes a tenth of a second and 64 MiB, and
    every command line imports the store)."""
    return _HASHER.hash("a password no account has")


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
                "UPDATE accounts SET password_hash = ? WHERE name = ?",
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
        """Check a password, counting failures per name (known or not); a name waiting out its
        backoff is not even checked.

        Each attempt counts as a failure before the (slow) hash check, atomically, and a success
        clears the count: so guesses sent at the same moment count as if sent one after another,
        and those past the free ones wait instead of being checked."""
        moment = now or dt.datetime.now(dt.UTC)
        try:
            check_name(name)
        except StoreError:  # cannot be an account's name: nothing to count
            _verify(_dummy_hash(), password)
            return SignIn(False)
        counted = self._count_failure(name, moment)
        if isinstance(counted, SignIn):
            return counted  # waiting: not checked
        row = self._db.row("SELECT password_hash FROM accounts WHERE name = ?", (name,))
        if row is not None and _verify(row[0], password):
            with self._db.transaction() as tx:
                tx.execute("DELETE FROM sign_in_failures WHERE name = ?", (name,))
                if _HASHER.check_needs_rehash(row[0]):
                    tx.execute(
                        "UPDATE accounts SET password_hash = ? WHERE name = ?",
                        (_HASHER.hash(password), name),
                    )
            return SignIn(True)
        if row is None:
            _verify(_dummy_hash(), password)  # an unknown name costs the same hash check
        return SignIn(False, counted)

    def _count_failure(self, name: str, moment: dt.datetime) -> int | SignIn:
        """Count one more failure of `name` (unless it is waiting), atomically: the wait the
        count sets, or, when the name is still waiting, the refusal with what is left of it.

        One INSERT ... ON CONFLICT DO UPDATE reads and raises the count (SQLite runs it under the
        store's write lock, PostgreSQL under the row's lock, which holds until the commit, so the
        wait set next in the same transaction belongs to the count read back)."""
        now_text = to_utc_text(moment)
        forget = to_utc_text(moment - dt.timedelta(seconds=FORGET_AFTER_S))
        forgotten = to_utc_text(moment - dt.timedelta(seconds=FORGET_AFTER_S + MAX_WAIT_S))
        with self._db.transaction() as tx:
            counted = tx.row(
                "INSERT INTO sign_in_failures (name, failed, locked_until, last_failed_at)"
                " VALUES (?, 1, NULL, ?) ON CONFLICT (name) DO UPDATE SET"
                # an hour without failures: start afresh
                " failed = CASE WHEN sign_in_failures.last_failed_at < ? THEN 1"
                " ELSE sign_in_failures.failed + 1 END,"
                " locked_until = NULL, last_failed_at = excluded.last_failed_at"
                " WHERE sign_in_failures.locked_until IS NULL"
                " OR sign_in_failures.locked_until <= ?"
                " RETURNING failed",
                (name, now_text, forget, now_text),
            )
            if counted is None:  # still waiting: the row is locked, read what is left
                locked = tx.row("SELECT locked_until FROM sign_in_failures WHERE name = ?", (name,))
                left = (_parse(locked[0]) - moment).total_seconds() if locked and locked[0] else 1
                return SignIn(False, max(1, int(left)))
            failed = int(counted[0])
            wait = 0 if failed <= FREE_FAILURES else min(MAX_WAIT_S, 2 ** (failed - FREE_FAILURES))
            if wait:
                tx.execute(
                    "UPDATE sign_in_failures SET locked_until = ? WHERE name = ?",
                    (to_utc_text(moment + dt.timedelta(seconds=wait)), name),
                )
            tx.execute("DELETE FROM sign_in_failures WHERE last_failed_at < ?", (forgotten,))
        return wait


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _end_sessions(tx: Transaction, name: str) -> None:
    """Sign the account out everywhere, with a clean slate of failed attempts."""
    tx.execute("DELETE FROM sessions WHERE account = ? AND kind = 'password'", (name,))
    tx.execute("DELETE FROM sign_in_failures WHERE name = ?", (name,))


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise StoreValueError(f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise StoreValueError("a password has at most 1,024 characters")
    return password


def _verify(digest: str, password: str) -> bool:
    try:
        return _HASHER.verify(digest, password if isinstance(password, str) else "")
    except (VerificationError, InvalidHashError):
        return False
