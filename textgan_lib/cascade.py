"""The whole cascade: caption -> text embedding -> base image -> super-resolved image.

Taught in ``07_cascade_demo``; :func:`train_cascade` is the course's main job
(``python -m textgan_lib train``), the walking skeleton of ``06_training``.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from . import config

#: Files of a saved cascade, inside its directory.
GENERATOR_FILE = "generator.keras"
SUPERRES_FILE = "superres.keras"
META_FILE = "cascade.json"


class Cascade:
    """Inference through the cascade. Taught in ``07_cascade_demo``.

    Args:
        generator: ``[embedding (B, D), z (B, z_dim)] -> (B, 32, 32, 3)`` in [-1, 1].
        superres: ``(B, h, w, 3) -> (B, 4h, 4w, 3)`` in [-1, 1] (unclipped).
        text_model: the :class:`~textgan_lib.text.TextEncoder` model name (``None``: the
            offline MiniLM); the generator only understands the encoder it was trained with.
        encoder: an already loaded :class:`~textgan_lib.text.TextEncoder` (optional).
    """

    def __init__(self, generator, superres, text_model: str | None = None, encoder=None):
        self.generator = generator
        self.superres = superres
        self.text_model = text_model
        self._encoder = encoder

    @property
    def encoder(self):
        """The text encoder, loaded on first use."""
        if self._encoder is None:
            from .text import TextEncoder

            self._encoder = TextEncoder(self.text_model)
        return self._encoder

    @property
    def z_dim(self) -> int:
        return int(self.generator.inputs[1].shape[-1])

    def generate(self, captions, seed: int = 0, noise_scale: float = 1.0):
        """Draw one image per caption.

        Args:
            captions: a string or a list of strings.
            seed: noise seed; the same seed and captions give the same images.
            noise_scale: multiplies z ~ N(0, I) (below 1: the "truncation trick", less variety).

        Returns:
            ``(base, high)``: float32 arrays (B, 32, 32, 3) and (B, 128, 128, 3), in [-1, 1].
        """
        captions = [captions] if isinstance(captions, str) else list(captions)
        embeddings = self.encoder.encode(captions)
        z = np.random.default_rng(seed).standard_normal((len(captions), self.z_dim))
        z = (noise_scale * z).astype(np.float32)
        base = np.asarray(self.generator.predict([embeddings, z], verbose=0))
        high = np.clip(np.asarray(self.superres.predict(base, verbose=0)), -1.0, 1.0)
        return base, high

    def save(self, directory) -> Path:
        """Write ``generator.keras``, ``superres.keras`` and ``cascade.json`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.generator.save(directory / GENERATOR_FILE)
        self.superres.save(directory / SUPERRES_FILE)
        meta = {"text_model": self.text_model, "base_size": config.BASE_SIZE,
                "high_size": config.HIGH_SIZE, "z_dim": self.z_dim}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory=None, encoder=None) -> "Cascade":
        """Load a cascade saved by :meth:`save` (Keras safe mode: no arbitrary code runs).

        Args:
            directory: default ``config.output_dir() / "cascade"``, where ``textgan train``
                writes it.

        Raises:
            FileNotFoundError: if the directory holds no saved cascade; the message says how
                to make one.
            ValueError: if its files are there but cannot be loaded (corrupt or not Keras).
        """
        from .models import blocks  # noqa: F401  (registers the custom layers)

        directory = Path(directory) if directory else config.output_dir() / "cascade"
        missing = [f for f in (GENERATOR_FILE, SUPERRES_FILE, META_FILE)
                   if not (directory / f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"no trained cascade in {directory} (missing {', '.join(missing)}). Train one "
                "with `python -m textgan_lib train` (see README.md: Quickstart).")
        try:
            meta = json.loads((directory / META_FILE).read_text())
            generator = keras.saving.load_model(directory / GENERATOR_FILE)
            superres = keras.saving.load_model(directory / SUPERRES_FILE)
        except (ValueError, OSError) as error:   # json and Keras raise ValueError on bad files
            raise ValueError(
                f"the cascade in {directory} could not be loaded ({type(error).__name__}: "
                f"{error}). Train it again with `python -m textgan_lib train`.") from None
        return cls(generator, superres, text_model=meta.get("text_model"), encoder=encoder)


def train_superres(model, images: np.ndarray, epochs: int, batch_size: int = 16,
                   steps_per_epoch: int | None = None, verbose="auto", seed: int = config.SEED):
    """Train a super-resolution model on (downsampled, original) pairs with an L1 loss.

    Args:
        model: e.g. :func:`textgan_lib.models.build_superres` with ``config.SR_SCALE``.
        images: uint8 (N, 128, 128, 3) high-resolution training images.
        epochs, batch_size, steps_per_epoch, verbose: passed to ``fit``.

    Returns:
        the Keras ``History``.
    """
    import tensorflow as tf

    from .data.pipeline import resize_uint8, to_float

    low = resize_uint8(images, config.BASE_SIZE)   # the same area downsampling as the cascade
    ds = tf.data.Dataset.from_tensor_slices((low, images))
    ds = ds.shuffle(len(images), seed=seed).batch(batch_size, drop_remainder=True)
    ds = ds.map(lambda lo, hi: (to_float(lo), to_float(hi))).prefetch(tf.data.AUTOTUNE)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mean_absolute_error")
    return model.fit(ds, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose,
                     shuffle=False)  # the dataset shuffles itself


def evaluate_superres(model, images: np.ndarray, batch_size: int = 64) -> dict:
    """Mean PSNR and SSIM (dB / unitless) of ``model`` and of bicubic on ``images``.

    Args:
        model: a super-resolution model with scale ``config.SR_SCALE``.
        images: uint8 (N, 128, 128, 3) held-out high-resolution images.

    Returns:
        ``{"psnr_model", "psnr_bicubic", "psnr_gain", "ssim_model", "ssim_bicubic", "n"}``.
    """
    from .data.pipeline import resize_uint8, to_float
    from .metrics import psnr, ssim
    from .models import bicubic_upsample

    high = to_float(images)
    low = to_float(resize_uint8(images, config.BASE_SIZE))
    sr = np.clip(model.predict(low, batch_size=batch_size, verbose=0), -1.0, 1.0)
    bicubic = np.clip(bicubic_upsample(low, config.SR_SCALE), -1.0, 1.0)
    result = {"psnr_model": float(np.mean(psnr(sr, high))),
              "psnr_bicubic": float(np.mean(psnr(bicubic, high))),
              "ssim_model": float(np.mean(ssim(sr, high))),
              "ssim_bicubic": float(np.mean(ssim(bicubic, high))),
              "n": int(len(images))}
    result["psnr_gain"] = result["psnr_model"] - result["psnr_bicubic"]
    return result


def train_cascade(out_dir=None, mode: str | None = None, num_samples: int = 16,
                  verbose="auto") -> dict:
    """The main job: train the base GAN and the super-resolution stage on the emoji set.

    Writes into ``out_dir`` (default ``config.output_dir()``):

    * ``cascade/`` - the saved cascade (:meth:`Cascade.load` reads it);
    * ``val_samples.png`` - real vs generated (32 px and super-resolved 128 px) images for
      ``num_samples`` validation captions the model never trained on;
    * ``report.json`` - run mode, epochs, time per stage, final losses, SR PSNR vs bicubic.

    Returns:
        the report as a dict.
    """
    from .data.emoji import load_emoji
    from .data.pipeline import make_pipeline
    from .models import build_discriminator, build_generator, build_superres
    from .text import TextEncoder
    from .training import TextGAN
    from .viz import comparison_grid

    cfg = config.get_config(mode)
    out_dir = Path(out_dir) if out_dir else config.output_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    config.set_seed()
    report = {"mode": cfg.mode, "config": asdict(cfg), "seconds": {}}
    start = clock = time.perf_counter()

    train = load_emoji("train", max_images=cfg.max_train_images)
    val = load_emoji("val")
    encoder = TextEncoder()
    train_embeddings = encoder.encode(train.captions)
    report["seconds"]["data_and_text"] = round(time.perf_counter() - clock, 1)
    print(f"[textgan] mode={cfg.mode}: {len(train)} training pairs, {len(val)} validation pairs, "
          f"text embeddings {train_embeddings.shape}")

    clock = time.perf_counter()
    dataset = make_pipeline(train.images, train_embeddings, train.image_ids,
                            batch_size=cfg.batch_size)
    gan = TextGAN(build_generator(encoder.dim), build_discriminator(encoder.dim))
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    print(f"[textgan] training the base GAN ({config.BASE_SIZE} px) for {cfg.gan_epochs} epochs")
    history = gan.fit(dataset, epochs=cfg.gan_epochs, steps_per_epoch=cfg.max_steps_per_epoch,
                      verbose=verbose, shuffle=False)  # the pipeline shuffles itself
    report["gan_final"] = {k: round(float(v[-1]), 4) for k, v in history.history.items()}
    report["seconds"]["gan"] = round(time.perf_counter() - clock, 1)

    clock = time.perf_counter()
    superres = build_superres(config.SR_SCALE)
    print(f"[textgan] training super-resolution x{config.SR_SCALE} for {cfg.sr_epochs} epochs")
    train_superres(superres, train.images, epochs=cfg.sr_epochs,
                   steps_per_epoch=cfg.max_steps_per_epoch, verbose=verbose)
    report["superres"] = evaluate_superres(superres, val.images)
    report["seconds"]["superres"] = round(time.perf_counter() - clock, 1)

    cascade = Cascade(gan.generator, superres, text_model=None, encoder=encoder)
    cascade.save(out_dir / "cascade")
    picks = np.random.default_rng(config.SEED).choice(len(val), num_samples, replace=False)
    captions = [val.captions[i] for i in sorted(picks)]
    base, high = cascade.generate(captions, seed=config.SEED)
    figure = comparison_grid([val.images[sorted(picks)], base, high],
                             ["real (128 px)", f"generated ({config.BASE_SIZE} px)",
                              f"+ SR x{config.SR_SCALE}"], captions)
    figure.savefig(out_dir / "val_samples.png", dpi=110)
    report["val_captions"] = captions
    report["seconds"]["total"] = round(time.perf_counter() - start, 1)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")

    sr = report["superres"]
    print(f"[textgan] super-resolution on {sr['n']} validation images: "
          f"PSNR {sr['psnr_model']:.2f} dB vs bicubic {sr['psnr_bicubic']:.2f} dB "
          f"(gain {sr['psnr_gain']:+.2f} dB)")
    print(f"[textgan] total time {report['seconds']['total'] / 60:.1f} min")
    print(f"[textgan] wrote {out_dir / 'cascade'}, {out_dir / 'val_samples.png'}, "
          f"{out_dir / 'report.json'}")
    return report


__all__ = ["Cascade", "train_cascade", "train_superres", "evaluate_superres"]
