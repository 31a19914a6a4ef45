"""Exercise checkers for ``07_cascade_demo``.

Taught in ``07_cascade_demo``. Each checker calls the student's function on cases with known
answers and either prints ``Exercise N: correct ...`` (returning True) or raises
:class:`~textgan_lib.checks.CheckFailed` saying what is wrong.

    from textgan_lib.checks import cascade_demo as check
    check.slerp(my_slerp)                  # Exercise 1: spherical interpolation of z
    check.truncate(my_truncate)            # Exercise 2: BigGAN's truncation trick
    check.noise_augment(my_noise_augment)  # Exercise 3: Imagen's noise conditioning augmentation
"""
from __future__ import annotations

import math

import numpy as np

from . import as_array, check_shape, exercise, fail, passed
from . import call as _call


def _reference_slerp(a, b, t):
    omega = math.acos(float(np.clip(np.dot(a / np.linalg.norm(a), b / np.linalg.norm(b)),
                                    -1, 1)))
    return (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)


@exercise("Exercise 1")
def slerp(function) -> bool:
    """Exercise 1: ``function(a, b, t)`` for two NumPy vectors ``(D,)`` and ``t`` in [0, 1]:
    ``sin((1-t) W)/sin W * a + sin(t W)/sin W * b``, ``W`` the angle between ``a`` and ``b``;
    linear interpolation for parallel vectors (``sin W = 0``).

    Checked on two Gaussian noise vectors of length 128 (the ends, the middle, t = 0.3), on two
    vectors much longer than 1 (the angle needs normalised vectors), and on parallel vectors.
    """
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(128), rng.standard_normal(128)
    for t in (0.0, 1.0, 0.5, 0.3):
        out = as_array(_call(function, "your slerp", a.copy(), b.copy(), t), f"slerp(a, b, {t})")
        check_shape(out, a.shape, f"slerp(a, b, {t})")
        expected = _reference_slerp(a, b, t)
        if np.allclose(out, expected, atol=1e-4):
            continue
        if not np.all(np.isfinite(out)):
            fail(f"slerp(a, b, {t}) contains NaN or inf. The angle is arccos of the dot product "
                 "of the *normalised* vectors (a / |a|) . (b / |b|); for Gaussian vectors of "
                 "length 128 the raw dot product is far outside [-1, 1].")
        if t in (0.0, 1.0) and np.allclose(out, b if t == 0.0 else a, atol=1e-4):
            fail(f"slerp(a, b, {t}) returns {'b' if t == 0.0 else 'a'}: t = 0 must give a and "
                 "t = 1 must give b (the weight of a is sin((1 - t) W) / sin W).")
        if np.allclose(out, (1 - t) * a + t * b, atol=1e-4):
            ratio = np.linalg.norm(out) / np.linalg.norm(expected)
            fail(f"slerp(a, b, {t}) is the linear interpolation (1 - t) a + t b: its length is "
                 f"{ratio:.2f} times slerp's. The middle of two independent noise vectors is "
                 "too short, a z the generator hardly ever saw in training. Use the sin weights.")
        fail(f"slerp(a, b, {t}) differs from sin((1-t) W)/sin W * a + sin(t W)/sin W * b "
             f"(largest difference {np.max(np.abs(out - expected)):.3g}); W = arccos of the dot "
             "product of the normalised vectors, in radians.")
    long_a, long_b = 10 * a, 10 * (0.6 * a / np.linalg.norm(a) * np.linalg.norm(b) + 0.8 * b)
    out = as_array(_call(function, "your slerp", long_a, long_b, 0.5), "slerp of long vectors")
    if not np.all(np.isfinite(out)) or not np.allclose(out, _reference_slerp(long_a, long_b, 0.5),
                                                        rtol=1e-4, atol=1e-3):
        fail("slerp of two vectors of length ~110 is wrong (or NaN), although it is right for "
             "shorter ones: normalise a and b before taking arccos of their dot product "
             "(and clip it to [-1, 1] against rounding).")
    out = as_array(_call(function, "your slerp on parallel vectors", a, 2 * a, 0.5),
                   "slerp(a, 2a, 0.5)")
    if not np.all(np.isfinite(out)) or not np.allclose(out, 1.5 * a, atol=1e-4):
        fail("slerp(a, 2a, 0.5) should be 1.5a: for parallel vectors sin W = 0, so fall back to "
             "linear interpolation (e.g. when sin W < 1e-6) instead of dividing by zero.")
    return passed("Exercise 1", ": slerp keeps the noise vector's length along the path")


@exercise("Exercise 2")
def truncate(function) -> bool:
    """Exercise 2: ``function(z, threshold, rng) -> z'``, BigGAN's truncation trick: every entry
    of ``z`` with ``|z| > threshold`` is redrawn from N(0, 1) with ``rng`` until it lies inside;
    entries already inside are kept; ``z`` itself is not changed.

    Checked on a (64, 128) standard normal batch with thresholds 0.5 and 2.0.
    """
    z0 = np.random.default_rng(3).standard_normal((64, 128)).astype(np.float32)
    for threshold in (0.5, 2.0):
        z = z0.copy()
        out = as_array(_call(function, "your truncate", z, threshold,
                             np.random.default_rng(11)), f"truncate(z, {threshold}, rng)")
        check_shape(out, z0.shape, f"truncate(z, {threshold}, rng)")
        if not np.array_equal(z, z0):
            fail("your function changed the z it was given (in place); work on a copy "
                 "(z = np.array(z, copy=True)), the caller may still need the original.")
        inside = np.abs(z0) <= threshold
        outside = ~inside
        if np.allclose(out, z0 * (out.flat[0] / z0.flat[0]), atol=1e-5) and \
                not np.allclose(out, z0):
            fail("you scaled the whole z by a constant. That is the simpler truncation by "
                 "scaling (the demo's noise scale); BigGAN's trick keeps every entry inside "
                 "the threshold and redraws only those outside.")
        if not np.allclose(out[inside], z0[inside]):
            fail(f"entries with |z| <= {threshold} changed: only the entries outside the "
                 "threshold are redrawn; the others stay exactly as they were.")
        at_edge = np.mean(np.isclose(np.abs(out[outside]), threshold))
        if at_edge > 0.5:
            fail(f"{at_edge:.0%} of the entries outside the threshold are now exactly "
                 f"+-{threshold}: you clipped them. Clipping piles probability up at the edge; "
                 "BigGAN redraws them from N(0, 1) instead.")
        if np.any(np.abs(out) > threshold + 1e-6):
            n = int(np.sum(np.abs(out) > threshold + 1e-6))
            fail(f"{n} entries are still outside +-{threshold} after truncation: one redraw is "
                 "not enough (a new N(0, 1) draw lands outside again with probability "
                 f"{math.erfc(threshold / math.sqrt(2)):.0%}); redraw in a loop until none is "
                 "left outside.")
        if np.array_equal(out[outside], z0[outside]):
            fail("entries outside the threshold were not redrawn.")
        spread = float(np.std(out[outside]))
        expected = _truncated_normal_std(threshold)
        if threshold == 2.0 and abs(spread - expected) > 0.1:
            fail(f"the redrawn entries have standard deviation {spread:.3f}, but draws of N(0, 1) "
                 f"kept only inside +-{threshold} have {expected:.3f}: redraw from the standard "
                 "normal (rng.standard_normal), not from another distribution.")
    return passed("Exercise 2", ": entries beyond the threshold redrawn, the rest kept")


def _truncated_normal_std(c: float) -> float:
    """Standard deviation of N(0, 1) restricted to [-c, c]."""
    phi = math.exp(-c * c / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(c / math.sqrt(2))
    return math.sqrt(1 - 2 * c * phi / mass)


@exercise("Exercise 3")
def noise_augment(function) -> bool:
    """Exercise 3: ``function(low, level, eps) -> noisy``, Imagen's noise conditioning
    augmentation: ``cos(pi/2 * level) * low + sin(pi/2 * level) * eps``, the forward diffusion
    process with a cosine schedule (alpha^2 + sigma^2 = 1, so the variance is kept).

    ``low`` and ``eps`` are (B, H, W, 3); ``level`` is a number in [0, 1] or one per image,
    shape (B,). Checked at levels 0, 1, 0.5 and with a (B,) vector of levels.
    """
    rng = np.random.default_rng(5)
    low = np.tanh(rng.standard_normal((4, 8, 8, 3))).astype(np.float32)
    eps = rng.standard_normal((4, 8, 8, 3)).astype(np.float32)

    def reference(level):
        level = np.reshape(np.asarray(level, np.float32), (-1, 1, 1, 1))
        return np.cos(np.pi / 2 * level) * low + np.sin(np.pi / 2 * level) * eps

    for level in (0.0, 1.0, 0.5, 0.3):
        out = as_array(_call(function, "your noise_augment", low.copy(), level, eps.copy()),
                       f"noise_augment(low, {level}, eps)")
        check_shape(out, low.shape, f"noise_augment(low, {level}, eps)")
        if np.allclose(out, reference(level), atol=1e-5):
            continue
        if level == 0.0 and np.allclose(out, eps, atol=1e-5):
            fail("at level 0 you return pure noise: level 0 must leave the image unchanged "
                 "(the signal's weight is cos(pi/2 * level), the noise's sin(pi/2 * level)).")
        if level == 0.0:
            fail("at level 0 the image must come back unchanged (no noise at all).")
        if level == 1.0 and np.allclose(out, low + eps, atol=1e-5):
            fail("at level 1 you return low + eps: the image must also be scaled down, to "
                 "cos(pi/2) = 0, so that the highest level is pure noise. Adding noise without "
                 "shrinking the signal makes the variance grow with the level.")
        if level == 1.0:
            fail("at level 1 the result must be pure noise, exactly eps.")
        if np.allclose(out, (1 - level) * low + level * eps, atol=1e-5):
            fail(f"at level {level} you mix (1 - level) * low + level * eps. Those weights' "
                 f"squares add up to {(1 - level) ** 2 + level ** 2:.2f}, not 1: the variance "
                 "drops in the middle. Use cos(pi/2 * level) and sin(pi/2 * level).")
        if np.allclose(out, np.sqrt(1 - level) * low + np.sqrt(level) * eps, atol=1e-5):
            fail(f"at level {level} you used sqrt(1 - level) and sqrt(level): variance-"
                 "preserving, but a linear schedule for alpha-bar. This exercise uses the "
                 "cosine schedule, cos(pi/2 * level) and sin(pi/2 * level).")
        if np.allclose(out, low + level * eps, atol=1e-5):
            fail(f"at level {level} you return low + level * eps: shrink the signal too, "
                 "cos(pi/2 * level) * low, so that signal^2 + noise^2 weights add up to 1.")
        fail(f"noise_augment(low, {level}, eps) differs from cos(pi/2 * level) * low + "
             f"sin(pi/2 * level) * eps (largest difference "
             f"{np.max(np.abs(out - reference(level))):.3g}).")
    levels = np.array([0.0, 0.25, 0.5, 1.0], np.float32)
    try:
        out = function(low.copy(), levels, eps.copy())
    except Exception as err:  # noqa: BLE001 - a broadcasting error is the typical mistake
        fail(f"with one level per image (shape (B,)) your noise_augment raised "
             f"{type(err).__name__}: {err}. Reshape the levels to (B, 1, 1, 1) so that they "
             "broadcast over height, width and channels.")
    out = as_array(out, "noise_augment with levels (4,)")
    check_shape(out, low.shape, "noise_augment with one level per image")
    if not np.allclose(out, reference(levels), atol=1e-5):
        fail("with one level per image (shape (B,)) the result is wrong: reshape the levels to "
             "(B, 1, 1, 1) so that each image gets its own level (Imagen draws one per "
             "training example).")
    return passed("Exercise 3", ": variance-preserving, level 0 = image, level 1 = noise")


__all__ = ["slerp", "truncate", "noise_augment"]
