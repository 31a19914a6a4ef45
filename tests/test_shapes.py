"""Captioned shapes and the analytic attribute scorer (textgan_lib.data.shapes)."""
from __future__ import annotations

import numpy as np
import pytest

from textgan_lib.data import shapes as S
from textgan_lib.data.pipeline import resize_uint8


@pytest.fixture(scope="module")
def real128():
    return S.make_shapes(600, image_size=128, seed=11)


def test_captions_and_split():
    captions = S.all_captions()
    assert len(captions) == 180 == len(set(captions))
    assert captions[0] == "a small red circle in the top left"
    val = [c for c in captions if S.split_of(c) == "val"]
    assert len(val) == 22  # about 15 % of 180, fixed by the hash
    s = S.make_shapes(200, image_size=32, split="val", seed=0)
    assert set(s.captions) <= set(val)


def test_images_and_attributes_agree(real128):
    s = real128
    assert s.images.shape == (600, 128, 128, 3) and s.images.dtype == np.uint8
    assert np.all(s.images[:, 0, 0] == 255)   # white background in the corner
    for i in range(20):
        a = {k: v[i] for k, v in s.attributes.items()}
        expected = S.caption_of(list(S.COLOURS)[a["colour"]], S.SHAPES[a["shape"]],
                                S.SIZES[a["size"]], list(S.POSITIONS)[a["position"]])
        assert s.captions[i] == expected
        assert S.all_captions()[s.image_ids[i]] == expected  # ids = caption index


def test_same_seed_same_images():
    a, b = S.make_shapes(5, 32, seed=3), S.make_shapes(5, 32, seed=3)
    assert np.array_equal(a.images, b.images) and a.captions == b.captions


@pytest.mark.parametrize("size", [128, 32])
def test_scorer_reads_real_images_exactly(real128, size):
    images = resize_uint8(real128.images, size)
    acc = S.attribute_accuracy(images, real128.attributes)
    assert acc == {"colour": 1.0, "shape": 1.0, "size": 1.0, "position": 1.0, "all": 1.0}
    # float input in [-1, 1] scores the same
    acc_float = S.attribute_accuracy(images.astype(np.float32) / 127.5 - 1, real128.attributes)
    assert acc_float["all"] == 1.0


def test_scorer_on_blank_and_wrong_images(real128):
    blank = np.full((2, 32, 32, 3), 255, np.uint8)
    scored = S.score_attributes(blank)
    assert not scored["drawn"].any() and (scored["colour"] == -1).all()
    attrs = {k: v[:2] for k, v in real128.attributes.items()}
    assert S.attribute_accuracy(blank, attrs)["all"] == 0.0
    # the images of other captions: the colour score drops to about chance
    shuffled = resize_uint8(real128.images[::-1], 32)
    assert S.attribute_accuracy(shuffled, real128.attributes)["colour"] < 0.4


def test_bad_input():
    with pytest.raises(ValueError, match="split"):
        S.make_shapes(4, split="test")
    with pytest.raises(ValueError, match="n >= 1"):
        S.make_shapes(0)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        S.score_attributes(np.zeros((32, 32, 3)))
    with pytest.raises(ValueError, match="NaN"):
        S.score_attributes(np.full((1, 32, 32, 3), np.nan, np.float32))
