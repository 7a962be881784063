"""What a photo's garment looks like, from the image alone: its region, its shape, its colour.

Random-weight convolutions (the descriptor offline, without ImageNet weights) see colour and
texture but hardly shape, and a whole-image colour histogram counts the background and the skin
with the garment. These blocks look at the garment itself:

- **the mask**: the background estimated from the image's border (its median CIE Lab colour
  and spread); pixels far from it are the garment, closed, opened and hole-filled with OpenCV's
  morphology. Product photos on a studio background separate cleanly; for busy backgrounds
  (social photos) `grabcut=True` refines it with OpenCV's GrabCut, seeded by the border as
  background and the first guess as probable foreground. Too small a region means the whole
  image.
- **shape**: HOG (OpenCV's) of the mask and of the grey image inside it, each cropped to the
  mask's box and padded square (so position and size do not count, aspect does), with Hu
  moments, aspect, fill and area of the mask.
- **colour**: a histogram of the garment's pixels (skin tones left out when enough remain) over
  a palette of CIE Lab colours spaced a few ΔE apart, each pixel shared among the palette
  colours near it (a Gaussian of `sigma` ΔE), so navy and blue, beige and white fall in
  different but neighbouring bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from PIL import Image

from stylescout.settings import GarmentConfig

SIDE = 128  # the long side the blocks are computed at: a garment's outline, not its stitches
HOG_SIDE = 64
MIN_REGION = 0.02  # a mask smaller than this share of the image is no garment: use it all
MAX_COLOUR_PIXELS = 1500  # pixels sampled for the colour histogram


@dataclass(frozen=True)
class GarmentBlocks:
    """One image's blocks: `mask` (bool, SIDE-scaled), `mask_hog`, `grey_hog`, `geometry`
    (Hu moments, log aspect, fill, area) and `colour` (square-rooted palette histogram)."""

    mask: np.ndarray
    mask_hog: np.ndarray
    grey_hog: np.ndarray
    geometry: np.ndarray
    colour: np.ndarray


def small_rgb(img: Image.Image, side: int = SIDE) -> np.ndarray:
    """The image as an RGB uint8 array with its long side at most `side`."""
    rgb = img.convert("RGB")
    if max(rgb.size) > side:
        rgb = rgb.copy()
        rgb.thumbnail((side, side))
    return np.asarray(rgb, dtype=np.uint8)


def garment_mask(rgb: np.ndarray, grabcut: bool = False) -> np.ndarray:
    """The garment's pixels (bool, the image's shape): far in CIE Lab from the border's colour,
    cleaned by morphology and hole filling; with `grabcut`, refined by GrabCut."""
    h, w = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    edge = max(1, min(h, w) // 40)
    sides = (lab[:edge], lab[-edge:], lab[:, :edge], lab[:, -edge:])
    border = np.concatenate([side.reshape(-1, 3) for side in sides])
    background = np.median(border, axis=0)
    spread = float(np.percentile(np.linalg.norm(border - background, axis=1), 90))
    found = np.linalg.norm(lab - background, axis=2) > max(12.0, 2.5 * spread)
    if grabcut:
        found = _grabcut(rgb, found, edge)
    region = found.astype(np.uint8)
    region = cv2.morphologyEx(region, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    region = cv2.morphologyEx(region, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    region = _fill_holes(region)
    if region.sum() < MIN_REGION * h * w:
        return np.ones((h, w), bool)
    return region.astype(bool)


def _grabcut(rgb: np.ndarray, guess: np.ndarray, edge: int) -> np.ndarray:
    """GrabCut seeded by the border (background) and `guess` (probable foreground); where the
    border's colour finds next to nothing (a busy background), by a centre prior instead: the
    middle of the picture, where a photo of a garment puts it."""
    h, w = guess.shape
    if guess.sum() < MIN_REGION * h * w:
        guess = np.zeros_like(guess)
        guess[h // 8 : h - h // 8, w // 6 : w - w // 6] = True
    seeds = np.where(guess, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    seeds[:edge], seeds[-edge:], seeds[:, :edge], seeds[:, -edge:] = (cv2.GC_BGD,) * 4
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(
            cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), seeds, None, *models, 3, cv2.GC_INIT_WITH_MASK
        )
    except cv2.error:  # one colour everywhere: nothing to model
        return guess
    return (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)


def _fill_holes(region: np.ndarray) -> np.ndarray:
    """`region` with every hole (background not reachable from the border) filled."""
    h, w = region.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = region
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1)
    return region | (flood[1:-1, 1:-1] == 0).astype(np.uint8)


@cache
def _hog() -> cv2.HOGDescriptor:
    # non-overlapping 16-pixel blocks: 576 numbers, within 0.02 of overlapping ones' 1,764
    return cv2.HOGDescriptor((HOG_SIDE, HOG_SIDE), (16, 16), (16, 16), (8, 8), 9)


def _square(channel: np.ndarray, fill: int) -> np.ndarray:
    """`channel` padded square with `fill` around it, at HOG_SIDE pixels."""
    h, w = channel.shape
    side = max(h, w)
    out = np.full((side, side), fill, np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    out[top : top + h, left : left + w] = channel
    return cv2.resize(out, (HOG_SIDE, HOG_SIDE), interpolation=cv2.INTER_AREA)


def shape_blocks(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(HOG of the mask, HOG of the grey garment on white, geometry) of the mask's box."""
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    region = mask[y0:y1, x0:x1].astype(np.uint8) * 255
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[y0:y1, x0:x1]
    grey = np.where(region > 0, grey, 255).astype(np.uint8)
    hog = _hog()
    mask_hog = hog.compute(_square(region, 0)).ravel()
    grey_hog = hog.compute(_square(grey, 255)).ravel()
    hu = cv2.HuMoments(cv2.moments(region, binaryImage=True)).ravel()
    hu = -np.sign(hu) * np.log10(np.abs(hu) + 1e-30) / 10  # log scale, about -1..1
    box = (x1 - x0) * (y1 - y0)
    geometry = [np.log((x1 - x0) / (y1 - y0)), mask.sum() / box, mask.mean()]
    return (
        mask_hog.astype(np.float32),
        grey_hog.astype(np.float32),
        np.concatenate([hu, geometry]).astype(np.float32),
    )


@cache
def lab_palette(step_l: float = 15.0, step_ab: float = 18.0) -> np.ndarray:
    """CIE Lab colours (L 0-100, a and b about -128-127) spaced `step_l` / `step_ab` apart,
    only those inside the sRGB gamut."""
    axis = np.linspace(0, 255, 16)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 1, 3)
    lab = cv2.cvtColor(grid.astype(np.uint8), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    lab = _lab_units(lab)
    steps = np.array([step_l, step_ab, step_ab], np.float32)
    return (np.unique(np.round(lab / steps), axis=0) * steps).astype(np.float32)


def _lab_units(lab: np.ndarray) -> np.ndarray:
    """OpenCV's 8-bit Lab (L scaled to 0-255, a and b offset by 128) in CIE units."""
    out = lab.astype(np.float32).copy()
    out[:, 0] *= 100.0 / 255.0
    out[:, 1:] -= 128.0
    return out


def skin(rgb: np.ndarray) -> np.ndarray:
    """Skin-toned pixels (a fixed YCrCb range): counted out of the garment's colour."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1], ycc[..., 2]
    return (cr >= 138) & (cr <= 173) & (cb >= 77) & (cb <= 127)


def colour_block(rgb: np.ndarray, mask: np.ndarray, sigma: float = 10.0) -> np.ndarray:
    """Square-rooted histogram of the garment's pixels over `lab_palette()`, each pixel shared
    among the palette colours within a few `sigma` ΔE; skin left out when enough remains."""
    garment = mask & ~skin(rgb)
    if garment.sum() < 0.25 * mask.sum():
        garment = mask
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3)[garment.ravel()]
    if len(lab) > MAX_COLOUR_PIXELS:  # evenly spread, the same every time
        lab = lab[np.linspace(0, len(lab) - 1, MAX_COLOUR_PIXELS).astype(np.int64)]
    palette = lab_palette()
    if len(lab) == 0:
        return np.zeros(len(palette), np.float32)
    d2 = ((_lab_units(lab)[:, None, :] - palette[None]) ** 2).sum(-1)
    share = np.exp(-d2 / (2 * sigma**2))
    share /= np.maximum(share.sum(axis=1, keepdims=True), 1e-12)
    hist = share.sum(axis=0)
    return np.sqrt(hist / hist.sum()).astype(np.float32)


def garment_blocks(img: Image.Image, grabcut: bool = False) -> GarmentBlocks:
    """Every block of one image, computed at SIDE pixels."""
    rgb = small_rgb(img)
    mask = garment_mask(rgb, grabcut)
    mask_hog, grey_hog, geometry = shape_blocks(rgb, mask)
    return GarmentBlocks(mask, mask_hog, grey_hog, geometry, colour_block(rgb, mask))


# the blocks in the order the stored vector holds them, with their sizes
BLOCKS = ("grey_hog", "mask_hog", "geometry", "colour")


def block_sizes() -> dict[str, int]:
    hog = int(_hog().getDescriptorSize())
    return {"grey_hog": hog, "mask_hog": hog, "geometry": 10, "colour": len(lab_palette())}


def garment_key(cfg: GarmentConfig) -> str:
    """Identity of what the blocks are computed with (their cache key); weights are not in it:
    they are applied when the descriptor is joined."""
    return f"garment-v1-{SIDE}px-hog{HOG_SIDE}" + ("-grabcut" if cfg.grabcut else "")


def garment_vector(img: Image.Image, cfg: GarmentConfig) -> np.ndarray:
    """Every block of one image in one vector (BLOCKS order), as the store keeps it."""
    blocks = garment_blocks(img, cfg.grabcut)
    return np.concatenate([getattr(blocks, name) for name in BLOCKS]).astype(np.float32)


def block_weights(cfg: GarmentConfig) -> dict[str, float]:
    return {
        "grey_hog": cfg.shape_weight,
        "mask_hog": cfg.mask_weight,
        "geometry": cfg.geometry_weight,
        "colour": cfg.colour_weight,
    }


def weighted_blocks(vectors: np.ndarray, weights: dict[str, float]) -> np.ndarray:
    """Stored garment vectors (n, d) as the descriptor joins them: each block unit length at
    its weight; blocks at weight 0 left out."""
    parts, start = [], 0
    for name, size in block_sizes().items():
        block = vectors[:, start : start + size]
        start += size
        weight = weights.get(name, 0.0)
        if weight > 0:
            norms = np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
            parts.append(weight * block / norms)
    if not parts:
        return np.zeros((len(vectors), 0), np.float32)
    return np.hstack(parts).astype(np.float32)


_LETTERS = {"grey_hog": "s", "mask_hog": "m", "geometry": "g", "colour": "c"}


def weights_key(weights: dict[str, float]) -> str:
    """The weights in a model key: `s1.2m1g0.3c0` (shape, mask, geometry, colour)."""
    return "".join(f"{_LETTERS[name]}{weights.get(name, 0.0):g}" for name in BLOCKS)


def mask_preview(img: Image.Image, grabcut: bool = False, width: int = 320) -> Image.Image:
    """What the garment blocks see, for a person: the photo at `width` pixels with what lies
    outside the garment's mask faded to light grey and the mask's outline drawn."""
    rgb = small_rgb(img, width)
    mask = garment_mask(small_rgb(img), grabcut)
    mask = cv2.resize(mask.astype(np.uint8), (rgb.shape[1], rgb.shape[0]), cv2.INTER_NEAREST)
    faded = (0.25 * rgb + 0.75 * 225).astype(np.uint8)
    shown = np.where(mask[..., None] > 0, rgb, faded)
    outline, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(shown, outline, -1, (214, 51, 132), max(1, rgb.shape[1] // 160))
    return Image.fromarray(shown)
