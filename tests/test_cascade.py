"""The cascade end to end: save/load, the `generate` command, the SR evaluation, the main job."""
import json

import numpy as np
import pytest
from PIL import Image

from textgan_lib import cli, config
from textgan_lib.cascade import Cascade, evaluate_superres, train_cascade
from textgan_lib.data.emoji import load_emoji
from textgan_lib.models import build_generator, build_superres


@pytest.fixture(scope="module")
def saved_cascade(tmp_path_factory):
    """An untrained cascade (real text encoder, real shapes) saved to disk."""
    config.set_seed()
    directory = tmp_path_factory.mktemp("cascade")
    Cascade(build_generator(384), build_superres()).save(directory)
    return directory


def test_generate_command_writes_a_128px_png(saved_cascade, tmp_path, capsys):
    out = tmp_path / "apple.png"
    assert cli.main(["generate", "red apple", "-o", str(out), "--model", str(saved_cascade),
                     "--base-output", str(tmp_path / "base.png")]) == 0
    image = Image.open(out)
    assert image.size == (config.HIGH_SIZE, config.HIGH_SIZE) and image.mode == "RGB"
    assert Image.open(tmp_path / "base.png").size == (config.BASE_SIZE, config.BASE_SIZE)
    assert "wrote" in capsys.readouterr().out


def test_generate_is_deterministic_and_follows_the_caption(saved_cascade):
    cascade = Cascade.load(saved_cascade)
    base1, high1 = cascade.generate(["red apple", "police car"], seed=3)
    base2, high2 = cascade.generate(["red apple", "police car"], seed=3)
    np.testing.assert_array_equal(high1, high2)
    assert base1.shape == (2, config.BASE_SIZE, config.BASE_SIZE, 3)
    assert high1.shape == (2, config.HIGH_SIZE, config.HIGH_SIZE, 3)
    assert high1.min() >= -1.0 and high1.max() <= 1.0
    # same noise, different captions: the text reaches the pixels
    same_noise = cascade.generate(["red apple", "police car"], seed=3, noise_scale=0.0)[0]
    assert np.abs(same_noise[0] - same_noise[1]).max() > 1e-4


def test_generate_without_a_model_says_how_to_train(tmp_path, capsys):
    assert cli.main(["generate", "red apple", "--model", str(tmp_path / "none")]) == 1
    assert "python -m textgan_lib train" in capsys.readouterr().err


def test_generate_rejects_an_empty_caption(capsys):
    assert cli.main(["generate", "   "]) == 2
    assert "empty" in capsys.readouterr().err


def test_untrained_superres_scores_exactly_bicubic():
    """With its sub-pixel head zeroed, the SR network *is* bicubic: gain 0 dB."""
    model = build_superres()
    layer = model.get_layer("to_subpixels")
    layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    result = evaluate_superres(model, load_emoji("val", max_images=16).images)
    assert result["n"] == 16
    assert result["psnr_gain"] == pytest.approx(0.0, abs=1e-4)
    assert 15.0 < result["psnr_bicubic"] < 40.0


def test_main_job_in_smoke_mode_writes_its_three_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTGAN_MODE", "smoke")
    report = train_cascade(out_dir=tmp_path, verbose=0)
    assert (tmp_path / "val_samples.png").is_file()
    assert json.loads((tmp_path / "report.json").read_text())["mode"] == "smoke"
    assert report["superres"]["n"] == len(load_emoji("val"))
    assert np.isfinite(report["superres"]["psnr_gain"])
    assert set(report["gan_final"]) == {"d_loss", "g_loss", "d_real", "d_fake"}
    val_captions = set(load_emoji("val").captions)
    assert len(report["val_captions"]) == 16 and set(report["val_captions"]) <= val_captions
    assert not set(report["val_captions"]) & set(load_emoji("train").captions)
    high = Cascade.load(tmp_path / "cascade").generate("red apple")[1]
    assert high.shape == (1, config.HIGH_SIZE, config.HIGH_SIZE, 3)


def test_generate_always_writes_png_and_reports_unknown_tokens(saved_cascade, tmp_path, capsys):
    out = tmp_path / "noext"
    assert cli.main(["generate", "一只站在草坪上的大熊猫", "-o", str(out),
                     "--model", str(saved_cascade)]) == 0
    assert Image.open(out).format == "PNG"
    assert "unknown to the text encoder" in capsys.readouterr().err


def test_generate_on_a_corrupt_cascade_says_retrain(saved_cascade, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("generator.keras", "superres.keras"):
        (broken / name).write_bytes(b"not a keras file")
    (broken / "cascade.json").write_text((saved_cascade / "cascade.json").read_text())
    assert cli.main(["generate", "red apple", "--model", str(broken)]) == 1
    assert "could not be loaded" in capsys.readouterr().err


def test_fresh_clone_generates_with_the_shipped_pretrained_cascade(tmp_path, monkeypatch, capsys):
    """No trained cascade in the output folder: `textgan generate` uses data/pretrained."""
    from textgan_lib.cascade import PRETRAINED_DIR

    monkeypatch.setenv("TEXTGAN_OUTPUT_DIR", str(tmp_path / "empty_outputs"))
    out = tmp_path / "apple.png"
    assert cli.main(["generate", "red apple", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"(pretrained: {PRETRAINED_DIR})" in printed
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (128, 128) and image.mode == "RGB"
        pixels = np.asarray(image)
    assert pixels.std() > 5                     # a picture, not a flat field


def test_load_default_prefers_the_students_own_cascade(saved_cascade, monkeypatch):
    import shutil

    target = saved_cascade.parent / "outputs"
    shutil.copytree(saved_cascade, target / "cascade")
    monkeypatch.setenv("TEXTGAN_OUTPUT_DIR", str(target))
    loaded, source = Cascade.load_default()
    assert source == f"trained: {target / 'cascade'}"
    assert loaded.generator.count_params() > 0
    monkeypatch.setenv("TEXTGAN_OUTPUT_DIR", str(target / "nothing_here"))
    assert Cascade.load_default()[1].startswith("pretrained: ")


def test_load_default_passes_over_a_smoke_run(saved_cascade, monkeypatch):
    target = saved_cascade.parent / "smoke_outputs"
    loaded = Cascade.load(saved_cascade)
    Cascade(loaded.generator, loaded.superres, run_mode="smoke").save(target / "cascade")
    assert json.loads((target / "cascade" / "cascade.json").read_text())["run_mode"] == "smoke"
    monkeypatch.setenv("TEXTGAN_OUTPUT_DIR", str(target))
    _, source = Cascade.load_default()
    assert source.startswith("pretrained: ") and "smoke-mode test run: not used" in source


def test_train_cascade_refuses_options_beside_a_recipe():
    from textgan_lib import recipes

    with pytest.raises(ValueError, match="a recipe fixes the model; drop augment, learning_rate"):
        train_cascade(recipe=recipes.EMOJI, augment="color", learning_rate=1e-3)


def test_a_decaying_recipe_puts_its_schedule_in_the_checkpoint_setup(tmp_path, monkeypatch):
    from textgan_lib import recipes

    monkeypatch.setenv("TEXTGAN_MODE", "smoke")
    tiny = {**recipes.EMOJI, "lr_decay_start": 0.5, "batch_size": 16,
            "generator": {**recipes.EMOJI["generator"], "base_filters": 4},
            "discriminator": {**recipes.EMOJI["discriminator"], "base_filters": 4},
            "superres": {"filters": 4, "num_blocks": 1}}
    report = train_cascade(out_dir=tmp_path, verbose=0, epochs=2, recipe=tiny)
    with np.load(tmp_path / "checkpoints" / "checkpoint.npz") as saved:
        meta = json.loads(str(saved["meta"]))
    steps = meta["steps_per_epoch"]
    assert meta["setup"]["lr_decay_start"] == 0.5
    assert meta["setup"]["total_steps"] == 2 * steps == report["gan_epochs"] * steps
    with pytest.raises(ValueError, match="total_steps"):     # another length: another schedule
        train_cascade(out_dir=tmp_path, verbose=0, epochs=3, recipe=tiny)


def test_a_matching_recipe_pretrains_its_encoders_once_and_resumes_with_them(tmp_path,
                                                                              monkeypatch):
    from textgan_lib import recipes

    monkeypatch.setenv("TEXTGAN_MODE", "smoke")
    tiny = {**recipes.EMOJI, "lr_decay_start": None, "batch_size": 16,
            "generator": {**recipes.EMOJI["generator"], "base_filters": 4},
            "discriminator": {**recipes.EMOJI["discriminator"], "base_filters": 4},
            "superres": {"filters": 4, "num_blocks": 1},
            "gan": {**recipes.EMOJI["gan"], "matching_weight": 5.0},
            "matching": {"epochs": 1, "code_dim": 8}}
    report = train_cascade(out_dir=tmp_path, verbose=0, epochs=1, recipe=tiny)
    assert report["gan_options"]["matching"] == {"epochs": 1, "code_dim": 8}
    assert report["gan_options"]["matching_weight"] == 5.0
    assert np.isfinite(report["gan_final"]["g_match"])
    assert 0.0 <= report["matching_encoder"]["train_r1_of_1000"] <= 1.0
    saved = (tmp_path / "matching" / "image_encoder.keras").stat().st_mtime_ns
    with np.load(tmp_path / "checkpoints" / "checkpoint.npz") as checkpoint:
        assert json.loads(str(checkpoint["meta"]))["setup"]["matching_weight"] == 5.0
    train_cascade(out_dir=tmp_path, verbose=0, epochs=2, recipe=tiny)   # continues the run
    assert (tmp_path / "matching" / "image_encoder.keras").stat().st_mtime_ns == saved
