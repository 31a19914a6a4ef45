"""Tests for textgan_lib.models: shapes, ranges, exact layouts and save/load (C17, C18, C19)."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from textgan_lib.data.pipeline import resize_uint8
from textgan_lib.models import (PixelShuffle, bicubic_upsample, build_discriminator,
                                build_generator, build_superres, downsample)


def test_pixel_shuffle_tf_layout_exact():  # C17
    x = np.arange(1, 13, dtype=np.float32).reshape(1, 1, 1, 12)
    out = np.asarray(PixelShuffle(2)(x))
    assert out.shape == (1, 2, 2, 3)
    expected = np.array([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]], np.float32)
    np.testing.assert_array_equal(out[0], expected)
    # Note: PyTorch's nn.PixelShuffle (NCHW, channel c * r^2 + i * r + j) would instead give
    # output channel 0 = [[1, 2], [3, 4]], channel 1 = [[5, 6], [7, 8]], ... i.e. in NHWC
    # [[[1, 5, 9], [2, 6, 10]], [[3, 7, 11], [4, 8, 12]]]: a different arrangement.
    torch_layout = np.array([[[1, 5, 9], [2, 6, 10]], [[3, 7, 11], [4, 8, 12]]], np.float32)
    assert not np.array_equal(out[0], torch_layout)


def test_pixel_shuffle_rejects_bad_channels():
    with pytest.raises(ValueError):
        PixelShuffle(2)(np.zeros((1, 2, 2, 6), np.float32))


@pytest.mark.parametrize("size", [32, 64])
def test_generator_shape_and_range(size):
    g = build_generator(text_dim=384, z_dim=16, image_size=size, base_filters=4,
                        text_features=8)
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(2, 384)).astype(np.float32)
    z = rng.normal(size=(2, 16)).astype(np.float32) * 50.0  # large inputs: tanh saturates
    out = np.asarray(g([emb, z], training=False))
    assert out.shape == (2, size, size, 3)
    assert out.dtype == np.float32
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert out.std() > 0


@pytest.mark.parametrize("bad", [48, 4, 0, 100])
def test_generator_and_discriminator_reject_bad_sizes(bad):
    with pytest.raises(ValueError):
        build_generator(text_dim=8, image_size=bad, base_filters=4)
    with pytest.raises(ValueError):
        build_discriminator(text_dim=8, image_size=bad, base_filters=4)


def test_discriminator_output_shape_and_no_batchnorm():
    d = build_discriminator(text_dim=8, image_size=16, base_filters=4, text_features=8)
    assert not [l for l in d.layers if isinstance(l, keras.layers.BatchNormalization)]
    rng = np.random.default_rng(1)
    imgs = rng.uniform(-1, 1, size=(3, 16, 16, 3)).astype(np.float32)
    emb = rng.normal(size=(3, 8)).astype(np.float32)
    out = np.asarray(d([imgs, emb], training=False))
    assert out.shape == (3, 1)
    assert out.dtype == np.float32


def test_discriminator_score_independent_of_batch():  # C19
    d = build_discriminator(text_dim=8, image_size=16, base_filters=4, text_features=8)
    rng = np.random.default_rng(2)
    target = rng.uniform(-1, 1, size=(1, 16, 16, 3)).astype(np.float32)
    emb = rng.normal(size=(1, 8)).astype(np.float32)
    others_a = rng.uniform(-1, 1, size=(3, 16, 16, 3)).astype(np.float32)
    others_b = rng.uniform(-1, 1, size=(5, 16, 16, 3)).astype(np.float32) * 0.1
    batch_a = np.concatenate([target, others_a])
    batch_b = np.concatenate([others_b, target])
    emb_a = np.repeat(emb, 4, axis=0)
    emb_b = np.repeat(emb, 6, axis=0)
    score_a = np.asarray(d([batch_a, emb_a], training=False))[0, 0]
    score_b = np.asarray(d([batch_b, emb_b], training=False))[-1, 0]
    alone = np.asarray(d([target, emb], training=False))[0, 0]
    # equal up to float32 rounding (batch-size-dependent kernels may differ by an ulp)
    np.testing.assert_allclose(score_a, score_b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(score_a, alone, rtol=1e-6, atol=1e-6)


def test_superres_x4_shape_and_starts_at_bicubic():
    sr = build_superres(scale=4, filters=4, num_blocks=1)
    rng = np.random.default_rng(3)
    low = rng.uniform(-1, 1, size=(2, 32, 32, 3)).astype(np.float32)
    out = np.asarray(sr(low))
    assert out.shape == (2, 128, 128, 3)
    # zero the sub-pixel head: the residual is then exactly 0 and SR = bicubic
    last_conv = sr.get_layer("to_subpixels")
    last_conv.set_weights([np.zeros_like(w) for w in last_conv.get_weights()])
    np.testing.assert_allclose(np.asarray(sr(low)), np.asarray(bicubic_upsample(low, 4)),
                               atol=1e-5)


def test_resize_uint8_is_downsample_rounded():
    """The pipeline's uint8 downsampling and the float one used at SR time agree."""
    images = np.random.default_rng(5).integers(0, 256, size=(3, 128, 128, 3), dtype=np.uint8)
    expected = np.round(np.asarray(downsample(images.astype(np.float32), 4))).astype(np.uint8)
    np.testing.assert_array_equal(resize_uint8(images, 32), expected)


def test_superres_x2_shape_any_size():
    sr = build_superres(scale=2, filters=4, num_blocks=1)
    out = sr(np.zeros((1, 12, 20, 3), np.float32))
    assert tuple(out.shape) == (1, 24, 40, 3)
    with pytest.raises(ValueError):
        build_superres(scale=3)


def test_downsample_is_block_mean():
    rng = np.random.default_rng(4)
    hi = rng.uniform(-1, 1, size=(2, 128, 128, 3)).astype(np.float32)
    out = np.asarray(downsample(hi, 4))
    expected = hi.astype(np.float64).reshape(2, 32, 4, 32, 4, 3).mean(axis=(2, 4))
    assert out.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_downsample_rejects_non_multiple():
    with pytest.raises(ValueError):
        downsample(np.zeros((1, 130, 128, 3), np.float32), 4)


def test_bicubic_upsample_of_constant_is_constant():
    low = np.full((1, 8, 8, 3), 0.25, np.float32)
    np.testing.assert_allclose(np.asarray(bicubic_upsample(low, 4)),
                               np.full((1, 32, 32, 3), 0.25), atol=1e-6)


def test_save_and_load_superres_and_generator(tmp_path):
    rng = np.random.default_rng(5)
    sr = build_superres(scale=4, filters=4, num_blocks=1)
    low = rng.uniform(-1, 1, size=(1, 16, 16, 3)).astype(np.float32)
    sr.save(tmp_path / "sr.keras")
    sr2 = keras.saving.load_model(tmp_path / "sr.keras")  # safe_mode default (True)
    np.testing.assert_allclose(np.asarray(sr2(low)), np.asarray(sr(low)), atol=1e-6)

    g = build_generator(text_dim=8, z_dim=4, image_size=8, base_filters=4, text_features=4)
    emb = rng.normal(size=(2, 8)).astype(np.float32)
    z = rng.normal(size=(2, 4)).astype(np.float32)
    g.save(tmp_path / "g.keras")
    g2 = keras.saving.load_model(tmp_path / "g.keras")
    np.testing.assert_allclose(np.asarray(g2([emb, z], training=False)),
                               np.asarray(g([emb, z], training=False)), atol=1e-6)


def test_heads_stay_float32_under_mixed_precision():  # C02
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        g = build_generator(text_dim=8, z_dim=4, image_size=8, base_filters=4, text_features=4)
        d = build_discriminator(text_dim=8, image_size=8, base_filters=4, text_features=4)
        sr = build_superres(scale=2, filters=4, num_blocks=1)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert g.get_layer("to_rgb").compute_dtype == "float16"  # the policy really applied
    emb = tf.ones((2, 8))
    image = g([emb, tf.ones((2, 4))], training=False)
    assert image.dtype == tf.float32
    logit = d([image, emb], training=False)
    assert logit.dtype == tf.float32
    assert d.get_layer("logit").compute_dtype == "float32"
    assert sr(np.zeros((1, 4, 4, 3), np.float32)).dtype == tf.float32
