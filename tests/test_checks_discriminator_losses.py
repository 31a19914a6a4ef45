"""The exercise checkers of notebooks 04 and 05: the reference answers pass, typical wrong
answers fail with a message that says what is wrong."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from _solutions import solution

from textgan_lib import losses
from textgan_lib.checks import CheckFailed
from textgan_lib.checks import discriminator as check_d
from textgan_lib.checks import losses as check_l


def _fails(checker, answer, *words):
    with pytest.raises(CheckFailed) as info:
        checker(answer)
    message = str(info.value).lower()
    for word in words:
        assert word.lower() in message, message
    return message


# --- 04_discriminator ---

def ref_projection(phi, code, w, b):
    return phi @ w + b + np.sum(code * phi, axis=1, keepdims=True)


def test_projection_logit(capsys):
    assert check_d.projection_logit(ref_projection)
    assert "Exercise 1: correct" in capsys.readouterr().out
    _fails(check_d.projection_logit, lambda phi, code, w, b: phi @ w + b, "inner product")
    _fails(check_d.projection_logit,
           lambda phi, code, w, b: np.sum(code * phi, axis=1, keepdims=True), "psi")
    _fails(check_d.projection_logit,
           lambda phi, code, w, b: 1 / (1 + np.exp(-ref_projection(phi, code, w, b))),
           "probability")
    _fails(check_d.projection_logit, lambda phi, code, w, b: (phi @ w + b)[:, 0]
           + np.sum(code * phi, axis=1), "(b, 1)")
    _fails(check_d.projection_logit, lambda phi, code, w, b: phi @ w + b + code @ phi.T,
           "every caption with every image")
    _fails(check_d.projection_logit, lambda phi, code, w, b: phi @ w
           + np.sum(code * phi, axis=1, keepdims=True), "bias")


ref_wrong = solution("04_discriminator").my_wrong_indices


def test_wrong_captions():
    assert check_d.wrong_captions(ref_wrong)
    _fails(check_d.wrong_captions, lambda ids: np.roll(np.arange(len(ids)), 1),
           "same image")
    _fails(check_d.wrong_captions, lambda ids: np.arange(len(ids)), "its own caption")
    _fails(check_d.wrong_captions, lambda ids: np.full(len(ids), -1), "got -1")
    _fails(check_d.wrong_captions, lambda ids: ref_wrong(ids)[:-1], "shape")


def test_pair_targets():
    assert check_d.pair_targets({"real_right": 1, "real_wrong": 0, "fake_right": 0})
    _fails(check_d.pair_targets, {"real_right": 1, "real_wrong": 1, "fake_right": 0},
           "ignore the text")
    _fails(check_d.pair_targets, {"real_right": 1, "real_wrong": 0, "fake_right": 1},
           "generated image")
    _fails(check_d.pair_targets, {"real_right": 0, "real_wrong": 0, "fake_right": 0},
           "real_right must be 1")
    _fails(check_d.pair_targets, {"real_right": 1}, "missing")
    _fails(check_d.pair_targets, [1, 0, 0], "dict")


# --- 05_losses_and_derivations and 05b_stable_losses_and_penalties ---

def test_optimal_discriminator():
    assert check_l.optimal_discriminator(losses.optimal_discriminator)
    assert check_l.optimal_discriminator(lambda pd, pg: pd / (pd + pg))
    _fails(check_l.optimal_discriminator, lambda pd, pg: pg / (pd + pg), "swapped")
    _fails(check_l.optimal_discriminator, lambda pd, pg: pd / np.maximum(pg, 1e-12), "ratio")


def test_discriminator_loss():
    assert check_l.discriminator_loss(losses.discriminator_loss)
    softplus = lambda x: np.logaddexp(0.0, x)  # noqa: E731
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    assert check_l.discriminator_loss(
        lambda r, f: np.mean(softplus(-r)) + np.mean(softplus(f)))
    _fails(check_l.discriminator_loss, lambda r, f: losses.discriminator_loss(f, r),
           "signs swapped")
    _fails(check_l.discriminator_loss, lambda r, f: 0.5 * losses.discriminator_loss(r, f),
           "1/2")
    _fails(check_l.discriminator_loss, lambda r, f: -losses.discriminator_loss(r, f),
           "sign error")
    _fails(check_l.discriminator_loss, lambda r, f: np.mean(softplus(-r)), "fake term")
    _fails(check_l.discriminator_loss,
           lambda r, f: np.sum(softplus(-r)) + np.sum(softplus(f)), "summed")
    # logits fed to a probability formula: the log of a negative logit is NaN
    with np.errstate(invalid="ignore", divide="ignore"):
        _fails(check_l.discriminator_loss,
               lambda r, f: -np.mean(np.log(r)) - np.mean(np.log(1 - f)), "log of a logit")
    # the sigmoid applied twice
    _fails(check_l.discriminator_loss,
           lambda r, f: losses.discriminator_loss(sigmoid(r), sigmoid(f)),
           "probabilities, not logits")
    # right on ordinary logits, but log(sigmoid) by hand in float32
    with np.errstate(divide="ignore", over="ignore"):
        _fails(check_l.discriminator_loss,
               lambda r, f: (-np.mean(np.log(sigmoid(r.astype(np.float32))))
                             - np.mean(np.log(1 - sigmoid(f.astype(np.float32))))),
               "not numerically stable")
    _fails(check_l.discriminator_loss, lambda r, f: np.zeros(3), "one number")


def test_generator_gradient():
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    assert check_l.generator_gradient(lambda s: sigmoid(s) - 1)

    def autodiff(s):  # the tf.GradientTape answer passes too
        v = tf.Variable(s, dtype=tf.float64)
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.nn.softplus(-v))
        return tape.gradient(y, v).numpy()
    assert check_l.generator_gradient(autodiff)
    _fails(check_l.generator_gradient, lambda s: np.ones_like(s), "article")
    _fails(check_l.generator_gradient, lambda s: 1 - sigmoid(s), "sign error")
    _fails(check_l.generator_gradient, lambda s: -sigmoid(s), "saturating")
    _fails(check_l.generator_gradient, lambda s: sigmoid(s) * (1 - sigmoid(s)), "divide")


ref_r1 = solution("05b_stable_losses_and_penalties").my_r1


def _variant(kind):
    def r1(discriminator, images, gamma):
        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = discriminator(images)
            out = tf.reduce_mean(logits) if kind == "mean_logit" else tf.reduce_sum(logits)
        g = tape.gradient(out, images)
        sq = tf.reduce_sum(tf.square(g), axis=[1, 2, 3])
        if kind == "no_half":
            return gamma * tf.reduce_mean(sq)
        if kind == "norm":
            return gamma / 2 * tf.reduce_mean(tf.sqrt(sq))
        if kind == "sum_batch":
            return gamma / 2 * tf.reduce_sum(sq)
        return gamma / 2 * tf.reduce_mean(sq)
    return r1


def test_r1_penalty():
    assert check_l.r1_penalty(ref_r1)
    assert check_l.r1_penalty(lambda d, x, gamma: losses.r1_penalty(d, x, gamma=gamma))
    _fails(check_l.r1_penalty, _variant("no_half"), "1/2")
    _fails(check_l.r1_penalty, _variant("norm"), "square")
    _fails(check_l.r1_penalty, _variant("sum_batch"), "summed")
    _fails(check_l.r1_penalty, _variant("mean_logit"), "mean* logit")
