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


def test_train_defaults_are_the_plain_model(calls):
    assert cli.main(["train"]) == 0
    kw = calls[0]
    assert kw["data"] == "emoji" and kw["augment"] == "" and kw["ema_decay"] is None
    assert kw["gradient_penalty"] is None and kw["jit_compile"] == "auto"
    assert kw["learning_rate"] == 2e-4


def test_train_passes_the_learning_rate(calls):
    assert cli.main(["train", "--lr", "6e-4"]) == 0
    assert calls[0]["learning_rate"] == 6e-4


def test_non_finite_loss_exits_1_with_the_message(monkeypatch, capsys):
    def boom(**kw):
        raise NonFiniteLossError("non-finite loss: d_loss = nan at epoch 2, step 1.")
    monkeypatch.setattr(cascade, "train_cascade", boom)
    assert cli.main(["train", "--data", "shapes"]) == 1
    assert "non-finite loss: d_loss = nan" in capsys.readouterr().err
