"""all-MiniLM-L6-v2 in Keras 3: the text encoder of the course, written out layer by layer.

Taught in ``01_text_embeddings`` ("opening the encoder").

all-MiniLM-L6-v2 is a small **BERT** encoder: 6 transformer blocks, 384-d vectors, 12
attention heads of 32 dimensions, a 1536-d feed-forward layer and a 30,522-word-piece
vocabulary. This module builds that network from plain Keras layers and fills it with the
pretrained weights of a Hugging Face checkpoint directory (``config.json`` +
``model.safetensors``). Shapes below: ``B`` captions in a batch, ``T`` tokens per caption
(padding included), ``H`` = ``hidden_size`` (384).

1. :class:`BertEmbeddings`: token ids ``(B, T)`` -> vectors ``(B, T, H)``: the sum of a
   word-piece embedding, a position embedding (position 0, 1, ...) and a token-type
   embedding (always type 0 here: one sentence per caption), then a LayerNorm.
2. :class:`BertBlock`, 6 times: ``(B, T, H) -> (B, T, H)``. Multi-head self-attention, then a
   position-wise feed-forward network (``H -> 4H -> H``, GELU). Each of the two is wrapped
   as ``LayerNorm(x + sublayer(x))`` ("post-LN", the original BERT order).
3. :class:`MiniLM` chains them and returns the last block's output, one vector per token,
   ``(B, T, H)`` (what Hugging Face calls ``last_hidden_state``). Pooling those token vectors
   into one vector per caption is :mod:`textgan_lib.text`'s job.

**Padding.** A batch is padded to its longest caption. The ``attention_mask`` (1 = real
token, 0 = ``[PAD]``) is turned into a ``(B, T, T)`` boolean mask that lets every position
attend to the real tokens only, as BERT does: a padding *key* never receives attention, so
the real tokens' vectors do not depend on how much padding the batch has.

The model is inference-only (the course keeps the text encoder frozen), so it has no
dropout and always computes in float32, whatever Keras' global dtype policy says.

:func:`from_pretrained` reads the hyperparameters (:class:`BertConfig`) and the weights
(:func:`load_bert_weights`, with the name mapping of :func:`weight_map`). BERT's pooler
(``pooler.dense``, a tanh layer on ``[CLS]`` trained for next-sentence prediction) is not
part of this model: nothing in the course uses it.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

#: ``config.json`` ``model_type`` values this module can build.
BERT_MODEL_TYPES = ("bert",)
#: Checkpoint tensors that this model does not use (with or without the ``bert.`` prefix):
#: ``embeddings.position_ids`` is a constant buffer (0, 1, ..., 511), not a weight, and
#: ``pooler.*`` is BERT's [CLS] pooler, never used by the course.
UNUSED_PREFIXES = ("embeddings.position_ids", "pooler.")


# --------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class BertConfig:
    """The hyperparameters of a BERT encoder, read from a checkpoint's ``config.json``.

    Field names and defaults are those of Hugging Face's ``BertConfig``, so a ``config.json``
    that leaves a field out means what it means to ``transformers``. all-MiniLM-L6-v2:
    ``BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6,
    num_attention_heads=12, intermediate_size=1536)`` and the defaults for the rest.
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    position_embedding_type: str = "absolute"
    model_type: str = "bert"

    @property
    def head_dim(self) -> int:
        """Dimensions per attention head: ``hidden_size // num_attention_heads`` (32)."""
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_dict(cls, values: dict, source: str = "config") -> "BertConfig":
        """Build a config from ``config.json``'s dictionary; other keys are ignored.

        Raises:
            ValueError: naming the field, if this is not an encoder this module can build:
                ``model_type`` not ``"bert"``, ``position_embedding_type`` not
                ``"absolute"``, ``hidden_act`` not ``"gelu"`` (the exact, erf-based GELU),
                a decoder, or ``hidden_size`` not divisible by ``num_attention_heads``.
        """
        model_type = values.get("model_type")
        if model_type not in BERT_MODEL_TYPES:
            raise ValueError(
                f"{source}: model_type={model_type!r} is not a BERT encoder; "
                f"textgan_lib.minilm builds model_type 'bert' only (BERT, MiniLM, ...). "
                "Other encoders (T5, CLIP, RoBERTa, ...) run through Hugging Face transformers "
                "instead: TextEncoder(name) does that.")
        known = {f.name for f in fields(cls)}
        config = cls(**{key: value for key, value in values.items() if key in known})
        if config.position_embedding_type != "absolute":
            raise ValueError(
                f"{source}: position_embedding_type={config.position_embedding_type!r}; "
                "textgan_lib.minilm implements 'absolute' (learned) position embeddings only")
        if config.hidden_act != "gelu":
            raise ValueError(
                f"{source}: hidden_act={config.hidden_act!r}; textgan_lib.minilm implements "
                "'gelu' only (the exact, erf-based GELU of the original BERT)")
        if values.get("is_decoder") or values.get("add_cross_attention"):
            raise ValueError(f"{source}: a BERT decoder (is_decoder / add_cross_attention); "
                             "textgan_lib.minilm builds encoders only")
        if config.hidden_size % config.num_attention_heads:
            raise ValueError(
                f"{source}: hidden_size={config.hidden_size} is not divisible by "
                f"num_attention_heads={config.num_attention_heads}")
        return config

    @classmethod
    def from_json(cls, path) -> "BertConfig":
        """Read ``path`` (a ``config.json``), see :meth:`from_dict`."""
        path = Path(path)
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")), source=str(path))


# --------------------------------------------------------------------------- the layers

#: Initial value of every weight before the checkpoint overwrites it. Zeros draw no random
#: numbers, so building the encoder leaves Keras' global random state, and with it the initial
#: weights of every model a notebook builds afterwards, as it was.
LOADED_INIT = "zeros"

class BertEmbeddings(keras.layers.Layer):
    """Token ids ``(B, T)`` -> the input vectors of the first block, ``(B, T, H)``.

    ``LayerNorm(word[ids] + position[0..T-1] + token_type[type_ids])``, with three
    learned tables: ``word_embeddings`` ``(vocab_size, H)``, ``position_embeddings``
    ``(max_position_embeddings, H)`` and ``token_type_embeddings`` ``(type_vocab_size, H)``.
    """

    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        size, dtype = config.hidden_size, self.dtype_policy
        # zeros: the checkpoint overwrites every weight (see LOADED_INIT)
        self.word_embeddings = keras.layers.Embedding(
            config.vocab_size, size, embeddings_initializer=LOADED_INIT, dtype=dtype,
            name="word_embeddings")
        self.position_embeddings = keras.layers.Embedding(
            config.max_position_embeddings, size, embeddings_initializer=LOADED_INIT,
            dtype=dtype, name="position_embeddings")
        self.token_type_embeddings = keras.layers.Embedding(
            config.type_vocab_size, size, embeddings_initializer=LOADED_INIT, dtype=dtype,
            name="token_type_embeddings")
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=config.layer_norm_eps, dtype=dtype, name="layer_norm")

    def call(self, input_ids, token_type_ids):
        positions = ops.arange(ops.shape(input_ids)[1])                   # (T,): 0, 1, ...
        vectors = (self.word_embeddings(input_ids)                        # (B, T, H)
                   + self.position_embeddings(positions)[None]            # (1, T, H)
                   + self.token_type_embeddings(token_type_ids))          # (B, T, H)
        return self.layer_norm(vectors)


class BertBlock(keras.layers.Layer):
    """One transformer block, ``(B, T, H) -> (B, T, H)``, post-LN as in BERT.

    * ``attention``: ``keras.layers.MultiHeadAttention`` with ``num_attention_heads`` heads of
      ``head_dim`` each; its query/key/value kernels are ``(H, heads, head_dim)`` and its
      output kernel ``(heads, head_dim, H)``.
    * ``attention_norm``: ``x = LayerNorm(x + attention(x))``.
    * ``intermediate`` (``H -> intermediate_size``, GELU) and ``output``
      (``intermediate_size -> H``): the feed-forward network, applied to every token alone.
    * ``output_norm``: ``x = LayerNorm(x + output(intermediate(x)))``.
    """

    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        dtype, eps = self.dtype_policy, config.layer_norm_eps
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=config.num_attention_heads, key_dim=config.head_dim,
            kernel_initializer=LOADED_INIT, dtype=dtype, name="attention")
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=eps, dtype=dtype, name="attention_norm")
        # Keras' "gelu" is the exact GELU, x * Phi(x) with erf, the same as BERT's "gelu".
        self.intermediate = keras.layers.Dense(
            config.intermediate_size, activation="gelu", kernel_initializer=LOADED_INIT,
            dtype=dtype, name="intermediate")
        self.output_dense = keras.layers.Dense(config.hidden_size, kernel_initializer=LOADED_INIT,
                                               dtype=dtype, name="output")
        self.output_norm = keras.layers.LayerNormalization(
            epsilon=eps, dtype=dtype, name="output_norm")

    def call(self, x, attention_mask):
        """``x`` ``(B, T, H)``; ``attention_mask`` bool ``(B, T, T)``: may query t see key s."""
        attended = self.attention(query=x, value=x, key=x, attention_mask=attention_mask)
        x = self.attention_norm(x + attended)
        return self.output_norm(x + self.output_dense(self.intermediate(x)))


class MiniLM(keras.Model):
    """A BERT encoder: token ids ``(B, T)`` -> one vector per token ``(B, T, H)``.

    Args:
        config: the hyperparameters (:class:`BertConfig`); ``MiniLM(config)`` has random
            weights, :func:`from_pretrained` loads a checkpoint.

    Call with ``input_ids`` (int ``(B, T)``), ``attention_mask`` (``(B, T)``, 1 = token,
    0 = padding; default: all ones) and optionally ``token_type_ids`` (``(B, T)``, default
    zeros). ``model(**text_encoder.tokenize(captions))`` works.

    Attributes:
        config: the :class:`BertConfig`.
        embeddings: the :class:`BertEmbeddings` layer.
        blocks: the ``num_hidden_layers`` :class:`BertBlock` layers, in order.
    """

    def __init__(self, config: BertConfig, name: str = "minilm", **kwargs):
        kwargs.setdefault("dtype", "float32")  # frozen and small: no mixed precision
        super().__init__(name=name, **kwargs)
        self.config = config
        self.embeddings = BertEmbeddings(config, dtype=self.dtype_policy, name="embeddings")
        self.blocks = [BertBlock(config, dtype=self.dtype_policy, name=f"block_{i}")
                       for i in range(config.num_hidden_layers)]

    def call(self, input_ids, attention_mask=None, token_type_ids=None):
        if attention_mask is None:
            attention_mask = ops.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = ops.zeros_like(input_ids)
        # (B, T) -> (B, T, T): query t may attend to key s iff s is a real token. Padded
        # positions still compute vectors (from the real tokens); pooling ignores them.
        keys = ops.cast(attention_mask, "bool")[:, None, :]                      # (B, 1, T)
        pair_mask = ops.broadcast_to(keys, (ops.shape(keys)[0], ops.shape(keys)[2],
                                            ops.shape(keys)[2]))                 # (B, T, T)
        x = self.embeddings(input_ids, token_type_ids)                           # (B, T, H)
        for block in self.blocks:
            x = block(x, pair_mask)
        return x


# --------------------------------------------------------------------------- weights

class WeightLink(NamedTuple):
    """One checkpoint tensor and the Keras variable it fills.

    ``transpose``: a ``torch.nn.Linear`` weight is stored ``(out, in)``; a Keras kernel is
    ``(in, out)`` (or, in ``MultiHeadAttention``, ``(H, heads, head_dim)`` for query/key/value
    and ``(heads, head_dim, H)`` for the output): the tensor is transposed, then reshaped.
    """

    bert_name: str        # e.g. "encoder.layer.0.attention.self.query.weight"
    variable: object      # the keras.Variable, e.g. block_0/attention/query/kernel
    bert_shape: tuple     # the tensor's shape in the checkpoint, e.g. (384, 384)
    transpose: bool

    def convert(self, tensor: np.ndarray) -> np.ndarray:
        """The checkpoint tensor in the Keras variable's shape (float32)."""
        tensor = np.asarray(tensor, dtype=np.float32)
        return (tensor.T if self.transpose else tensor).reshape(tuple(self.variable.shape))


def weight_map(model: MiniLM) -> list[WeightLink]:
    """Every Keras variable of ``model`` with the BERT checkpoint tensor that fills it.

    Names are those of Hugging Face's ``BertModel`` without the ``bert.`` prefix: 5 for the
    embeddings, then 16 per block (4 attention projections, 2 LayerNorms, 2 feed-forward
    layers, each a weight and a bias).
    """
    links: list[WeightLink] = []

    def table(layer, name):                       # an Embedding: (rows, H), stored as is
        links.append(WeightLink(f"{name}.weight", layer.embeddings,
                                tuple(layer.embeddings.shape), False))

    def norm(layer, name):                        # a LayerNorm: scale ("weight") and shift
        links.append(WeightLink(f"{name}.weight", layer.gamma, tuple(layer.gamma.shape), False))
        links.append(WeightLink(f"{name}.bias", layer.beta, tuple(layer.beta.shape), False))

    def linear(layer, name, in_axes=1):           # Dense / EinsumDense <- torch Linear
        shape = tuple(layer.kernel.shape)         # the first in_axes axes are the input
        n_in, n_out = math.prod(shape[:in_axes]), math.prod(shape[in_axes:])
        links.append(WeightLink(f"{name}.weight", layer.kernel, (n_out, n_in), True))
        links.append(WeightLink(f"{name}.bias", layer.bias, (n_out,), False))

    emb = model.embeddings
    table(emb.word_embeddings, "embeddings.word_embeddings")
    table(emb.position_embeddings, "embeddings.position_embeddings")
    table(emb.token_type_embeddings, "embeddings.token_type_embeddings")
    norm(emb.layer_norm, "embeddings.LayerNorm")
    for i, block in enumerate(model.blocks):
        name, attention = f"encoder.layer.{i}", block.attention
        linear(attention.query_dense, f"{name}.attention.self.query")
        linear(attention.key_dense, f"{name}.attention.self.key")
        linear(attention.value_dense, f"{name}.attention.self.value")
        linear(attention.output_dense, f"{name}.attention.output.dense", in_axes=2)
        norm(block.attention_norm, f"{name}.attention.output.LayerNorm")
        linear(block.intermediate, f"{name}.intermediate.dense")
        linear(block.output_dense, f"{name}.output.dense")
        norm(block.output_norm, f"{name}.output.LayerNorm")
    return links


def _bert_names(tensors: dict) -> dict:
    """Drop the ``bert.`` prefix (checkpoints of e.g. ``BertForMaskedLM`` have it) and read
    old LayerNorm names (``gamma``/``beta``) as ``weight``/``bias``."""
    renamed = {}
    for name, tensor in tensors.items():
        name = name.removeprefix("bert.")
        if ".LayerNorm." in name:
            name = name.replace(".gamma", ".weight").replace(".beta", ".bias")
        renamed[name] = tensor
    return renamed


def _short_list(names) -> str:
    names = sorted(names)
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def load_bert_weights(model: MiniLM, tensors: dict, source: str = "checkpoint") -> list[str]:
    """Copy BERT checkpoint tensors into ``model``'s variables.

    Args:
        model: a built :class:`MiniLM` (see :func:`build`).
        tensors: ``{name: array}``, e.g. ``safetensors.numpy.load_file("model.safetensors")``.
        source: where the tensors come from, for error messages.

    Returns:
        The names (without a ``bert.`` prefix, sorted) of the checkpoint tensors that were
        not used: the pooler, ``embeddings.position_ids`` and any task head (e.g.
        ``cls.predictions.*``).

    Raises:
        ValueError: naming the tensors, if one the model needs is missing or has the wrong
            shape, or if the checkpoint has encoder tensors the config does not account for
            (e.g. more layers than ``num_hidden_layers``).
    """
    tensors = _bert_names(tensors)
    links = weight_map(model)
    missing = [link.bert_name for link in links if link.bert_name not in tensors]
    if missing:
        raise ValueError(f"{source}: missing BERT weights {_short_list(missing)} "
                         f"(expected a {model.config.num_hidden_layers}-layer BERT encoder)")
    wrong = [f"{link.bert_name} is {tuple(tensors[link.bert_name].shape)}, "
             f"expected {link.bert_shape}" for link in links
             if tuple(tensors[link.bert_name].shape) != link.bert_shape]
    if wrong:
        raise ValueError(f"{source}: mis-shaped BERT weights (does config.json match the "
                         f"weights?): {'; '.join(wrong[:5])}")
    used = {link.bert_name for link in links}
    unused = sorted(set(tensors) - used)
    unexpected = [name for name in unused if name.startswith(("embeddings.", "encoder."))
                  and not name.startswith(UNUSED_PREFIXES)]
    if unexpected:
        raise ValueError(f"{source}: encoder weights that config.json does not account for: "
                         f"{_short_list(unexpected)}")
    for link in links:
        link.variable.assign(link.convert(tensors[link.bert_name]))
    return unused


def build(config: BertConfig) -> MiniLM:
    """A :class:`MiniLM` with random weights, built (called once on a 2-token input)."""
    model = MiniLM(config)
    model(np.zeros((1, 2), dtype=np.int32), np.ones((1, 2), dtype=np.int32))
    return model


def read_safetensors(path) -> dict:
    """``{name: NumPy array}`` from a ``.safetensors`` file.

    Raises:
        ImportError: if the ``safetensors`` package is missing (with the pip command).
        ValueError: if the file is missing.
    """
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise ImportError("Reading the text encoder's weights (model.safetensors) needs the "
                          "safetensors package. Install it with:\n    pip install safetensors"
                          ) from None
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist: the BERT weights must be a model.safetensors "
                         "file beside config.json")
    return load_file(str(path))


def from_pretrained(directory) -> MiniLM:
    """Build a :class:`MiniLM` from a Hugging Face checkpoint directory.

    Args:
        directory: a folder with ``config.json`` (a BERT config) and ``model.safetensors``,
            e.g. :func:`textgan_lib.text.default_model_path`.

    Returns:
        The model with the pretrained weights, ready to call. The checkpoint tensors it did
        not use are listed in ``model.unused_weights``.

    Raises:
        ValueError: for a config this module cannot build (:meth:`BertConfig.from_dict`) or
            missing / mis-shaped weights (:func:`load_bert_weights`).
        ImportError: if ``safetensors`` is not installed.
    """
    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{directory} has no config.json")
    config = BertConfig.from_json(config_path)
    tensors = read_safetensors(directory / "model.safetensors")
    model = build(config)
    model.unused_weights = load_bert_weights(model, tensors,
                                             source=str(directory / "model.safetensors"))
    return model
