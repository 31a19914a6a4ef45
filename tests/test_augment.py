"""DiffAugment (Zhao et al., 2020): exact properties of each transformation."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from textgan_lib.augment import (cutout, diff_augment, parse_policy, rand_color, rand_cutout,
                                 rand_translation, translate)


def _images(b=4, s=16, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (b, s, s, 3)).astype(np.float32)


def test_empty_policy_is_identity():
    x = _images()
    assert diff_augment(x, "") is x
    assert diff_augment(x, None) is x
    assert parse_policy("colour, translation,cutout") == ("color", "translation", "cutout")
    with pytest.raises(ValueError):
        parse_policy("color,rotate")


def test_translate_moves_content_by_the_shift_and_pads_white():
    x = _images(b=2, s=8)
    out = np.asarray(translate(x, np.array([2, -1]), np.array([-3, 0]), pad_value=1.0))
    # image 0 moved 2 down, 3 left: out[i, j] = x[i - 2, j + 3]
    np.testing.assert_array_equal(out[0, 2:, :5], x[0, :6, 3:])
    assert np.all(out[0, :2] == 1.0) and np.all(out[0, :, 5:] == 1.0)
    # image 1 moved 1 up: last row is padding
    np.testing.assert_array_equal(out[1, :7], x[1, 1:])
    assert np.all(out[1, 7] == 1.0)


def test_rand_translation_uses_the_drawn_shift_within_one_eighth():
    x = _images(b=64, s=16)
    out, dy, dx = rand_translation(x, keras.random.SeedGenerator(3), return_shifts=True)
    dy, dx = np.asarray(dy), np.asarray(dx)
    assert dy.min() >= -2 and dy.max() <= 2 and dx.min() >= -2 and dx.max() <= 2  # 16 / 8
    assert len(set(zip(dy.tolist(), dx.tolist()))) > 10                           # per image
    np.testing.assert_array_equal(np.asarray(out), np.asarray(translate(x, dy, dx, 1.0)))
    for b in range(4):    # content moved by (dy, dx): compare the overlapping window
        i0, j0 = max(dy[b], 0), max(dx[b], 0)
        i1, j1 = 16 + min(dy[b], 0), 16 + min(dx[b], 0)
        np.testing.assert_array_equal(np.asarray(out)[b, i0:i1, j0:j1],
                                      x[b, i0 - dy[b]:i1 - dy[b], j0 - dx[b]:j1 - dx[b]])


def test_cutout_zeroes_a_half_size_square():
    x = _images(b=1, s=16) + 5.0          # no pixel is 0 before the cutout
    out = np.asarray(cutout(x, np.array([3]), np.array([5]), 8, 8))
    zero = np.all(out[0] == 0.0, axis=-1)
    expected = np.zeros((16, 16), bool)
    expected[3:11, 5:13] = True
    np.testing.assert_array_equal(zero, expected)
    np.testing.assert_array_equal(out[0][~expected], x[0][~expected])
    # random: side 16 / 2 = 8, clipped at the border
    out, top, left = rand_cutout(np.repeat(x, 32, 0), keras.random.SeedGenerator(0),
                                 return_corners=True)
    for b in range(32):
        t, l = int(top[b]), int(left[b])
        rows = np.clip([t, t + 8], 0, 16)
        cols = np.clip([l, l + 8], 0, 16)
        area = (rows[1] - rows[0]) * (cols[1] - cols[0])
        assert np.all(np.asarray(out)[b] == 0.0, axis=-1).sum() == area
        assert -4 <= t <= 12 and -4 <= l <= 12      # centre anywhere in the image
    assert np.all(np.all(np.asarray(out) == 0.0, -1).sum((1, 2)) <= 64)


def test_color_is_one_affine_map_per_image():
    x = _images(b=8)
    out = np.asarray(rand_color(x, keras.random.SeedGenerator(1)))
    assert out.shape == x.shape
    # different images get different draws; brightness alone shifts the mean by < 0.5
    assert len({round(float(v), 4) for v in (out - x).mean(axis=(1, 2, 3))}) == 8
    # a constant grey image stays constant (saturation and contrast act on differences)
    grey = np.full((2, 4, 4, 3), 0.2, np.float32)
    g = np.asarray(rand_color(grey, keras.random.SeedGenerator(1)))
    assert np.allclose(g, g[:, :1, :1, :1], atol=1e-6)
    assert np.all(np.abs(g[:, 0, 0, 0] - 0.2) <= 0.5 + 1e-6)


def test_seeded_and_differentiable():
    x = tf.constant(_images())
    a = diff_augment(x, "color,translation,cutout", seed=keras.random.SeedGenerator(7))
    b = diff_augment(x, "color,translation,cutout", seed=keras.random.SeedGenerator(7))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    gen = keras.random.SeedGenerator(7)
    first = diff_augment(x, "translation", seed=gen)
    second = diff_augment(x, "translation", seed=gen)      # the state advanced: a new draw
    assert not np.array_equal(np.asarray(first), np.asarray(second))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = diff_augment(x, "color,translation,cutout", seed=keras.random.SeedGenerator(2))
        total = tf.reduce_sum(y)
    grad = np.asarray(tape.gradient(total, x))
    assert np.all(np.isfinite(grad)) and np.abs(grad).sum() > 0
    # translation + cutout only: d out / d x is 1 exactly where a pixel survives, else 0
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = diff_augment(x, "translation,cutout", seed=keras.random.SeedGenerator(2))
        total = tf.reduce_sum(y)
    grad = np.asarray(tape.gradient(total, x))
    assert set(np.unique(grad).tolist()) <= {0.0, 1.0}
    assert np.any(grad == 1.0) and np.any(grad == 0.0)


def test_works_inside_tf_function():
    gen = keras.random.SeedGenerator(0)
    fn = tf.function(lambda x: diff_augment(x, "color,translation,cutout", seed=gen))
    x = tf.constant(_images())
    a, b = np.asarray(fn(x)), np.asarray(fn(x))
    assert a.shape == x.shape and not np.array_equal(a, b)


def test_int_seed_gives_independent_draws():
    """An int seed must not make every draw of one call the same (top == left)."""
    import numpy as np
    from textgan_lib import augment

    x = np.zeros((64, 16, 16, 3), np.float32)
    _, top, left = augment.rand_cutout(x, seed=3, return_corners=True)
    assert not np.array_equal(np.asarray(top), np.asarray(left))
    _, top2, left2 = augment.rand_cutout(x, seed=3, return_corners=True)
    np.testing.assert_array_equal(np.asarray(top), np.asarray(top2))  # same int, same draw
