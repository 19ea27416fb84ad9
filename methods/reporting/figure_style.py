"""One look for every figure: a colour-blind-safe palette, one colour per method, plain log ticks.

Colours are the Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008), distinguishable
with the common forms of colour blindness, plus grey. Each method has one colour and one marker
in every figure of the suite (``METHOD_STYLE``); methods that share a table get different colours.
A name not listed (a new study's method) takes a colour from a stable hash of its name, so it
keeps that colour from run to run.
"""

from __future__ import annotations

import zlib
from itertools import combinations

OKABE_ITO = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000", "grey": "#999999",
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">")

# Methods that appear together in a table get different colours (checked by the tests).
METHOD_STYLE: dict[str, tuple[str, str]] = {
    # dense references and the trained-from-scratch models
    "fp32": ("black", "o"), "dense": ("black", "o"), "mlp": ("purple", "o"), "cnn": ("orange", "s"),
    "resnet20": ("green", "^"), "resnet56": ("vermillion", "D"),
    # quantization
    "ptq": ("blue", "s"), "qat": ("orange", "^"), "lsq": ("green", "D"), "int8-kernel": ("purple", "v"),
    "wrapnet": ("vermillion", "P"), "posthoc": ("sky", "X"),
    # pruning: the global / layer-wise pairs share a colour family, told apart by marker and line style
    "GlobalMagWeight": ("blue", "o"), "LayerMagWeight": ("sky", "s"), "GlobalMagGrad": ("vermillion", "^"),
    "LayerMagGrad": ("orange", "D"), "GlobalMagAct": ("green", "v"), "LayerMagAct": ("black", "P"),
    "RandomPruning": ("grey", "X"),
    "bonsai": ("vermillion", "o"), "wanda": ("blue", "s"), "flap": ("green", "^"), "magnitude": ("orange", "D"),
    "random": ("grey", "X"), "taylor": ("purple", "v"),
    # meta-learning heads
    "protonet": ("blue", "o"), "r2d2": ("orange", "s"), "svm": ("green", "^"),
    # tabular
    "tdt": ("vermillion", "o"), "logreg": ("blue", "s"), "rf": ("green", "^"),
    "hgb": ("orange", "D"), "row_lr": ("sky", "v"), "row_mlp": ("yellow", "<"), "cell_lr": ("black", ">"),
    "cell_mlp": ("grey", "X"),
    # training-free architecture proxies (random: the first cell drawn, grey as RandomPruning)
    "nasgraph": ("vermillion", "o"), "nasgraph+jacov": ("orange", "X"), "synflow": ("black", "D"),
    "params": ("sky", "s"), "flops": ("purple", "^"), "jacov": ("green", "P"), "naswot": ("yellow", "v"),
    "snip": ("grey", "<"), "grad_norm": ("blue", ">"),
    # optimizers (the colours their names hashed to before they were listed)
    "adam": ("purple", "P"), "adam-cosine": ("blue", "o"), "npacs": ("green", "D"), "pca-adam": ("vermillion", "s"),
    "samuel": ("orange", "X"),
}
LINE_STYLES = ("-", "--", ":", "-.")


def method_style(name: str) -> tuple[str, str]:
    """(hex colour, marker) of a method, metric or series name: the table above, else a stable hash."""
    if name in METHOD_STYLE:
        colour, marker = METHOD_STYLE[name]
        return OKABE_ITO[colour], marker
    digest = zlib.crc32(name.encode("utf-8"))
    colours = list(OKABE_ITO.values())
    return colours[digest % len(colours)], MARKERS[(digest // len(colours)) % len(MARKERS)]


def series_styles(names: list[str]) -> dict[str, tuple[str, str]]:
    """Styles for the series of one figure: the fixed style of each, then a free colour for any hash collision."""
    styles = {name: method_style(name) for name in names}
    taken: set[str] = {styles[n][0] for n in names if n in METHOD_STYLE}
    for name in names:
        if name in METHOD_STYLE:
            continue
        colour, marker = styles[name]
        if colour in taken:
            free = [c for c in OKABE_ITO.values() if c not in taken]
            colour = free[0] if free else colour
            styles[name] = (colour, marker)
        taken.add(colour)
    return styles


def plain_log_axis(axis, base: int, values) -> None:
    """A log axis labelled with plain numbers (2, 4, 8, 16), not 4×10⁰: ticks at the data's own
    values when they are few and round (bit widths), else at base powers; no labelled minor ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    distinct = sorted({float(v) for v in values if v > 0})
    if 0 < len(distinct) <= 8 and all(v == round(v, 2) for v in distinct):
        axis.set_major_locator(FixedLocator(distinct))
    elif base == 2:
        axis.set_major_locator(LogLocator(base=2, subs=(1.0,)))
    else:  # within one decade every integer multiple, else 1-2-5 (overlaps are thinned by declutter)
        narrow = distinct and distinct[-1] / distinct[0] < 10
        axis.set_major_locator(LogLocator(base=10, subs=tuple(range(1, 10)) if narrow else (1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def overlapping_ticks(fig) -> list[tuple[str, str]]:
    """Pairs of visible tick labels of one axis whose drawn bounding boxes intersect."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    pairs = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
            pairs += [(a, b) for (a, box_a), (b, box_b) in combinations(boxes, 2) if box_a.overlaps(box_b)]
    return pairs


def declutter(fig) -> None:
    """Hide every other tick label of an axis until its labels no longer overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            step = 1
            while True:
                labels = [t for t in axis.get_ticklabels() if t.get_text()]
                shown = labels[::step]
                for i, label in enumerate(labels):
                    label.set_visible(i % step == 0)
                boxes = [t.get_window_extent(renderer) for t in shown]
                if len(shown) <= 2 or not any(a.overlaps(b) for a, b in combinations(boxes, 2)):
                    break
                step += 1
