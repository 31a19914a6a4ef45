"""The checkers of 06_training: the reference passes, typical mistakes get their message."""
import numpy as np
import pytest

from textgan_lib.checks import CheckFailed
from textgan_lib.checks import training as check
from textgan_lib.fid import feature_statistics, frechet_distance


def test_ema_update():
    assert check.ema_update(lambda e, w, d: d * e + (1 - d) * w)
    with pytest.raises(CheckFailed, match="swapped"):
        check.ema_update(lambda e, w, d: (1 - d) * e + d * w)
    with pytest.raises(CheckFailed, match="old value"):
        check.ema_update(lambda e, w, d: w)
    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        check.ema_update(lambda e, w, d: 1 / 0)


def test_frechet_1d():
    assert check.frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + (s1 - s2) ** 2)
    with pytest.raises(CheckFailed, match="compared variances"):
        check.frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + (s1 ** 2 - s2 ** 2) ** 2)
    with pytest.raises(CheckFailed, match="factor 2"):
        check.frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 ** 2 + s2 ** 2 - s1 * s2)
    with pytest.raises(CheckFailed, match="squared"):
        check.frechet_1d(lambda m1, s1, m2, s2: abs(m1 - m2) + (s1 - s2) ** 2)


def test_fid_from_features():
    assert check.fid_from_features(
        lambda a, b: frechet_distance(*feature_statistics(a), *feature_statistics(b)))
    with pytest.raises(CheckFailed, match="only the mean term"):
        check.fid_from_features(lambda a, b: np.sum((a.mean(0) - b.mean(0)) ** 2))
    with pytest.raises(CheckFailed, match="cross term"):
        check.fid_from_features(lambda a, b: np.sum((a.mean(0) - b.mean(0)) ** 2)
                                + np.trace(np.cov(a, rowvar=False))
                                + np.trace(np.cov(b, rowvar=False)))
    with pytest.raises(CheckFailed, match="raised"):   # np.cov(a) of 200 and 150 rows
        check.fid_from_features(lambda a, b: frechet_distance(a.mean(0), np.cov(a), b.mean(0),
                                                              np.cov(b)))
