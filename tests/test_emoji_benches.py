"""bench/emoji_recipe.py and bench/recognizability.py: overrides, bad input, an end-to-end run."""
from __future__ import annotations

import json

import pytest


def test_overrides_set_nested_options_and_refuse_bad_ones(load_bench, capsys):
    bench = load_bench("emoji_recipe")
    recipe = {"gan": {"reconstruction_weight": 10.0}, "learning_rate": 6e-4}
    out = bench.apply_overrides(recipe, ["gan.reconstruction_weight=0", "learning_rate=1e-3",
                                         'gan.augment=""'])
    assert out == {"gan": {"reconstruction_weight": 0, "augment": ""}, "learning_rate": 1e-3}
    for bad, message in [("gan.loss", "needs the form"), ("gan.loss=hinge", "not a JSON value"),
                         ("model.x=1", "no part 'model'")]:
        with pytest.raises(SystemExit) as stop:
            bench.apply_overrides(recipe, [bad])
        assert stop.value.code == 2 and message in capsys.readouterr().err


def test_emoji_bench_scores_after_every_evaluation(tmp_path, load_bench):
    out = tmp_path / "run.json"
    result = load_bench("emoji_recipe").main([
        "--name", "tiny", "--steps", "2", "--eval-every", "1", "--jit", "off",
        "--set", "batch_size=8", "--set", "generator.base_filters=4",
        "--set", "discriminator.base_filters=4", "--json", str(out),
        "--save", str(tmp_path / "g"), "--precision", "mixed_bfloat16"])
    saved = json.loads(out.read_text())
    assert saved["finished"] and [h["step"] for h in saved["history"]] == [1, 2]
    assert saved["recipe"]["generator"]["base_filters"] == 4
    for row in saved["history"]:
        assert 0.0 <= row["r1_train"] <= 1.0 and 0.0 <= row["r1_val"] <= 1.0
        assert row["n_train"] == 400 and row["n_val"] == 402 and row["fid_val"] >= 0
        assert row["g_l1"] > 0
    assert (tmp_path / "g" / "generator.keras").is_file()
    assert result["final"] == saved["final"] and saved["precision"] == "mixed_bfloat16"
    import keras

    assert keras.config.dtype_policy().name == "float32"     # the caller's policy is back
    generator = keras.saving.load_model(tmp_path / "g" / "generator.keras")
    assert {layer.dtype_policy.name for layer in generator.layers} == {"float32"}  # saved copy


def test_emoji_bench_refuses_zero_steps(load_bench, capsys):
    for argv in (["--steps", "0"], ["--eval-every", "0"]):
        with pytest.raises(SystemExit) as stop:
            load_bench("emoji_recipe").main(argv)
        assert stop.value.code == 2 and "must be >= 1" in capsys.readouterr().err


def test_recognizability_refuses_a_folder_without_a_cascade(tmp_path, load_bench, capsys):
    with pytest.raises(SystemExit) as stop:
        load_bench("recognizability").main([str(tmp_path)])
    assert stop.value.code == 2
    assert "no saved cascade (cascade.json)" in capsys.readouterr().err


def test_emoji_bench_needs_steps_for_a_decaying_recipe(load_bench, capsys):
    with pytest.raises(SystemExit) as stop:
        load_bench("emoji_recipe").main(["--set", "lr_decay_start=0.5"])
    assert stop.value.code == 2 and "needs --steps" in capsys.readouterr().err
