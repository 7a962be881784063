"""The style space learned from tags: every tag at once, weighted, applied to untagged items."""

from __future__ import annotations

import numpy as np
import pytest

from clustering.evaluate import precision_at_k
from clustering.learned_space import image_tags, learn_space, principal_axes, project, tag_set
from stylescout.settings import LearningConfig

CFG = LearningConfig(min_images=20, min_tag_images=3, pca_dims=32, dims=16)


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectors whose two labels each live in a few of 48 dimensions, under stronger noise."""
    rng = np.random.default_rng(seed)
    kind, colour = rng.integers(0, 4, n), rng.integers(0, 3, n)
    x = rng.normal(0, 1.0, (n, 48))
    x[:, :4] += 2.0 * np.eye(4)[kind]
    x[:, 4:7] += 2.0 * np.eye(3)[colour]
    return x.astype(np.float32), kind, colour


def _tags(kind: np.ndarray, colour: np.ndarray) -> list[set[str]]:
    return [{f"kind={k}", f"#c{c}"} for k, c in zip(kind, colour, strict=True)]


def test_a_space_learned_from_both_labels_beats_the_raw_one_on_both_for_unseen_items() -> None:
    x, kind, colour = _data(600)
    learn, held = slice(0, 300), slice(300, 600)
    space = learn_space(x[learn], tag_set(_tags(kind[learn], colour[learn]), CFG), CFG)
    assert not isinstance(space, str) and space.tags == 7 and space.images == 300
    raw, learned = x[held], project(space, x[held])
    for label in (kind[held], colour[held]):
        assert precision_at_k(learned, label) > precision_at_k(raw, label) + 0.08
    assert np.allclose(np.linalg.norm(learned, axis=1), 1, atol=1e-5)


def test_tags_are_weighted_by_how_much_they_say_and_duplicates_count_once() -> None:
    tags = [{"#ootd", "kind=a" if n % 2 else "kind=b"} for n in range(40)]
    for n in range(3):
        tags[n].add("#rare")
    for n in range(3, 15):
        tags[n].add("#x")
    for n in range(40):
        tags[n].add("#a" if n % 2 else "#b")  # the same images as kind=a / kind=b
    used = tag_set(tags, CFG)
    assert "#ootd" not in used.names  # on every image: says nothing
    assert "#rare" in used.names and "#x" in used.names  # on 3 and on 12 of 40
    assert sum(name in used.names for name in ("#a", "kind=a")) == 1
    weight = dict(zip(used.names, used.weights, strict=True))
    assert weight["#rare"] > weight["#x"]
    liked = image_tags([1, 2, 3], {}, {}, {"u1": [1, 3]})
    assert liked == [{"liked:u1"}, set(), {"liked:u1"}]


def test_too_few_tagged_images_or_tags_is_said_not_learned() -> None:
    x, kind, colour = _data(60)
    few = _tags(kind, colour)[:10] + [set()] * 50
    reason = learn_space(x, tag_set(few, CFG), CFG)
    assert isinstance(reason, str) and "of the 20 needed" in reason
    one_tag = [{"#only"} if n % 2 else set() for n in range(60)]
    assert "too few tags that tell images apart" in str(learn_space(x, tag_set(one_tag, CFG), CFG))


@pytest.mark.parametrize("raw_weight", [0.0, 0.5])
def test_projection_is_the_same_one_row_at_a_time(raw_weight: float) -> None:
    x, kind, colour = _data(200, seed=1)
    cfg = CFG.model_copy(update={"raw_weight": raw_weight})
    space = learn_space(x, tag_set(_tags(kind, colour), cfg), cfg)
    assert not isinstance(space, str)
    together = project(space, x[:5])
    alone = np.vstack([project(space, x[i : i + 1]) for i in range(5)])
    assert np.allclose(together, alone, atol=1e-5)
    assert together.shape[1] == space.dims


@pytest.mark.parametrize("rows", [40, 300])  # fewer rows than dimensions, and more
def test_principal_axes_are_the_top_singular_directions(rows: int) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(rows, 60)) * np.linspace(5, 0.1, 60)  # a falling spectrum
    xc = (x - x.mean(axis=0)).astype(np.float32)
    axes, variance = principal_axes(xc, 10)
    _, s, vt = np.linalg.svd(xc.astype(np.float64), full_matrices=False)
    assert axes.shape == (60, 10)
    np.testing.assert_allclose(variance, s[:10] ** 2 / (rows - 1), rtol=1e-4)
    # the same directions up to sign, unit length and orthogonal
    np.testing.assert_allclose(np.abs(np.sum(axes * vt[:10].T, axis=0)), 1.0, atol=1e-4)
    np.testing.assert_allclose(axes.T @ axes, np.eye(10), atol=1e-4)
    assert (axes[np.abs(axes).argmax(axis=0), np.arange(10)] > 0).all()  # one sign everywhere
