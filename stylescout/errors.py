"""Exception types a person can meet; CLIs print them as one line and exit 2."""

from __future__ import annotations

import errno

SCALE_HINT = "run `make setup-scale`"  # what every scale-out feature says without the extra


class StyleScoutError(Exception):
    """Base of every error whose message tells the person what to do."""


class ConfigError(StyleScoutError):
    """The configuration file is missing, malformed, or has a bad key or value."""


class StoreError(StyleScoutError):
    """The local store cannot be opened, migrated, or written."""


class StoreBusyError(StoreError):
    """Another writer held the store's lock for longer than `store.busy_timeout_ms`."""


class StoreConstraintError(StoreError):
    """A write broke one of the store's rules (a unique key, a reference, a check)."""


class BusyError(StyleScoutError):
    """A job that runs one at a time per store is already running."""


class InvalidTagError(StyleScoutError):
    """A tag contains characters a tag may not have."""


class ServeError(StyleScoutError):
    """A local web server (demo feed, dashboard) cannot start."""

    @classmethod
    def listening(cls, exc: OSError, host: str, port: int) -> ServeError:
        """The one-line reason a server could not listen on host:port."""
        if exc.errno == errno.EADDRINUSE:
            return cls(f"port {port} on {host} is in use: choose another with --port")
        return cls(f"cannot listen on {host}:{port}: {exc.strerror}")


class ScrapeError(StyleScoutError):
    """A scrape cannot start or go on (unknown source, site unreachable, bad page)."""


class BrowserMissingError(ScrapeError):
    """Chromium or its driver is not installed."""
