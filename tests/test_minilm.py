"""Tests for textgan_lib.minilm, our Keras 3 all-MiniLM-L6-v2, and how TextEncoder loads it.

* The encoder reproduces the embeddings of the Hugging Face TensorFlow model it replaced
  (``tests/data/minilm_reference.npz``, see ``tests/data/README.md``) within 1e-5.
* Padding keys are masked as in BERT; the weight mapping covers the whole checkpoint.
* BERT checkpoints other than the bundled one load from a directory or from the Hugging Face
  Hub cache (offline, on a tiny random BERT made here), and bad ones give clear errors.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

from textgan_lib import minilm, text
from textgan_lib.text import TextEncoder, default_model_path

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.npz"
LONG_CAPTION = ("a very large and extremely detailed illustration of a smiling yellow face "
                "with rosy cheeks, wide open eyes, a tiny tongue sticking out, three small "
                "red hearts floating around it and a soft blue shadow underneath")


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder(cache=False)


def _reference():
    with np.load(REFERENCE, allow_pickle=False) as data:
        captions = text._unpack_strings(data["caption_bytes"], data["caption_offsets"])
        return captions, {key: data[key] for key in data.files if key.startswith(("mean", "cls"))}


# --------------------------------------------------------------------------- the real MiniLM

def test_reference_fixture_covers_the_edge_cases():
    captions, embeddings = _reference()
    assert {"", "一只红色的苹果", "red apple", "grinning face", "flag: Japan"} <= set(captions)
    assert set(embeddings) == {"mean_norm", "mean_raw", "cls_norm", "cls_raw"}
    assert all(e.shape == (len(captions), 384) and e.dtype == np.float32
               for e in embeddings.values())


@pytest.mark.parametrize("pooling", ["mean", "cls"])
@pytest.mark.parametrize("normalize", [True, False])
def test_reproduces_the_huggingface_tf_embeddings(pooling, normalize):
    captions, reference = _reference()
    enc = TextEncoder(pooling=pooling, normalize=normalize, cache=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")              # the long caption is truncated
        got = enc.encode(captions)
    assert len(enc.last_truncated) == 1              # ... and it is in the fixture
    expected = reference[f"{pooling}_{'norm' if normalize else 'raw'}"]
    assert np.abs(got - expected).max() < 1e-5


def test_padding_keys_are_masked(encoder):
    """A caption alone and in a batch with a much longer one: the same vectors."""
    alone = encoder.tokenize(["red apple"])
    batch = encoder.tokenize(["red apple", LONG_CAPTION])
    assert batch["input_ids"].shape[1] > 5 * alone["input_ids"].shape[1]
    h_alone = np.asarray(encoder.model(**alone))[0]                     # (4, 384)
    h_batch = np.asarray(encoder.model(**batch))[0, :4]                 # its 4 real tokens
    # (float32 round-off of different matrix shapes: token vectors reach |x| ~ 10)
    np.testing.assert_allclose(h_batch, h_alone, atol=1e-5, rtol=0)
    # Whatever the padded positions hold, the real tokens do not see them.
    ids = batch["input_ids"].copy()
    ids[0, 4:] = 2417                                                   # "red" instead of [PAD]
    h_other = np.asarray(encoder.model(ids, batch["attention_mask"]))[0, :4]
    np.testing.assert_allclose(h_other, h_batch, atol=1e-6, rtol=0)
    # Without the mask the padding would be attended to: the check above is sensitive.
    unmasked = np.asarray(encoder.model(batch["input_ids"]))[0, :4]
    assert np.abs(unmasked - h_alone).max() > 1e-2
    for pooling in ("mean", "cls"):
        enc = TextEncoder(pooling=pooling, cache=False)
        np.testing.assert_allclose(enc.encode(["red apple", LONG_CAPTION])[0],
                                   enc.encode("red apple")[0], atol=1e-6, rtol=0)


def test_weight_map_covers_the_whole_checkpoint(encoder):
    model = encoder.model
    tensors = minilm.read_safetensors(default_model_path() / "model.safetensors")
    links = minilm.weight_map(model)
    assert len(links) == 5 + 16 * 6
    # Every Keras variable is filled exactly once, from a tensor of the right size.
    assert sorted(id(link.variable) for link in links) == sorted(id(v) for v in model.weights)
    for link in links:
        assert tuple(tensors[link.bert_name].shape) == link.bert_shape
        np.testing.assert_array_equal(np.asarray(link.variable),
                                      link.convert(tensors[link.bert_name]))
    # Every checkpoint tensor is used except BERT's pooler and the position_ids buffer.
    unused = set(tensors) - {link.bert_name for link in links}
    assert unused == {"pooler.dense.weight", "pooler.dense.bias", "embeddings.position_ids"}
    assert model.unused_weights == sorted(unused)
    # Parameters: 22.57 M here; with the pooler, the 22.7 M usually quoted for the model.
    pooler = sum(tensors[name].size for name in unused if name.startswith("pooler."))
    assert model.count_params() == 22_565_376 and model.count_params() + pooler == 22_713_216


def test_attention_kernel_layout(encoder):
    """torch Linear (out, in) -> Keras (in, heads, head_dim): head h is rows h*32:(h+1)*32."""
    tensors = minilm.read_safetensors(default_model_path() / "model.safetensors")
    query = tensors["encoder.layer.0.attention.self.query.weight"]          # (384, 384)
    kernel = np.asarray(encoder.model.blocks[0].attention.query_dense.kernel)
    assert kernel.shape == (384, 12, 32)
    np.testing.assert_array_equal(kernel[:, 5, :], query[5 * 32:6 * 32].T)
    out = tensors["encoder.layer.0.attention.output.dense.weight"]          # (384, 384)
    out_kernel = np.asarray(encoder.model.blocks[0].attention.output_dense.kernel)
    assert out_kernel.shape == (12, 32, 384)
    np.testing.assert_array_equal(out_kernel[5], out[:, 5 * 32:6 * 32].T)


# --------------------------------------------------------------------------- a tiny BERT

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "red", "green", "apple", "face",
         "grinning", "police", "car", "in", "the", "##s", "big", "panda"]
TINY = dict(model_type="bert", architectures=["BertModel"], vocab_size=len(VOCAB),
            hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            hidden_act="gelu", max_position_embeddings=64, type_vocab_size=2,
            layer_norm_eps=1e-12, position_embedding_type="absolute", pad_token_id=0)


def _tiny_tensors(config: dict, prefix: str = "", seed: int = 0) -> dict:
    """Random BERT weights in the checkpoint's layout (torch Linear: (out, in))."""
    rng = np.random.default_rng(seed)
    h, i = config["hidden_size"], config["intermediate_size"]
    shapes = {"embeddings.word_embeddings.weight": (config["vocab_size"], h),
              "embeddings.position_embeddings.weight": (config["max_position_embeddings"], h),
              "embeddings.token_type_embeddings.weight": (config["type_vocab_size"], h),
              "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,),
              "pooler.dense.weight": (h, h), "pooler.dense.bias": (h,)}
    for n in range(config["num_hidden_layers"]):
        layer = f"encoder.layer.{n}"
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            shapes[f"{layer}.{name}.weight"], shapes[f"{layer}.{name}.bias"] = (h, h), (h,)
        shapes[f"{layer}.intermediate.dense.weight"] = (i, h)
        shapes[f"{layer}.intermediate.dense.bias"] = (i,)
        shapes[f"{layer}.output.dense.weight"] = (h, i)
        shapes[f"{layer}.output.dense.bias"] = (h,)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[f"{layer}.{name}.weight"], shapes[f"{layer}.{name}.bias"] = (h,), (h,)
    tensors = {prefix + name: rng.normal(0.0, 0.3, shape).astype(np.float32)
               for name, shape in shapes.items()}
    for name in tensors:
        if name.endswith("LayerNorm.weight"):
            tensors[name] += 1.0
    tensors["embeddings.position_ids"] = np.arange(config["max_position_embeddings"])[None]
    return tensors


def _write_tiny_bert(directory: Path, config: dict = TINY, prefix: str = "",
                     tensors: dict | None = None) -> Path:
    """A checkpoint directory as the Hub stores it: config, safetensors, BERT tokenizer."""
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config, indent=1))
    tensors = _tiny_tensors(config, prefix) if tensors is None else tensors
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    (directory / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    (directory / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 64}))
    return directory


@pytest.mark.parametrize("prefix", ["", "bert."])
def test_tiny_bert_from_a_directory(tmp_path, prefix):
    path = _write_tiny_bert(tmp_path / "tiny", prefix=prefix)
    enc = TextEncoder(str(path), cache=False)
    assert enc.backend == "keras" and enc.family == "bert" and enc.dim == 32
    assert type(enc.tokenizer).__name__.startswith("BertTokenizer")   # loaded from vocab.txt
    assert enc.tokenize("red apples")["input_ids"].tolist() == [[2, 6, 8, 15, 3]]
    assert len(enc.model.blocks) == 2 and enc.model.config.num_attention_heads == 4
    assert enc.model.blocks[0].attention.query_dense.kernel.shape == (32, 4, 8)
    assert enc.model.unused_weights == [          # names without the "bert." prefix
        "embeddings.position_ids", "pooler.dense.bias", "pooler.dense.weight"]
    emb = enc.encode(["red apple", "a big panda in the green car", ""])
    assert emb.shape == (3, 32) and np.isfinite(emb).all()
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(emb[0], enc.encode("red apple")[0], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="max_length=65 is more than the 64 positions"):
        TextEncoder(str(path), max_length=65, cache=False)


def _transformers_bert(path):
    """transformers' own BertModel for the checkpoint at ``path``, as a function of NumPy
    arrays: its PyTorch class where torch is installed, else its TF class (transformers 4.x
    with tf-keras)."""
    import transformers

    try:
        backend = text._transformers_backend(transformers)
    except ImportError:
        pytest.skip("no transformers model backend (neither torch nor transformers 4.x + tf-keras)")
    if backend == "tf":
        model = transformers.TFBertModel.from_pretrained(path)
        return lambda **inputs: np.asarray(model(**inputs).last_hidden_state)
    import torch

    model = transformers.BertModel.from_pretrained(path).float().eval()

    def run(**inputs):
        with torch.no_grad():
            tensors = {k: torch.as_tensor(v, dtype=torch.long) for k, v in inputs.items()}
            return model(**tensors).last_hidden_state.numpy()
    return run


def test_tiny_bert_matches_transformers(tmp_path):
    """Other shapes than MiniLM's (4 heads of 8, 2 layers) against transformers' own BERT."""
    path = _write_tiny_bert(tmp_path / "tiny", prefix="bert.")
    theirs = _transformers_bert(path)
    ours = minilm.from_pretrained(path)
    ids = np.array([[2, 6, 8, 3, 0, 0, 0], [2, 5, 16, 17, 13, 14, 3]], dtype=np.int32)
    mask = (ids > 0).astype(np.int32)
    types = np.array([[0] * 7, [0, 0, 0, 1, 1, 1, 1]], dtype=np.int32)
    expected = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types)
    got = np.asarray(ours(ids, mask, token_type_ids=types))
    real = mask.astype(bool)
    np.testing.assert_allclose(got[real], expected[real], atol=1e-5)


def test_always_float32_under_mixed_precision(tmp_path):
    path = _write_tiny_bert(tmp_path / "tiny")
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = minilm.from_pretrained(path)
        out = model(np.array([[2, 6, 3]], dtype=np.int32))
    finally:
        keras.config.set_dtype_policy(before)
    assert all(v.dtype == "float32" for v in model.weights)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"


# --------------------------------------------------------------------------- the Hub cache

def _hub_cache(root: Path, repo_id: str, commit: str = "0123456789abcdef" * 2 + "01234567"):
    """Lay out ``repo_id`` as huggingface_hub caches it: refs/main -> snapshots/<commit>/."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return _write_tiny_bert(repo / "snapshots" / commit)


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """An empty Hugging Face Hub cache in tmp_path, with the Hub switched off."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads both variables when it is imported: set its copies too.
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def test_model_by_name_from_the_hub_cache(offline_hub, monkeypatch):
    import huggingface_hub

    snapshot = _hub_cache(offline_hub, "textgan-test/tiny-bert")
    calls = []
    real = huggingface_hub.snapshot_download

    def recording(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        return real(repo_id, **kwargs)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", recording)
    enc = TextEncoder("textgan-test/tiny-bert", cache=False)
    assert enc.name == "textgan-test/tiny-bert" and enc.backend == "keras" and enc.dim == 32
    [(repo_id, kwargs)] = calls
    assert repo_id == "textgan-test/tiny-bert"
    assert {"config.json", "model.safetensors", "vocab.txt",
            "tokenizer.json"} <= set(kwargs["allow_patterns"])
    # The same weights as the directory itself.
    local = TextEncoder(str(snapshot), cache=False)
    np.testing.assert_array_equal(enc.encode(["red apple", "police car"]),
                                  local.encode(["red apple", "police car"]))
    assert "textgan-test_tiny-bert" in enc.cache_path().as_posix()


def test_unknown_model_name(offline_hub):
    with pytest.raises(OSError, match="'textgan-test/no-such-model' is not a local directory"):
        TextEncoder("textgan-test/no-such-model", cache=False)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("change, message", [
    ({"model_type": "t5"}, "model_type='t5' is not a BERT encoder"),
    ({"model_type": None}, "model_type=None is not a BERT encoder"),
    ({"position_embedding_type": "relative_key"}, "position_embedding_type='relative_key'"),
    ({"hidden_act": "gelu_new"}, "hidden_act='gelu_new'.*exact"),
    ({"num_attention_heads": 5}, "hidden_size=32 is not divisible by num_attention_heads=5"),
    ({"is_decoder": True}, "encoders only"),
])
def test_config_that_is_not_a_bert_encoder(change, message):
    with pytest.raises(ValueError, match=message):
        minilm.BertConfig.from_dict({**TINY, **change}, source="config.json")


def test_config_defaults_are_transformers_defaults():
    config = minilm.BertConfig.from_dict({"model_type": "bert", "unknown_key": 1})
    assert (config.hidden_size, config.num_hidden_layers, config.intermediate_size,
            config.head_dim) == (768, 12, 3072, 64)


def test_missing_and_misshaped_weights(tmp_path):
    tensors = _tiny_tensors(TINY)
    del tensors["encoder.layer.1.output.dense.weight"]
    _write_tiny_bert(tmp_path / "missing", tensors=tensors)
    with pytest.raises(ValueError, match="missing BERT weights encoder.layer.1.output.dense.w"):
        minilm.from_pretrained(tmp_path / "missing")

    tensors = _tiny_tensors(TINY)
    tensors["encoder.layer.0.attention.self.key.weight"] = np.zeros((32, 16), np.float32)
    _write_tiny_bert(tmp_path / "shape", tensors=tensors)
    with pytest.raises(ValueError, match=r"mis-shaped.*attention.self.key.weight is \(32, 16\), "
                                         r"expected \(32, 32\)"):
        minilm.from_pretrained(tmp_path / "shape")

    # A 3-layer checkpoint read with a 2-layer config: its last layer is not silently dropped.
    _write_tiny_bert(tmp_path / "extra", tensors=_tiny_tensors({**TINY, "num_hidden_layers": 3}))
    with pytest.raises(ValueError, match="does not account for: encoder.layer.2"):
        minilm.from_pretrained(tmp_path / "extra")

    (tmp_path / "extra" / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="model.safetensors"):
        minilm.from_pretrained(tmp_path / "extra")
    with pytest.raises(ValueError, match="has no config.json"):
        minilm.from_pretrained(tmp_path / "nowhere")


def test_bert_variants_our_code_cannot_run_say_why(tmp_path, monkeypatch):
    """A BERT checkpoint with gelu_new goes to transformers; with no backend, the error says
    why our Keras encoder did not take it."""
    import sys

    _write_tiny_bert(tmp_path / "tanh", config={**TINY, "hidden_act": "gelu_new"})
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "tf_keras", None)
    with pytest.raises(ImportError, match="hidden_act='gelu_new'.*pip install torch"):
        TextEncoder(str(tmp_path / "tanh"), cache=False)
