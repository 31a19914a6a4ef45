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
    train.add_argument("--augment", default="",
                       help='DiffAugment policy, e.g. "color,translation,cutout" (default none)')
    train.add_argument("--ema", type=float, metavar="DECAY",
                       help="keep an EMA generator with this decay (e.g. 0.999)")
    train.add_argument("--gp", choices=("r1", "ma_gp"), help="gradient penalty on D")
    train.add_argument("--loss", choices=("bce", "hinge"), default="bce")
    train.add_argument("--lr", type=float, default=2e-4,
                       help="Adam learning rate of G and D (default 2e-4, as DCGAN)")
    train.add_argument("--g-fusion", choices=("concat", "film"), default="concat",
                       help="generator text fusion")
    train.add_argument("--ca", action="store_true",
                       help="conditioning augmentation in the generator (StackGAN)")
    train.add_argument("--d-fusion", choices=("concat", "projection"), default="concat",
                       help="discriminator text fusion")
    train.add_argument("--spectral-norm", action="store_true", help="spectral norm in D")
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


def _train(args) -> int:
    import keras

    from .callbacks import NonFiniteLossError
    from .cascade import train_cascade

    if args.mode:
        os.environ["TEXTGAN_MODE"] = args.mode
    if args.precision != "float32":
        keras.mixed_precision.set_global_policy(args.precision)
    try:
        train_cascade(
            out_dir=args.out, data=args.data, epochs=args.epochs, batch_size=args.batch_size,
            augment=args.augment, ema_decay=args.ema, gradient_penalty=args.gp, loss=args.loss,
            generator_options={"fusion": args.g_fusion, "conditioning_augmentation": args.ca},
            discriminator_options={"fusion": args.d_fusion,
                                   "spectral_norm": args.spectral_norm},
            jit_compile={"auto": "auto", "on": True, "off": False}[args.jit],
            learning_rate=args.lr)
    except NonFiniteLossError as error:
        print(f"textgan train: {error}", file=sys.stderr)
        return 1
    except ValueError as error:      # e.g. a checkpoint of another model in --out
        print(f"textgan train: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    config.import_tensorflow()  # without TensorFlow's C++ start-up log lines
    if args.command == "train":
        return _train(args)

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
