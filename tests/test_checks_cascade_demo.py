"""The exercise checkers of 07_cascade_demo pass the reference answers and fail, with a
message that says what is wrong, on typical wrong ones."""
from __future__ import annotations

import numpy as np
import pytest
from _solutions import solution

from textgan_lib import widgets
from textgan_lib.checks import CheckFailed
from textgan_lib.checks import cascade_demo as check


# Exercise 1: slerp ------------------------------------------------------------------------------
def slerp_right(a, b, t):
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    omega = np.arccos(np.clip(np.dot(a / na, b / nb), -1, 1))
    if np.sin(omega) < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def slerp_unnormalised(a, b, t):  # arccos of the raw dot product
    with np.errstate(invalid="ignore"):
        omega = np.arccos(np.dot(a, b))
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def slerp_no_fallback(a, b, t):
    omega = np.arccos(np.clip(np.dot(a / np.linalg.norm(a), b / np.linalg.norm(b)), -1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def test_slerp_reference_and_library_pass(capsys):
    assert check.slerp(slerp_right) is True
    assert "Exercise 1: correct" in capsys.readouterr().out
    assert check.slerp(widgets.slerp)


@pytest.mark.parametrize("wrong, words", [
    (lambda a, b, t: (1 - t) * a + t * b, "linear interpolation"),
    (lambda a, b, t: slerp_right(a, b, 1 - t), "t = 0 must give a"),
    (slerp_unnormalised, "normalised"),
    (slerp_no_fallback, "parallel"),
    (lambda a, b, t: slerp_right(a, b, t)[:10], "has shape"),
    (lambda a, b, t: 1 / 0, "ZeroDivisionError"),
])
def test_slerp_wrong_answers_fail_with_a_reason(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check.slerp(wrong)


# Exercise 2: BigGAN's truncation trick ---------------------------------------------------------
truncate_right = solution("07_cascade_demo").my_truncate


def truncate_once(z, threshold, rng):
    z = np.array(z, copy=True)
    outside = np.abs(z) > threshold
    z[outside] = rng.standard_normal(outside.sum())
    return z


def truncate_in_place(z, threshold, rng):
    outside = np.abs(z) > threshold
    while outside.any():
        z[outside] = rng.standard_normal(outside.sum())
        outside = np.abs(z) > threshold
    return z


def truncate_uniform(z, threshold, rng):
    z = np.array(z, copy=True)
    outside = np.abs(z) > threshold
    z[outside] = rng.uniform(-threshold, threshold, outside.sum())
    return z


def test_truncate_reference_passes(capsys):
    assert check.truncate(truncate_right) is True
    assert "Exercise 2: correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda z, c, rng: np.clip(z, -c, c), "clipped"),
    (lambda z, c, rng: 0.5 * z, "scaled the whole z"),
    (truncate_once, "one redraw is not enough"),
    (truncate_in_place, "in place"),
    (lambda z, c, rng: rng.standard_normal(z.shape).clip(-c, c), "entries with"),
    (truncate_uniform, "standard deviation"),
    (lambda z, c, rng: z, "still outside"),
])
def test_truncate_wrong_answers_fail_with_a_reason(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check.truncate(wrong)


# Exercise 3: noise conditioning augmentation ---------------------------------------------------
def augment_right(low, level, eps):
    level = np.reshape(np.asarray(level, np.float32), (-1, 1, 1, 1))
    return np.cos(np.pi / 2 * level) * low + np.sin(np.pi / 2 * level) * eps


def augment_scalar_only(low, level, eps):
    return np.cos(np.pi / 2 * level) * low + np.sin(np.pi / 2 * level) * eps


def test_noise_augment_reference_passes(capsys):
    assert check.noise_augment(augment_right) is True
    assert "Exercise 3: correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda low, l, eps: np.sin(np.pi / 2 * l) * low + np.cos(np.pi / 2 * l) * eps,
     "at level 0 you return pure noise"),
    (lambda low, l, eps: low + np.asarray(l) * eps, "shrinking the signal"),
    (lambda low, l, eps: (1 - l) * low + l * eps, "squares add up to"),
    (lambda low, l, eps: np.sqrt(1 - l) * low + np.sqrt(l) * eps, "cosine schedule"),
    (augment_scalar_only, r"Reshape the levels to \(B, 1, 1, 1\)"),
    (lambda low, l, eps: low[0], "has shape"),
])
def test_noise_augment_wrong_answers_fail_with_a_reason(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check.noise_augment(wrong)
