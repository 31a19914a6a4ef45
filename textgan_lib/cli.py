"""Command line: ``python -m textgan_lib train|generate|evaluate`` (also installed as ``textgan``).

Taught in ``06_training``, ``07_cascade_demo`` and ``08_evaluation``. The same code the
notebooks call.

A bad command line is refused with one line on stderr and exit code 2, before TensorFlow
loads wherever the check needs no model; a refused run writes nothing.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

from . import config

RECIPES = ("emoji", "shapes", "plain")
MODEL_FLAGS = ("augment", "ema", "gp", "loss", "lr", "g_fusion", "ca", "d_fusion",
               "spectral_norm")


def _version() -> str:
    """The installed package's version (``importlib.metadata``), else ``__version__``."""
    from importlib import metadata

    try:
        return metadata.version("textgan-lib")
    except metadata.PackageNotFoundError:       # run from a source tree, not installed
        return getattr(sys.modules[__package__], "__version__", "unknown")


class _Parser(argparse.ArgumentParser):
    """``argparse`` with one-line errors: ``textgan train: <what> (see textgan train --help)``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="textgan",
                     description="Train the text-to-image GAN cascade of the textgan course, "
                                 "and draw images with it. Also run as: python -m textgan_lib.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser(
        "train", help="train the cascade (rerunning the same command resumes it)",
        description="Train the base GAN and the super-resolution stage. Checkpoints go to "
                    "OUT/checkpoints after every epoch: rerun the same command to resume.")
    train.add_argument("--model", choices=("gan", "diffusion"), default="gan",
                       help="gan (default): the course's GAN cascade; diffusion: the small "
                            "Imagen of 09_real_imagen (emoji, recipes.DIFFUSION_EMOJI; output "
                            "default outputs/diffusion)")
    train.add_argument("--data", choices=("emoji", "shapes"), default="emoji",
                       help="training set: the bundled emoji (default) or captioned shapes")
    train.add_argument("--mode", choices=config.MODES,
                       help="run mode (default: $TEXTGAN_MODE, else course)")
    train.add_argument("--out", type=Path, help="output directory (default: outputs/)")
    train.add_argument("--epochs", type=int, help="GAN epochs (default: the run mode's)")
    train.add_argument("--batch-size", type=int, help="default: the run mode's")
    train.add_argument("--recipe", choices=RECIPES,
                       help="the measured recipe of textgan_lib.recipes (default: the data set's, "
                            "emoji or shapes; 'plain' is the GAN-CLS skeleton, whose "
                            "options the flags below set)")
    model = train.add_argument_group(
        "model options", "build the model from these instead of a recipe (with --recipe plain, "
        "the default when any of them is given)")
    model.add_argument("--augment", default=None,
                       help='DiffAugment policy, e.g. "color,translation,cutout" (default none)')
    model.add_argument("--ema", type=float, metavar="DECAY",
                       help="keep an EMA generator with this decay (e.g. 0.999)")
    model.add_argument("--gp", choices=("r1", "ma_gp"), help="gradient penalty on D")
    model.add_argument("--loss", choices=("bce", "hinge"))
    model.add_argument("--lr", type=float,
                       help="Adam learning rate of G and D (default 2e-4, as DCGAN)")
    model.add_argument("--g-fusion", choices=("concat", "film", "concat_film"),
                       help="generator text fusion (default concat)")
    model.add_argument("--ca", action="store_true", default=None,
                       help="conditioning augmentation in the generator (StackGAN)")
    model.add_argument("--d-fusion", choices=("concat", "projection"),
                       help="discriminator text fusion (default concat)")
    model.add_argument("--spectral-norm", action="store_true", default=None,
                       help="spectral norm in D")
    train.add_argument("--precision",
                       choices=config.PRECISIONS,
                       default="auto",
                       help="Keras dtype policy (default auto: mixed_bfloat16 on a CPU with "
                            "bfloat16 matmuls, mixed_float16 on a GPU, else float32)")
    train.add_argument("--jit", choices=("auto", "on", "off"), default="auto",
                       help="XLA compilation of the train step (default: Keras decides)")

    gen = sub.add_parser("generate", help="draw an image for a caption with a trained cascade")
    gen.add_argument("caption", help='e.g. "red apple"')
    gen.add_argument("-o", "--output", type=Path, default=Path("textgan.png"),
                     help="image file to write, always PNG data; default textgan.png")
    gen.add_argument("--model",
                     help="saved cascade directory (GAN or diffusion), or 'diffusion' for the "
                          "diffusion cascade (outputs/diffusion/cascade if you trained one, "
                          "else the shipped data/pretrained/diffusion); default: the GAN, "
                          "outputs/cascade if you trained one, else data/pretrained")
    gen.add_argument("--seed", type=int, default=0,
                     help="noise seed, a whole number >= 0 (default 0)")
    gen.add_argument("--base-output", type=Path, help="also write the 32 px base image here")

    ev = sub.add_parser(
        "evaluate", help="FID, KID, R-precision and IS of saved cascades, with intervals",
        description="Score each saved cascade's base generator and the real images on the "
                    "emoji evaluation sets (400 training and 402 held-out captions): FID, KID, "
                    "R@1 and Inception Score, each with its interval and n.")
    ev.add_argument("--model", type=Path, action="append", default=[], metavar="DIR",
                    help="saved cascade directory (repeat for several; default: data/pretrained)")
    ev.add_argument("--json", type=Path, default=Path("evaluation.json"),
                    help="write the numbers here (default evaluation.json)")
    return parser


def _refuse(command: str, message: str) -> int:
    """Print ``textgan COMMAND: MESSAGE`` (one line) on stderr; return exit code 2."""
    print(f"textgan {command}: {' '.join(message.splitlines())}", file=sys.stderr)
    return 2


def _can_create_in(directory: str) -> OSError | None:
    """None if a file can be created in ``directory``, else the error. Leaves nothing behind
    (an unnamed temporary file, removed at once)."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return None
    except OSError as error:
        return error


def _path_problem(flag: str, path: Path, directory: bool = False) -> str | None:
    """Why ``path`` (a file to write, or with ``directory`` a directory to write into, created
    if missing) cannot be used, as a one-line message naming ``flag``; None if it can.
    Creates and changes nothing."""
    if os.path.isdir(path):
        if not directory:
            example = path / ("evaluation.json" if flag == "--json" else "textgan.png")
            return f"{flag} {path} is a directory; give a file name such as {example}"
        error = _can_create_in(str(path))
        return None if error is None else (
            f"{flag} {path}: no file can be created in it ({error.strerror or error}); "
            "choose a directory you can write to")
    if os.path.lexists(path):
        if directory:
            return (f"{flag} {path} is a file, not a directory; choose a directory "
                    "(it is created if missing)")
        if os.path.isfile(path) and not os.access(path, os.W_OK):
            return f"{flag} {path} is read-only; choose another file name"
        return None
    parent = path.parent                      # the nearest part of the path that exists
    while parent != parent.parent and not os.path.lexists(parent):
        parent = parent.parent
    if os.path.lexists(parent) and not os.path.isdir(parent):
        return (f"{flag} {path} cannot be created: {parent} is a file, not a directory; "
                "choose another path")
    error = _can_create_in(str(parent))
    return None if error is None else (
        f"{flag} {path} cannot be created: no file can be made in {parent} "
        f"({error.strerror or error}); choose a directory you can write to")


def _mode_problem() -> str | None:
    """The message of an unknown ``$TEXTGAN_MODE``, or None."""
    try:
        config.get_mode()
    except ValueError as error:
        return str(error)
    return None


def _recipe_name(args) -> str:
    """The recipe the command line asks for: ``--recipe``, else ``plain`` when a model flag is
    given, else the data set's."""
    return args.recipe or ("plain" if _model_flags(args) else args.data)


def _model_flags(args) -> list[str]:
    """The model options given on the command line, as flags (``--lr``, ...)."""
    return [f"--{name.replace('_', '-')}" for name in MODEL_FLAGS
            if getattr(args, name) is not None]


def _train_problem(args) -> str | None:
    """The first thing wrong with a ``train`` command line (one line), or None. Loads no
    TensorFlow and writes nothing."""
    name, given = _recipe_name(args), _model_flags(args)
    if args.model == "diffusion":
        gan_only = given + [flag for flag, value in (
            ("--recipe", args.recipe), ("--epochs", args.epochs),
            ("--batch-size", args.batch_size)) if value is not None]
        gan_only += ["--precision"] if args.precision != "auto" else []
        gan_only += ["--jit"] if args.jit != "auto" else []
        if args.data != "emoji":
            return ("--model diffusion trains on the emoji only (recipes.DIFFUSION_EMOJI); "
                    "drop --data " + args.data)
        if gan_only:
            return (f"--model diffusion takes its networks and run length from "
                    f"recipes.DIFFUSION_EMOJI and the run mode; drop {', '.join(gan_only)}")
    if name != "plain" and given:
        return (f"--recipe {name} fixes the model; drop {', '.join(given)} (or use "
                "--recipe plain with the model options)")
    if name != "plain" and name != args.data:
        return (f"--recipe {name} is measured on --data {name}, not --data {args.data}; "
                f"add --data {name}")
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            return f"{flag} must be a positive whole number, got {value}"
    if args.lr is not None and not 0 < args.lr < math.inf:
        return f"--lr must be > 0, got {args.lr}; e.g. 2e-4"
    if args.ema is not None and not 0 <= args.ema < 1:
        return f"--ema must be in [0, 1), e.g. 0.999; got {args.ema}"
    if args.out is not None and (problem := _path_problem("--out", args.out, directory=True)):
        return problem
    return None if args.mode else _mode_problem()       # --mode overrides $TEXTGAN_MODE


def _train(args) -> int:
    problem = _train_problem(args)
    if problem:
        return _refuse("train", problem)
    config.import_tensorflow()  # without TensorFlow's C++ start-up log lines
    import keras

    from . import recipes
    from .callbacks import NonFiniteLossError
    from .cascade import train_cascade

    if args.model == "diffusion":
        return _train_diffusion(args)
    name = _recipe_name(args)
    recipe = {"emoji": recipes.EMOJI, "shapes": recipes.SHAPES, "plain": None}[name]
    if args.mode:
        os.environ["TEXTGAN_MODE"] = args.mode
    precision = config.resolve_precision(args.precision)
    print(f"[textgan] precision {precision}"
          + (" (--precision auto on this machine)" if args.precision == "auto" else ""))
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    jit = config.JIT_COMPILE[args.jit]
    try:
        if recipe is not None:
            train_cascade(out_dir=args.out, data=args.data, epochs=args.epochs,
                          batch_size=args.batch_size, recipe=recipe, jit_compile=jit)
        else:
            train_cascade(
                out_dir=args.out, data=args.data, epochs=args.epochs,
                batch_size=args.batch_size, augment=args.augment or "", ema_decay=args.ema,
                gradient_penalty=args.gp, loss=args.loss or "bce",
                generator_options={"fusion": args.g_fusion or "concat",
                                   "conditioning_augmentation": bool(args.ca)},
                discriminator_options={"fusion": args.d_fusion or "concat",
                                       "spectral_norm": bool(args.spectral_norm)},
                jit_compile=jit, learning_rate=args.lr or 2e-4)
    except NonFiniteLossError as error:
        print(f"textgan train: {error}", file=sys.stderr)
        return 1
    except ValueError as error:      # e.g. a checkpoint of another model in --out, or corrupt
        return _refuse("train", str(error))
    finally:                         # main() may be called again in the same process (tests)
        keras.config.set_dtype_policy(previous)
    return 0


def _train_diffusion(args) -> int:
    from .callbacks import NonFiniteLossError
    from .diffusion_cascade import train_diffusion_cascade

    if args.mode:
        os.environ["TEXTGAN_MODE"] = args.mode
    try:
        train_diffusion_cascade(out_dir=args.out)
    except NonFiniteLossError as error:
        print(f"textgan train: {error}", file=sys.stderr)
        return 1
    except ValueError as error:      # e.g. a checkpoint of another model in --out
        return _refuse("train", str(error))
    return 0


def _load_for_generate(model: str | None):
    """``(cascade, source)`` for ``generate --model``: a GAN :class:`Cascade` or a
    :class:`DiffusionCascade`."""
    from .cascade import Cascade
    from .diffusion_cascade import META_FILE, PRETRAINED_DIR, DiffusionCascade

    if model == "diffusion" and not Path(model).is_dir():
        own = config.output_dir() / "diffusion" / "cascade"
        path = own if (own / META_FILE).is_file() else PRETRAINED_DIR
        return DiffusionCascade.load(path), f"diffusion cascade: {path}"
    if model and (Path(model) / META_FILE).is_file():
        return DiffusionCascade.load(model), f"diffusion cascade: {model}"
    if model:
        return Cascade.load(model), f"cascade: {model}"
    return Cascade.load_default()


def _generate_problem(args) -> str | None:
    """The first thing wrong with a ``generate`` command line (one line), or None. Loads no
    TensorFlow and writes nothing."""
    if not args.caption.strip():
        return 'the caption is empty; try e.g. "red apple".'
    if args.seed < 0:
        return f"--seed must be a whole number >= 0, got {args.seed}; e.g. --seed 0"
    for flag, path in (("-o", args.output), ("--base-output", args.base_output)):
        if path is not None and (problem := _path_problem(flag, path)):
            return problem
    return _mode_problem()


def _generate(args) -> int:
    problem = _generate_problem(args)
    if problem:
        return _refuse("generate", problem)
    config.import_tensorflow()  # without TensorFlow's C++ start-up log lines
    from PIL import Image

    from .viz import to_uint8

    try:
        cascade, source = _load_for_generate(args.model)
    except (FileNotFoundError, ValueError) as error:
        print(f"textgan generate: {error}", file=sys.stderr)
        return 1
    unknown = cascade.encoder.unknown_token_rate(args.caption)
    if unknown > 0:
        print(f"note: {unknown:.0%} of the caption's tokens are unknown to the text encoder "
              "([UNK]); the image cannot follow those words.", file=sys.stderr)
    with warnings.catch_warnings(record=True) as caught:   # e.g. "caption truncated"
        warnings.simplefilter("always")
        base, high = cascade.generate([args.caption], seed=args.seed)
    for warning in caught:
        print(f"note: {warning.message}", file=sys.stderr)
    try:
        for path, images in ((args.output, high), (args.base_output, base)):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(to_uint8(images[0])).save(path, format="PNG")
    except OSError as error:         # e.g. the disk filled up, or the path changed meanwhile
        return _refuse("generate", f"could not write {path} ({error.strerror or error}); "
                                   "choose another path")
    caption = textwrap.shorten(args.caption, 60, placeholder=" ...")
    timing = getattr(cascade, "seconds", None)
    if timing:
        source += f"; sampled in {timing['base']:.1f} s (32 px) + {timing['superres']:.1f} s (SR)"
    print(f"wrote {args.output} ({high.shape[2]}x{high.shape[1]} px PNG) for {caption!r} "
          f"({source})")
    return 0


def _evaluate_problem(args) -> str | None:
    """The first thing wrong with an ``evaluate`` command line, or None (no TensorFlow)."""
    for directory in args.model:
        if not (directory / "cascade.json").is_file():
            return (f"--model {directory}: no saved cascade there (cascade.json); give a "
                    "directory written by textgan train (OUT/cascade) or data/pretrained")
    return _path_problem("--json", args.json) or _mode_problem()


def _evaluate(args) -> int:
    problem = _evaluate_problem(args)
    if problem:
        return _refuse("evaluate", problem)
    import json

    config.import_tensorflow()
    from . import evaluation

    models = args.model or [config.DATA_DIR / "pretrained"]
    result = evaluation.evaluate_cascades(models)
    print(evaluation.format_table(result))
    try:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    except OSError as error:
        return _refuse("evaluate", f"could not write {args.json} ({error.strerror or error}); "
                                   "choose another path")
    print(f"wrote {args.json}")
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    return {"train": _train, "generate": _generate, "evaluate": _evaluate}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
