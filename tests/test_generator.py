"""Tests of the generator's conditioning designs, conditioning augmentation and its KL, FiLM,
and the checkerboard demonstration (issue 3; taught in 02_generator)."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from textgan_lib import losses
from textgan_lib.models import build_discriminator, build_generator
from textgan_lib.models.blocks import checkerboard_pattern
from textgan_lib.models.generator import ConditioningAugmentation, FiLM

TEXT_DIM, Z_DIM, SIZE = 8, 4, 16


# --------------------------------------------------------------------------- KL
def test_kl_is_zero_at_standard_normal():
    mu, log_sigma = np.zeros((3, 5), "float32"), np.zeros((3, 5), "float32")
    assert float(losses.kl_conditioning_augmentation(mu, log_sigma)) == 0.0


def test_kl_is_half_per_dimension_at_mu_one():
    mu, log_sigma = np.ones((3, 5), "float32"), np.zeros((3, 5), "float32")
    # summed over 5 dimensions, averaged over the batch: 5 * 0.5
    assert float(losses.kl_conditioning_augmentation(mu, log_sigma)) == pytest.approx(2.5)


def test_kl_matches_closed_form_and_sampling():
    # sigma = 2, mu = 0: KL = (4 - 1) / 2 - ln 2 per dimension
    kl = float(losses.kl_conditioning_augmentation([[0.0]], [[math.log(2.0)]]))
    assert kl == pytest.approx(1.5 - math.log(2.0), rel=1e-6)
    # Monte-Carlo check of the same number: E_q[log q(c) - log p(c)], c ~ N(0, 4)
    rng = np.random.default_rng(0)
    c = rng.normal(0.0, 2.0, size=400_000)
    log_q = -0.5 * (c / 2.0) ** 2 - math.log(2.0)
    log_p = -0.5 * c ** 2
    assert np.mean(log_q - log_p) == pytest.approx(kl, abs=0.01)


# --------------------------------------------------------------------------- CA layer
def test_conditioning_augmentation_sampling_and_loss():
    keras.utils.set_random_seed(0)
    ca = ConditioningAugmentation(units=6, seed=1)
    e = np.random.default_rng(0).normal(size=(4, TEXT_DIM)).astype("float32")
    mu, log_sigma = ca.mu_log_sigma(e)
    np.testing.assert_allclose(ca(e, training=False), mu, atol=1e-6)  # inference: c = mu
    sample = ca(e, training=True)
    assert sample.shape == (4, 6) and not np.allclose(sample, mu)
    expected = (2.0 / 6) * float(losses.kl_conditioning_augmentation(mu, log_sigma))
    assert len(ca.losses) == 1
    assert float(ca.losses[0]) == pytest.approx(expected, rel=1e-5)


def test_ca_generator_kl_reaches_the_generator_loss():
    from textgan_lib.models import build_discriminator
    from textgan_lib.training import TextGAN

    keras.utils.set_random_seed(0)
    g = build_generator(TEXT_DIM, Z_DIM, image_size=8, base_filters=4, text_features=4,
                        conditioning_augmentation=True)
    d = build_discriminator(TEXT_DIM, image_size=8, base_filters=4, text_features=4)
    gan = TextGAN(g, d, z_dim=Z_DIM, seed=1)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.SGD(0.0))
    data = {"image": tf.zeros((4, 8, 8, 3)),
            "embedding": tf.constant(np.random.default_rng(1).normal(size=(4, TEXT_DIM)),
                                     dtype="float32"),
            "image_id": tf.range(4)}
    g_loss = float(gan.generator_step(data)["g_loss"])  # lr 0: weights stay as they are
    kl = float(g.losses[0])  # the KL term the step's generator call added
    mu, log_sigma = g.get_layer("conditioning_augmentation").mu_log_sigma(data["embedding"])
    assert kl == pytest.approx(0.5 * float(losses.kl_conditioning_augmentation(mu, log_sigma)),
                               rel=1e-5)  # kl_weight = 2 / units = 0.5
    # the adversarial part, recomputed with D on a fresh fake, is near ln 2 for an untrained D
    assert kl > 0 and 0.3 < g_loss - kl < 1.5


# --------------------------------------------------------------------------- FiLM
def test_film_starts_as_identity_and_then_uses_the_text():
    film = FiLM(hidden=5)
    x = np.random.default_rng(0).normal(size=(2, 3, 3, 4)).astype("float32")
    t = np.random.default_rng(1).normal(size=(2, 6)).astype("float32")
    np.testing.assert_allclose(film([x, t]), x, atol=1e-6)   # zero-initialised last layer
    w, b = film.mlp_out.get_weights()
    film.mlp_out.set_weights([np.full_like(w, 0.1), b])
    gamma, beta = film.gamma_beta(t)
    assert gamma.shape == (2, 1, 1, 4) and beta.shape == (2, 1, 1, 4)
    np.testing.assert_allclose(film([x, t]), x * (1 + gamma) + beta, atol=1e-5)


# --------------------------------------------------------------------------- generators
@pytest.mark.parametrize("fusion, ca", [("concat", False), ("concat", True), ("film", False),
                                        ("film", True), ("concat_film", False)])
def test_generator_variants_shapes_range_and_text_dependence(fusion, ca):
    keras.utils.set_random_seed(0)
    g = build_generator(TEXT_DIM, Z_DIM, image_size=SIZE, base_filters=4, text_features=6,
                        fusion=fusion, conditioning_augmentation=ca)
    rng = np.random.default_rng(0)
    e = rng.normal(size=(2, TEXT_DIM)).astype("float32")
    z = np.repeat(rng.normal(size=(1, Z_DIM)).astype("float32"), 2, axis=0)
    out = np.asarray(g([e, z], training=False))
    assert out.shape == (2, SIZE, SIZE, 3) and out.dtype == np.float32
    assert np.all(np.abs(out) <= 1.0)
    if fusion == "film":  # FiLM starts as the identity: the text has no effect until trained
        np.testing.assert_allclose(out[0], out[1], atol=1e-6)
    else:                 # same z, different captions -> different images from the start
        assert np.abs(out[0] - out[1]).max() > 1e-4


def test_film_generator_feeds_text_to_every_block():
    g = build_generator(TEXT_DIM, Z_DIM, image_size=32, base_filters=4, fusion="film")
    films = [layer.name for layer in g.layers if isinstance(layer, FiLM)]
    assert films == ["up8_film", "up16_film", "up32_film"]
    # z alone makes the 4x4 map: the projection's input has z_dim features
    assert g.get_layer("project").kernel.shape[0] == Z_DIM


def test_concat_film_generator_takes_the_text_into_the_layout_and_every_block():
    g = build_generator(TEXT_DIM, Z_DIM, image_size=32, base_filters=4, text_features=6,
                        fusion="concat_film")
    films = [layer.name for layer in g.layers if isinstance(layer, FiLM)]
    assert films == ["up8_film", "up16_film", "up32_film"]
    assert g.get_layer("project").kernel.shape[0] == Z_DIM + 6       # [text code, z]
    rng = np.random.default_rng(0)
    e = rng.normal(size=(2, TEXT_DIM)).astype("float32")
    out = np.asarray(g([e, np.zeros((2, Z_DIM), "float32")], training=False))
    # z = 0 still makes an image with spatial structure that depends on the caption
    assert out[0].std() > 1e-4 and np.abs(out[0] - out[1]).max() > 1e-4


def test_conditioning_augmentation_kl_weight_option():
    g = build_generator(TEXT_DIM, Z_DIM, image_size=SIZE, base_filters=4, text_features=6,
                        conditioning_augmentation=True, kl_weight=0.25)
    assert g.get_layer("conditioning_augmentation").kl_weight == 0.25
    g = build_generator(TEXT_DIM, Z_DIM, image_size=SIZE, base_filters=4, text_features=8,
                        conditioning_augmentation=True)
    assert g.get_layer("conditioning_augmentation").kl_weight == 2.0 / 8
    for bad in ({"kl_weight": 0.1}, {"kl_weight": -1.0, "conditioning_augmentation": True}):
        with pytest.raises(ValueError, match="kl_weight"):
            build_generator(TEXT_DIM, Z_DIM, image_size=SIZE, base_filters=4, **bad)


def test_transposed_upsampling_option():
    g = build_generator(TEXT_DIM, Z_DIM, image_size=SIZE, base_filters=4, upsampling="transposed")
    assert any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in g.layers)
    assert g.output_shape == (None, SIZE, SIZE, 3)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="fusion"):
        build_generator(TEXT_DIM, Z_DIM, image_size=SIZE, fusion="add")
    with pytest.raises(ValueError, match="upsampling"):
        build_generator(TEXT_DIM, Z_DIM, image_size=SIZE, upsampling="bilinear")


def test_ca_film_generator_saves_and_loads_in_safe_mode(tmp_path):
    keras.utils.set_random_seed(0)
    g = build_generator(TEXT_DIM, Z_DIM, image_size=8, base_filters=4, fusion="film",
                        conditioning_augmentation=True)
    film = g.get_layer("up8_film")
    w, b = film.mlp_out.get_weights()
    film.mlp_out.set_weights([np.full_like(w, 0.05), b])
    path = tmp_path / "g.keras"
    g.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(2, TEXT_DIM)).astype("float32"),
              rng.normal(size=(2, Z_DIM)).astype("float32")]
    np.testing.assert_allclose(loaded(inputs, training=False), g(inputs, training=False),
                               atol=1e-6)


# --------------------------------------------------------------------------- checkerboard
def test_transposed_conv_3x3_stride_2_makes_a_checkerboard():
    counts = checkerboard_pattern("transposed", size=6, kernel_size=3, strides=2)
    assert counts.shape == (12, 12)
    interior = counts[2:10, 2:10]
    # period 2 in both directions: 4 where two odd rows/cols meet, 1 at even/even, 2 between
    np.testing.assert_array_equal(interior[:2, :2], [[4, 2], [2, 1]])
    np.testing.assert_array_equal(interior, np.tile([[4, 2], [2, 1]], (4, 4)))


def test_upsample_then_conv_is_flat_inside():
    counts = checkerboard_pattern("upsample", size=6, kernel_size=3, strides=2)
    np.testing.assert_array_equal(counts[1:-1, 1:-1], np.full((10, 10), 9.0))
    assert counts[0, 0] == 4 and counts[0, 5] == 6


def test_kernel_divisible_by_stride_has_no_checkerboard():
    counts = checkerboard_pattern("transposed", size=6, kernel_size=4, strides=2)
    np.testing.assert_array_equal(counts[1:-1, 1:-1], np.full((10, 10), 4.0))


def test_checkerboard_bad_kind():
    with pytest.raises(ValueError, match="kind"):
        checkerboard_pattern("bilinear")


def test_checkerboard_energy_values():
    from textgan_lib.models.blocks import checkerboard_energy

    board = np.indices((8, 8)).sum(axis=0) % 2 * 2.0 - 1.0          # +-1 checkerboard
    assert checkerboard_energy(board[None, :, :, None]) == pytest.approx(1.0)
    stripes = np.tile([1.0, -1.0], (8, 4))                          # period-2 columns
    assert checkerboard_energy(stripes[None, :, :, None]) == pytest.approx(1.0)
    ramp = np.linspace(-1, 1, 8)[None, :].repeat(8, 0)              # smooth: tiny share
    assert checkerboard_energy(ramp[None, :, :, None]) < 0.05
    assert checkerboard_energy(np.zeros((1, 4, 4, 3))) == 0.0
    with pytest.raises(ValueError, match="even"):
        checkerboard_energy(np.zeros((1, 5, 4, 3)))


def test_transposed_generator_output_has_checkerboard_energy():
    from textgan_lib.models.blocks import checkerboard_energy

    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(8, TEXT_DIM)).astype("float32"),
              rng.normal(size=(8, Z_DIM)).astype("float32")]
    energy = {}
    for upsampling in ("transposed", "nearest"):
        keras.utils.set_random_seed(0)
        g = build_generator(TEXT_DIM, Z_DIM, image_size=SIZE, base_filters=8,
                            upsampling=upsampling)
        energy[upsampling] = checkerboard_energy(np.asarray(g(inputs, training=False)))
    assert energy["transposed"] > 10 * energy["nearest"]


def test_text_standardization_is_exact_and_saved(tmp_path):
    from textgan_lib.models.blocks import text_statistics

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(50, 8)).astype("float32") * 0.1 + 0.5
    mean, std = text_statistics(emb)
    g = build_generator(8, z_dim=4, image_size=8, base_filters=4, text_stats=(mean, std))
    standardized = keras.Model(g.inputs[0], g.get_layer("text_rescale").output)
    expected = (emb - mean) / std / np.sqrt(8)
    np.testing.assert_allclose(np.asarray(standardized(emb)), expected, rtol=1e-4, atol=1e-5)
    path = tmp_path / "g.keras"
    g.save(path)
    loaded = keras.saving.load_model(path)           # safe mode: plain Keras layers only
    z = rng.normal(size=(50, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded([emb, z])), np.asarray(g([emb, z])), atol=1e-6)
    d = build_discriminator(8, image_size=8, base_filters=4, fusion="projection",
                            text_stats=(mean, std))
    assert "text_standardize" in [layer.name for layer in d.layers]
    with pytest.raises(ValueError, match="std > 0"):
        build_generator(8, z_dim=4, image_size=8, text_stats=(mean, np.zeros(8)))
    with pytest.raises(ValueError, match=r"\(N >= 2, D\)"):
        text_statistics(emb[:1])
