"""Image-quality metrics with an explicit value range.

Taught in ``03_super_resolution``.

PSNR = 10 log10(MAX^2 / MSE), where MAX is the *range* of the pixel values (1 for [0, 1],
2 for [-1, 1], 255 for [0, 255]), a constant of the range and never the image's own maximum.
We map every range to [0, 1] first and call ``tf.image.psnr`` / ``tf.image.ssim`` with
``max_val=1``, so the same pair of images scores the same in any range.
"""
from __future__ import annotations

import tensorflow as tf


def _to_unit(images, value_range):
    lo, hi = value_range
    if not hi > lo:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}.")
    images = tf.cast(images, tf.float32)
    return tf.clip_by_value((images - lo) / (hi - lo), 0.0, 1.0)


def psnr(a, b, value_range=(-1.0, 1.0)):
    """Peak signal-to-noise ratio in dB per image, via ``tf.image.psnr``.

    Taught in ``03_super_resolution``.

    Args:
        a, b: images (B, H, W, C) or (H, W, C) of the same shape, values in ``value_range``
            (values outside are clipped to it, as a display would).
        value_range: (low, high) of the pixel values, e.g. (-1, 1), (0, 1) or (0, 255).

    Returns:
        float32 tensor (B,) or scalar, in dB (inf for identical images).

    Raises:
        ValueError: if ``value_range`` is not (low, high) with high > low.

    Example: a = 0 and b = 0.1 everywhere in [0, 1] (MSE 0.01) scores 20 dB; the same pair
    stored in [-1, 1] (-1 and -0.8) or [0, 255] (0 and 25.5) scores 20 dB too, with the right
    ``value_range``. ``tf.image.psnr(a, b, max_val=1)`` on [-1, 1] data would say 13.98 dB.
    """
    return tf.image.psnr(_to_unit(a, value_range), _to_unit(b, value_range), max_val=1.0)


def ssim(a, b, value_range=(-1.0, 1.0)):
    """Structural similarity per image, via ``tf.image.ssim`` (11x11 Gaussian window).

    Taught in ``03_super_resolution`` (Wang et al., 2004).

    Args and returns as :func:`psnr`; SSIM is in [-1, 1], 1 for identical images. Images must
    be at least 11x11.
    """
    return tf.image.ssim(_to_unit(a, value_range), _to_unit(b, value_range), max_val=1.0)


__all__ = ["psnr", "ssim"]
