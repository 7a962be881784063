"""How long a site asks us to wait, read from its rate-limit headers (for the API sources).

Sites say it in different ways: `Retry-After` in seconds or as an HTTP date (RFC 9110),
`X-RateLimit-Reset` as an ISO 8601 time (Mastodon, Pixelfed) or Unix seconds (others),
`RateLimit-Reset` as seconds to wait (the IETF draft) or a Unix time (Bluesky), Tumblr's
`X-Ratelimit-Perhour-Reset` in seconds. A wait longer than
the source's cap is not slept through: `RateLimited` says when to come back instead.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
from collections.abc import Mapping

from stylescout.errors import ScrapeError

MAX_READABLE_WAIT_S = 366 * 86_400  # a longer wait is a broken header, not a plan
_EPOCH_FLOOR = 1_000_000_000  # a number this large is a Unix time, not a number of seconds


class RateLimited(ScrapeError):
    """The site asked for a longer pause than the source allows; `until` is when it resets."""

    def __init__(self, site: str, wait_s: float, until: dt.datetime) -> None:
        super().__init__(
            f"{site} asks to wait {wait_s:.0f} s (until {until:%Y-%m-%d %H:%M:%S} UTC): "
            "stopping here; run the scrape again after that"
        )
        self.wait_s = wait_s
        self.until = until


def _seconds_or_epoch(value: str, now: dt.datetime) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number - now.timestamp() if number >= _EPOCH_FLOOR else number


def _http_date(value: str, now: dt.datetime) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - now).total_seconds()


def _iso_time(value: str, now: dt.datetime) -> float | None:
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - now).total_seconds()


def requested_wait(headers: Mapping[str, str], now: dt.datetime | None = None) -> float | None:
    """Seconds the response asks us to wait (0 when the time is past), or None if it says
    nothing readable. Header names are matched without regard to case."""
    now = now or dt.datetime.now(dt.UTC)
    lower = {k.lower(): str(v).strip() for k, v in headers.items()}
    readers = {
        "retry-after": (_seconds_or_epoch, _http_date),
        "x-ratelimit-reset": (_iso_time, _seconds_or_epoch),
        "ratelimit-reset": (_seconds_or_epoch,),
        "x-ratelimit-perhour-reset": (_seconds_or_epoch,),  # Tumblr: seconds to the hour's reset
        "x-ratelimit-perday-reset": (_seconds_or_epoch,),
    }
    for name, parsers in readers.items():
        value = lower.get(name)
        if not value or len(value) > 100:
            continue
        for parse in parsers:
            try:
                wait = parse(value, now)
            except (OverflowError, ValueError):  # a date beyond what datetime holds
                wait = None
            if wait is not None and wait <= MAX_READABLE_WAIT_S:
                return max(0.0, wait)
    return None


def wait_for(
    site: str,
    headers: Mapping[str, str],
    cap_s: float,
    default_s: float,
    now: dt.datetime | None = None,
) -> float:
    """The pause to take before asking `site` again after a 429 (or an exhausted quota):
    what the headers ask for, else `default_s`; RateLimited when that is longer than `cap_s`."""
    now = now or dt.datetime.now(dt.UTC)
    wait = requested_wait(headers, now)
    wait = default_s if wait is None else wait
    if wait > cap_s:
        raise RateLimited(site, wait, now + dt.timedelta(seconds=wait))
    return wait
