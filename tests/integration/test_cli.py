from __future__ import annotations

import json
from pathlib import Path

import pytest

from store import Store
from tests.conftest import jpeg_bytes, meta_for
from tests.integration.helpers import run_cli, run_cli_here


@pytest.mark.parametrize("package", ["store", "scraper", "clustering", "dash_app"])
def test_every_package_has_a_cli_with_the_common_options(package: str) -> None:
    result = run_cli(package, "--help")
    assert result.returncode == 0, result.stderr
    assert "--config" in result.stdout and "--data-dir" in result.stdout


@pytest.mark.parametrize("package", ["store", "scraper", "clustering", "dash_app"])
def test_config_errors_are_one_line_and_exit_2(package: str, tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("demo_feed:\n  prot: 1\n")
    args = ["stats"] if package in {"store", "clustering"} else []
    args = ["demo-feed"] if package == "scraper" else args
    result = run_cli(package, "--config", str(bad), *args)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown key 'demo_feed.prot'" in result.stderr and str(bad) in result.stderr


def test_store_stats_and_check(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as store:
        for seed in range(4):
            store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["boho", "hat"])
    stats = run_cli_here("store", "--data-dir", str(data), "stats", "--json")
    assert stats.returncode == 0
    assert json.loads(stats.stdout)["images"] == 4
    human = run_cli_here("store", "--data-dir", str(data), "stats")
    assert "images: 4" in human.stdout and "#boho 4" in human.stdout
    check = run_cli_here("store", "--data-dir", str(data), "check")
    assert check.returncode == 0 and "OK: the store is consistent" in check.stdout

    (data / "images" / "ab").mkdir(exist_ok=True)
    (data / "images" / "ab" / f"{'ab' * 32}.jpg").write_bytes(b"orphan")
    noted = run_cli_here("store", "--data-dir", str(data), "check")
    assert noted.returncode == 0 and "note: image files with no row (harmless): 1" in noted.stdout
    repaired = run_cli_here("store", "--data-dir", str(data), "check", "--repair")
    assert "removed 1 image files with no row" in repaired.stdout
    assert run_cli_here("store", "--data-dir", str(data), "check").returncode == 0


def test_store_copy_moves_the_rows_to_postgresql(tmp_path: Path, postgres_cluster: object) -> None:
    data = tmp_path / "data"
    with Store(data) as store:
        for seed in range(3):
            store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["boho"])
    url = postgres_cluster.database()  # type: ignore[attr-defined]
    copied = run_cli_here("store", "--data-dir", str(data), "copy", "--to", url)
    assert copied.returncode == 0, copied.stderr
    assert "images 3" in copied.stdout and "set store.url" in copied.stdout
    env = {"STYLESCOUT_STORE_URL": url}
    stats = run_cli_here("store", "--data-dir", str(data), "stats", "--json", env=env)
    assert json.loads(stats.stdout)["images"] == 3
    again = run_cli_here("store", "--data-dir", str(data), "copy", "--to", url)
    assert again.returncode == 3 and "not empty" in again.stderr  # could not run
    assert again.stderr.strip().count("\n") == 0


def test_store_users_adds_lists_and_removes_accounts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = run_cli_here(
        "store", "--data-dir", str(data), "users", "add", "ana", "--password-stdin",
        stdin="correct horse battery\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added account ana" in added.stdout
    listed = run_cli_here("store", "--data-dir", str(data), "users", "list")
    assert listed.stdout.split() == ["ana"]
    short = run_cli_here(
        "store", "--data-dir", str(data), "users", "add", "bob", "--password-stdin", stdin="x\n"
    )
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    with Store(data) as store:
        assert store.accounts.sign_in("ana", "correct horse battery").ok
    removed = run_cli_here("store", "--data-dir", str(data), "users", "remove", "ana")
    assert removed.returncode == 0 and "removed account ana" in removed.stdout


def test_clustering_status_reports_an_empty_store(tmp_path: Path) -> None:
    Store(tmp_path / "data").close()
    result = run_cli_here("clustering", "--data-dir", str(tmp_path / "data"), "stats")
    assert result.returncode == 0, result.stderr
    assert "no style index yet" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ("store", "stats"),
        ("store", "check"),
        ("store", "users", "list"),
        ("clustering", "styles"),
        ("clustering", "evaluate"),
        ("dash_app",),
    ],
)
def test_reading_commands_refuse_a_store_that_is_not_there(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """A mistyped --data-dir is one line naming it; no empty store is made there."""
    typo = tmp_path / "dta"
    package, *rest = command
    result = run_cli_here(package, "--data-dir", str(typo), *rest)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: no store at {typo}: give the --data-dir of an existing store (or set data_dir);"
        " a scrape or an import makes a new one"
    )
    assert not typo.exists()


SUBCOMMANDS = [
    ("store", "check"),
    ("store", "stats"),
    ("scraper", "scrape"),
    ("scraper", "import"),
    ("scraper", "demo-feed"),
    ("clustering", "build"),
    ("clustering", "recommend"),
    ("clustering", "evaluate"),
    ("clustering", "styles"),
]


@pytest.mark.parametrize(("package", "command"), SUBCOMMANDS)
def test_subcommand_help_is_well_formed_and_takes_the_common_options(
    package: str, command: str
) -> None:
    # the parser's own output, so in this process: how `python -m` starts is checked above
    result = run_cli_here(package, command, "--help")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"usage: python -m {package} {command}")
    assert result.stdout.endswith("\n") and not result.stderr
    assert "--config" in result.stdout and "--data-dir" in result.stdout
    assert lines[lines.index("") + 1].endswith(".")  # a description under the usage


def test_common_options_work_after_the_subcommand_too(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as store:
        store.images.add_image_bytes(jpeg_bytes(1), meta_for(1), ["boho"])
    after = run_cli_here("store", "stats", "--json", "--data-dir", str(data))
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["images"] == 1
    both = run_cli_here(
        "store", "--data-dir", str(tmp_path / "other"), "stats", "--data-dir", str(data)
    )
    assert "images: 1" in both.stdout  # the one after the subcommand wins
    before = run_cli_here("store", "--data-dir", str(data), "stats", "-v")
    assert "images: 1" in before.stdout  # one before is not reset by the subcommand
    bad = tmp_path / "config.yaml"
    bad.write_text("demo_feed:\n  prot: 1\n")
    scrape = run_cli_here(
        "scraper", "scrape", "--tag", "boho", "--count", "5", "--config", str(bad)
    )
    assert scrape.returncode == 2 and "unknown key 'demo_feed.prot'" in scrape.stderr


@pytest.mark.model
def test_build_takes_weights_on_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = tmp_path / "config.yaml"
    config.write_text(
        "features:\n  input_size: 32\n  weights: imagenet\nclustering:\n  n_styles: 2\n"
        "  min_size: 1\n"
    )
    with Store(data) as store:
        for seed in range(6):
            store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["boho"])
    built = run_cli_here(
        "clustering", "build", "--weights", "none", "--config", str(config), "--data-dir", str(data)
    )
    assert built.returncode == 0, built.stderr
    assert "resnet50-random7v2-32pad-max" in built.stdout and "RANDOM weights" in built.stdout
    missing = run_cli(
        "clustering", "build", "--weights", str(tmp_path / "no.h5"), "--data-dir", str(data)
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr
