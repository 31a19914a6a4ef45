"""pyproject's ranges fit Colab's stock runtime: pip replaces only what the course needs."""
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")   # Python >= 3.11 (3.10 has no tomllib)

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
REQUIREMENTS = {Requirement(r).name: Requirement(r) for r in PROJECT["dependencies"]}

#: Colab's runtime as its published package list gave it (August 2026; issue 17).
COLAB = {"python": "3.13", "tensorflow": "2.20.0", "keras": "3.13.2", "transformers": "5.15.0",
         "numpy": "2.1.3", "tensorboard": "2.20.0"}
#: The one Colab package we must replace: the shipped .keras files need Keras >= 3.15
#: (tests/test_keras_floor.py).
MUST_REPLACE = {"keras"}


def test_colabs_own_packages_satisfy_our_ranges_except_keras():
    for name, version in COLAB.items():
        if name == "python":
            continue
        fits = Version(version) in REQUIREMENTS[name].specifier
        assert fits != (name in MUST_REPLACE), (name, version, str(REQUIREMENTS[name]))


def test_python_range_admits_colab_and_stops_where_tensorflow_wheels_stop():
    python = SpecifierSet(PROJECT["requires-python"])
    assert {"3.10", "3.11", "3.12", COLAB["python"]} <= {v for v in
                                                         ("3.10", "3.11", "3.12", "3.13")
                                                         if Version(v) in python}
    assert Version("3.9") not in python and Version("3.14") not in python


def test_the_text_encoder_needs_neither_tf_keras_nor_an_old_transformers():
    assert "tf-keras" not in REQUIREMENTS
    transformers = REQUIREMENTS["transformers"].specifier
    assert Version("4.54.1") in transformers and Version("5.25.0") in transformers
    assert {"safetensors", "huggingface-hub"} <= set(REQUIREMENTS)


def test_the_tensorflow_range_holds_colabs_and_ours():
    tensorflow = REQUIREMENTS["tensorflow"].specifier
    assert Version("2.20.0") in tensorflow and Version("2.21.0") in tensorflow
    assert Version("2.22.0") not in tensorflow        # not yet tested
