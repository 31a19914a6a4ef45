"""Resumable training, the non-finite-loss stop and the sample grid (issue 6: "Safety",
"Observability"), with tiny networks on CPU."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from textgan_lib.callbacks import GANCheckpoint, NonFiniteLossError, sample_grid
from textgan_lib.models import build_discriminator, build_generator
from textgan_lib.training import TextGAN, fit_gan, training_stream

TEXT_DIM, Z_DIM, SIZE, BATCH = 8, 4, 8, 4
REPO = Path(__file__).resolve().parents[1]


def _data(n=12):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, SIZE, SIZE, 3)).astype(np.uint8)
    embeddings = rng.normal(size=(n, TEXT_DIM)).astype(np.float32)
    return images, embeddings, np.arange(n) % 5


def _gan(run_eagerly=True, **options):
    """Every stateful part on: augmentation draws, EMA copy, CA noise, optimizer moments."""
    keras.utils.set_random_seed(0)
    g = build_generator(text_dim=TEXT_DIM, z_dim=Z_DIM, image_size=SIZE, base_filters=4,
                        text_features=4, conditioning_augmentation=True)
    d = build_discriminator(text_dim=TEXT_DIM, image_size=SIZE, base_filters=4, text_features=4)
    options = {"augment": "color,translation,cutout", "ema_decay": 0.9, **options}
    gan = TextGAN(g, d, z_dim=Z_DIM, seed=1, **options)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3),
                g_optimizer=keras.optimizers.Adam(1e-3), run_eagerly=run_eagerly)
    return gan


def _fit(gan, out_dir, epochs=3, callbacks=(), **kwargs):
    images, embeddings, ids = _data()
    return fit_gan(gan, images, embeddings, ids, epochs=epochs, batch_size=BATCH,
                   steps_per_epoch=2, out_dir=out_dir, callbacks=callbacks, verbose=0,
                   tensorboard=False, **kwargs)


def _state(gan):
    return [np.array(v) for v in gan.checkpoint_variables()]


class _Crash(keras.callbacks.Callback):
    """Stands in for a kill: raises in the middle of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch=1, batch=0):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt("killed")


def test_training_stream_is_a_pure_function_of_the_step():
    images, embeddings, ids = _data()
    full, steps = training_stream(images, embeddings, ids, batch_size=BATCH, seed=3)
    assert steps == 3
    batches = list(full.take(8).as_numpy_iterator())
    resumed = list(training_stream(images, embeddings, ids, batch_size=BATCH, seed=3,
                                   start_step=5)[0].take(3).as_numpy_iterator())
    for a, b in zip(batches[5:], resumed):
        np.testing.assert_array_equal(a["image_id"], b["image_id"])
        np.testing.assert_array_equal(a["image"], b["image"])
    # one pass visits each example once; the next pass in another order
    first = np.concatenate([b["embedding"] for b in batches[:3]])
    second = np.concatenate([b["embedding"] for b in batches[3:6]])
    assert sorted(map(tuple, first)) == sorted(map(tuple, embeddings))
    assert not np.array_equal(first, second)
    # images, embeddings and ids stay together (C13)
    for batch in batches:
        rows = [int(np.flatnonzero((embeddings == e).all(1))[0]) for e in batch["embedding"]]
        np.testing.assert_array_equal(batch["image_id"], ids[rows])
        np.testing.assert_allclose(batch["image"], images[rows] / 127.5 - 1.0, atol=1e-6)


def test_resume_after_a_kill_gives_the_same_weights(tmp_path):
    """Killed in the middle of epoch 2, rerun with the same call: bit-identical to a run
    that was never interrupted (weights, EMA copy, optimizer moments, seed states, history)."""
    with pytest.raises(KeyboardInterrupt):
        _fit(_gan(), tmp_path / "killed", callbacks=[_Crash(epoch=1, batch=0)])
    import json
    with np.load(tmp_path / "killed" / "checkpoints" / "checkpoint.npz") as data:
        assert json.loads(str(data["meta"]))["epoch"] == 1
    resumed = _gan()
    history = _fit(resumed, tmp_path / "killed")
    straight = _gan()
    reference = _fit(straight, tmp_path / "straight")
    for a, b in zip(_state(resumed), _state(straight)):
        np.testing.assert_array_equal(a, b)
    assert history.history == reference.history and len(history.history["d_loss"]) == 3
    assert history.epoch == [0, 1, 2]
    # the EMA copy is not the generator, and the seed states moved on from their seeds
    assert not np.array_equal(np.asarray(resumed.ema_generator.get_layer("to_rgb").kernel),
                              np.asarray(resumed.generator.get_layer("to_rgb").kernel))
    # a finished run is not repeated: the same call again changes nothing
    again = _gan()
    assert _fit(again, tmp_path / "killed").history == reference.history
    for a, b in zip(_state(again), _state(straight)):
        np.testing.assert_array_equal(a, b)


def test_a_sigkilled_process_resumes_where_it_stopped(tmp_path):
    """A real kill (SIGKILL, no clean-up) in a subprocess, then the same command again."""
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import keras, numpy as np
        from test_callbacks import _fit, _gan, _state

        class Kill(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch
            def on_train_batch_end(self, batch, logs=None):
                if os.environ.get("KILL") and (self.epoch, batch) == (1, 1):
                    os.kill(os.getpid(), signal.SIGKILL)

        gan = _gan()
        _fit(gan, sys.argv[1], epochs=3, callbacks=[Kill()])
        np.savez(sys.argv[2], *_state(gan))
    """))
    out = tmp_path / "out"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KILL": "1"}
    killed = subprocess.run([sys.executable, str(script), str(out), str(tmp_path / "a.npz")],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not (tmp_path / "a.npz").exists()
    env.pop("KILL")
    done = subprocess.run([sys.executable, str(script), str(out), str(tmp_path / "a.npz")],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    straight = _gan()
    _fit(straight, tmp_path / "straight", epochs=3)
    with np.load(tmp_path / "a.npz") as data:
        for i, value in enumerate(_state(straight)):
            np.testing.assert_array_equal(data[f"arr_{i}"], value)


class _Poison(keras.callbacks.Callback):
    """Writes NaN into G's last convolution before step 2 of epoch 2, and snapshots the
    model after epoch 1."""

    def __init__(self, gan):
        super().__init__()
        self.gan, self.epoch, self.after_epoch_1 = gan, 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            self.after_epoch_1 = _state(self.gan)

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == (1, 1):
            kernel = self.gan.generator.get_layer("to_rgb").kernel
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))


def test_non_finite_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path,
                                                                                   capsys):
    gan = _gan()
    poison = _Poison(gan)
    with pytest.raises(NonFiniteLossError) as error:
        _fit(gan, tmp_path, epochs=4, callbacks=[poison])
    message = str(error.value)
    assert "non-finite loss: d_loss = nan at epoch 2, step 2" in message
    assert "after epoch 1) is kept unchanged" in message and "checkpoint.npz" in message
    assert "non-finite loss" in capsys.readouterr().err
    # the checkpoint is epoch 1's, finite, and equal to the model as it was then
    fresh = _gan()
    meta = GANCheckpoint(fresh, tmp_path / "checkpoints").restore()
    assert meta["epoch"] == 1 and len(meta["history"]["d_loss"]) == 1
    for a, b in zip(_state(fresh), poison.after_epoch_1):
        np.testing.assert_array_equal(a, b)
        assert np.all(np.isfinite(a))
    # training stopped in epoch 2: no epoch 3 or 4 was run
    assert int(np.asarray(gan.d_optimizer.iterations)) == 2 + 2


def test_checkpoint_of_another_model_is_refused(tmp_path):
    _fit(_gan(), tmp_path, epochs=1)
    other = _gan(gradient_penalty=None, ema_decay=None)     # no EMA copy: fewer variables
    with pytest.raises(ValueError, match="different model"):
        _fit(other, tmp_path, epochs=2)
    with pytest.raises(ValueError, match="batch_size"):
        images, embeddings, ids = _data()
        fit_gan(_gan(), images, embeddings, ids, epochs=2, batch_size=2, steps_per_epoch=2,
                out_dir=tmp_path, verbose=0, tensorboard=False)


def test_sample_grid_png_per_epoch_and_gif_from_the_ema_generator(tmp_path):
    gan = _gan()
    captions = ["a", "b", "c"]
    _, embeddings, _ = _data()
    _fit(gan, tmp_path, epochs=2, sample_embeddings=embeddings[:3], sample_captions=captions,
         num_noise=2)
    samples = tmp_path / "samples"
    pngs = sorted(samples.glob("epoch_*.png"))
    assert [p.name for p in pngs] == ["epoch_0001.png", "epoch_0002.png"]
    # 2 noise rows x 3 caption columns of 8 px with 1 px separators, enlarged x2
    assert Image.open(pngs[-1]).size == (2 * (3 * 9 - 1), 2 * (2 * 9 - 1))
    assert (samples / "captions.txt").read_text().split() == captions
    gif = Image.open(samples / "samples.gif")
    assert gif.n_frames == 2
    z = np.random.default_rng(42).standard_normal((2, Z_DIM)).astype(np.float32)
    expected = sample_grid(gan.ema_generator, embeddings[:3], z)
    saved = np.asarray(Image.open(pngs[-1]))[::2, ::2]
    np.testing.assert_array_equal(saved, expected)
    assert not np.array_equal(expected, sample_grid(gan.generator, embeddings[:3], z))
    # columns are captions, rows are noise vectors
    tile = expected[9:17, 18:26]
    image = gan.ema_generator([embeddings[2:3], z[1:2]], training=False)
    np.testing.assert_array_equal(tile, np.round((np.clip(np.asarray(image)[0], -1, 1) + 1)
                                                 * 127.5).astype(np.uint8))


def test_checkpoint_refuses_another_setup(tmp_path):
    """Same variables, other options or data: refused, not silently resumed (or skipped)."""
    _fit(_gan(), tmp_path, epochs=1, setup={"data": "emoji"})
    with pytest.raises(ValueError, match="loss: 'bce' there, 'hinge' now"):
        _fit(_gan(loss="hinge"), tmp_path, epochs=2, setup={"data": "emoji"})
    with pytest.raises(ValueError, match="data: 'emoji' there, 'shapes' now"):
        _fit(_gan(), tmp_path, epochs=2, setup={"data": "shapes"})
    with pytest.raises(ValueError, match="augment"):
        _fit(_gan(augment="cutout"), tmp_path, epochs=2, setup={"data": "emoji"})
    # the same setup resumes
    history = _fit(_gan(), tmp_path, epochs=2, setup={"data": "emoji"})
    assert len(history.history["d_loss"]) == 2
