"""Can a caption be recovered from its image? R-precision, sharpness and FID of a generator.

Taught in ``06_training``; ``bench/recognizability.py`` prints the table of README.md.

The protocol (R-precision of AttnGAN, Xu et al. 2018, with the course's offline image encoder):

* **Evaluation sets.** ``train``: 400 training captions (a fixed random sample, seed 1);
  ``val``: the 402 held-out captions the model never trained on.
* **Images.** One 32 px image per caption, noise ``z = default_rng(42).standard_normal``.
* **Image encoder.** The emoji feature network ``data/pretrained/emoji_features.keras``
  (:mod:`textgan_lib.fid`) predicts a caption embedding from an image. It is a measuring
  instrument: nothing trains through it, nothing is tuned on it, no checkpoint is chosen by it.
* **R@1.** The true caption is ranked among 100 candidates (itself + 99 captions of the same
  set, a fixed draw) by cosine similarity (:func:`textgan_lib.metrics.r_precision`). Chance is
  0.01; real images score about 0.87 (train) and 0.45 (held out), the ceiling of this encoder.
* **Sharpness** (:func:`textgan_lib.metrics.sharpness`) on the ``train`` set, so that a
  blurred average image cannot pass, and **FID** (held out, n = 402) in the same network's
  features.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import config

TRAIN_SAMPLE = 400
TRAIN_SAMPLE_SEED = 1
NOISE_SEED = 42
CANDIDATES = 100
CANDIDATE_SEED = 0


@dataclass
class EvalSet:
    """Captions, their embeddings (N, D) and real 32 px images uint8 (N, 32, 32, 3)."""

    name: str
    captions: list
    embeddings: np.ndarray
    images: np.ndarray


def evaluation_sets(encoder=None, train=None, val=None) -> dict[str, EvalSet]:
    """The two evaluation sets, ``{"train": 400 training captions, "val": 402 held out}``.

    Args:
        encoder: a :class:`~textgan_lib.text.TextEncoder` (default: the offline MiniLM).
        train, val: already loaded :class:`~textgan_lib.data.emoji.EmojiSet` splits (optional).
    """
    from .data.emoji import load_emoji
    from .data.pipeline import resize_uint8

    if encoder is None:
        from .text import TextEncoder

        encoder = TextEncoder()
    train = load_emoji("train") if train is None else train
    val = load_emoji("val") if val is None else val
    pick = np.sort(np.random.default_rng(TRAIN_SAMPLE_SEED).choice(
        len(train), TRAIN_SAMPLE, replace=False))
    sets = {}
    for name, data, rows in (("train", train, pick), ("val", val, np.arange(len(val)))):
        captions = [data.captions[i] for i in rows]
        sets[name] = EvalSet(name, captions, encoder.encode(captions),
                             resize_uint8(data.images[rows], config.BASE_SIZE))
    return sets


def noise(n: int, z_dim: int = config.Z_DIM, seed: int = NOISE_SEED,
          scale: float = 1.0) -> np.ndarray:
    """The evaluation's noise: ``scale * default_rng(seed).standard_normal((n, z_dim))``,
    float32 (the same draw as :meth:`textgan_lib.cascade.Cascade.generate`)."""
    z = np.random.default_rng(seed).standard_normal((n, z_dim)) * scale
    return z.astype(np.float32)


def generate(generator, embeddings, seed: int = NOISE_SEED, noise_scale: float = 1.0):
    """One 32 px image per embedding from ``generator`` (float32 in [-1, 1])."""
    z = noise(len(embeddings), int(generator.inputs[1].shape[-1]), seed, noise_scale)
    return np.asarray(generator.predict([np.asarray(embeddings, np.float32), z],
                                        batch_size=256, verbose=0))


def _as_float(images) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 127.5 - 1.0
    return np.clip(images.astype(np.float32), -1.0, 1.0)


def score_images(images: dict, sets: dict, network=None, extractor=None) -> dict:
    """R@1 (train, val), sharpness (train) and FID (val) of images drawn for the two sets.

    Args:
        images: ``{"train": (400, 32, 32, 3), "val": (402, 32, 32, 3)}``, uint8 or [-1, 1].
        sets: :func:`evaluation_sets`.
        network: the feature network (default: the shipped one).
        extractor: its feature sub-model (default: made from ``network``).

    Returns:
        ``{"r1_train", "r1_val", "sharpness", "fid_val", "n_train", "n_val"}``.
    """
    from . import fid
    from .metrics import r_precision, sharpness

    network = fid.load_feature_network() if network is None else network
    extractor = fid.feature_extractor(network) if extractor is None else extractor
    out = {}
    for name in ("train", "val"):
        x = _as_float(images[name])
        predicted = np.asarray(network.predict(x, batch_size=256, verbose=0))
        out[f"r1_{name}"] = r_precision(predicted, sets[name].embeddings, CANDIDATES,
                                        CANDIDATE_SEED)
        out[f"n_{name}"] = int(len(x))
    out["sharpness"] = sharpness(_as_float(images["train"]))
    out["fid_val"] = fid.fid(sets["val"].images, _as_float(images["val"]), extractor)
    return out


def score_generator(generator, sets: dict, network=None, extractor=None,
                    noise_scale: float = 1.0) -> dict:
    """:func:`score_images` of ``generator``'s images (noise seed 42) for both sets."""
    images = {name: generate(generator, s.embeddings, noise_scale=noise_scale)
              for name, s in sets.items()}
    return score_images(images, sets, network, extractor)


def noise_report(generator, sets: dict, num_captions: int = 64, num_noise: int = 8) -> dict:
    """Does the noise still matter? The first ``num_captions`` training captions x
    ``num_noise`` noise vectors (seeds 0, 1, ...):

    Returns:
        ``{"caption_variance_share"}``: the share of the pixel variance explained by the caption
        (:func:`textgan_lib.alignment.caption_variance_share`; 1 would mean the noise changes
        nothing), and ``"noise_spread"``: the standard deviation across the noise vectors,
        averaged over pixels and captions ([-1, 1] units; 0: the noise changes nothing).
    """
    from .alignment import caption_noise_grid, caption_variance_share

    z_dim = int(generator.inputs[1].shape[-1])
    z = np.concatenate([noise(1, z_dim, seed=s) for s in range(num_noise)])
    grid = caption_noise_grid(generator, sets["train"].embeddings[:num_captions], z)
    return {"caption_variance_share": caption_variance_share(grid),
            "noise_spread": float(grid.std(axis=1).mean())}


def score_real(sets: dict, network=None, extractor=None) -> dict:
    """The ceiling: :func:`score_images` of the real images (FID: real train vs real val is
    in ``bench/fid.py``; here it is the val set against itself, 0)."""
    return score_images({name: s.images for name, s in sets.items()}, sets, network, extractor)


__all__ = ["evaluation_sets", "score_images", "score_generator", "score_real", "generate",
           "noise_report",
           "noise", "EvalSet", "TRAIN_SAMPLE", "NOISE_SEED"]
