"""Tests for textgan_lib.training.TextGAN with tiny networks (C01, C07, C08, C09, C14)."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from textgan_lib.models import build_discriminator, build_generator
from textgan_lib.training import TextGAN, wrong_caption_pairs

TEXT_DIM = 8
Z_DIM = 4
SIZE = 8
BATCH = 4
LN2 = math.log(2.0)


def _nets():
    keras.utils.set_random_seed(0)
    g = build_generator(text_dim=TEXT_DIM, z_dim=Z_DIM, image_size=SIZE, base_filters=4,
                        text_features=4)
    d = build_discriminator(text_dim=TEXT_DIM, image_size=SIZE, base_filters=4,
                            text_features=4)
    return g, d


def _dataset(n=8, ids=None):
    rng = np.random.default_rng(0)
    data = {
        "image": rng.uniform(-1, 1, size=(n, SIZE, SIZE, 3)).astype(np.float32),
        "embedding": rng.normal(size=(n, TEXT_DIM)).astype(np.float32),
        "image_id": (np.arange(n) if ids is None else np.asarray(ids)).astype(np.int64),
    }
    return tf.data.Dataset.from_tensor_slices(data).batch(BATCH, drop_remainder=True)


def _gan(d_opt=None, g_opt=None, run_eagerly=True):
    # eager: one or two steps run much faster than tracing a tf.function
    g, d = _nets()
    gan = TextGAN(g, d, z_dim=Z_DIM, seed=1)
    gan.compile(d_optimizer=d_opt or keras.optimizers.Adam(1e-3),
                g_optimizer=g_opt or keras.optimizers.Adam(1e-3), run_eagerly=run_eagerly)
    return gan


def _snapshot(model):
    return [np.array(w) for w in model.trainable_weights]


def _changed(before, model):
    return [not np.array_equal(b, np.array(w)) for b, w in zip(before, model.trainable_weights)]


def test_same_optimizer_twice_raises():  # C08
    g, d = _nets()
    gan = TextGAN(g, d, z_dim=Z_DIM)
    opt = keras.optimizers.Adam(1e-3)
    with pytest.raises(ValueError):
        gan.compile(d_optimizer=opt, g_optimizer=opt)


def test_one_step_changes_both_networks():  # C07: neither step is a no-op
    gan = _gan(run_eagerly=False)  # the compiled (tf.function) path that notebooks use
    g_before, d_before = _snapshot(gan.generator), _snapshot(gan.discriminator)
    gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert any(_changed(g_before, gan.generator))
    assert any(_changed(d_before, gan.discriminator))


def test_d_step_only_touches_d_and_g_step_only_g():  # C07
    # G's optimizer with learning rate 0: only the D step can move weights -> G stays put
    gan = _gan(g_opt=keras.optimizers.SGD(0.0))
    g_before, d_before = _snapshot(gan.generator), _snapshot(gan.discriminator)
    gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert not any(_changed(g_before, gan.generator))
    assert any(_changed(d_before, gan.discriminator))
    # and the other way round
    gan = _gan(d_opt=keras.optimizers.SGD(0.0))
    g_before, d_before = _snapshot(gan.generator), _snapshot(gan.discriminator)
    gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert any(_changed(g_before, gan.generator))
    assert not any(_changed(d_before, gan.discriminator))


def test_each_optimizer_gets_exactly_its_network_variables(monkeypatch):  # C07, C08
    d_opt, g_opt = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    gan = _gan(d_opt, g_opt)
    seen = {"d": [], "g": []}

    def spy(key, opt):
        original = opt.apply_gradients

        def apply_gradients(grads_and_vars, *args, **kwargs):
            pairs = list(grads_and_vars)
            seen[key].append(pairs)
            return original(pairs, *args, **kwargs)
        monkeypatch.setattr(opt, "apply_gradients", apply_gradients)

    spy("d", d_opt)
    spy("g", g_opt)
    gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert len(seen["d"]) == 1 and len(seen["g"]) == 1
    d_ids = [id(v) for v in gan.discriminator.trainable_variables]
    g_ids = [id(v) for v in gan.generator.trainable_variables]
    assert [id(v) for _, v in seen["d"][0]] == d_ids
    assert [id(v) for _, v in seen["g"][0]] == g_ids
    assert not set(d_ids) & set(g_ids)
    # every variable got a real gradient (none disconnected)
    for key in ("d", "g"):
        for grad, var in seen[key][0]:
            assert grad is not None, var.path
            assert np.all(np.isfinite(np.asarray(grad)))


def test_wrong_caption_pairs_weights():  # C14
    emb = np.arange(4 * 2, dtype=np.float32).reshape(4, 2)
    ids = np.array([0, 0, 1, 2], np.int64)
    wrong, weights = wrong_caption_pairs(emb, ids)
    # rolled ids: [2, 0, 0, 1] -> weight 0 only at position 1
    np.testing.assert_array_equal(np.asarray(weights), [1.0, 0.0, 1.0, 1.0])
    assert np.asarray(weights).dtype == np.float32
    np.testing.assert_array_equal(np.asarray(wrong), emb[[3, 0, 1, 2]])
    # all same image: no pair is a real "wrong" pair
    _, w_same = wrong_caption_pairs(emb, np.array([5, 5, 5, 5], np.int64))
    np.testing.assert_array_equal(np.asarray(w_same), [0.0, 0.0, 0.0, 0.0])
    # a weight-1 wrong caption never belongs to the same image
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 3, size=16)
    _, w = wrong_caption_pairs(np.zeros((16, 2), np.float32), ids)
    np.testing.assert_array_equal(np.asarray(w), (ids != np.roll(ids, 1)).astype(np.float32))


def test_history_keys_and_metrics_reset_per_epoch():  # C09
    gan = _gan()
    counts = []

    class Counter(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            counts.append(int(np.asarray(gan.d_loss_tracker.count)))

    history = gan.fit(_dataset(n=8), epochs=2, verbose=0, shuffle=False,
                      callbacks=[Counter()])
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for key, values in history.history.items():
        assert len(values) == 2, key
        assert np.all(np.isfinite(values)), key
    for key in ("d_real", "d_fake"):
        assert all(0.0 < v < 1.0 for v in history.history[key])
    # trackers reset at each epoch: 2 steps per epoch -> counts 1, 2, 1, 2
    assert counts == [1, 2, 1, 2]
    assert [m.name for m in gan.metrics] == ["d_loss", "g_loss", "d_real", "d_fake"]
    assert gan.metrics[0] is gan.d_loss_tracker


def _zero_logit_head(gan):
    head = gan.discriminator.get_layer("logit")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])


def test_first_step_losses_at_zero_logits():  # C01
    gan = _gan()
    _zero_logit_head(gan)
    history = gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    # d_loss is computed before any update: D outputs logit 0 everywhere -> 2 ln 2
    assert history["d_loss"][0] == pytest.approx(2 * LN2, abs=1e-5)
    assert history["d_real"][0] == pytest.approx(0.5, abs=1e-6)
    assert history["d_fake"][0] == pytest.approx(0.5, abs=1e-6)
    # g_loss is computed *after* D's update in the same step, so D's head is no longer zero
    # and g_loss is in general not exactly ln 2; it is only close to it.
    assert history["g_loss"][0] == pytest.approx(LN2, abs=0.2)


def test_first_step_g_loss_is_ln2_when_d_is_frozen():  # C01
    gan = _gan(d_opt=keras.optimizers.SGD(0.0))
    _zero_logit_head(gan)
    history = gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    assert history["d_loss"][0] == pytest.approx(2 * LN2, abs=1e-5)
    assert history["g_loss"][0] == pytest.approx(LN2, abs=1e-5)


def test_call_runs_generator():
    gan = _gan()
    emb = np.zeros((2, TEXT_DIM), np.float32)
    z = np.ones((2, Z_DIM), np.float32)
    np.testing.assert_allclose(np.asarray(gan([emb, z])),
                               np.asarray(gan.generator([emb, z], training=False)), atol=1e-6)
    assert tuple(gan.sample_noise(3).shape) == (3, Z_DIM)
