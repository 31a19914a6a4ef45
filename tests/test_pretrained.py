"""The shipped cascade (data/pretrained) draws what the caption says: README's figures, asserted.

The protocol is bench/recognizability.py's (textgan_lib.recognizability): 400 training and 402
held-out captions, noise seed 42, R@1 among 100 candidates in the emoji feature network.
"""
from __future__ import annotations

import numpy as np
import pytest

from textgan_lib import recognizability as rec
from textgan_lib.cascade import PRETRAINED_DIR, Cascade


@pytest.fixture(scope="module")
def measured():
    from textgan_lib import fid
    from textgan_lib.text import TextEncoder

    encoder = TextEncoder()
    sets = rec.evaluation_sets(encoder)
    network = fid.load_feature_network()
    extractor = fid.feature_extractor(network)
    shipped = Cascade.load(PRETRAINED_DIR, encoder=encoder)
    previous = Cascade.load(PRETRAINED_DIR / "previous", encoder=encoder)
    return {"sets": sets, "cascade": shipped,
            "shipped": rec.score_generator(shipped.generator, sets, network, extractor),
            "previous": rec.score_generator(previous.generator, sets, network, extractor),
            "real": rec.score_real(sets, network, extractor)}


def test_real_images_give_the_ceiling_of_the_instrument(measured):
    real = measured["real"]
    assert real["r1_train"] == pytest.approx(0.868, abs=0.002)
    assert real["r1_val"] == pytest.approx(0.450, abs=0.002)
    assert real["sharpness"] == pytest.approx(0.336, abs=0.001)


def test_shipped_cascade_is_recognisable_sharp_and_better_than_the_previous(measured):
    ours, old, real = measured["shipped"], measured["previous"], measured["real"]
    # measured 0.660 / 0.371, sharpness 0.332, FID 0.36 (bench/results/recognizability.json);
    # issue 14 asks for >= 0.60 / >= 0.20, sharpness >= 80 % of real, FID below the previous
    # cascade's 1.62. The 32-filter cascade shipped before: 0.590 / 0.333 / 0.330 / 0.38.
    assert ours["r1_train"] == pytest.approx(0.660, abs=0.005) and ours["r1_train"] >= 0.60
    assert ours["r1_val"] == pytest.approx(0.371, abs=0.005) and ours["r1_val"] >= 0.20
    assert 0.9 * real["sharpness"] <= ours["sharpness"] <= 1.5 * real["sharpness"]
    assert ours["fid_val"] == pytest.approx(0.36, abs=0.01) and ours["fid_val"] < old["fid_val"]
    assert old["r1_train"] < 0.1                       # the blobs this issue started from


def test_noise_scale_zero_draws_the_caption_not_a_blank(measured):
    cascade = measured["cascade"]
    base, high = cascade.generate(["pizza", "Japan", "red apple"], noise_scale=0.0)
    assert high.shape == (3, 128, 128, 3)
    # a blank white image has std 0 and mean 1 ([-1, 1] units)
    assert base.std(axis=(1, 2, 3)).min() > 0.3      # (a flag of Japan is mostly white: no mean test)
    assert np.abs(base[0] - base[1]).mean() > 0.2          # different captions differ


def test_different_noise_gives_different_images_of_one_caption(measured):
    cascade = measured["cascade"]
    a, _ = cascade.generate(["pizza"], seed=0)
    b, _ = cascade.generate(["pizza"], seed=1)
    assert np.abs(a - b).max() > 0.1
