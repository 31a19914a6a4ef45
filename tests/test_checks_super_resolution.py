"""The exercise checkers of 03_super_resolution pass the reference answers and fail, with a
message that says what is wrong, on typical wrong ones."""
from __future__ import annotations

import numpy as np
import pytest

from textgan_lib.checks import CheckFailed
from textgan_lib.checks import super_resolution as check


# Exercise 1: PSNR in any range -----------------------------------------------------------------
def psnr_right(a, b, value_range):
    lo, hi = value_range
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return 10 * np.log10((hi - lo) ** 2 / mse)


def psnr_max_255(a, b, value_range):  # the classic: MAX = 255 whatever the range
    return 10 * np.log10(255.0 ** 2 / np.mean((a - b) ** 2))


def psnr_max_1(a, b, value_range):
    return 10 * np.log10(1.0 / np.mean((a - b) ** 2))


def psnr_image_max(a, b, value_range):  # MAX taken from the images
    lo, _ = value_range
    peak = max(np.max(a), np.max(b)) - lo
    return 10 * np.log10(peak ** 2 / np.mean((a - b) ** 2))


def psnr_inverted(a, b, value_range):
    lo, hi = value_range
    return 10 * np.log10(np.mean((a - b) ** 2) / (hi - lo) ** 2)


def test_psnr_reference_passes(capsys):
    assert check.psnr(psnr_right) is True
    assert "Exercise 1: correct" in capsys.readouterr().out


def test_psnr_tf_library_passes():
    from textgan_lib.metrics import psnr

    assert check.psnr(lambda a, b, r: psnr(a, b, value_range=r))


@pytest.mark.parametrize("wrong, words", [
    (psnr_max_255, "width of the range"),
    (psnr_max_1, "width of the range"),
    (psnr_image_max, "own maximum"),
    (psnr_inverted, "upside down"),
    (lambda a, b, r: 20 * np.log10((r[1] - r[0]) ** 2 / np.mean((a - b) ** 2)), "not 20 log10"),
    (lambda a, b, r: [1.0, 2.0], "one number"),
    (lambda a, b, r: 1 / 0, "ZeroDivisionError"),
])
def test_psnr_wrong_answers_fail_with_a_reason(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check.psnr(wrong)


def test_psnr_dropped_square_is_named():
    def no_square(a, b, value_range):  # 10 log10(MAX / MSE): the square of MAX dropped
        lo, hi = value_range
        return 10 * np.log10((hi - lo) / np.mean((a - b) ** 2)) - 10.0
    # in [0, 1]: 10 log10(1 / 0.01) - 10 = 10 dB
    with pytest.raises(CheckFailed, match="dropped a square"):
        check.psnr(no_square)


# Exercise 2: depth_to_space by hand ------------------------------------------------------------
def d2s_right(x, r):
    b, h, w, c = x.shape
    return x.reshape(b, h, w, r, r, c // r ** 2).transpose(0, 1, 3, 2, 4, 5).reshape(
        b, h * r, w * r, c // r ** 2)


def d2s_torch(x, r):
    b, h, w, c = x.shape
    return x.reshape(b, h, w, c // r ** 2, r, r).transpose(0, 1, 4, 2, 5, 3).reshape(
        b, h * r, w * r, c // r ** 2)


def d2s_swapped(x, r):
    b, h, w, c = x.shape
    return x.reshape(b, h, w, r, r, c // r ** 2).transpose(0, 2, 4, 1, 3, 5).reshape(
        b, w * r, h * r, c // r ** 2)


def d2s_plain_reshape(x, r):  # the values never move: only the shape is right
    b, h, w, c = x.shape
    return x.reshape(b, h * r, w * r, c // r ** 2)


def test_depth_to_space_reference_and_tf_pass(capsys):
    import tensorflow as tf

    assert check.depth_to_space(d2s_right)
    assert check.depth_to_space(lambda x, r: tf.nn.depth_to_space(x, r))
    assert "Exercise 2: correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (d2s_torch, "PyTorch"),
    (d2s_swapped, "swapped"),
    (d2s_plain_reshape, "wrong values"),
    (lambda x, r: x, "has shape"),
])
def test_depth_to_space_wrong_answers_fail_with_a_reason(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check.depth_to_space(wrong)


# Exercise 3: parameters of a convolution ------------------------------------------------------
def test_conv_params_reference_passes_and_matches_keras(capsys):
    import keras

    assert check.conv_params(lambda k, cin, cout: k * k * cin * cout + cout)
    assert "SRCNN 9-1-5 has 20,099 parameters" in capsys.readouterr().out
    layer = keras.layers.Conv2D(48, 3)
    layer.build((None, 8, 8, 32))
    assert layer.count_params() == 3 * 3 * 32 * 48 + 48


@pytest.mark.parametrize("wrong, words", [
    (lambda k, cin, cout: k * k * cin * cout, "forgot the 64 biases"),
    (lambda k, cin, cout: k * cin * cout + cout, "k\\*k weights"),
    (lambda k, cin, cout: k * k * cin * cout + cin, "per \\*output\\* channel"),
    (lambda k, cin, cout: k + cin + cout, "expected 15616"),
])
def test_conv_params_wrong_answers_fail_with_a_reason(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check.conv_params(wrong)
