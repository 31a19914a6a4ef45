"""R-precision, sharpness and the reconstruction term on known cases."""
from __future__ import annotations

import numpy as np
import pytest

from textgan_lib import losses
from textgan_lib.metrics import (r_precision, r_precision_candidates, r_precision_ranks,
                                 sharpness)


def _unit_rows(n, d=32, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_candidates_hold_the_true_caption_first_and_never_among_its_distractors():
    c = r_precision_candidates(400, 100, seed=0)
    assert c.shape == (400, 100)
    assert np.array_equal(c[:, 0], np.arange(400))
    assert not np.any(c[:, 1:] == np.arange(400)[:, None])
    assert all(len(set(row)) == 100 for row in c)          # distinct candidates
    assert np.array_equal(c, r_precision_candidates(400, 100, seed=0))     # a fixed draw
    assert c[:, 1:].min() >= 0 and c[:, 1:].max() == 399


def test_identical_embeddings_score_one():
    e = _unit_rows(400)
    assert r_precision(e, e) == 1.0
    assert r_precision(3.0 * e, e) == 1.0                   # cosine: the scale does not matter


def test_shuffled_embeddings_score_about_chance():
    e = _unit_rows(400, d=64)
    scores = [r_precision(e[np.random.default_rng(s).permutation(400)], e, seed=s)
              for s in range(10)]
    assert np.mean(scores) == pytest.approx(0.01, abs=0.006)


def test_a_constant_image_embedding_never_wins_a_tie():
    e = _unit_rows(200)
    same = np.tile(e[:1], (200, 1))
    ranks = r_precision_ranks(same, np.tile(e[:1], (200, 1)))
    assert np.all(ranks == 99) and r_precision(same, np.tile(e[:1], (200, 1))) == 0.0


def test_a_constant_image_against_distinct_captions_scores_about_chance():
    e = _unit_rows(400, d=64, seed=1)
    same = np.tile(_unit_rows(1, d=64, seed=2), (400, 1))
    scores = [r_precision(same, e, seed=s) for s in range(10)]
    assert np.mean(scores) == pytest.approx(0.01, abs=0.006)
    with pytest.raises(ValueError, match="k must be in"):
        r_precision(e, e, k=0)


def test_rank_counts_the_distractors_scoring_higher():
    captions = np.eye(4)
    images = np.array([[1.0, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 0, 0.2, 1.0], [0, 0, 0, 1.0]])
    # image 1 is closer to caption 0 than to its own; image 2 to caption 3
    assert list(r_precision_ranks(images, captions, num_candidates=4)) == [0, 1, 1, 0]
    assert r_precision(images, captions, num_candidates=4) == 0.5
    assert r_precision(images, captions, num_candidates=4, k=2) == 1.0


def test_r_precision_refuses_bad_shapes():
    with pytest.raises(ValueError, match="n >= num_candidates"):
        r_precision(_unit_rows(50), _unit_rows(50))
    with pytest.raises(ValueError, match="one shape"):
        r_precision(_unit_rows(200, 8), _unit_rows(200, 16))


def test_sharpness_known_values():
    assert sharpness(np.zeros((2, 8, 8, 3))) == 0.0
    checker = np.indices((8, 8)).sum(axis=0) % 2 * 2.0 - 1.0        # +-1 alternating
    img = np.repeat(checker[None, :, :, None], 3, axis=-1)
    assert sharpness(img) == pytest.approx(8.0)     # |4 neighbours - 4 x centre| = |4 + 4|
    ramp = np.tile(np.linspace(-1, 1, 8)[None, None, :, None], (1, 8, 1, 3))
    assert sharpness(ramp) == pytest.approx(0.0, abs=1e-12)           # linear: no curvature
    with pytest.raises(ValueError, match="images must be"):
        sharpness(np.zeros((8, 8, 3)))


def test_reconstruction_loss_is_the_mean_absolute_error():
    a = np.zeros((2, 4, 4, 3), np.float32)
    b = np.full((2, 4, 4, 3), 0.5, np.float32)
    b[0] = -1.0
    assert float(losses.reconstruction_loss(a, b)) == pytest.approx((1.0 + 0.5) / 2)
    assert float(losses.reconstruction_loss(b, b)) == 0.0


def test_noise_report_of_a_generator_that_ignores_the_noise():
    import keras

    from textgan_lib import recognizability as rec

    text = keras.Input((6,))
    z = keras.Input((4,))
    image = keras.layers.Reshape((2, 2, 3))(keras.layers.Dense(12)(text))   # z unused
    g = keras.Model([text, z], image)
    emb = np.random.default_rng(0).normal(size=(10, 6)).astype("float32")
    sets = {"train": rec.EvalSet("train", [str(i) for i in range(10)], emb, None)}
    r = rec.noise_report(g, sets, num_captions=10, num_noise=3)
    assert r["caption_variance_share"] == pytest.approx(1.0) and r["noise_spread"] < 1e-6
    assert len(rec.noise(5, 4)) == 5 and np.array_equal(rec.noise(5, 4), rec.noise(5, 4))
    np.testing.assert_allclose(rec.noise(2, 4, scale=0.0), 0.0)
