"""Run modes, seeds and paths: the one place that decides how long the course trains.

Taught in ``00_overview``.

One environment variable, ``TEXTGAN_MODE``, picks the run mode:

* ``smoke``  - CI: seconds per notebook, a few hundred images, one short epoch.
* ``course`` - a CPU classroom (2 cores): the whole course in about 20 minutes. Default.
* ``full``   - a GPU: the whole data set, many epochs.

The mode only changes *how long* and *on how much data* we train. It never changes shapes,
architectures or anything a notebook prints as a checked output.

Paths are found from the package location, so notebooks work from any working directory.
``TEXTGAN_CACHE_DIR`` moves the cache (built images and text embeddings) elsewhere.
"""
from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODES = ("smoke", "course", "full")
DEFAULT_MODE = "course"
SEED = 42

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
#: The repository's ``data/`` folder (the font and its licence). The course is installed
#: editable (``pip install -e .``) from a checkout, so this is found from the package path.
DATA_DIR = REPO_DIR / "data"
#: Where caches and outputs go when the package is not inside a checkout.
_USER_DIR = Path.home() / ".cache" / "textgan"

#: Base (low-resolution) image size produced by the generator, in pixels.
BASE_SIZE = 32
#: Final image size after super-resolution, in pixels (the emoji set's native size).
HIGH_SIZE = 128
#: Super-resolution factor, HIGH_SIZE // BASE_SIZE.
SR_SCALE = HIGH_SIZE // BASE_SIZE
#: Length of the noise vector z fed to the generator.
Z_DIM = 128


@dataclass(frozen=True)
class RunConfig:
    """How much work one run does. Built by :func:`get_config`.

    Attributes:
        mode: ``"smoke"``, ``"course"`` or ``"full"``.
        max_train_images: at most this many training pairs are used (``None``: all).
        batch_size: images per training step.
        gan_epochs: passes over the training pairs for the base GAN.
        sr_steps: optimizer steps of the super-resolution network (batches of 32 random
            16x16 low-res patches; see ``models.superres.fit_superres``).
        max_steps_per_epoch: cap on steps per epoch (``None``: the whole set).
        short_gan_epochs: epochs of the short demonstration runs inside notebooks (e.g. the
            "does the text steer?" run of ``02_generator``).
    """

    mode: str
    max_train_images: int | None
    batch_size: int
    gan_epochs: int
    sr_steps: int
    max_steps_per_epoch: int | None
    short_gan_epochs: int


_CONFIGS = {
    "smoke": RunConfig("smoke", max_train_images=256, batch_size=64, gan_epochs=1,
                       sr_steps=4, max_steps_per_epoch=4, short_gan_epochs=1),
    "course": RunConfig("course", max_train_images=None, batch_size=64, gan_epochs=24,
                        sr_steps=4000, max_steps_per_epoch=None, short_gan_epochs=6),
    "full": RunConfig("full", max_train_images=None, batch_size=64, gan_epochs=200,
                      sr_steps=20000, max_steps_per_epoch=None, short_gan_epochs=30),
}


def get_mode() -> str:
    """Return the run mode from ``TEXTGAN_MODE`` (default ``"course"``).

    Raises:
        ValueError: if the variable holds anything but ``smoke``, ``course`` or ``full``.
    """
    mode = os.environ.get("TEXTGAN_MODE", DEFAULT_MODE).strip().lower() or DEFAULT_MODE
    if mode not in MODES:
        raise ValueError(
            f"TEXTGAN_MODE={mode!r} is not a run mode; set it to one of {', '.join(MODES)}, "
            f"or unset it for the default ({DEFAULT_MODE}).")
    return mode


def get_config(mode: str | None = None) -> RunConfig:
    """Return the :class:`RunConfig` for ``mode`` (default: :func:`get_mode`)."""
    mode = get_mode() if mode is None else mode
    if mode not in _CONFIGS:
        raise ValueError(f"unknown run mode {mode!r}; use one of {', '.join(MODES)}.")
    return _CONFIGS[mode]


def cache_dir() -> Path:
    """Directory for built data and embedding caches (created on first use).

    ``$TEXTGAN_CACHE_DIR`` if set, else ``data/cache`` in the repository (git-ignored), or
    ``~/.cache/textgan/cache`` if the package is not inside a checkout.
    """
    default = DATA_DIR / "cache" if DATA_DIR.is_dir() else _USER_DIR / "cache"
    path = Path(os.environ.get("TEXTGAN_CACHE_DIR", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def output_dir() -> Path:
    """Directory where training runs write models, grids and reports.

    ``$TEXTGAN_OUTPUT_DIR`` if set, else ``outputs/`` in the repository (git-ignored), or
    ``~/.cache/textgan/outputs`` if the package is not inside a checkout.
    """
    default = REPO_DIR / "outputs" if DATA_DIR.is_dir() else _USER_DIR / "outputs"
    path = Path(os.environ.get("TEXTGAN_OUTPUT_DIR", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def set_seed(seed: int = SEED) -> None:
    """Seed Python, NumPy and TensorFlow/Keras in one call (``keras.utils.set_random_seed``)."""
    random.seed(seed)
    np.random.seed(seed)
    import keras  # imported here so that `config` stays cheap to import

    keras.utils.set_random_seed(seed)


def import_tensorflow():
    """Import and return TensorFlow with its C++ start-up log lines silenced.

    On a machine without a GPU, TensorFlow writes lines such as "Could not find cuda drivers"
    straight to the process's stderr while it loads, before any Python setting applies. We set
    ``TF_CPP_MIN_LOG_LEVEL=3`` (unless you set it) and point stderr at ``/dev/null`` during the
    import only; everything printed afterwards, errors included, is shown as usual.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved_stderr, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # the first device query logs CUDA errors on a CPU
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(devnull)
    return tf


#: ``--precision`` choices of ``textgan train`` and the benches (``auto``: :func:`default_precision`)
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
#: ``--jit`` as Keras's ``jit_compile``: auto lets Keras decide (no XLA on a CPU), on is XLA
JIT_COMPILE = {"auto": "auto", "on": True, "off": False}

#: the CPU flags (``/proc/cpuinfo``) of native bfloat16 matrix arithmetic: AVX512-BF16 and AMX
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_bfloat16(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> bool:
    """True if the CPU advertises bfloat16 matrix instructions (AVX512-BF16 or AMX-BF16) in
    ``cpuinfo`` (Linux's ``/proc/cpuinfo``); False if not, or if the file cannot be read
    (macOS, Windows: there we do not guess)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def default_precision(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> str:
    """The Keras dtype policy ``textgan train --precision auto`` trains with on this machine.

    ``mixed_bfloat16`` on a CPU with native bfloat16 matmuls and no GPU: variables stay
    float32, the layers compute in bfloat16, which on the course's CPUs makes a train step
    about 1.5x faster with the same R@1 and shape accuracy (``bench/README.md``, "Training
    speed"). ``mixed_float16`` on a GPU (float16 on tensor cores, with loss scaling: README's
    GPU settings). ``float32`` on a CPU without bfloat16 units, where emulated bfloat16 would be
    slower than float32.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import_tensorflow()                      # quietly, the first time
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bfloat16(cpuinfo) else "float32"


def resolve_precision(name: str) -> str:
    """``--precision`` as a Keras dtype policy name: ``auto`` -> :func:`default_precision`."""
    return default_precision() if name == "auto" else name


class policy_scope:
    """Context manager: the global Keras dtype policy is ``name`` inside (``None``: left as it
    is, for code that sets its own) and what it was before afterwards. Imports nothing: with
    Keras not imported yet, "before" is Keras's default, ``float32``."""

    def __init__(self, name: str | None = None):
        self.name = name

    def __enter__(self):
        keras = sys.modules.get("keras")
        self._saved = keras.config.dtype_policy().name if keras else "float32"
        if self.name is not None:
            import keras

            keras.config.set_dtype_policy(self.name)
        return self

    def __exit__(self, *exc):
        if (keras := sys.modules.get("keras")) is not None:
            keras.config.set_dtype_policy(self._saved)
        return False


def float32_policy() -> policy_scope:
    """Context manager: the global Keras dtype policy is ``float32`` inside, and what it was
    outside. Loading a saved model under a ``mixed_*`` global policy gives some of its layers
    (those created inside our custom layers, whose saved config names no policy) the global
    one, so a float32 model would come back partly in bfloat16; every loader of a shipped
    model (:meth:`Cascade.load <textgan_lib.cascade.Cascade.load>`, the evaluation network)
    loads inside one."""
    return policy_scope("float32")
