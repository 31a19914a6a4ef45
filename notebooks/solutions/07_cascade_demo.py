"""Reference solutions for the exercises of ``07_cascade_demo``."""
import numpy as np


def my_slerp(a, b, t):
    """Exercise 1: spherical interpolation; the straight line for parallel vectors."""
    cos = np.dot(a / np.linalg.norm(a), b / np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def my_truncate(z, threshold, rng):
    """Exercise 2: redraw every entry with |z| > threshold until it lies inside; copy z."""
    z = np.array(z, copy=True)
    outside = np.abs(z) > threshold
    while outside.any():
        z[outside] = rng.standard_normal(outside.sum())
        outside = np.abs(z) > threshold
    return z


def my_noise_augment(low, level, eps):
    """Exercise 3: cos(pi/2 level) low + sin(pi/2 level) eps, one level per image."""
    level = np.reshape(np.asarray(level, np.float32), (-1, 1, 1, 1))
    return np.cos(np.pi / 2 * level) * low + np.sin(np.pi / 2 * level) * eps
