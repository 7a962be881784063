"""The demo feed's six style families: palette, patterns, backgrounds, outfits, trend, voice."""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]

GARMENTS = (
    "dress",
    "top",
    "shirt",
    "trousers",
    "skirt",
    "jacket",
    "coat",
    "sneakers",
    "boots",
    "bag",
    "hat",
)
PATTERNS = ("floral", "stripes", "plaid", "dots", "graphic", "denim", "solid")
CROSS_TAGS = ("ootd", "fashion")


@dataclass(frozen=True)
class StyleFamily:
    """Everything that makes one style recognisable, to a person and to image features."""

    name: str
    palette: tuple[RGB, ...]
    patterns: dict[str, float]  # pattern -> weight
    backgrounds: tuple[str, ...]
    outfits: tuple[tuple[str, ...], ...]  # garment lists; the first item is the main garment
    trend: float  # -1 falling ... +1 rising over the feed's weeks
    popularity: float  # shifts the like counts
    captions: tuple[str, ...]
    emojis: tuple[str, ...]
    flavour_tags: tuple[str, ...]


STYLES: dict[str, StyleFamily] = {
    s.name: s
    for s in (
        StyleFamily(
            name="boho",
            palette=(
                (196, 98, 64),
                (214, 162, 58),
                (143, 158, 118),
                (236, 223, 197),
                (168, 74, 42),
                (120, 82, 56),
            ),
            patterns={"floral": 4, "dots": 1.5, "solid": 2, "stripes": 1},
            backgrounds=("wood", "linen", "sand"),
            outfits=(
                ("dress", "hat", "bag", "boots"),
                ("top", "skirt", "hat", "boots"),
                ("dress", "bag", "sneakers"),
                ("coat", "skirt", "boots", "bag"),
                ("shirt", "trousers", "hat", "bag"),
            ),
            trend=0.8,
            popularity=0.3,
            captions=(
                "Golden hour layers",
                "Market day in the sun",
                "Festival ready",
                "Flowers in everything",
                "Slow summer mornings",
                "Thrifted and loved",
            ),
            emojis=("🌼", "🌻", "☀️", "🍂", "✨"),
            flavour_tags=("festival", "vintage", "bohochic"),
        ),
        StyleFamily(
            name="preppy",
            palette=(
                (28, 42, 86),
                (240, 240, 236),
                (178, 34, 52),
                (40, 120, 70),
                (150, 190, 225),
                (195, 176, 130),
            ),
            patterns={"plaid": 4, "stripes": 3, "solid": 2, "dots": 0.5},
            backgrounds=("lightwood", "paper", "linen"),
            outfits=(
                ("shirt", "skirt", "bag", "sneakers"),
                ("jacket", "trousers", "boots", "bag"),
                ("coat", "trousers", "bag", "boots"),
                ("shirt", "trousers", "sneakers", "hat"),
                ("dress", "jacket", "bag"),
            ),
            trend=-0.6,
            popularity=0.0,
            captions=(
                "Campus classics",
                "Blazer weather",
                "Weekend at the club",
                "Tartan season is here",
                "Crisp and collected",
                "Old school, new term",
            ),
            emojis=("📚", "⛵", "🎾", "🍎"),
            flavour_tags=("classic", "ivystyle", "tartan"),
        ),
        StyleFamily(
            name="sporty",
            palette=(
                (170, 230, 40),
                (25, 25, 28),
                (245, 245, 245),
                (35, 75, 200),
                (250, 120, 30),
                (150, 150, 155),
            ),
            patterns={"solid": 4, "stripes": 3, "graphic": 1.5},
            backgrounds=("gym", "concrete_light", "studio_bright"),
            outfits=(
                ("top", "trousers", "sneakers", "hat"),
                ("jacket", "trousers", "sneakers", "bag"),
                ("top", "skirt", "sneakers", "bag"),
                ("jacket", "top", "sneakers", "hat"),
                ("coat", "trousers", "sneakers"),
            ),
            trend=0.1,
            popularity=0.2,
            captions=(
                "Leg day fit check",
                "Run club Sunday",
                "Game day energy",
                "Gym to brunch",
                "Personal best today",
                "Warm-up done",
            ),
            emojis=("🏃", "⚡", "🏀", "💪", "🔥"),
            flavour_tags=("athleisure", "gymwear", "activewear"),
        ),
        StyleFamily(
            name="streetwear",
            palette=(
                (22, 22, 24),
                (85, 95, 55),
                (60, 60, 62),
                (255, 95, 20),
                (235, 235, 230),
                (150, 30, 40),
            ),
            patterns={"graphic": 3, "denim": 3, "solid": 2.5, "stripes": 0.5},
            backgrounds=("concrete_dark", "brick", "asphalt"),
            outfits=(
                ("jacket", "trousers", "sneakers", "hat"),
                ("top", "trousers", "sneakers", "bag"),
                ("coat", "trousers", "boots", "hat"),
                ("shirt", "trousers", "sneakers", "bag"),
                ("top", "jacket", "sneakers"),
            ),
            trend=1.0,
            popularity=0.5,
            captions=(
                "Drop day",
                "City nights",
                "Fit pic from the block",
                "Layers on layers",
                "Skate park uniform",
                "Limited run, no restock",
            ),
            emojis=("🔥", "🛹", "🖤", "👟", "🌃"),
            flavour_tags=("hypebeast", "urban", "streetstyle"),
        ),
        StyleFamily(
            name="minimal",
            palette=(
                (20, 20, 20),
                (245, 244, 240),
                (214, 200, 176),
                (160, 160, 158),
                (193, 154, 107),
            ),
            patterns={"solid": 6, "stripes": 0.7},
            backgrounds=("studio_white", "marble", "concrete_light"),
            outfits=(
                ("coat", "trousers", "boots", "bag"),
                ("top", "trousers", "sneakers", "bag"),
                ("shirt", "skirt", "bag", "boots"),
                ("dress", "coat", "boots"),
                ("jacket", "trousers", "sneakers"),
            ),
            trend=0.0,
            popularity=0.1,
            captions=(
                "Less, but better",
                "Capsule wardrobe, day 12",
                "Quiet neutrals",
                "Clean lines",
                "Monochrome Monday",
                "One coat, five ways",
            ),
            emojis=("🤍", "▫️", "🖤"),
            flavour_tags=("capsulewardrobe", "neutrals", "minimalist"),
        ),
        StyleFamily(
            name="romantic",
            palette=(
                (238, 180, 190),
                (200, 180, 225),
                (250, 240, 230),
                (205, 70, 90),
                (180, 225, 205),
                (220, 120, 150),
            ),
            patterns={"floral": 3.5, "dots": 3, "solid": 2},
            backgrounds=("blush", "marble", "linen"),
            outfits=(
                ("dress", "bag", "hat"),
                ("top", "skirt", "bag", "boots"),
                ("dress", "coat", "bag"),
                ("shirt", "skirt", "hat", "bag"),
                ("dress", "jacket", "sneakers"),
            ),
            trend=-0.8,
            popularity=0.25,
            captions=(
                "Tea party mood",
                "Soft pink everything",
                "Garden picnic",
                "Ruffles and roses",
                "Dreamy date night",
                "Petals and pearls",
            ),
            emojis=("🌸", "💕", "🎀", "🌷", "🍓"),
            flavour_tags=("feminine", "cottagecore", "pastel"),
        ),
    )
}
