"""Rate-limit headers as the social sites send them, read into one wait (issue 11's groundwork)."""

from __future__ import annotations

import datetime as dt

import pytest

from scraper.rate_limits import RateLimited, requested_wait, wait_for

NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": " 0 "}, 0.0),
        ({"Retry-After": "Tue, 01 Dec 2026 12:01:30 GMT"}, 90.0),
        ({"Retry-After": "Tue, 01 Dec 2026 11:00:00 GMT"}, 0.0),  # in the past: go on
        ({"X-RateLimit-Reset": "2026-12-01T12:05:00.588Z"}, 300.588),  # Mastodon's form
        ({"X-RateLimit-Reset": "2026-12-01T12:00:10+00:00"}, 10.0),
        ({"X-RateLimit-Reset": str(int(NOW.timestamp()) + 42)}, 42.0),  # Unix seconds
        ({"RateLimit-Reset": "30"}, 30.0),  # IETF draft: seconds to wait
        ({"ratelimit-reset": str(int(NOW.timestamp()) + 120)}, 120.0),  # Bluesky: Unix time
        ({"Retry-After": "5", "X-RateLimit-Reset": "2026-12-01T13:00:00Z"}, 5.0),
    ],
)
def test_every_form_of_the_headers_is_read(headers: dict[str, str], wait: float) -> None:
    assert requested_wait(headers, NOW) == pytest.approx(wait, abs=0.01)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Retry-After": "soon"},
        {"Retry-After": "-5"},
        {"Retry-After": "nan"},
        {"X-RateLimit-Reset": "tomorrow"},
        {"RateLimit-Reset": ""},
        {"X-Other": "5"},
    ],
)
def test_unreadable_headers_say_nothing(headers: dict[str, str]) -> None:
    assert requested_wait(headers, NOW) is None


def test_waits_are_capped_and_a_longer_one_stops_with_the_reset_time() -> None:
    assert wait_for("mastodon.social", {"Retry-After": "3"}, cap_s=60, default_s=10, now=NOW) == 3
    assert wait_for("mastodon.social", {}, cap_s=60, default_s=10, now=NOW) == 10
    headers = {"X-RateLimit-Reset": "2026-12-01T12:05:00Z"}
    with pytest.raises(RateLimited, match="until 2026-12-01 12:05:00 UTC") as caught:
        wait_for("mastodon.social", headers, cap_s=60, default_s=10, now=NOW)
    assert caught.value.wait_s == pytest.approx(300)
    assert "mastodon.social asks to wait 300 s" in str(caught.value)


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "inf"}, {"Retry-After": "1e400"}, {"X-RateLimit-Reset": "99999999999999"}],
)
def test_absurd_waits_are_unreadable_not_a_crash(headers: dict[str, str]) -> None:
    assert requested_wait(headers, NOW) is None
