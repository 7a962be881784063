"""`python -m clustering recommend` and the dashboard answer the same photos the same way: one query
path (clustering.query), the same style and the same items, with and without ratings."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from dash_app import create_app
from dash_app.recommend import recommend, uploads_folder
from dash_app.web.context import get_context
from dash_app.web.inputs import UploadPhoto
from dash_app.web.uploads import accept_upload
from store import Store
from tests.integration.helpers import run_cli_here
from tests.integration.test_engine import FAMILIES, family_image, fill_store

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast

USER = "u" + "cd" * 16


def _cli(config_file: Path, photo: Path, *extra: str) -> dict:
    result = run_cli_here(  # the command's own main; a new process would only add start-up
        "clustering", "recommend", str(photo), "--json", "--config", str(config_file), *extra
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _dashboard(config_file: Path, photo: Path, user: str | None) -> tuple[str | None, list[int]]:
    from stylescout.loader import load_config

    app = create_app(load_config(config_file))
    with app.server.test_request_context("/"):
        ctx = get_context()
        data_url = "data:image/jpeg;base64," + base64.b64encode(photo.read_bytes()).decode()
        upload = accept_upload(data_url, uploads_folder(ctx.store), 10**7, 10**8)
        rec = recommend(ctx.engine, [UploadPhoto(kind="upload", sha256=upload.sha256)], user)
        ctx.store.close()
    return (rec.style.name if rec.style else None), [item.image_id for item in rec.items]


@pytest.mark.slow
def test_the_cli_and_the_dashboard_give_the_same_style_and_items(
    data_dir: Path, tmp_path: Path
) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        f"data_dir: {data_dir}\nfeatures:\n  input_size: 64\n  weights: none\n"
        "  colour:\n    weight: 0.5\n"  # not the default: both must take the index's weight
        "clustering:\n  n_styles: 4\n  min_size: 3\nrecommender:\n  match_threshold: -1\n"
    )
    with Store(data_dir) as store:
        fill_store(store)
    assert run_cli_here("clustering", "build", "--config", str(config_file)).returncode == 0
    # after the build the config's colour weight changes: the index's own weight is used
    config_file.write_text(config_file.read_text().replace("weight: 0.5", "weight: 0.9"))

    new_photo = tmp_path / "mine.jpg"  # not in the store
    new_photo.write_bytes(family_image(*FAMILIES["bluedots"], seed=4242))
    with Store(data_dir) as stored:
        [(stored_id, stored_photo)] = stored.images.image_files(
            [5]
        )  # in the store: left out by both

    for photo in (new_photo, stored_photo):
        cli = _cli(config_file, photo)
        for row in cli["items"]:  # what a person needs to take an item away
            assert Path(row["file"]).is_file() and row["file"].endswith(row["sha256"] + ".jpg")
            assert {"post_url", "source", "posted_at", "tags"} <= set(row)
        style, items = _dashboard(config_file, photo, None)
        assert cli["style"] == style and style is not None
        assert [row["id"] for row in cli["items"]] == items and len(items) == 10
    assert stored_id not in items

    with Store(data_dir) as store:  # the same ratings shape both the same way
        first = _cli(config_file, new_photo)["items"]
        store.ratings.add_rating(USER, first[0]["id"], 1)
        store.ratings.add_rating(USER, first[-1]["id"], 5)
    rated = _cli(config_file, new_photo, "--user", USER)
    style, items = _dashboard(config_file, new_photo, USER)
    assert rated["disliked"] == 1 and rated["liked"] == 1
    assert [row["id"] for row in rated["items"]] == items and first[0]["id"] not in items
