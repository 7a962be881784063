"""The per-person learner: it separates what a person liked from what they did not, and only
steps in once it has both."""

from __future__ import annotations

import numpy as np

from clustering.feedback import blend, can_learn, learned_scores
from stylescout.settings import RecommenderConfig


def test_the_model_learns_a_direction_rocchio_averages_away() -> None:
    rng = np.random.default_rng(0)
    # liked items share a positive second coordinate; disliked a negative one; both spread on
    # the first, so their means are close on it and Rocchio's profile says little
    liked = np.column_stack([rng.normal(0, 1, 8), rng.normal(1, 0.2, 8)])
    disliked = np.column_stack([rng.normal(0, 1, 8), rng.normal(-1, 0.2, 8)])
    candidates = np.array([[2.0, 0.8], [2.0, -0.8], [-2.0, 0.7], [-2.0, -0.9]])
    scores = learned_scores(candidates, liked, disliked, RecommenderConfig())
    assert scores[0] > scores[1] and scores[2] > scores[3]


def test_the_learner_needs_a_rating_of_each_kind_and_can_be_switched_off() -> None:
    one, none = np.ones((1, 2)), np.zeros((0, 2))
    cfg = RecommenderConfig()
    assert cfg.learner == "logistic" and not cfg.show_rated
    assert can_learn(one, one, cfg)
    assert not can_learn(one, none, cfg) and not can_learn(none, one, cfg)
    assert not can_learn(one, one, cfg.model_copy(update={"learner": "rocchio"}))


def test_the_blend_weighs_the_model_and_the_nearness_alike() -> None:
    learned = np.array([3.0, 1.0, 2.0])
    distances = np.array([0.1, 0.2, 0.3])
    mixed = blend(learned, distances)
    assert mixed.argmax() == 0  # best by both
    assert np.isclose(mixed.mean(), 0) and np.isfinite(blend(np.ones(3), np.ones(3))).all()
