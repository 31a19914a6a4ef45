"""Command line: ``python -m textgan_lib train|generate`` (also installed as ``textgan``).

Taught in ``06_training`` and ``07_cascade_demo``. The same code the notebooks call.
"""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
import warnings
from pathlib import Path

from . import config

RECIPES = ("emoji", "shapes", "plain")
MODEL_FLAGS = ("augment", "ema", "gp", "loss", "lr", "g_fusion", "ca", "d_fusion",
               "spectral_norm")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textgan", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser(
        "train", help="train the cascade (rerunning the same command resumes it)",
        description="Train the base GAN and the super-resolution stage. Checkpoints go to "
                    "OUT/checkpoints after every epoch: rerun the same command to resume.")
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
    train.add_argument("--precision", choices=("float32", "mixed_float16", "mixed_bfloat16"),
                       default="float32", help="Keras dtype policy (mixed_*: on a GPU/TPU)")
    train.add_argument("--jit", choices=("auto", "on", "off"), default="auto",
                       help="XLA compilation of the train step (default: Keras decides)")

    gen = sub.add_parser("generate", help="draw an image for a caption with a trained cascade")
    gen.add_argument("caption", help='e.g. "red apple"')
    gen.add_argument("-o", "--output", type=Path, default=Path("textgan.png"),
                     help="image file to write, always PNG data; default textgan.png")
    gen.add_argument("--model", type=Path,
                     help="saved cascade directory (default: outputs/cascade if you trained one, "
                          "else the pretrained cascade shipped in data/pretrained)")
    gen.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    gen.add_argument("--base-output", type=Path, help="also write the 32 px base image here")
    return parser


def _resolve_recipe(args):
    """The recipe dict ``--recipe`` names (None: build from the model flags), or a one-line
    error message (str) for a contradictory command line."""
    from . import recipes

    given = [f"--{name.replace('_', '-')}" for name in MODEL_FLAGS
             if getattr(args, name) is not None]
    name = args.recipe or ("plain" if given else args.data)
    if name != "plain" and given:
        return (f"--recipe {name} fixes the model; drop {', '.join(given)} (or use "
                "--recipe plain with the model options)")
    if name != "plain" and name != args.data:
        return (f"--recipe {name} is measured on --data {name}, not --data {args.data}; "
                f"add --data {name}")
    return None if name == "plain" else {"emoji": recipes.EMOJI, "shapes": recipes.SHAPES}[name]


def _train(args) -> int:
    recipe = _resolve_recipe(args)
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            recipe = f"{flag} must be a positive whole number, got {value}"
    if args.lr is not None and not args.lr > 0:
        recipe = f"--lr must be > 0, got {args.lr}"
    if args.ema is not None and not 0 <= args.ema < 1:
        recipe = f"--ema must be in [0, 1), e.g. 0.999; got {args.ema}"
    if isinstance(recipe, str):
        print(f"textgan train: {recipe}", file=sys.stderr)
        return 2
    config.import_tensorflow()  # without TensorFlow's C++ start-up log lines
    import keras

    from .callbacks import NonFiniteLossError
    from .cascade import train_cascade

    if args.mode:
        os.environ["TEXTGAN_MODE"] = args.mode
    if args.precision != "float32":
        keras.mixed_precision.set_global_policy(args.precision)
    jit = {"auto": "auto", "on": True, "off": False}[args.jit]
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
    except ValueError as error:      # e.g. a checkpoint of another model in --out
        print(f"textgan train: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "train":
        return _train(args)
    config.import_tensorflow()  # without TensorFlow's C++ start-up log lines

    if not args.caption.strip():
        print("textgan generate: the caption is empty; try e.g. \"red apple\".", file=sys.stderr)
        return 2
    from PIL import Image

    from .cascade import Cascade
    from .viz import to_uint8

    try:
        if args.model:
            cascade, source = Cascade.load(args.model), f"cascade: {args.model}"
        else:
            cascade, source = Cascade.load_default()
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
    args.output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(high[0])).save(args.output, format="PNG")
    if args.base_output:
        Image.fromarray(to_uint8(base[0])).save(args.base_output, format="PNG")
    caption = textwrap.shorten(args.caption, 60, placeholder=" ...")
    print(f"wrote {args.output} ({high.shape[2]}x{high.shape[1]} px PNG) for {caption!r} "
          f"({source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
