"""Callbacks of the training system: sample grids, checkpoints that survive a kill, NaN stop.

Taught in ``06_training``; :func:`textgan_lib.training.fit_gan` wires them up.

* :class:`SampleGrid` - fixed captions x fixed noise, one PNG per epoch, a GIF at the end.
* :class:`GANCheckpoint` - one ``checkpoint.npz`` with every variable a resumed run needs,
  written atomically (to a temporary file, then renamed), only when the epoch's losses and
  weights are finite. A process killed at any moment leaves either the previous or the new
  checkpoint, never half of one.
* :class:`StopOnNonFinite` - stops ``fit`` at the first NaN/inf loss with a clear message; the
  last good checkpoint is kept (the non-finite state is never saved).

(``keras.callbacks.BackupAndRestore`` saves the weights too, but not our two optimizers'
position in the data stream, and ``fit`` builds its dataset iterator before the callback
restores; resuming exactly needs both, see :func:`textgan_lib.training.training_stream`.)
"""
from __future__ import annotations

import json
import os
import sys
import zipfile
import zlib
from pathlib import Path

import keras
import numpy as np

from . import config


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite (raised by :func:`~textgan_lib.training.fit_gan`)."""


def _finite_logs(logs) -> tuple[str, float] | None:
    """The first (name, value) of ``logs`` that is not finite (losses first), or None."""
    items = sorted((logs or {}).items(), key=lambda kv: ("loss" not in kv[0], kv[0]))
    for key, value in items:
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if not np.isfinite(value):
            return key, value
    return None


class StopOnNonFinite(keras.callbacks.Callback):
    """Stop training at the first non-finite loss or metric (checked after every step).

    Sets ``model.stop_training``, prints and keeps :attr:`message` (say which number, which
    epoch and step, and that the last good checkpoint is kept); ``fit_gan`` raises
    :class:`NonFiniteLossError` with it after ``fit`` returns.

    Args:
        checkpoint: the run's :class:`GANCheckpoint` (to name it in the message), or None.
    """

    def __init__(self, checkpoint=None):
        super().__init__()
        self.checkpoint = checkpoint
        self.message = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = _finite_logs(logs)
        if bad is None or self.message:
            return
        key, value = bad
        where = (f"the last good checkpoint ({self.checkpoint.path}, after epoch "
                 f"{self.checkpoint.saved_epoch}) is kept unchanged"
                 if self.checkpoint is not None and self.checkpoint.saved_epoch
                 else "no checkpoint was written")
        self.message = (
            f"non-finite loss: {key} = {value} at epoch {self._epoch + 1}, step {batch + 1}. "
            f"Training stopped; {where}. Common causes: a learning rate too high, "
            "D overpowering G (try a gradient penalty or spectral norm), float16 without "
            "loss scaling.")
        print(f"[textgan] {self.message}", file=sys.stderr)
        self.model.stop_training = True


class GANCheckpoint(keras.callbacks.Callback):
    """Save every variable of a :class:`~textgan_lib.training.TextGAN` after each good epoch.

    The file ``directory/checkpoint.npz`` holds, in the order of
    :meth:`~textgan_lib.training.TextGAN.checkpoint_variables`, the arrays ``v00000``, ...
    and ``meta`` (JSON: epochs done, history so far, steps per epoch, batch size, shapes).
    It is written to ``checkpoint.npz.tmp`` and renamed with ``os.replace`` (atomic), so a
    kill at any moment leaves a complete file. An epoch whose logs or weights are not finite
    is not saved.

    Args:
        gan: the model.
        directory: where the checkpoint lives (created on save).
        steps_per_epoch, batch_size: stored, and checked on restore (the data stream position
            of a resumed run is epoch x steps_per_epoch batches).
    """

    FILE = "checkpoint.npz"

    def __init__(self, gan, directory, steps_per_epoch: int | None = None,
                 batch_size: int | None = None, setup: dict | None = None):
        super().__init__()
        # what else must match for a resume to continue *this* run (data, seed, GAN options)
        self.setup = json.loads(json.dumps(setup or {}, sort_keys=True, default=str))
        self.gan = gan
        self.directory = Path(directory)
        self.path = self.directory / self.FILE
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.saved_epoch = 0
        self.history: dict[str, list[float]] = {}

    def save(self, epoch: int) -> Path:
        """Write the checkpoint after ``epoch`` epochs (atomically)."""
        variables = self.gan.checkpoint_variables()
        arrays = {f"v{i:05d}": np.asarray(v) for i, v in enumerate(variables)}
        meta = {"epoch": int(epoch), "history": self.history,
                "steps_per_epoch": self.steps_per_epoch, "batch_size": self.batch_size,
                "setup": self.setup, "shapes": [list(a.shape) for a in arrays.values()]}
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / (self.FILE + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.saved_epoch = int(epoch)
        return self.path

    def restore(self) -> dict | None:
        """Load the checkpoint into the model if there is one.

        Returns:
            its metadata (``epoch``, ``history``, ...) or None when there is no checkpoint.

        Raises:
            ValueError: if the file cannot be read (truncated or corrupt; the message says to
                delete it or use another output directory), or it does not fit the model
                (other architecture or options) or was made with other ``steps_per_epoch`` /
                ``batch_size`` or another ``setup`` (data, seed, GAN options; checked when
                this checkpoint was given one); the message names what differs and says to
                delete the directory or pick another one.
        """
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = [data[f"v{i:05d}"] for i in range(len(meta["shapes"]))]
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile,
                zlib.error) as error:
            reason = " ".join(f"{type(error).__name__}: {error}".split())
            raise ValueError(
                f"the checkpoint {self.path} is unreadable ({reason}); it was probably cut "
                "short (a full disk, or a copy that did not finish). Delete it to train the "
                "GAN from epoch 0 in the same directory, or choose another output directory "
                "(--out).") from None
        variables = self.gan.checkpoint_variables()
        hint = (f"Delete {self.directory.parent} (checkpoints, samples and logs) to start "
                "afresh, or use another output directory.")
        shapes = [tuple(v.shape) for v in variables]
        if shapes != [tuple(s) for s in meta["shapes"]]:
            raise ValueError(f"the checkpoint {self.path} was written by a different model "
                             f"({len(meta['shapes'])} variables vs {len(shapes)}, or other "
                             f"shapes). {hint}")
        for key in ("steps_per_epoch", "batch_size"):
            mine = getattr(self, key)
            if mine is not None and meta.get(key) not in (None, mine):
                raise ValueError(f"the checkpoint {self.path} was made with {key}="
                                 f"{meta.get(key)}, this run uses {mine}: resuming would not "
                                 f"continue the same run. {hint}")
        theirs = meta.get("setup", {})
        if self.setup and theirs != self.setup:   # GANCheckpoint(gan, dir) alone: no check
            diff = sorted(k for k in set(theirs) | set(self.setup)
                          if theirs.get(k) != self.setup.get(k))
            raise ValueError(f"the checkpoint {self.path} was made with another setup "
                             f"({', '.join(f'{k}: {theirs.get(k)!r} there, {self.setup.get(k)!r} now' for k in diff)}): "
                             f"resuming would not continue the same run. {hint}")
        for var, value in zip(variables, arrays):
            var.assign(value)
        self.saved_epoch = int(meta["epoch"])
        self.history = {k: list(v) for k, v in meta["history"].items()}
        return meta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if _finite_logs(logs) is not None:      # never save a NaN state
            return
        if not all(np.all(np.isfinite(np.asarray(v))) for v in self.gan.checkpoint_variables()
                   if np.issubdtype(np.asarray(v).dtype, np.floating)):
            return
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        self.save(epoch + 1)


def sample_grid(generator, embeddings, z) -> np.ndarray:
    """Draw G(e_c, z_r) for every caption c (columns) and noise vector r (rows).

    Args:
        generator: ``[embedding, z] -> image`` in [-1, 1], called with ``training=False``.
        embeddings: float32 (C, D).
        z: float32 (R, z_dim).

    Returns:
        uint8 (R * S + R - 1, C * S + C - 1, 3): the images with 1-pixel grey separators.
    """
    from .viz import to_uint8

    embeddings = np.asarray(embeddings, np.float32)
    z = np.asarray(z, np.float32)
    rows, cols = len(z), len(embeddings)
    e = np.tile(embeddings, (rows, 1))
    zz = np.repeat(z, cols, axis=0)
    images = to_uint8(np.asarray(generator([e, zz], training=False)))
    size = images.shape[1]
    grid = np.full((rows * (size + 1) - 1, cols * (size + 1) - 1, 3), 128, np.uint8)
    for k, image in enumerate(images):
        r, c = divmod(k, cols)
        grid[r * (size + 1):r * (size + 1) + size, c * (size + 1):c * (size + 1) + size] = image
    return grid


class SampleGrid(keras.callbacks.Callback):
    """Save a grid of fixed captions x fixed noise after each epoch, and a GIF at the end.

    Taught in ``06_training``: the same captions and the same noise every epoch, so the
    pictures show training, not luck. Images come from ``model.sampler`` (the EMA generator
    if the model keeps one) in inference mode.

    Args:
        embeddings: float32 (C, D), the fixed captions' embeddings (columns).
        directory: where ``epoch_NNNN.png`` (epoch counted from 1) and ``samples.gif`` go.
        captions: optional C captions, written to ``captions.txt`` (column order).
        num_noise: rows, one fixed z ~ N(0, I) each (NumPy generator seeded ``seed``).
        seed: seed of the noise.
        every: save every ``every`` epochs.
        scale: nearest-neighbour enlargement of the saved pictures.
        gif_ms: time per GIF frame in milliseconds.
    """

    def __init__(self, embeddings, directory, captions=None, num_noise: int = 4,
                 seed: int = config.SEED, every: int = 1, scale: int = 2, gif_ms: int = 400):
        super().__init__()
        self.embeddings = np.asarray(embeddings, np.float32)
        self.directory = Path(directory)
        self.captions = list(captions) if captions is not None else None
        self.num_noise = int(num_noise)
        self.seed = int(seed)
        self.every = max(1, int(every))
        self.scale = max(1, int(scale))
        self.gif_ms = int(gif_ms)
        self.z = None
        self.saved: list[Path] = []

    def render(self) -> np.ndarray:
        """The grid now, uint8 (see :func:`sample_grid`)."""
        if self.z is None:
            z_dim = int(self.model.z_dim)
            self.z = np.random.default_rng(self.seed).standard_normal(
                (self.num_noise, z_dim)).astype(np.float32)
        return sample_grid(self.model.sampler, self.embeddings, self.z)

    def on_train_begin(self, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.captions is not None:
            (self.directory / "captions.txt").write_text("\n".join(self.captions) + "\n")

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from PIL import Image

        grid = self.render()
        picture = Image.fromarray(grid)
        if self.scale > 1:
            picture = picture.resize((grid.shape[1] * self.scale, grid.shape[0] * self.scale),
                                     Image.NEAREST)
        path = self.directory / f"epoch_{epoch + 1:04d}.png"
        picture.save(path)
        self.saved.append(path)

    def on_train_end(self, logs=None):
        from PIL import Image

        frames = sorted(self.directory.glob("epoch_*.png"))   # earlier processes' too
        if not frames:
            return
        pictures = [Image.open(p).convert("RGB") for p in frames]
        pictures[0].save(self.directory / "samples.gif", save_all=True,
                         append_images=pictures[1:], duration=self.gif_ms, loop=0)


__all__ = ["NonFiniteLossError", "StopOnNonFinite", "GANCheckpoint", "SampleGrid",
           "sample_grid"]
