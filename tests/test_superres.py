"""Tests for textgan_lib.models.superres: the models of 03_super_resolution, preparing images,
patch pairs, training and evaluation (C16, C17, C18). Tiny models only."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from textgan_lib.data.pipeline import resize_uint8
from textgan_lib.models import superres as sr
from textgan_lib.models.blocks import PixelShuffle


# depth_to_space layout, exact values (C17) ----------------------------------------------------
def test_depth_to_space_1x1x1x4_to_2x2():
    x = np.array([1, 2, 3, 4], np.float32).reshape(1, 1, 1, 4)
    out = tf.nn.depth_to_space(x, 2).numpy()
    assert out.shape == (1, 2, 2, 1)
    np.testing.assert_array_equal(out[0, :, :, 0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(np.asarray(PixelShuffle(2)(x)), out)


def test_depth_to_space_1x2x2x8_to_4x4x2():
    # output pixel (h*2 + i, w*2 + j, c) takes input channel (i*2 + j)*2 + c of pixel (h, w)
    x = np.arange(32, dtype=np.float32).reshape(1, 2, 2, 8)
    out = tf.nn.depth_to_space(x, 2).numpy()
    assert out.shape == (1, 4, 4, 2)
    channel0 = [[0, 2, 8, 10],
                [4, 6, 12, 14],
                [16, 18, 24, 26],
                [20, 22, 28, 30]]
    np.testing.assert_array_equal(out[0, :, :, 0], channel0)
    np.testing.assert_array_equal(out[0, :, :, 1], np.array(channel0) + 1)
    np.testing.assert_array_equal(np.asarray(PixelShuffle(2)(x)), out)


# prepare_images: crop to the scale, RGBA and grayscale to RGB (C18) ----------------------------
def test_prepare_crops_250x361_at_x4_and_sr_output_has_hr_shape():  # C18
    hr = np.random.default_rng(0).integers(0, 256, (250, 361, 3), dtype=np.uint8)
    prepared = sr.prepare_images(hr, 4)
    assert prepared.shape == (1, 248, 360, 3) and prepared.dtype == np.uint8
    np.testing.assert_array_equal(prepared[0], hr[:248, :360])   # top-left kept
    low, high = sr.make_pairs(hr, 4)
    assert low.shape == (1, 62, 90, 3) and high.shape == (1, 248, 360, 3)
    model = sr.build_superres(4, filters=4, num_blocks=1)
    assert model(low).shape == high.shape
    assert sr.build_srcnn(4, filters=(4, 4))(low).shape == high.shape
    assert sr.build_espcn(4, filters=(4, 4))(low).shape == high.shape


def test_prepare_x2_crops_odd_sizes_only_by_one():
    out = sr.prepare_images(np.zeros((2, 33, 64, 3), np.float32), 2, value_range=(-1, 1))
    assert out.shape == (2, 32, 64, 3) and out.dtype == np.float32


def test_prepare_rgba_is_composited_on_white():
    rgba = np.array([[[255, 0, 0, 255], [255, 0, 0, 128]],
                     [[0, 0, 0, 0], [10, 20, 30, 255]]], np.uint8)  # (2, 2, 4)
    out = sr.prepare_images(rgba, 2)
    assert out.shape == (1, 2, 2, 3) and out.dtype == np.uint8
    # half-transparent red: 255 * a + 255 * (1 - a) = 255 for R; 0 * a + 255 * (1 - 128/255) = 127
    np.testing.assert_array_equal(out[0], [[[255, 0, 0], [255, 127, 127]],
                                           [[255, 255, 255], [10, 20, 30]]])


def test_prepare_rgba_float_in_minus_one_one():
    rgba = np.array([[[-1.0, -1.0, -1.0, 0.0]]], np.float32)  # black, alpha 0.5 in [-1, 1]
    rgba = np.repeat(np.repeat(rgba, 2, 0), 2, 1)
    out = sr.prepare_images(rgba, 2, value_range=(-1.0, 1.0))
    np.testing.assert_allclose(out, 0.0)  # half black, half white = grey 0


def test_prepare_grayscale_to_rgb():
    gray = np.arange(16, dtype=np.uint8).reshape(4, 4)
    for image in (gray, gray[..., None], gray[None, ..., None]):
        out = sr.prepare_images(image, 2)
        assert out.shape == (1, 4, 4, 3)
        for c in range(3):
            np.testing.assert_array_equal(out[0, :, :, c], gray)


@pytest.mark.parametrize("bad, scale", [(np.zeros((4, 4, 2)), 2), (np.zeros((3, 3, 3)), 4),
                                        (np.zeros((1, 2, 4, 4, 3)), 2), (np.zeros((8, 8, 3)), 3)])
def test_prepare_rejects_bad_input(bad, scale):
    with pytest.raises(ValueError):
        sr.prepare_images(bad, scale)


def test_make_pairs_low_res_is_the_cascades_downsampling():
    images = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    low, high = sr.make_pairs(images, 4)
    np.testing.assert_allclose(low, resize_uint8(images, 8) / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_allclose(high, images / 127.5 - 1.0, atol=1e-6)
    low2, _ = sr.make_pairs(images, 2)
    assert low2.shape == (3, 16, 16, 3)


# models: shapes, parameter counts, baselines ---------------------------------------------------
@pytest.mark.parametrize("scale", [2, 4])
def test_model_shapes_and_param_counts(scale):
    x = np.zeros((2, 6, 5, 3), np.float32)
    srcnn = sr.build_srcnn(scale)
    # 9x9x3x64 + 64, 1x1x64x32 + 32, 5x5x32x3 + 3: the same at every scale
    assert srcnn.count_params() == 20_099
    espcn = sr.build_espcn(scale)
    assert espcn.count_params() == 4_864 + 18_464 + (9 * 32 + 1) * 3 * scale ** 2
    assert sr.build_bicubic(scale).count_params() == 0
    for model in (srcnn, espcn, sr.build_bicubic(scale), sr.build_superres(scale, 4, 1)):
        assert model(x).shape == (2, 6 * scale, 5 * scale, 3)


def test_espcn_param_count_x4_exact():
    assert sr.build_espcn(4).count_params() == 37_200
    assert sr.build_espcn(2).count_params() == 26_796


@pytest.mark.parametrize("scale", [2, 4])
def test_bicubic_model_equals_bicubic_upsample(scale):
    x = np.random.default_rng(2).uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(sr.build_bicubic(scale)(x)),
                               np.asarray(sr.bicubic_upsample(x, scale)), atol=1e-6)


@pytest.mark.parametrize("builder", [
    lambda: sr.build_espcn(2, filters=(4, 4), residual=True),
    lambda: sr.build_srcnn(2, filters=(4, 4), residual=True)])
def test_residual_baselines_start_at_bicubic(builder):
    model = builder()
    last = model.get_layer("to_subpixels" if "espcn" in model.name else "reconstruct")
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    x = np.random.default_rng(3).uniform(-1, 1, (1, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(sr.bicubic_upsample(x, 2)),
                               atol=1e-6)


def test_res_scale_adds_rescaling_layers():
    model = sr.build_superres(2, filters=4, num_blocks=2, res_scale=0.1)
    assert [l.name for l in model.layers if "scale" in l.name and "pixel" not in l.name] == \
        ["res0_scale", "res1_scale"]
    assert sr.build_superres(2, 4, 2).count_params() == model.count_params()


@pytest.mark.parametrize("builder", [sr.build_srcnn, sr.build_espcn, sr.build_bicubic,
                                     sr.build_superres])
def test_builders_reject_scale_3(builder):
    with pytest.raises(ValueError, match="scale"):
        builder(3)


# patches, training, evaluation -------------------------------------------------------------------
def _images(n=8, size=32, seed=0):
    rng = np.random.default_rng(seed)
    # smooth-ish images: a few blocks of colour, so that they are learnable
    blocks = rng.integers(0, 256, (n, size // 8, size // 8, 3), dtype=np.uint8)
    return np.repeat(np.repeat(blocks, 8, 1), 8, 2)


def test_patch_dataset_pairs_are_aligned_and_deterministic():
    images = np.random.default_rng(4).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    ds = sr.patch_dataset(images, 4, patch_size=4, batch_size=6, seed=1)
    low, high = next(iter(ds))
    assert low.shape == (6, 4, 4, 3) and high.shape == (6, 16, 16, 3)
    assert low.dtype == tf.float32
    # the low-res patch is the (uint8-rounded) area average of the high-res patch
    np.testing.assert_allclose(np.asarray(sr.downsample(high, 4)), low, atol=0.5 / 127.5 + 1e-6)
    low_again, high_again = next(iter(sr.patch_dataset(images, 4, patch_size=4, batch_size=6,
                                                       seed=1)))
    np.testing.assert_array_equal(low, low_again)
    np.testing.assert_array_equal(high, high_again)


def test_patch_dataset_noise_changes_only_the_low_res_input():
    images = _images(4)
    clean = next(iter(sr.patch_dataset(images, 2, patch_size=8, batch_size=8, seed=2)))
    noisy = next(iter(sr.patch_dataset(images, 2, patch_size=8, batch_size=8, seed=2,
                                       noise_std=0.2)))
    np.testing.assert_array_equal(clean[1], noisy[1])
    diff = np.asarray(noisy[0] - clean[0])
    assert 0.0 < diff.std() < 0.2


def test_patch_dataset_rejects_a_too_large_patch():
    with pytest.raises(ValueError, match="patch_size"):
        sr.patch_dataset(_images(2, 32), 4, patch_size=16)


def test_fit_superres_runs_its_steps_and_learns():
    images = _images(16, 32)
    model = sr.build_espcn(2, filters=(8, 8), residual=True)
    history = sr.fit_superres(model, images, 2, steps=40, batch_size=8, patch_size=8,
                              learning_rate=3e-3, epochs=2)
    losses = history.history["loss"]
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert losses[1] < losses[0]
    assert int(model.optimizer.iterations) == 40
    # cosine decay: the learning rate has reached 0 after the last step
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        sr.fit_superres(model, images, 2, steps=5, epochs=2)


def test_evaluate_sr_bicubic_has_zero_gain_and_known_keys():
    images = _images(4, 32)
    base = sr.evaluate_sr(None, images, 4)
    assert base["psnr_gain"] == 0.0 and base["n"] == 4
    with_model = sr.evaluate_sr(sr.build_bicubic(4), images, 4)
    assert with_model["psnr_gain"] == pytest.approx(0.0, abs=1e-6)
    assert set(with_model) == {"psnr", "ssim", "psnr_bicubic", "ssim_bicubic", "psnr_gain", "n"}


def test_evaluate_sr_of_a_perfect_copy_is_infinite():
    # flat 4x4 blocks: area downsampling then nearest upsampling gives the image back exactly
    import keras

    images = _images(2, 32)
    low = keras.Input((None, None, 3))
    nearest = keras.Model(low, keras.layers.UpSampling2D(4)(low))
    result = sr.evaluate_sr(nearest, images, 4)
    assert result["psnr"] == float("inf") and result["ssim"] == pytest.approx(1.0)


def test_time_per_image_is_positive():
    low = np.zeros((4, 8, 8, 3), np.float32)
    assert sr.time_per_image(sr.build_bicubic(2), low, repeats=1, batch_size=2) > 0
