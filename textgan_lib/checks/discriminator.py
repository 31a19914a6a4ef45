"""Exercise checkers for ``04_discriminator``.

    from textgan_lib.checks import discriminator as check
    check.projection_logit(my_projection_logit)
    check.wrong_captions(my_wrong_indices)
    check.pair_targets({"real_right": ..., "real_wrong": ..., "fake_right": ...})

Each returns True (and prints "Exercise N: correct ...") or raises
:class:`~textgan_lib.checks.CheckFailed` saying what is wrong.
"""
from __future__ import annotations

import numpy as np

from . import as_array, check_shape, exercise, fail, passed


def _projection_reference(phi, text_code, psi_w, psi_b):
    return phi @ psi_w + psi_b + np.sum(text_code * phi, axis=1, keepdims=True)


@exercise("Exercise 1")
def projection_logit(fn) -> bool:
    """Exercise 1: ``fn(phi, text_code, psi_w, psi_b) -> logit (B, 1)`` of a projection D.

    Args (of ``fn``): ``phi`` (B, C) image features, ``text_code`` (B, C) = V e, ``psi_w``
    (C, 1) and ``psi_b`` (1,) the weights of psi; all float32 NumPy arrays.
    The right answer is ``psi(phi) + <V e, phi>`` per example (Miyato & Koyama, 2018).
    """
    rng = np.random.default_rng(4)
    b, c = 5, 6
    phi = rng.normal(size=(b, c)).astype(np.float32)
    code = rng.normal(size=(b, c)).astype(np.float32)
    w = rng.normal(size=(c, 1)).astype(np.float32)
    bias = np.array([0.3], np.float32)
    got = as_array(fn(phi, code, w, bias), "your logit").astype(np.float64)
    want = _projection_reference(phi, code, w, bias)
    if got.shape == (b,):
        fail(f"your logit has shape {got.shape}; return one logit per example as (B, 1) = "
             f"{(b, 1)} (keepdims=True in the inner product).")
    if got.shape == (b, b):
        fail("your logit is (B, B): the inner product paired every caption with every image "
             "(a matrix product). Take it per example: sum(text_code * phi, axis=1).")
    check_shape(got, (b, 1), "your logit")
    if np.allclose(got, want, atol=1e-4):
        return passed("Exercise 1", f": logits {np.round(got[:, 0], 2).tolist()}")
    psi_only = phi @ w + bias
    inner_only = np.sum(code * phi, axis=1, keepdims=True)
    if np.allclose(got, psi_only, atol=1e-4):
        fail("you returned psi(phi(x)) only: the caption has no effect on the logit. Add the "
             "inner product <V e, phi(x)>.")
    if np.allclose(got, inner_only, atol=1e-4) or np.allclose(got, inner_only + bias, atol=1e-4):
        fail("you left out psi(phi(x)) (the unconditional 'does it look real' term); the logit "
             "is psi(phi) + <V e, phi>.")
    if np.allclose(got, 1 / (1 + np.exp(-want)), atol=1e-4):
        fail("you returned sigmoid(logit), a probability. D returns the logit; the loss applies "
             "the sigmoid itself, stably.")
    if np.allclose(got, want - bias, atol=1e-4):
        fail("you left out psi's bias psi_b.")
    fail(f"logits {np.round(got[:, 0], 3).tolist()} != expected "
         f"{np.round(want[:, 0], 3).tolist()}: logit = phi @ psi_w + psi_b + "
         "sum(text_code * phi, axis=1, keepdims=True).")


@exercise("Exercise 2")
def wrong_captions(fn) -> bool:
    """Exercise 2: ``fn(image_ids) -> indices (B,)`` of a "wrong" caption for every example.

    ``image_ids`` is an int NumPy array (B,); the answer's entry i is the index j of a caption
    in the batch whose image differs from example i's image (``image_ids[j] != image_ids[i]``),
    or -1 when every caption of the batch shows the same image as example i.
    """
    cases = [np.array([0, 1, 2, 3]),
             np.array([0, 0, 1, 2]),            # two captions of image 0, side by side
             np.array([7, 7, 7, 3, 7]),          # rolling by one is not enough here
             np.array([5, 5, 5]),                # no wrong caption exists
             np.array([2, 9, 2, 9, 2, 9, 4, 4])]
    for ids in cases:
        got = as_array(fn(ids.copy()), f"your indices for image_ids={ids.tolist()}")
        check_shape(got, ids.shape, f"your indices for image_ids={ids.tolist()}")
        if not np.issubdtype(got.dtype, np.integer):
            if np.all(np.equal(np.mod(got, 1), 0)):
                got = got.astype(np.int64)
            else:
                fail(f"return integer indices, got {got.dtype} values {got.tolist()}.")
        for i, j in enumerate(got.tolist()):
            others = np.flatnonzero(ids != ids[i])
            if j == -1:
                if others.size:
                    fail(f"image_ids={ids.tolist()}: example {i} got -1, but caption "
                         f"{int(others[0])} (image {ids[others[0]]}) is a wrong caption for it.")
                continue
            if not 0 <= j < len(ids):
                fail(f"image_ids={ids.tolist()}: index {j} for example {i} is outside the batch.")
            if j == i:
                fail(f"image_ids={ids.tolist()}: example {i} got its own caption as the wrong "
                     "one.")
            if ids[j] == ids[i]:
                fail(f"image_ids={ids.tolist()}: example {i} got caption {j}, which belongs to "
                     f"the same image (id {ids[i]}); a data set can hold several captions per "
                     "image, so compare image ids, not positions.")
    return passed("Exercise 2", ": no wrong caption belongs to the same image")


@exercise("Exercise 3")
def pair_targets(targets) -> bool:
    """Exercise 3: the targets of the three matching-aware pair kinds (Reed et al., 2016).

    ``targets`` is a dict with keys ``real_right``, ``real_wrong`` and ``fake_right`` and
    values 0 or 1 (D's target probability of "real and matching").
    """
    keys = ("real_right", "real_wrong", "fake_right")
    if not isinstance(targets, dict):
        fail(f"give a dict with the keys {keys}, got {type(targets).__name__}.")
    missing = [k for k in keys if k not in targets]
    if missing:
        fail(f"missing keys {missing}; give all three of {keys}.")
    values = {k: float(targets[k]) for k in keys}
    if values["real_right"] != 1.0:
        fail("real_right must be 1: a real image with its own caption is exactly what D "
             "should accept.")
    if values["real_wrong"] != 0.0:
        fail("real_wrong must be 0: the image is real but the caption describes another "
             "image. If D accepted it, D would ignore the text, and G would learn to ignore it "
             "too.")
    if values["fake_right"] != 0.0:
        fail("fake_right must be 0: a generated image is rejected even with the right caption.")
    return passed("Exercise 3", ": real/right 1, real/wrong 0, fake/right 0")


__all__ = ["projection_logit", "wrong_captions", "pair_targets"]
