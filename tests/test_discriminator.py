"""Tests for the conditional discriminator: fusions, spectral norm, batch norm (C07, C14, C19)."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from textgan_lib.models import build_discriminator, build_generator
from textgan_lib.training import TextGAN

TEXT_DIM = 6
SIZE = 8


def _inputs(batch=3, seed=0, size=SIZE):
    rng = np.random.default_rng(seed)
    return (tf.constant(rng.uniform(-1, 1, (batch, size, size, 3)), tf.float32),
            tf.constant(rng.normal(size=(batch, TEXT_DIM)), tf.float32))


def _d(size=SIZE, **kwargs):
    keras.utils.set_random_seed(0)
    return build_discriminator(text_dim=TEXT_DIM, image_size=size, base_filters=4,
                               text_features=4, **kwargs)


def test_default_discriminator_unchanged():
    d = _d()
    assert isinstance(d.get_layer("logit"), keras.layers.Dense)
    assert not any(isinstance(layer, (keras.layers.SpectralNormalization,
                                      keras.layers.BatchNormalization)) for layer in d.layers)
    assert [i.name for i in d.inputs] == ["image", "text_embedding"]
    assert d.get_layer("down4_conv") is not None  # the shared downsample block's names


def test_unknown_fusion_raises():
    with pytest.raises(ValueError, match="fusion"):
        _d(fusion="film")


@pytest.mark.parametrize("fusion", ["concat", "projection"])
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_output_shape_dtype(fusion, spectral_norm):
    d = _d(fusion=fusion, spectral_norm=spectral_norm)
    out = d(list(_inputs(batch=5)))
    assert tuple(out.shape) == (5, 1)
    assert out.dtype == tf.float32


def test_projection_logit_is_psi_plus_inner_product():
    """logit = psi(phi(x)) + <V e, phi(x)> (Miyato & Koyama, 2018), checked from the weights."""
    d = _d(fusion="projection")
    x, e = _inputs()
    phi = keras.Model(d.inputs, d.get_layer("phi").output)([x, e]).numpy()   # (B, C)
    w_psi, b_psi = d.get_layer("psi").get_weights()
    (v,) = d.get_layer("text_embed").get_weights()                          # (D, C)
    expected = phi @ w_psi + b_psi + np.sum((e.numpy() @ v) * phi, axis=1, keepdims=True)
    np.testing.assert_allclose(d([x, e]).numpy(), expected, rtol=1e-5, atol=1e-6)
    # the caption only enters through the inner product: zero text -> the unconditional psi
    np.testing.assert_allclose(d([x, tf.zeros_like(e)]).numpy(), phi @ w_psi + b_psi,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fusion", ["concat", "projection"])
def test_spectral_norm_saves_and_loads_in_safe_mode(tmp_path, fusion):
    d = _d(fusion=fusion, spectral_norm=True)
    x, e = _inputs()
    d([x, e], training=True)  # one power iteration, so u and the kernels are not the initial ones
    path = tmp_path / "d.keras"
    d.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded([x, e]).numpy(), d([x, e]).numpy(), rtol=1e-6)
    assert isinstance(loaded.get_layer("logit" if fusion == "concat" else "psi"),
                      keras.layers.SpectralNormalization)


def test_spectral_norm_brings_largest_singular_value_to_one():
    d = _d(spectral_norm=True)
    x, e = _inputs()

    def sigmas():
        out = {}
        for layer in d.layers:
            if isinstance(layer, keras.layers.SpectralNormalization):
                k = np.array(layer.kernel)
                out[layer.name] = np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0]
        return out
    before = sigmas()
    assert max(abs(s - 1.0) for s in before.values()) > 0.1  # raw initial kernels
    for _ in range(20):  # Keras assigns W / sigma(W) to the kernel on each training call
        d([x, e], training=True)
    for name, s in sigmas().items():
        assert s == pytest.approx(1.0, abs=0.02), name
    # an inference call leaves the weights alone
    snapshot = [np.array(w) for w in d.weights]
    d([x, e], training=False)
    assert all(np.array_equal(a, np.array(w)) for a, w in zip(snapshot, d.weights))


def test_batch_norm_makes_a_score_depend_on_batch_mates():  # C19
    bn = _d(size=16, batch_norm=True)  # 16 px: two convolutions, the second one normalised
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in bn.layers)
    plain = _d(size=16)
    x, e = _inputs(batch=4, size=16)
    x2, e2 = _inputs(batch=4, seed=1, size=16)
    batch_a = [x, e]
    batch_b = [tf.concat([x[:1], x2[1:]], 0), tf.concat([e[:1], e2[1:]], 0)]  # same image 0
    a_train = bn(batch_a, training=True).numpy()[0, 0]
    b_train = bn(batch_b, training=True).numpy()[0, 0]
    assert abs(a_train - b_train) > 1e-3
    a_inf = bn(batch_a, training=False).numpy()[0, 0]
    b_inf = bn(batch_b, training=False).numpy()[0, 0]
    assert a_inf == pytest.approx(b_inf, abs=1e-6)
    for training in (True, False):  # the course's D: no batch norm, so never batch-dependent
        assert plain(batch_a, training=training).numpy()[0, 0] == pytest.approx(
            plain(batch_b, training=training).numpy()[0, 0], abs=1e-6)


def _snapshot(model, trainable=True):
    return [np.array(w) for w in (model.trainable_weights if trainable else model.weights)]


def _changed(before, model, trainable=True):
    weights = model.trainable_weights if trainable else model.weights
    return any(not np.array_equal(b, np.array(w)) for b, w in zip(before, weights))


@pytest.mark.parametrize("fusion", ["concat", "projection"])
def test_d_step_changes_only_d_and_g_step_only_g(fusion):  # C07
    keras.utils.set_random_seed(0)
    g = build_generator(text_dim=TEXT_DIM, z_dim=4, image_size=SIZE, base_filters=4,
                        text_features=4)
    d = build_discriminator(text_dim=TEXT_DIM, image_size=SIZE, base_filters=4,
                            text_features=4, fusion=fusion)
    gan = TextGAN(g, d, z_dim=4, seed=1)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3),
                g_optimizer=keras.optimizers.Adam(1e-3))
    x, e = _inputs(batch=4)
    data = {"image": x, "embedding": e, "image_id": tf.constant([0, 1, 1, 2])}
    g0, d0 = _snapshot(g), _snapshot(d)
    out = gan.discriminator_step(data)
    assert np.isfinite(float(out["d_loss"]))
    assert _changed(d0, d) and not _changed(g0, g)
    g1, d1 = _snapshot(g), _snapshot(d, trainable=False)
    out = gan.generator_step(data)
    assert np.isfinite(float(out["g_loss"]))
    assert _changed(g1, g) and not _changed(d1, d, trainable=False)  # D: not even a statistic
