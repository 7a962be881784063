"""Fixtures shared by the integration tests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.reliability import ForkedRun, fork_start, start


@pytest.fixture
def launch() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`start()` for a test: whatever is still running when the test ends (a failed assertion
    included) is killed, so no process outlives its test."""
    started: list[subprocess.Popen[str]] = []

    def launch_one(config: Path, *args: str) -> subprocess.Popen[str]:
        proc = start(config, *args)
        started.append(proc)
        return proc

    yield launch_one
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


@pytest.fixture
def fork_launch() -> Iterator[Callable[..., ForkedRun]]:
    """`fork_start()` for a test, cleaned up as `launch` is."""
    started: list[ForkedRun] = []

    def launch_one(config: Path, *args: str) -> ForkedRun:
        run = fork_start(config, *args)
        started.append(run)
        return run

    yield launch_one
    for run in started:
        if run.poll() is None:
            run.kill()
        run.communicate(timeout=30)


SOURCE_CREDENTIALS = (
    "STYLESCOUT_MASTODON_TOKEN",
    "STYLESCOUT_PIXELFED_TOKEN",
    "STYLESCOUT_BLUESKY_HANDLE",
    "STYLESCOUT_BLUESKY_APP_PASSWORD",
    "STYLESCOUT_FLICKR_API_KEY",
    "STYLESCOUT_TUMBLR_API_KEY",
)


@pytest.fixture
def no_source_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only what a test sets: no token from the machine's environment, no cached session."""
    from scraper.sources.sites import bluesky

    for name in SOURCE_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    bluesky.forget_sessions()
    yield
    bluesky.forget_sessions()
