"""Tests for textgan_lib.metrics (PSNR/SSIM with an explicit range, C16) and textgan_lib.viz."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from textgan_lib.metrics import psnr, ssim  # noqa: E402
from textgan_lib.viz import comparison_grid, image_grid, to_uint8  # noqa: E402


@pytest.mark.parametrize("lo, hi", [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)])
def test_psnr_is_20db_in_every_range(lo, hi):  # C16
    # a = 0, b = 0.1 in [0, 1]; the same pair mapped linearly to [lo, hi]
    a = np.full((2, 16, 16, 3), lo + 0.0 * (hi - lo), np.float32)
    b = np.full((2, 16, 16, 3), lo + 0.1 * (hi - lo), np.float32)
    value = np.asarray(psnr(a, b, value_range=(lo, hi)))
    assert value.shape == (2,)
    np.testing.assert_allclose(value, [20.0, 20.0], atol=1e-3)


def test_psnr_uses_range_not_image_max():  # C16
    # an image whose own max is 0.5: PSNR must still use the range width 1
    a = np.zeros((8, 8, 3), np.float32)
    b = np.full((8, 8, 3), 0.1, np.float32)
    b[0, 0, 0] = 0.5
    mse = np.mean((a - b) ** 2)
    expected = 10 * np.log10(1.0 / mse)
    assert float(psnr(a, b, value_range=(0.0, 1.0))) == pytest.approx(expected, abs=1e-3)


def test_psnr_default_range_is_minus_one_one():
    a = np.full((1, 8, 8, 3), -1.0, np.float32)
    b = np.full((1, 8, 8, 3), -0.8, np.float32)
    np.testing.assert_allclose(np.asarray(psnr(a, b)), [20.0], atol=1e-3)


def test_psnr_rejects_bad_range():
    with pytest.raises(ValueError):
        psnr(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)), value_range=(1.0, 1.0))


def test_ssim_identical_is_one():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, size=(2, 16, 16, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(ssim(a, a)), [1.0, 1.0], atol=1e-6)
    a255 = rng.integers(0, 256, size=(16, 16, 3)).astype(np.float32)
    assert float(ssim(a255, a255, value_range=(0, 255))) == pytest.approx(1.0, abs=1e-6)
    # a different image scores below 1, and the same in either range
    b = np.clip(a + 0.3, -1, 1)
    s_pm1 = np.asarray(ssim(a, b, value_range=(-1, 1)))
    s_01 = np.asarray(ssim((a + 1) / 2, (b + 1) / 2, value_range=(0, 1)))
    assert np.all(s_pm1 < 0.99)
    np.testing.assert_allclose(s_pm1, s_01, atol=1e-5)


def test_to_uint8_values():
    assert np.round(127.5) == 128.0  # numpy rounds half to even: 127.5 -> 128
    out = to_uint8(np.array([-1.0, 1.0, 0.0, 3.0, -7.0, 0.5], np.float32))
    assert out.dtype == np.uint8
    # 0.5 -> 1.5 * 127.5 = 191.25 -> 191
    np.testing.assert_array_equal(out, [0, 255, 128, 255, 0, 191])


def test_to_uint8_passes_uint8_through():
    x = np.arange(0, 256, 17, dtype=np.uint8).reshape(1, 1, 16)[..., :15].reshape(1, 5, 3)
    out = to_uint8(x)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, x)


def test_image_grid_axes_and_captions():
    images = np.zeros((5, 8, 8, 3), np.float32)
    captions = ["red apple", "cat", "dog", "smiling face", "rocket"]
    fig = image_grid(images, captions, ncols=3, title="t")
    try:
        assert isinstance(fig, matplotlib.figure.Figure)
        assert len(fig.axes) == 6  # 2 rows x 3 columns, the last axis left empty
        titles = [ax.get_title() for ax in fig.axes]
        assert titles[:5] == ["red apple", "cat", "dog", "smiling face", "rocket"]
        assert titles[5] == ""
        assert [len(ax.images) for ax in fig.axes] == [1, 1, 1, 1, 1, 0]
        shown = fig.axes[0].images[0].get_array()
        assert shown.dtype == np.uint8 and int(np.asarray(shown).max()) == 128
    finally:
        plt.close(fig)


def test_image_grid_without_captions_and_few_images():
    fig = image_grid(np.zeros((2, 4, 4, 3), np.uint8), ncols=8)
    try:
        assert len(fig.axes) == 2  # ncols is capped at the number of images
        assert all(ax.get_title() == "" for ax in fig.axes)
    finally:
        plt.close(fig)


def test_comparison_grid_shape():
    rows = [np.zeros((3, 8, 8, 3), np.float32), np.zeros((3, 16, 16, 3), np.uint8)]
    fig = comparison_grid(rows, ["real", "generated"], ["a", "b", "c"])
    try:
        assert len(fig.axes) == 6
        assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
        assert fig.axes[0].get_ylabel() == "real" and fig.axes[3].get_ylabel() == "generated"
    finally:
        plt.close(fig)


def test_comparison_grid_wraps_into_blocks():
    rows = [np.zeros((5, 8, 8, 3), np.uint8), np.full((5, 8, 8, 3), 255, np.uint8)]
    fig = comparison_grid(rows, ["real", "generated"], list("abcde"), ncols=3)
    try:
        axes = np.array(fig.axes).reshape(4, 3)            # 2 blocks x 2 rows, 3 columns
        assert [ax.get_title() for ax in axes[0]] == ["a", "b", "c"]
        assert [ax.get_title() for ax in axes[2][:2]] == ["d", "e"]
        assert axes[3][0].get_ylabel() == "generated"
        assert not axes[3][2].axison                         # the 6th slot stays empty
    finally:
        plt.close(fig)


@pytest.mark.parametrize("lo, hi", [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)])
def test_psnr_one_grey_level_apart_is_exact_in_every_range(lo, hi):  # C16
    # uint8 images one grey level apart everywhere: MSE = 1 in [0, 255], so
    # PSNR = 20 log10(255) = 48.1308 dB; one level apart on half the pixels: +10 log10(2) dB
    rng = np.random.default_rng(5)
    a = rng.integers(0, 255, (2, 16, 16, 3)).astype(np.float64)
    b = a + 1.0
    b[1, :8] = a[1, :8]
    to_range = lambda x: (lo + x / 255.0 * (hi - lo)).astype(np.float32)  # noqa: E731
    value = np.asarray(psnr(to_range(a), to_range(b), value_range=(lo, hi)))
    np.testing.assert_allclose(value, [20 * np.log10(255), 20 * np.log10(255) + 10 * np.log10(2)],
                               atol=2e-3)
    assert value[0] == pytest.approx(48.1308, abs=2e-3)


def test_psnr_identical_across_ranges_for_a_random_pair():  # C16
    rng = np.random.default_rng(6)
    a = rng.integers(0, 256, (3, 24, 24, 3)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 12, a.shape).round(), 0, 255)
    values = [np.asarray(psnr(lo + a / 255 * (hi - lo), lo + b / 255 * (hi - lo),
                              value_range=(lo, hi)))
              for lo, hi in [(0, 1), (-1, 1), (0, 255)]]
    np.testing.assert_allclose(values[0], values[1], atol=1e-3)
    np.testing.assert_allclose(values[0], values[2], atol=1e-3)
    mse = np.mean((a - b) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(values[2], 10 * np.log10(255.0 ** 2 / mse), atol=1e-3)
