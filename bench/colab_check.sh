#!/usr/bin/env bash
# A Colab rehearsal you can run on your own machine (issue 17):
#
#     bash bench/colab_check.sh            # about 10 minutes; needs the package index
#
# 1. Makes a throwaway virtual environment holding Colab's stock versions of the packages the
#    course touches (its published list, August 2026: TensorFlow 2.20, Keras 3.13.2, tf-keras
#    2.20, transformers 5.15 for PyTorch, numpy 2.1.3, keras-hub 0.26, plus Jupyter's pieces).
#    Colab runs Python 3.13; this uses $PYTHON (default python3; Debian 12 has only 3.11).
#    PyTorch is left out (several GB, and the course never imports it).
# 2. Runs the notebooks' install cell (textgan_lib/colab.py's CELL) as Colab would, with
#    google.colab faked, the repository URL replaced by this checkout and /content/textgan
#    by a temporary directory; records what pip downloaded and which packages it replaced.
#    Then, in the same Python session (no restart), imports the course, checks that the new Keras
#    is the one loaded, encodes a caption and draws with the shipped cascade.
# 3. Runs notebooks 00, 01 and 07 under nbval in smoke mode in that environment, and `pip check`.
# Prints a summary and writes it to bench/results/colab_check.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON="${PYTHON:-python3}"
WORK=$(mktemp -d /tmp/textgan-colab.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
V="$WORK/venv"
echo "[colab_check] venv with $("$PYTHON" --version) in $WORK"
"$PYTHON" -m venv "$V"
"$V/bin/python" -m pip install -q --upgrade pip
# Colab's stock packages (and the test tools, which Colab doesn't need)
"$V/bin/python" -m pip install -q "tensorflow==2.20.0" "keras==3.13.2" "tf-keras==2.20.1" \
    "transformers==5.15.0" "numpy==2.1.3" "keras-hub==0.26.0" "tensorboard==2.20.0" \
    matplotlib pillow ipywidgets ipykernel nbval pytest
"$V/bin/python" -m pip freeze --all | sort > "$WORK/before.txt"
# The repository as Colab's cell clones it: committed files only
git clone -q "$ROOT" "$WORK/src"
START=$(date +%s)
"$V/bin/python" - "$WORK/src" "$WORK/content-textgan" <<'EOF'
import sys, types
src, dest = sys.argv[1], sys.argv[2]
module = {}
exec(open(f"{src}/textgan_lib/colab.py").read(), module)   # CELL, without importing the package
cell = module["CELL"].replace("https://github.com/textgan-course/textgan", f"file://{src}")
cell = cell.replace('"/content/textgan"', repr(dest))
assert src in cell and dest in cell
sys.modules["google.colab"] = types.ModuleType("google.colab")
import contextlib, io, os
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    exec(cell, {})
print(printed.getvalue(), end="")
# The same session, without a restart, as a student goes on after the cell: the course imports
# from the clone, Keras is the new one, the encoder and the shipped cascade work.
os.chdir("/tmp")
import keras
from textgan_lib.cascade import Cascade
from textgan_lib.text import TextEncoder
assert keras.__version__.startswith("3.15"), keras.__version__
shape = TextEncoder(cache=False).encode(["red apple"]).shape
cascade, _ = Cascade.load_default()
base, high = cascade.generate(["red apple"], seed=0)
same_session = (f"keras {keras.__version__}; embedding {shape}; "
                f"cascade {tuple(base.shape)} -> {tuple(high.shape)}")
print("same session:", same_session)
with open(f"{os.path.dirname(dest)}/cell.txt", "w") as f:
    f.write(printed.getvalue().strip() + "\n" + same_session + "\n")
EOF
INSTALL_S=$(( $(date +%s) - START ))
"$V/bin/python" -m pip freeze --all | sort > "$WORK/after.txt"
CHANGED=$(comm -23 "$WORK/before.txt" "$WORK/after.txt" | cut -d= -f1 | grep -v '^-e' |
          tr '\n' ' ' || true)
# What Colab downloads: the wheels of every package the cell added or replaced, fetched again
# from the package index (pip may have taken them from a local wheel directory or cache here),
# and the clone of the repository.
comm -13 "$WORK/before.txt" "$WORK/after.txt" | grep '==' > "$WORK/new.txt" || true
env -u PIP_FIND_LINKS "$V/bin/python" -m pip download -q --no-deps --no-cache-dir \
    --only-binary=:all: -d "$WORK/wheels" -r "$WORK/new.txt"
DOWNLOAD_MB=$(du -sm "$WORK/wheels" | cut -f1)
CLONE_MB=$(du -sm "$WORK/content-textgan" | cut -f1)
CHECK=$("$V/bin/python" -m pip check 2>&1 || true)
cd "$WORK/content-textgan"
START=$(date +%s)
set +e
TEXTGAN_MODE=smoke TEXTGAN_CACHE_DIR="$WORK/cache" TEXTGAN_OUTPUT_DIR="$WORK/outputs" "$V/bin/python" -m pytest -q \
    notebooks/00_overview.ipynb notebooks/01_text_embeddings.ipynb \
    notebooks/07_cascade_demo.ipynb 2>&1 | tail -5 | tee "$WORK/nbval.txt"
NBVAL_RC=${PIPESTATUS[0]}
set -e
NBVAL_S=$(( $(date +%s) - START ))
cd "$ROOT"
"$V/bin/python" - "$WORK" "$DOWNLOAD_MB" "$CLONE_MB" "$INSTALL_S" "$NBVAL_RC" "$NBVAL_S" "$CHANGED" \
    "$CHECK" "$($PYTHON --version)" <<'EOF'
import json, sys
work, mb, clone_mb, install_s, rc, nbval_s, changed, check, python = sys.argv[1:]
def versions(name):
    return dict(l.strip().split("==", 1) for l in open(f"{work}/{name}.txt") if "==" in l)
before, after = versions("before"), versions("after")
summary = {
    "python": python,
    "replaced": {n: f"{before[n]} -> {after[n]}" for n in sorted(changed.split()) if n in after},
    "added": sorted(f"{n}=={v}" for n, v in after.items() if n not in before),
    "download_mb": {"wheels": int(mb), "clone": int(clone_mb)},
    "install_seconds": int(install_s),
    "pip_check": check.strip().splitlines(),
    "cell_and_same_session": open(f"{work}/cell.txt").read().strip().splitlines(),
    "nbval_00_01_07": "passed" if rc == "0" else f"FAILED (exit code {rc})",
    "nbval_seconds": int(nbval_s),
    "nbval_tail": open(f"{work}/nbval.txt").read().strip().splitlines()[-1:],
}
json.dump(summary, open("bench/results/colab_check.json", "w"), indent=1)
print(json.dumps(summary, indent=1))
sys.exit(0 if rc == "0" else 1)
EOF
