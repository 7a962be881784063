"""Procedural, deterministic "flat-lay" outfit photos for the demo feed.

Each picture is an outfit laid on a surface (wood, linen, marble, concrete, ...): garments are
silhouettes filled with a fabric pattern, shaded like cloth (rounded light, folds, darker edges) and
casting a soft shadow. The same (style, seed) always gives the same pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from sandbox.demo_feed.styles import RGB, STYLES, StyleFamily

Array = np.ndarray
UnitPoly = list[tuple[float, float]]

# -- helpers ---------------------------------------------------------------------------------


def _rgb(c: RGB) -> Array:
    return np.asarray(c, dtype=np.float32) / 255.0


def _jitter(rng: np.random.Generator, c: RGB, amount: float = 0.06) -> Array:
    return np.clip(_rgb(c) * (1 + rng.uniform(-amount, amount)), 0, 1)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> Array:
    """Value noise in [-1, 1]: random cells resized smoothly to (h, w)."""
    small = rng.random((max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    img = Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 127.5 - 1.0


def _grid(h: int, w: int) -> tuple[Array, Array]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return y, x


def _ellipse(x0: float, y0: float, x1: float, y1: float, n: int = 28) -> UnitPoly:
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    return [
        (cx + rx * math.cos(2 * math.pi * i / n), cy + ry * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 14) -> UnitPoly:
    return [
        (
            cx + rx * math.cos(a0 + (a1 - a0) * i / (n - 1)),
            cy + ry * math.sin(a0 + (a1 - a0) * i / (n - 1)),
        )
        for i in range(n)
    ]


# -- backgrounds -----------------------------------------------------------------------------


def _flat(base: RGB) -> Callable[[np.random.Generator, int, int], Array]:
    def paint(rng: np.random.Generator, h: int, w: int) -> Array:
        y, _ = _grid(h, w)
        tone = _jitter(rng, base, 0.04)
        grad = 1.04 - 0.08 * (y / h)[..., None]
        return tone * grad * (1 + 0.015 * _smooth_noise(rng, h, w, 40)[..., None])

    return paint


def _wood(base: RGB) -> Callable[[np.random.Generator, int, int], Array]:
    def paint(rng: np.random.Generator, h: int, w: int) -> Array:
        y, _ = _grid(h, w)
        plank = int(rng.integers(48, 72))
        row = (y // plank).astype(int)
        tones = 1 + rng.uniform(-0.08, 0.08, size=row.max() + 1).astype(np.float32)
        warp = _smooth_noise(rng, h, w, 30) * 6
        grain = np.sin((y + warp) * 0.9 + row * 13.0) * 0.5 + np.sin((y + warp) * 0.23) * 0.5
        shade = tones[row] * (1 + 0.06 * grain)
        shade = np.where((y % plank) < 2, shade * 0.6, shade)  # gaps between boards
        return _jitter(rng, base, 0.05) * shade[..., None]

    return paint


def _linen(base: RGB) -> Callable[[np.random.Generator, int, int], Array]:
    def paint(rng: np.random.Generator, h: int, w: int) -> Array:
        y, x = _grid(h, w)
        weave = 0.025 * np.sin(x * 2.6) + 0.025 * np.sin(y * 2.6)
        fibre = 0.04 * rng.standard_normal((h, w)).astype(np.float32)
        folds = 0.05 * _smooth_noise(rng, h, w, 90)
        return _jitter(rng, base, 0.04) * (1 + weave + fibre + folds)[..., None]

    return paint


def _speckled(base: RGB, blotch: float, speck: float) -> Callable[..., Array]:
    def paint(rng: np.random.Generator, h: int, w: int) -> Array:
        blot = blotch * _smooth_noise(rng, h, w, 60) + 0.5 * blotch * _smooth_noise(rng, h, w, 14)
        grit = speck * rng.standard_normal((h, w)).astype(np.float32)
        return _jitter(rng, base, 0.05) * (1 + blot + grit)[..., None]

    return paint


def _marble(rng: np.random.Generator, h: int, w: int) -> Array:
    y, x = _grid(h, w)
    warp = 5.0 * _smooth_noise(rng, h, w, 70) + 1.5 * _smooth_noise(rng, h, w, 18)
    vein = np.abs(np.sin((x * 0.6 + y) * 0.018 + warp)) ** 0.25
    base = _jitter(rng, (238, 236, 232), 0.02)
    return base * (0.78 + 0.22 * vein)[..., None]


def _brick(rng: np.random.Generator, h: int, w: int) -> Array:
    y, x = _grid(h, w)
    bh, bw = 22, 54
    row = (y // bh).astype(int)
    shifted = x + (row % 2) * (bw // 2)
    col = (shifted // bw).astype(int)
    ids = (row * 31 + col * 17) % 97
    tones = 1 + rng.uniform(-0.12, 0.12, size=97).astype(np.float32)
    mortar = ((y % bh) < 3) | ((shifted % bw) < 3)
    brick = _jitter(rng, (150, 68, 50), 0.05) * tones[ids][..., None]
    brick = brick * (1 + 0.06 * rng.standard_normal((h, w, 1)).astype(np.float32))
    return np.where(mortar[..., None], _rgb((185, 180, 170)), brick) * 0.85


def _gym(rng: np.random.Generator, h: int, w: int) -> Array:
    base = _speckled((52, 54, 60), 0.05, 0.03)(rng, h, w)
    flecks = rng.random((h, w)) < 0.02
    colour = _rgb(((90, 200, 60), (60, 120, 230), (230, 230, 230))[int(rng.integers(3))])
    return np.where(flecks[..., None], colour, base)


BACKGROUNDS: dict[str, Callable[[np.random.Generator, int, int], Array]] = {
    "wood": _wood((150, 104, 68)),
    "lightwood": _wood((214, 184, 142)),
    "linen": _linen((232, 222, 204)),
    "sand": _speckled((226, 203, 164), 0.04, 0.05),
    "paper": _flat((244, 241, 234)),
    "studio_white": _flat((243, 242, 240)),
    "studio_bright": _flat((255, 214, 84)),
    "blush": _flat((246, 214, 214)),
    "concrete_light": _speckled((190, 190, 186), 0.07, 0.04),
    "concrete_dark": _speckled((88, 88, 90), 0.08, 0.05),
    "asphalt": _speckled((62, 62, 66), 0.05, 0.09),
    "marble": _marble,
    "brick": _brick,
    "gym": _gym,
}

# -- fabric patterns (painted in the garment's bounding box) ----------------------------------


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _pattern(name: str, rng: np.random.Generator, h: int, w: int, colours: list[RGB]) -> Array:
    c1, c2, c3 = (_jitter(rng, c, 0.04) for c in colours[:3])
    y, x = _grid(h, w)
    grain = 1 + 0.025 * rng.standard_normal((h, w, 1)).astype(np.float32)
    if name == "solid":
        return c1 * grain
    if name == "stripes":
        period = float(rng.uniform(7, 18))
        angle = float(rng.choice([0.0, math.pi / 2, math.pi / 4]))
        coord = x * math.cos(angle) + y * math.sin(angle)
        duty = float(rng.uniform(0.3, 0.55))
        on = ((coord / period) % 1.0) < duty
        return np.where(on[..., None], c2, c1) * grain
    if name == "plaid":
        period = float(rng.uniform(22, 36))
        band_y = (((y / period) % 1.0) < 0.38)[..., None]
        band_x = (((x / period) % 1.0) < 0.38)[..., None]
        out = c1.copy() * np.ones((h, w, 1), np.float32)
        out = np.where(band_y, 0.55 * out + 0.45 * c2, out)
        out = np.where(band_x, 0.55 * out + 0.45 * c2, out)
        thin = ((((y + period * 0.7) % period) < 2) | (((x + period * 0.7) % period) < 2))[
            ..., None
        ]
        return np.where(thin, c3, out) * grain
    if name == "dots":
        spacing = float(rng.uniform(11, 20))
        radius = spacing * float(rng.uniform(0.18, 0.3))
        row = np.floor(y / spacing)
        xs = x + (row % 2) * spacing / 2
        dy = (y % spacing) - spacing / 2
        dx = (xs % spacing) - spacing / 2
        on = (dx * dx + dy * dy) < radius * radius
        return np.where(on[..., None], c2, c1) * grain
    if name == "denim":
        indigo = _jitter(rng, ((44, 70, 120), (62, 96, 150), (30, 48, 88))[int(rng.integers(3))])
        twill = 0.06 * np.sin((x + y) * 1.9) + 0.05 * rng.standard_normal((h, w)).astype(np.float32)
        fade = 0.12 * np.exp(-(((x - w / 2) / (w / 3)) ** 2 + ((y - h / 2) / (h / 2.5)) ** 2))
        return indigo * (1 + twill + fade)[..., None]
    img = Image.fromarray(np.clip(c1 * grain * 255, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    ic2, ic3 = (tuple(int(v * 255) for v in c) for c in (c2, c3))
    if name == "floral":
        leaf = (86, 120, 70)
        for _ in range(max(6, h * w // 650)):
            fx, fy = rng.uniform(0, w), rng.uniform(0, h)
            r = float(rng.uniform(3, 7))
            petal = ic2 if rng.random() < 0.6 else ic3
            draw.ellipse((fx + r * 0.6, fy - r * 0.4, fx + r * 2.2, fy + r * 0.3), fill=leaf)
            for k in range(5):
                a = 2 * math.pi * k / 5 + fx
                px, py = fx + r * math.cos(a), fy + r * math.sin(a)
                draw.ellipse((px - r * 0.7, py - r * 0.7, px + r * 0.7, py + r * 0.7), fill=petal)
            draw.ellipse(
                (fx - r * 0.45, fy - r * 0.45, fx + r * 0.45, fy + r * 0.45), fill=(240, 200, 70)
            )
        return np.asarray(img, dtype=np.float32) / 255.0
    if name == "graphic":
        cx, cy, s = w / 2, h * 0.42, min(w, h) * 0.28
        shape = int(rng.integers(3))
        if shape == 0:
            draw.ellipse((cx - s, cy - s, cx + s, cy + s), outline=ic2, width=max(3, int(s / 5)))
        elif shape == 1:
            pts = [
                (
                    cx + s * (1 if k % 2 == 0 else 0.45) * math.cos(math.pi / 5 * k - math.pi / 2),
                    cy + s * (1 if k % 2 == 0 else 0.45) * math.sin(math.pi / 5 * k - math.pi / 2),
                )
                for k in range(10)
            ]
            draw.polygon(pts, fill=ic2)
        else:
            draw.rectangle((cx - s, cy - s * 0.6, cx + s, cy + s * 0.6), fill=ic2)
        word = str(rng.choice(["NYC", "90s", "LA", "XO", "01", "TKO", "SK8"]))
        font = _font(max(10, int(s * 0.75)))
        draw.text((cx, cy + s * 1.25), word, fill=ic3, font=font, anchor="mm")
        return np.asarray(img, dtype=np.float32) / 255.0
    raise ValueError(f"unknown pattern {name!r}")


# -- garments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Garment:
    """A silhouette in unit coordinates, its box aspect (w/h) and its detail lines."""

    parts: tuple[UnitPoly, ...]
    aspect: float
    details: tuple[tuple[UnitPoly, str], ...] = ()  # (polyline, "dark" | "light" | "sole")
    folds: float = 0.0
    accessory: bool = False


def _pair(shoe: UnitPoly, sole: UnitPoly, aspect: float) -> Garment:
    """Two shoes side by side, the second a little behind, each with its sole."""
    first = [(u * 0.9, v * 0.5) for u, v in shoe]
    second = [(0.1 + u * 0.9, 0.5 + v * 0.5) for u, v in shoe]
    soles = (
        [(u * 0.9, v * 0.5) for u, v in sole],
        [(0.1 + u * 0.9, 0.5 + v * 0.5) for u, v in sole],
    )
    return Garment(
        parts=(first, second),
        aspect=aspect,
        details=tuple((s, "sole") for s in soles),
        accessory=True,
    )


_SNEAKER = [
    (0.0, 0.62),
    (0.04, 0.38),
    (0.34, 0.3),
    (0.5, 0.04),
    (0.76, 0.02),
    (0.84, 0.32),
    (1.0, 0.5),
    (1.0, 0.88),
    (0.0, 0.88),
]
_SNEAKER_SOLE = [(0.0, 0.74), (1.0, 0.74), (1.0, 0.88), (0.0, 0.88), (0.0, 0.74)]
_BOOT = [
    (0.0, 0.55),
    (0.1, 0.42),
    (0.42, 0.38),
    (0.46, 0.0),
    (0.86, 0.0),
    (0.86, 0.45),
    (1.0, 0.62),
    (1.0, 0.9),
    (0.0, 0.9),
]
_BOOT_SOLE = [(0.0, 0.8), (1.0, 0.8), (1.0, 0.9), (0.0, 0.9), (0.0, 0.8)]

GARMENTS: dict[str, Garment] = {
    "top": Garment(
        parts=(
            [
                (0.3, 0.0),
                (0.4, 0.06),
                (0.6, 0.06),
                (0.7, 0.0),
                (1.0, 0.2),
                (0.88, 0.4),
                (0.77, 0.32),
                (0.77, 1.0),
                (0.23, 1.0),
                (0.23, 0.32),
                (0.12, 0.4),
                (0.0, 0.2),
            ],
        ),
        aspect=1.05,
        details=(([(0.4, 0.06), (0.5, 0.1), (0.6, 0.06)], "dark"),),
    ),
    "shirt": Garment(
        parts=(
            [
                (0.33, 0.0),
                (0.67, 0.0),
                (0.9, 0.07),
                (1.0, 0.86),
                (0.88, 0.88),
                (0.78, 0.3),
                (0.78, 1.0),
                (0.22, 1.0),
                (0.22, 0.3),
                (0.12, 0.88),
                (0.0, 0.86),
                (0.1, 0.07),
            ],
        ),
        aspect=0.95,
        details=(
            ([(0.38, 0.0), (0.5, 0.12), (0.62, 0.0)], "light"),
            ([(0.5, 0.12), (0.5, 1.0)], "dark"),
        ),
    ),
    "jacket": Garment(
        parts=(
            [
                (0.32, 0.0),
                (0.68, 0.0),
                (0.92, 0.08),
                (1.0, 0.9),
                (0.86, 0.92),
                (0.8, 0.34),
                (0.8, 1.0),
                (0.2, 1.0),
                (0.2, 0.34),
                (0.14, 0.92),
                (0.0, 0.9),
                (0.08, 0.08),
            ],
        ),
        aspect=0.95,
        details=(
            ([(0.36, 0.0), (0.5, 0.45), (0.64, 0.0)], "dark"),
            ([(0.5, 0.45), (0.5, 1.0)], "dark"),
            ([(0.36, 0.0), (0.42, 0.3), (0.5, 0.45)], "light"),
        ),
    ),
    "coat": Garment(
        parts=(
            [
                (0.34, 0.0),
                (0.66, 0.0),
                (0.9, 0.06),
                (1.0, 0.62),
                (0.88, 0.64),
                (0.8, 0.24),
                (0.86, 1.0),
                (0.14, 1.0),
                (0.2, 0.24),
                (0.12, 0.64),
                (0.0, 0.62),
                (0.1, 0.06),
            ],
        ),
        aspect=0.62,
        details=(
            ([(0.38, 0.0), (0.5, 0.32), (0.62, 0.0)], "dark"),
            ([(0.5, 0.32), (0.5, 1.0)], "dark"),
            ([(0.21, 0.42), (0.79, 0.42)], "dark"),
        ),
        folds=0.6,
    ),
    "dress": Garment(
        parts=(
            [
                (0.34, 0.0),
                (0.4, 0.0),
                (0.5, 0.1),
                (0.6, 0.0),
                (0.66, 0.0),
                (0.68, 0.3),
                (0.62, 0.4),
                (1.0, 1.0),
                (0.0, 1.0),
                (0.38, 0.4),
                (0.32, 0.3),
            ],
        ),
        aspect=0.62,
        details=(([(0.37, 0.4), (0.63, 0.4)], "dark"),),
        folds=1.0,
    ),
    "skirt": Garment(
        parts=([(0.24, 0.0), (0.76, 0.0), (1.0, 1.0), (0.0, 1.0)],),
        aspect=1.1,
        details=(([(0.23, 0.1), (0.77, 0.1)], "dark"),),
        folds=1.0,
    ),
    "trousers": Garment(
        parts=(
            [
                (0.08, 0.0),
                (0.92, 0.0),
                (1.0, 1.0),
                (0.58, 1.0),
                (0.5, 0.28),
                (0.42, 1.0),
                (0.0, 1.0),
            ],
        ),
        aspect=0.62,
        details=(([(0.08, 0.06), (0.92, 0.06)], "dark"), ([(0.5, 0.06), (0.5, 0.28)], "dark")),
        folds=0.4,
    ),
    "sneakers": _pair(_SNEAKER, _SNEAKER_SOLE, aspect=1.5),
    "boots": _pair(_BOOT, _BOOT_SOLE, aspect=1.2),
    "bag": Garment(
        parts=(
            [(0.02, 0.38), (0.98, 0.38), (1.0, 1.0), (0.0, 1.0)],
            _arc(0.5, 0.4, 0.3, 0.38, math.pi, 2 * math.pi)
            + _arc(0.5, 0.4, 0.22, 0.3, 2 * math.pi, math.pi),
        ),
        aspect=1.1,
        details=(([(0.02, 0.55), (0.98, 0.55)], "dark"), (_ellipse(0.45, 0.5, 0.55, 0.6), "light")),
        accessory=True,
    ),
    "hat": Garment(
        parts=(_ellipse(0.0, 0.45, 1.0, 1.0), _ellipse(0.24, 0.05, 0.76, 0.8)),
        aspect=1.6,
        details=(([(0.25, 0.6), (0.75, 0.6)], "dark"),),
        accessory=True,
    ),
}

# Patterns that only suit some garments; elsewhere the garment is plain.
_PATTERN_FITS = {
    "graphic": {"top", "jacket", "bag"},
    "denim": {"trousers", "jacket", "skirt", "shirt"},
}
_FULL = {"dress", "coat"}
_UPPER = {"top", "shirt", "jacket"}
_LOWER = {"trousers", "skirt"}


def _layout(
    items: tuple[str, ...], rng: np.random.Generator
) -> list[tuple[str, float, float, float]]:
    """Place an outfit on the canvas: (garment, centre x, centre y, box height) in unit terms.

    The clothes go in a left column (top over bottom, or one long piece); what does not fit there,
    and the accessories, go in a right column.
    """
    clothes = [g for g in items if not GARMENTS[g].accessory]
    extras = [g for g in items if GARMENTS[g].accessory]
    left: list[tuple[str, float, float, float]] = []
    rest: list[str] = []
    first = clothes[0]
    if first in _FULL and not any(c in _UPPER or c in _LOWER for c in clothes[1:]):
        left.append((first, 0.36, 0.5, 0.8))
        rest = clothes[1:]
    else:
        upper = next((c for c in clothes if c in _UPPER or c in _FULL), None)
        lower = next((c for c in clothes if c in _LOWER), None)
        if upper:
            left.append((upper, 0.36, 0.27 if lower else 0.45, 0.38 if lower else 0.6))
        if lower:
            left.append((lower, 0.36, 0.71 if upper else 0.5, 0.46 if upper else 0.7))
        rest = [c for c in clothes if c not in (upper, lower)]
    right = {"top": 0.17, "mid": 0.5, "bottom": 0.85}
    placed = list(left)
    for c in rest:  # a second piece of clothing takes the top and middle of the right column
        placed.append((c, 0.76, 0.36, 0.5))
        right.pop("top", None)
        right.pop("mid", None)
    preferred = {
        "hat": ["top", "mid", "bottom"],
        "bag": ["mid", "bottom", "top"],
        "sneakers": ["bottom", "mid", "top"],
        "boots": ["bottom", "mid", "top"],
    }
    for g in extras:
        slot = next((s for s in preferred[g] if s in right), None)
        if slot is None:
            placed.append((g, 0.36, 0.9, 0.16))  # under the long piece
            continue
        y = right.pop(slot)
        placed.append((g, 0.77, y, {"hat": 0.2, "bag": 0.26}.get(g, 0.18)))
    return [
        (g, x + rng.uniform(-0.02, 0.02), y + rng.uniform(-0.02, 0.02), s) for g, x, y, s in placed
    ]


def _to_canvas(poly: UnitPoly, box: tuple[float, float, float, float], angle: float) -> UnitPoly:
    cx, cy, bw, bh = box
    ca, sa = math.cos(angle), math.sin(angle)
    out = []
    for u, v in poly:
        dx, dy = (u - 0.5) * bw, (v - 0.5) * bh
        out.append((cx + dx * ca - dy * sa, cy + dx * sa + dy * ca))
    return out


def _blurred_near(
    mask: Image.Image, box: tuple[int, int, int, int], radius: float
) -> tuple[int, int, int, int, Array]:
    """The Gaussian blur of `mask` around `box` (y0, y1, x0, x1 of the part returned, and that
    part): the same pixels as blurring the whole image, at a fraction of the cost, because the
    mask is empty outside the box and the blur reaches no further than the margin (PIL blurs by
    three box passes; a crop keeps the image's own edges where the box touches them)."""
    x0, y0, x1, y1 = box
    margin = int(4 * radius) + 8
    w, h = mask.size
    cx0, cy0, cx1, cy1 = (
        max(0, x0 - margin),
        max(0, y0 - margin),
        min(w, x1 + margin),
        min(h, y1 + margin),
    )
    part = mask.crop((cx0, cy0, cx1, cy1)).filter(ImageFilter.GaussianBlur(radius))
    return cy0, cy1, cx0, cx1, np.asarray(part, np.float32)


def _blurred_within(mask: Image.Image, box: tuple[int, int, int, int], radius: float) -> Array:
    """The blurred mask (as `_blurred_near`) cut to `box`."""
    cy0, _, cx0, _, part = _blurred_near(mask, box, radius)
    x0, y0, x1, y1 = box
    return part[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]


def _render_garment(
    canvas: Array,
    name: str,
    box: tuple[float, float, float, float],
    angle: float,
    pattern: str,
    colours: list[RGB],
    rng: np.random.Generator,
) -> None:
    """Composite one shaded, shadowed garment onto the canvas (in place)."""
    h, w, _ = canvas.shape
    garment = GARMENTS[name]
    polys = [_to_canvas(p, box, angle) for p in garment.parts]
    mask_img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask_img)
    for p in polys:
        draw.polygon(p, fill=255)
    xs = [x for p in polys for x, _ in p]
    ys = [y for p in polys for _, y in p]
    x0, x1 = max(0, int(min(xs)) - 2), min(w, int(max(xs)) + 3)
    y0, y1 = max(0, int(min(ys)) - 2), min(h, int(max(ys)) + 3)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return
    # soft shadow, offset towards the bottom right
    shadow = np.zeros((h, w), np.float32)
    sy0, sy1, sx0, sx1, blurred = _blurred_near(mask_img, (x0, y0, x1, y1), 6)
    shadow[sy0:sy1, sx0:sx1] = blurred / 255.0
    shadow = np.roll(np.roll(shadow, 6, axis=0), 4, axis=1)
    canvas *= (1 - 0.32 * shadow)[..., None]

    rh, rw = y1 - y0, x1 - x0
    tex = _pattern(pattern, rng, rh, rw, colours)
    tex_img = Image.fromarray(np.clip(tex * 255, 0, 255).astype(np.uint8))
    tdraw = ImageDraw.Draw(tex_img)
    tones = {
        "dark": tuple(int(v * 0.55 * 255) for v in tex.mean(axis=(0, 1))),
        "light": (238, 236, 230),
        "sole": (242, 240, 235) if name == "sneakers" else (40, 34, 30),
    }
    for line, tone in garment.details:
        pts = [(x - x0, y - y0) for x, y in _to_canvas(line, box, angle)]
        if tone == "sole":
            tdraw.polygon(pts, fill=tones[tone])
        else:
            tdraw.line(pts, fill=tones[tone], width=max(1, int(box[3] / 90)))
    tex = np.asarray(tex_img, np.float32) / 255.0

    yy, xx = _grid(rh, rw)
    u, v = xx / max(rw - 1, 1), yy / max(rh - 1, 1)
    shade = (0.84 + 0.2 * np.sin(np.pi * u)) * (1.05 - 0.1 * v)
    if garment.folds:
        phase = float(rng.uniform(0, 2 * np.pi))
        shade *= 1 + 0.07 * garment.folds * np.sin(2 * np.pi * (u * 5 + phase)) * v
    mask = np.asarray(mask_img, np.float32)[y0:y1, x0:x1] / 255.0
    inner = _blurred_within(mask_img, (x0, y0, x1, y1), 4) / 255
    shade *= 0.72 + 0.28 * inner
    soft = _blurred_within(mask_img, (x0, y0, x1, y1), 0.7)
    alpha = (np.minimum(mask, soft / 255.0))[..., None]
    region = canvas[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1] = region * (1 - alpha) + tex * shade[..., None] * alpha


def _pick_weighted(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.asarray([weights[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def render_outfit(
    style: StyleFamily | str, outfit: tuple[str, ...], seed: int, size: tuple[int, int] = (320, 400)
) -> Image.Image:
    """Draw one outfit of a style as an RGB image of `size` (width, height), deterministically."""
    family = STYLES[style] if isinstance(style, str) else style
    rng = np.random.default_rng(seed)
    w, h = size
    background = family.backgrounds[int(rng.integers(len(family.backgrounds)))]
    canvas = BACKGROUNDS[background](rng, h, w).astype(np.float32)
    for name, cx, cy, rel_h in _layout(outfit, rng):
        garment = GARMENTS[name]
        box_h = rel_h * h
        box_w = min(box_h * garment.aspect, 0.56 * w)
        angle = float(rng.uniform(-0.2, 0.2) if garment.accessory else rng.uniform(-0.07, 0.07))
        palette = list(family.palette)
        order = rng.permutation(len(palette))
        colours = [palette[i] for i in order[:3]]
        pattern = (
            "solid"
            if garment.accessory and rng.random() < 0.75
            else _pick_weighted(rng, family.patterns)
        )
        if name not in _PATTERN_FITS.get(pattern, {name}):
            pattern = "solid"
        _render_garment(canvas, name, (cx * w, cy * h, box_w, box_h), angle, pattern, colours, rng)
    # gentle vignette, like a phone photo
    yy, xx = _grid(h, w)
    r2 = ((xx - w / 2) / (w * 0.75)) ** 2 + ((yy - h / 2) / (h * 0.75)) ** 2
    canvas *= (1 - 0.18 * r2)[..., None]
    return Image.fromarray(np.clip(canvas * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")
