"""Tests for textgan_lib.losses: exact values of the GAN losses (CASES C01, C02, C05, C14)."""
from __future__ import annotations

import math

import keras
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


# --- issue 5: saturating vs non-saturating, hinge, sigmoid-head mismatch, optimal D, penalties ---

def _grad_wrt_logits(loss_fn, value):
    s = tf.Variable([[value]])
    with tf.GradientTape() as tape:
        y = loss_fn(s)
    return float(_np(tape.gradient(y, s))[0, 0])


def test_bce_terms_at_half_are_ln2_each():  # C01
    half = tf.zeros((2, 1))  # logit 0 <=> D = 0.5
    assert float(tf.reduce_mean(losses.bce_with_logits(half, 1.0))) == pytest.approx(LN2, rel=1e-6)
    assert float(tf.reduce_mean(losses.bce_with_logits(half, 0.0))) == pytest.approx(LN2, rel=1e-6)
    assert float(losses.discriminator_loss(half, half)) == pytest.approx(math.log(4.0), rel=1e-6)


def test_saturating_generator_loss_library_version():  # C05
    assert float(losses.saturating_generator_loss(tf.zeros((3, 1)))) == pytest.approx(-LN2)
    sat = _grad_wrt_logits(losses.saturating_generator_loss, -10.0)
    non_sat = _grad_wrt_logits(losses.generator_loss, -10.0)
    assert sat == pytest.approx(-4.5398e-5, rel=1e-3)   # -sigmoid(-10)
    assert non_sat == pytest.approx(-0.9999546, rel=1e-6)  # sigmoid(-10) - 1
    # stable: finite at extreme logits, where log(1 - sigmoid(s)) by hand gives -inf
    value = float(losses.saturating_generator_loss(tf.constant([[200.0]])))
    assert value == pytest.approx(-200.0, rel=1e-6)


def test_log_sigmoid_minus_200_is_finite():  # C02
    s = tf.constant(-200.0)
    assert float(tf.math.log(tf.sigmoid(s))) == -math.inf  # the naive way in float32
    assert float(-losses.bce_with_logits(s, 1.0)) == pytest.approx(-200.0, rel=1e-7)


def test_sigmoid_head_with_from_logits_true():  # C06
    bce_from_logits = keras.losses.BinaryCrossentropy(from_logits=True)
    # D outputs the probability 0.9 for a real image
    right = float(losses.bce_with_logits(math.log(0.9 / 0.1), 1.0))  # its logit is ln 9
    wrong = float(bce_from_logits([[1.0]], [[0.9]]))  # the probability taken as a logit
    assert right == pytest.approx(-math.log(0.9), rel=1e-5)
    assert right == pytest.approx(0.105, abs=5e-4)
    assert wrong == pytest.approx(math.log1p(math.exp(-0.9)), rel=1e-5)
    assert wrong == pytest.approx(0.341, abs=5e-4)
    # a perfect D (probability 1 on real, 0 on fake) cannot get below softplus(-1) + ln 2
    floor = (float(bce_from_logits([[1.0]], [[1.0]]))
             + float(bce_from_logits([[0.0]], [[0.0]])))
    assert floor == pytest.approx(math.log1p(math.exp(-1.0)) + LN2, rel=1e-5)
    assert floor == pytest.approx(1.006, abs=5e-4)


def test_hinge_losses_values_and_gradients():
    z = tf.zeros((4, 1))
    assert float(losses.hinge_discriminator_loss(z, z)) == pytest.approx(2.0)
    assert float(losses.hinge_generator_loss(z)) == pytest.approx(0.0)
    real = tf.constant([[2.0], [0.5], [-1.0], [1.0]])
    fake = tf.constant([[-3.0], [0.0], [-0.5], [1.0]])
    expected = np.mean([0.0, 0.5, 2.0, 0.0]) + np.mean([0.0, 1.0, 0.5, 2.0])
    assert float(losses.hinge_discriminator_loss(real, fake)) == pytest.approx(expected)
    # gradient of the G hinge loss is -1/B for every fake, even a hopeless one
    s = tf.Variable([[-50.0], [0.0]])
    with tf.GradientTape() as tape:
        g = losses.hinge_generator_loss(s)
    np.testing.assert_allclose(_np(tape.gradient(g, s)), [[-0.5], [-0.5]])
    z5 = tf.zeros((5, 1))
    assert float(losses.matching_aware_hinge_discriminator_loss(z5, z5, z5)) == pytest.approx(2.0)
    w = tf.constant([1.0, 0.0, 1.0, 1.0, 1.0])
    big_wrong = tf.constant([[-5.0], [9.0], [-5.0], [-5.0], [-5.0]])  # only pair 1 is violated
    assert float(losses.matching_aware_hinge_discriminator_loss(z5, big_wrong, z5, w)) == \
        pytest.approx(1.0 + 0.5 * (0.0 + 1.0))


def _normal_pdf(x, mu, sigma):
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def test_optimal_discriminator_two_gaussians():
    # p_data = N(0, 1), p_g = N(1, 1): D*(x) = sigmoid(log p_data - log p_g) = sigmoid(0.5 - x)
    x = np.linspace(-4, 5, 91)
    d_star = losses.optimal_discriminator(_normal_pdf(x, 0, 1), _normal_pdf(x, 1, 1))
    np.testing.assert_allclose(d_star, 1 / (1 + np.exp(x - 0.5)), rtol=1e-10)
    assert losses.optimal_discriminator(0.0, 0.0) == 0.5
    # sampling check: among pooled samples near x0, the fraction that came from p_data is D*(x0)
    rng = np.random.default_rng(0)
    n = 400_000
    real, fake = rng.normal(0, 1, n), rng.normal(1, 1, n)
    for x0 in (-1.0, 0.5, 2.0):
        near_real = np.sum(np.abs(real - x0) < 0.05)
        near_fake = np.sum(np.abs(fake - x0) < 0.05)
        frac = near_real / (near_real + near_fake)
        assert frac == pytest.approx(1 / (1 + math.exp(x0 - 0.5)), abs=0.02)
    # and D* maximises the value function pointwise: any other D gives a lower V
    pd, pg = _normal_pdf(x, 0, 1), _normal_pdf(x, 1, 1)

    def value(d):
        return np.sum(pd * np.log(d) + pg * np.log(1 - d)) * (x[1] - x[0])
    for other in (np.full_like(x, 0.5), np.clip(d_star + 0.05, 0.01, 0.99), 1 - d_star):
        assert value(d_star) > value(other)


def _linear_d(w_image, w_text=None):
    """D(x, e) = <w_image, x> (+ <w_text, e>): its input gradients are the weights."""
    w_image = tf.constant(w_image, tf.float32)

    def d(inputs, training=None):
        if w_text is None:
            x = inputs
            return tf.reduce_sum(tf.reshape(x, (tf.shape(x)[0], -1)) * tf.reshape(w_image, (1, -1)),
                                 axis=1, keepdims=True)
        x, e = inputs
        flat = tf.reshape(x, (tf.shape(x)[0], -1))
        return (tf.reduce_sum(flat * tf.reshape(w_image, (1, -1)), axis=1, keepdims=True)
                + tf.reduce_sum(e * tf.constant(w_text, tf.float32), axis=1, keepdims=True))
    return d


def test_r1_penalty_linear_d_exact():
    w = np.arange(1, 13, dtype=np.float32).reshape(2, 2, 3)  # ||w||^2 = 650
    images = tf.random.uniform((5, 2, 2, 3), -1, 1, seed=1)
    d = _linear_d(w)
    assert float(losses.r1_penalty(d, images, gamma=10.0)) == pytest.approx(5.0 * 650.0, rel=1e-6)
    # conditional: the text is an input, but R1 only differentiates with respect to the image
    dc = _linear_d(w, np.ones(4, np.float32))
    value, logits = losses.r1_penalty(dc, images, tf.zeros((5, 4)), gamma=1.0,
                                      return_logits=True)
    assert float(value) == pytest.approx(0.5 * 650.0, rel=1e-6)
    assert tuple(logits.shape) == (5, 1)


def test_matching_aware_gradient_penalty_linear_d_exact():
    w_x = np.full((2, 2, 3), 0.5, np.float32)      # ||w_x||^2 = 3
    w_e = np.array([1.0, 0.0, 0.0, 0.0], np.float32)  # ||w_e||^2 = 1
    d = _linear_d(w_x, w_e)
    images, text = tf.zeros((3, 2, 2, 3)), tf.ones((3, 4))
    # joint norm ||(g_x, g_e)|| = 2 -> 2 * 2^6 = 128 with the paper's k = 2, p = 6
    assert float(losses.matching_aware_gradient_penalty(d, images, text)) == pytest.approx(128.0)
    assert float(losses.matching_aware_gradient_penalty(d, images, text, k=1.0, p=2.0)) == \
        pytest.approx(4.0)
    with pytest.raises(ValueError):
        losses.matching_aware_gradient_penalty(d, images, text, p=0.0)


def test_penalties_train_a_real_discriminator_inside_tf_function():
    from textgan_lib.models import build_discriminator

    keras.utils.set_random_seed(0)
    d = build_discriminator(text_dim=6, image_size=8, base_filters=4, text_features=4,
                            fusion="projection", spectral_norm=True)
    images = tf.random.uniform((4, 8, 8, 3), -1, 1, seed=2)
    text = tf.random.normal((4, 6), seed=3)

    @tf.function
    def penalty_grads(images, text):
        with tf.GradientTape() as tape:
            r1 = losses.r1_penalty(d, images, text)
            ma = losses.matching_aware_gradient_penalty(d, images, text)
            total = r1 + ma
        return r1, ma, tape.gradient(total, d.trainable_weights)

    r1, ma, grads = penalty_grads(images, text)
    assert float(r1) > 0 and float(ma) > 0
    # double backpropagation reaches every kernel, the image path's first convolution included;
    # only the head's bias does not change an input gradient (its gradient is None)
    by_path = {w.path: g for w, g in zip(d.trainable_weights, grads)}
    for path, g in by_path.items():
        if path.endswith("kernel"):
            assert g is not None and np.all(np.isfinite(_np(g))), path
            assert float(tf.reduce_sum(tf.abs(g))) > 0, path
    assert by_path["psi/psi_raw/bias"] is None


def test_ma_gp_gradient_is_finite_at_zero_gradient():
    # a D whose input gradient is exactly zero: the penalty and its own gradient stay finite
    # (computed as (||g||^2)^(p/2), never through sqrt, whose derivative is infinite at 0)
    v = tf.Variable(0.0)

    def flat_d(inputs, training=None):
        x, e = inputs
        return v * (tf.reduce_sum(tf.reshape(x, (tf.shape(x)[0], -1)), 1, keepdims=True)
                    + tf.reduce_sum(e, 1, keepdims=True))
    images, text = tf.ones((2, 2, 2, 3)), tf.ones((2, 3))
    with tf.GradientTape() as tape:
        pen = losses.matching_aware_gradient_penalty(flat_d, images, text)  # p = 6
    grad = tape.gradient(pen, v)
    assert float(pen) == 0.0
    assert float(grad) == 0.0
