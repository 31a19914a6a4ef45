"""DiffAugment: differentiable augmentation of real *and* generated images for small data sets.

Taught in ``06_training``.

Zhao, Liu, Lin, Zhu & Han (2020), "Differentiable Augmentation for Data-Efficient GAN
Training" (NeurIPS). With a few thousand images, D memorises the training set and its
feedback to G becomes useless. Augmenting only the real images would teach G to draw the
augmentations (shifted, cut-out images); DiffAugment instead applies the *same kind* of random
transformation T to every image D sees, real and fake, in the D step and in the G step:

    D step:  D(T(x), e) vs D(T(G(z, e)), e)        G step:  D(T(G(z, e)), e)

Every T here is differentiable with respect to the image (additions, multiplications,
gathers, masks), so G's gradient passes through it. Each image of a batch gets its own random
draw, taken from a ``keras.random.SeedGenerator`` (reproducible, and saved with a checkpoint).

The three policies of the paper (values as in the authors' code, for images in [-1, 1]):

* ``"color"`` (alias ``"colour"``): brightness + U(-0.5, 0.5); saturation (distance from the
  pixel's channel mean) x U(0, 2); contrast (distance from the image mean) x U(0.5, 1.5).
* ``"translation"``: shift by whole pixels, dy and dx each uniform in [-r, r] with
  r = round(S / 8). **Difference from the paper:** the uncovered border is filled with
  ``pad_value = 1.0``, the white background of the course's images, not with 0 (which is mid
  grey in [-1, 1]) as in the authors' code.
* ``"cutout"``: a square of side round(S / 2) centred at a uniform random pixel is set to 0
  (as in the paper; mid grey in [-1, 1]); near the border the square is clipped by the image.
"""
from __future__ import annotations

import keras
import tensorflow as tf

POLICIES = ("color", "translation", "cutout")
_ALIASES = {"colour": "color"}


def parse_policy(policy) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> ``("color", "translation", "cutout")``.

    Args:
        policy: a comma-separated string, a sequence of names, or ``None``/``""`` (no
            augmentation).

    Returns:
        a tuple of policy names in the order given (each at most once).

    Raises:
        ValueError: for a name other than ``color``/``colour``, ``translation``, ``cutout``.
    """
    if not policy:
        return ()
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    out = []
    for name in names:
        name = _ALIASES.get(name.strip().lower(), name.strip().lower())
        if not name:
            continue
        if name not in POLICIES:
            raise ValueError(f"unknown DiffAugment policy {name!r}; use a comma-separated "
                             f"subset of {', '.join(POLICIES)}.")
        if name not in out:
            out.append(name)
    return tuple(out)


def _seed(seed):
    """None or a SeedGenerator as given; an int becomes a SeedGenerator, so that the draws of
    one call differ from each other (the same int for every draw would make dy == dx)."""
    if seed is None or isinstance(seed, keras.random.SeedGenerator):
        return seed
    return keras.random.SeedGenerator(int(seed))


def _uniform(x, seed, low=0.0, high=1.0):
    """One U(low, high) draw per image, shape (B, 1, 1, 1), in ``x``'s dtype."""
    batch = tf.shape(x)[0]
    u = keras.random.uniform(tf.stack([batch, 1, 1, 1]), minval=low, maxval=high, seed=seed)
    return tf.cast(u, x.dtype)


def rand_brightness(x, seed=None):
    """Add U(-0.5, 0.5) to every pixel of an image (one draw per image). x: (B, H, W, C)."""
    return x + _uniform(x, _seed(seed), -0.5, 0.5)


def rand_saturation(x, seed=None):
    """Scale each pixel's distance from its channel mean by U(0, 2) (one draw per image)."""
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    return (x - mean) * _uniform(x, _seed(seed), 0.0, 2.0) + mean


def rand_contrast(x, seed=None):
    """Scale each image's distance from its own mean by U(0.5, 1.5) (one draw per image)."""
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * _uniform(x, _seed(seed), 0.5, 1.5) + mean


def rand_color(x, seed=None):
    """Brightness, then saturation, then contrast (the paper's ``color`` policy)."""
    seed = _seed(seed)
    return rand_contrast(rand_saturation(rand_brightness(x, seed), seed), seed)


def translate(x, shift_y, shift_x, pad_value: float = 1.0):
    """Move each image by whole pixels: ``out[b, i, j] = x[b, i - dy[b], j - dx[b]]``.

    Args:
        x: float (B, H, W, C).
        shift_y, shift_x: int (B,) shifts in pixels (positive: down / right).
        pad_value: value of the pixels uncovered by the shift (1.0: white in [-1, 1]).

    Returns:
        float (B, H, W, C), differentiable with respect to ``x``.
    """
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    rows = tf.range(height)[None, :] - tf.cast(shift_y, tf.int32)[:, None]      # (B, H)
    cols = tf.range(width)[None, :] - tf.cast(shift_x, tf.int32)[:, None]       # (B, W)
    valid = ((rows >= 0) & (rows < height))[:, :, None, None] & \
        ((cols >= 0) & (cols < width))[:, None, :, None]                         # (B, H, W, 1)
    out = tf.gather(x, tf.clip_by_value(rows, 0, height - 1), axis=1, batch_dims=1)
    out = tf.gather(out, tf.clip_by_value(cols, 0, width - 1), axis=2, batch_dims=1)
    return tf.where(valid, out, tf.cast(pad_value, x.dtype))


def rand_translation(x, seed=None, ratio: float = 0.125, pad_value: float = 1.0,
                     return_shifts: bool = False):
    """Translate each image by dy, dx uniform in [-r, r], r = int(S * ratio + 0.5).

    Returns:
        the translated images, or ``(images, shift_y (B,), shift_x (B,))`` with
        ``return_shifts``.
    """
    seed = _seed(seed)
    batch = tf.shape(x)[0]
    ry = int(int(x.shape[1]) * ratio + 0.5)
    rx = int(int(x.shape[2]) * ratio + 0.5)
    dy = keras.random.randint(tf.reshape(batch, [1]), -ry, ry + 1, seed=seed, dtype="int32")
    dx = keras.random.randint(tf.reshape(batch, [1]), -rx, rx + 1, seed=seed, dtype="int32")
    out = translate(x, dy, dx, pad_value)
    return (out, dy, dx) if return_shifts else out


def cutout(x, top, left, size_y: int, size_x: int):
    """Set the square rows [top, top + size_y) x cols [left, left + size_x) of each image to 0.

    ``top`` and ``left`` are int (B,) and may be negative or reach past the border: the
    square is clipped by the image.
    """
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    r = tf.range(height)[None, :] - tf.cast(top, tf.int32)[:, None]
    c = tf.range(width)[None, :] - tf.cast(left, tf.int32)[:, None]
    inside = ((r >= 0) & (r < size_y))[:, :, None, None] & ((c >= 0) & (c < size_x))[:, None, :, None]
    return x * tf.cast(tf.logical_not(inside), x.dtype)


def rand_cutout(x, seed=None, ratio: float = 0.5, return_corners: bool = False):
    """Cut out (set to 0) one square of side int(S * ratio + 0.5) per image.

    Its centre is uniform over the image as in the paper's code (row in
    [0, H + 1 - size % 2)), its top-left corner is centre - size // 2.

    Returns:
        the images, or ``(images, top (B,), left (B,))`` with ``return_corners``.
    """
    seed = _seed(seed)
    batch = tf.shape(x)[0]
    height, width = int(x.shape[1]), int(x.shape[2])
    sy, sx = int(height * ratio + 0.5), int(width * ratio + 0.5)
    cy = keras.random.randint(tf.reshape(batch, [1]), 0, height + (1 - sy % 2), seed=seed,
                              dtype="int32")
    cx = keras.random.randint(tf.reshape(batch, [1]), 0, width + (1 - sx % 2), seed=seed,
                              dtype="int32")
    top, left = cy - sy // 2, cx - sx // 2
    out = cutout(x, top, left, sy, sx)
    return (out, top, left) if return_corners else out


def diff_augment(images, policy="color,translation,cutout", seed=None,
                 translation_ratio: float = 0.125, cutout_ratio: float = 0.5,
                 pad_value: float = 1.0):
    """Apply the DiffAugment ``policy`` to a batch (Zhao et al., 2020). Taught in ``06_training``.

    Args:
        images: float (B, S, S, 3) in [-1, 1] (real or generated), static S.
        policy: see :func:`parse_policy`; empty: ``images`` returned unchanged (same object).
        seed: a ``keras.random.SeedGenerator`` (its state advances: a new draw each call), an
            int, or None.
        translation_ratio: largest shift as a fraction of the side (1/8 in the paper).
        cutout_ratio: side of the cut-out square as a fraction of the side (1/2 in the paper).
        pad_value: fill of the border uncovered by a translation (1.0, the white background).

    Returns:
        float tensor of the same shape and dtype; differentiable with respect to ``images``.
        Colour can leave [-1, 1] (as in the paper); D sees it, nothing is displayed.

    Raises:
        ValueError: for an unknown policy name.
    """
    names = parse_policy(policy)
    if not names:
        return images
    seed = _seed(seed)
    x = tf.convert_to_tensor(images)
    for name in names:
        if name == "color":
            x = rand_color(x, seed)
        elif name == "translation":
            x = rand_translation(x, seed, translation_ratio, pad_value)
        else:
            x = rand_cutout(x, seed, cutout_ratio)
    return x


__all__ = ["POLICIES", "parse_policy", "diff_augment", "rand_brightness", "rand_saturation",
           "rand_contrast", "rand_color", "translate", "rand_translation", "cutout",
           "rand_cutout"]
