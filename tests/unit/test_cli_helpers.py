"""What every command line shares (`stylescout.cli`): "did you mean", -q and -v, log lines
written above the progress bars, and arguments refused before anything starts."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
from pathlib import Path

import pytest

from stylescout.cli import add_command, base_parser, progress, run_cli, setup_logging
from stylescout.errors import (
    ConfigError,
    InvalidTagError,
    ScrapeError,
    StoreError,
    StoreValueError,
    StyleScoutError,
    UsageError,
)
from tests.integration.helpers import run_cli_here


def _parser() -> argparse.ArgumentParser:
    parser = base_parser("tool", "A tool.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_command(sub, "scrape", "gather images")
    add_command(sub, "stats", "print counts")
    return parser


def test_a_mistyped_subcommand_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        _parser().parse_args(["scarpe"])
    assert done.value.code == 2
    assert "invalid choice: 'scarpe'" in capsys.readouterr().err.splitlines()[-1]
    with pytest.raises(SystemExit):
        _parser().parse_args(["scarpe"])
    assert capsys.readouterr().err.rstrip().endswith("did you mean 'scrape'?")


def test_quiet_hides_the_bars_and_the_info_lines_verbose_shows_debug() -> None:
    root = logging.getLogger()
    level = root.level
    try:
        setup_logging(_parser().parse_args(["-q", "stats"]))
        assert root.level == logging.WARNING and progress(total=3).disable
        setup_logging(_parser().parse_args(["stats", "-v"]))
        assert root.level == logging.DEBUG and not progress(total=3, file=io.StringIO()).disable
        setup_logging(_parser().parse_args(["stats"]))
        assert root.level == logging.INFO
    finally:
        root.setLevel(level)


def test_log_lines_are_written_above_the_progress_bar() -> None:
    """A line logged while a bar is drawn ends up on a line of its own, not inside the bar."""
    err = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    saved = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)

    def main(argv: object) -> int:
        with progress(total=2, desc="working", file=err) as bar:
            bar.update(1)
            logging.getLogger("stylescout.test").info("halfway there")
            bar.update(1)
        return 0

    try:
        with contextlib.redirect_stderr(err):
            assert run_cli(main, []) == 0
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    lines = err.getvalue().replace("\r", "\n").splitlines()
    assert "INFO halfway there" in lines  # whole, on its own line


def test_a_bad_count_is_refused_before_a_feed_starts_or_a_store_is_made(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = run_cli_here(
        "scraper", "scrape", "--tag", "boho", "--count", "-1", "--source", "demo",
        "--data-dir", str(data),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == "error: --count must be at least 1, not -1\n"
    assert done.stdout == "" and not data.exists()


def test_a_mistyped_source_gets_a_suggestion(tmp_path: Path) -> None:
    done = run_cli_here(
        "scraper", "scrape", "--tag", "boho", "--count", "1", "--source", "mastdon",
        "--data-dir", str(tmp_path / "data"),
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown source 'mastdon' (did you mean 'mastodon'?)" in done.stderr


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("--k must be at least 1"), 2),
        (ConfigError("config.yaml: unknown key 'x'"), 2),
        (InvalidTagError("tag '#' is empty"), 2),
        (StoreValueError("a password has at least 10 characters"), 2),
        (StoreError("the store is busy"), 3),
        (ScrapeError("the site did not answer"), 3),
        (StyleScoutError("no style index yet"), 3),
    ],
)
def test_exit_codes_say_usage_from_could_not_run(
    error: Exception, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    def main(argv: object) -> int:
        raise error

    assert run_cli(main, []) == code
    assert capsys.readouterr().err == f"error: {error}\n"


def test_asking_an_empty_store_for_a_style_could_not_run(tmp_path: Path) -> None:
    from store import Store
    from tests.conftest import jpeg_bytes

    Store(tmp_path / "data").close()
    photo = tmp_path / "me.jpg"
    photo.write_bytes(jpeg_bytes(1))
    done = run_cli_here("clustering", "recommend", str(photo), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 3 and done.stderr.startswith("error: no style index yet")


def test_a_reader_that_goes_away_ends_the_command_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`stylescout export | head`: when the pipe's reader closes, the command stops with the
    shell's code for it (141), no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as closed:
        monkeypatch.setattr(sys, "stdout", closed)

        def export(_argv: object) -> int:
            for n in range(100_000):
                print(f"row {n}")
            return 0

        assert run_cli(export, []) == 141
    assert "Traceback" not in capsys.readouterr().err
