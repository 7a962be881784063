"""The SQL seam: one small interface over SQLite (sqlite3) and PostgreSQL (psycopg 3).

Repositories write SQL in the subset both engines speak (`?` placeholders, `ON CONFLICT`,
`RETURNING`, ISO times as text); this module owns the connections (one per thread), the
transactions, the store's write lock and the translation of driver errors into the store's own, so
no driver name leaves `store/`. psycopg is used directly rather than through SQLAlchemy: the store's
SQL is already plain and portable, and the SQLite path keeps its proven locking (BEGIN IMMEDIATE,
busy timeout) without a pool or dialect layer between them.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import re
import sqlite3
import threading
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from store.schema import MIGRATIONS, for_postgres, statements
from stylescout.errors import SCALE_HINT, StoreBusyError, StoreConstraintError, StoreError

log = logging.getLogger(__name__)

SQLITE_NAME = "store.sqlite"
Params = Sequence[Any]


class Transaction:
    """Statements inside one transaction of a `Database` (what repositories write with)."""

    def __init__(self, db: Database, conn: Any) -> None:
        self._db, self._conn = db, conn

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        return self._db._run(self._conn, sql, params).rowcount

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        rows = list(rows)
        if rows:
            self._db._run_many(self._conn, sql, rows)

    def row(self, sql: str, params: Params = ()) -> tuple | None:
        return self._db._run(self._conn, sql, params).fetchone()

    def rows(self, sql: str, params: Params = ()) -> list[tuple]:
        return self._db._run(self._conn, sql, params).fetchall()

    def insert(self, sql: str, params: Params = ()) -> int:
        """An INSERT ending in `RETURNING id`: the new row's id."""
        return int(self._db._run(self._conn, sql, params).fetchone()[0])

    def batches(self, sql: str, params: Params = (), size: int = 4096) -> Iterator[list[tuple]]:
        """The rows in batches of `size`, never all at once (a million feature rows are 10 GB)."""
        yield from self._db._batches(self._conn, sql, params, size)


class Database(ABC):
    """A store's database: reads outside transactions, writes inside `transaction()`."""

    dialect: str

    def __init__(self, busy_timeout_ms: int) -> None:
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()

    # -- what repositories use --------------------------------------------------------------

    def row(self, sql: str, params: Params = ()) -> tuple | None:
        return self._run(self._conn(), sql, params).fetchone()

    def rows(self, sql: str, params: Params = ()) -> list[tuple]:
        return self._run(self._conn(), sql, params).fetchall()

    def dicts(self, sql: str, params: Params = ()) -> list[dict]:
        """Rows as dicts keyed by column name."""
        cur = self._run(self._conn(), sql, params)
        names = [getattr(d, "name", None) or d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    @abstractmethod
    def transaction(self, lock: bool = False) -> contextlib.AbstractContextManager[Transaction]:
        """A write transaction. `lock`: hold the store's write lock (no image can be placed or
        recorded meanwhile); on SQLite every write transaction holds it."""

    @abstractmethod
    def snapshot(self) -> contextlib.AbstractContextManager[Transaction]:
        """A read-only transaction that sees one consistent state."""

    @abstractmethod
    def integrity_problems(self) -> list[str]:
        """What the engine's own checks find wrong with the database (empty when sound)."""

    @abstractmethod
    def schema_version(self) -> int:
        """How many migrations this database has had."""

    @abstractmethod
    def migrate(self, migrations: Sequence[str] = MIGRATIONS) -> int:
        """Apply pending migrations, each in its own transaction; the resulting version."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the database is, for messages (never with a password)."""

    def columns(self, table: str) -> list[str]:
        """The column names of one of the store's tables, in order."""
        cur = self._run(self._conn(), f"SELECT * FROM {table} LIMIT 0", ())
        names = [getattr(d, "name", None) or d[0] for d in cur.description]
        cur.fetchall()
        return names

    @abstractmethod
    def after_copy(self, tx: Transaction, tables: Sequence[str]) -> None:
        """After rows were copied in with their ids: let new rows continue after them."""

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(Exception):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- engine specifics -------------------------------------------------------------------

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._unusable(conn):
            with self._all_lock:
                self._all = [c for c in self._all if c is not conn]
            with contextlib.suppress(Exception):
                conn.close()
            conn = None
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @abstractmethod
    def _open(self) -> Any: ...

    def _unusable(self, conn: Any) -> bool:
        """Whether a cached connection must be replaced (a server restart broke it)."""
        return False

    @abstractmethod
    def _run(self, conn: Any, sql: str, params: Params) -> Any: ...

    @abstractmethod
    def _run_many(self, conn: Any, sql: str, rows: list[Params]) -> None: ...

    def _batches(self, conn: Any, sql: str, params: Params, size: int) -> Iterator[list[tuple]]:
        cur = self._run(conn, sql, params)
        while rows := cur.fetchmany(size):
            yield rows

    def _refuse_newer(self, current: int, known: int) -> None:
        if current > known:
            raise StoreError(
                f"the store was written by a newer StyleScout (schema version {current}, this "
                f"one knows {known}): upgrade StyleScout or use another store"
            )


class SqliteDatabase(Database):
    """One SQLite file, one connection per thread, WAL; one writer at a time (BEGIN IMMEDIATE)."""

    dialect = "sqlite"

    def __init__(self, path: Path, busy_timeout_ms: int = 10_000) -> None:
        super().__init__(busy_timeout_ms)
        self.path = path

    @property
    def location(self) -> str:
        return str(self.path)

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from None
        return conn

    def _run(self, conn: sqlite3.Connection, sql: str, params: Params) -> sqlite3.Cursor:
        with _sqlite_errors():
            return conn.execute(sql, params)

    def _run_many(self, conn: sqlite3.Connection, sql: str, rows: list[Params]) -> None:
        with _sqlite_errors():
            conn.executemany(sql, rows)

    @contextlib.contextmanager
    def transaction(self, lock: bool = False) -> Iterator[Transaction]:
        conn = self._conn()
        if conn.in_transaction:
            raise StoreError("internal error: a store transaction inside another")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # the wait for the lock (busy_timeout) ran out
            raise StoreBusyError(f"the store stayed busy: {exc}") from None
        try:
            yield Transaction(self, conn)
            with _sqlite_errors():
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back by itself (disk full)
                conn.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Transaction]:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield Transaction(self, conn)
        finally:
            conn.execute("COMMIT")

    def after_copy(self, tx: Transaction, tables: Sequence[str]) -> None:
        """Nothing to do: a SQLite rowid continues after the largest id by itself."""

    def integrity_problems(self) -> list[str]:
        problems = [r[0] for r in self.rows("PRAGMA integrity_check")]
        problems = [] if problems == ["ok"] else problems
        return problems + [
            f"row {r[1]} of {r[0]} points at a missing {r[2]} row"
            for r in self.rows("PRAGMA foreign_key_check")
        ]

    def schema_version(self) -> int:
        return int(self.row("PRAGMA user_version")[0])

    def migrate(self, migrations: Sequence[str] = MIGRATIONS) -> int:
        self._refuse_newer(self.schema_version(), len(migrations))
        conn = self._conn()
        for version in range(self.schema_version(), len(migrations)):
            with self.transaction():
                if self.schema_version() != version:  # another process migrated meanwhile
                    continue
                for statement in statements(migrations[version]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
        return self.schema_version()


@contextlib.contextmanager
def _sqlite_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise StoreConstraintError(str(exc)) from None
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreBusyError(f"the store stayed busy: {exc}") from None
        raise


class PostgresDatabase(Database):
    """A PostgreSQL database through psycopg 3: one connection per thread, transactions as the
    repositories ask; the store's write lock is a transaction-level advisory lock."""

    dialect = "postgresql"
    # Every StyleScout store in a database shares this lock id (crc32 of the name).
    WRITE_LOCK = zlib.crc32(b"stylescout-store-write-lock")
    MIGRATE_LOCK = zlib.crc32(b"stylescout-store-migrate")

    def __init__(self, url: str, busy_timeout_ms: int = 10_000) -> None:
        super().__init__(busy_timeout_ms)
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                f"a postgresql:// store needs the PostgreSQL driver: {SCALE_HINT} "
                "(pip install -r requirements-scale.txt)"
            ) from None
        self._psycopg = psycopg
        self.url = url

    @property
    def location(self) -> str:
        return redact_url(self.url)

    def _open(self) -> Any:
        psycopg = self._psycopg
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            # 0 would mean "wait forever" here, "fail at once" on SQLite: 1 ms is the nearest
            conn.execute(f"SET lock_timeout = {max(1, int(self.busy_timeout_ms))}")
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot open the store at {self.location}: {_first_line(exc)}"
            ) from None
        return conn

    def _unusable(self, conn: Any) -> bool:
        return bool(conn.closed or conn.broken)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        psycopg = self._psycopg
        errors = psycopg.errors
        try:
            yield
        except (psycopg.IntegrityError, psycopg.DataError) as exc:  # DataError: e.g. a NUL
            raise StoreConstraintError(_first_line(exc)) from None
        except (errors.LockNotAvailable, errors.DeadlockDetected) as exc:
            raise StoreBusyError(f"the store stayed busy: {_first_line(exc)}") from None
        except psycopg.OperationalError as exc:
            raise StoreError(f"the store at {self.location}: {_first_line(exc)}") from None

    def _run(self, conn: Any, sql: str, params: Params) -> Any:
        with self._errors():
            return conn.execute(_pg_sql(sql), tuple(params))

    def _run_many(self, conn: Any, sql: str, rows: list[Params]) -> None:
        with self._errors(), conn.cursor() as cur:
            cur.executemany(_pg_sql(sql), rows)

    def _batches(self, conn: Any, sql: str, params: Params, size: int) -> Iterator[list[tuple]]:
        # a server-side cursor: psycopg's default one would fetch the whole answer first
        with self._errors(), conn.cursor(name=f"stylescout_batches_{next(_CURSORS)}") as cur:
            cur.execute(_pg_sql(sql), tuple(params))
            while rows := cur.fetchmany(size):
                yield rows

    @contextlib.contextmanager
    def transaction(self, lock: bool = False) -> Iterator[Transaction]:
        conn = self._conn()
        with self._errors(), conn.transaction():
            if lock:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.WRITE_LOCK,))
            yield Transaction(self, conn)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Transaction]:
        conn = self._conn()
        with self._errors(), conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield Transaction(self, conn)

    def after_copy(self, tx: Transaction, tables: Sequence[str]) -> None:
        for table in tables:  # identity columns do not see ids given explicitly
            tx.row(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )

    def integrity_problems(self) -> list[str]:
        # PostgreSQL enforces every key, reference and check on write; what is left to look
        # for is a constraint someone turned off (NOT VALID) by hand.
        return [
            f"constraint {name} of {table} is not validated"
            for table, name in self.rows(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint"
                " WHERE NOT convalidated AND connamespace = 'public'::regnamespace"
            )
        ]

    def schema_version(self) -> int:
        if self.row("SELECT to_regclass('stylescout_schema')")[0] is None:
            return 0
        return int(self.row("SELECT version FROM stylescout_schema")[0])

    def migrate(self, migrations: Sequence[str] = MIGRATIONS) -> int:
        conn = self._conn()
        with self._errors(), conn.transaction():
            conn.execute("SET LOCAL lock_timeout = 0")  # another process may be migrating
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.MIGRATE_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS stylescout_schema (version INTEGER NOT NULL)")
            if conn.execute("SELECT count(*) FROM stylescout_schema").fetchone()[0] == 0:
                conn.execute("INSERT INTO stylescout_schema (version) VALUES (0)")
        self._refuse_newer(self.schema_version(), len(migrations))
        for version in range(self.schema_version(), len(migrations)):
            with self._errors(), conn.transaction():
                conn.execute("SET LOCAL lock_timeout = 0")
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.MIGRATE_LOCK,))
                if self.schema_version() != version:
                    continue
                for statement in statements(migrations[version]):
                    conn.execute(for_postgres(statement))
                conn.execute("UPDATE stylescout_schema SET version = %s", (version + 1,))
        return self.schema_version()


@functools.lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


_CURSORS = itertools.count()
_PASSWORD = re.compile(r"(://[^:/@]*:).*@")
_PASSWORD_PARAM = re.compile(r"(password=)[^&]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL with its password (if any) replaced by ***."""
    return _PASSWORD_PARAM.sub(r"\1***", _PASSWORD.sub(r"\1***@", url))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_database(url: str | None, data_dir: Path, busy_timeout_ms: int) -> Database:
    """The database a store URL names: None or a path → SQLite; postgresql://… → PostgreSQL."""
    if url and urlsplit(url).scheme in ("postgresql", "postgres"):
        return PostgresDatabase(url, busy_timeout_ms)
    if url and "://" in url and not url.startswith("sqlite:///"):
        raise StoreError(
            f"store.url {redact_url(url)!r}: use a SQLite file path or postgresql://user@host/db"
        )
    if url:
        path = Path(url.removeprefix("sqlite:///"))
        path = path if path.is_absolute() else data_dir / path
    else:
        path = data_dir / SQLITE_NAME
    return SqliteDatabase(path, busy_timeout_ms)
