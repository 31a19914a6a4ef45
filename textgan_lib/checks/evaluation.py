"""Exercise checkers for ``08_evaluation``.

Taught in ``08_evaluation``. Each checker calls the student's function on cases with known
answers and either prints ``Exercise N: correct ...`` (returning True) or raises
:class:`~textgan_lib.checks.CheckFailed` saying what is wrong.

    from textgan_lib.checks import evaluation as check
    check.mmd2(my_mmd2)                        # Exercise 1: KID's unbiased MMD^2
    check.inception_score(my_inception_score)  # Exercise 2: the Inception Score, one split
    check.paired_interval(my_paired_interval)  # Exercise 3: is model A really better than B?
"""
from __future__ import annotations

import numpy as np

from . import as_array, exercise, fail, passed
from . import call as _call
from .. import evaluation as ev


def _scalar(value, what: str) -> float:
    out = as_array(value, what)
    if out.size != 1 or not np.isfinite(out).all():
        fail(f"{what} should be one finite number, got {out!r}.")
    return float(out.reshape(()))


@exercise("Exercise 1")
def mmd2(function) -> bool:
    """Exercise 1: ``function(x, y)`` for features (m, d) and (n, d): the unbiased MMD^2 with
    the kernel ``k(a, b) = (a . b / d + 1) ** 3``. Checked against
    :func:`textgan_lib.evaluation.polynomial_mmd2` on two Gaussian samples of unequal size."""
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(40, 5)), rng.normal(0.5, 1.0, size=(30, 5))
    got = _scalar(_call(function, "your mmd2", x, y), "mmd2(x, y)")
    want = ev.polynomial_mmd2(x, y)
    if np.isclose(got, want, rtol=1e-6):
        return passed("Exercise 1", f": MMD^2 = {got:.4f}, unbiased")
    d = x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    if np.isclose(got, kxx.mean() + kyy.mean() - 2 * kxy.mean(), rtol=1e-6):
        fail("You computed the biased estimate: the means of K_xx and K_yy include their "
             "diagonals k(x_i, x_i). Leave the diagonal out and divide by m (m - 1) and "
             "n (n - 1); the cross term K_xy keeps all m n pairs.")
    kxx1, kyy1, kxy1 = ((a @ b.T + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    if np.isclose(got, (kxx1.sum() - np.trace(kxx1)) / (m * (m - 1)) + (kyy1.sum()
                  - np.trace(kyy1)) / (n * (n - 1)) - 2 * kxy1.mean(), rtol=1e-6):
        fail("The kernel is (a . b / d + 1) ** 3 with d the feature size: divide the dot "
             "product by d before adding 1.")
    fail(f"mmd2(x, y) = {got:.6g}, expected {want:.6g}: off-diagonal mean of K_xx + "
         "off-diagonal mean of K_yy - 2 x mean of K_xy, with k(a, b) = (a . b / d + 1) ** 3.")


@exercise("Exercise 2")
def inception_score(function) -> bool:
    """Exercise 2: ``function(p)`` for class probabilities (N, K): ``exp(mean_x KL(p(y|x) ||
    p(y)))`` with ``p(y)`` the mean of the rows (one split). Checked on uniform predictions (1),
    confident and balanced ones (K), and random ones (against the library)."""
    uniform = np.full((60, 6), 1 / 6)
    confident = np.eye(6)[np.arange(60) % 6]
    p = np.random.default_rng(9).dirichlet(np.full(6, 0.3), size=60)
    want = ev.inception_score(p, splits=1)["is"]
    got = _scalar(_call(function, "your inception_score", p), "inception_score(p)")
    if np.isclose(got, np.log(want), rtol=1e-5):
        fail(f"inception_score(p) = {got:.4f} is log of the expected {want:.4f}: the score is "
             "exp of the mean KL divergence.")
    marginal = p.mean(axis=0)
    reverse = np.exp(np.mean(np.sum(marginal * (np.log(marginal) - np.log(p)), axis=1)))
    if np.isclose(got, reverse, rtol=1e-5):
        fail("You computed KL(p(y) || p(y|x)); the score uses KL(p(y|x) || p(y)) = "
             "sum_y p(y|x) (log p(y|x) - log p(y)).")
    if not np.isclose(got, want, rtol=1e-5):
        fail(f"inception_score(p) = {got:.4f}, expected {want:.4f}: exp(mean over images of "
             "sum_y p(y|x) (log p(y|x) - log p(y))), p(y) = the mean of the rows.")
    for probs, expected, what in ((uniform, 1.0, "uniform predictions"),
                                  (confident, 6.0, "confident, balanced predictions of 6 classes")):
        raw = as_array(_call(function, "your inception_score", probs), what)
        if raw.size == 1 and not np.isfinite(raw).all():
            fail(f"For {what} the score is {float(raw.reshape(())):g}: terms with p(y|x) = 0 "
                 "must contribute 0 (0 log 0 = 0); skip them instead of computing log 0.")
        got = _scalar(raw, what)
        if not np.isclose(got, expected, rtol=1e-5):
            fail(f"For {what} the score must be {expected:g}, got {got:.4f}. Terms with "
                 "p(y|x) = 0 contribute 0 (0 log 0 = 0): skip them instead of computing log 0.")
    return passed("Exercise 2", ": 1 for uniform, K for confident and balanced predictions")


@exercise("Exercise 3")
def paired_interval(function) -> bool:
    """Exercise 3: ``function(hits_a, hits_b, num_resamples, seed)``: the 95 % percentile
    bootstrap interval ``(low, high)`` of mean(hits_a) - mean(hits_b), where the two arrays
    score two models on the *same* captions, so each resample draws one set of caption
    indices for both. Checked on identical models (the interval is exactly (0, 0)) and on two
    models with a known difference (against a paired bootstrap of the library)."""
    rng = np.random.default_rng(10)
    a = (rng.random(400) < 0.40).astype(float)
    same = _call(function, "your paired_interval", a, a.copy(), 1000, 0)
    same = as_array(same, "paired_interval(a, a)").astype(float).ravel()
    if same.shape != (2,):
        fail(f"paired_interval should return (low, high), got shape {same.shape}.")
    if not np.allclose(same, 0.0):
        fail(f"Two identical models gave the interval ({same[0]:.3f}, {same[1]:.3f}), not "
             "(0, 0): resample the *same* caption indices for both models (one "
             "rng.integers(0, n, n) per resample, applied to hits_a and hits_b), then take the "
             "mean of the difference.")
    b = np.where(rng.random(400) < 0.8, a, 1 - a)          # B agrees with A on ~80 % of captions
    b[:20] = 0.0
    got = as_array(_call(function, "your paired_interval", a, b, 2000, 0),
                   "paired_interval(a, b)").astype(float).ravel()
    want = ev.bootstrap_mean_interval(a - b, num_resamples=2000, seed=0)
    diff = a.mean() - b.mean()
    if got.shape != (2,) or not got[0] <= diff <= got[1]:
        fail(f"The interval {tuple(np.round(got, 3))} should contain the observed difference "
             f"{diff:.3f} and be (low, high).")
    if abs((got[1] - got[0]) - (want[1] - want[0])) > 0.25 * (want[1] - want[0]):
        fail(f"The interval ({got[0]:.3f}, {got[1]:.3f}) is {got[1] - got[0]:.3f} wide, a paired "
             f"bootstrap gives about {want[1] - want[0]:.3f}: the 2.5 % and 97.5 % quantiles of "
             "the resampled mean differences.")
    return passed("Exercise 3", f": the difference {diff:+.3f} lies in "
                                f"[{got[0]:+.3f}, {got[1]:+.3f}]")
