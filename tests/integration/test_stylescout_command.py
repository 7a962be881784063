"""The `stylescout` command: one entry for every part, the version, and the parts' own CLIs."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from store import Store
from stylescout import __version__
from stylescout.command import COMMANDS, main
from tests.conftest import jpeg_bytes, meta_for
from tests.integration.helpers import run_cli_here

ROOT = Path(__file__).resolve().parents[2]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse: --help, --version, usage errors
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def test_the_installed_command_says_its_version() -> None:
    """The console script `pip install` made, in a new interpreter: the project's version."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert __version__ == declared
    script = Path(sys.executable).with_name("stylescout")
    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"stylescout {declared}")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_its_help_under_the_one_name(name: str) -> None:
    code, out, err = _run(name, "--help")
    assert code == 0, err
    assert out.startswith(f"usage: stylescout {name}")
    if name not in {"serve", "demo"}:  # those take the dashboard's own options
        assert "--config" in out and "--data-dir" in out


def test_the_command_lists_every_part_and_refuses_unknown_ones() -> None:
    code, out, _ = _run("--help")
    assert code == 0
    assert all(name in out for name in COMMANDS)
    code, _, err = _run("scrpe")
    assert code == 2 and "unknown command 'scrpe' (did you mean 'scrape'?)" in err


def test_a_command_answers_as_its_part_does(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as store:
        for seed in range(3):
            store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["boho"])
    code, out, err = _run("stats", "--json", "--data-dir", str(data))
    assert code == 0, err
    assert json.loads(out) == json.loads(
        run_cli_here("store", "stats", "--json", "--data-dir", str(data)).stdout
    )
    code, out, _ = _run("styles", "--data-dir", str(data))
    assert code == 0 and "no style index yet" in out
