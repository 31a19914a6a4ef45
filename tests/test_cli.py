"""`textgan train` options reach train_cascade; failures give exit codes and messages."""
from __future__ import annotations

import pytest

from textgan_lib import cascade, cli
from textgan_lib.callbacks import NonFiniteLossError


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(cascade, "train_cascade", lambda **kw: seen.append(kw) or {})
    return seen


def test_train_passes_data_and_gan_options(calls, monkeypatch):
    monkeypatch.delenv("TEXTGAN_MODE", raising=False)
    assert cli.main(["train", "--data", "shapes", "--mode", "smoke", "--epochs", "3",
                     "--augment", "color,translation,cutout", "--ema", "0.999", "--gp", "r1",
                     "--g-fusion", "film", "--ca", "--d-fusion", "projection",
                     "--spectral-norm", "--jit", "off"]) == 0
    kw = calls[0]
    assert kw["data"] == "shapes" and kw["epochs"] == 3 and kw["batch_size"] is None
    assert kw["augment"] == "color,translation,cutout" and kw["ema_decay"] == 0.999
    assert kw["gradient_penalty"] == "r1" and kw["loss"] == "bce" and kw["jit_compile"] is False
    assert kw["generator_options"] == {"fusion": "film", "conditioning_augmentation": True}
    assert kw["discriminator_options"] == {"fusion": "projection", "spectral_norm": True}
    import os
    assert os.environ["TEXTGAN_MODE"] == "smoke"


def test_train_defaults_to_the_data_sets_recipe(calls):
    from textgan_lib import recipes

    assert cli.main(["train"]) == 0
    assert calls[0]["data"] == "emoji" and calls[0]["recipe"] is recipes.EMOJI
    assert calls[0]["jit_compile"] == "auto"
    assert cli.main(["train", "--data", "shapes"]) == 0
    assert calls[1]["recipe"] is recipes.SHAPES
    assert cli.main(["train", "--recipe", "emoji", "--epochs", "5"]) == 0
    assert calls[2]["recipe"] is recipes.EMOJI and calls[2]["epochs"] == 5


def test_recipe_plain_is_the_skeleton(calls):
    assert cli.main(["train", "--recipe", "plain"]) == 0
    kw = calls[0]
    assert "recipe" not in kw and kw["data"] == "emoji" and kw["augment"] == ""
    assert kw["ema_decay"] is None and kw["gradient_penalty"] is None and kw["loss"] == "bce"
    assert kw["learning_rate"] == 2e-4 and kw["jit_compile"] == "auto"
    assert kw["generator_options"] == {"fusion": "concat", "conditioning_augmentation": False}
    assert kw["discriminator_options"] == {"fusion": "concat", "spectral_norm": False}


def test_a_model_option_alone_selects_the_plain_model_and_batch_size_passes(calls):
    assert cli.main(["train", "--ca"]) == 0
    assert "recipe" not in calls[0]
    assert calls[0]["generator_options"] == {"fusion": "concat", "conditioning_augmentation": True}
    assert cli.main(["train", "--spectral-norm"]) == 0
    assert calls[1]["discriminator_options"] == {"fusion": "concat", "spectral_norm": True}
    assert cli.main(["train", "--recipe", "emoji", "--batch-size", "32"]) == 0
    assert calls[2]["batch_size"] == 32


@pytest.mark.parametrize("argv, message", [
    (["--recipe", "emoji", "--lr", "1e-3"], "--recipe emoji fixes the model; drop --lr"),
    (["--recipe", "shapes"], "--recipe shapes is measured on --data shapes"),
    (["--epochs", "0"], "--epochs must be a positive whole number, got 0"),
    (["--batch-size", "-4"], "--batch-size must be a positive whole number, got -4"),
    (["--recipe", "plain", "--lr", "0"], "--lr must be > 0"),
    (["--ema", "1.0"], "--ema must be in [0, 1)"),
])
def test_contradictory_or_bad_train_options_exit_2_before_training(calls, capsys, argv,
                                                                   message):
    assert cli.main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("textgan train: ") and message in err and err.count("\n") == 1
    assert calls == []


def test_train_passes_the_learning_rate(calls):
    assert cli.main(["train", "--lr", "6e-4"]) == 0
    assert calls[0]["learning_rate"] == 6e-4


def test_non_finite_loss_exits_1_with_the_message(monkeypatch, capsys):
    def boom(**kw):
        raise NonFiniteLossError("non-finite loss: d_loss = nan at epoch 2, step 1.")
    monkeypatch.setattr(cascade, "train_cascade", boom)
    assert cli.main(["train", "--data", "shapes"]) == 1
    assert "non-finite loss: d_loss = nan" in capsys.readouterr().err
