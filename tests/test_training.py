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


# --- issue 6: options for small data, mixed precision, XLA, tf.distribute -----------------

def _options_gan(d_opt=None, g_opt=None, **options):
    g, d = _nets()
    gan = TextGAN(g, d, z_dim=Z_DIM, seed=1, **options)
    gan.compile(d_optimizer=d_opt or keras.optimizers.Adam(1e-3),
                g_optimizer=g_opt or keras.optimizers.Adam(1e-3), run_eagerly=True)
    return gan


def test_invalid_options_raise():
    g, d = _nets()
    for bad in ({"augment": "rotate"}, {"gradient_penalty": "wgan"}, {"loss": "mse"},
                {"ema_decay": 1.0}, {"ema_warmup": True}):
        with pytest.raises(ValueError):
            TextGAN(g, d, z_dim=Z_DIM, **bad)


def test_ema_generator_follows_the_generator_after_each_g_step():
    gan = _options_gan(ema_decay=0.75)
    assert gan.sampler is gan.ema_generator and gan.ema_generator is not gan.generator
    before = [np.array(v) for v in gan.generator.variables]
    np.testing.assert_array_equal(np.array(gan.ema_generator.variables[3]), before[3])
    gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    trainable = {id(v) for v in gan.generator.trainable_variables}
    moved = 0
    for old, var, ema in zip(before, gan.generator.variables, gan.ema_generator.variables):
        new = np.array(var)
        expected = 0.75 * old + 0.25 * new if id(var) in trainable else new  # BN stats copied
        np.testing.assert_allclose(np.array(ema), expected, rtol=1e-6, atol=1e-7)
        moved += id(var) in trainable and not np.array_equal(old, new)
    assert moved > 0
    assert not gan.ema_generator.trainable_weights     # never touched by an optimizer
    plain = _options_gan()
    assert plain.ema_generator is None and plain.sampler is plain.generator


def test_ema_warmup_uses_tfs_num_updates_rule_then_the_decay():
    """Step n's decay is min(decay, (1 + n) / (10 + n)): 2/11 after G's first step; the plain
    decay once (1 + n) / (10 + n) passes it (n >= 8,990 for 0.999)."""
    gan = _options_gan(ema_decay=0.999, ema_warmup=True)
    before = [np.array(v) for v in gan.generator.variables]
    gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert int(gan.g_optimizer.iterations) == 1
    trainable = {id(v) for v in gan.generator.trainable_variables}
    for old, var, ema in zip(before, gan.generator.variables, gan.ema_generator.variables):
        new = np.array(var)
        expected = 2 / 11 * old + 9 / 11 * new if id(var) in trainable else new
        np.testing.assert_allclose(np.array(ema), expected, rtol=1e-5, atol=1e-6)
    for n, decay in ((1, 2 / 11), (1248, 1249 / 1258), (8990, 8991 / 9000), (8991, 0.999),
                     (20000, 0.999)):
        gan.g_optimizer.iterations.assign(n)
        assert float(gan.ema_decay_now()) == pytest.approx(decay, rel=1e-6)
    assert _options_gan(ema_decay=0.999).ema_decay_now() == 0.999     # no warm-up: constant


@pytest.mark.parametrize("kind", ["r1", "ma_gp"])
def test_gradient_penalty_is_reported_with_its_exact_value(kind):
    from textgan_lib import losses

    gan = _options_gan(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0),
                       gradient_penalty=kind)
    batch = next(iter(_dataset()))
    expected = (losses.r1_penalty(gan.discriminator, batch["image"], batch["embedding"], 10.0)
                if kind == "r1" else losses.matching_aware_gradient_penalty(
                    gan.discriminator, batch["image"], batch["embedding"], k=2.0, p=6.0))
    history = gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0,
                      shuffle=False).history
    assert set(history) == {"d_loss", "g_loss", "d_real", "d_fake", "d_penalty"}
    assert history["d_penalty"][0] == pytest.approx(float(expected), rel=1e-5)
    assert float(expected) > 0


def test_penalty_gradient_reaches_d():
    # same batch, same D: with R1 the D update differs from the update without it
    # (SGD: Adam's first step is lr * sign(gradient), blind to the gradient's size)
    plain = _options_gan(keras.optimizers.SGD(0.1))
    r1 = _options_gan(keras.optimizers.SGD(0.1), gradient_penalty="r1", penalty_weight=100.0)
    for gan in (plain, r1):
        gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert not all(np.allclose(np.array(a), np.array(b)) for a, b in
                   zip(plain.discriminator.trainable_weights, r1.discriminator.trainable_weights))


def test_hinge_losses_at_zero_logits():
    gan = _options_gan(d_opt=keras.optimizers.SGD(0.0), loss="hinge")
    _zero_logit_head(gan)
    history = gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    assert history["d_loss"][0] == pytest.approx(2.0, abs=1e-6)   # relu(1 - 0) + relu(1 + 0)
    assert history["g_loss"][0] == pytest.approx(0.0, abs=1e-6)   # -mean D(G(z))


def test_diffaugment_on_real_and_fake_in_both_steps(monkeypatch):
    gan = _options_gan(augment="translation,cutout")
    seen = []
    original = gan.augment

    def spy(images):
        seen.append(np.array(images))
        out = original(images)
        seen.append(np.array(out))
        return out
    monkeypatch.setattr(gan, "augment", spy)
    batch = next(iter(_dataset()))
    gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert len(seen) == 2 * 3        # D step: real and fake; G step: fake
    np.testing.assert_array_equal(seen[0], np.asarray(batch["image"]))   # the real batch
    for before, after in zip(seen[::2], seen[1::2]):
        assert before.shape == after.shape and not np.array_equal(before, after)
    # no policy: the images pass unchanged
    assert _options_gan().augment(batch["image"]) is batch["image"]


@pytest.fixture
def mixed_policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("mixed_policy", ["mixed_float16", "mixed_bfloat16"], indirect=True)
def test_mixed_precision_keeps_logits_and_losses_float32(mixed_policy):  # C02
    gan = _options_gan(gradient_penalty="r1", augment="color,translation,cutout")
    scaled = isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (mixed_policy == "mixed_float16")
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    batch = next(iter(_dataset()))
    assert gan.discriminator([batch["image"], batch["embedding"]]).dtype == "float32"
    assert gan.generator([batch["embedding"], gan.sample_noise(BATCH)]).dtype == "float32"
    out = gan.discriminator_step(batch)
    assert all(v.dtype == "float32" for v in out.values())
    assert gan.generator_step(batch)["g_loss"].dtype == "float32"
    history = gan.fit(_dataset(), epochs=1, verbose=0, shuffle=False).history
    assert all(np.isfinite(v[0]) for v in history.values())
    assert gan.discriminator.trainable_weights[0].dtype == "float32"    # float32 master weights


def test_jit_compile_is_passed_through():
    g, d = _nets()
    gan = TextGAN(g, d, z_dim=Z_DIM, seed=1, augment="translation,cutout")
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
                jit_compile=True)
    assert gan.jit_compile is True
    # (an XLA-compiled step takes about a minute to compile on this 2-core CPU; the GPU check
    # script runs one)


_DISTRIBUTED = '''
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
sys.path.insert(0, sys.argv[1])
import test_training as t
from textgan_lib.training import TextGAN

seen = []
class Spy(TextGAN):
    def discriminator_step(self, data):
        seen.append(int(data["image"].shape[0]))        # static per-replica batch (traced)
        return super().discriminator_step(data)

def run(strategy):
    with strategy.scope():
        g, d = t._nets()
        gan = Spy(g, d, z_dim=t.Z_DIM, seed=1, ema_decay=0.5, augment="translation")
        gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    history = gan.fit(t._dataset(n=16), epochs=1, verbose=0, shuffle=False).history
    return gan, history

mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
gan, history = run(mirrored)
kernel = gan.generator.trainable_variables[0]
replicas = [np.asarray(x) for x in mirrored.experimental_local_results(kernel.value)]
ema = [np.asarray(x) for x in mirrored.experimental_local_results(gan.ema_generator.variables[1].value)]
print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "seen": sorted(set(seen)),
                  "history": {k: v[0] for k, v in history.items()},
                  "in_sync": bool(np.array_equal(*replicas)), "ema_in_sync": bool(np.array_equal(*ema)),
                  "finite": bool(all(np.isfinite(np.asarray(v)).all() for v in gan.checkpoint_variables()
                                     if np.issubdtype(np.asarray(v).dtype, np.floating)))}))
'''


def test_mirrored_strategy_splits_the_global_batch_over_two_cpus(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "distributed.py"
    script.write_text(_DISTRIBUTED)
    tests_dir = str(Path(__file__).parent)
    done = subprocess.run([sys.executable, str(script), tests_dir], capture_output=True,
                          text=True, timeout=300, cwd=Path(tests_dir).parent,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["seen"] == [BATCH // 2]          # global batch 4 -> 2 per replica
    assert result["in_sync"] and result["ema_in_sync"] and result["finite"]
    assert all(np.isfinite(v) for v in result["history"].values())
    assert 0.0 < result["history"]["d_real"] < 1.0


def test_reconstruction_term_adds_lambda_times_l1_to_g_loss():
    gan = _options_gan(d_opt=keras.optimizers.SGD(0.0), reconstruction_weight=10.0,
                       augment="translation,cutout")   # D sees augmented fakes; L1 the raw ones
    _zero_logit_head(gan)                               # D: logit 0 -> adversarial part ln 2
    rgb = gan.generator.get_layer("to_rgb")
    rgb.set_weights([np.zeros_like(w) for w in rgb.get_weights()])     # G draws 0 everywhere
    history = gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    first = next(iter(_dataset()))["image"].numpy()
    assert history["g_l1"][0] == pytest.approx(np.abs(first).mean(), abs=1e-6)
    assert history["g_loss"][0] == pytest.approx(LN2 + 10.0 * np.abs(first).mean(), abs=1e-5)
    with pytest.raises(ValueError, match="reconstruction_weight"):
        _options_gan(reconstruction_weight=-1.0)
    assert "g_l1" not in _gan().fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0).history


def test_epoch_steps_counts_full_batches_and_caps():
    from textgan_lib.training import epoch_steps

    assert epoch_steps(3369, 64) == 52                      # the emoji course epoch
    assert epoch_steps(10, 64) == 1 and epoch_steps(640, 64, steps_per_epoch=3) == 3
    assert epoch_steps(640, 64, steps_per_epoch=50) == 10 and epoch_steps(640, 64, 0) == 1
