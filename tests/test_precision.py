"""Mixed precision on a CPU: which policy `--precision auto` picks, float32 copies of models
trained under a mixed policy, and loading shipped models in float32 whatever the policy."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from textgan_lib import cascade, cli, config
from textgan_lib.models import blocks, build_generator, build_superres

AVX512_BF16 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
AMX = "processor\t: 0\nflags\t\t: fpu sse2 avx2 amx_bf16 amx_tile\n"
NO_BF16 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n"


@pytest.fixture
def cpuinfo(tmp_path):
    def write(text):
        path = tmp_path / "cpuinfo"
        path.write_text(text)
        return path
    return write


@pytest.fixture
def restore_policy():
    saved = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(saved)


def _policies(model):
    """(layer name, dtype policy name) of every layer of ``model``, nested ones included."""
    out = []

    def walk(layer):
        out.append((layer.name, layer.dtype_policy.name))
        for sub in getattr(layer, "_layers", None) or []:
            walk(sub)
    for layer in model.layers:
        walk(layer)
    return out


@pytest.mark.parametrize("text, expected", [(AVX512_BF16, True), (AMX, True), (NO_BF16, False),
                                            ("", False)])
def test_cpu_has_bfloat16_reads_the_flags(cpuinfo, text, expected):
    assert config.cpu_has_bfloat16(cpuinfo(text)) is expected


def test_cpu_has_bfloat16_is_false_without_cpuinfo(tmp_path):
    assert config.cpu_has_bfloat16(tmp_path / "missing") is False      # macOS, Windows


def test_default_precision_on_a_cpu(cpuinfo):
    assert config.default_precision(cpuinfo(AVX512_BF16)) == "mixed_bfloat16"
    assert config.default_precision(cpuinfo(NO_BF16)) == "float32"


def test_float32_policy_restores_the_global_policy(restore_policy):
    keras.config.set_dtype_policy("mixed_bfloat16")
    with config.float32_policy():
        assert keras.config.dtype_policy().name == "float32"
    assert keras.config.dtype_policy().name == "mixed_bfloat16"


def test_float32_copy_has_the_same_weights_and_computes_in_float32(restore_policy):
    keras.config.set_dtype_policy("mixed_bfloat16")
    keras.utils.set_random_seed(0)
    g = build_generator(384, base_filters=8, fusion="concat_film")
    assert "mixed_bfloat16" in {p for _, p in _policies(g)}   # (the output layer: float32)
    keras.config.set_dtype_policy("float32")
    copy = blocks.float32_copy(g)
    assert {p for _, p in _policies(copy)} == {"float32"}
    for a, b in zip(g.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(a, b)             # float32 weights, copied exactly
    rng = np.random.default_rng(0)
    x = [rng.standard_normal((4, 384)).astype("float32"),
         rng.standard_normal((4, g.inputs[1].shape[-1])).astype("float32")]
    exact = np.asarray(copy(x, training=False))
    assert exact.dtype == np.float32
    # bfloat16 keeps 8 significant bits: the mixed model agrees to about 1e-2, not 1e-6
    diff = np.abs(np.asarray(g(x, training=False), "float32") - exact).max()
    assert 0 < diff < 0.05


def test_float32_copy_of_a_float32_model_is_the_model():
    model = build_superres(4, filters=8, num_blocks=1)
    assert blocks.float32_copy(model) is model


def test_a_saved_cascade_loads_in_float32_under_a_mixed_policy(tmp_path, restore_policy):
    keras.config.set_dtype_policy("mixed_bfloat16")
    g = build_generator(384, base_filters=8, fusion="concat_film")
    sr = build_superres(4, filters=8, num_blocks=1)
    cascade.Cascade(g, sr, text_model=None, encoder=object()).save(tmp_path / "c")
    loaded = cascade.Cascade.load(tmp_path / "c", encoder=object())   # still mixed_bfloat16
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    for model in (loaded.generator, loaded.superres):
        assert {p for _, p in _policies(model)} == {"float32"}, model.name


def test_the_shipped_generator_loads_in_float32_under_a_mixed_policy(restore_policy):
    keras.config.set_dtype_policy("mixed_bfloat16")
    loaded = cascade.Cascade.load(cascade.PRETRAINED_DIR, encoder=object())
    assert {p for _, p in _policies(loaded.generator)} == {"float32"}


def test_train_sets_the_precision_and_restores_the_policy(monkeypatch, capsys,
                                                          restore_policy):
    seen = []
    monkeypatch.setattr(cascade, "train_cascade",
                        lambda **kw: seen.append(keras.config.dtype_policy().name) or {})
    monkeypatch.setattr(config, "default_precision", lambda: "mixed_bfloat16")
    keras.config.set_dtype_policy("float32")
    assert cli.main(["train", "--data", "shapes"]) == 0              # --precision auto
    assert cli.main(["train", "--data", "shapes", "--precision", "float32"]) == 0
    assert seen == ["mixed_bfloat16", "float32"]
    assert keras.config.dtype_policy().name == "float32"
    out = capsys.readouterr().out
    assert "[textgan] precision mixed_bfloat16 (--precision auto on this machine)" in out
