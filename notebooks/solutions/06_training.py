"""Reference solutions for the exercises of ``06_training``."""
import numpy as np

from textgan_lib import fid


def my_ema(w_ema, w, decay):
    """Exercise 1: one step of the exponential moving average."""
    return decay * w_ema + (1 - decay) * w


def my_frechet_1d(m1, s1, m2, s2):
    """Exercise 2: the Frechet distance of N(m1, s1^2) and N(m2, s2^2)."""
    return (m1 - m2) ** 2 + (s1 - s2) ** 2


def my_fid(a, b):
    """Exercise 3: FID from two feature arrays (N, F) and (M, F)."""
    return fid.frechet_distance(a.mean(0), np.cov(a, rowvar=False),
                                b.mean(0), np.cov(b, rowvar=False))
