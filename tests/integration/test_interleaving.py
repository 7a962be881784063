"""Two backbones served at once: Discover's list interleaves both indexes' items (team draft),
each rating is credited to the model that placed the item, and Feedback says who is preferred."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clustering.build import build_indexes
from clustering.interleave import compare_online
from clustering.query import Photo, answer
from dash_app import create_app
from dash_app.recommend import recommend
from dash_app.web import inputs
from dash_app.web.context import get_context
from dash_app.web.inputs import ItemPhoto, UploadPhoto
from store import Store
from stylescout.errors import ConfigError
from stylescout.settings import Config
from tests.conftest import jpeg_bytes, make_config, meta_for

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast

FEATURES = {"input_size": 32, "weights": "none", "batch_size": 8}
USER = "u" + "1" * 32


def _config(data_dir: Path, enabled: bool = True) -> Config:
    return make_config(
        data_dir,
        features=FEATURES,
        clustering={"n_styles": 3, "min_size": 2},
        recommender={"interleave": {"enabled": enabled, "challenger": "densenet121"}},
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    """A store of 40 images with the main (ResNet50) and the challenger's (DenseNet121) index."""
    data_dir = tmp_path_factory.mktemp("interleave") / "data"
    config = _config(data_dir)
    with Store(data_dir) as store:
        for seed in range(40):
            store.images.add_image_bytes(
                jpeg_bytes(seed, (96, 120)), meta_for(seed), [f"t{seed % 3}"]
            )
        reports = build_indexes(config.engine, store)
    assert [r.model_key.split("-")[0] for r in reports] == ["resnet50", "densenet121"]
    yield config


def _text(component: object) -> str:
    """All the text of a Dash component tree."""
    if isinstance(component, str | int | float):
        return str(component)
    children = getattr(component, "children", None)
    if children is None:
        return ""
    if not isinstance(children, list):
        children = [children]
    return " ".join(_text(c) for c in children)


def test_the_list_mixes_both_models_and_each_rating_is_credited(built: Config) -> None:
    app = create_app(built)
    from dash_app.pages.discover import save_rating  # page modules: after an app exists
    from dash_app.pages.feedback import layout as feedback_layout

    with app.server.test_request_context("/"):
        ctx = get_context()
        main, challenger = ctx.engine.loaded(), ctx.engine.challenger()
        assert challenger is not None and challenger.index.meta.model_key.startswith("densenet")
        photos = inputs.photos([{"kind": "item", "id": 3, "sha256": "a" * 64}], 10)
        rec = recommend(ctx.engine, photos, USER)
        shown = [card.image_id for card in rec.items]
        assert rec.interleaved and len(shown) == 10 == len(set(shown))

        query = [Photo.item(3)]
        cfg = built.recommender
        top_a = answer(main.index, main.recommender, ctx.engine.embedder, ctx.store, query)
        top_b = answer(
            challenger.index,
            challenger.recommender,
            ctx.engine.challenger_embedder,
            ctx.store,
            query,
            cfg=cfg,
        )
        ids_a = [n.image_id for n in top_a.neighbours]
        ids_b = [n.image_id for n in top_b.neighbours]
        assert ids_a != ids_b  # two models, two rankings: the mix is not one of them
        credited = {}
        for image_id in shown:
            impression, model = ctx.store.ratings.impression_credit(USER, image_id)
            credited[image_id] = model
            assert image_id in (ids_a if model == main.index.meta.model_key else ids_b)
        assert set(credited.values()) == {
            main.index.meta.model_key,
            challenger.index.meta.model_key,
        }
        # team draft: the two models placed 5 items each in a list of 10
        assert sorted(list(credited.values()).count(m) for m in set(credited.values())) == [5, 5]

        again = recommend(ctx.engine, photos, USER)  # the page re-rendered: the same list
        assert [c.image_id for c in again.items] == shown
        assert ctx.store.ratings.impression_credit(USER, shown[0])[0] == impression

        key_b = challenger.index.meta.model_key
        liked_b = next(i for i in shown if credited[i] == key_b)
        other_a = next(i for i in shown if credited[i] != key_b)
        assert "saved" in save_rating(liked_b, 5, USER)
        assert "saved" in save_rating(other_a, 2, USER)
        last = ctx.store.ratings.ratings_history()[-2:]
        assert [r["model_key"] for r in last] == [key_b, main.index.meta.model_key]
        assert {r["query_kind"] for r in last} == {"interleaved"}
        assert last[0]["impression_id"] == impression

        (comparison,) = compare_online(ctx.store.ratings.interleaved_ratings())
        assert (comparison.model_a, comparison.model_b) == (main.index.meta.model_key, key_b)
        assert comparison.ratings == 2 and comparison.lists == 1
        assert (comparison.preference.a_wins, comparison.preference.b_wins) == (0, 1)
        page = _text(feedback_layout())
        assert "Models compared online" in page
        assert (
            "A won 0 and B 1 of 1 lists with a winner" in page
            and "from 2 ratings on 1 rated list:" in page
        )

        # the next list (after the ratings) is a new impression; its ratings are its own
        after = recommend(ctx.engine, photos, USER)
        assert liked_b not in [c.image_id for c in after.items]  # rated items are left out
        assert ctx.store.ratings.impression_credit(USER, after.items[0].image_id)[0] > impression


def test_the_cli_gives_the_interleaved_list_the_dashboard_shows(
    built: Config, tmp_path: Path
) -> None:
    """One serving engine: `recommend --user` mixes both models' items as Discover does."""
    import base64
    import json

    import yaml

    from dash_app.recommend import uploads_folder
    from dash_app.web.uploads import accept_upload
    from tests.integration.helpers import run_cli_here

    person = "u" + "3" * 32
    photo = tmp_path / "mine.jpg"  # a photo of the person's, not in the store
    photo.write_bytes(jpeg_bytes(4321, (96, 120)))
    loose = built.recommender.model_copy(update={"match_threshold": -1.0})  # random weights
    built = built.model_copy(update={"recommender": loose})
    settings = built.model_dump(mode="json", include={"features", "clustering", "recommender"})
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump({"data_dir": str(built.data_dir), **settings}))
    done = run_cli_here(
        "clustering",
        "recommend",
        str(photo),
        "--json",
        "--user",
        person,
        "--config",
        str(config_file),
    )
    assert done.returncode == 0, done.stderr
    cli = json.loads(done.stdout)
    app = create_app(built)
    with app.server.test_request_context("/"):
        ctx = get_context()
        data_url = "data:image/jpeg;base64," + base64.b64encode(photo.read_bytes()).decode()
        upload = accept_upload(data_url, uploads_folder(ctx.store), 10**7, 10**8)
        rec = recommend(ctx.engine, [UploadPhoto(kind="upload", sha256=upload.sha256)], person)
        shown = [card.image_id for card in rec.items]
        assert (cli["interleaved"], rec.interleaved, len(shown)) == (True, True, 10), rec.message
        assert [row["id"] for row in cli["items"]] == shown
        credits = [ctx.store.ratings.impression_credit(person, i) for i in shown]
    assert len({model for _, model in credits}) == 2  # both models placed items in the list


def test_interleaving_is_off_by_default_and_the_challenger_must_differ(
    built: Config, tmp_path: Path
) -> None:
    off = built.model_copy(
        update={"recommender": built.recommender.model_copy(update={"interleave": _off()})}
    )
    app = create_app(off)
    from dash_app.pages.feedback import layout as feedback_layout

    with app.server.test_request_context("/"):
        ctx = get_context()
        assert ctx.engine.challenger() is None
        rec = recommend(ctx.engine, [ItemPhoto(kind="item", id=5, sha256="a" * 64)], "u" + "2" * 32)
        assert not rec.interleaved and len(rec.items) == 10
        assert ctx.store.ratings.impression_credit("u" + "2" * 32, rec.items[0].image_id) is None
        assert "Off. Set recommender.interleave.enabled: true" in _text(feedback_layout())
    assert not make_config(tmp_path / "d").recommender.interleave.enabled
    with pytest.raises(ConfigError, match="the main backbone too"):
        make_config(
            tmp_path / "d",
            recommender={"interleave": {"enabled": True, "challenger": "resnet50"}},
        )


def _off() -> object:
    from stylescout.settings import InterleaveConfig

    return InterleaveConfig(enabled=False)
