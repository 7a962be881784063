"""Accounts for a shared dashboard, on SQLite and on PostgreSQL: argon2 hashes, backoff."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from store import Store
from store.repositories import accounts
from store.repositories.accounts import FREE_FAILURES, MAX_WAIT_S
from stylescout.errors import StoreError
from tests.conftest import PRODUCTION_HASHER


@pytest.fixture
def store(any_store: Store) -> Store:
    return any_store


def test_an_account_signs_in_with_its_password_only(store: Store) -> None:
    store.accounts.add("ana", "correct horse battery")
    assert store.accounts.names() == ["ana"]
    assert store.accounts.sign_in("ana", "correct horse battery").ok
    assert not store.accounts.sign_in("ana", "Correct horse battery").ok
    assert not store.accounts.sign_in("nobody", "correct horse battery").ok
    assert not store.accounts.sign_in("Not A Name!", "x").ok
    stored = store.db.row("SELECT password_hash FROM accounts WHERE name = 'ana'")[0]
    assert stored.startswith("$argon2id$") and "correct" not in stored


def test_passwords_are_hashed_at_the_production_cost(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the suite hashes cheaply (conftest); the product keeps argon2-cffi's RFC 9106 profile
    assert (PRODUCTION_HASHER.time_cost, PRODUCTION_HASHER.memory_cost) == (3, 65536)
    monkeypatch.setattr(accounts, "_HASHER", PRODUCTION_HASHER)
    store.accounts.add("ana", "correct horse battery")
    stored = store.db.row("SELECT password_hash FROM accounts WHERE name = 'ana'")[0]
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert store.accounts.sign_in("ana", "correct horse battery").ok


def test_names_and_passwords_are_checked(store: Store) -> None:
    with pytest.raises(StoreError, match="at least 10 characters"):
        store.accounts.add("ana", "short")
    with pytest.raises(StoreError, match="account name"):
        store.accounts.add("A", "long enough password")
    store.accounts.add("ana", "long enough password")
    with pytest.raises(StoreError, match="already an account"):
        store.accounts.add("ana", "another long password")
    with pytest.raises(StoreError, match="no account"):
        store.accounts.remove("bob")


def test_failed_sign_ins_make_the_next_wait_longer_until_it_works(store: Store) -> None:
    store.accounts.add("ana", "correct horse battery")
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    waits = [store.accounts.sign_in("ana", "wrong password", now).wait_s for _ in range(2)]
    assert waits == [0, 0]  # two mistakes are free
    third = store.accounts.sign_in("ana", "wrong password", now)
    assert not third.ok and third.wait_s == 2
    locked = store.accounts.sign_in("ana", "correct horse battery", now)  # not even checked
    assert not locked.ok and locked.wait_s >= 1
    later = now + dt.timedelta(seconds=3)
    assert store.accounts.sign_in("ana", "wrong password", later).wait_s == 4  # it doubles
    much_later = later + dt.timedelta(seconds=5)
    assert store.accounts.sign_in("ana", "correct horse battery", much_later).ok
    again = store.accounts.sign_in("ana", "wrong password", much_later)
    assert again.wait_s == 0  # a success cleared the count
    for _ in range(30):
        capped = store.accounts.sign_in("ana", "wrong", much_later + dt.timedelta(days=1))
    assert capped.wait_s <= MAX_WAIT_S


def test_parallel_wrong_passwords_are_counted_before_any_is_checked(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 16 guesses at the same moment count as 16 sent one after another: the count is kept before
    # the (slow) hash check, so only the free ones and the one that starts the wait are checked
    store.accounts.add("ana", "correct horse battery")
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    checked: list[str] = []
    real_verify = accounts._verify

    def slow_verify(digest: str, password: str) -> bool:
        checked.append(password)
        time.sleep(0.2)  # what a production hash costs: the window a read-then-write loses
        return real_verify(digest, password)

    monkeypatch.setattr(accounts, "_verify", slow_verify)
    start = threading.Barrier(16)

    def guess(i: int) -> accounts.SignIn:
        start.wait()
        return store.accounts.sign_in("ana", f"wrong password {i}", now)

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(guess, range(16)))
    assert not any(o.ok for o in outcomes)
    assert len(checked) == FREE_FAILURES + 1  # the rest were answered "wait", unchecked
    assert sorted(o.wait_s for o in outcomes) == [0] * FREE_FAILURES + [2] * (16 - FREE_FAILURES)
    failed, until = store.db.row(
        "SELECT failed, locked_until FROM sign_in_failures WHERE name = 'ana'"
    )
    assert failed == FREE_FAILURES + 1 and until == "2026-12-02T12:00:02Z"
    early = store.accounts.sign_in("ana", "correct horse battery", now + dt.timedelta(seconds=1))
    assert not early.ok and early.wait_s == 1
    assert store.accounts.sign_in("ana", "correct horse battery", now + dt.timedelta(seconds=2)).ok


def test_a_new_password_replaces_the_old_and_clears_the_lock(store: Store) -> None:
    store.accounts.add("ana", "correct horse battery")
    for _ in range(5):
        store.accounts.sign_in("ana", "wrong password")
    store.accounts.set_password("ana", "a brand new passphrase")
    assert store.accounts.sign_in("ana", "a brand new passphrase").ok
    assert not store.accounts.sign_in("ana", "correct horse battery").ok
    store.accounts.remove("ana")
    assert store.accounts.names() == []


def test_unknown_names_wait_like_accounts_and_an_hour_forgets_failures(store: Store) -> None:
    store.accounts.add("ana", "correct horse battery")
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    for name in ("ana", "nobody"):  # the same answers: they do not tell which name exists
        waits = [store.accounts.sign_in(name, "wrong password", now).wait_s for _ in range(4)]
        assert waits == [0, 0, 2, 2], name  # the fourth is not even checked
    hour = now + dt.timedelta(hours=1, minutes=1)
    assert store.accounts.sign_in("ana", "wrong password", hour).wait_s == 0  # forgotten
    assert store.accounts.sign_in("ana", "correct horse battery", hour).ok
    assert store.db.row("SELECT count(*) FROM sign_in_failures WHERE name = 'ana'")[0] == 0
    # rows of names nobody tried for long go when another name fails
    store.accounts.sign_in("other", "wrong password", now + dt.timedelta(days=2))
    assert store.db.row("SELECT count(*) FROM sign_in_failures WHERE name = 'nobody'")[0] == 0


def test_shared_secrets_are_made_once(store: Store) -> None:
    first = store.sessions.shared_secret("dash-background")
    assert len(first) == 64 and store.sessions.shared_secret("dash-background") == first
    assert store.sessions.shared_secret("other") != first


def test_sessions_are_kept_as_hashes_expire_and_end_with_the_account(any_store: Store) -> None:
    store = any_store
    store.accounts.add("ana", "correct horse battery")
    now = dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC)
    token, session = store.sessions.create("ana", "password", hours=1, now=now)
    assert store.sessions.get(token, now=now) == session and session.account == "ana"
    kept = store.db.row("SELECT token_hash FROM sessions")[0]
    assert token not in kept and len(kept) == 64
    assert store.sessions.get(token, now=now + dt.timedelta(hours=2)) is None  # expired
    for junk in (None, "", "x" * 5000, 12, token + "x"):
        assert store.sessions.get(junk, now=now) is None
    other, _ = store.sessions.create("ana", "password", hours=1, now=now)
    store.sessions.end(token)
    assert store.sessions.get(token, now=now) is None and store.sessions.get(other, now=now)
    store.accounts.set_password("ana", "another long password")  # signs every browser out
    assert store.sessions.get(other, now=now) is None
    token, _ = store.sessions.create("ana", "password", hours=1)
    sso, _ = store.sessions.create("ana", "header", hours=1)
    store.accounts.remove("ana")
    assert store.sessions.get(token) is None and store.sessions.get(sso) is not None
    with pytest.raises(StoreError):
        store.sessions.create("ana", "cookie", hours=1)
