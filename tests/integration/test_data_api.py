"""The dashboard's read-only JSON API: styles, a style's items, recommendations for given items,
a tag's style trends and the OpenAPI description; every bad value a 400 with one line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dash_app import create_app
from store import Store
from tests.integration.test_engine import engine_config, fill_store

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from clustering.build import build_indexes

    data = tmp_path_factory.mktemp("api") / "data"
    config = engine_config(data, min_size=2).model_copy(
        update={
            "recommender": engine_config(data).recommender.model_copy(
                update={"match_threshold": -1.0}
            )
        }
    )
    with Store(data) as store:
        fill_store(store, per_family=5)
        build_indexes(config.engine, store)
    app = create_app(config)
    yield app.server.test_client()
    app.server.extensions["stylescout"].store.close()


def test_styles_and_a_page_of_a_style(client) -> None:
    styles = client.get("/api/styles").json
    assert styles["random_weights"] is True and len(styles["styles"]) >= 2
    first = styles["styles"][0]
    assert first["number"] == 1 and first["size"] >= 1 and first["top_tags"]
    page = client.get("/api/styles/1?limit=2&offset=1").json
    assert page["name"] == first["name"] and page["offset"] == 1
    assert len(page["items"]) == min(2, first["size"] - 1)
    item = page["items"][0]
    assert item["image"] == f"/image/{item['sha256']}" and "ootd" in item["tags"]
    assert client.get(item["image"]).status_code == 200
    assert client.get("/api/styles/99").status_code == 404


def test_recommend_for_stored_items_by_id_or_hash(client) -> None:
    by_id = client.get("/api/recommend?id=3&k=4").json
    assert by_id["style"]["number"] >= 1 and len(by_id["items"]) == 4
    assert 3 not in [i["id"] for i in by_id["items"]]  # the item itself is left out
    sha = client.get("/api/styles/1?limit=1").json["items"][0]["sha256"]
    by_hash = client.get(f"/api/recommend?sha256={sha}").json
    assert len(by_hash["items"]) == 10 and all("distance" in i for i in by_hash["items"])


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/api/recommend", "give 1 to 20"),
        ("/api/recommend?id=abc", "id is an image id"),
        ("/api/recommend?id=1.5", "id is an image id"),
        ("/api/recommend?id=" + "9" * 40, "id is an image id"),
        ("/api/recommend?sha256=XYZ", "64 lower-case hex"),
        ("/api/recommend?sha256=" + "a" * 64, "no stored image"),
        ("/api/recommend?" + "&".join(["id=1"] * 21), "give 1 to 20"),
        ("/api/recommend?id=1&k=0", "k is a whole number from 1 to 100"),
        ("/api/styles/1?limit=1000", "limit is a whole number from 1 to 200"),
        ("/api/styles/1?offset=-1", "offset is a whole number"),
        ("/api/trends?tag=../x", "tag"),
        ("/api/trends?source=<script>", "source is a source's name"),
    ],
)
def test_bad_values_are_one_line_400s(client, path: str, said: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 400 and said in answer.json["error"]


def test_trends_and_the_description(client) -> None:
    trends = client.get("/api/trends?tag=ootd").json
    assert trends["tag"] == "ootd" and trends["sources"] == ["test"]
    assert len(trends["styles"]) >= 2 and all(
        len(s["posts"]) == len(trends["weeks"]) for s in trends["styles"]
    )
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.1") and "/api/recommend" in spec["paths"]
    assert {p["name"] for p in spec["paths"]["/api/recommend"]["get"]["parameters"]} == {
        "id",
        "sha256",
        "k",
    }
