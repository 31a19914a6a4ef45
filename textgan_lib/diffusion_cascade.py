"""A small Imagen: a text-conditioned diffusion cascade (32 px base, then a 32 -> 128 px
super-resolution diffusion stage with noise conditioning augmentation), trained on the emoji.

Taught in ``09_real_imagen`` (issue 19). :func:`train_diffusion_cascade` is ``textgan train
--model diffusion``: resumable (a checkpoint per stage after every epoch of
``recipe["steps_per_epoch"]`` steps), and once finished, rerunning it does nothing.
:class:`DiffusionCascade` samples from a saved cascade (``textgan generate --model
diffusion``). The recipe is :data:`textgan_lib.recipes.DIFFUSION_EMOJI`.
"""
from __future__ import annotations

import functools
import json
import os
import time
import uuid
from pathlib import Path

import numpy as np

from . import config
from .diffusion import cosine_schedule, network_eps_fn, q_sample, sample_ddim

BASE_FILE = "base_unet.keras"
SUPERRES_FILE = "superres_unet.keras"
META_FILE = "diffusion.json"
#: Where the shipped diffusion cascade lives.
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "data" / "pretrained" / "diffusion"
#: The seed of the noise that augments the low-res image at sampling time (fixed, like the level).
AUG_SEED = 1


def upsample_low_res(images32) -> np.ndarray:
    """32 px images in [-1, 1] -> 128 px by bicubic interpolation: what the SR stage sees."""
    from .models.superres import bicubic_upsample

    return np.asarray(bicubic_upsample(np.asarray(images32, np.float32), config.SR_SCALE))


class DiffusionCascade:
    """Inference through a saved diffusion cascade.

    Args:
        base: the 32 px U-Net ``[x_t, t, embedding] -> eps`` (the EMA weights).
        superres: the SR U-Net ``[x_t, t, embedding, low_res, aug_level] -> eps``, or None
            (bicubic then).
        meta: ``diffusion.json``: ``num_steps``, ``guidance``, ``sampling_steps``,
            ``sr_sampling_steps``, ``sample_aug_level``, ``threshold``, ``text_model``.
    """

    def __init__(self, base, superres, meta: dict, encoder=None):
        self.base, self.superres, self.meta = base, superres, dict(meta)
        self.alpha_bar = cosine_schedule(int(meta["num_steps"]))["alpha_bar"]
        self._encoder = encoder
        self._base_eps = network_eps_fn(base)
        self._sr_eps = None if superres is None else network_eps_fn(superres)
        self.seconds = {}

    @property
    def encoder(self):
        if self._encoder is None:
            from .text import TextEncoder

            self._encoder = TextEncoder(self.meta.get("text_model"))
        return self._encoder

    def sample_base(self, embeddings, seed: int = 0, guidance: float | None = None,
                    steps: int | None = None, threshold: str | None = None) -> np.ndarray:
        """32 px images (B, 32, 32, 3) in [-1, 1] for caption embeddings (B, D)."""
        m = self.meta
        embeddings = np.asarray(embeddings, np.float32)
        side = self.base.inputs[0].shape[1]
        return sample_ddim(self._base_eps, (len(embeddings), side, side, 3),
                           self.alpha_bar, steps or m["sampling_steps"], embeddings,
                           m["guidance"] if guidance is None else guidance,
                           threshold or m["threshold"], seed)

    def upsample(self, images32, embeddings, seed: int = 0, steps: int | None = None,
                 aug_level: int | None = None) -> np.ndarray:
        """The SR stage: 128 px images for 32 px ones (and their captions' embeddings)."""
        low = upsample_low_res(images32)
        if self.superres is None:
            return np.clip(low, -1.0, 1.0)
        level = self.meta["sample_aug_level"] if aug_level is None else int(aug_level)
        noise = np.random.default_rng(AUG_SEED).standard_normal(low.shape).astype(np.float32)
        levels = np.full(len(low), level, np.int32)
        low = np.asarray(q_sample(low, levels, noise, self.alpha_bar))
        eps_fn = functools.partial(self._sr_eps, low_res=low, aug_level=level)
        return sample_ddim(eps_fn, low.shape, self.alpha_bar,
                           steps or self.meta["sr_sampling_steps"],
                           np.asarray(embeddings, np.float32), 1.0, self.meta["threshold"],
                           seed + 1)

    def generate(self, captions, seed: int = 0, guidance: float | None = None):
        """``(base (B, 32, 32, 3), high (B, 128, 128, 3))`` in [-1, 1] for captions;
        ``self.seconds`` records the time of each stage."""
        captions = [captions] if isinstance(captions, str) else list(captions)
        embeddings = self.encoder.encode(captions)
        clock = time.perf_counter()
        base = self.sample_base(embeddings, seed, guidance)
        self.seconds["base"] = time.perf_counter() - clock
        clock = time.perf_counter()
        high = self.upsample(base, embeddings, seed)
        self.seconds["superres"] = time.perf_counter() - clock
        return base, high

    def save(self, directory) -> Path:
        """Write the two U-Nets and ``diffusion.json`` into ``directory`` (atomically: a new
        sibling directory takes its place)."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        new = directory.with_name(f".{directory.name}.saving-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        new.mkdir()
        self.base.save(new / BASE_FILE)
        if self.superres is not None:
            self.superres.save(new / SUPERRES_FILE)
        (new / META_FILE).write_text(json.dumps(self.meta, indent=2) + "\n")
        if directory.exists():
            old = directory.with_name(f".{directory.name}.replaced-{uuid.uuid4().hex[:8]}")
            os.replace(directory, old)
            os.replace(new, directory)
            import shutil

            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(new, directory)
        return directory

    @classmethod
    def load(cls, directory=None, encoder=None) -> "DiffusionCascade":
        """Load a cascade saved by :meth:`save` (default: the shipped one).

        Raises:
            FileNotFoundError: if ``directory`` holds no ``diffusion.json`` / base U-Net.
        """
        import keras

        from .models import unet  # noqa: F401  (registers SinusoidalEmbedding)

        directory = Path(directory) if directory is not None else PRETRAINED_DIR
        if not (directory / META_FILE).is_file() or not (directory / BASE_FILE).is_file():
            raise FileNotFoundError(f"{directory} holds no diffusion cascade ({META_FILE} and "
                                    f"{BASE_FILE}); train one with `textgan train --model "
                                    "diffusion`.")
        meta = json.loads((directory / META_FILE).read_text())
        base = keras.saving.load_model(directory / BASE_FILE, compile=False)
        sr_path = directory / SUPERRES_FILE
        superres = keras.saving.load_model(sr_path, compile=False) if sr_path.is_file() else None
        return cls(base, superres, meta, encoder)


def _crop_pipeline(high, embeddings, low_up, crop: int, batch_size: int, seed: int):
    """Batches of (high-res crop, embedding, the same crop of the upsampled low-res image),
    random crop positions on the 4-pixel grid of the low-res pixels."""
    import tensorflow as tf

    size = high.shape[1]
    cells = (size - crop) // config.SR_SCALE + 1

    def take(h, e, lo):
        g = tf.random.uniform((2,), 0, cells, dtype=tf.int32) * config.SR_SCALE
        h = tf.cast(h[g[0]:g[0] + crop, g[1]:g[1] + crop], tf.float32) / 127.5 - 1.0
        lo = tf.cast(lo[g[0]:g[0] + crop, g[1]:g[1] + crop], tf.float32)
        return tf.reshape(h, (crop, crop, 3)), e, tf.reshape(lo, (crop, crop, 3))

    ds = tf.data.Dataset.from_tensor_slices((high, embeddings, low_up))
    ds = ds.shuffle(len(high), seed=seed).repeat().map(take, num_parallel_calls=2)
    return ds.batch(batch_size, drop_remainder=True).prefetch(2)


def _full_pipeline(images32, embeddings, batch_size: int, seed: int):
    import tensorflow as tf

    x = images32.astype(np.float32) / 127.5 - 1.0
    ds = tf.data.Dataset.from_tensor_slices((x, embeddings)).shuffle(len(x), seed=seed)
    return ds.repeat().batch(batch_size, drop_remainder=True).prefetch(2)


def _fit_stage(name, model, dataset, epochs, steps_per_epoch, batch_size, directory, setup,
               learning_rate):
    """Train one stage with a checkpoint after every epoch; resume from it if there is one."""
    import keras

    from .callbacks import GANCheckpoint, StopOnNonFinite

    model.compile(optimizer=keras.optimizers.Adam(learning_rate, global_clipnorm=1.0))
    model.optimizer.build(model.network.trainable_weights)
    checkpoint = GANCheckpoint(model, Path(directory) / "checkpoints" / name, steps_per_epoch,
                               batch_size, setup)
    meta = checkpoint.restore()
    done = 0 if meta is None else int(meta["epoch"])
    clock = time.perf_counter()
    if done < epochs:
        print(f"[textgan] diffusion {name}: epochs {done + 1}..{epochs} of {steps_per_epoch} "
              f"steps (batch {batch_size})", flush=True)
        model.fit(dataset, epochs=epochs, initial_epoch=done, steps_per_epoch=steps_per_epoch,
                  callbacks=[checkpoint, StopOnNonFinite(checkpoint)], verbose=2)
    return checkpoint.history, time.perf_counter() - clock


def train_diffusion_cascade(out_dir=None, mode: str | None = None, recipe: dict | None = None,
                            evaluate: bool = True) -> dict:
    """The diffusion main job: train the 32 px base and the SR stage on the emoji, save the
    cascade into ``out_dir/cascade`` and write ``out_dir/report.json`` (losses, minutes,
    sampling seconds, R@1 / sharpness / FID of the base images as in 08, SR PSNR).

    The run mode chooses the number of epochs of each stage (``recipe["epochs"][mode]``) and,
    in smoke mode, the data (256 pairs); the recipe chooses the networks.
    """
    import keras

    from .data.emoji import load_emoji
    from .data.pipeline import resize_uint8
    from .diffusion import DiffusionModel
    from .models.unet import build_unet
    from .recipes import DIFFUSION_EMOJI
    from .text import TextEncoder

    recipe = json.loads(json.dumps(DIFFUSION_EMOJI if recipe is None else recipe))
    cfg = config.get_config(mode)
    out_dir = Path(out_dir) if out_dir else config.output_dir() / "diffusion"
    epochs = {k: int(v) for k, v in recipe["epochs"][cfg.mode].items()}
    report = {"mode": cfg.mode, "data": "emoji", "recipe": recipe, "epochs": epochs,
              "precision": keras.config.dtype_policy().name, "seconds": {}}
    old = out_dir / "report.json"
    if old.is_file() and (out_dir / "cascade" / META_FILE).is_file():
        previous = json.loads(old.read_text())
        if all(previous.get(k) == report[k] for k in ("mode", "recipe", "epochs")):
            print(f"[textgan] {out_dir} already holds this finished run: nothing to do.")
            return previous
    out_dir.mkdir(parents=True, exist_ok=True)
    config.set_seed()
    clock = time.perf_counter()
    train = load_emoji("train", max_images=cfg.max_train_images)
    encoder = TextEncoder()
    embeddings = encoder.encode(train.captions)
    images32 = resize_uint8(train.images, config.BASE_SIZE)
    report["seconds"]["data_and_text"] = round(time.perf_counter() - clock, 1)
    print(f"[textgan] diffusion, mode={cfg.mode}: {len(images32)} training pairs", flush=True)
    b, lr = recipe["batch_size"], recipe["learning_rate"]
    spe = min(recipe["steps_per_epoch"], cfg.max_steps_per_epoch or recipe["steps_per_epoch"])
    setup = {"mode": cfg.mode, "recipe": recipe, "pairs": len(images32)}
    common = {"num_steps": recipe["num_steps"], "drop_prob": recipe["drop_prob"],
              "ema_decay": recipe["ema_decay"], "seed": config.SEED}

    base = DiffusionModel(build_unet(config.BASE_SIZE, **recipe["base"]), **common)
    history, seconds = _fit_stage("base", base, _full_pipeline(images32, embeddings, b,
                                                               config.SEED),
                                  epochs["base"], spe, b, out_dir, setup, lr)
    report["seconds"]["base"] = round(seconds, 1)
    report["base_loss"] = history.get("loss", [None])[-1]

    low_up = upsample_low_res(images32.astype(np.float32) / 127.5 - 1.0).astype(np.float16)
    sr = DiffusionModel(build_unet(None, low_res=True, name="sr_unet", **recipe["superres"]),
                        aug_max=recipe["aug_max"], **common)
    history, seconds = _fit_stage("superres", sr, _crop_pipeline(
        train.images, embeddings, low_up, recipe["crop"], b, config.SEED), epochs["superres"],
        spe, b, out_dir, setup, lr)
    report["seconds"]["superres"] = round(seconds, 1)
    report["superres_loss"] = history.get("loss", [None])[-1]

    meta = {k: recipe[k] for k in ("num_steps", "guidance", "sampling_steps",
                                   "sr_sampling_steps", "sample_aug_level", "threshold")}
    meta.update(text_model=None, run_mode=cfg.mode)
    cascade = DiffusionCascade(base.sampler_network, sr.sampler_network, meta, encoder)
    cascade.save(out_dir / "cascade")
    if evaluate:
        report["evaluation"] = evaluate_diffusion(cascade, encoder,
                                                  small=cfg.mode == "smoke")
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"[textgan] diffusion cascade saved in {out_dir / 'cascade'}", flush=True)
    return report


def evaluate_diffusion(cascade: DiffusionCascade, encoder=None, small: bool = False) -> dict:
    """R@1 (train, held out), sharpness and FID of the base stage's 32 px images (the 08
    protocol of :mod:`textgan_lib.recognizability`, noise seed 42), the seconds per image of
    each stage, and the SR stage's PSNR against bicubic on held-out images (from their real
    32 px versions; the first 8 in smoke mode, 64 otherwise)."""
    from . import recognizability as rec
    from .data.emoji import load_emoji
    from .metrics import psnr

    sets = rec.evaluation_sets(encoder)
    if small:
        sets = {k: rec.EvalSet(v.name, v.captions[:16], v.embeddings[:16], v.images[:16])
                for k, v in sets.items()}
    clock = time.perf_counter()
    images = {k: cascade.sample_base(v.embeddings, seed=rec.NOISE_SEED) for k, v in sets.items()}
    n = sum(len(v) for v in images.values())
    out = {"base_seconds_per_image": (time.perf_counter() - clock) / n}
    if not small:
        out.update(rec.score_images(images, sets))
    val = load_emoji("val")
    k = 8 if small else 64
    high = val.images[:k].astype(np.float32) / 127.5 - 1.0
    from .data.pipeline import resize_uint8

    low = resize_uint8(val.images[:k], config.BASE_SIZE).astype(np.float32) / 127.5 - 1.0
    clock = time.perf_counter()
    sr = cascade.upsample(low, sets["val"].embeddings[:k])
    out["superres_seconds_per_image"] = (time.perf_counter() - clock) / k
    out["psnr_superres"] = float(np.mean(psnr(sr, high)))
    out["psnr_bicubic"] = float(np.mean(psnr(np.clip(upsample_low_res(low), -1, 1), high)))
    out["n_superres"] = k
    return out


__all__ = ["DiffusionCascade", "upsample_low_res", "train_diffusion_cascade",
           "evaluate_diffusion", "PRETRAINED_DIR"]
