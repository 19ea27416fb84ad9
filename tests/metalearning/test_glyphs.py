import numpy as np

from methods.data import glyphs
from methods.data.registry import get_dataset


def test_glyphs_is_registered_as_generated_synthetic_data():
    spec = get_dataset("glyphs")
    assert spec.origin == "synthetic" and not spec.needs_download and not spec.files


def test_letter_classes_are_letters_of_scripts_with_enough_letters():
    points, scripts, fonts = glyphs.letter_classes()
    assert len(points) > 1000
    assert min(points) > 0x24F and all(len(f) >= glyphs.MIN_FONTS for f in fonts)
    counts = {s: scripts.count(s) for s in set(scripts)}
    assert min(counts.values()) >= glyphs.MIN_LETTERS and not set(counts) & glyphs.STYLED


def test_rendering_is_deterministic_and_distortions_change_the_image():
    renderer = glyphs._Renderer()
    a = renderer.draw(0x416, "DejaVuSans.ttf", 52, 10.0, (2, -3), 1)  # Cyrillic Zhe
    assert a.shape == (glyphs.SIZE, glyphs.SIZE) and a.dtype == np.uint8
    assert np.array_equal(a, renderer.draw(0x416, "DejaVuSans.ttf", 52, 10.0, (2, -3), 1))
    assert not np.array_equal(a, renderer.draw(0x416, "DejaVuSerif.ttf", 52, -10.0, (0, 0), 0))
    assert 0.02 < (a > 127).mean() < 0.6


def test_lookalike_letters_are_dropped():
    renderer = glyphs._Renderer()
    # Greek capital Alpha, Cyrillic capital A (same shape), Cyrillic capital Zhe
    base = np.stack([renderer.draw(p, "DejaVuSans.ttf", 56, 0.0, (0, 0), 0) for p in (0x391, 0x410, 0x416)])
    assert glyphs._drop_lookalikes(base).tolist() == [0, 2]
