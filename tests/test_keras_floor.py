"""The shipped cascade loads with the oldest Keras that pyproject.toml allows.

Installs exactly that Keras (``pip install --no-deps --target``, a few MB from the package
index) into a temporary directory and loads every shipped ``.keras`` file with it in a fresh
Python whose ``sys.path`` puts it first. Skipped nowhere: without the package index this test
fails, as the CI machine has one. Checked on 2026-12-02: Keras 3.13.2 and 3.14.1 fail on
these files (``TypeError: <class 'Functional'> could not be deserialized properly``).
"""
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")   # Python >= 3.11 (3.10 has no tomllib)

ROOT = Path(__file__).resolve().parents[1]


def keras_floor() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    keras = next(Requirement(r) for r in project["dependencies"] if r.startswith("keras"))
    (floor,) = [s.version for s in keras.specifier if s.operator == ">="]
    return floor


LOAD = """
import sys, keras
print(keras.__version__)
import textgan_lib.models, textgan_lib.recipes   # registers the course's custom objects
for path in sys.argv[1:]:
    model = keras.saving.load_model(path)
    print(path.rsplit("/", 1)[-1], model.count_params())
"""


def test_the_shipped_models_load_with_the_keras_floor(tmp_path):
    floor = keras_floor()
    assert floor == "3.15"
    target = tmp_path / "keras"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), f"keras=={floor}.0"], check=True, capture_output=True)
    files = sorted(str(p) for p in (ROOT / "data" / "pretrained").rglob("*.keras"))
    # the cascade, previous/ and skeleton/ (G + SR), the instrument, diffusion/ (the base)
    assert len(files) == 8
    done = subprocess.run([sys.executable, "-c", LOAD, *files], capture_output=True, text=True,
                          env={"PYTHONPATH": f"{target}:{ROOT}", "PATH": "/usr/bin:/bin",
                               "TF_CPP_MIN_LOG_LEVEL": "3"}, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.split()
    assert lines[0] == f"{floor}.0"
    assert len(lines) == 1 + 2 * len(files)                 # every file loaded and counted
    assert all(int(count) > 0 for count in lines[2::2])
