"""The whole cascade: caption -> text embedding -> base image -> super-resolved image.

Taught in ``07_cascade_demo``; :func:`train_cascade` is the course's main job
(``python -m textgan_lib train``), the walking skeleton of ``06_training``.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from . import config

#: Files of a saved cascade, inside its directory.
GENERATOR_FILE = "generator.keras"
SUPERRES_FILE = "superres.keras"
META_FILE = "cascade.json"
#: The pretrained cascade shipped with the course (``data/pretrained/README.md`` gives the command
#: that made it; README.md's "Pretrained cascade" the time, hardware and FID).
PRETRAINED_DIR = config.DATA_DIR / "pretrained"


class Cascade:
    """Inference through the cascade. Taught in ``07_cascade_demo``.

    Args:
        generator: ``[embedding (B, D), z (B, z_dim)] -> (B, 32, 32, 3)`` in [-1, 1].
        superres: ``(B, h, w, 3) -> (B, 4h, 4w, 3)`` in [-1, 1] (unclipped).
        text_model: the :class:`~textgan_lib.text.TextEncoder` model name (``None``: the
            offline MiniLM); the generator only understands the encoder it was trained with.
        encoder: an already loaded :class:`~textgan_lib.text.TextEncoder` (optional).
        run_mode: the run mode it was trained in (``"smoke"``, ``"course"``, ``"full"``), if
            known; saved in ``cascade.json``.
    """

    def __init__(self, generator, superres, text_model: str | None = None, encoder=None,
                 run_mode: str | None = None):
        self.generator = generator
        self.superres = superres
        self.text_model = text_model
        self._encoder = encoder
        self.run_mode = run_mode

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
        """Write ``generator.keras``, ``superres.keras`` and ``cascade.json`` into ``directory``.

        Atomically: the files are written into a new hidden sibling directory, which then
        takes the place of ``directory`` (renames, on the same file system), so a process
        killed during the save leaves the previous cascade, or none, never a half-written one
        that :meth:`load` would read. Other files in an existing ``directory`` are kept.
        """
        from .models import blocks

        directory = Path(directory)
        if directory.is_symlink():
            directory = directory.resolve()           # replace what the link points to
        if directory.exists() and not directory.is_dir():
            raise NotADirectoryError(f"{directory} is a file, not a directory: cannot save a "
                                     "cascade there; choose another directory.")
        directory.parent.mkdir(parents=True, exist_ok=True)
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        new = directory.with_name(f".{directory.name}.saving-{tag}")
        old = directory.with_name(f".{directory.name}.replaced-{tag}")
        new.mkdir()
        try:
            # float32 copies of models trained under a mixed policy (blocks.float32_copy)
            blocks.float32_copy(self.generator).save(new / GENERATOR_FILE)
            blocks.float32_copy(self.superres).save(new / SUPERRES_FILE)
            meta = {"text_model": self.text_model, "base_size": config.BASE_SIZE,
                    "high_size": config.HIGH_SIZE, "z_dim": self.z_dim,
                    "run_mode": self.run_mode}
            (new / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
            if directory.exists():
                os.replace(directory, old)
            try:
                os.replace(new, directory)
            except BaseException:
                if old.exists() and not directory.exists():
                    os.replace(old, directory)        # put the previous cascade back
                raise
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
        if old.exists():
            ours = {GENERATOR_FILE, SUPERRES_FILE, META_FILE}
            for entry in old.iterdir():               # e.g. a README beside the cascade
                if entry.name not in ours and not (directory / entry.name).exists():
                    os.replace(entry, directory / entry.name)
            shutil.rmtree(old, ignore_errors=True)
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
            with config.float32_policy():      # float32 whatever the global policy
                generator = keras.saving.load_model(directory / GENERATOR_FILE)
                superres = keras.saving.load_model(directory / SUPERRES_FILE)
        except (ValueError, OSError) as error:   # json and Keras raise ValueError on bad files
            raise ValueError(
                f"the cascade in {directory} could not be loaded ({type(error).__name__}: "
                f"{error}). Train it again with `python -m textgan_lib train`.") from None
        return cls(generator, superres, text_model=meta.get("text_model"), encoder=encoder,
                   run_mode=meta.get("run_mode"))

    @classmethod
    def load_default(cls, encoder=None) -> tuple["Cascade", str]:
        """The student's own cascade if one was trained, else the shipped pretrained one.

        Looks in ``config.output_dir() / "cascade"`` (where ``textgan train`` writes) first,
        then in :data:`PRETRAINED_DIR`. A cascade of a ``smoke``-mode run (a few steps: a test,
        not a model) is passed over for the pretrained one, and ``source`` says so.

        Returns:
            ``(cascade, source)``: ``source`` is ``"trained"`` or ``"pretrained"``, followed by
            ``": <directory>"``, for the notebook and the CLI to say which one they use.

        Raises:
            FileNotFoundError: if neither exists (the message says how to train one).
            ValueError: if the one found cannot be loaded.
        """
        own = config.output_dir() / "cascade"
        note = ""
        if (own / META_FILE).is_file():
            try:
                smoke = json.loads((own / META_FILE).read_text()).get("run_mode") == "smoke"
            except ValueError:
                smoke = False          # let load() report the broken file
            if not smoke:
                return cls.load(own, encoder=encoder), f"trained: {own}"
            note = f" ({own} holds a smoke-mode test run: not used)"
        if (PRETRAINED_DIR / META_FILE).is_file():
            return (cls.load(PRETRAINED_DIR, encoder=encoder),
                    f"pretrained: {PRETRAINED_DIR}{note}")
        raise FileNotFoundError(
            f"no trained cascade in {own} and no pretrained one in {PRETRAINED_DIR}. Train one "
            "with `python -m textgan_lib train` (see README.md: Quickstart).")


def evaluate_superres(model, images: np.ndarray, batch_size: int = 64) -> dict:
    """Mean PSNR and SSIM (dB / unitless) of ``model`` and of bicubic on ``images``: the
    main job's keys for :func:`textgan_lib.models.superres.evaluate_sr`.

    Args:
        model: a super-resolution model with scale ``config.SR_SCALE``.
        images: uint8 (N, 128, 128, 3) held-out high-resolution images.

    Returns:
        ``{"psnr_model", "psnr_bicubic", "psnr_gain", "ssim_model", "ssim_bicubic", "n"}``.
    """
    from .models.superres import evaluate_sr

    result = evaluate_sr(model, images, scale=config.SR_SCALE, batch_size=batch_size)
    return {"psnr_model": result["psnr"], "psnr_bicubic": result["psnr_bicubic"],
            "psnr_gain": result["psnr_gain"], "ssim_model": result["ssim"],
            "ssim_bicubic": result["ssim_bicubic"], "n": result["n"]}


DATA_SETS = ("emoji", "shapes")
#: Training images drawn for ``--data shapes`` when the run mode sets no limit.
SHAPES_TRAIN_IMAGES = 4096


def _compare_recognizability(cascade: Cascade, encoder) -> dict:
    """R@1, sharpness and FID (:mod:`textgan_lib.recognizability`) of ``cascade`` and of the
    shipped pretrained cascade, for the main job's last lines."""
    from . import fid, recognizability as rec

    try:
        network = fid.load_feature_network()
    except (FileNotFoundError, ValueError) as error:
        print(f"[textgan] no recognisability scores: {error}")
        return {}
    extractor = fid.feature_extractor(network)
    sets = rec.evaluation_sets(encoder)
    out = {"this run": rec.score_generator(cascade.generator, sets, network, extractor)}
    try:
        shipped = Cascade.load(PRETRAINED_DIR, encoder=encoder)
    except (FileNotFoundError, ValueError) as error:
        print(f"[textgan] no comparison with the shipped cascade: {error}")
    else:
        out["shipped cascade"] = rec.score_generator(shipped.generator, sets, network, extractor)
    return out


def _matching_encoders(directory, recipe, images, embeddings, image_ids, verbose):
    """The run's frozen DAMSM-style matching encoders (:mod:`textgan_lib.matching`), trained
    once per run (``recipe["matching"]``: epochs, code_dim) and reloaded on resume."""
    from . import matching

    image_enc, text_enc, seconds = matching.load_or_train_encoders(
        directory, images, embeddings, image_ids, verbose=verbose, **recipe.get("matching", {}))
    report = json.loads((Path(directory) / "report.json").read_text())
    how = f"trained in {seconds:.0f} s" if seconds else f"loaded from {directory}"
    print(f"[textgan] matching encoders ({how}): loss {report['final_loss']:.3f}, own R@1 "
          f"among 1,000 training images {report['train_r1_of_1000']:.3f}")
    return image_enc, text_enc


def _load_training_data(data: str, cfg, encoder, num_samples: int):
    """``(train_images uint8 (N, S, S, 3), train_embeddings, train_ids, val_images,
    val_captions, val_attributes or None, picks)`` for ``data`` (128 px for emoji, 32 px for
    shapes); ``picks``: the ``num_samples`` validation examples shown in ``val_samples.png``."""
    if data == "emoji":
        from .data.emoji import load_emoji

        train = load_emoji("train", max_images=cfg.max_train_images)
        val = load_emoji("val")
        picks = sorted(np.random.default_rng(config.SEED).choice(len(val), num_samples,
                                                                 replace=False))
        return (train.images, encoder.encode(train.captions), train.image_ids,
                val.images, val.captions, None, picks)
    from .data.shapes import all_captions, make_shapes

    table = encoder.encode(all_captions())          # 180 captions, indexed by image_ids
    train = make_shapes(cfg.max_train_images or SHAPES_TRAIN_IMAGES, image_size=config.BASE_SIZE,
                        split="train", seed=config.SEED)
    val = make_shapes(max(num_samples, 256), image_size=config.BASE_SIZE, split="val",
                      seed=config.SEED + 1)
    return (train.images, table[train.image_ids], train.image_ids, val.images, val.captions,
            val.attributes, list(range(num_samples)))


#: What must match for a rerun to count as "the same run" (:func:`finished_report`).
RUN_KEYS = ("mode", "data", "config", "gan_options", "gan_epochs", "batch_size")


def finished_report(out_dir, report: dict) -> dict | None:
    """The saved report of a finished run of the same command in ``out_dir``, or None.

    A run is finished when ``out_dir`` holds ``report.json`` and a saved cascade
    (``cascade/cascade.json``); it is the same run when the report's :data:`RUN_KEYS` equal
    ``report``'s (the new run's settings). :func:`train_cascade` then returns the old report
    and writes nothing: rerunning a finished command neither retrains the SR stage nor
    replaces the report.
    """
    path = Path(out_dir) / "report.json"
    if not path.is_file() or not (Path(out_dir) / "cascade" / META_FILE).is_file():
        return None
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(old, dict) or any(old.get(k) != report[k] for k in RUN_KEYS):
        return None
    return old


def train_cascade(out_dir=None, mode: str | None = None, num_samples: int = 16,
                  verbose="auto", data: str = "emoji", epochs: int | None = None,
                  batch_size: int | None = None, augment: str = "",
                  ema_decay: float | None = None, gradient_penalty: str | None = None,
                  loss: str = "bce", generator_options: dict | None = None,
                  discriminator_options: dict | None = None, jit_compile="auto",
                  learning_rate: float = 2e-4, recipe: dict | None = None) -> dict:
    """The main job: train the base GAN and the super-resolution stage.

    Taught in ``06_training`` (``textgan train``). ``data="emoji"`` (default) trains on the
    emoji set; ``data="shapes"`` on captioned shapes drawn at 32 px (train-split captions;
    the super-resolution stage is plain bicubic, since shapes have no 128 px originals), and
    the report adds the attribute accuracy of generated images for held-out captions.

    Writes into ``out_dir`` (default ``config.output_dir()``):

    * ``cascade/`` - the saved cascade (:meth:`Cascade.load` reads it); its generator is the
      EMA generator when ``ema_decay`` is set;
    * ``checkpoints/``, ``samples/``, ``logs/`` - see :func:`textgan_lib.training.fit_gan`;
      **rerunning the same command resumes** the GAN training from the last checkpoint,
      and once the run has finished it does nothing (:func:`finished_report`);
    * ``val_samples.png`` - real vs generated (32 px and super-resolved 128 px) images for
      ``num_samples`` validation captions the model never trained on;
    * ``report.json`` - run mode, data, options, epochs, time per stage, final losses, SR PSNR
      vs bicubic (emoji) or attribute accuracy (shapes).

    Args:
        epochs, batch_size: override the run mode's ``gan_epochs`` / ``batch_size``.
        augment, ema_decay, gradient_penalty, loss: :class:`~textgan_lib.training.TextGAN`
            options (defaults: the plain GAN-CLS model).
        generator_options, discriminator_options: extra keyword arguments of
            :func:`~textgan_lib.models.build_generator` / ``build_discriminator`` (e.g.
            ``{"fusion": "film", "conditioning_augmentation": True}``).
        jit_compile: passed to ``compile`` (XLA).
        learning_rate: Adam learning rate of both networks (beta_1 0.5, as DCGAN).
        recipe: a recipe of :mod:`textgan_lib.recipes` (e.g. ``recipes.EMOJI``). When given, it
            decides the networks, the GAN options, the learning rate, the batch size (unless
            ``batch_size`` is given) and the SR network (its ``"superres"`` part), and the
            option arguments above are ignored; the run mode still decides how long.

    Returns:
        the report as a dict.

    Raises:
        ValueError: for an unknown ``data``, or model options passed beside a ``recipe``.
        textgan_lib.callbacks.NonFiniteLossError: the GAN's losses became non-finite.
    """
    from .models import build_superres
    from .models.blocks import float32_copy, text_statistics
    from .models.superres import fit_superres
    from .recipes import build_gan
    from .text import TextEncoder
    from .training import epoch_steps, fit_gan
    from .viz import comparison_grid

    if data not in DATA_SETS:
        raise ValueError(f"data={data!r}; use one of {', '.join(DATA_SETS)}.")
    given = {"augment": augment != "", "ema_decay": ema_decay is not None,
             "gradient_penalty": gradient_penalty is not None, "loss": loss != "bce",
             "generator_options": bool(generator_options),
             "discriminator_options": bool(discriminator_options),
             "learning_rate": learning_rate != 2e-4}
    if recipe is not None and any(given.values()):
        names = ", ".join(k for k, v in given.items() if v)
        raise ValueError(f"a recipe fixes the model; drop {names} or pass no recipe.")
    cfg = config.get_config(mode)
    out_dir = Path(out_dir) if out_dir else config.output_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    config.set_seed()
    epochs = cfg.gan_epochs if epochs is None else int(epochs)
    if recipe is None:
        recipe = {"generator": dict(generator_options or {}),
                  "discriminator": dict(discriminator_options or {}),
                  "learning_rate": learning_rate, "batch_size": cfg.batch_size,
                  "gan": {"augment": augment, "ema_decay": ema_decay,
                          "gradient_penalty": gradient_penalty, "loss": loss}}
    recipe = json.loads(json.dumps(recipe))
    batch_size = recipe.get("batch_size", cfg.batch_size) if batch_size is None else int(batch_size)
    learning_rate = recipe["learning_rate"]
    options = {**recipe["gan"], "learning_rate": learning_rate,
               "standardize_text": bool(recipe.get("standardize_text")),
               "generator": recipe["generator"], "discriminator": recipe["discriminator"],
               "superres": recipe.get("superres", {}),
               **({"matching": recipe.get("matching", {})}
                  if recipe["gan"].get("matching_weight") else {}),
               **({"lr_decay_start": recipe["lr_decay_start"]}
                  if recipe.get("lr_decay_start") is not None else {})}
    report = {"mode": cfg.mode, "data": data, "config": asdict(cfg), "gan_options": options,
              "gan_epochs": epochs, "batch_size": batch_size,
              "precision": keras.config.dtype_policy().name, "seconds": {}}
    finished = finished_report(out_dir, report)
    if finished is not None:
        print(f"[textgan] {out_dir} already holds this run, finished ({epochs} epochs; "
              "report.json and cascade/): nothing to do. To train again or longer, use a new "
              "--out" + ("" if recipe.get("lr_decay_start") is not None else
                         " (or a larger --epochs, which continues this run)") + ".")
        return finished
    start = clock = time.perf_counter()

    encoder = TextEncoder()
    (train_images, train_embeddings, train_ids, val_images, val_captions,
     val_attributes, picks) = _load_training_data(data, cfg, encoder, num_samples)
    report["seconds"]["data_and_text"] = round(time.perf_counter() - clock, 1)
    print(f"[textgan] mode={cfg.mode}, data={data}: {len(train_images)} training pairs, "
          f"{len(val_captions)} validation captions, text embeddings {train_embeddings.shape}")

    clock = time.perf_counter()
    stats = (text_statistics(train_embeddings[np.unique(train_ids, return_index=True)[1]])
             if recipe.get("standardize_text") else None)
    steps = epoch_steps(len(train_images), batch_size, cfg.max_steps_per_epoch)
    decay = ({"lr_decay_start": recipe["lr_decay_start"], "total_steps": epochs * steps}
             if recipe.get("lr_decay_start") is not None else {})
    matching = None
    if recipe["gan"].get("matching_weight"):
        matching = _matching_encoders(out_dir / "matching", recipe, train_images,
                                      train_embeddings, train_ids, verbose)
        report["matching_encoder"] = json.loads((out_dir / "matching" / "report.json")
                                                .read_text())
    gan = build_gan(recipe, encoder.dim, text_stats=stats, jit_compile=jit_compile,
                    total_steps=epochs * steps, matching_encoders=matching)
    grid_captions = [val_captions[i] for i in picks[:8]]
    print(f"[textgan] training the base GAN ({config.BASE_SIZE} px) for {epochs} epochs")
    history = fit_gan(gan, train_images, train_embeddings, train_ids, epochs=epochs,
                      batch_size=batch_size, steps_per_epoch=cfg.max_steps_per_epoch,
                      out_dir=out_dir, sample_embeddings=encoder.encode(grid_captions),
                      sample_captions=grid_captions, image_size=config.BASE_SIZE,
                      setup={"data": data, "learning_rate": learning_rate,
                             "generator": recipe["generator"],
                             "discriminator": recipe["discriminator"],
                             **({"standardize_text": True} if stats is not None else {}),
                             **decay},
                      verbose=verbose)
    report["gan_final"] = {k: round(float(v[-1]), 4) for k, v in history.history.items()}
    report["seconds"]["gan"] = round(time.perf_counter() - clock, 1)

    clock = time.perf_counter()
    if data == "emoji":
        superres = build_superres(config.SR_SCALE, **options["superres"])
        print(f"[textgan] training super-resolution x{config.SR_SCALE} "
              f"({superres.count_params():,} parameters) for {cfg.sr_steps} "
              "steps on random 16x16 low-res patches")
        fit_superres(superres, train_images, scale=config.SR_SCALE, steps=cfg.sr_steps,
                     epochs=4 if cfg.sr_steps % 4 == 0 else 1, verbose=verbose)
        superres = float32_copy(superres)    # trained under the run's policy, used in float32
        report["superres"] = evaluate_superres(superres, val_images)
    else:   # shapes have no high-resolution originals: the SR stage is bicubic
        low = keras.Input((None, None, 3), name="low_res")
        superres = keras.Model(low, keras.layers.UpSampling2D(
            config.SR_SCALE, interpolation="bicubic", name="bicubic")(low), name="bicubic")
        report["superres"] = {"model": "bicubic (no training: shapes are drawn at 32 px)"}
    report["seconds"]["superres"] = round(time.perf_counter() - clock, 1)

    cascade = Cascade(float32_copy(gan.sampler), superres, text_model=None, encoder=encoder,
                      run_mode=cfg.mode)
    cascade.save(out_dir / "cascade")
    captions = [val_captions[i] for i in picks]
    base, high = cascade.generate(captions, seed=config.SEED)
    real = val_images[picks]
    figure = comparison_grid([real, base, high],
                             [f"real ({real.shape[1]} px)", f"generated ({config.BASE_SIZE} px)",
                              f"+ SR x{config.SR_SCALE}"], captions)
    figure.savefig(out_dir / "val_samples.png", dpi=110)
    report["val_captions"] = captions
    if val_attributes is not None:
        from .data.shapes import attribute_accuracy

        all_base, _ = cascade.generate(val_captions, seed=config.SEED)
        report["val_attribute_accuracy"] = attribute_accuracy(all_base, val_attributes)
        report["val_attribute_accuracy"]["n"] = len(val_captions)
    if data == "emoji":
        report["recognizability"] = _compare_recognizability(cascade, encoder)
    report["seconds"]["total"] = round(time.perf_counter() - start, 1)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")

    if data == "emoji":
        sr = report["superres"]
        print(f"[textgan] super-resolution on {sr['n']} validation images: "
              f"PSNR {sr['psnr_model']:.2f} dB vs bicubic {sr['psnr_bicubic']:.2f} dB "
              f"(gain {sr['psnr_gain']:+.2f} dB)")
        for name, r in report["recognizability"].items():
            print(f"[textgan] {name}: R@1 {r['r1_train']:.3f} on {r['n_train']} training "
                  f"captions, {r['r1_val']:.3f} on {r['n_val']} held-out (chance 0.01), "
                  f"sharpness {r['sharpness']:.3f}, FID {r['fid_val']:.2f}")
    else:
        acc = report["val_attribute_accuracy"]
        print(f"[textgan] attribute accuracy on {acc['n']} images of "
              f"{len(set(val_captions))} held-out captions: colour "
              f"{acc['colour']:.1%}, shape {acc['shape']:.1%}, size {acc['size']:.1%}, "
              f"position {acc['position']:.1%}, all {acc['all']:.1%}")
    print(f"[textgan] total time {report['seconds']['total'] / 60:.1f} min")
    print(f"[textgan] wrote {out_dir / 'cascade'}, {out_dir / 'val_samples.png'}, "
          f"{out_dir / 'report.json'}")
    return report


__all__ = ["Cascade", "train_cascade", "evaluate_superres", "DATA_SETS", "PRETRAINED_DIR"]
