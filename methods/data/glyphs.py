"""Synthetic glyph alphabets: an Omniglot-like few-shot set rendered from fonts (no download).

Each class is one Unicode letter (category Lo, Lu or Ll, above U+024F) of a script ("alphabet"),
rendered from the DejaVu and STIX fonts that ship inside matplotlib. Each of the 20 "drawers" is a
seeded random distortion of that letter: the font (among those whose cmap covers it), its size, a
rotation, a shift and a stroke-width change (Pillow max/min filters), drawn at 84x84 and resized to
28x28 (ink = 255), as Omniglot is prepared. Letters that render empty (ink fraction under 0.5%) or
that look the same as an earlier letter (Greek Alpha and Cyrillic A) are dropped. Styled copies of
Latin and Greek (the Mathematical Alphanumeric block and the like) are left out, and only scripts
with at least ``MIN_LETTERS`` letters are kept. The generation is fully determined by ``SEED``.

This data is **synthetic** and comparable with no paper (see the meta-learning brief, §5.1).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .formats import save_arrays
from .registry import DatasetSpec

SEED = 20240607
DRAWERS = 20
SIZE = 28
CANVAS = 84
MIN_LETTERS = 20
MIN_FONTS = 3  # a letter must be covered by at least this many fonts, so drawers differ in style
FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
)
# scripts whose "letters" are styled copies of other scripts' letters
STYLED = {"MATHEMATICAL", "DOUBLE-STRUCK", "SCRIPT", "BLACK-LETTER", "TURNED", "PLANCK", "EULER", "ROMAN"}


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"


def letter_classes() -> tuple[list[int], list[str], list[list[str]]]:
    """Code points, script names and covering fonts of every candidate letter (sorted)."""
    from fontTools.ttLib import TTFont

    coverage = {name: set(TTFont(_font_dir() / name).getBestCmap()) for name in FONTS}
    letters = sorted(set().union(*coverage.values()))
    points, scripts, fonts = [], [], []
    for point in letters:
        char = chr(point)
        if point <= 0x24F or unicodedata.category(char) not in ("Lo", "Lu", "Ll"):
            continue
        covering = [name for name in FONTS if point in coverage[name]]
        script = unicodedata.name(char, "?").split()[0]
        if len(covering) < MIN_FONTS or script in STYLED:
            continue
        points.append(point)
        scripts.append(script)
        fonts.append(covering)
    counts = {s: scripts.count(s) for s in set(scripts)}
    keep = [i for i, s in enumerate(scripts) if counts[s] >= MIN_LETTERS]
    return [points[i] for i in keep], [scripts[i] for i in keep], [fonts[i] for i in keep]


class _Renderer:
    """Draws one letter with one drawer's distortion; fonts are loaded once per (file, size)."""

    def __init__(self) -> None:
        self._fonts: dict = {}

    def font(self, name: str, size: int):
        from PIL import ImageFont

        key = (name, size)
        if key not in self._fonts:
            self._fonts[key] = ImageFont.truetype(str(_font_dir() / name), size)
        return self._fonts[key]

    def draw(self, point: int, font: str, size: int, angle: float, shift: tuple[int, int], stroke: int) -> np.ndarray:
        from PIL import Image, ImageDraw, ImageFilter

        canvas = Image.new("L", (CANVAS, CANVAS), 0)
        ImageDraw.Draw(canvas).text((CANVAS // 2 + shift[0], CANVAS // 2 + shift[1]), chr(point), fill=255,
                                    font=self.font(font, size), anchor="mm")
        if stroke > 0:
            canvas = canvas.filter(ImageFilter.MaxFilter(2 * stroke + 1))
        elif stroke < 0:
            canvas = canvas.filter(ImageFilter.MinFilter(3))
        canvas = canvas.rotate(angle, resample=Image.Resampling.BILINEAR)
        return np.asarray(canvas.resize((SIZE, SIZE), Image.Resampling.LANCZOS))


def _drop_lookalikes(base: np.ndarray, tolerance: float = 0.02) -> np.ndarray:
    """Indices of letters whose undistorted rendering differs from every earlier kept one.

    Two renderings differ by the fraction of pixels whose ink differs; for 0/1 images a and b that
    count is ``|a| + |b| - 2 a.b``, so one integer matrix product gives every pair at once.
    """
    flat = (base.reshape(len(base), -1) > 127).astype(np.float64)
    ink = flat.sum(axis=1)
    differing = ink[:, None] + ink[None, :] - 2.0 * (flat @ flat.T)  # exact: integer counts below 2**53
    too_close = differing < tolerance * flat.shape[1]
    keep: list[int] = []
    for i in range(len(flat)):
        if not too_close[i, keep].any():
            keep.append(i)
    return np.array(keep, dtype=np.int64)


def generate(seed: int = SEED, drawers: int = DRAWERS) -> dict[str, np.ndarray]:
    """Render every kept letter ``drawers`` times; returns the arrays of the prepared npz."""
    points, scripts, fonts = letter_classes()
    renderer = _Renderer()
    base = np.stack([renderer.draw(p, FONTS[0] if FONTS[0] in f else f[0], 56, 0.0, (0, 0), 0)
                     for p, f in zip(points, fonts)])
    ink = (base > 127).mean(axis=(1, 2))
    candidates = np.flatnonzero(ink >= 0.005)
    kept = candidates[_drop_lookalikes(base[candidates])]
    rng = np.random.default_rng(seed)
    images = np.empty((len(kept), drawers, SIZE, SIZE), dtype=np.uint8)
    for row, index in enumerate(kept):
        for drawer in range(drawers):
            images[row, drawer] = renderer.draw(
                points[index], str(rng.choice(fonts[index])), int(rng.integers(44, 64)),
                float(rng.uniform(-15, 15)), (int(rng.integers(-6, 7)), int(rng.integers(-6, 7))),
                int(rng.choice([-1, 0, 0, 1, 2])))
    names = sorted({scripts[i] for i in kept})
    return {
        "images": images,
        "codepoints": np.array([points[i] for i in kept], dtype=np.int64),
        "alphabet": np.array([names.index(scripts[i]) for i in kept], dtype=np.int64),
        "alphabet_names": np.array(names),
        "seed": np.array(seed, dtype=np.int64),
    }


def prepare(raw_dir: Path, out: Path) -> None:
    arrays = generate()
    if len(arrays["images"]) < 500:
        raise DataError(f"glyphs: only {len(arrays['images'])} letter classes rendered, expected at least 500 "
                        f"(fonts under {_font_dir()})")
    save_arrays(out, **arrays)


DATASETS = (
    DatasetSpec(
        name="glyphs",
        title="Synthetic glyph alphabets (28x28, rendered from matplotlib's DejaVu and STIX fonts)",
        licence="generated; fonts: DejaVu (Bitstream Vera licence) and STIX (SIL OFL 1.1)",
        citation="generated by effrepro (methods/data/glyphs.py); Omniglot-like layout after Lake et al., "
                 "Science 2015",
        homepage="https://matplotlib.org",
        prepare=prepare,
        origin="synthetic",
        notes="Synthetic: not comparable with any paper. No download; rendered with a fixed seed.",
    ),
)
