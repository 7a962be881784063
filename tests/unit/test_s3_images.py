"""The image folder on S3 (moto's server on loopback): content-addressed objects, no temp files,
reads through the folder, the check, the dashboard's image route, and the missing-extra error."""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from clustering.images import load_rgb
from dash_app import create_app
from scraper.near_duplicates import fingerprint_file
from store import Store
from store.check import check_store
from store.files import RemoteFile, open_image_folder
from stylescout.errors import StoreError
from stylescout.loader import load_config
from tests.conftest import jpeg_bytes, make_config, meta_for
from tests.s3 import KEY, SECRET, Bucket


def s3_store(data_dir: Path, bucket: Bucket) -> Store:
    return Store(data_dir, images_url=bucket.url)


def test_images_are_objects_at_content_addressed_keys_stored_once(
    data_dir: Path, s3_bucket: Bucket
) -> None:
    data = jpeg_bytes(1)
    sha = hashlib.sha256(data).hexdigest()
    with s3_store(data_dir, s3_bucket) as store:
        first = store.images.add_image_bytes(data, meta_for(1), ["boho"])
        again = store.images.add_image_bytes(data, meta_for(1, source="other"), ["hat"])
        assert first.created and not again.created and again.image_id == first.image_id
        assert isinstance(first.path, RemoteFile)
        assert str(first.path) == f"{s3_bucket.url}/{sha[:2]}/{sha}.jpg"
        assert store.images_location == s3_bucket.url
        with store.files.open(sha, "jpg") as handle:
            assert handle.read() == data
        assert store.files.size(sha, "jpg") == len(data)
        assert load_rgb(first.path).size == (64, 80)
        assert fingerprint_file(store.images.file_of(first.image_id)) is not None
        assert store.images.tags_of(first.image_id) == ["boho", "hat"]
    keys = s3_bucket.fs().find(s3_bucket.name)
    assert keys == [f"{s3_bucket.name}/images/{sha[:2]}/{sha}.jpg"]  # one object, no temp files
    assert s3_bucket.fs().cat_file(keys[0]) == data
    assert not (data_dir / "images").exists()  # nothing of the images on the local disk


def test_a_missing_bucket_is_one_line_and_no_row(data_dir: Path, s3_bucket: Bucket) -> None:
    gone = s3_bucket.url.replace(s3_bucket.name, s3_bucket.name + "-never-made", 1)
    with Store(data_dir, images_url=gone) as store:
        with pytest.raises(StoreError, match="cannot write to the image folder s3://"):
            store.images.add_image_bytes(jpeg_bytes(3), meta_for(3), ["boho"])
        assert store.stats().images == 0  # the row waits for its file


def test_credentials_and_endpoint_can_come_from_images_options(
    data_dir: Path, s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    options = {"endpoint_url": s3_bucket.endpoint, "key": KEY, "secret": SECRET}
    config = make_config(data_dir, store={"images_url": s3_bucket.url, "images_options": options})
    assert SECRET not in repr(config) and SECRET not in str(config.store)
    with Store.from_config(config) as store:
        added = store.images.add_image_bytes(jpeg_bytes(2), meta_for(2))
        assert store.files.exists(added.sha256, "jpg")
        assert SECRET not in store.images_location + str(added.path)


def test_the_environment_overrides_images_url(
    data_dir: Path, s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYLESCOUT_IMAGES_URL", s3_bucket.url)
    with Store.from_config(load_config(data_dir=data_dir)) as store:
        store.images.add_image_bytes(jpeg_bytes(3), meta_for(3))
    assert len(s3_bucket.fs().find(s3_bucket.name)) == 1


def test_check_notices_a_missing_object_and_removes_orphans(
    data_dir: Path, s3_bucket: Bucket
) -> None:
    with s3_store(data_dir, s3_bucket) as store:
        kept = store.images.add_image_bytes(jpeg_bytes(1), meta_for(1))
        gone = store.images.add_image_bytes(jpeg_bytes(2), meta_for(2))
        assert check_store(store).clean
        fs = s3_bucket.fs()
        fs.rm_file(f"{s3_bucket.name}/images/{gone.sha256[:2]}/{gone.sha256}.jpg")
        orphan = "ab" * 32
        fs.pipe_file(f"{s3_bucket.name}/images/ab/{orphan}.jpg", b"an object with no row")
        fs.pipe_file(f"{s3_bucket.name}/images/ab/notes.txt", b"not an image name")

        report = check_store(store, repair=True)
        assert report.missing == [gone.sha256] and not report.corrupt and not report.clean
        assert report.files == 2 and "removed 1 image files with no row" in report.repaired
        assert not fs.exists(f"{s3_bucket.name}/images/ab/{orphan}.jpg")
        assert store.files.exists(kept.sha256, "jpg")


def test_dashboard_serves_images_and_thumbnails_from_s3(
    data_dir: Path, s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = jpeg_bytes(4, size=(400, 500))
    with s3_store(data_dir, s3_bucket) as store:
        sha = store.images.add_image_bytes(data, meta_for(4, width=400, height=500)).sha256
    monkeypatch.setenv("STYLESCOUT_IMAGES_URL", s3_bucket.url)
    client = create_app(load_config(data_dir=data_dir)).server.test_client()
    full = client.get(f"/image/{sha}")
    assert full.status_code == 200 and full.mimetype == "image/jpeg" and full.data == data
    assert "immutable" in full.headers["Cache-Control"] and full.headers["ETag"] == f'"{sha}"'
    thumb = client.get(f"/thumb/160/{sha}")
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.data)).width == 160
    assert client.get(f"/image/{'0' * 64}").status_code == 404


@pytest.mark.parametrize("absent", ["fsspec", "s3fs"])
def test_an_s3_folder_without_the_extra_names_make_setup_scale(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, absent: str
) -> None:
    """The default install has neither fsspec nor s3fs; either one missing is one clear line."""
    if absent == "fsspec":
        monkeypatch.setitem(sys.modules, "fsspec", None)
        monkeypatch.setitem(sys.modules, "fsspec.core", None)
    else:
        monkeypatch.setitem(sys.modules, "s3fs", None)
        registry = pytest.importorskip("fsspec.registry")
        monkeypatch.delitem(registry._registry, "s3", raising=False)  # its class, once loaded
    with pytest.raises(StoreError, match=r"make setup-scale") as caught:
        open_image_folder(data_dir, "s3://bucket/images")
    assert "\n" not in str(caught.value)


def test_the_default_folder_and_a_local_path_stay_local(data_dir: Path, tmp_path: Path) -> None:
    assert open_image_folder(data_dir).root == data_dir / "images"  # type: ignore[attr-defined]
    other = tmp_path / "elsewhere"
    assert open_image_folder(data_dir, str(other)).root == other  # type: ignore[attr-defined]
    with pytest.raises(StoreError, match="images_options"):
        open_image_folder(data_dir, None, {"key": "x"})
