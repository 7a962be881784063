"""Where the dashboard's background jobs run, and the flags (cancel, owner) they share.

- One process on one machine (the default): Dash's `DiskcacheManager`, jobs in a child process,
  results and flags in a disk cache under the store's cache folder.
- A team's dashboard (`dashboard.redis_url` or STYLESCOUT_REDIS_URL): Dash's `CeleryManager`,
  jobs in a Celery worker (`python -m dash_app --celery-worker`), results, progress and flags in
  Redis, so any dashboard worker, on any machine, can follow or cancel a job another started.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from dash import CeleryManager

from store import Store
from stylescout.errors import SCALE_HINT, ConfigError, StyleScoutError
from stylescout.settings import Config

log = logging.getLogger(__name__)
EXPIRE_S = 3600


class Flags(Protocol):
    """A small shared key-value store with expiry (diskcache.Cache has this shape)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, expire: float | None = None) -> bool: ...

    def add(self, key: str, value: Any, expire: float | None = None) -> bool:
        """Set `key` only when it is not there (atomically); whether it was set."""
        ...

    def delete(self, key: str) -> bool: ...

    def close(self) -> None: ...


class JobsUnavailable(StyleScoutError):
    """The shared job store (Redis) does not answer: jobs cannot start or be cancelled now."""


class RedisFlags:
    """`Flags` in Redis, values as JSON, under a prefix of their own. Redis not answering is a
    `JobsUnavailable` with one line, not a driver's traceback."""

    def __init__(self, url: str, prefix: str = "stylescout:flag:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self._errors = redis.RedisError
        self._where = _redact(url)
        self._prefix = prefix

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        try:
            yield
        except self._errors as exc:
            log.warning("Redis at %s: %s", self._where, exc)
            raise JobsUnavailable(
                "background jobs are unavailable: their Redis is not answering"
            ) from None

    def get(self, key: str, default: Any = None) -> Any:
        with self._answering():
            raw = self._redis.get(self._prefix + key)
        return default if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, expire: float | None = None) -> bool:
        ttl = None if expire is None else max(1, int(expire))
        with self._answering():
            return bool(self._redis.set(self._prefix + key, json.dumps(value), ex=ttl))

    def add(self, key: str, value: Any, expire: float | None = None) -> bool:
        ttl = None if expire is None else max(1, int(expire))
        with self._answering():
            return bool(self._redis.set(self._prefix + key, json.dumps(value), ex=ttl, nx=True))

    def delete(self, key: str) -> bool:
        with self._answering():
            return bool(self._redis.delete(self._prefix + key))

    def close(self) -> None:
        self._redis.close()


@dataclass(frozen=True)
class Background:
    """The Dash manager for background callbacks, the shared flags, and the app token."""

    manager: Any
    flags: Flags
    token: str
    celery: Any = None  # the Celery app, when jobs go through Redis
    signing_key: str | None = None  # the key Dash signs job handles with, shared by workers


class ScrubbedCeleryManager(CeleryManager):
    """Dash's CeleryManager, queueing a callback's context without the request's cookies and
    headers: they hold the session's secret and CSRF token, and the queue is Redis."""

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> str:
        return super().call_job_fn(key, job_fn, args, {**context, "cookies": {}, "headers": {}})


def redis_url(config: Config) -> str | None:
    """The Redis of a team's dashboard (`dashboard.redis_url`; $STYLESCOUT_REDIS_URL reaches it
    through the settings' loader), checked as both its clients read it: a URL they cannot take is
    a ConfigError with one line here, not their traceback when the first job is queued."""
    url = config.dashboard.redis_url
    if url and not url.startswith(("redis://", "rediss://")):
        raise ConfigError("dashboard.redis_url must start with redis:// or rediss://")
    if url:
        _check_readable(url)
    return url or None


def _url_parsers() -> list[Callable[[str], object]]:
    """How redis-py (the flags) and kombu (Celery's broker and results) read a Redis URL; those
    not installed are left out (open_background then names the command that installs them)."""
    parsers: list[Callable[[str], object]] = []
    with contextlib.suppress(ImportError):
        from redis.connection import parse_url

        parsers.append(parse_url)
    with contextlib.suppress(ImportError):
        from kombu.utils.url import parse_url as kombu_parse_url

        parsers.append(kombu_parse_url)
    return parsers


def _check_readable(url: str) -> None:
    """Raise ConfigError when a client cannot read `url`, naming the part (never its value: the
    URL may carry a password, in the address or as ?password=)."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError as exc:
        what = "the port" if "port" in str(exc).lower() else "the address"
        raise ConfigError(
            f"dashboard.redis_url cannot be read: {what} is not valid (write"
            " redis://[user:password@]host[:port]/db, an IPv6 host in brackets, a port"
            " from 1 to 65535)"
        ) from None
    base = urllib.parse.urlunsplit(parts._replace(query="", fragment=""))
    where = _redact(url)
    for parse in _url_parsers():
        try:
            parse(url)
        except Exception as exc:  # any parser error is a setting that cannot be taken
            log.debug("Redis URL refused by %s: %s", parse.__module__, type(exc).__name__)
            name = _refused_option(parse, base, parts.query)
            if name is None:
                raise ConfigError(
                    f"dashboard.redis_url {where} cannot be read: write"
                    " redis://[user:password@]host[:port]/db"
                ) from None
            if name == "password":
                why = (
                    "is not taken (Celery reads the password from the address only: write"
                    " redis://:password@host:port/db, without ?password=)"
                )
            elif isinstance(exc, TypeError):  # kombu: the option repeats a part of the address
                why = "repeats a part of the address: give it in the address only"
            else:
                why = "has a value that cannot be taken"
            raise ConfigError(f"dashboard.redis_url {where}: its ?{name}= {why}") from None


def _refused_option(parse: Callable[[str], object], base: str, query: str) -> str | None:
    """The first query option `parse` refuses on its own after `base`, or None (also when it
    refuses `base` itself)."""
    try:
        parse(base)
    except Exception:  # the address, not an option
        return None
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        try:
            parse(f"{base}?{urllib.parse.urlencode({name: value})}")
        except Exception:  # this option is the one refused
            return name[:40] if name.isidentifier() else "an option"
    return None


def shared_token(store: Store) -> str:
    """The app token every worker of one store agrees on (a Celery worker finds its app by it);
    a lookup key, not a secret: every page carries it."""
    seed = f"stylescout-app\0{store.location}"  # the same database on every machine
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def celery_app(url: str) -> Any:
    """A Celery app with Redis as broker and result backend."""
    try:
        from celery import Celery
    except ImportError:
        raise ConfigError(f"background jobs through Redis need Celery: {SCALE_HINT}") from None
    app = Celery("stylescout", broker=url, backend=url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=EXPIRE_S,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


def open_background(config: Config, store: Store) -> Background:
    """The background set-up the config asks for (see the module docstring)."""
    url = redis_url(config)
    if url is None:
        import diskcache
        from dash import DiskcacheManager

        cache = diskcache.Cache(str(store.cache_dir / "jobs"))
        return Background(DiskcacheManager(cache, expire=EXPIRE_S), cache, uuid.uuid4().hex)
    try:
        import redis  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"background jobs through Redis need the redis client: {SCALE_HINT}"
        ) from None
    app = celery_app(url)
    log.info("background jobs through Celery at %s", _redact(url))
    manager = ScrubbedCeleryManager(app, expire=EXPIRE_S)
    # Dash signs the job handles it gives browsers; every worker must use one key, and one that
    # does not expire with the job results in Redis: it is kept in the store
    key = store.sessions.shared_secret("dash-background-handles")
    return Background(manager, RedisFlags(url), shared_token(store), app, key)


def _redact(url: str) -> str:
    """A Redis URL for logs: no user, password or query (which may carry a password)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port or address that cannot be read: nothing of it is shown
        return "(an address that cannot be read)"
    if ":" in host:
        host = f"[{host}]"
    return urllib.parse.urlunsplit((parts.scheme, host + port, parts.path, "", ""))
