"""Is a downloaded image a copy of one already stored? A perceptual hash finds candidates fast; a
comparison of small colour thumbnails confirms them.

A 64-bit pHash within a few bits says "same layout", not "same photo": product shots on white,
flat-lays of one style and colourways of one garment all hash close together, and merging them
loses a photo. So a candidate counts as the same photo only when 16×16 colour thumbnails agree, at
the best of a few crops (reposts are often cut a little at the edges): on average over the subject
(colour matters: a colourway differs everywhere on the garment) and everywhere locally (a print
or a logo differs in a few cells; a detail smaller than about a cell, 1/16 of the side, can go
unseen). The thresholds were set on the demo feed's reposts and fashion-small-dev's look-alike
products (figures in docs/explanation/benchmarks.md).
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np
from PIL import Image
from scipy.ndimage import uniform_filter

from store import Store
from store.files import StoredFile, image_source
from store.records import PerceptualHashes

log = logging.getLogger(__name__)

SIDE = 16  # thumbnail side in cells
CROPS = tuple(i / 200 for i in range(9))  # 0 to 4 % cut from every side
BACKGROUND = 235  # cells brighter than this in every channel are studio background, not subject
MAX_MEAN_DIFF = 4.0  # mean |ΔRGB| (0-255) over the subject
MAX_LOCAL_DIFF = 14.0  # largest mean |ΔRGB| over any 3×3 cells
_CACHE = 4096  # stored images' fingerprints kept per scrape


def fingerprint(img: Image.Image) -> np.ndarray:
    """(len(CROPS), 3, SIDE, SIDE) float32: the image as colour thumbnails, one per crop."""
    rgb = img.convert("RGB")
    factor = min(rgb.size) // (4 * SIDE)
    if factor > 1:  # a cheap integer reduction first; the thumbnails average what is left
        rgb = rgb.reduce(factor)
    w, h = rgb.size
    views = [
        np.asarray(
            rgb.resize((SIDE, SIDE), Image.BOX, box=(c * w, c * h, w - c * w, h - c * h)),
            np.float32,
        )
        for c in CROPS
    ]
    return np.ascontiguousarray(np.stack(views).transpose(0, 3, 1, 2))


def _subject(views: np.ndarray) -> np.ndarray:
    """(..., SIDE, SIDE) bool: cells darker than the background in some channel."""
    return (
        (views[..., 0, :, :] < BACKGROUND)
        | (views[..., 1, :, :] < BACKGROUND)
        | (views[..., 2, :, :] < BACKGROUND)
    )


def differences(a: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For fingerprint `a` against each of `others` (m, crops, 3, SIDE, SIDE): the mean difference
    over the subject and the largest local difference, at the best-aligned crop; two (m,) arrays.

    A crop of either image is compared with the other one whole, so the order of arrival does not
    matter."""
    crops, m = len(a), len(others)
    x = np.concatenate([a, np.repeat(a[:1], crops - 1, axis=0)])  # (pairs, 3, S, S)
    y = np.concatenate([np.repeat(others[:, :1], crops, axis=1), others[:, 1:]], axis=1)
    gap = np.abs(x[None] - y)  # (m, pairs, 3, S, S)
    diff = (gap[:, :, 0] + gap[:, :, 1] + gap[:, :, 2]) / 3  # (m, pairs, S, S)
    subject = (_subject(x)[None] | _subject(y)).reshape(m, len(x), -1)
    flat = diff.reshape(m, len(x), -1)
    cells = subject.sum(axis=2)
    blank = cells < 4  # a blank picture: compare all of it
    mean = np.where(blank, flat.mean(axis=2), (flat * subject).sum(axis=2) / np.maximum(cells, 1))
    local = uniform_filter(diff, size=(1, 1, 3, 3), mode="nearest").reshape(m, len(x), -1)
    local = local.max(axis=2)
    best = np.argmin(np.maximum(mean / MAX_MEAN_DIFF, local / MAX_LOCAL_DIFF), axis=1)
    rows = np.arange(m)
    return mean[rows, best], local[rows, best]


def same_photos(a: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(m,) bool: which of `others` show the same photo as `a` (resized, re-encoded, cropped)."""
    mean, local = differences(a, others)
    return (mean < MAX_MEAN_DIFF) & (local < MAX_LOCAL_DIFF)


def same_photo(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two fingerprints show the same photo."""
    return bool(same_photos(a, b[None])[0])


def fingerprint_file(path: StoredFile | str) -> np.ndarray | None:
    """The fingerprint of a stored image file, or None when it cannot be read."""
    try:
        with image_source(path) as source, Image.open(source) as img:
            return fingerprint(img)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        log.info("cannot fingerprint %s: %s", path, exc)
        return None


class NearDuplicates:
    """The store's images as near-duplicate candidates during one scrape.

    Hashes are read from the store once and kept current; a stored image's fingerprint is computed
    from its file only when it is a candidate, and kept."""

    def __init__(self, store: Store, max_bits: int) -> None:
        self.store = store
        self.max_bits = max_bits
        self.hashes = store.images.perceptual_hashes() if max_bits else PerceptualHashes()
        self._prints: OrderedDict[int, np.ndarray | None] = OrderedDict()

    def find(self, phash: str, print_: np.ndarray) -> int | None:
        """The stored image this one is a copy of, or None."""
        if not self.max_bits:
            return None
        candidates = [
            (image_id, other)
            for image_id, _ in self.hashes.near(phash, self.max_bits)
            if (other := self._fingerprint_of(image_id)) is not None
        ]
        if not candidates:
            return None
        same = same_photos(print_, np.stack([other for _, other in candidates]))
        hits = np.flatnonzero(same)
        return candidates[int(hits[0])][0] if len(hits) else None  # the nearest hash first

    def add(self, image_id: int, phash: str, print_: np.ndarray) -> None:
        """A newly stored image becomes a candidate for the ones that follow."""
        self.hashes.add(image_id, phash)
        self._keep(image_id, print_)

    def _fingerprint_of(self, image_id: int) -> np.ndarray | None:
        if image_id in self._prints:
            self._prints.move_to_end(image_id)
            return self._prints[image_id]
        path = self.store.images.file_of(image_id)
        print_ = fingerprint_file(path) if path is not None else None
        self._keep(image_id, print_)
        return print_

    def _keep(self, image_id: int, print_: np.ndarray | None) -> None:
        self._prints[image_id] = print_
        while len(self._prints) > _CACHE:
            self._prints.popitem(last=False)
