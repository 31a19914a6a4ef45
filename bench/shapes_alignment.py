"""Text alignment on captioned shapes: does the generated image show what the caption says?

Trains the base GAN (``textgan_lib.recipes.SHAPES``, options below override it) on the
training captions of :mod:`textgan_lib.data.shapes` for a time budget (``--minutes``) or a
number of steps (``--steps``), whichever comes first, then draws one image for each of
``--eval`` validation images' captions (attribute combinations never seen in training) and
scores colour, shape, size and position with the analytic scorer (100 % on real shapes
images; see tests/test_shapes.py).

    .venv/bin/python bench/shapes_alignment.py --name recipe_bf16_10min --minutes 10 --eval-every 500

(the command of the figure in README.md: ``--precision auto`` and ``--jit auto``, as ``textgan
train``; on this CPU bfloat16 without XLA measured fastest, ``bench/README.md``).

Prints one line per evaluation and a summary; writes ``bench/results/shapes_<name>.json``
after every evaluation (the table of notebook 06 reads those files), or ``--json PATH``.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> dict:
    """Run the bench; afterwards the global Keras dtype policy is the caller's again."""
    from textgan_lib import config

    with config.policy_scope():
        return _run(argv)


def _run(argv=None) -> dict:
    from textgan_lib import config

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="recipe", help="run name (results file name)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    parser.add_argument("--steps", type=int, default=None, help="training step budget")
    parser.add_argument("--eval-every", type=int, default=200, help="steps between evals")
    parser.add_argument("--train-images", type=int, default=6000)
    parser.add_argument("--eval", type=int, default=512, help="validation images to score")
    parser.add_argument("--fusion", choices=["concat", "film"])
    parser.add_argument("--ca", type=int, choices=[0, 1], help="conditioning augmentation")
    parser.add_argument("--d-fusion", choices=["concat", "projection"])
    parser.add_argument("--base-filters", type=int, help="G and D")
    parser.add_argument("--d-filters", type=int, help="D only (after --base-filters)")
    parser.add_argument("--lr", type=float, help="Adam learning rate of G and D")
    parser.add_argument("--standardize", type=int, choices=[0, 1], help="standardise text")
    parser.add_argument("--batch-size", type=int, help="images per step (default: the recipe's)")
    parser.add_argument("--augment", help='DiffAugment policy, e.g. "cutout"; "" for none')
    parser.add_argument("--ema", type=float, help="EMA decay of G; 0 for no EMA")
    parser.add_argument("--gp", choices=["none", "r1", "ma_gp"])
    parser.add_argument("--loss", choices=["bce", "hinge"])
    parser.add_argument("--jit", choices=["auto", "on", "off"], default="auto",
                        help="XLA compilation of the train step (auto: off on a CPU)")
    parser.add_argument("--precision", default="auto",
                        choices=config.PRECISIONS,
                        help="Keras dtype policy of the training (default auto, as textgan "
                             "train); the scores are computed on a float32 copy")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", default=None, help="default bench/results/shapes_<name>.json")
    args = parser.parse_args(argv)

    config.import_tensorflow()
    import keras

    from textgan_lib import recipes
    from textgan_lib.data import shapes
    from textgan_lib.data.pipeline import make_pipeline
    from textgan_lib.models.blocks import float32_copy, text_statistics
    from textgan_lib.text import TextEncoder

    recipe = json.loads(json.dumps(recipes.SHAPES))
    overrides = {("generator", "fusion"): args.fusion, ("discriminator", "fusion"): args.d_fusion,
                 ("generator", "conditioning_augmentation"): None if args.ca is None else bool(args.ca),
                 ("generator", "base_filters"): args.base_filters,
                 ("discriminator", "base_filters"): args.d_filters or args.base_filters,
                 ("gan", "augment"): args.augment, ("gan", "loss"): args.loss}
    for (part, key), value in overrides.items():
        if value is not None:
            recipe[part][key] = value
    if args.ema is not None:                       # 0 turns the EMA generator off
        recipe["gan"]["ema_decay"] = args.ema or None
    if args.gp is not None:
        recipe["gan"]["gradient_penalty"] = None if args.gp == "none" else args.gp
    if args.lr is not None:
        recipe["learning_rate"] = args.lr
    if args.batch_size is not None:
        recipe["batch_size"] = args.batch_size
    if args.standardize is not None:
        recipe["standardize_text"] = bool(args.standardize)

    config.set_seed(args.seed)
    args.precision = config.resolve_precision(args.precision)
    keras.config.set_dtype_policy(args.precision)
    encoder = TextEncoder()
    captions = shapes.all_captions()
    table = encoder.encode(captions)
    train = shapes.make_shapes(args.train_images, image_size=config.BASE_SIZE, split="train",
                               seed=args.seed)
    val = shapes.make_shapes(args.eval, image_size=config.BASE_SIZE, split="val",
                             seed=args.seed + 1)
    val_z = np.random.default_rng(args.seed).normal(size=(len(val), config.Z_DIM)).astype("float32")
    gan = recipes.build_gan(recipe, encoder.dim,
                            text_stats=text_statistics(table[np.unique(train.image_ids)]),
                            jit_compile=config.JIT_COMPILE[args.jit])
    dataset = make_pipeline(train.images, table[train.image_ids], train.image_ids,
                            batch_size=recipe["batch_size"]).repeat()

    path = Path(args.json) if args.json else (Path(__file__).parent / "results" /
                                              f"shapes_{args.name}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {"name": args.name,
              "command": "python bench/shapes_alignment.py " + shlex.join(argv),
              "recipe": recipe, "precision": args.precision, "cpu_count": os.cpu_count(),
              "finished": False, "history": []}
    start, step, budget_steps = time.perf_counter(), 0, args.steps or 10 ** 9
    while True:
        chunk = min(args.eval_every, budget_steps - step)
        gan.fit(dataset, epochs=1, steps_per_epoch=chunk, verbose=0)
        step += chunk
        elapsed = time.perf_counter() - start
        images = float32_copy(gan.sampler).predict([table[val.image_ids], val_z], verbose=0,
                                                   batch_size=256)
        acc = shapes.attribute_accuracy(images, val.attributes)
        result["history"].append({"step": step, "train_seconds": round(elapsed, 1), **acc})
        print(f"step {step:5d}  {elapsed / 60:5.1f} min  " + "  ".join(
            f"{k} {v:.3f}" for k, v in acc.items()), flush=True)
        done = step >= budget_steps or elapsed >= args.minutes * 60
        result.update(final=result["history"][-1], finished=done,
                      load_average=[round(x, 2) for x in os.getloadavg()])
        path.write_text(json.dumps(result, indent=2) + "\n")   # after every evaluation
        if done:
            break
    final = result["final"]
    print(f"held-out captions, {len(val)} images: colour {final['colour']:.1%}, shape "
          f"{final['shape']:.1%}, size {final['size']:.1%}, position {final['position']:.1%} "
          f"after {final['step']} steps, {final['train_seconds'] / 60:.1f} min of training "
          f"(load average {result['load_average']}); wrote {path}")
    return result


if __name__ == "__main__":
    main()
