"""Tests for textgan_lib.losses: exact values of the GAN losses (CASES C01, C02, C05, C14)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from textgan_lib import losses

LN2 = math.log(2.0)


def _np(x) -> np.ndarray:
    return np.asarray(x)


@pytest.mark.parametrize("target", [0.0, 1.0])
def test_bce_at_logit_zero_is_ln2(target):
    value = losses.bce_with_logits(tf.zeros((3, 1)), target)
    np.testing.assert_allclose(_np(value), np.full((3, 1), LN2), rtol=1e-6)


def test_bce_matches_hand_formula():
    s = np.array([-3.0, -0.5, 0.0, 0.7, 4.0], np.float32)
    t = np.array([1.0, 0.0, 1.0, 0.0, 1.0], np.float32)
    p = 1.0 / (1.0 + np.exp(-s.astype(np.float64)))
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(_np(losses.bce_with_logits(s, t)), expected, rtol=1e-5)


def test_discriminator_loss_at_half_is_2ln2():  # C01
    value = losses.discriminator_loss(tf.zeros((4, 1)), tf.zeros((4, 1)))
    assert float(value) == pytest.approx(2 * LN2, rel=1e-6)
    assert float(value) == pytest.approx(1.386, abs=1e-3)


def test_generator_loss_at_half_is_ln2():  # C01
    value = losses.generator_loss(tf.zeros((4, 1)))
    assert float(value) == pytest.approx(LN2, rel=1e-6)


def test_matching_aware_loss_all_zero_is_2ln2():
    z = tf.zeros((5, 1))
    assert float(losses.matching_aware_discriminator_loss(z, z, z)) == pytest.approx(
        2 * LN2, rel=1e-6)
    w = tf.constant([1.0, 0.0, 1.0, 1.0, 0.0])
    assert float(losses.matching_aware_discriminator_loss(z, z, z, w)) == pytest.approx(
        2 * LN2, rel=1e-6)


def test_stable_at_logit_minus_200():  # C02
    s = tf.constant([-200.0])
    value = losses.bce_with_logits(s, 1.0)
    np.testing.assert_allclose(_np(value), [200.0], rtol=1e-6)
    # the naive formula is what the loss avoids: it gives inf in float32
    with np.errstate(divide="ignore", over="ignore"):
        naive = -np.log(1.0 / (1.0 + np.exp(np.float32(200.0))))
    assert not np.isfinite(naive)
    # gradient d/ds BCE(s, 1) = sigmoid(s) - 1 = -1 at s = -200
    x = tf.Variable([-200.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(losses.bce_with_logits(x, 1.0))
    grad = _np(tape.gradient(y, x))
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [-1.0], rtol=1e-6)
    # and the generator loss there is finite too
    assert float(losses.generator_loss(s)) == pytest.approx(200.0, rel=1e-6)


def test_non_saturating_gradient_at_minus_10():  # C05
    s = tf.Variable([[-10.0]])
    with tf.GradientTape() as tape:
        g = losses.generator_loss(s)
    grad = float(_np(tape.gradient(g, s))[0, 0])
    sig = 1.0 / (1.0 + math.exp(10.0))
    assert grad == pytest.approx(sig - 1.0, rel=1e-5)
    assert grad == pytest.approx(-0.99995, abs=1e-5)

    # contrast: the saturating generator objective log(1 - sigmoid(s)) (which G would
    # minimise) has a vanishing gradient -sigmoid(s) there
    with tf.GradientTape() as tape:
        sat = tf.reduce_mean(tf.math.log(1.0 - tf.sigmoid(s)))
    sat_grad = float(_np(tape.gradient(sat, s))[0, 0])
    assert abs(sat_grad) == pytest.approx(sig, rel=1e-3)
    assert abs(sat_grad) == pytest.approx(4.54e-5, rel=1e-2)
    assert abs(grad) / abs(sat_grad) > 2e4


def test_wrong_weights_zero_drops_pair():  # C14
    rr = np.array([0.5, -1.0, 2.0, 0.0], np.float32)
    rw = np.array([1.0, 3.0, -2.0, 0.5], np.float32)
    fr = np.array([-0.3, 0.2, 1.5, -4.0], np.float32)
    w = np.array([1.0, 0.0, 1.0, 1.0], np.float32)

    def softplus(x):
        return np.log1p(np.exp(x.astype(np.float64)))

    real_right = np.mean(softplus(rr) - rr)          # BCE(s, 1)
    fake_right = np.mean(softplus(fr))              # BCE(s, 0)
    real_wrong = np.mean(softplus(rw[[0, 2, 3]]))    # pair 1 dropped
    expected = real_right + 0.5 * (real_wrong + fake_right)
    got = float(losses.matching_aware_discriminator_loss(
        rr[:, None], rw[:, None], fr[:, None], w))
    assert got == pytest.approx(expected, rel=1e-5)
    # with the pair kept, the value is different (the weight really matters)
    kept = real_right + 0.5 * (np.mean(softplus(rw)) + fake_right)
    assert not np.isclose(got, kept, rtol=1e-3)
    unweighted = float(losses.matching_aware_discriminator_loss(rr, rw, fr))
    assert unweighted == pytest.approx(kept, rel=1e-5)


def test_all_wrong_weights_zero_leaves_real_wrong_term_zero():
    rr = np.array([0.0, 0.0], np.float32)
    rw = np.array([5.0, 5.0], np.float32)
    fr = np.array([0.0, 0.0], np.float32)
    got = float(losses.matching_aware_discriminator_loss(rr, rw, fr, np.zeros(2, np.float32)))
    assert got == pytest.approx(LN2 + 0.5 * LN2, rel=1e-6)


def test_float16_logits_give_float32_loss():  # C02, mixed precision
    s16 = tf.constant([[-20.0], [0.0], [3.0]], tf.float16)
    for value in (losses.bce_with_logits(s16, 1.0),
                  losses.discriminator_loss(s16, s16),
                  losses.generator_loss(s16),
                  losses.matching_aware_discriminator_loss(s16, s16, s16)):
        assert value.dtype == tf.float32
        assert np.all(np.isfinite(_np(value)))
    np.testing.assert_allclose(_np(losses.bce_with_logits(s16, 1.0))[0], [20.0], rtol=1e-6)
