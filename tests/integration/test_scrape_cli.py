"""`python -m scraper scrape|import` as a person runs them, and a scrape killed mid-way."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from sandbox.held_feed import HOLD_LIMIT_S, HeldFeed
from store import Store
from store.check import check_store
from tests.integration.helpers import REPO, PipeReader, run_cli, run_cli_here

SUMMARY = re.compile(
    r"^added (\d+), duplicates (\d+), failed (\d+)( \([^)]*\))?"
    r"(, skipped \d+ posts? \([^)]*\))?, in [\d.]+ s"
)


@pytest.fixture(scope="module")
def feed() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as server:
        yield server


def config_file(tmp_path: Path, feed: BackgroundServer, held: bool = False) -> Path:
    """The config of a scrape of `feed`; `held`: the feed holds pages, so the scrape waits for a
    page as long as the feed holds it (past the default read timeout, on a busy machine too)."""
    path = tmp_path / "config.yaml"
    text = f"data_dir: data\ndemo_feed:\n  port: {feed.port}\n"
    if held:
        text += f"scraper:\n  read_timeout_s: {HOLD_LIMIT_S + 60}\n"
    path.write_text(text)
    return path


def _ctrl_c_as_in_a_terminal() -> None:
    """Run in the child before exec: Ctrl-C does what it does in a terminal. A shell starts a
    background job (`make test &`, a CI runner's step) with SIGINT ignored, every child inherits
    that, and Python then installs no KeyboardInterrupt handler: the Ctrl-C test's SIGINT was
    ignored and the scrape ran to its end (exit 0), the flake of the issue."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_scrape(config: Path, tag: str, count: int) -> subprocess.Popen[str]:
    """`python -m scraper scrape` in its own process, output captured."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scraper",
            "--config",
            str(config),
            "scrape",
            "--tag",
            tag,
            "--count",
            str(count),
            "--source",
            "demo-html",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )


def wait_for_images(data: Path, at_least: int, timeout: float = 60) -> None:
    """Poll the store until it holds `at_least` images (bounded in time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if (data / "store.sqlite").exists():
            with Store(data) as store:
                if store.stats().images >= at_least:
                    return
    raise AssertionError(f"the store never reached {at_least} images")


def test_scrape_prints_one_summary_line_and_exits_0(feed: BackgroundServer, tmp_path: Path) -> None:
    config = config_file(tmp_path, feed)
    result = run_cli(
        "scraper",
        "--config",
        str(config),
        "scrape",
        "--tag",
        "boho",
        "--count",
        "12",
        "--source",
        "demo-html",
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match and int(match.group(1)) == 12, last
    assert "source demo-html (html mode)" in result.stderr  # a note, not a result


@pytest.mark.parametrize("tag", ["../x", "a/b", "", "#", "x" * 500])
def test_bad_tags_are_refused_in_one_line(tag: str, tmp_path: Path) -> None:
    result = run_cli_here(
        "scraper", "--data-dir", str(tmp_path / "d"), "scrape", "--tag", tag, "--count", "3"
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: tag") and result.stderr.count("\n") == 1


def test_import_cli(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    from tests.conftest import jpeg_bytes

    for i in range(3):
        (folder / f"{i}.jpg").write_bytes(jpeg_bytes(i))
    result = run_cli("scraper", "--data-dir", str(tmp_path / "d"), "import", str(folder))
    assert result.returncode == 0, result.stderr
    assert SUMMARY.match(result.stdout.strip().splitlines()[-1])
    assert result.stdout.strip().splitlines()[-1].startswith("added 3, duplicates 0, failed 0")
    (folder / "3.jpg").write_bytes(b"not an image at all")  # done, with a failure: exit 1
    again = run_cli("scraper", "--data-dir", str(tmp_path / "d"), "import", str(folder))
    assert again.returncode == 1, again.stderr
    assert again.stdout.strip().splitlines()[-1].startswith("added 0, duplicates 3, failed 1 (")


def _signal_state(pid: int) -> str:
    """The kernel's view of a process's signals (pending, blocked, ignored, caught), per thread."""
    lines = []
    for status in sorted(Path(f"/proc/{pid}/task").glob("*/status")):
        with contextlib.suppress(OSError):
            text = status.read_text().splitlines()
            name = next((t.split(":", 1)[1].strip() for t in text if t.startswith("Name:")), "")
            sig = " ".join(t.replace("\t", "") for t in text if t.startswith(("Sig", "ShdPnd")))
            lines.append(f"{status.parent.name} {name}: {sig}")
    return "\n".join(lines) or f"process {pid} is gone"


@pytest.fixture
def held_feed() -> Iterator[tuple[BackgroundServer, HeldFeed]]:
    """A feed that serves page 1 of a tag and holds the next ones until the test lets them go."""
    held = HeldFeed(create_feed_app(), pages=1)
    try:
        with BackgroundServer(held, "127.0.0.1", 0) as server:
            yield server, held
    finally:
        held.open()  # whatever still waits is served, so no server thread outlives the test


@pytest.mark.slow
def test_killed_scrape_leaves_a_clean_store_and_resumes(
    held_feed: tuple[BackgroundServer, HeldFeed], tmp_path: Path
) -> None:
    feed, held = held_feed
    held.let_through()  # pages 1 and 2: more than 20 images, then the scrape waits for page 3
    config = config_file(tmp_path, feed, held=True)
    data = tmp_path / "data"
    proc = start_scrape(config, "preppy", 150)
    wait_for_images(data, 20)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)

    check = run_cli("store", "--config", str(config), "check")
    assert check.returncode == 0, check.stdout
    with Store(data) as store:
        stored = store.stats().images
        assert 20 <= stored <= 48  # at most two pages of posts
        assert store.runs.recent()[0]["status"] == "interrupted"
        assert check_store(store).clean

    held.open()
    resumed = start_scrape(config, "preppy", 150)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "already stored" in out
    with Store(data) as store:
        runs = store.runs.recent()
        assert runs[0]["status"] == "completed"
        assert store.stats().images == 150  # the count, reached across the kill
        assert check_store(store).clean


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_records_an_interrupted_run(
    held_feed: tuple[BackgroundServer, HeldFeed], tmp_path: Path
) -> None:
    feed, held = held_feed
    config = config_file(tmp_path, feed, held=True)
    data = tmp_path / "data"
    proc = start_scrape(config, "hat", 200)
    out, err = PipeReader(proc.stdout), PipeReader(proc.stderr)  # type: ignore[arg-type]
    assert held.asked.wait(60), "the scrape never asked for page 2"
    wait_for_images(data, 10)  # page 1's images: the scrape is running, waiting for page 2
    proc.send_signal(signal.SIGINT)
    err.wait_for("stopping:", also=lambda: _signal_state(proc.pid))  # Ctrl-C seen: sources stop
    held.open()  # page 2 comes; the source stops after the images in flight
    assert proc.wait(timeout=60) == 130
    assert "interrupted" in err.close() and not out.close().startswith("added")
    with Store(data) as store:
        assert store.runs.recent()[0]["status"] == "interrupted"
        assert store.stats().images < 200
        assert check_store(store).clean
        assert not list((data / "images" / "tmp").iterdir())


def test_one_tag_from_two_sites_one_summary_line_each(
    feed: BackgroundServer, tmp_path: Path
) -> None:
    from sandbox.replicas import ReplicaOptions, create_mastodon_app, serving

    with serving(create_mastodon_app(ReplicaOptions(posts=20))) as mastodon:
        path = tmp_path / "config.yaml"
        path.write_text(
            f"data_dir: data\ndemo_feed:\n  port: {feed.port}\nsources:\n  mastodon:\n"
            f"    base_url: {mastodon}\n    allow_private_network: true\n"
            "    api: {request_spacing_s: 0}\n"
        )
        done = run_cli(
            "scraper",
            "--config",
            str(path),
            "scrape",
            "--tag",
            "boho",
            "--count",
            "6",
            "--source",
            "mastodon,demo-html",
        )
        assert done.returncode == 0, done.stderr
        announced = sorted(m.group(0) for m in re.finditer(r"source \S+ \(\w+ mode\)", done.stderr))
        assert announced == ["source demo-html (html mode)", "source mastodon (api mode)"]
        lines = done.stdout.strip().splitlines()  # the results only: one summary per source
        assert [line.split(":")[0] for line in lines] == ["mastodon", "demo-html"]
        for line in lines:
            assert SUMMARY.match(line.split(": ", 1)[1]), line
            assert line.split(": ", 1)[1].startswith("added 6,"), line
        assert "#boho mastodon" in done.stderr and "#boho demo-html" in done.stderr  # two bars

        with Store(tmp_path / "data") as store:
            assert store.stats().sources == {"mastodon": 6, "demo-html": 6}
        # an unknown source is refused before anything starts, naming the configured ones
        bad = run_cli(
            "scraper",
            "--config",
            str(path),
            "scrape",
            "--tag",
            "boho",
            "--count",
            "2",
            "--source",
            "mastodon,nowhere",
        )
        assert bad.returncode == 2 and "unknown source 'nowhere'" in bad.stderr
        # without --source and without a default, the person is told what to give
        none = run_cli("scraper", "--config", str(path), "scrape", "--tag", "boho", "--count", "2")
        assert none.returncode == 2 and "give --source" in none.stderr and "mastodon" in none.stderr


def test_a_scrape_with_failed_images_is_done_with_failures(tmp_path: Path) -> None:
    """Exit 1: the run completed, its summary counts the failures by reason."""
    from sandbox.replicas import ReplicaOptions, create_mastodon_app, serving

    replica = create_mastodon_app(ReplicaOptions(posts=8, image_status={1: 404}))
    with serving(replica) as mastodon:
        path = tmp_path / "config.yaml"
        path.write_text(
            f"data_dir: data\nsources:\n  mastodon:\n    base_url: {mastodon}\n"
            "    allow_private_network: true\n    api: {request_spacing_s: 0}\n"
        )
        args = ("--config", str(path), "scrape", "--tag", "boho", "--count", "8")
        done = run_cli("scraper", *args, "--source", "mastodon")
        assert done.returncode == 1, done.stderr
        assert "failed 1 (http_404 1)" in done.stdout.strip().splitlines()[-1]
