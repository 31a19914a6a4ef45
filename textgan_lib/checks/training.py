"""Checkers for the exercises of ``06_training``."""
from __future__ import annotations

import numpy as np

from . import as_array, check_shape, exercise, fail, passed


def _call(fn, *args):
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001 - the student's function failed
        fail(f"your function raised {type(err).__name__}: {err}")


@exercise("Exercise 1")
def ema_update(fn) -> bool:
    """Exercise 1: ``fn(w_ema, w, decay)`` -> the new EMA weights (NumPy arrays)."""
    w_ema, w = np.array([1.0, 2.0, -1.0]), np.array([3.0, 2.0, 1.0])
    expected = 0.9 * w_ema + 0.1 * w
    out = as_array(_call(fn, w_ema.copy(), w.copy(), 0.9), "your EMA")
    check_shape(out, w.shape, "your EMA")
    if np.allclose(out, expected):
        return passed("Exercise 1", ": w_ema <- 0.9 * w_ema + 0.1 * w = [1.2, 2.0, -0.8]")
    if np.allclose(out, 0.1 * w_ema + 0.9 * w):
        fail("decay and 1 - decay are swapped: decay weighs the *old average*, so with "
             "decay = 0.999 the EMA moves only 0.1 % of the way to the new weights per step.")
    if np.allclose(out, w):
        fail("the average must keep most of its old value (decay * w_ema), not of w.")
    fail(f"expected {expected.tolist()} for w_ema = [1, 2, -1], w = [3, 2, 1], decay 0.9; "
         f"got {np.round(out, 4).tolist()}.")


@exercise("Exercise 2")
def frechet_1d(fn) -> bool:
    """Exercise 2: ``fn(m1, s1, m2, s2)`` -> Fréchet distance of N(m1, s1^2) and N(m2, s2^2)."""
    cases = [(0.0, 1.0, 0.0, 1.0), (0.0, 1.0, 3.0, 1.0), (1.0, 2.0, 1.0, 5.0), (0.5, 1.5, -1.0, 0.5)]
    for m1, s1, m2, s2 in cases:
        out = float(as_array(_call(fn, m1, s1, m2, s2), "your distance"))
        expected = (m1 - m2) ** 2 + (s1 - s2) ** 2
        if np.isclose(out, expected):
            continue
        if np.isclose(out, (m1 - m2) ** 2 + (s1 ** 2 - s2 ** 2) ** 2):
            fail("you compared variances: in 1-D, s1^2 + s2^2 - 2 sqrt(s1^2 s2^2) = "
                 "(s1 - s2)^2 uses the standard deviations.")
        if np.isclose(out, (m1 - m2) ** 2 + s1 ** 2 + s2 ** 2 - s1 * s2):
            fail("the cross term is 2 * sqrt(s1^2 * s2^2) = 2 s1 s2: a factor 2 is missing.")
        if np.isclose(out, abs(m1 - m2) + (s1 - s2) ** 2):
            fail("the mean term is the *squared* distance |m1 - m2|^2.")
        fail(f"for N({m1}, {s1}^2) and N({m2}, {s2}^2) expected {expected:.4f}, got {out:.4f}.")
    return passed("Exercise 2", ": FID in 1-D is (m1 - m2)^2 + (s1 - s2)^2")


@exercise("Exercise 3")
def fid_from_features(fn) -> bool:
    """Exercise 3: ``fn(features_a (N, F), features_b (M, F))`` -> FID (float)."""
    from ..fid import feature_statistics, frechet_distance

    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 4))
    b = rng.normal(size=(150, 4)) @ np.diag([1.0, 2.0, 0.5, 1.0]) + 0.3
    expected = frechet_distance(*feature_statistics(a), *feature_statistics(b))
    out = float(as_array(_call(fn, a.copy(), b.copy()), "your FID"))
    if np.isclose(out, expected, rtol=1e-4):
        return passed("Exercise 3", f": FID = {expected:.4f} for these two feature sets")
    mu_a, mu_b = a.mean(0), b.mean(0)
    if np.isclose(out, np.sum((mu_a - mu_b) ** 2), rtol=1e-4):
        fail("only the mean term: add Tr(S_a + S_b - 2 (S_a S_b)^1/2).")
    trace_only = np.trace(np.cov(a, rowvar=False)) + np.trace(np.cov(b, rowvar=False))
    if np.isclose(out, np.sum((mu_a - mu_b) ** 2) + trace_only, rtol=1e-4):
        fail("the cross term - 2 Tr((S_a S_b)^1/2) is missing.")
    fail(f"expected {expected:.4f}, got {out:.4f}: |mu_a - mu_b|^2 + Tr(S_a) + Tr(S_b) "
         "- 2 Tr((S_a S_b)^1/2), with S the (F, F) feature covariances.")


__all__ = ["ema_update", "frechet_1d", "fid_from_features"]
