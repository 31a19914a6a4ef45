"""Load a notebook's reference solutions (``notebooks/solutions/NN_name.py``) as a module; the
file names start with a digit, so they are loaded by path."""
from __future__ import annotations

import importlib.util
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions"


def solution(name: str):
    """The module ``notebooks/solutions/<name>.py``, e.g. ``solution("07_cascade_demo")``."""
    spec = importlib.util.spec_from_file_location(f"solution_{name}", SOLUTIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
