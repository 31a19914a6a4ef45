"""The exercise checkers of 08_evaluation pass the reference answers and fail, with a message
that says what is wrong, on typical wrong ones; a blank answer is "not attempted yet"."""
from __future__ import annotations

import numpy as np
import pytest
from _solutions import solution

from textgan_lib import evaluation
from textgan_lib.checks import CheckFailed
from textgan_lib.checks import evaluation as check

ref = solution("08_evaluation")


def test_reference_solutions_pass(capsys):
    assert check.mmd2(ref.my_mmd2) is True
    assert check.mmd2(evaluation.polynomial_mmd2) is True
    assert check.inception_score(ref.my_inception_score) is True
    assert check.paired_interval(ref.my_paired_interval) is True
    out = capsys.readouterr().out
    assert all(f"Exercise {k}: correct" in out for k in (1, 2, 3))


def test_blank_answers_are_not_attempted_yet(capsys):
    def blank(*args):
        ...
    for checker in (check.mmd2, check.inception_score, check.paired_interval):
        assert checker(...) is False
        assert checker(blank) is False
    assert capsys.readouterr().out.count("not attempted yet") == 6


def _biased(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3            # noqa: E731
    return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()


def _no_d(x, y):
    m, n = len(x), len(y)
    kxx, kyy, kxy = ((a @ b.T + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())


@pytest.mark.parametrize("wrong, words", [
    (_biased, "biased estimate"),
    (_no_d, "divide the dot product by d"),
    (lambda x, y: 0.0, "expected"),
    (lambda x, y: 1 / 0, "ZeroDivisionError"),
])
def test_mmd2_wrong_answers_fail_with_a_reason(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check.mmd2(wrong)


def _reverse_kl(p):
    m = p.mean(axis=0)
    return np.exp(np.mean(np.sum(m * (np.log(m) - np.log(p)), axis=1)))


def _nan_on_zeros(p):             # 0 log 0 computed as nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(np.mean(np.sum(p * (np.log(p) - np.log(p.mean(0))), axis=1)))


@pytest.mark.parametrize("wrong, words", [
    (lambda p: np.log(ref.my_inception_score(p)), "is log of the expected"),
    (_reverse_kl, r"KL\(p\(y\) \|\| p\(y\|x\)\)"),
    (_nan_on_zeros, "0 log 0"),
])
def test_inception_score_wrong_answers_fail_with_a_reason(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check.inception_score(wrong)


def _unpaired(a, b, num_resamples=2000, seed=0):
    rng = np.random.default_rng(seed)
    n = len(a)
    d = [a[rng.integers(0, n, n)].mean() - b[rng.integers(0, n, n)].mean()
         for _ in range(num_resamples)]
    return tuple(np.quantile(d, [0.025, 0.975]))


def _one_sd(a, b, num_resamples=2000, seed=0):       # a 68 % interval, not 95 %
    lo, hi = ref.my_paired_interval(a, b, num_resamples, seed)
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    return mid - half / 1.96, mid + half / 1.96


@pytest.mark.parametrize("wrong, words", [
    (_unpaired, "same\\* caption indices"),
    (_one_sd, "wide"),
    (lambda a, b, n, s: (0.0, 0.0), "should contain the observed difference"),
])
def test_paired_interval_wrong_answers_fail_with_a_reason(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check.paired_interval(wrong)
