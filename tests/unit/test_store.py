from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from store import ImageMeta, Store
from store.check import check_store
from store.database import open_database
from store.schema import MIGRATIONS, SCHEMA_VERSION
from stylescout.errors import StoreError
from tests.conftest import jpeg_bytes, meta_for, run_sql


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def store(any_store: Store) -> Store:
    """Every test of the store runs on SQLite and on PostgreSQL."""
    return any_store


def test_database_settings(store: Store) -> None:
    assert store.db.schema_version() == SCHEMA_VERSION
    if store.db.dialect == "sqlite":
        assert store.db.row("PRAGMA journal_mode")[0] == "wal"
        assert store.db.row("PRAGMA foreign_keys")[0] == 1
        assert store.db.row("PRAGMA busy_timeout")[0] == 10_000
    else:
        assert store.db.row("SHOW lock_timeout")[0] == "10s"
        assert "***" not in store.location and "postgresql://" in store.location


def test_image_is_content_addressed(store: Store, data_dir: Path) -> None:
    data = jpeg_bytes(1)
    result = store.images.add_image_bytes(
        data, meta_for(1, likes=5, posted_at="2026-10-01T12:00:00+02:00"), ["#Boho", "dress"]
    )
    sha = hashlib.sha256(data).hexdigest()
    assert result.created and result.sha256 == sha
    assert result.path == data_dir / "images" / sha[:2] / f"{sha}.jpg"
    assert result.path.read_bytes() == data
    row = store.images.image(result.image_id)
    assert row is not None
    assert (row["bytes"], row["width"], row["height"], row["format"]) == (len(data), 64, 80, "JPEG")
    assert row["posted_at"] == "2026-10-01T10:00:00Z"
    assert row["tags"] == ["boho", "dress"]
    assert not list((data_dir / "images" / "tmp").iterdir())


def test_same_bytes_twice_is_a_no_op_that_merges_tags(store: Store) -> None:
    first = store.images.add_image_bytes(jpeg_bytes(2), meta_for(2), ["boho"])
    again = store.images.add_image_bytes(
        jpeg_bytes(2), meta_for(2, source="other"), ["hat", "boho"]
    )
    assert not again.created and again.image_id == first.image_id
    assert store.images.tags_of(first.image_id) == ["boho", "hat"]
    assert store.stats().images == 1
    assert store.images.image(first.image_id)["source"] == "test"
    assert len(list(first.path.parent.iterdir())) == 1


@pytest.mark.parametrize(
    ("data", "meta", "message"),
    [
        (b"", meta_for(3), "empty"),
        (jpeg_bytes(3), meta_for(3, format="TIFF"), "not stored"),
        (jpeg_bytes(3), meta_for(3, width=0), "rejected"),
        (jpeg_bytes(3), meta_for(3, posted_at="yesterday"), "ISO 8601"),
    ],
)
def test_bad_images_are_refused_and_leave_nothing(
    store: Store, data_dir: Path, data: bytes, meta: ImageMeta, message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        store.images.add_image_bytes(data, meta)
    assert store.stats().images == 0
    assert not list((data_dir / "images" / "tmp").iterdir())
    assert check_store(store).clean


def test_post_urls_and_near_duplicates(store: Store) -> None:
    store.images.add_image_bytes(jpeg_bytes(4), meta_for(4, phash="ff00ff00ff00ff00"))
    other = store.images.add_image_bytes(jpeg_bytes(5), meta_for(5, phash="0000000000000000"))
    assert store.images.has_post_url("http://127.0.0.1/p/4")
    assert not store.images.has_post_url("http://127.0.0.1/p/999")
    assert store.images.perceptual_hashes().near("0000000000000003", 4) == [(other.image_id, 2)]
    assert store.images.perceptual_hashes().near("ffffffffffffffff", 3) == []


def test_reposts_are_recorded_against_the_image_they_show(store: Store) -> None:
    original = store.images.add_image_bytes(jpeg_bytes(6), meta_for(6, likes=3), ["boho"])
    repost = meta_for(60, likes=40, posted_at="2026-11-02T09:00:00Z", source="demo")
    assert store.images.add_post(original.image_id, repost, ["boho", "summer"])
    assert not store.images.add_post(
        original.image_id, repost, ["boho"]
    )  # one post is recorded once
    same_bytes = store.images.add_image_bytes(jpeg_bytes(6), meta_for(61), ["boho"])  # another post
    assert not same_bytes.created
    assert store.images.add_image_bytes(jpeg_bytes(6), meta_for(6, post_url=None)).created is False
    posts = store.images.posts_of(original.image_id)
    assert [p["post_url"] for p in posts] == [
        "http://127.0.0.1/p/6",
        "http://127.0.0.1/p/60",
        "http://127.0.0.1/p/61",
    ]
    assert posts[1]["likes"] == 40 and posts[1]["posted_at"] == "2026-11-02T09:00:00Z"
    assert store.images.tags_of(original.image_id) == ["boho", "summer"]
    assert store.images.post_status("http://127.0.0.1/p/6") == "image"
    assert store.images.post_status("http://127.0.0.1/p/60") == "repost"
    assert store.images.post_status("http://127.0.0.1/p/62") is None
    assert store.stats().images == 1 and store.stats().posts == 3
    times = store.images.post_times("boho")
    assert [i for i, _ in times] == [original.image_id] * 3  # trends count every post
    assert "2026-11-02T09:00:00Z" in [t for _, t in times]
    lonely = store.images.add_image_bytes(jpeg_bytes(7), meta_for(7, likes=500))
    assert store.ratings.popular_images(2) == [
        original.image_id,
        lonely.image_id,
    ]  # most reposted first
    with pytest.raises(StoreError):
        store.images.add_post(999, repost)


def test_a_store_from_before_posts_gets_one_post_per_image(
    data_dir: Path, store_url: str | None
) -> None:
    data_dir.mkdir()
    db = open_database(store_url, data_dir, 10_000)
    db.migrate(MIGRATIONS[:3])
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO images (sha256, bytes, width, height, format, source, post_url,"
            " posted_at, likes, added_at) VALUES (?, 10, 1, 1, 'JPEG', 'demo', 'http://x/p/1',"
            " '2026-10-01T00:00:00Z', 7, '2026-11-01T00:00:00Z')",
            ("a" * 64,),
        )
    db.close()
    with Store(data_dir, url=store_url) as store:
        assert store.images.posts_of(1) == [
            {
                "source": "demo",
                "post_url": "http://x/p/1",
                "posted_at": "2026-10-01T00:00:00Z",
                "likes": 7,
                "author": None,
                "author_url": None,
                "licence": None,
                "added_at": "2026-11-01T00:00:00Z",
            }
        ]
        assert store.images.post_status("http://x/p/1") == "image"


def test_each_post_keeps_its_credit_and_the_image_its_first(store: Store) -> None:
    credit = {"author": "ana", "author_url": "https://x.example/@ana", "licence": "CC-BY-4.0"}
    first = store.images.add_image_bytes(jpeg_bytes(11), meta_for(11, **credit), ["boho"])
    repost = meta_for(12, author="ben", licence="all-rights-reserved")
    assert store.images.add_post(first.image_id, repost)
    assert [
        (p["author"], p["author_url"], p["licence"]) for p in store.images.posts_of(first.image_id)
    ] == [
        ("ana", "https://x.example/@ana", "CC-BY-4.0"),
        ("ben", None, "all-rights-reserved"),
    ]
    card = store.images.cards([first.image_id])[first.image_id]
    assert {k: card[k] for k in credit} == credit
    plain = store.images.add_image_bytes(jpeg_bytes(13), meta_for(13))
    card = store.images.cards([plain.image_id])[plain.image_id]
    assert (card["author"], card["author_url"], card["licence"]) == (None, None, None)


def test_a_store_from_before_credits_opens_and_takes_them(
    data_dir: Path, store_url: str | None
) -> None:
    data_dir.mkdir()
    db = open_database(store_url, data_dir, 10_000)
    db.migrate(MIGRATIONS[:9])  # the schema before the credit columns
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO images (sha256, bytes, width, height, format, source, post_url,"
            " added_at) VALUES (?, 10, 1, 1, 'JPEG', 'demo', 'http://x/p/1',"
            " '2026-11-01T00:00:00Z')",
            ("b" * 64,),
        )
        tx.execute(
            "INSERT INTO posts (image_id, source, post_url, added_at)"
            " VALUES (1, 'demo', 'http://x/p/1', '2026-11-01T00:00:00Z')"
        )
    db.close()
    with Store(data_dir, url=store_url) as store:
        assert store.db.schema_version() == SCHEMA_VERSION
        [post] = store.images.posts_of(1)
        assert (post["post_url"], post["author"], post["licence"]) == ("http://x/p/1", None, None)
        assert store.images.cards([1])[1]["author"] is None
        new = store.images.add_image_bytes(jpeg_bytes(3), meta_for(3, author="cy", licence="PDM"))
        assert store.images.cards([new.image_id])[new.image_id]["licence"] == "PDM"


def test_scrape_runs(store: Store) -> None:
    run = store.runs.start_run("boho", "demo", 50)
    store.runs.finish_run(run, "completed", added=40, duplicates=8, failed_by_reason={"timeout": 2})
    [recorded] = store.runs.recent()
    assert (recorded["status"], recorded["added"], recorded["failed"]) == ("completed", 40, 2)
    assert recorded["failed_by_reason"] == {"timeout": 2}
    with pytest.raises(StoreError):
        store.runs.finish_run(run, "exploded", 0, 0)


def test_runs_of_dead_processes_become_interrupted(store: Store) -> None:
    run = store.runs.start_run("boho", "demo", 10)
    run_sql(store, "UPDATE scrape_runs SET pid = ? WHERE id = ?", (dead_pid(), run))
    live = store.runs.start_run("hat", "demo", 10)
    elsewhere = store.runs.start_run("hat", "demo", 10)  # another machine on a shared store
    run_sql(
        store,
        "UPDATE scrape_runs SET pid = ?, host = 'another-machine' WHERE id = ?",
        (dead_pid(), elsewhere),
    )
    assert store.runs.mark_abandoned_runs() == 1
    statuses = {r["id"]: r["status"] for r in store.runs.recent()}
    assert statuses == {run: "interrupted", live: "running", elsewhere: "running"}


def test_ratings(store: Store) -> None:
    image = store.images.add_image_bytes(jpeg_bytes(6), meta_for(6)).image_id
    store.ratings.add_rating(
        "user-0001", image, 2, model_key="resnet50", style="boho", query_kind="upload"
    )
    store.ratings.add_rating("user-0001", image, 5)
    assert store.ratings.latest_ratings("user-0001") == {image: 5}
    stats = store.stats()
    assert (stats.users, stats.ratings) == (1, 2)
    for bad in (0, 6, 2.5):
        with pytest.raises(StoreError, match="1 to 5"):
            store.ratings.add_rating("user-0001", image, bad)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="no such image"):
        store.ratings.add_rating("user-0001", 999, 3)
    with pytest.raises(StoreError, match="user id"):
        store.ratings.add_rating("../../x", image, 3)


def test_interleaved_lists_credit_each_rating_to_the_model_that_placed_the_item(
    store: Store,
) -> None:
    ids = [store.images.add_image_bytes(jpeg_bytes(s), meta_for(s)).image_id for s in range(20, 24)]
    user, models = "user-0002", ("resnet50-x", "densenet121-x")
    first = store.ratings.record_impression(
        user, models, [(ids[0], "a"), (ids[1], "b"), (ids[2], "a")]
    )
    same = store.ratings.record_impression(
        user, models, [(ids[0], "a"), (ids[1], "b"), (ids[2], "a")]
    )
    assert same == first  # a page shown again is not a new list
    assert store.ratings.impression_credit(user, ids[1]) == (first, "densenet121-x")
    assert store.ratings.impression_credit(user, ids[3]) is None  # never shown mixed
    assert store.ratings.impression_credit("user-0003", ids[1]) is None  # shown to someone else
    second = store.ratings.record_impression(user, models, [(ids[3], "b"), (ids[1], "a")])
    assert second > first and store.ratings.impression_credit(user, ids[1]) == (
        second,
        "resnet50-x",
    )
    store.ratings.add_rating(user, ids[0], 5, impression_id=first)
    store.ratings.add_rating(user, ids[0], 2, impression_id=first)  # changed: the latest counts
    store.ratings.add_rating(user, ids[3], 4, impression_id=second)
    store.ratings.add_rating(user, ids[2], 4)  # not in an interleaved list: not part of it
    rows = store.ratings.interleaved_ratings()
    assert [(r["impression_id"], r["image_id"], r["team"], r["rating"]) for r in rows] == [
        (first, ids[0], "a", 2),
        (second, ids[3], "b", 4),
    ]
    with pytest.raises(StoreError, match="'a' or 'b'"):
        store.ratings.record_impression(user, models, [(ids[0], "c")])
    with pytest.raises(StoreError, match="cannot record"):
        store.ratings.record_impression(user, models, [(999, "a")])
    assert check_store(store).clean


def test_what_the_learned_space_reads_labels_and_liked_items(store: Store) -> None:
    ids = [
        store.images.add_image_bytes(
            jpeg_bytes(s), meta_for(s), labels={"kind": f"k{s % 2}"}
        ).image_id
        for s in range(30, 33)
    ]
    store.images.add_image_bytes(jpeg_bytes(33), meta_for(33), labels={"colour": "Navy Blue"})
    assert store.images.label_columns() == ["colour", "kind"]
    assert store.images.labels_by_image()[ids[1]] == {"kind": "k1"}
    store.ratings.add_rating("user-0004", ids[0], 5)
    store.ratings.add_rating("user-0004", ids[1], 4)
    store.ratings.add_rating("user-0004", ids[1], 2)  # changed its mind: no longer liked
    store.ratings.add_rating("user-0005", ids[2], 1)
    assert store.ratings.liked_by_user() == {"user-0004": [ids[0]]}


def test_stats(store: Store) -> None:
    for seed in range(3):
        store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["boho", f"t{seed}"])
    stats = store.stats()
    assert (stats.images, stats.tags, stats.tagged) == (3, 4, 3)
    assert stats.top_tags[0] == ("boho", 3)
    assert stats.sources == {"test": 3}


def test_forward_migration_keeps_data(data_dir: Path, store_url: str | None) -> None:
    with Store(data_dir, url=store_url) as opened:
        opened.images.add_image_bytes(jpeg_bytes(7), meta_for(7), ["boho"])
    db = open_database(store_url, data_dir, 10_000)
    extra = (*MIGRATIONS, "ALTER TABLE images ADD COLUMN note TEXT;")
    assert db.migrate(extra) == SCHEMA_VERSION + 1
    assert tuple(db.row("SELECT count(*), max(note) FROM images")) == (1, None)
    db.close()
    with pytest.raises(StoreError, match="newer StyleScout"):
        Store(data_dir, url=store_url)


def test_concurrent_writers_in_threads(store: Store) -> None:
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for seed in range(offset, offset + 25):
                store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["boho"])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i * 1000,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.stats().images == 100
    assert check_store(store).clean


def test_perceptual_hash_table_is_read_once_and_kept_current(store: Store) -> None:
    first = store.images.add_image_bytes(jpeg_bytes(8), meta_for(8, phash="00000000000000ff"))
    table = store.images.perceptual_hashes()
    assert len(table) == 1 and table.near("00000000000000fe", 2) == [(first.image_id, 1)]
    table.add(99, "ffffffffffffffff")
    assert table.near("fffffffffffffffe", 1) == [(99, 1)]
    assert store.images.perceptual_hashes().near("fffffffffffffffe", 1) == []  # this scrape's view


def test_features_are_cached_replaced_and_read_back_in_order(store: Store) -> None:
    ids = [store.images.add_image_bytes(jpeg_bytes(s), meta_for(s)).image_id for s in range(6)]
    key = "model-x"
    assert [i for i, _ in store.features.images_without_features(key)] == ids
    vectors = np.arange(24, dtype=np.float32).reshape(6, 4)
    store.features.save_features(key, ids[::-1], vectors[::-1])  # any order in
    store.features.save_feature_failures(key, {ids[5]: "unreadable"})  # a failure replaces
    store.features.save_features(key, [ids[0]], vectors[:1] + 100)  # a vector replaces
    got_ids, got = store.features.load_features(key)
    assert list(got_ids) == ids[:5]  # id order out
    np.testing.assert_array_equal(got, np.vstack([vectors[:1] + 100, vectors[1:5]]))
    assert store.features.feature_failures(key) == {ids[5]: "unreadable"}
    assert store.features.images_without_features(key) == []
    assert store.features.load_features("other")[1].shape == (0, 0)


def test_many_feature_rows_are_read_in_batches(store: Store) -> None:
    rows = [(f"{i:064x}", i) for i in range(1, 5001)]
    with store.db.transaction() as tx:
        tx.executemany(
            "INSERT INTO images (id, sha256, bytes, width, height, format, source, added_at)"
            " VALUES (?, ?, 1, 1, 1, 'JPEG', 'test', '2026-12-01T00:00:00Z')",
            [(i, sha) for sha, i in rows],
        )
    vectors = np.random.default_rng(0).normal(size=(5000, 3)).astype(np.float32)
    store.features.save_features("m", [i for _, i in rows], vectors)
    ids, got = store.features.load_features("m")  # more rows than one batch (4,096)
    assert list(ids) == list(range(1, 5001))
    np.testing.assert_array_equal(got, vectors)
