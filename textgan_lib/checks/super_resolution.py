"""Exercise checkers for ``03_super_resolution``.

Taught in ``03_super_resolution``. Each checker calls the student's function on cases with known
answers and either prints ``Exercise N: correct ...`` (returning True) or raises
:class:`~textgan_lib.checks.CheckFailed` saying what is wrong.

    from textgan_lib.checks import super_resolution as check
    check.psnr(my_psnr)                      # Exercise 1
    check.depth_to_space(my_depth_to_space)  # Exercise 2
    check.conv_params(my_conv_params)        # Exercise 3
"""
from __future__ import annotations

import math

import numpy as np

from . import as_array, check_shape, exercise, fail, passed
from . import call as _call

_RANGES = ((0.0, 1.0), (-1.0, 1.0), (0.0, 255.0))


def _as_float(value, what: str) -> float:
    array = as_array(value, what)
    if array.size != 1:
        fail(f"{what} should be one number (a scalar), got shape {array.shape}.")
    return float(array.reshape(()))


@exercise("Exercise 1")
def psnr(function) -> bool:
    """Exercise 1: ``function(a, b, value_range) -> float``, the PSNR in dB of two images.

    Checked on a pair whose right answer is known exactly (a = 0, b = 0.1 in [0, 1]: 20 dB),
    held in [0, 1], [-1, 1] and [0, 255], and on a pair whose own maximum is not the top of the
    range (the maximum in the formula is the range's, never the image's).
    """
    base_a = np.zeros((8, 8, 3), np.float64)
    base_b = np.full((8, 8, 3), 0.1)
    got = {}
    for lo, hi in _RANGES:
        a, b = lo + base_a * (hi - lo), lo + base_b * (hi - lo)
        got[(lo, hi)] = _as_float(_call(function, "your psnr", a, b, (lo, hi)),
                                  f"psnr(..., value_range={(lo, hi)})")
    values = list(got.values())
    if any(not math.isfinite(v) for v in values):
        fail(f"PSNR of two different images must be finite, got {got}.")
    if not all(abs(v - 20.0) < 1e-3 for v in values):
        for (lo, hi), v in got.items():
            if abs(v - 20.0) < 1e-3:
                continue
            mse = (0.1 * (hi - lo)) ** 2
            implied = math.sqrt(mse * 10 ** (v / 10))  # the MAX your answer used
            near = lambda x: abs(implied - x) < 1e-3 * max(1.0, x)  # noqa: E731
            if near(0.1 * (hi - lo)) or near(lo + 0.1 * (hi - lo)):
                fail(f"in {(lo, hi)} you get {v:.2f} dB instead of 20.00: MAX is the width of "
                     "the range (hi - lo), never the images' own maximum.")
            if any(near(m) for m in (1.0, 2.0, 255.0)):
                fail(f"in {(lo, hi)} you get {v:.2f} dB instead of 20.00 (you used MAX = "
                     f"{implied:.4g}): MAX must be the width of the range (hi - lo): 1 for "
                     "[0, 1], 2 for [-1, 1], 255 for [0, 255].")
        v = got[(0.0, 1.0)]
        if abs(v - 10.0) < 1e-3:
            fail(f"got {v:.2f} dB instead of 20.00 in [0, 1]: PSNR is 10 log10(MAX^2 / MSE), "
                 "or 20 log10(MAX / sqrt(MSE)); you dropped a square.")
        if abs(v - 40.0) < 1e-3:
            fail(f"got {v:.2f} dB instead of 20.00 in [0, 1]: use 10 log10 of a ratio of "
                 "squares (MAX^2 / MSE), not 20 log10 of it.")
        if abs(v + 20.0) < 1e-3:
            fail("got -20.00 dB instead of +20.00: the ratio is upside down, MAX^2 / MSE.")
        fail(f"expected 20.00 dB for a = 0, b = 0.1 in [0, 1] (MSE = 0.01), got {got}. "
             "PSNR = 10 log10(MAX^2 / MSE).")
    # the image's own maximum is not the range's
    a = np.zeros((8, 8, 3))
    b = np.full((8, 8, 3), 0.1)
    b[0, 0, 0] = 0.5
    expected = 10 * math.log10(1.0 / np.mean((a - b) ** 2))
    value = _as_float(_call(function, "your psnr", a, b, (0.0, 1.0)), "psnr")
    if abs(value - expected) > 1e-3:
        fail(f"for an image whose largest value is 0.5 in [0, 1] you get {value:.2f} dB, expected "
             f"{expected:.2f}: MAX is the top of the range minus its bottom, never the images' "
             "own maximum (an image with no white pixel would otherwise score differently).")
    return passed("Exercise 1", ": 20.00 dB in [0, 1], [-1, 1] and [0, 255]")


def _reference_depth_to_space(x: np.ndarray, r: int) -> np.ndarray:
    b, h, w, c = x.shape
    return (x.reshape(b, h, w, r, r, c // (r * r)).transpose(0, 1, 3, 2, 4, 5)
            .reshape(b, h * r, w * r, c // (r * r)))


def _torch_layout(x: np.ndarray, r: int) -> np.ndarray:
    b, h, w, c = x.shape
    return (x.reshape(b, h, w, c // (r * r), r, r).transpose(0, 1, 4, 2, 5, 3)
            .reshape(b, h * r, w * r, c // (r * r)))


@exercise("Exercise 2")
def depth_to_space(function) -> bool:
    """Exercise 2: ``function(x, r)`` for NumPy (B, H, W, C*r*r) -> (B, H*r, W*r, C).

    Must match ``tf.nn.depth_to_space``: output pixel (h*r + i, w*r + j, c) takes input channel
    (i*r + j)*C + c. Checked on 1x1x1x4 (r = 2), 1x2x2x8 (r = 2) and a random 2x3x2x18 (r = 3).
    """
    cases = [(np.arange(1, 5, dtype=np.float32).reshape(1, 1, 1, 4), 2),
             (np.arange(32, dtype=np.float32).reshape(1, 2, 2, 8), 2),
             (np.random.default_rng(0).normal(size=(2, 3, 2, 18)).astype(np.float32), 3)]
    for x, r in cases:
        expected = _reference_depth_to_space(x, r)
        out = as_array(_call(function, "your depth_to_space", x.copy(), r),
                       f"depth_to_space of a {x.shape} tensor")
        check_shape(out, expected.shape, f"depth_to_space of a {x.shape} tensor with r={r}")
        if np.allclose(out, expected):
            continue
        if np.allclose(out, _torch_layout(x, r)):
            fail(f"on a {x.shape} tensor you produce PyTorch's PixelShuffle layout (channel "
                 "c*r*r + i*r + j). TensorFlow's depth_to_space takes channel (i*r + j)*C + c: "
                 "reshape to (B, H, W, r, r, C), not (B, H, W, C, r, r).")
        swapped = expected.transpose(0, 2, 1, 3) if x.shape[1] == x.shape[2] else None
        if swapped is not None and np.allclose(out, swapped):
            fail(f"on a {x.shape} tensor rows and columns are swapped: transpose to "
                 "(B, H, r, W, r, C), i.e. axes (0, 1, 3, 2, 4, 5), before the last reshape.")
        flat = x.reshape(-1)[:8].tolist()
        fail(f"wrong values for the {x.shape} input {flat}...: expected "
             f"{expected[0, :, :, 0].tolist()} in channel 0, got {out[0, :, :, 0].tolist()}.")
    return passed("Exercise 2", ": matches tf.nn.depth_to_space")


@exercise("Exercise 3")
def conv_params(function) -> bool:
    """Exercise 3: ``function(kernel_size, in_channels, out_channels) -> int``, the number of
    weights of a Keras ``Conv2D`` (square kernel, with bias)."""
    cases = [(9, 3, 64), (1, 64, 32), (5, 32, 3), (3, 32, 48)]
    for k, cin, cout in cases:
        expected = k * k * cin * cout + cout
        got = _as_float(_call(function, "your conv_params", k, cin, cout),
                        f"conv_params({k}, {cin}, {cout})")
        if got == expected:
            continue
        if got == k * k * cin * cout:
            fail(f"conv_params({k}, {cin}, {cout}) = {got:g}, expected {expected}: you forgot "
                 f"the {cout} biases (one per output channel).")
        if got == k * cin * cout + cout:
            fail(f"conv_params({k}, {cin}, {cout}) = {got:g}, expected {expected}: the kernel "
                 f"is {k}x{k}, so k*k weights per input-output pair.")
        if got == k * k * cin * cout + cin:
            fail(f"conv_params({k}, {cin}, {cout}) = {got:g}, expected {expected}: there is one "
                 "bias per *output* channel.")
        fail(f"conv_params({k}, {cin}, {cout}) = {got:g}, expected {expected} "
             "(k * k * in * out weights + out biases).")
    total = sum(k * k * cin * cout + cout for k, cin, cout in cases[:3])
    return passed("Exercise 3", f": SRCNN 9-1-5 has {total:,} parameters")


__all__ = ["psnr", "depth_to_space", "conv_params"]
