"""Exercise checkers: one module per notebook, named like the notebook.

Each checker takes the student's answer (a value or a function), tests it against the
reference, and either prints ``Exercise N: correct ...`` and returns ``True``, or raises
:class:`CheckFailed` with a message that says *what* is wrong (wrong shape, padding counted,
sign error, ...), never only "wrong". An exercise cell starts blank (``answer = ...``, or a
function whose body is ``...``); for a blank answer the checker prints ``Exercise N: not
attempted yet`` and returns ``False`` without raising, so that a notebook runs from top to
bottom before any exercise is done. The reference solutions live in ``notebooks/solutions/``
and pass (``tests/test_solutions.py``).

    from textgan_lib.checks import text_embeddings as check
    check.masked_mean(my_masked_mean)
"""
from __future__ import annotations

import functools

import numpy as np


class NotAttempted(BaseException):
    """Raised inside a checker when the student's function returns ``None`` or ``...`` (a blank
    answer). It derives from ``BaseException`` so that the checkers' ``except Exception``
    clauses, which report a student's error, let it through to :func:`exercise`."""


def _blank(value) -> bool:
    """``None``, ``...``, or a dict whose values are all blank (e.g. a table of targets)."""
    if isinstance(value, dict):
        return bool(value) and all(_blank(v) for v in value.values())
    return value is None or value is Ellipsis


def exercise(name: str):
    """Decorator for a checker whose first argument is the student's answer: a blank answer
    (``...``, or a function that returns ``None`` or ``...``) prints ``"<name>: not attempted
    yet ..."`` and returns ``False`` instead of being checked."""
    def decorate(checker):
        @functools.wraps(checker)
        def run(answer, *args, **kwargs):
            if _blank(answer):
                print(f"{name}: not attempted yet (replace the ... with your answer, then run "
                      "this cell again)")
                return False
            if callable(answer):
                student = answer

                @functools.wraps(student)
                def answer(*a, **k):
                    out = student(*a, **k)
                    if _blank(out):
                        raise NotAttempted
                    return out
            try:
                return checker(answer, *args, **kwargs)
            except NotAttempted:
                print(f"{name}: not attempted yet (your function returns None: write its body "
                      "in place of the ... and return the result)")
                return False
        return run
    return decorate


class CheckFailed(AssertionError):
    """An exercise answer is not right; the message says what is wrong and how to look for it."""


def fail(message: str):
    """Raise :class:`CheckFailed` with ``message``."""
    raise CheckFailed(message)


def call(function, what: str, *args):
    """``function(*args)``; any error it raises becomes :class:`CheckFailed` naming ``what``
    (the student's function failing is part of their answer, not a crash of the checker)."""
    try:
        return function(*args)
    except Exception as err:  # noqa: BLE001 - any error is part of the student's answer
        fail(f"{what} raised {type(err).__name__}: {err}")


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


__all__ = ["CheckFailed", "NotAttempted", "exercise", "fail", "call", "passed", "as_array",
           "check_shape"]
