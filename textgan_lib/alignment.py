"""Does the caption steer the image? Two measures for a text-conditioned generator.

Taught in ``02_generator`` (used again in ``06_training``).

* :func:`caption_variance_share` - generate a grid of K captions x M noise vectors; the share
  of the pixel variance that is explained by *which caption* (between-caption variance of the
  per-caption mean images, over the total variance). 0: the caption changes nothing; 1: only the
  caption matters. A FiLM generator before training scores exactly 0.
* :func:`matching_accuracy` - for each of K captions, is the generated image closer to the real
  image of *its own* caption than to the real images of the K - 1 others? Distances are taken
  between small (``size`` x ``size``) area-averaged thumbnails, so colour and layout count and
  fine detail does not. Chance level is 1 / K.

Both take images as float arrays in [-1, 1], NHWC. :func:`code_channel_report` asks the same
question one step earlier: how much a conditioning-augmentation code can carry about its caption.
"""
from __future__ import annotations

import numpy as np


def _as_float(images, what):
    images = np.asarray(images, dtype=np.float64)
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{what} contains NaN or inf values.")
    return images


def caption_variance_share(images) -> float:
    """Share of the pixel variance explained by the caption, in [0, 1].

    Args:
        images: float (K, M, H, W, C): K captions x M noise vectors (the same M noise vectors
            for every caption), any value range.

    Returns:
        float: sum over pixels of the variance across captions of the noise-averaged image,
        divided by the sum over pixels of the total variance over all K * M images (the
        "eta squared" of a one-way analysis of variance). 0.0 if all images are identical.

    Raises:
        ValueError: if ``images`` is not 5-D with K >= 2 and M >= 1, or holds NaN/inf.
    """
    images = _as_float(images, "images")
    if images.ndim != 5 or images.shape[0] < 2 or images.shape[1] < 1:
        raise ValueError(f"images must be (K >= 2 captions, M noises, H, W, C), got shape "
                         f"{images.shape}.")
    total = images.reshape(-1, *images.shape[2:]).var(axis=0).sum()
    if total == 0:
        return 0.0
    between = images.mean(axis=1).var(axis=0).sum()
    return float(between / total)


def thumbnails(images, size: int = 8) -> np.ndarray:
    """Area-average (N, H, W, C) images to (N, size, size, C) float64 thumbnails.

    Raises:
        ValueError: if H or W is not a multiple of ``size``.
    """
    images = _as_float(images, "images")
    n, h, w, c = images.shape
    if h % size or w % size:
        raise ValueError(f"image size {h}x{w} is not a multiple of the thumbnail size {size}.")
    return images.reshape(n, size, h // size, size, w // size, c).mean(axis=(2, 4))


def _thumbnail_distances(generated, real, size):
    """Squared distances (K*M, K) from each generated thumbnail to each real one, and the
    caption index (K*M,) of each generated image."""
    generated = _as_float(generated, "generated")
    if generated.ndim == 4:
        generated = generated[:, None]
    real = _as_float(real, "real")
    k, m = generated.shape[:2]
    if real.shape[0] != k or k < 2:
        raise ValueError(f"need one real image per caption and K >= 2; got {k} generated "
                         f"caption groups and {real.shape[0]} real images.")
    gen = thumbnails(generated.reshape(k * m, *generated.shape[2:]), size).reshape(k * m, -1)
    ref = thumbnails(real, size).reshape(k, -1)
    return ((gen[:, None, :] - ref[None, :, :]) ** 2).sum(axis=-1), np.repeat(np.arange(k), m)


def matching_accuracy(generated, real, size: int = 8) -> float:
    """Fraction of captions whose generated image is nearest to their own real image.

    Args:
        generated: float (K, M, H, W, C) (M noise vectors per caption) or (K, H, W, C),
            in [-1, 1].
        real: float (K, H', W', C) in [-1, 1]: the real image of each of the K captions
            (any size that is a multiple of ``size``; both are reduced to ``size`` x ``size``).
        size: thumbnail side in pixels.

    Returns:
        float in [0, 1]: over all K * M generated images, the share whose nearest real
        thumbnail (Euclidean distance) is the one of their own caption. Chance is 1 / K.

    Raises:
        ValueError: if the caption counts differ, K < 2, or sizes are not multiples of ``size``.
    """
    distances, own = _thumbnail_distances(generated, real, size)
    return float(np.mean(distances.argmin(axis=1) == own))


def pairwise_matching(generated, real, size: int = 8) -> float:
    """Two-alternative matching: how often a generated image is closer to its own caption's
    real image than to another caption's.

    For every generated image of caption k and every other caption j != k, the pair counts as
    right when the thumbnail distance to real image k is smaller than to real image j (ties
    count half). Chance is 0.5 whatever K is, so unlike :func:`matching_accuracy` it does not
    get harder with more captions: it is the area under the ROC curve of "own vs other".

    Args:
        generated: float (K, M, H, W, C) or (K, H, W, C) in [-1, 1].
        real: float (K, H', W', C) in [-1, 1].
        size: thumbnail side in pixels.

    Returns:
        float in [0, 1]; 0.5 is chance.

    Raises:
        ValueError: as :func:`matching_accuracy`.
    """
    distances, own = _thumbnail_distances(generated, real, size)
    rows = np.arange(len(own))
    d_own = distances[rows, own][:, None]
    other = np.ones_like(distances, dtype=bool)
    other[rows, own] = False
    wins = (d_own < distances) + 0.5 * (d_own == distances)
    return float(wins[other].mean())


def caption_noise_grid(generator, embeddings, z) -> np.ndarray:
    """Generate every caption with every noise vector.

    Args:
        generator: a Keras model ``[embedding (B, D), z (B, z_dim)] -> image (B, H, W, C)``.
        embeddings: float (K, D), one row per caption.
        z: float (M, z_dim), the noise vectors (the same M for every caption).

    Returns:
        float32 (K, M, H, W, C): row k, column m is caption k drawn with noise m.
    """
    embeddings, z = np.asarray(embeddings, np.float32), np.asarray(z, np.float32)
    k, m = len(embeddings), len(z)
    out = np.asarray(generator.predict([np.repeat(embeddings, m, 0), np.tile(z, (k, 1))],
                                       verbose=0))
    return out.reshape(k, m, *out.shape[1:])


def steering_report(generator, embeddings, z, real) -> dict:
    """The three measures of this module for K captions x M noise vectors.

    Taught in ``02_generator``.

    Args:
        generator: as :func:`caption_noise_grid`.
        embeddings: float (K, D), K >= 2 captions.
        z: float (M, z_dim).
        real: float (K, H', W', C) in [-1, 1], the real image of each caption.

    Returns:
        dict with ``"caption variance share"``, ``"pairwise matching"`` and
        ``"top-1 matching"`` (floats in [0, 1]).
    """
    images = caption_noise_grid(generator, embeddings, z)
    return {"caption variance share": caption_variance_share(images),
            "pairwise matching": pairwise_matching(images, real),
            "top-1 matching": matching_accuracy(images, real)}


def code_channel_report(mu, sigma, num_samples: int = 400, seed: int = 0) -> dict:
    """How much a conditioning-augmentation code c ~ N(mu(e), sigma(e)^2) says about its caption.

    Taught in ``02_generator`` and ``06_training``. Treat each of the C code dimensions as a
    noisy channel: the caption's signal is mu (its variance across captions, per dimension),
    the noise is the sampled sigma * eps. The signal-to-noise ratio is
    ``snr_j = Var_captions(mu_j) / mean(sigma_j^2)``. The information one dimension carries
    about the caption, I = h(c_j) - h(c_j | caption), is at most
    ``0.5 * log2((Var(mu_j) + mean(sigma_j^2)) / exp(mean(log sigma_j^2)))`` bits: a Gaussian
    has the largest entropy for its variance, and h(c_j | caption) is the mean of
    0.5 log2(2 pi e sigma^2). (With one sigma for every caption this is Shannon's
    ``0.5 * log2(1 + snr_j)``.) The dimensions' noises are independent given the caption, so
    the sum over dimensions bounds what one sampled code can tell the generator about which
    caption it came from. Telling N captions apart needs log2(N) bits.

    Args:
        mu, sigma: float (N, C), the code's mean and standard deviation for N captions.
        num_samples: captions drawn for the identification test.
        seed: seed of that draw and of the codes' noise.

    Returns:
        dict: ``mean_sigma``; ``median_snr``; ``capacity_bits`` (the bound above, summed over dimensions);
        ``bits_needed`` (log2 N); ``identified``: the share of sampled codes whose most likely
        caption (the highest Gaussian likelihood among all N) is the one they were drawn
        from (1 / N by chance).
    """
    mu = np.asarray(mu, np.float64)
    sigma = np.asarray(sigma, np.float64)
    if mu.ndim != 2 or mu.shape != sigma.shape or len(mu) < 2 or np.any(sigma <= 0):
        raise ValueError(f"mu and sigma must be (N >= 2, C) with sigma > 0, got {mu.shape} and "
                         f"{sigma.shape}.")
    noise_var = np.mean(sigma ** 2, axis=0)
    snr = mu.var(axis=0) / noise_var
    bits = 0.5 * np.log2((mu.var(axis=0) + noise_var) / np.exp(np.mean(2 * np.log(sigma), 0)))
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(mu), min(num_samples, len(mu)), replace=False)
    codes = mu[rows] + sigma[rows] * rng.standard_normal((len(rows), mu.shape[1]))
    # log-likelihood of each code under every caption's Gaussian (constants dropped), with
    # sum_c (x_c - m_c)^2 / s_c^2 expanded into matrix products: (samples, N), not (samples, N, C)
    precision = 1.0 / sigma ** 2
    loglik = -0.5 * ((codes ** 2) @ precision.T - 2.0 * codes @ (mu * precision).T
                     + (mu ** 2 * precision).sum(-1)[None]) - np.log(sigma).sum(-1)[None]
    return {"mean_sigma": float(sigma.mean()), "median_snr": float(np.median(snr)),
            "capacity_bits": float(bits.sum()),
            "bits_needed": float(np.log2(len(mu))),
            "identified": float(np.mean(loglik.argmax(axis=1) == rows))}


__all__ = ["caption_variance_share", "matching_accuracy", "pairwise_matching", "thumbnails",
           "caption_noise_grid", "steering_report", "code_channel_report"]
