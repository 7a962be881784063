"""Feedback that learns: a per-person linear model of what they rate well, re-ranking a pool of
candidates drawn around their Rocchio profile.

Rocchio moves one point (the profile) towards liked items and away from disliked ones, so it can
only say "more like the average of what you liked". A logistic regression on the rated items'
vectors (the person's photos count as liked) learns which directions of the space separate liked
from disliked: a colour, a cut. It needs at least one rating of each kind; before that, Rocchio
ranks alone. As in relevance-feedback work on image retrieval, the model re-ranks a candidate pool
(the `learner_pool` items nearest the profile) rather than the whole catalogue, and its score is
blended with the nearness to the profile (`blend`), which keeps the answer near the person's
style and the cost flat.
"""

from __future__ import annotations

import warnings

import numpy as np

from stylescout.settings import RecommenderConfig


def can_learn(liked: np.ndarray, disliked: np.ndarray, cfg: RecommenderConfig) -> bool:
    """Whether the learner has something to separate: a liked and a disliked item at least."""
    return cfg.learner == "logistic" and len(liked) > 0 and len(disliked) > 0


def learned_scores(
    candidates: np.ndarray,
    liked: np.ndarray,
    disliked: np.ndarray,
    cfg: RecommenderConfig,
) -> np.ndarray:
    """How much the person's model likes each candidate (higher is better), one per row."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([np.atleast_2d(liked), np.atleast_2d(disliked)]).astype(np.float64)
    y = np.concatenate([np.ones(len(liked)), np.zeros(len(disliked))])
    model = LogisticRegression(C=cfg.learner_c, class_weight="balanced", max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny samples: convergence notes say nothing useful
        model.fit(x, y)
    return model.decision_function(np.atleast_2d(candidates).astype(np.float64))


def _standardised(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def blend(learned: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """The model's score and the nearness to the profile, each standardised over the pool, in
    equal parts. From a handful of ratings the model alone over-trusts a direction (measured:
    round 2 of bench.feedback drops below Rocchio); nearness keeps the answer on the person's
    style while the model sorts within it."""
    return _standardised(learned) - _standardised(distances)
