"""Checkers for the exercises of ``00_overview``."""
from __future__ import annotations

import numpy as np

from . import as_array, check_shape, exercise, fail, passed


@exercise("Exercise 1")
def pixels_to_model_inputs(x, images) -> bool:
    """Exercise 1: ``x`` must be ``images`` (uint8 0..255) as float32 in [-1, 1]."""
    from ..viz import to_uint8

    x = as_array(x, "your x")
    images = np.asarray(images)
    check_shape(x, images.shape, "your x")
    if x.dtype != np.float32:
        fail(f"x has dtype {x.dtype}; the models use float32 (use .astype(np.float32)).")
    if x.min() >= 0 and x.max() <= 1 and images.max() > 1:
        fail("x lies in [0, 1]: you divided by 255. The models use [-1, 1]: x / 127.5 - 1.")
    if x.min() < -1 - 1e-6 or x.max() > 1 + 1e-6:
        fail(f"x has values from {x.min():.3g} to {x.max():.3g}; they must lie in [-1, 1].")
    if not np.array_equal(to_uint8(x), images):
        fail("viz.to_uint8(x) does not give back the pixels: 0 must map to -1 and 255 to 1, "
             "linearly (x = pixels / 127.5 - 1).")
    return passed("Exercise 1")


@exercise("Exercise 2")
def faces_in_validation(n, emoji_all) -> bool:
    """Exercise 2: ``n`` must be the number of validation captions containing "face"."""
    from ..data.emoji import split_of

    expected = sum(split_of(c) == "val" for c in emoji_all.captions if "face" in c)
    everywhere = sum("face" in c for c in emoji_all.captions)
    if n == everywhere and n != expected:
        fail(f"{n} counts the captions with 'face' in *all* pairs; count only the validation "
             "split (val.captions).")
    if n != expected:
        fail(f"{n} is not right: count the captions in val.captions that contain 'face'.")
    return passed("Exercise 2", f", {n} validation captions contain 'face'")


@exercise("Exercise 3")
def find_pair(i, emoji_all, caption: str = "panda", char: str = "\U0001F43C") -> bool:
    """Exercise 3: ``i`` must be the row of ``caption`` in ``emoji_all``."""
    if not isinstance(i, (int, np.integer)):
        fail(f"i must be an integer index, got {type(i).__name__}.")
    if not 0 <= i < len(emoji_all):
        fail(f"i = {i} is outside 0..{len(emoji_all) - 1}.")
    if emoji_all.chars[i] != char:
        fail(f"row {i} is {emoji_all.captions[i]!r}, not {caption!r}: "
             f"use emoji_all.captions.index({caption!r}).")
    return passed("Exercise 3")


__all__ = ["pixels_to_model_inputs", "faces_in_validation", "find_pair"]
