"""Tests for textgan_lib.matching: AttnGAN's DAMSM sentence loss and its use in G's loss."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from textgan_lib import matching
from textgan_lib.training import TextGAN

from test_training import LN2, SIZE, TEXT_DIM, Z_DIM, _dataset, _nets, _zero_logit_head


def _reference(image_codes, text_codes, ids, gamma=10.0):
    """The loss written out with NumPy loops: both directions' cross-entropy, same-id masks."""
    i = image_codes / np.linalg.norm(image_codes, axis=1, keepdims=True)
    t = text_codes / np.linalg.norm(text_codes, axis=1, keepdims=True)
    s = gamma * i @ t.T
    b = len(s)
    total = 0.0
    for scores in (s, s.T):
        for r in range(b):
            keep = [c for c in range(b) if c == r or ids[c] != ids[r]]
            row = scores[r, keep]
            total += -(scores[r, r] - np.log(np.exp(row).sum()))
    return total / (2 * b)


def test_uninformative_codes_give_log_batch_size():
    codes = np.ones((8, 5), np.float32)
    assert float(matching.sentence_matching_loss(codes, codes)) == pytest.approx(math.log(8),
                                                                                 rel=1e-6)


def test_matches_the_written_out_loss_with_and_without_masks():
    rng = np.random.default_rng(0)
    img, txt = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    ids = np.array([0, 1, 1, 2, 3, 3])
    got = float(matching.sentence_matching_loss(img.astype(np.float32), txt.astype(np.float32),
                                                ids))
    assert got == pytest.approx(_reference(img, txt, ids), rel=1e-5)
    plain = float(matching.sentence_matching_loss(img.astype(np.float32),
                                                  txt.astype(np.float32)))
    assert plain == pytest.approx(_reference(img, txt, np.arange(6)), rel=1e-5)
    assert got < plain      # masking removes competitors, so the loss can only fall


def test_orthogonal_matching_codes_approach_zero():
    codes = np.eye(4, dtype=np.float32)          # cos 1 on the diagonal, 0 elsewhere
    expected = -math.log(math.exp(10) / (math.exp(10) + 3))
    assert float(matching.sentence_matching_loss(codes, codes)) == pytest.approx(expected, abs=1e-6)


def test_encoders_train_and_retrieve_their_own_pairs():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)
    embeddings = rng.normal(size=(64, 16)).astype(np.float32)
    image_enc, text_enc, history = matching.train_matching_encoder(
        images, embeddings, np.arange(64), epochs=3, batch_size=16, code_dim=8, verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < loss[0] and not image_enc.trainable and not text_enc.trainable
    assert image_enc.output.shape[-1] == text_enc.output.shape[-1] == 8


def test_save_and_load_encoders(tmp_path):
    assert matching.load_encoders(tmp_path) is None
    image_enc, text_enc = matching.build_image_encoder(32, 8), matching.build_text_encoder(16, 8)
    matching.save_encoders(tmp_path, image_enc, text_enc)
    loaded = matching.load_encoders(tmp_path)
    x = np.zeros((2, 32, 32, 3), np.float32)
    np.testing.assert_allclose(loaded[0].predict(x, verbose=0), image_enc.predict(x, verbose=0))
    assert not loaded[0].trainable and not loaded[1].trainable


def test_g_loss_adds_lambda_times_the_matching_loss_and_the_encoders_stay_frozen():
    g, d = _nets()
    image_enc = matching.build_image_encoder(SIZE, 4, filters=(4, 4))
    text_enc = matching.build_text_encoder(TEXT_DIM, 4)
    code = image_enc.get_layer("code")
    code.set_weights([np.zeros_like(w) for w in code.get_weights()])   # all image codes equal
    frozen = [np.array(w) for w in image_enc.weights + text_enc.weights]
    gan = TextGAN(g, d, z_dim=Z_DIM, seed=1, matching_weight=2.0,
                  matching_encoders=(image_enc, text_enc))
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.Adam(1e-3),
                run_eagerly=True)
    _zero_logit_head(gan)
    history = gan.fit(_dataset(), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    # equal image codes: every caption is equally likely -> log(batch of 4)
    assert history["g_match"][0] == pytest.approx(math.log(4), abs=1e-5)
    assert history["g_loss"][0] == pytest.approx(LN2 + 2.0 * math.log(4), abs=1e-4)
    for before, w in zip(frozen, image_enc.weights + text_enc.weights):
        np.testing.assert_array_equal(before, np.array(w))
    with pytest.raises(ValueError, match="matching_encoders"):
        TextGAN(*_nets(), z_dim=Z_DIM, matching_weight=1.0)
    with pytest.raises(ValueError, match="matching_weight"):
        TextGAN(*_nets(), z_dim=Z_DIM, matching_weight=-1.0)
