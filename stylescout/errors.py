"""Exception types a person can meet; CLIs print them as one line and exit 2 for a usage error
(`UsageError`: an argument, a setting or a value given that cannot be taken) or 3 for any other
(the command could not run: a store busy or unreachable, a site that refuses, no index yet)."""

from __future__ import annotations

import errno

SCALE_HINT = "run `make setup-scale`"  # what every scale-out feature says without the extra


class StyleScoutError(Exception):
    """Base of every error whose message tells the person what to do."""


class UsageError(StyleScoutError):
    """What was asked for cannot be taken as given: an argument, a setting, a value typed in."""


class ConfigError(UsageError):
    """The configuration file is missing, malformed, or has a bad key or value."""


class StoreError(StyleScoutError):
    """The local store cannot be opened, migrated, or written."""


class StoreBusyError(StoreError):
    """Another writer held the store's lock for longer than `store.busy_timeout_ms`."""


class StoreValueError(StoreError, UsageError):
    """A value the store refuses as given (a password too short, an account name too long)."""


class StoreConstraintError(StoreError):
    """A write broke one of the store's rules (a unique key, a reference, a check)."""


class BusyError(StyleScoutError):
    """A job that runs one at a time per store is already running."""


class InvalidTagError(UsageError):
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
