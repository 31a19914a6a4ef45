"""Text alignment on captioned shapes: does the generated image show what the caption says?

Trains the base GAN on the training captions of :mod:`textgan_lib.data.shapes` for a fixed
time budget, then generates one image for each of ``--eval`` images' captions drawn from the
*validation* captions (attribute combinations never seen in training) and scores colour, shape,
size and position with the analytic scorer (100 % on real shapes images; see
tests/test_shapes.py).

    .venv/bin/python bench/shapes_alignment.py --minutes 10 --json outputs/shapes_bench.json

Prints one line per evaluation and a final summary; ``--json`` writes the numbers.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    parser.add_argument("--train-images", type=int, default=6000)
    parser.add_argument("--eval", type=int, default=512, help="validation images to score")
    parser.add_argument("--fusion", default="film", choices=["concat", "film"])
    parser.add_argument("--ca", type=int, default=1, help="conditioning augmentation 0/1")
    parser.add_argument("--d-fusion", default="concat", choices=["concat", "projection"])
    parser.add_argument("--base-filters", type=int, default=32)
    parser.add_argument("--lr-g", type=float, default=2e-4)
    parser.add_argument("--lr-d", type=float, default=2e-4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--augment", default="", help='DiffAugment policy, e.g. "cutout"')
    parser.add_argument("--ema", type=float, default=None, help="EMA decay of G, e.g. 0.999")
    parser.add_argument("--gp", default=None, choices=[None, "r1", "ma_gp"])
    parser.add_argument("--loss", default="bce", choices=["bce", "hinge"])
    parser.add_argument("--eval-every", type=float, default=2.0, help="minutes between evals")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    from textgan_lib import config

    config.import_tensorflow()
    import keras

    from textgan_lib.data import shapes
    from textgan_lib.data.pipeline import make_pipeline
    from textgan_lib.models import build_discriminator, build_generator
    from textgan_lib.text import TextEncoder
    from textgan_lib.training import TextGAN

    config.set_seed(args.seed)
    encoder = TextEncoder()
    captions = shapes.all_captions()
    table = dict(zip(captions, encoder.encode(captions)))
    train = shapes.make_shapes(args.train_images, image_size=config.BASE_SIZE, split="train",
                               seed=args.seed)
    val = shapes.make_shapes(args.eval, image_size=config.BASE_SIZE, split="val",
                             seed=args.seed + 1)
    train_emb = np.stack([table[c] for c in train.captions])
    val_emb = np.stack([table[c] for c in val.captions])
    val_z = np.random.default_rng(args.seed).normal(size=(len(val), config.Z_DIM)).astype("float32")

    generator = build_generator(encoder.dim, base_filters=args.base_filters, fusion=args.fusion,
                                conditioning_augmentation=bool(args.ca))
    discriminator = build_discriminator(encoder.dim, base_filters=args.base_filters,
                                        fusion=args.d_fusion)
    gan = TextGAN(generator, discriminator, augment=args.augment, ema_decay=args.ema,
                  gradient_penalty=args.gp, loss=args.loss)
    gan.compile(d_optimizer=keras.optimizers.Adam(args.lr_d, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(args.lr_g, beta_1=0.5))
    dataset = make_pipeline(train.images, train_emb, train.image_ids,
                            batch_size=args.batch_size)

    def evaluate():
        images = gan.sampler.predict([val_emb, val_z], verbose=0, batch_size=256)
        return shapes.attribute_accuracy(images, val.attributes)

    history, start, epoch = [], time.perf_counter(), 0
    next_eval = args.eval_every * 60
    while True:
        gan.fit(dataset, epochs=epoch + 1, initial_epoch=epoch, verbose=0, shuffle=False)
        epoch += 1
        elapsed = time.perf_counter() - start
        done = elapsed >= args.minutes * 60
        if elapsed >= next_eval or done:
            acc = evaluate()
            history.append({"epoch": epoch, "train_seconds": round(elapsed, 1), **acc})
            print(f"epoch {epoch:3d}  {elapsed / 60:5.1f} min  " + "  ".join(
                f"{k} {v:.2f}" for k, v in acc.items()), flush=True)
            next_eval += args.eval_every * 60
        if done:
            break
    result = {"args": vars(args), "history": history, "final": history[-1]}
    print(f"held-out captions, {len(val)} images: colour {history[-1]['colour']:.1%}, "
          f"shape {history[-1]['shape']:.1%}, size {history[-1]['size']:.1%}, "
          f"position {history[-1]['position']:.1%} after {history[-1]['train_seconds'] / 60:.1f} "
          f"min of training ({epoch} epochs)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
