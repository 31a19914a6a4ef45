"""Exercise checkers: one module per notebook, named like the notebook.

Each checker takes the student's answer (a value or a function), tests it against the
reference, and either prints ``Exercise N: correct ...`` and returns ``True``, or raises
:class:`CheckFailed` with a message that says *what* is wrong (wrong shape, padding counted,
sign error, ...), never only "wrong". The reference solutions pass (see ``tests/test_checks.py``).

    from textgan_lib.checks import text_embeddings as check
    check.masked_mean(my_masked_mean)
"""
from __future__ import annotations

import numpy as np


class CheckFailed(AssertionError):
    """An exercise answer is not right; the message says what is wrong and how to look for it."""


def fail(message: str):
    """Raise :class:`CheckFailed` with ``message``."""
    raise CheckFailed(message)


def passed(exercise: str, detail: str = "") -> bool:
    """Print ``"<exercise>: correct<detail>"`` and return True."""
    print(f"{exercise}: correct{detail}")
    return True


def as_array(value, what: str) -> np.ndarray:
    """``value`` as a NumPy array (tensors converted), or :class:`CheckFailed` naming ``what``."""
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    except Exception as err:  # noqa: BLE001 - any conversion failure is the student's answer
        fail(f"{what} could not be converted to an array: {err}")


def check_shape(array: np.ndarray, expected: tuple, what: str):
    """Fail with both shapes if ``array.shape != expected``."""
    if tuple(array.shape) != tuple(expected):
        fail(f"{what} has shape {tuple(array.shape)}, expected {tuple(expected)}.")


__all__ = ["CheckFailed", "fail", "passed", "as_array", "check_shape"]
