"""The garment blocks on drawn photos: the mask finds the garment, shape ignores where and how
big it is but not its outline, colour tells close colours apart and ignores the background."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from clustering.garment import SIDE, colour_block, garment_blocks, garment_mask, small_rgb

WHITE = (245, 245, 245)
NAVY = (20, 30, 90)
BLUE = (40, 90, 210)


def photo(
    shape: str = "shirt",
    colour: tuple[int, int, int] = NAVY,
    box: tuple[int, int, int, int] = (60, 40, 200, 220),
    background: tuple[int, int, int] | None = WHITE,
    size: tuple[int, int] = (256, 256),
) -> Image.Image:
    """A drawn product photo: a plain (or noisy) background and one garment outline."""
    if background is None:
        noise = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        img = Image.fromarray(noise)
    else:
        img = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    if shape == "shirt":  # a body with two sleeves
        w, h = x1 - x0, y1 - y0
        a, b = y0 + h * 2 // 9, y0 + h * 7 // 18  # the sleeves' ends, in proportion
        draw.rectangle((x0 + w // 4, y0, x1 - w // 4, y1), fill=colour)
        draw.polygon([(x0, a), (x0 + w // 4, y0), (x0 + w // 4, b)], fill=colour)
        draw.polygon([(x1, a), (x1 - w // 4, y0), (x1 - w // 4, b)], fill=colour)
    elif shape == "dress":  # a triangle, wide at the hem
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=colour)
    else:  # a shoe: a long low shape
        draw.ellipse((x0, y1 - (x1 - x0) // 3, x1, y1), fill=colour)
    return img


def drawn_region(img: Image.Image) -> np.ndarray:
    rgb = small_rgb(img).astype(int)
    return np.abs(rgb - np.array(WHITE)).sum(axis=2) > 30


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def test_the_mask_is_the_garment_on_a_studio_background() -> None:
    img = photo()
    mask = garment_mask(small_rgb(img))
    assert mask.shape == (SIDE, SIDE)
    assert iou(mask, drawn_region(img)) > 0.9


def test_a_hole_inside_the_garment_is_filled_and_a_blank_image_is_all_garment() -> None:
    img = photo(box=(40, 40, 220, 220), shape="dress")
    ImageDraw.Draw(img).ellipse((115, 150, 145, 180), fill=WHITE)  # background colour inside
    mask = garment_mask(small_rgb(img))
    assert mask[int(165 / 2), int(130 / 2)]  # the hole's centre, at half size
    blank = garment_mask(small_rgb(Image.new("RGB", (200, 300), WHITE)))
    assert blank.all() and blank.shape == (SIDE, round(200 * SIDE / 300))


def test_grabcut_refines_the_mask_on_a_busy_background() -> None:
    img = photo(background=None, colour=(250, 20, 20), box=(70, 50, 190, 210))
    truth = np.zeros((256, 256), bool)
    drawn = np.asarray(img).astype(int)
    truth = (drawn[..., 0] == 250) & (drawn[..., 1] == 20) & (drawn[..., 2] == 20)
    truth = np.asarray(Image.fromarray(truth).resize((SIDE, SIDE)))
    refined = garment_mask(small_rgb(img), grabcut=True)
    assert iou(refined, truth) > 0.7


def test_shape_ignores_position_and_size_but_not_the_outline() -> None:
    shirt = garment_blocks(photo("shirt", box=(60, 40, 200, 220)))
    moved = garment_blocks(photo("shirt", box=(20, 20, 130, 160), size=(300, 240)))
    dress = garment_blocks(photo("dress", box=(60, 40, 200, 220)))
    shoe = garment_blocks(photo("shoe", box=(40, 40, 220, 220)))
    for block in ("mask_hog", "grey_hog"):
        same = cosine(getattr(shirt, block), getattr(moved, block))
        others = [cosine(getattr(shirt, block), getattr(o, block)) for o in (dress, shoe)]
        assert same > 0.9 and max(others) < same - 0.1, (block, same, others)
    assert shirt.geometry.shape == (10,) and np.isfinite(shirt.geometry).all()


def test_colour_tells_navy_from_blue_and_ignores_the_background() -> None:
    navy = garment_blocks(photo(colour=NAVY))
    navy_on_grey = garment_blocks(photo(colour=NAVY, background=(200, 200, 200)))
    blue = garment_blocks(photo(colour=BLUE))
    assert cosine(navy.colour, navy_on_grey.colour) > 0.95
    assert cosine(navy.colour, blue.colour) < 0.5
    assert navy.colour.dtype == np.float32 and abs(float((navy.colour**2).sum()) - 1) < 1e-4


def test_skin_is_left_out_of_the_garment_colour() -> None:
    img = photo(colour=NAVY)
    ImageDraw.Draw(img).ellipse((100, 5, 160, 60), fill=(224, 172, 140))  # a face above
    rgb = small_rgb(img)
    with_face = colour_block(rgb, garment_mask(rgb))
    without = garment_blocks(photo(colour=NAVY)).colour
    assert cosine(with_face, without) > 0.97


def test_the_preview_fades_what_is_not_garment() -> None:
    from clustering.garment import mask_preview

    img = photo(colour=NAVY, background=(120, 200, 120), size=(400, 400))
    shown = np.asarray(mask_preview(img, width=200)).astype(int)
    assert shown.shape == (200, 200, 3)
    corner, middle = shown[5, 5], shown[65, 65]  # the shirt's body at (130, 130), halved
    assert abs(corner - (0.25 * np.array([120, 200, 120]) + 0.75 * 225)).max() < 12
    assert abs(middle - np.array(NAVY)).max() < 25


def test_the_ablation_leaves_out_each_block_present_and_nothing_else() -> None:
    from clustering.evaluate import descriptor_blocks
    from stylescout.settings import GarmentConfig
    from tests.conftest import make_config

    plain = make_config(Path("/tmp/unused")).engine
    assert list(descriptor_blocks(plain)) == ["colour histogram"]
    garment = GarmentConfig(enabled=True, colour_weight=0.5, geometry_weight=0)
    features = plain.features.model_copy(update={"garment": garment})
    blocks = descriptor_blocks(plain.model_copy(update={"features": features}))
    assert list(blocks) == ["colour histogram", "garment shape", "garment mask", "garment colour"]
    assert not blocks["colour histogram"].features.colour.enabled
    assert blocks["garment shape"].features.garment.shape_weight == 0
    assert blocks["garment colour"].features.garment.colour_weight == 0
    assert blocks["garment colour"].features.garment.shape_weight == 1.2  # only that one


def test_weighted_blocks_leave_out_what_weighs_nothing() -> None:
    from clustering.garment import block_sizes, weighted_blocks, weights_key

    sizes = block_sizes()
    vectors = np.random.default_rng(0).random((3, sum(sizes.values()))).astype(np.float32)
    weights = {"grey_hog": 2.0, "mask_hog": 0.0, "geometry": 1.0, "colour": 0.5}
    joined = weighted_blocks(vectors, weights)
    assert joined.shape == (3, sizes["grey_hog"] + sizes["geometry"] + sizes["colour"])
    first = joined[:, : sizes["grey_hog"]]
    assert np.allclose(np.linalg.norm(first, axis=1), 2.0)
    assert weights_key(weights) == "s2m0g1c0.5"
