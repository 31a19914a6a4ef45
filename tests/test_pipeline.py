"""Tests for textgan_lib.data.pipeline: captions stay with their images after shuffling (C13)."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from textgan_lib.data.emoji import load_emoji
from textgan_lib.data.pipeline import make_pipeline, resize_uint8, to_float

BATCH = 32
N = 256
EMB_DIM = 4


@pytest.fixture(scope="module")
def emoji_train():
    data = load_emoji("train", max_images=N)
    assert len(data) == N
    return data


def _embeddings(n: int) -> np.ndarray:
    """A distinct row per example: row i is (i, -i, i/1000, 7)."""
    i = np.arange(n, dtype=np.float32)
    return np.stack([i, -i, i / 1000.0, np.full(n, 7.0, np.float32)], axis=1)


def _area_32(image: np.ndarray) -> np.ndarray:
    """Hand-made 4x4 block mean of one 128x128 uint8 image, rounded, as float in [-1, 1]."""
    blocks = image.astype(np.float64).reshape(32, 4, 32, 4, 3).mean(axis=(1, 3))
    return (np.round(blocks) / 127.5 - 1.0).astype(np.float32)


def _epoch_orders(ds, captions_index):
    order = []
    for batch in ds:
        order.extend(captions_index[c.decode()] for c in batch["caption"].numpy())
    return order


def test_every_batch_caption_belongs_to_its_image(emoji_train):  # C13
    images, captions = emoji_train.images, emoji_train.captions
    index = {c: i for i, c in enumerate(captions)}
    assert len(index) == N  # captions are distinct, so a caption names its row
    emb = _embeddings(N)
    ds = make_pipeline(images, emb, image_ids=emoji_train.image_ids, captions=captions,
                       batch_size=BATCH, seed=123)
    expected_images = {}
    orders = []
    for _epoch in range(2):
        order = []
        n_batches = 0
        for batch in ds:
            n_batches += 1
            img = batch["image"].numpy()
            assert batch["image"].dtype == tf.float32
            assert img.shape == (BATCH, 32, 32, 3)
            assert img.min() >= -1.0 and img.max() <= 1.0
            assert batch["embedding"].dtype == tf.float32
            assert batch["image_id"].dtype == tf.int64
            for k, cap in enumerate(batch["caption"].numpy()):
                i = index[cap.decode()]
                order.append(i)
                if i not in expected_images:
                    expected_images[i] = _area_32(images[i])
                np.testing.assert_allclose(img[k], expected_images[i], atol=1e-6)
                np.testing.assert_array_equal(batch["embedding"].numpy()[k], emb[i])
                assert int(batch["image_id"].numpy()[k]) == int(emoji_train.image_ids[i])
        assert n_batches == N // BATCH
        assert sorted(order) == list(range(N))  # each example exactly once per epoch
        orders.append(order)
    # shuffling happened, and reshuffles each epoch
    assert orders[0] != list(range(N))
    assert orders[0] != orders[1]

    # same seed, new pipeline: same orders
    ds2 = make_pipeline(images, emb, image_ids=emoji_train.image_ids, captions=captions,
                        batch_size=BATCH, seed=123)
    assert _epoch_orders(ds2, index) == orders[0]
    assert _epoch_orders(ds2, index) == orders[1]


def test_no_shuffle_keeps_order_and_drops_remainder():
    n = 10
    images = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 8, 8, 3), np.uint8)
    ds = make_pipeline(images, _embeddings(n), batch_size=4, image_size=8, shuffle=False)
    batches = list(ds)
    assert len(batches) == 2  # 10 // 4, remainder dropped
    ids = np.concatenate([b["image_id"].numpy() for b in batches])
    np.testing.assert_array_equal(ids, np.arange(8))
    assert "caption" not in batches[0]
    first = batches[0]["image"].numpy()
    np.testing.assert_allclose(first[1], np.full((8, 8, 3), 1 / 127.5 - 1.0, np.float32),
                               atol=1e-7)


def test_resize_uint8_block_means():
    img = np.zeros((1, 4, 4, 3), np.uint8)
    # 2x2 blocks with hand-picked values; block means 10, 2.5 -> 2 (half to even), 100, 255
    img[0, 0:2, 0:2] = np.array([[0, 10], [20, 10]])[..., None]       # mean 10
    img[0, 0:2, 2:4] = np.array([[1, 2], [3, 4]])[..., None]          # mean 2.5
    img[0, 2:4, 0:2] = np.array([[100, 100], [100, 100]])[..., None]  # mean 100
    img[0, 2:4, 2:4] = 255                                            # mean 255
    img[0, :, :, 1] = img[0, :, :, 0] // 2                             # channels differ
    out = resize_uint8(img, 2)
    assert out.dtype == np.uint8 and out.shape == (1, 2, 2, 3)
    expected0 = np.array([[10, np.round(2.5)], [100, 255]], np.uint8)
    np.testing.assert_array_equal(out[0, :, :, 0], expected0)
    np.testing.assert_array_equal(out[0, :, :, 2], expected0)
    # channel 1: blocks [[0,5],[10,5]] -> 5; [[0,1],[1,2]] -> 1; 50; 127
    np.testing.assert_array_equal(out[0, :, :, 1], np.array([[5, 1], [50, 127]], np.uint8))
    # same size: unchanged
    np.testing.assert_array_equal(resize_uint8(img, 4), img)


def test_resize_uint8_rejects_bad_input():
    with pytest.raises(ValueError):
        resize_uint8(np.zeros((1, 6, 6, 3), np.uint8), 4)
    with pytest.raises(ValueError):
        resize_uint8(np.zeros((1, 8, 8, 3), np.float32), 4)
    with pytest.raises(ValueError):
        resize_uint8(np.zeros((8, 8, 3), np.uint8), 4)


def test_to_float_range():
    out = to_float(np.array([0, 255, 127, 128], np.uint8)).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [-1.0, 1.0, 127 / 127.5 - 1, 128 / 127.5 - 1], atol=1e-7)


def test_mismatched_lengths_raise():
    images = np.zeros((8, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="same length"):
        make_pipeline(images, _embeddings(7), batch_size=4, image_size=8)
    with pytest.raises(ValueError, match="same length"):
        make_pipeline(images, _embeddings(8), image_ids=np.arange(9), batch_size=4, image_size=8)
    with pytest.raises(ValueError, match="same length"):
        make_pipeline(images, _embeddings(8), captions=["a"] * 7, batch_size=4, image_size=8)


def test_fewer_examples_than_batch_raises():
    images = np.zeros((8, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError):
        make_pipeline(images, _embeddings(8), batch_size=16, image_size=8)
    # without drop_remainder a short set is fine: one batch of 8
    ds = make_pipeline(images, _embeddings(8), batch_size=16, image_size=8,
                       drop_remainder=False)
    assert [b["image"].shape[0] for b in ds] == [8]
