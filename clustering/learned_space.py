"""A style space learned from what the store knows: every image's hashtags, its imported labels
and people's ratings, all at once.

The descriptor (backbone + colour) is fixed; what a "same style" means is in the tags. A linear
discriminant projection learned from one label sharpens that label and forgets the others, so
this learns from every tag together: multi-label linear discriminant analysis (Wang, Ding and
Huang, "Multi-label linear discriminant analysis", ECCV 2010), each tag weighted by how much it
says (its inverse document frequency: a tag on a third of the store, like #ootd, says little;
tags on more than `max_tag_share` of the tagged images and tags on fewer than `min_tag_images`
are not used). Ratings count as weak tags: the items one person liked form one.

Fitted on the tagged images (after a PCA of the descriptor, which keeps it fast and well
conditioned), applied to every image, tagged or not: `project` maps a descriptor into the space.
The learned coordinates are joined to the raw PCA coordinates at weight `raw_weight`, so what the
tags do not cover is not lost, and to the descriptor's own colour part at its own weight: a linear
projection learned from many type-like tags (article, category, gender...) and a few colour ones
trades colour away, and keeping the colour histogram beside it is what makes the learned space
beat the raw one on every label column at once (docs/explanation/benchmarks.md,
"The learned style space").
scikit-learn's LinearDiscriminantAnalysis takes one label per sample, hence the scatter matrices
are built here (a few matrix products) and solved with SciPy.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh

from stylescout.settings import LearningConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearnedSpace:
    """The projection: x → unit([raw_weight · unit(z), unit(lda(z / scale)), colour_weight ·
    unit(x's last colour_dims)]), z = pca(x)."""

    centre: np.ndarray  # (d,) float32
    pca: np.ndarray  # (d, p) float32: the principal directions of the tagged descriptors
    scale: np.ndarray  # (p,) float32: their standard deviations (the LDA works whitened)
    lda: np.ndarray  # (p, r) float32
    raw_weight: float
    colour_dims: int  # the descriptor's colour part, kept beside (0: not kept)
    colour_weight: float
    images: int  # tagged images it was fitted on
    tags: int  # tags (after weighting and de-duplication) it was fitted on

    @property
    def dims(self) -> int:
        raw = self.pca.shape[1] if self.raw_weight > 0 else 0
        return int(self.lda.shape[1] + raw + (self.colour_dims if self.colour_weight > 0 else 0))

    def key(self) -> str:
        """Identifies this projection (part of the index's model key)."""
        digest = hashlib.sha256(self.pca.tobytes() + self.lda.tobytes()).hexdigest()[:8]
        colour = f"c{self.colour_weight:g}" if self.colour_dims and self.colour_weight > 0 else ""
        return f"learned{self.lda.shape[1]}r{self.raw_weight:g}{colour}-{digest}"


@dataclass(frozen=True)
class TagSet:
    """Tags as a sparse image × tag incidence: per tag, the rows of the images that carry it."""

    rows: list[np.ndarray]
    names: list[str]
    weights: np.ndarray  # (t,) informativeness
    tagged: np.ndarray  # (n,) bool: the image carries at least one used tag


def group_of(tag: str) -> str:
    """A tag's kind: "articleType" for `articleType=Shirts`, "#" for `#boho`, "liked"."""
    if tag.startswith("#"):
        return "#"
    if tag.startswith("liked:"):
        return "liked"
    return tag.split("=", 1)[0] if "=" in tag else "#"


def image_tags(
    ids: Sequence[int],
    hashtags: Mapping[int, Iterable[str]],
    labels: Mapping[int, Mapping[str, str]],
    liked: Mapping[str, Iterable[int]],
) -> list[set[str]]:
    """Each image's tags from every source: hashtags (`#boho`), label columns
    (`articleType=Shirts`) and, per person, the items they liked (`liked:<user>`)."""
    out = [set() for _ in ids]
    position = {int(i): n for n, i in enumerate(ids)}
    for image_id, tags in hashtags.items():
        if (n := position.get(int(image_id))) is not None:
            out[n].update(f"#{t}" for t in tags)
    for image_id, columns in labels.items():
        if (n := position.get(int(image_id))) is not None:
            out[n].update(f"{c}={v}" for c, v in columns.items() if v)
    for user, items in liked.items():
        for image_id in items:
            if (n := position.get(int(image_id))) is not None:
                out[n].add(f"liked:{user}")
    return out


def tag_set(tags: Sequence[set[str]], cfg: LearningConfig) -> TagSet:
    """The tags worth learning from, weighted: rare enough to say something, common enough to
    learn from; two tags on exactly the same images count once (an imported column is often
    also a hashtag)."""
    members: dict[str, list[int]] = defaultdict(list)
    for n, image_tags_ in enumerate(tags):
        for tag in image_tags_:
            members[tag].append(n)
    tagged = sum(1 for t in tags if t)
    seen: set[bytes] = set()
    rows, names, weights = [], [], []
    # a label column's tag before an identical hashtag: the column says what kind of tag it is
    for tag in sorted(members, key=lambda t: (t.startswith("#"), t)):
        where = np.asarray(members[tag], dtype=np.int64)
        if len(where) < cfg.min_tag_images or len(where) > cfg.max_tag_share * max(tagged, 1):
            continue
        fingerprint = hashlib.sha256(where.tobytes()).digest()
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        weight = math.log(tagged / len(where))
        if tag.startswith("liked:"):
            weight *= cfg.rating_weight
        rows.append(where)
        names.append(tag)
        weights.append(weight)
    used = np.zeros(len(tags), bool)
    for where in rows:
        used[where] = True
    return TagSet(rows, names, np.asarray(weights, np.float64), used)


def learn_space(
    vectors: np.ndarray,
    tags: TagSet,
    cfg: LearningConfig,
    colour_dims: int = 0,
    colour_weight: float = 0.0,
) -> LearnedSpace | str:
    """The projection learned from the tagged rows of `vectors`, or why there is none.
    `colour_dims`: how many of the last dimensions are the descriptor's colour part (kept beside
    the learned part at `colour_weight` when `cfg.keep_colour`)."""
    n_tagged = int(tags.tagged.sum())
    if len(tags.names) < 2:
        return (
            f"too few tags that tell images apart: {len(tags.names)} (a tag counts when it is on "
            f"{cfg.min_tag_images} or more images and on at most {cfg.max_tag_share:.0%} of them)"
        )
    if n_tagged < cfg.min_images:
        return (
            f"too few tagged images to learn from: {n_tagged} of the {cfg.min_images} needed "
            "(features.learning.min_images)"
        )
    x = vectors[tags.tagged].astype(np.float32)
    local = np.full(len(tags.tagged), -1, np.int64)
    local[tags.tagged] = np.arange(n_tagged)
    members = [local[where] for where in tags.rows]
    raw_weight, kept = cfg.raw_weight, (colour_weight if cfg.keep_colour and colour_dims else 0.0)
    if cfg.tune_weights and n_tagged >= 50:
        raw_weight, kept = _choose_weights(
            x, members, tags.names, tags.weights, cfg, colour_dims, colour_weight
        )
    space = _fit(x, members, tags.weights, cfg)
    return LearnedSpace(
        **space,
        raw_weight=raw_weight,
        colour_dims=colour_dims if kept > 0 else 0,
        colour_weight=kept,
        images=n_tagged,
        tags=len(tags.names),
    )


def principal_axes(xc: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """The top `p` principal axes (d, p) of centred rows `xc` and the variance along each.

    Exact, from the smaller of the two Gram matrices (d x d, or n x n when there are fewer rows
    than dimensions) and SciPy's `eigh` of only the top `p` eigenpairs: as fast as a randomized
    SVD at the sizes a store has, with no seed, and without importing scikit-learn, which alone
    took 1.9 s of a 3.4 s index build here. Signs are fixed (largest entry positive) so the
    same rows give the same axes on every machine.
    """
    n, d = xc.shape
    gram_rows = n < d
    gram = (xc @ xc.T if gram_rows else xc.T @ xc).astype(np.float64)
    size = len(gram)
    values, vectors = eigh(gram, subset_by_index=[size - p, size - 1])
    values, vectors = np.maximum(values[::-1], 0.0), vectors[:, ::-1]
    if gram_rows:  # rows' axes -> the descriptor's: V = X^T U / s
        vectors = (xc.T.astype(np.float64) @ vectors) / np.sqrt(np.maximum(values, 1e-24))
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(p)])
    vectors *= np.where(signs == 0, 1.0, signs)
    return vectors.astype(np.float32), values / max(n - 1, 1)


def _fit(
    x: np.ndarray, members: list[np.ndarray], weights: np.ndarray, cfg: LearningConfig
) -> dict[str, np.ndarray]:
    """PCA of the rows, then the multi-label discriminant directions in its whitened space."""
    centre = x.mean(axis=0)
    p = int(min(cfg.pca_dims, x.shape[1], len(x) - 1))
    basis, variance = principal_axes((x - centre).astype(np.float32), p)  # (d, p)
    scale = np.sqrt(np.maximum(variance, 1e-12)).astype(np.float32)
    z = ((x - centre) @ basis / scale).astype(np.float64)  # whitened: every direction equal
    lda = _multi_label_lda(z, members, weights, cfg)
    return {
        "centre": centre.astype(np.float32),
        "pca": basis,
        "scale": scale,
        "lda": lda.astype(np.float32),
    }


RAW_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
COLOUR_SHARES = (0.0, 0.5, 1.0, 1.5)  # of the descriptor's own colour weight


def _choose_weights(
    x: np.ndarray,
    members: list[np.ndarray],
    names: list[str],
    weights: np.ndarray,
    cfg: LearningConfig,
    colour_dims: int,
    colour_weight: float,
) -> tuple[float, float]:
    """The raw part's and the colour part's weights that keep same-tag images nearest, judged
    on a fifth of the tagged images (at most 2,000) held out of a fit on the rest: how much of
    the descriptor to keep beside the learned part is learned from the tags too. The choice
    (`no_kind_loses`) is the best gain on average over the raw descriptor among those where no
    kind of tag (a label column, the hashtags, the ratings) loses, so none is traded away for
    another; `all_tags` counts every tag alike."""
    rng = np.random.default_rng(cfg.seed)
    check = np.sort(rng.choice(len(x), size=min(2000, max(10, len(x) // 5)), replace=False))
    fit_rows = np.setdiff1d(np.arange(len(x)), check)
    position = np.full(len(x), -1, np.int64)
    position[fit_rows] = np.arange(len(fit_rows))
    fit_members = [position[m[position[m] >= 0]] for m in members]
    space = _fit(x[fit_rows], fit_members, weights, cfg)
    incidence = np.zeros((len(x), len(members)), np.float32)
    for t, m in enumerate(members):
        incidence[m, t] = 1.0
    truth = incidence[check]
    groups = sorted(set(map(group_of, names)))
    columns = {g: np.array([group_of(n) == g for n in names]) for g in groups}

    def by_group(near: np.ndarray) -> np.ndarray:
        return np.array(
            [tag_precision(near, truth[:, columns[g]], weights[columns[g]]) for g in groups]
        )

    raw_scores = by_group(nearest(x[check]))
    colours = COLOUR_SHARES if colour_dims and colour_weight > 0 else (0.0,)
    best, chosen = (-np.inf, -np.inf), (cfg.raw_weight, 0.0)
    for raw in RAW_WEIGHTS:
        for share in colours:
            trial = LearnedSpace(
                **space,
                raw_weight=raw,
                colour_dims=colour_dims,
                colour_weight=share * colour_weight,
                images=0,
                tags=0,
            )
            near = nearest(project(trial, x[check]))  # once per trial, for either objective
            if cfg.objective == "no_kind_loses":  # the best on average where none loses
                gain = by_group(near) - raw_scores
                score = (min(float(gain.min()), 0.0), float(gain.mean()))
            else:  # every tag alike: the kinds with the most tags count most
                score = (tag_precision(near, truth, weights), 0.0)
            if score > best:
                best, chosen = score, (raw, share * colour_weight)
    log.info(
        "learned space: raw part %.2f, colour part %.2f (score %+.3f, %+.3f)",
        *chosen,
        *best,
    )
    return chosen


def nearest(vectors: np.ndarray, k: int = 10) -> np.ndarray:
    """(n, k) rows of each row's k nearest others (cosine)."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    k = min(k, len(vectors) - 1)
    return np.argpartition(-sims, k, axis=1)[:, :k]


def tag_precision(near: np.ndarray, incidence: np.ndarray, weights: np.ndarray) -> float:
    """Of each image's tags (weighted), the share its nearest others (`near`) carry too."""
    weighted = incidence * weights.astype(np.float32)
    overlap = weighted @ incidence.T  # (n, n): the weight of the tags i shares with j
    shared = np.take_along_axis(overlap, near, axis=1).sum(axis=1) / near.shape[1]
    return float(shared.sum() / max(weighted.sum(), 1e-12))


def _multi_label_lda(
    z: np.ndarray, members: list[np.ndarray], weights: np.ndarray, cfg: LearningConfig
) -> np.ndarray:
    """(p, r) directions that spread the tags' means apart against their spread within."""
    p = z.shape[1]
    zc = z - z.mean(axis=0)
    between = np.zeros((p, p))
    per_row = np.zeros(len(z))  # sum of the weights of each row's tags
    for rows, weight in zip(members, weights, strict=True):
        if len(rows) == 0:
            continue
        mean = zc[rows].mean(axis=0)
        between += weight * len(rows) * np.outer(mean, mean)
        per_row[rows] += weight
    within = (zc * per_row[:, None]).T @ zc - between  # sum_t w_t sum_i (z_i - m_t)(z_i - m_t)^T
    # few images for many dimensions: the within scatter is mostly noise, so it is shrunk more
    shrink = max(cfg.shrinkage, min(1.0, p / len(z)))
    within = (1 - shrink) * within + shrink * np.trace(within) / p * np.eye(p)
    values, vectors = eigh(between, within)
    order = np.argsort(values)[::-1][: min(cfg.dims, len(members), p)]
    keep = values[order] > 1e-9
    directions = vectors[:, order[keep]]
    # scaled by how well each direction separates the tags: the strong ones dominate distances
    return directions * np.sqrt(values[order[keep]] / (1 + values[order[keep]]))


def project(space: LearnedSpace, vectors: np.ndarray) -> np.ndarray:
    """Descriptors (n, d) as unit vectors of the learned space."""
    z = (vectors.astype(np.float32) - space.centre) @ space.pca
    learned = _unit((z / space.scale) @ space.lda)
    parts = [learned]
    if space.raw_weight > 0:
        parts.insert(0, space.raw_weight * _unit(z))
    if space.colour_dims and space.colour_weight > 0:
        parts.append(space.colour_weight * _unit(vectors[:, -space.colour_dims :]))
    return _unit(np.hstack(parts)).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
