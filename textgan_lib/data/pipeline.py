"""tf.data input pipelines: images and caption embeddings zipped *before* shuffling.

Taught in ``06_training`` (first used by the walking skeleton's ``textgan train``).

If images and captions were shuffled as two separate datasets and zipped afterwards, every
batch would pair images with other images' captions and the generator could never learn what
the text means. Here each example is one dict ``{"image", "embedding", "image_id"[, "caption"]}``
from the start, so shuffling moves them together.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .. import config


def resize_uint8(images: np.ndarray, size: int) -> np.ndarray:
    """Downsample uint8 RGB images (N, H, W, 3) to (N, size, size, 3) uint8 by area averaging.

    The same block averaging as :func:`textgan_lib.models.superres.downsample` (4x4 block means
    for 128 -> 32), rounded to uint8 once, so that the pipeline does not redo it each epoch.

    Raises:
        ValueError: if ``images`` is not (N, H, W, 3) uint8 or H, W are not multiples of ``size``.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got {images.dtype} {images.shape}.")
    n, h, w, _ = images.shape
    if h % size or w % size:
        raise ValueError(f"cannot area-downsample {h}x{w} to {size}x{size}: not a multiple.")
    if (h, w) == (size, size):
        return images
    fh, fw = h // size, w // size
    blocks = images.reshape(n, size, fh, size, fw, 3).astype(np.float32)
    return np.round(blocks.mean(axis=(2, 4))).astype(np.uint8)


def to_float(images):
    """uint8 [0, 255] -> float32 [-1, 1] (works on NumPy arrays and tensors)."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def make_pipeline(images: np.ndarray, embeddings: np.ndarray, image_ids: np.ndarray | None = None,
                  captions: list[str] | None = None, batch_size: int = 64,
                  image_size: int = config.BASE_SIZE, shuffle: bool = True,
                  seed: int = config.SEED, drop_remainder: bool = True) -> tf.data.Dataset:
    """Build the training dataset of (image, caption embedding) examples.

    Args:
        images: uint8 (N, H, W, 3) RGB images; area-downsampled to ``image_size`` once.
        embeddings: float32 (N, D) caption embeddings, row i describing image i.
        image_ids: int (N,) id of the image each example shows (default ``arange(N)``); two
            examples with the same id show the same image (used to pick "wrong" captions).
        captions: optional N strings, carried along as ``"caption"`` (for checks and display).
        batch_size: examples per batch.
        image_size: side of the images the pipeline yields.
        shuffle: reshuffle every epoch (with ``seed``; deterministic given the seed).
        seed: shuffle seed.
        drop_remainder: drop the last incomplete batch (keeps every step the same shape).

    Returns:
        A ``tf.data.Dataset`` of dicts: ``image`` float32 (B, S, S, 3) in [-1, 1], ``embedding``
        float32 (B, D), ``image_id`` int64 (B,), and ``caption`` tf.string (B,) if given.

    Raises:
        ValueError: if the inputs do not have the same length N, or N < batch_size with
            ``drop_remainder`` (the dataset would be empty).
    """
    images = resize_uint8(images, image_size)
    embeddings = np.asarray(embeddings, dtype=np.float32)
    n = len(images)
    image_ids = np.arange(n) if image_ids is None else np.asarray(image_ids)
    lengths = {"images": n, "embeddings": len(embeddings), "image_ids": len(image_ids)}
    if captions is not None:
        lengths["captions"] = len(captions)
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs must have the same length, got {lengths}.")
    if drop_remainder and n < batch_size:
        raise ValueError(f"{n} examples make no full batch of {batch_size}; lower batch_size.")

    columns = {"image": images, "embedding": embeddings, "image_id": image_ids.astype(np.int64)}
    if captions is not None:
        columns["caption"] = np.asarray(captions, dtype=object).astype(str)
    ds = tf.data.Dataset.from_tensor_slices(columns)          # zipped: one example, one dict
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda ex: {**ex, "image": to_float(ex["image"])},
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


__all__ = ["resize_uint8", "to_float", "make_pipeline"]
