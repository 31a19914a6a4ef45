"""The diffusion cascade (issue 19): the SR U-Net's inputs, noise conditioning augmentation,
the EMA, resumable checkpoints, a saved cascade that samples the same after loading, and the
main job's smoke run."""
from __future__ import annotations

import json

import numpy as np
import pytest

from textgan_lib import diffusion as dm
from textgan_lib.models.unet import build_unet

A_BAR = dm.cosine_schedule(1000)["alpha_bar"]


def _tiny(low_res=False, size=8):
    return build_unet(size, text_dim=6, base_filters=8, multipliers=(1, 2), embed_dim=16,
                      low_res=low_res)


def test_sr_unet_takes_the_low_res_image_and_level_and_runs_at_any_size():
    net = _tiny(low_res=True, size=None)
    assert [i.name for i in net.inputs] == ["x_t", "t", "caption_embedding", "low_res",
                                            "aug_level"]
    for side in (8, 16):                      # trained on crops, sampled on whole images
        x = np.ones((2, side, side, 3), np.float32)
        out = np.asarray(net([x, np.array([3, 9]), np.zeros((2, 6), np.float32), x,
                              np.array([0, 5])]))
        assert out.shape == (2, side, side, 3)
        assert np.all(out == 0)                   # zero-initialised output convolution


def test_noise_augmentation_is_the_forward_process_at_the_given_level():
    low = np.full((4000, 2, 2, 1), -0.4, np.float32)
    noise = np.random.default_rng(1).standard_normal(low.shape).astype(np.float32)
    level = np.full(4000, 120)
    out = np.asarray(dm.augment_low_res(low, level, noise, A_BAR))
    np.testing.assert_allclose(out, np.asarray(dm.q_sample(low, level, noise, A_BAR)))
    assert out.mean() == pytest.approx(-0.4 * np.sqrt(A_BAR[120]), abs=0.01)
    assert out.std() == pytest.approx(np.sqrt(1 - A_BAR[120]), rel=0.03)
    at0 = np.asarray(dm.augment_low_res(low[:4], np.zeros(4, int), noise[:4], A_BAR))
    np.testing.assert_allclose(at0, low[:4], atol=0.01)   # level 0: almost the clean image


def test_ema_weights_follow_the_exponential_moving_average_rule():
    import keras

    keras.utils.set_random_seed(0)
    model = dm.DiffusionModel(_tiny(), num_steps=100, ema_decay=0.75)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [np.asarray(w) for w in model.network.weights]
    np.testing.assert_allclose(model.ema_network.get_weights()[0], before[0])   # starts equal
    x0 = np.random.default_rng(2).uniform(-1, 1, (8, 8, 8, 3)).astype(np.float32)
    model.train_on_batch(x0, np.ones((8, 6), np.float32))
    after = [np.asarray(w) for w in model.network.weights]
    ema = [np.asarray(w) for w in model.ema_network.weights]
    # the zero output layer: only it gets a gradient in the first step
    assert not np.allclose(model.network.get_layer("eps").kernel, 0)
    for b, a, e in zip(before, after, ema):
        np.testing.assert_allclose(e, 0.75 * b + 0.25 * a, rtol=1e-5, atol=1e-6)
    assert model.sampler_network is model.ema_network


def test_sr_training_lowers_the_loss_and_a_checkpoint_restores_every_variable(tmp_path):
    import keras

    from textgan_lib.callbacks import GANCheckpoint

    keras.utils.set_random_seed(0)
    model = dm.DiffusionModel(_tiny(low_res=True), num_steps=100, ema_decay=0.9, aug_max=30)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    rng = np.random.default_rng(3)
    high = np.tile(rng.uniform(-1, 1, (1, 8, 8, 3)).astype(np.float32), (16, 1, 1, 1))
    data = (high, np.ones((16, 6), np.float32), high * 0.9)
    first = model.train_on_batch(*data, return_dict=True)["loss"]
    for _ in range(60):
        last = model.train_on_batch(*data, return_dict=True)["loss"]
    assert first == pytest.approx(1.0, abs=0.15) and last < 0.6 * first
    checkpoint = GANCheckpoint(model, tmp_path)
    checkpoint.save(3)
    saved = [np.array(v) for v in model.checkpoint_variables()]
    assert len(saved) == 2 * len(model.network.weights) + len(model.optimizer.variables) + 1
    model.train_on_batch(*data)                              # moves every variable on
    assert checkpoint.restore()["epoch"] == 3
    for v, s in zip(model.checkpoint_variables(), saved):
        np.testing.assert_array_equal(np.asarray(v), s)


def test_a_saved_cascade_samples_the_same_images_after_loading(tmp_path):
    from textgan_lib.diffusion_cascade import DiffusionCascade

    meta = {"num_steps": 1000, "guidance": 2.0, "sampling_steps": 4, "sr_sampling_steps": 3,
            "sample_aug_level": 50, "threshold": "dynamic", "text_model": None}
    base, sr = _tiny(), _tiny(low_res=True, size=None)
    for net in (base, sr):                          # non-zero output: a net that draws
        w = net.get_layer("eps").kernel
        w.assign(np.random.default_rng(4).normal(0, 0.05, w.shape))
    cascade = DiffusionCascade(base, sr, meta)
    e = np.random.default_rng(5).standard_normal((2, 6)).astype(np.float32)
    low = cascade.sample_base(e, seed=7)
    assert low.shape == (2, 8, 8, 3) and np.abs(low).max() <= 1 + 1e-5
    high = cascade.upsample(low, e, seed=7)
    assert high.shape == (2, 32, 32, 3)
    cascade.save(tmp_path / "c")
    loaded = DiffusionCascade.load(tmp_path / "c")
    assert loaded.meta == meta
    np.testing.assert_allclose(loaded.sample_base(e, seed=7), low, atol=1e-5)
    np.testing.assert_allclose(loaded.upsample(low, e, seed=7), high, atol=1e-5)
    assert not np.allclose(loaded.sample_base(e, seed=8), low)      # the seed matters
    with pytest.raises(FileNotFoundError, match="no diffusion cascade"):
        DiffusionCascade.load(tmp_path)


def test_without_an_sr_stage_the_cascade_upsamples_by_bicubic():
    from textgan_lib.diffusion_cascade import DiffusionCascade, upsample_low_res

    meta = {"num_steps": 1000, "guidance": 1.0, "sampling_steps": 2, "sr_sampling_steps": 2,
            "sample_aug_level": 0, "threshold": "static"}
    cascade = DiffusionCascade(_tiny(size=32), None, meta)
    low = np.random.default_rng(6).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(cascade.upsample(low, np.zeros((1, 6))),
                               np.clip(upsample_low_res(low), -1, 1))


def test_the_smoke_main_job_writes_a_cascade_and_a_rerun_does_nothing(tmp_path, capsys):
    from textgan_lib.diffusion_cascade import DiffusionCascade, train_diffusion_cascade

    report = train_diffusion_cascade(tmp_path, mode="smoke")
    assert report["epochs"] == {"base": 1, "superres": 1}
    assert (tmp_path / "checkpoints" / "base" / "checkpoint.npz").is_file()
    ev = report["evaluation"]
    assert ev["n_superres"] == 8 and ev["psnr_bicubic"] > 15          # bicubic of real images
    cascade = DiffusionCascade.load(tmp_path / "cascade")
    assert cascade.meta["run_mode"] == "smoke" and cascade.meta["sampling_steps"] == 50
    stamp = (tmp_path / "report.json").stat().st_mtime_ns
    again = train_diffusion_cascade(tmp_path, mode="smoke")
    assert "nothing to do" in capsys.readouterr().out
    assert again == json.loads((tmp_path / "report.json").read_text())
    assert (tmp_path / "report.json").stat().st_mtime_ns == stamp
