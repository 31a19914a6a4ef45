"""Checkers for the exercises of ``01_text_embeddings``."""
from __future__ import annotations

import numpy as np

from . import as_array, check_shape, exercise, fail, passed


def _padded_batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    hidden = rng.normal(size=(3, 5, 4)).astype(np.float32)
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=np.int32)
    return hidden, mask


@exercise("Exercise 1")
def masked_mean(fn) -> bool:
    """Exercise 1: ``fn(hidden (B, T, D), mask (B, T)) -> (B, D)``, the masked mean."""
    from ..text import masked_mean_pool

    hidden, mask = _padded_batch()
    try:
        out = fn(hidden.copy(), mask.copy())
    except Exception as err:  # noqa: BLE001 - report the student's error plainly
        fail(f"your function raised {type(err).__name__}: {err} "
             f"(inputs: hidden {hidden.shape} float32, mask {mask.shape} int32).")
    out = as_array(out, "your result")
    check_shape(out, (3, 4), "your result")
    expected = np.asarray(masked_mean_pool(hidden, mask))
    if np.allclose(out, expected, atol=1e-5):
        return passed("Exercise 1")
    if np.allclose(out, hidden.mean(axis=1), atol=1e-5):
        fail("you averaged over all T positions, [PAD] included: multiply by the mask first.")
    if np.allclose(out, (hidden * mask[:, :, None]).sum(axis=1) / hidden.shape[1], atol=1e-5):
        fail("you summed the real tokens but divided by T (padding included): divide by the "
             "number of real tokens, mask.sum(axis=1).")
    if np.allclose(out, (hidden * mask[:, :, None]).sum(axis=1), atol=1e-5):
        fail("that is the masked *sum*: divide by the number of real tokens.")
    fail("the values differ from the masked mean: the mean of hidden[b, t] over the t where "
         "mask[b, t] == 1.")


@exercise("Exercise 2")
def cosine(value, a, b) -> bool:
    """Exercise 2: ``value`` must be the cosine similarity of vectors ``a`` and ``b``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    expected = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    value = float(as_array(value, "your cosine"))
    if abs(value - expected) < 1e-5:
        return passed("Exercise 2", f", cosine = {value:.2f}")
    if abs(value - a @ b) < 1e-4 * max(1.0, abs(a @ b)):
        fail("that is the plain dot product a @ b; divide by both lengths |a| |b|.")
    if abs(value - a @ b / np.linalg.norm(a)) < 1e-5 or abs(value - a @ b / np.linalg.norm(b)) < 1e-5:
        fail("you divided by only one length; divide by |a| * |b|.")
    fail(f"{value:.4f} is not the cosine similarity ({expected:.4f}): a @ b / (|a| |b|).")


@exercise("Exercise 3")
def beat_the_search(query: str, search, captions, target: str = "ambulance") -> bool:
    """Exercise 3: ``query`` (without the word ``target``) must rank ``target`` first."""
    if not isinstance(query, str) or not query.strip():
        fail("write your query as a non-empty string.")
    if target in query.lower():
        fail(f"do not use the word {target!r} itself.")
    top, scores = search(query, 3)
    if captions[top[0]] != target:
        ranked = ", ".join(f"{captions[t]} ({s:.2f})" for t, s in zip(top, scores))
        fail(f"the top results are {ranked}; try words that describe a {target} more closely.")
    return passed("Exercise 3", f", {query!r} -> {target} ({scores[0]:.2f})")


__all__ = ["masked_mean", "cosine", "beat_the_search"]
