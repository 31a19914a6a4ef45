"""Tests for textgan_lib.toy: the 1-D toy GAN and densities of 05_losses_and_derivations."""
import math

import numpy as np
import pytest

from textgan_lib import config, toy

tf = config.import_tensorflow()
import keras  # noqa: E402

LOG4 = math.log(4.0)
GRID = np.linspace(-10, 18, 28001)
DX = GRID[1] - GRID[0]


def test_normal_pdf_peak_and_mass():
    assert toy.normal_pdf(2.0, 2.0, 0.5) == pytest.approx(1 / (0.5 * math.sqrt(2 * math.pi)))
    assert np.sum(toy.normal_pdf(GRID, 1.0, 0.7)) * DX == pytest.approx(1.0, abs=1e-9)


def test_log_normal_matches_log_of_pdf_and_is_finite_in_tails():
    v = np.array([-3.0, 0.0, 0.5, 4.0])
    np.testing.assert_allclose(toy.log_normal(v, 0.5, 2.0), np.log(toy.normal_pdf(v, 0.5, 2.0)), rtol=1e-12)
    assert toy.log_normal(60.0, 0.0, 1.0) == pytest.approx(-1800 - 0.5 * math.log(2 * math.pi))


def test_js_divergence_zero_for_equal_and_log2_for_disjoint():
    lp = toy.log_normal(GRID, 0.0, 1.0)
    assert toy.js_divergence(lp, lp, DX) == pytest.approx(0.0, abs=1e-12)
    far = toy.js_divergence(lp, toy.log_normal(GRID, 8.0, 1.0), DX)
    assert far == pytest.approx(math.log(2.0), abs=2e-4) and far < math.log(2.0)


@pytest.mark.parametrize("mu", [0.0, 1.0, 4.0])
def test_optimal_value_on_grid_is_minus_log4_plus_2js(mu):
    lpd, lpg = toy.log_normal(GRID, 0.0, 1.0), toy.log_normal(GRID, mu, 1.0)
    v = toy.optimal_value_on_grid(lpd, lpg, DX)
    assert v == pytest.approx(-LOG4 + 2 * toy.js_divergence(lpd, lpg, DX), abs=1e-6)
    if mu == 0.0:
        assert v == pytest.approx(-LOG4, abs=1e-9)


def test_optimal_value_sampled():
    rng = np.random.default_rng(0)
    assert toy.optimal_value_sampled(rng, 0.0, 1000) == pytest.approx(-LOG4, abs=1e-12)   # D* = 1/2 everywhere
    lpd, lpg = toy.log_normal(GRID, 0.0, 1.0), toy.log_normal(GRID, 2.0, 1.0)
    assert toy.optimal_value_sampled(rng, 2.0) == pytest.approx(toy.optimal_value_on_grid(lpd, lpg, DX), abs=0.01)


def test_sample_data_shape_dtype_and_modes():
    x = toy.sample_data(4000, np.random.default_rng(0))
    assert x.shape == (4000, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x, toy.sample_data(4000, np.random.default_rng(0)))
    np.testing.assert_allclose(toy.mode_coverage(x), [0.5, 0.5], atol=0.03)
    assert toy.modes_missed(x) == 0


def test_data_density_values_and_mass():
    assert toy.data_density(2.0) == pytest.approx(0.5 * toy.normal_pdf(2.0, 2.0, 0.4) + 0.5 * toy.normal_pdf(2.0, -2.0, 0.4))
    assert np.sum(toy.data_density(GRID)) * DX == pytest.approx(1.0, abs=1e-9)


def test_mode_coverage_and_modes_missed_by_hand():
    samples = np.array([[-2.0], [-1.5], [2.9], [0.0]])
    np.testing.assert_allclose(toy.mode_coverage(samples), [0.5, 0.25])
    np.testing.assert_allclose(toy.mode_coverage(samples, radius=2.5), [0.75, 0.5])
    assert toy.modes_missed(np.full((10, 1), 2.0)) == 1
    assert toy.modes_missed(np.array([-2.0] * 19 + [2.0])) == 1   # 5% < 10% at the right mode
    assert toy.modes_missed(np.array([-2.0] * 9 + [2.0])) == 0


def test_mlp_shapes_and_parameter_count():
    m = toy.mlp(4, "G")
    assert m.name == "G" and m.count_params() == (4 * 32 + 32) + (32 * 32 + 32) + 33
    assert tuple(m(np.zeros((5, 4), "float32")).shape) == (5, 1)


def test_make_gan_step_updates_both_and_starts_near_log4():
    config.set_seed()
    g, d = toy.mlp(4, "G"), toy.mlp(1, "D")
    d.layers[-1].kernel.assign(tf.zeros_like(d.layers[-1].kernel))   # D's logits start at its bias, 0
    g0, d0 = [w.numpy() for w in g.trainable_weights], [w.numpy() for w in d.trainable_weights]
    step = toy.make_gan_step(g, d, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    rng = np.random.default_rng(0)
    d_loss, g_loss = step(toy.sample_data(64, rng), rng.normal(size=(64, 4)).astype("float32"))
    assert float(d_loss) == pytest.approx(LOG4, abs=1e-6) and float(g_loss) == pytest.approx(math.log(2.0), abs=1e-3)
    assert any(np.any(w.numpy() != w0) for w, w0 in zip(g.trainable_weights, g0))
    assert any(np.any(w.numpy() != w0) for w, w0 in zip(d.trainable_weights, d0))


def test_dirac_gan_r1_converges_and_plain_circles():
    with_r1, plain = toy.dirac_gan(1.0), toy.dirac_gan(0.0, steps=200)
    assert with_r1.shape == (1001, 2) and plain.shape == (201, 2)
    np.testing.assert_array_equal(with_r1[0], [1.0, 1.0])
    assert np.hypot(*with_r1[-1]) < 1e-6
    assert np.hypot(*plain[-1]) > 0.1
