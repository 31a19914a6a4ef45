"""bench/shapes_alignment.py, the issue-6 figure, runs end to end and writes what it trained."""
from __future__ import annotations

import json


def test_shapes_bench_writes_scores_after_every_evaluation(tmp_path, load_bench):
    out = tmp_path / "run.json"
    result = load_bench("shapes_alignment").main([
        "--name", "tiny", "--steps", "4", "--eval-every", "2", "--train-images", "64",
        "--eval", "16", "--batch-size", "8", "--d-filters", "8", "--jit", "off",
        "--json", str(out), "--precision", "mixed_bfloat16"])
    saved = json.loads(out.read_text())
    assert saved["finished"] and [h["step"] for h in saved["history"]] == [2, 4]
    assert saved["recipe"]["batch_size"] == 8
    assert saved["recipe"]["discriminator"]["base_filters"] == 8
    assert saved["recipe"]["generator"]["base_filters"] == 16
    assert "--d-filters 8" in saved["command"]
    for key in ("colour", "shape", "size", "position", "all"):
        assert 0.0 <= saved["final"][key] <= 1.0
    assert result["final"] == saved["final"] and saved["precision"] == "mixed_bfloat16"
    import keras

    assert keras.config.dtype_policy().name == "float32"     # the caller's policy is back
