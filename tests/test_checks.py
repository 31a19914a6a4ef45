"""The exercise checkers of notebooks 00-02 pass the reference solutions and explain typical
mistakes (issue 3)."""
from __future__ import annotations

import numpy as np
import pytest

from textgan_lib.checks import CheckFailed
from textgan_lib.checks import generator as check02
from textgan_lib.checks import overview as check00
from textgan_lib.checks import text_embeddings as check01


# --------------------------------------------------------------------------- 00_overview
class _Pairs:  # the parts of EmojiSet the checkers use
    captions = ["grinning face", "panda", "red apple", "face with tears of joy", "rocket"]
    chars = ["\U0001F600", "\U0001F43C", "\U0001F34E", "\U0001F602", "\U0001F680"]

    def __len__(self):
        return len(self.captions)


def test_overview_exercise_1():
    images = np.array([[[[0, 128, 255]]]], dtype=np.uint8)
    assert check00.pixels_to_model_inputs(images.astype(np.float32) / 127.5 - 1, images)
    with pytest.raises(CheckFailed, match="divided by 255"):
        check00.pixels_to_model_inputs(images.astype(np.float32) / 255, images)
    with pytest.raises(CheckFailed, match="float32"):
        check00.pixels_to_model_inputs(images / 127.5 - 1, images)
    with pytest.raises(CheckFailed, match="shape"):
        check00.pixels_to_model_inputs(np.zeros((2, 1, 1, 3), np.float32), images)


def test_overview_exercise_2_and_3(capsys):
    from textgan_lib.data.emoji import split_of

    pairs = _Pairs()
    n_val = sum(split_of(c) == "val" for c in pairs.captions if "face" in c)
    assert check00.faces_in_validation(n_val, pairs)
    with pytest.raises(CheckFailed):
        check00.faces_in_validation(n_val + 7, pairs)
    assert check00.find_pair(1, pairs)
    with pytest.raises(CheckFailed, match="not 'panda'"):
        check00.find_pair(0, pairs)
    with pytest.raises(CheckFailed, match="outside"):
        check00.find_pair(9, pairs)
    assert "Exercise 3: correct" in capsys.readouterr().out


# --------------------------------------------------------------------------- 01_text_embeddings
def _reference_masked_mean(hidden, mask):
    mask = mask[:, :, None].astype(hidden.dtype)
    return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)


@pytest.mark.parametrize("wrong, message", [
    (lambda h, m: h.mean(axis=1), r"\[PAD\] included"),
    (lambda h, m: (h * m[:, :, None]).sum(axis=1) / h.shape[1], "divided by T"),
    (lambda h, m: (h * m[:, :, None]).sum(axis=1), "masked \\*sum\\*"),
    (lambda h, m: h[:, 0], "values differ"),
    (lambda h, m: h.mean(axis=2), "shape"),
    (lambda h, m: 1 / 0, "ZeroDivisionError"),
])
def test_masked_mean_checker(wrong, message):
    assert check01.masked_mean(_reference_masked_mean)
    with pytest.raises(CheckFailed, match=message):
        check01.masked_mean(wrong)


def test_cosine_checker():
    a, b = np.array([3.0, 0.0, 4.0]), np.array([1.0, 2.0, 2.0])
    assert check01.cosine(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), a, b)
    with pytest.raises(CheckFailed, match="plain dot product"):
        check01.cosine(a @ b, a, b)
    with pytest.raises(CheckFailed, match="only one length"):
        check01.cosine(a @ b / np.linalg.norm(a), a, b)


def test_beat_the_search_checker():
    captions = ["automobile", "ambulance", "police car"]

    def search(query, k):  # a fake search: "hospital" ranks the ambulance first
        order = [1, 0, 2] if "hospital" in query else [0, 1, 2]
        return np.array(order[:k]), np.array([0.9, 0.8, 0.7][:k])

    assert check01.beat_the_search("a hospital vehicle", search, captions)
    with pytest.raises(CheckFailed, match="do not use the word"):
        check01.beat_the_search("an Ambulance", search, captions)
    with pytest.raises(CheckFailed, match="top results are automobile"):
        check01.beat_the_search("a fast car", search, captions)


# --------------------------------------------------------------------------- 02_generator
def test_kl_checker():
    reference = lambda mu, ls: 0.5 * (mu ** 2 + np.exp(2 * ls) - 1) - ls  # noqa: E731
    assert check02.kl_divergence(reference)
    with pytest.raises(CheckFailed, match="log sigma term is missing"):
        check02.kl_divergence(lambda mu, ls: 0.5 * (mu ** 2 + np.exp(2 * ls) - 1))
    with pytest.raises(CheckFailed, match="twice"):
        check02.kl_divergence(lambda mu, ls: (mu ** 2 + np.exp(2 * ls) - 1) - 2 * ls)
    with pytest.raises(CheckFailed, match="exp\\(2 \\* log_sigma\\)"):
        check02.kl_divergence(lambda mu, ls: 0.5 * (mu ** 2 + np.exp(ls) - 1) - ls)
    with pytest.raises(CheckFailed, match="shape"):
        check02.kl_divergence(lambda mu, ls: (0.5 * (mu ** 2 + np.exp(2 * ls) - 1) - ls).sum())


def test_projection_weights_checker():
    from textgan_lib.models import build_generator

    g = build_generator(text_dim=8, z_dim=4, image_size=8, base_filters=2, text_features=3)
    # concat: (3 text + 4 noise) inputs x (4 * 4 * 4 channels) outputs, no bias
    assert check02.projection_weights(7 * 64, g)
    with pytest.raises(CheckFailed, match="bias"):
        check02.projection_weights(7 * 64 + 64, g)
    with pytest.raises(CheckFailed, match="gets 7"):
        check02.projection_weights(4 * 64, g)
    with pytest.raises(CheckFailed, match="whole number"):
        check02.projection_weights(448.0, g)


def test_film_checker():
    assert check02.film(lambda x, g, b: x * (1 + g[:, None, None, :]) + b[:, None, None, :])
    with pytest.raises(CheckFailed, match="1 \\+ gamma"):
        check02.film(lambda x, g, b: x * g[:, None, None, :] + b[:, None, None, :])
    with pytest.raises(CheckFailed, match="broadcasting"):
        check02.film(lambda x, g, b: x * (1 + g) + b)
