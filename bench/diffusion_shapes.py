"""The diffusion model on captioned shapes, at the GAN's time budget (issue 19, notebook 09).

Trains the base U-Net of ``textgan_lib.recipes.DIFFUSION_EMOJI`` (the same network, caption
dropout, EMA and learning rate) on the same training shapes as ``bench/shapes_alignment.py``
(6,000 images of training captions, seed 42) for ``--minutes`` of training (evaluation time
not counted, as there), then draws one image per held-out caption of the same 512 validation
images (seed 43) with DDIM (``--sampling-steps``, guidance ``--guidance``, dynamic
thresholding, noise seed 42) and scores colour, shape, size and position with the analytic
scorer of :mod:`textgan_lib.data.shapes`.

    .venv/bin/python bench/diffusion_shapes.py --name 10min --minutes 10 --eval-every 500

Writes ``bench/results/diffusion_shapes_<name>.json`` after every evaluation, with the load.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path


def main(argv=None) -> dict:
    from textgan_lib import config

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="10min", help="run name (results file name)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    parser.add_argument("--eval-every", type=int, default=500, help="steps between evals")
    parser.add_argument("--train-images", type=int, default=6000)
    parser.add_argument("--eval", type=int, default=512, help="validation images to score")
    parser.add_argument("--guidance", type=float, default=3.0)
    parser.add_argument("--sampling-steps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    config.import_tensorflow()
    import keras
    import numpy as np
    import tensorflow as tf

    from textgan_lib import recipes
    from textgan_lib.data import shapes
    from textgan_lib.diffusion import DiffusionModel, sample_ddim
    from textgan_lib.models.unet import build_unet
    from textgan_lib.text import TextEncoder

    recipe = recipes.DIFFUSION_EMOJI
    config.set_seed(args.seed)
    table = TextEncoder().encode(shapes.all_captions())
    train = shapes.make_shapes(args.train_images, image_size=config.BASE_SIZE, split="train",
                               seed=args.seed)
    val = shapes.make_shapes(args.eval, image_size=config.BASE_SIZE, split="val",
                             seed=args.seed + 1)
    model = DiffusionModel(build_unet(config.BASE_SIZE, text_dim=table.shape[1],
                                      **recipe["base"]),
                           num_steps=recipe["num_steps"], drop_prob=recipe["drop_prob"],
                           ema_decay=recipe["ema_decay"], seed=args.seed)
    model.compile(optimizer=keras.optimizers.Adam(recipe["learning_rate"], global_clipnorm=1.0))
    x = train.images.astype(np.float32) / 127.5 - 1.0
    dataset = tf.data.Dataset.from_tensor_slices((x, table[train.image_ids])).shuffle(
        len(x), seed=args.seed).repeat().batch(recipe["batch_size"], drop_remainder=True)

    path = Path(args.json) if args.json else (Path(__file__).parent / "results" /
                                              f"diffusion_shapes_{args.name}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {"name": args.name, "command": "python bench/diffusion_shapes.py " +
              shlex.join(argv), "recipe": "DIFFUSION_EMOJI base", "guidance": args.guidance,
              "sampling_steps": args.sampling_steps, "cpu_count": os.cpu_count(),
              "precision": keras.config.dtype_policy().name, "finished": False, "history": []}
    step, trained = 0, 0.0
    while True:
        clock = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=args.eval_every, verbose=0)
        trained += time.perf_counter() - clock
        step += args.eval_every
        clock = time.perf_counter()
        images = sample_ddim(model.eps, (len(val), config.BASE_SIZE, config.BASE_SIZE, 3),
                             model.alpha_bar, args.sampling_steps, table[val.image_ids],
                             args.guidance, "dynamic", seed=args.seed)
        sampling = time.perf_counter() - clock
        acc = shapes.attribute_accuracy(images, val.attributes)
        result["history"].append({"step": step, "train_seconds": round(trained, 1),
                                  "sampling_seconds_per_image": round(sampling / len(val), 4),
                                  "loss": float(model.loss_tracker.result()), **acc})
        print(f"step {step:5d}  {trained / 60:5.1f} min  " + "  ".join(
            f"{k} {v:.3f}" for k, v in acc.items()), flush=True)
        done = trained >= args.minutes * 60
        result.update(final=result["history"][-1], finished=done,
                      load_average=[round(v, 2) for v in os.getloadavg()])
        path.write_text(json.dumps(result, indent=2) + "\n")
        if done:
            break
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
