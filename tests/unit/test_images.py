from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clustering.colour import colour_histogram
from clustering.images import fit, load_rgb
from stylescout.settings import ColourConfig


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "I;16", "LA", "RGBA", "RGB"])
def test_every_mode_becomes_rgb(tmp_path: Path, mode: str) -> None:
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    path = tmp_path / f"img.{fmt.lower()}"
    Image.new(mode, (30, 20)).save(path, fmt)
    img = load_rgb(path)
    assert img.mode == "RGB" and img.size == (30, 20)


def test_alpha_is_composited_on_white(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    Image.new("RGBA", (10, 10), (255, 0, 0, 0)).save(path)
    assert load_rgb(path).getpixel((5, 5)) == (255, 255, 255)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.new("RGB", (40, 20), "blue").save(path, exif=exif)
    assert load_rgb(path).size == (20, 40)


def test_fit_pads_or_squashes_to_a_square() -> None:
    img = Image.new("RGB", (60, 80), (10, 20, 30))
    padded = fit(img, 64, pad=True)
    assert padded.shape == (64, 64, 3)
    assert tuple(padded[32, 0]) == (255, 255, 255) and tuple(padded[32, 32]) == (10, 20, 30)
    assert tuple(fit(img, 64, pad=False)[32, 0]) == (10, 20, 30)


def test_colour_histogram_ignores_the_white_background() -> None:
    img = Image.new("RGB", (80, 80), (250, 250, 250))
    img.paste((200, 20, 20), (20, 20, 60, 60))
    hist = colour_histogram(img, ColourConfig())
    assert hist.shape == (512,) and np.isclose((hist**2).sum(), 1.0)
    assert np.count_nonzero(hist) == 1  # only the red garment counts


def test_a_stopped_build_keeps_the_colour_histograms_it_made(tmp_path: Path) -> None:
    from clustering.build import COLOUR_CHUNK, _colour_features
    from clustering.colour import colour_key
    from store import Store
    from tests.conftest import jpeg_bytes, make_config, meta_for

    config = make_config(tmp_path / "data")
    with Store(tmp_path / "data") as store:
        for seed in range(COLOUR_CHUNK + 10):
            store.images.add_image_bytes(jpeg_bytes(seed), meta_for(seed), ["x"])

        def stop_after_the_first_chunk(stage: str, done: int, total: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            _colour_features(store, config, stop_after_the_first_chunk)
        key = colour_key(config.features.colour)
        assert len(store.features.images_without_features(key)) == 10  # the first chunk kept
        _colour_features(store, config, None)  # the next build does only the rest
        assert not store.features.images_without_features(key)
