"""Captioned shapes: procedural images whose captions say exactly what is drawn.

Taught in ``02_generator`` (used again in ``06_training``).

"a small red circle in the top left": colour x shape x size x position, drawn with Pillow on
a white background. Because the attributes that made each image are kept, a *generated* image
can be scored exactly for text alignment with :func:`score_attributes`, an analytic scorer
(no network): colour from the mean colour of the drawn pixels, shape from how much of its
bounding box the shape fills (square 1, circle pi/4, triangle 1/2), size from its area,
position from its centroid.

The train/validation split is by caption (a SHA-1 hash of the caption, as for the emoji set),
so validation captions are *combinations of attributes the generator never saw together*.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

#: Colour names and their RGB values (chosen far apart, and far from the white background).
COLOURS = {"red": (220, 30, 30), "green": (30, 160, 50), "blue": (30, 70, 220),
           "yellow": (235, 200, 0), "purple": (140, 40, 180), "orange": (245, 120, 0)}
SHAPES = ("circle", "square", "triangle")
SIZES = ("small", "large")
#: Position names and the centre of the shape, as fractions of the image side (x, y).
POSITIONS = {"top left": (0.3, 0.3), "top right": (0.7, 0.3), "center": (0.5, 0.5),
             "bottom left": (0.3, 0.7), "bottom right": (0.7, 0.7)}
#: Radius of the shape's circumscribed circle, as a fraction of the image side.
RADII = {"small": 0.15, "large": 0.24}
ATTRIBUTES = ("colour", "shape", "size", "position")
VAL_PERCENT = 15
#: Area of each shape for radius 1 (see ``_draw``), and the radius cut between the two sizes
#: (radii vary by 0.9..1.1 around ``RADII``).
_AREA_FACTOR = {"circle": np.pi, "square": 1.6 ** 2, "triangle": 3 * np.sqrt(3) / 4}
_RADIUS_CUT = 0.5 * (1.1 * RADII["small"] + 0.9 * RADII["large"])


def caption_of(colour: str, shape: str, size: str, position: str) -> str:
    """``"a small red circle in the top left"`` (every attribute by name)."""
    return f"a {size} {colour} {shape} in the {position}"


def all_captions() -> list[str]:
    """All 6 x 3 x 2 x 5 = 180 captions, in attribute order."""
    return [caption_of(c, s, z, p) for c in COLOURS for s in SHAPES for z in SIZES
            for p in POSITIONS]


def split_of(caption: str) -> str:
    """``"val"`` for about 15 % of the captions (SHA-1 of the caption), else ``"train"``."""
    digest = int(hashlib.sha1(caption.encode("utf-8")).hexdigest(), 16)
    return "val" if digest % 100 < VAL_PERCENT else "train"


@dataclass
class ShapesSet:
    """Shapes images with captions and the attributes that drew them (row ``i`` is one pair).

    Attributes:
        images: uint8 (N, S, S, 3), RGB 0..255, NHWC, white background.
        captions: N captions.
        attributes: dict ``colour``/``shape``/``size``/``position`` -> int64 (N,) indices into
            ``list(COLOURS)``, ``SHAPES``, ``SIZES``, ``list(POSITIONS)``.
        image_ids: int64 (N,): the index of the caption in :func:`all_captions`. Two images with
            the same caption share an id, so a "wrong caption" drawn from the batch is never one
            that describes the image (see :func:`textgan_lib.training.wrong_caption_pairs`).
    """

    images: np.ndarray
    captions: list[str]
    attributes: dict = field(default_factory=dict)
    image_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)


def _draw(draw, shape: str, cx: float, cy: float, r: float, rgb) -> None:
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rgb)
    elif shape == "square":
        h = r * 0.8  # half side: a square of side 1.6 r has about the circle's area
        draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=rgb)
    else:  # an upward triangle inscribed in the circle of radius r
        draw.polygon([(cx, cy - r), (cx - 0.866 * r, cy + 0.5 * r),
                      (cx + 0.866 * r, cy + 0.5 * r)], fill=rgb)


def make_shapes(n: int, image_size: int = 128, split: str | None = None, seed: int = 0,
                jitter: float = 0.03) -> ShapesSet:
    """Draw ``n`` random captioned shapes.

    Taught in ``02_generator``.

    Each image: uniform random attributes (restricted to the captions of ``split``), the
    centre moved by up to ``jitter`` x side and the radius scaled by 0.9..1.1. Drawn at 4x the
    size with Pillow and area-averaged down, so edges are anti-aliased.

    Args:
        n: number of images (>= 1).
        image_size: side S in pixels (>= 16).
        split: ``"train"``, ``"val"`` or ``None`` (all 180 captions).
        seed: seed of the random attributes and jitter (same seed -> same images).
        jitter: maximal centre offset as a fraction of the side.

    Returns:
        a :class:`ShapesSet`.

    Raises:
        ValueError: if ``n < 1``, ``image_size < 16`` or ``split`` is not one of the above.
    """
    from PIL import Image, ImageDraw

    if n < 1 or image_size < 16:
        raise ValueError(f"need n >= 1 and image_size >= 16, got n={n}, image_size={image_size}.")
    if split not in (None, "train", "val"):
        raise ValueError(f"split={split!r}; use 'train', 'val' or None.")
    combos = [(ci, si, zi, pi) for ci in range(len(COLOURS)) for si in range(len(SHAPES))
              for zi in range(len(SIZES)) for pi in range(len(POSITIONS))]
    captions_all = all_captions()
    allowed = [k for k, c in enumerate(captions_all) if split is None or split_of(c) == split]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(allowed, size=n)
    big = image_size * 4
    images = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    colours, positions = list(COLOURS.values()), list(POSITIONS.values())
    for i, k in enumerate(chosen):
        ci, si, zi, pi = combos[k]
        px, py = positions[pi]
        cx = (px + rng.uniform(-jitter, jitter)) * big
        cy = (py + rng.uniform(-jitter, jitter)) * big
        r = RADII[SIZES[zi]] * rng.uniform(0.9, 1.1) * big
        canvas = Image.new("RGB", (big, big), (255, 255, 255))
        _draw(ImageDraw.Draw(canvas), SHAPES[si], cx, cy, r, colours[ci])
        images[i] = np.asarray(canvas.resize((image_size, image_size), Image.BOX))
    attrs = np.array([combos[k] for k in chosen], dtype=np.int64).reshape(n, 4)
    return ShapesSet(images=images, captions=[captions_all[k] for k in chosen],
                     attributes={name: attrs[:, j] for j, name in enumerate(ATTRIBUTES)},
                     image_ids=np.asarray(chosen, dtype=np.int64))


def _as_uint8(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected images (N, H, W, 3), got shape {images.shape}.")
    if images.dtype == np.uint8:
        return images
    if not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or inf values.")
    return np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def score_attributes(images, threshold: float = 0.5) -> dict:
    """Read colour, shape, size and position off images, analytically.

    Taught in ``02_generator``.

    Each pixel's *coverage* is its distance from white over the distance of the nearest palette
    colour from white, clipped to [0, 1] (anti-aliased edges are partly covered); a pixel is
    "drawn" when its coverage is at least ``threshold``. Then: colour = palette colour nearest
    to the mean of the fully covered pixels; shape = covered area (sum of coverage) over the
    area of its bounding box, measured with soft extents (square 1, circle pi/4, triangle 1/2;
    cut at 0.92 and 0.74); size = the radius that this shape would need for the covered area,
    cut midway between the two sizes' ranges;
    position = the position centre nearest to the coverage-weighted centroid.

    Args:
        images: (N, H, W, 3) uint8, or float in [-1, 1].
        threshold: see above, in (0, 1).

    Returns:
        dict ``colour``/``shape``/``size``/``position`` -> int64 (N,) indices (as in
        :class:`ShapesSet`), plus ``drawn`` -> bool (N,), False where nothing was drawn (all
        four attributes are then -1, which never matches).

    Raises:
        ValueError: if ``images`` is not (N, H, W, 3) or holds NaN/inf.
    """
    x = _as_uint8(images).astype(np.float32)
    n, h, w, _ = x.shape
    palette = np.array(list(COLOURS.values()), dtype=np.float32)          # (6, 3)
    dist_white = np.linalg.norm(255.0 - x, axis=-1)                       # (N, H, W)
    coverage = np.clip(dist_white / np.linalg.norm(255.0 - palette, axis=-1).min(), 0.0, 1.0)
    mask = coverage >= threshold
    out = {name: np.full(n, -1, dtype=np.int64) for name in ATTRIBUTES}
    out["drawn"] = mask.reshape(n, -1).sum(axis=1) >= 2
    centres = np.array(list(POSITIONS.values()), dtype=np.float32)
    ys, xs = np.mgrid[0:h, 0:w]
    for i in np.flatnonzero(out["drawn"]):
        m, cov = mask[i], coverage[i]
        full = cov >= 0.9
        pixels = x[i][full] if full.any() else x[i][m]
        out["colour"][i] = np.argmin(np.linalg.norm(palette - pixels.mean(axis=0), axis=1))
        rows, cols = ys[m], xs[m]
        box = cov[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        area = box.sum()                                   # covered area in pixels (exact)
        width, height = box.max(axis=0).sum(), box.max(axis=1).sum()  # soft extents
        fill = area / (width * height)
        shape = 1 if fill > 0.92 else (0 if fill > 0.74 else 2)
        out["shape"][i] = shape
        radius = np.sqrt(area / _AREA_FACTOR[SHAPES[shape]] / (h * w))
        out["size"][i] = int(radius > _RADIUS_CUT)
        weight = cov * m
        centroid = np.array([(xs * weight).sum() / weight.sum() / w,
                             (ys * weight).sum() / weight.sum() / h], dtype=np.float32)
        out["position"][i] = np.argmin(np.linalg.norm(centres - (centroid + 0.5 / h), axis=1))
    return out


def attribute_accuracy(images, attributes: dict) -> dict:
    """Share of images whose scored attributes equal the caption's, per attribute and overall.

    Args:
        images: (N, H, W, 3) uint8 or float in [-1, 1] (e.g. generated for the captions).
        attributes: the captions' attributes, as :attr:`ShapesSet.attributes`.

    Returns:
        dict of floats in [0, 1]: ``colour``, ``shape``, ``size``, ``position`` and ``all``
        (all four right). Chance: 1/6, 1/3, 1/2, 1/5 and 1/180.
    """
    scored = score_attributes(images)
    right = {name: scored[name] == np.asarray(attributes[name]) for name in ATTRIBUTES}
    result = {name: float(np.mean(r)) for name, r in right.items()}
    result["all"] = float(np.mean(np.all(np.stack(list(right.values())), axis=0)))
    return result


__all__ = ["COLOURS", "SHAPES", "SIZES", "POSITIONS", "ATTRIBUTES", "ShapesSet", "make_shapes",
           "caption_of", "all_captions", "split_of", "score_attributes", "attribute_accuracy"]
