"""bench/train_step.py compares equal work: its tutorial-style baseline step and TextGAN's step
compute the same losses and the same updates from the same batch, noise and weights (issue 7)."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from textgan_lib.models import build_discriminator, build_generator
from textgan_lib.training import TextGAN, scores_examples_independently

TEXT_DIM, Z_DIM, SIZE, BATCH = 384, 128, 16, 8


def _nets(**d_options):
    keras.utils.set_random_seed(0)
    return (build_generator(TEXT_DIM, z_dim=Z_DIM, image_size=SIZE),
            build_discriminator(TEXT_DIM, image_size=SIZE, **d_options))


def _batch():
    rng = np.random.default_rng(0)
    return {"image": rng.uniform(-1, 1, (BATCH, SIZE, SIZE, 3)).astype(np.float32),
            "embedding": rng.normal(size=(BATCH, TEXT_DIM)).astype(np.float32),
            # examples 3 and 4 show the same image: that real/wrong pair is left out
            "image_id": np.array([0, 1, 2, 3, 3, 5, 6, 7], np.int64)}


def _noise():
    rng = np.random.default_rng(1)
    return [rng.normal(size=(BATCH, Z_DIM)).astype(np.float32) for _ in range(2)]


def _state(*models):
    return [np.array(v) for m in models for v in m.variables]


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "xla"])
def test_baseline_and_textgan_compute_the_same_step(jit, load_bench):
    bench = load_bench("train_step")
    batch, (noise_d, noise_g) = _batch(), _noise()
    g_base, d_base = _nets()
    g_ours, d_ours = _nets()
    assert all(np.array_equal(a, b) for a, b in zip(_state(g_base, d_base), _state(g_ours, d_ours)))

    step = bench.make_baseline_step(g_base, d_base, keras.optimizers.SGD(1.0),
                                    keras.optimizers.SGD(1.0), z_dim=Z_DIM)
    d_loss, g_loss = step(batch["image"], batch["embedding"], batch["image_id"], noise_d, noise_g)

    gan = TextGAN(g_ours, d_ours, z_dim=Z_DIM)
    assert not gan.fuse_d_calls    # the default (and the benchmark's): three D calls
    noises = iter([noise_d, noise_g])                  # D step's fakes, then G step's
    gan.sample_noise = lambda batch_size: tf.constant(next(noises))
    if jit:    # the benchmark's path: fit, XLA
        gan.compile(d_optimizer=keras.optimizers.SGD(1.0), g_optimizer=keras.optimizers.SGD(1.0),
                    jit_compile=True)
        history = gan.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0,
                          shuffle=False).history
        ours = {k: v[0] for k, v in history.items()}
    else:
        gan.compile(d_optimizer=keras.optimizers.SGD(1.0), g_optimizer=keras.optimizers.SGD(1.0),
                    run_eagerly=True)
        tensors = {k: tf.constant(v) for k, v in batch.items()}
        ours = {k: float(v) for k, v in gan.train_step(tensors).items()}
    # XLA's own kernels (convolutions, tanh) round differently, which can flip a LeakyReLU
    # whose input is near 0: under XLA the updates agree in norm, not element by element
    tol, update_tol = (1e-4, 2e-2) if jit else (1e-5, 1e-4)
    assert ours["d_loss"] == pytest.approx(float(d_loss), rel=tol)
    assert ours["g_loss"] == pytest.approx(float(g_loss), rel=tol)
    # the same update of every variable (SGD with learning rate 1: the update is minus the
    # gradient), batch-norm statistics included (G ran in training mode twice on each side)
    start = _state(*_nets())
    for before, a, b in zip(start, _state(g_base, d_base), _state(g_ours, d_ours)):
        update_a, update_b = a - before, b - before
        if jit:
            error = np.linalg.norm(update_a - update_b) / max(np.linalg.norm(update_a), 1e-9)
        else:
            error = np.abs(update_a - update_b).max() / max(np.abs(update_a).max(), 1e-9)
        assert error <= update_tol
    assert any(np.abs(a - before).max() > 0 for before, a in zip(start, _state(g_base, d_base)))


def test_fused_d_call_gives_the_same_d_step_as_three_calls():
    batch, (noise_d, _) = _batch(), _noise()
    results = []
    for fuse in (True, False):
        gan = TextGAN(*_nets(), z_dim=Z_DIM, fuse_d_calls=fuse)
        gan.compile(d_optimizer=keras.optimizers.SGD(1.0), g_optimizer=keras.optimizers.SGD(1.0),
                    run_eagerly=True)
        gan.sample_noise = lambda batch_size: tf.constant(noise_d)
        out = gan.discriminator_step({k: tf.constant(v) for k, v in batch.items()})
        results.append(({k: float(v) for k, v in out.items()}, _state(gan.discriminator)))
    (fused, d_fused), (split, d_split) = results
    for key in fused:
        assert fused[key] == pytest.approx(split[key], rel=1e-5, abs=1e-7), key
    for a, b in zip(d_fused, d_split):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fusion_only_where_d_scores_examples_independently():
    g, d = _nets()
    assert scores_examples_independently(d)
    assert not scores_examples_independently(_nets(spectral_norm=True)[1])
    assert not scores_examples_independently(_nets(batch_norm=True)[1])
    for d_options in ({"batch_norm": True}, {"spectral_norm": True}):
        with pytest.raises(ValueError):
            TextGAN(g, _nets(**d_options)[1], z_dim=Z_DIM, fuse_d_calls=True)
    assert TextGAN(g, d, z_dim=Z_DIM, fuse_d_calls=True).fuse_d_calls
    assert not TextGAN(g, d, z_dim=Z_DIM).fuse_d_calls


def test_flop_count_of_the_layers(load_bench):
    bench = load_bench("train_step")
    g, d = _nets()
    d_rows = {r["name"]: r for r in bench.matmul_layers(d)}
    # 16 px: down8 conv 4x4, 3 -> 32 channels, 8x8 outputs; fed by the image input (0)
    assert d_rows["down8_conv"]["macs"] == 8 * 8 * 4 * 4 * 3 * 32
    assert d_rows["down8_conv"]["from_inputs"] == [0]
    assert d_rows["text_projection"]["from_inputs"] == [1]
    assert d_rows["logit"]["macs"] == 4 * 4 * 256
    g_rows = {r["name"]: r for r in bench.matmul_layers(g)}
    assert g_rows["up16_conv"]["macs"] == 16 * 16 * 9 * 64 * 32
    flops = bench.train_step_flops(g, d, BATCH)
    assert flops["total"] == flops["d_step"] + flops["g_step"]
    # G runs forward twice and backward once (~2x forward): about 4 G forwards per example
    g_part = flops["total"] - BATCH * flops["d_forward"] * (3 * 3 + 2)
    assert 3.0 < g_part / (BATCH * flops["g_forward"]) < 4.0 + 1e-9
