"""Exercise checkers for ``05_losses_and_derivations`` (exercises 1 and 2) and
``05b_stable_losses_and_penalties`` (exercises 1 and 2).

    from textgan_lib.checks import losses as check
    check.optimal_discriminator(my_optimal_d)   # 05, exercise 1
    check.generator_gradient(my_dloss_ds)       # 05, exercise 2
    check.discriminator_loss(my_d_loss)         # 05b, exercise 1
    check.r1_penalty(my_r1)                     # 05b, exercise 2

Each returns True (and prints "Exercise N: correct ...") or raises
:class:`~textgan_lib.checks.CheckFailed` saying what is wrong.
"""
from __future__ import annotations

import math

import numpy as np

from . import as_array, check_shape, exercise, fail, passed


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@exercise("Exercise 1")
def optimal_discriminator(fn) -> bool:
    """05, exercise 1: ``fn(p_data, p_g) -> D*`` for arrays of densities (same shape)."""
    p_data = np.array([0.4, 0.1, 0.0, 0.25, 1e-3])
    p_g = np.array([0.1, 0.3, 0.2, 0.25, 3e-3])
    got = as_array(fn(p_data.copy(), p_g.copy()), "your D*").astype(np.float64)
    check_shape(got, p_data.shape, "your D*")
    want = p_data / (p_data + p_g)
    if np.allclose(got, want, atol=1e-6):
        return passed("Exercise 1", f": D* = {np.round(got, 3).tolist()}")
    if np.allclose(got, 1 - want, atol=1e-6):
        fail("you swapped the densities: D* is the probability that x is *real*, "
             "p_data / (p_data + p_g); yours is p_g / (p_data + p_g).")
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.allclose(got[p_g > 0], (p_data / p_g)[p_g > 0], atol=1e-6):
            fail("that is the density ratio p_data / p_g; D* = p_data / (p_data + p_g) lies in "
                 "[0, 1].")
    fail(f"D* = {np.round(got, 3).tolist()}, expected {np.round(want, 3).tolist()} "
         "(= p_data / (p_data + p_g)).")


@exercise("Exercise 1")
def discriminator_loss(fn) -> bool:
    """05b, exercise 1: ``fn(real_logits, fake_logits) -> scalar`` D's BCE loss from logits.

    Right answer: mean softplus(-real) + mean softplus(fake) (= :func:`textgan_lib.losses.
    discriminator_loss`), finite for any logits.
    """
    rng = np.random.default_rng(5)
    real = rng.normal(1.0, 1.5, size=(6, 1)).astype(np.float32)
    fake = rng.normal(-0.5, 1.5, size=(6, 1)).astype(np.float32)

    def value(r, f, what="your loss"):
        out = as_array(fn(r.copy(), f.copy()), what)
        if out.size != 1:
            fail(f"{what} has shape {out.shape}; return one number (the mean over the batch).")
        return float(out.reshape(()))

    def ref(r, f):
        return float(np.mean(_softplus(-r.astype(np.float64)))
                     + np.mean(_softplus(f.astype(np.float64))))

    got = value(real, fake)
    want = ref(real, fake)
    if not math.isfinite(got):
        fail("your loss is NaN or inf on ordinary logits: did you take the log of a logit? "
             "Logits are any real numbers; use softplus (or bce_with_logits).")
    if not math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-5):
        r64, f64 = real.astype(np.float64), fake.astype(np.float64)
        if math.isclose(got, ref(fake, real), rel_tol=1e-4):
            fail("signs swapped: real images need target 1 and fakes target 0 (the article's "
                 "mistake). You scored the fakes as real.")
        if math.isclose(got, 0.5 * want, rel_tol=1e-4):
            fail("no factor 1/2 (the article's formula has one): D's loss is the sum of the two "
                 "mean BCE terms.")
        if math.isclose(got, -want, rel_tol=1e-4):
            fail("sign error: that is the value function V = -loss. D minimises the BCE loss, "
                 "which is >= 0.")
        if math.isclose(got, float(np.mean(_softplus(-r64))), rel_tol=1e-4):
            fail("you left out the fake term mean BCE(fake, 0) = mean softplus(fake).")
        if math.isclose(got, float(np.mean(_softplus(f64))), rel_tol=1e-4):
            fail("you left out the real term mean BCE(real, 1) = mean softplus(-real).")
        if math.isclose(got, len(real) * want, rel_tol=1e-4):
            fail("you summed over the batch; take the mean, so the loss does not grow with B.")
        p_r, p_f = _sigmoid(r64), _sigmoid(f64)
        prob_twice = float(-np.mean(np.log(_sigmoid(p_r))) - np.mean(np.log(1 - _sigmoid(p_f))))
        if math.isclose(got, prob_twice, rel_tol=1e-4):
            fail("you applied the sigmoid twice (once in D, once in a from-logits loss): you "
                 "used probabilities, not logits.")
        fail(f"loss {got:.5f} != expected {want:.5f} = mean softplus(-real) + "
             "mean softplus(fake).")
    # the defining values
    zero = np.zeros((4, 1), np.float32)
    at_half = value(zero, zero, "your loss at logits 0")
    if not math.isclose(at_half, 2 * math.log(2), rel_tol=1e-5):
        fail(f"at D = 0.5 (logits 0) the loss must be 2 ln 2 = 1.386, yours is {at_half:.4f}.")
    extreme = np.array([[-200.0], [200.0]], np.float32)
    far = value(extreme, -extreme, "your loss at logits -200 and 200")
    if not math.isfinite(far):
        fail("not numerically stable: at logits +-200 your loss is inf or NaN (log(sigmoid) "
             "by hand underflows). Use softplus: -log sigmoid(s) = softplus(-s).")
    if not math.isclose(far, 200.0, rel_tol=1e-4):
        fail(f"at real logits (-200, 200) and fake logits (200, -200) the loss is exactly "
             f"200 (100 + 100); yours is {far:.4f}. Is it stable?")
    return passed("Exercise 1", f": {got:.4f}; 2 ln 2 at D = 0.5; 200 at logits +-200")


@exercise("Exercise 2")
def generator_gradient(fn) -> bool:
    """05, exercise 2: ``fn(s) -> d/ds [-log sigmoid(s)]`` (the non-saturating G loss of one fake
    with logit s), element-wise on a float NumPy array; right answer sigmoid(s) - 1."""
    s = np.array([-10.0, -2.0, 0.0, 1.5, 6.0])
    got = as_array(fn(s.copy()), "your derivative").astype(np.float64)
    if got.shape == ():
        got = np.full_like(s, float(got))
    check_shape(got, s.shape, "your derivative")
    want = _sigmoid(s) - 1.0
    if np.allclose(got, want, atol=1e-6):
        return passed("Exercise 2", f": {got[0]:.5f} at s = -10 (the saturating loss gives "
                      f"{-_sigmoid(-10.0):.1e})")
    if np.allclose(got, 1.0):
        fail("that is the article's answer, dL/dG = 1. Differentiate -log sigmoid(s) with the "
             "chain rule: -sigmoid'(s) / sigmoid(s) = -(1 - sigmoid(s)).")
    if np.allclose(got, -want, atol=1e-6):
        fail("sign error: -log sigmoid(s) decreases as s grows, so its derivative is negative: "
             "sigmoid(s) - 1.")
    if np.allclose(got, -_sigmoid(s), atol=1e-6) or np.allclose(got, _sigmoid(s), atol=1e-6):
        fail("that is the derivative of the *saturating* loss log(1 - sigmoid(s)) (size "
             "sigmoid(s), 4.5e-5 at s = -10). The non-saturating -log sigmoid(s) gives "
             "sigmoid(s) - 1.")
    if np.allclose(np.abs(got), _sigmoid(s) * (1 - _sigmoid(s)), atol=1e-6):
        fail("that is sigmoid'(s) = sigmoid(s)(1 - sigmoid(s)); divide by sigmoid(s) too "
             "(the derivative of the log).")
    fail(f"derivative {np.round(got, 5).tolist()} != expected {np.round(want, 5).tolist()} "
         "(= sigmoid(s) - 1). Check it with tf.GradientTape.")


def _test_discriminator():
    """A small fixed nonlinear D(x) = sum(tanh(x * w)) + 0.1 * sum(x^2 * w), x (B, 2, 2, 3)."""
    import tensorflow as tf

    w = tf.constant(np.linspace(-1.0, 1.5, 12).reshape(1, 2, 2, 3), tf.float32)

    def d(x, training=None):
        x = tf.convert_to_tensor(x, tf.float32)
        return tf.reduce_sum(tf.tanh(x * w) + 0.1 * tf.square(x) * w, axis=[1, 2, 3])[:, None]
    return d


@exercise("Exercise 2")
def r1_penalty(fn) -> bool:
    """05b, exercise 2: ``fn(discriminator, images, gamma) -> scalar`` the R1 penalty
    (gamma / 2) * mean_i ||grad_x D(x_i)||^2 (Mescheder et al., 2018), with tf.GradientTape."""
    import tensorflow as tf

    from .. import losses

    d = _test_discriminator()
    rng = np.random.default_rng(6)
    images = tf.constant(rng.uniform(-1, 1, (4, 2, 2, 3)), tf.float32)
    gamma = 3.0
    got = float(as_array(fn(d, images, gamma), "your penalty").reshape(()))
    want = float(losses.r1_penalty(d, images, gamma=gamma))
    if math.isclose(got, want, rel_tol=1e-4):
        return passed("Exercise 2", f": R1 = {got:.4f}")
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = tf.reduce_sum(d(images))
    g = tape.gradient(out, images).numpy().reshape(4, -1).astype(np.float64)
    sq = np.sum(g ** 2, axis=1)
    if math.isclose(got, 2 * want, rel_tol=1e-4):
        fail("you left out the 1/2: R1 is gamma / 2 times the mean squared gradient norm.")
    if math.isclose(got, want / gamma, rel_tol=1e-4) or math.isclose(got, 2 * want / gamma,
                                                                     rel_tol=1e-4):
        fail("you left out gamma.")
    if math.isclose(got, 0.5 * gamma * np.mean(np.sqrt(sq)), rel_tol=1e-4):
        fail("square the gradient norm: R1 uses ||grad||^2, not ||grad||.")
    if math.isclose(got, 0.5 * gamma * np.sum(sq), rel_tol=1e-4):
        fail("you summed over the batch; average over the examples.")
    if math.isclose(got, 0.5 * gamma * np.mean(sq) / 16, rel_tol=1e-4) or math.isclose(
            got, 0.5 * gamma * np.sum(sq) / 16, rel_tol=1e-4):
        fail("you differentiated the *mean* logit: that divides every example's gradient by "
             "B. Differentiate the sum of the logits (each example's logit depends only on its "
             "own image).")
    if math.isclose(got, 0.5 * gamma * np.sum(g.sum(0) ** 2) / 4, rel_tol=1e-4):
        fail("you took the norm of the gradient summed over the batch; take each example's "
             "own squared norm, then average.")
    fail(f"R1 = {got:.5f}, expected {want:.5f} = gamma / 2 * mean_i ||grad_x D(x_i)||^2.")


__all__ = ["optimal_discriminator", "discriminator_loss", "generator_gradient", "r1_penalty"]
