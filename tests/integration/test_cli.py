from __future__ import annotations

import json
from pathlib import Path

import pytest

from store import Store
from tests.conftest import jpeg_bytes, meta_for
from tests.integration.helpers import run_cli


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
            store.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["boho", "hat"])
    stats = run_cli("store", "--data-dir", str(data), "stats", "--json")
    assert stats.returncode == 0
    assert json.loads(stats.stdout)["images"] == 4
    human = run_cli("store", "--data-dir", str(data), "stats")
    assert "images: 4" in human.stdout and "#boho 4" in human.stdout
    check = run_cli("store", "--data-dir", str(data), "check")
    assert check.returncode == 0 and "OK: the store is consistent" in check.stdout

    (data / "images" / "ab").mkdir(exist_ok=True)
    (data / "images" / "ab" / f"{'ab' * 32}.jpg").write_bytes(b"orphan")
    noted = run_cli("store", "--data-dir", str(data), "check")
    assert noted.returncode == 0 and "note: image files with no row (harmless): 1" in noted.stdout
    repaired = run_cli("store", "--data-dir", str(data), "check", "--repair")
    assert "removed 1 image files with no row" in repaired.stdout
    assert run_cli("store", "--data-dir", str(data), "check").returncode == 0


def test_clustering_status_reports_an_empty_store(tmp_path: Path) -> None:
    result = run_cli("clustering", "--data-dir", str(tmp_path / "data"), "stats")
    assert result.returncode == 0, result.stderr
    assert "no style index yet" in result.stdout
