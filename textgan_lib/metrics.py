"""Image-quality metrics with an explicit value range, R-precision and sharpness.

Taught in ``03_super_resolution`` (PSNR, SSIM) and ``06_training`` (R-precision, sharpness).

PSNR = 10 log10(MAX^2 / MSE), where MAX is the *range* of the pixel values (1 for [0, 1],
2 for [-1, 1], 255 for [0, 255]), a constant of the range and never the image's own maximum.
We map every range to [0, 1] first and call ``tf.image.psnr`` / ``tf.image.ssim`` with
``max_val=1``, so the same pair of images scores the same in any range.
"""
from __future__ import annotations

import numpy as np
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


def r_precision_candidates(n: int, num_candidates: int = 100, seed: int = 0) -> np.ndarray:
    """The candidate captions of R-precision: row i = [i, then num_candidates - 1 others].

    Args:
        n: size of the evaluation set (n >= num_candidates).
        num_candidates: candidates per query, the true caption included (100 in AttnGAN).
        seed: seed of the draw of distractors (a fixed seed: every model meets the same ones).

    Returns:
        int64 (n, num_candidates): column 0 is i itself; columns 1.. are distinct indices
        drawn uniformly from the other n - 1 captions, never i.

    Raises:
        ValueError: if n < num_candidates or num_candidates < 2.
    """
    if num_candidates < 2 or n < num_candidates:
        raise ValueError(f"need n >= num_candidates >= 2, got n={n}, "
                         f"num_candidates={num_candidates}.")
    rng = np.random.default_rng(seed)
    out = np.empty((n, num_candidates), dtype=np.int64)
    for i in range(n):
        others = rng.choice(n - 1, num_candidates - 1, replace=False)
        out[i, 0] = i
        out[i, 1:] = others + (others >= i)        # skip i itself
    return out


def r_precision_ranks(image_embeddings, caption_embeddings, num_candidates: int = 100,
                      seed: int = 0) -> np.ndarray:
    """Rank of the true caption among its candidates (0 = first), by cosine similarity.

    Args:
        image_embeddings: float (N, D), what an image-text encoder reads from image i.
        caption_embeddings: float (N, D), the embedding of image i's true caption (row i).
        num_candidates, seed: see :func:`r_precision_candidates`.

    Returns:
        int64 (N,): how many distractors score at least as high as the true caption (ties
        count against the model, so a constant image embedding cannot score by luck).
    """
    a = np.asarray(image_embeddings, np.float64)
    b = np.asarray(caption_embeddings, np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"embeddings must be two (N, D) arrays of one shape, got {a.shape} "
                         f"and {b.shape}.")
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    candidates = r_precision_candidates(len(a), num_candidates, seed)
    scores = np.einsum("nd,nkd->nk", a, b[candidates])
    return (scores[:, 1:] >= scores[:, :1]).sum(axis=1)


def r_precision(image_embeddings, caption_embeddings, num_candidates: int = 100,
                seed: int = 0, k: int = 1) -> float:
    """R-precision (AttnGAN, Xu et al. 2018): the share of images whose true caption ranks
    in the top ``k`` of ``num_candidates`` (itself + distractors from the same set).

    Chance is k / num_candidates (0.01 for R@1 of 100). See :func:`r_precision_ranks`.

    Raises:
        ValueError: if k is not in 1..num_candidates.
    """
    if not 1 <= k <= num_candidates:
        raise ValueError(f"k must be in 1..{num_candidates}, got {k}.")
    return float(np.mean(r_precision_ranks(image_embeddings, caption_embeddings,
                                           num_candidates, seed) < k))


def sharpness(images) -> float:
    """Mean absolute 4-neighbour Laplacian of images in [-1, 1] (B, H, W, C), interior pixels.

    A blurred average of many images scores low; noise scores high, so read it beside
    R-precision and FID. Real 32 px emoji score about 0.34.
    """
    x = np.asarray(images, np.float64)
    if x.ndim != 4 or x.shape[1] < 3 or x.shape[2] < 3:
        raise ValueError(f"images must be (B, H >= 3, W >= 3, C), got shape {x.shape}.")
    lap = (x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:]
           - 4.0 * x[:, 1:-1, 1:-1])
    return float(np.mean(np.abs(lap)))


__all__ = ["psnr", "ssim", "r_precision", "r_precision_ranks", "r_precision_candidates",
           "sharpness"]
