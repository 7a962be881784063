from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from store import Store
from store.check import check_store
from stylescout.errors import StoreError
from tests.conftest import jpeg_bytes, meta_for, run_sql


@pytest.fixture
def store(any_store: Store) -> Store:
    """Every check runs on SQLite and on PostgreSQL."""
    return any_store


def add(store: Store, seed: int) -> Path:
    return store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed)).path


def test_clean_store(store: Store) -> None:
    add(store, 1)
    report = check_store(store)
    assert report.clean and report.rows == 1 and report.files == 1
    assert "OK" not in " ".join(report.lines())  # the CLI adds the verdict


def test_missing_and_corrupt_files_are_reported_not_repaired(store: Store) -> None:
    missing, corrupt = add(store, 1), add(store, 2)
    missing.unlink()
    corrupt.write_bytes(b"not the original bytes")
    report = check_store(store, repair=True)
    assert not report.clean
    assert len(report.missing) == 1 and len(report.corrupt) == 1
    assert any("kept" in line for line in report.lines())


def test_orphans_are_reported_and_repaired(store: Store, data_dir: Path) -> None:
    add(store, 1)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    stale = data_dir / "images" / "tmp" / f"{proc.pid}-{'0' * 32}.part"
    stale.write_bytes(b"half a download")
    ours = store.files.new_temp_path()  # a live writer's temp file is not an orphan
    ours.write_bytes(b"in progress")
    sha = "ab" * 32
    unreferenced = data_dir / "images" / "ab" / f"{sha}.jpg"
    unreferenced.parent.mkdir(exist_ok=True)
    unreferenced.write_bytes(b"file with no row")
    run = store.runs.start_run("boho", "demo", 5)
    run_sql(store, "UPDATE scrape_runs SET pid = ? WHERE id = ?", (proc.pid, run))

    report = check_store(store)
    assert not report.clean
    assert report.stale_temps == [stale]
    assert report.unreferenced == [unreferenced]
    assert report.abandoned_runs == 1

    repaired = check_store(store, repair=True)
    assert len(repaired.repaired) == 3
    assert not stale.exists() and not unreferenced.exists() and ours.exists()
    assert check_store(store).clean


def test_opening_the_store_recovers_what_stopped_writers_left(
    data_dir: Path, store_url: str | None
) -> None:
    with Store(data_dir, url=store_url) as store:
        add(store, 1)
        run = store.runs.start_run("boho", "demo", 5)
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        run_sql(store, "UPDATE scrape_runs SET pid = ? WHERE id = ?", (proc.pid, run))
        stale = data_dir / "images" / "tmp" / f"{proc.pid}-{'1' * 32}.part"
        stale.write_bytes(b"half a download")
    with Store(data_dir, url=store_url) as reopened:
        assert len(reopened.recovered) == 2
        assert not stale.exists()
        assert reopened.runs.recent()[0]["status"] == "interrupted"
        assert check_store(reopened).clean


def test_a_sqlite_store_copies_into_postgresql_with_every_id(
    data_dir: Path, postgres_cluster: object
) -> None:
    from store.copy import copy_database

    url = postgres_cluster.database()  # type: ignore[attr-defined]
    with Store(data_dir) as source:
        first = source.images.add_image_bytes(
            jpeg_bytes(1), meta_for(1), ["boho"], {"articleType": "Shirts"}
        )
        add(source, 2)
        source.images.add_post(first.image_id, meta_for(1, post_url="http://127.0.0.1/p/again"))
        source.features.save_features("m", [first.image_id], np.ones((1, 3), np.float32))
        source.ratings.add_rating("u" * 16, first.image_id, 5, model_key="m")
        impression = source.ratings.record_impression("u" * 16, ("a", "b"), [(first.image_id, "a")])
        source.ratings.add_rating("u" * 16, first.image_id, 4, impression_id=impression)
        source.accounts.add("ana", "correct horse battery")
        run = source.runs.start_run("boho", "demo", 2)
        source.runs.finish_run(run, "completed", 2, 0)
        with Store(data_dir, url=url) as target:
            counts = copy_database(source.db, target.db)
            assert counts["images"] == 2 and counts["ratings"] == 2 and counts["posts"] == 3
            assert target.stats() == source.stats()
            assert target.ratings.ratings_history() == source.ratings.ratings_history()
            assert target.images.labels_by_image() == source.images.labels_by_image()
            np.testing.assert_array_equal(target.features.load_features("m")[1], np.ones((1, 3)))
            assert target.ratings.interleaved_ratings() == source.ratings.interleaved_ratings()
            assert check_store(target).clean
            assert target.accounts.sign_in("ana", "correct horse battery").ok
            third = target.images.add_image_bytes(jpeg_bytes(3), meta_for(3))
            assert third.image_id == 3  # new ids continue after the copied ones
            assert target.runs.start_run("x", "demo", 1) == run + 1
            with pytest.raises(StoreError, match="not empty"):
                copy_database(source.db, target.db)
