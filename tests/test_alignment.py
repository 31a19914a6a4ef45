"""Text-alignment measures of textgan_lib.alignment with hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from textgan_lib import alignment


def _grid(k=3, m=4, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(k, m, 8, 8, 3))


def test_variance_share_extremes():
    base = _grid()
    only_caption = np.repeat(base[:, :1], 4, axis=1)       # noise changes nothing
    assert alignment.caption_variance_share(only_caption) == pytest.approx(1.0)
    only_noise = np.repeat(base[:1], 3, axis=0)             # caption changes nothing
    assert alignment.caption_variance_share(only_noise) == pytest.approx(0.0, abs=1e-12)
    assert alignment.caption_variance_share(np.zeros((2, 3, 4, 4, 3))) == 0.0


def test_variance_share_known_value():
    # one pixel: captions shift by -1 / +1, noise adds -1 / +1 -> between var 1, total var 2
    x = np.array([[-2.0, 0.0], [0.0, 2.0]]).reshape(2, 2, 1, 1, 1)
    assert alignment.caption_variance_share(x) == pytest.approx(0.5)


def test_matching_and_pairwise():
    real = np.stack([np.full((8, 8, 3), v) for v in (-0.9, 0.0, 0.9)])
    right = real[:, None] + 0.05                            # each near its own real image
    assert alignment.matching_accuracy(right, real) == 1.0
    assert alignment.pairwise_matching(right, real) == 1.0
    wrong = real[[1, 2, 0], None]                           # each is another caption's image
    assert alignment.matching_accuracy(wrong, real) == 0.0
    # by hand (thumbnails are constant, so distances go with (a - b)^2):
    # gen0 = 0.0 (own -0.9): vs real 1 (0.0) loses, vs real 2 (0.9) ties -> 0 + 0.5
    # gen1 = 0.9 (own 0.0):  vs real 0 (-0.9) wins, vs real 2 (0.9) loses -> 1 + 0
    # gen2 = -0.9 (own 0.9): vs real 0 (-0.9) loses, vs real 1 (0.0) loses -> 0 + 0
    assert alignment.pairwise_matching(wrong, real) == pytest.approx(1.5 / 6)
    same = np.zeros((3, 2, 8, 8, 3))                        # every image the same: chance
    assert alignment.pairwise_matching(same, real) == pytest.approx(0.5)


def test_errors():
    with pytest.raises(ValueError, match="K >= 2"):
        alignment.caption_variance_share(np.zeros((1, 2, 4, 4, 3)))
    with pytest.raises(ValueError, match="one real image per caption"):
        alignment.matching_accuracy(np.zeros((3, 8, 8, 3)), np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="multiple of the thumbnail"):
        alignment.pairwise_matching(np.zeros((2, 6, 6, 3)), np.zeros((2, 6, 6, 3)))
    with pytest.raises(ValueError, match="NaN"):
        alignment.caption_variance_share(np.full((2, 2, 4, 4, 3), np.nan))


def test_caption_noise_grid_and_report():
    import keras

    # a "generator" whose image is the caption's value everywhere: noise has no effect
    e_in, z_in = keras.Input((1,)), keras.Input((2,))
    flat = keras.layers.Dense(8 * 8 * 3, use_bias=False, kernel_initializer="ones")(e_in)
    g = keras.Model([e_in, z_in], keras.layers.Reshape((8, 8, 3))(flat))
    emb = np.array([[-0.9], [0.0], [0.9]], np.float32)
    z = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    grid = alignment.caption_noise_grid(g, emb, z)
    assert grid.shape == (3, 4, 8, 8, 3)
    np.testing.assert_allclose(grid[:, :, 0, 0, 0], np.repeat(emb, 4, axis=1), atol=1e-6)
    real = np.stack([np.full((8, 8, 3), v) for v in (-0.9, 0.0, 0.9)])
    report = alignment.steering_report(g, emb, z, real)
    assert report == {"caption variance share": pytest.approx(1.0),
                      "pairwise matching": 1.0, "top-1 matching": 1.0}


def test_code_channel_report_known_cases():
    from textgan_lib.alignment import code_channel_report

    rng = np.random.default_rng(0)
    mu = rng.choice([-3.0, 3.0], size=(64, 16))         # Var(mu) = 9 per dimension
    r = code_channel_report(mu, np.ones_like(mu), num_samples=64)
    assert r["mean_sigma"] == 1.0 and r["bits_needed"] == 6.0
    assert r["median_snr"] == pytest.approx(np.median(mu.var(axis=0)))
    assert r["capacity_bits"] == pytest.approx(0.5 * np.log2(1 + mu.var(axis=0)).sum())
    assert r["identified"] > 0.9                         # well-separated codes: recognised
    noisy = code_channel_report(0.01 * mu, np.ones_like(mu), num_samples=64)
    assert noisy["capacity_bits"] < 0.02 and noisy["identified"] < 0.2
    # sigma that differs between captions: the bound uses the mean of log sigma^2 (Jensen)
    sigma = np.where(np.arange(64)[:, None] % 2 == 0, 0.5, 2.0) * np.ones((64, 16))
    varied = code_channel_report(mu, sigma, num_samples=64)
    expected = 0.5 * np.log2(mu.var(axis=0) + (0.25 + 4.0) / 2).sum()   # mean log s^2 = 0
    assert varied["capacity_bits"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="sigma > 0"):
        code_channel_report(mu, np.zeros_like(mu))


def test_code_channel_identification_matches_the_direct_likelihood():
    from textgan_lib.alignment import code_channel_report

    rng = np.random.default_rng(1)
    mu, sigma = rng.normal(size=(30, 5)), rng.uniform(0.3, 2.0, size=(30, 5))
    r = code_channel_report(mu, sigma, num_samples=30, seed=3)
    again = np.random.default_rng(3)
    rows = again.choice(30, 30, replace=False)
    codes = mu[rows] + sigma[rows] * again.standard_normal((30, 5))
    direct = (-(((codes[:, None] - mu[None]) / sigma[None]) ** 2).sum(-1) / 2
              - np.log(sigma).sum(-1)[None])
    assert r["identified"] == pytest.approx(np.mean(direct.argmax(axis=1) == rows))
