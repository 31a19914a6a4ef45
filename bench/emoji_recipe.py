"""Recognisability per CPU minute: train an emoji recipe for a time budget, score it as it goes.

    .venv/bin/python bench/emoji_recipe.py --name recipe --minutes 10
    .venv/bin/python bench/emoji_recipe.py --name no_l1 --set gan.reconstruction_weight=0

Trains the base GAN of ``textgan_lib.recipes.EMOJI`` (``--set PART.KEY=JSON`` overrides one
option, e.g. ``generator.conditioning_augmentation=true``, ``learning_rate=2e-4``) on the emoji
training split at 32 px, and every ``--eval-every`` steps scores the (EMA) generator with
:mod:`textgan_lib.recognizability`: R@1 on 400 training and the 402 held-out captions,
sharpness and held-out FID. The scores are reported, never used to train or to choose a
checkpoint. Writes ``bench/results/emoji_<name>.json`` after every evaluation (with the load
average) and, with ``--save DIR``, the generator at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path


def apply_overrides(recipe: dict, assignments) -> dict:
    """``recipe`` with each ``"PART.KEY=JSON"`` (or ``"KEY=JSON"``) assignment applied.

    Raises:
        SystemExit(2): for an assignment without ``=``, a value that is not JSON, or a part
            that is not in the recipe.
    """
    for text in assignments:
        key, sep, value = text.partition("=")
        if not sep:
            print(f"emoji_recipe: --set {text!r} needs the form PART.KEY=VALUE", file=sys.stderr)
            raise SystemExit(2)
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            print(f"emoji_recipe: --set {text!r}: {value!r} is not a JSON value (strings in "
                  "double quotes, true/false/null)", file=sys.stderr)
            raise SystemExit(2) from None
        *parts, last = key.split(".")
        target = recipe
        for part in parts:
            if not isinstance(target.get(part), dict):
                print(f"emoji_recipe: --set {text!r}: the recipe has no part {part!r}",
                      file=sys.stderr)
                raise SystemExit(2)
            target = target[part]
        target[last] = parsed
    return recipe


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
    parser.add_argument("--minutes", type=float,
                        help="training time budget (default 10; none when --steps is given)")
    parser.add_argument("--steps", type=int, help="stop after this many steps instead")
    parser.add_argument("--eval-every", type=int, default=500, help="steps between scores")
    parser.add_argument("--set", action="append", default=[], metavar="PART.KEY=JSON",
                        help="override one recipe option (repeatable)")
    parser.add_argument("--jit", choices=("auto", "on", "off"), default="auto")
    parser.add_argument("--precision", default="auto",
                        choices=config.PRECISIONS,
                        help="Keras dtype policy of the training (default auto, as textgan "
                             "train); the scores are computed on a float32 copy")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--save", type=Path, help="save the sampling generator here at the end")
    parser.add_argument("--json", type=Path, help="results file (default bench/results/...)")
    parser.add_argument("--matching-dir", type=Path, default=Path("outputs/matching_bench"),
                        help="where a recipe with gan.matching_weight keeps its pre-trained "
                        "matching encoders (reused when present)")
    args = parser.parse_args(argv)
    for flag, value in (("--steps", args.steps), ("--eval-every", args.eval_every)):
        if value is not None and value < 1:
            print(f"emoji_recipe: {flag} must be >= 1, got {value}", file=sys.stderr)
            raise SystemExit(2)
    minutes = args.minutes if args.minutes is not None else (10.0 if args.steps is None
                                                              else float("inf"))
    from textgan_lib import recipes

    recipe = apply_overrides(json.loads(json.dumps(recipes.EMOJI)), args.set)
    if recipe.get("lr_decay_start") is not None and args.steps is None:
        print("emoji_recipe: a recipe with lr_decay_start needs --steps (the schedule's length)",
              file=sys.stderr)
        raise SystemExit(2)

    config.import_tensorflow()
    import keras

    from textgan_lib import fid, recognizability as rec
    from textgan_lib.data.emoji import load_emoji
    from textgan_lib.text import TextEncoder
    from textgan_lib.models.blocks import float32_copy, text_statistics
    from textgan_lib.training import training_stream

    config.set_seed(args.seed)
    args.precision = config.resolve_precision(args.precision)
    keras.config.set_dtype_policy(args.precision)
    encoder = TextEncoder()
    train = load_emoji("train")
    sets = rec.evaluation_sets(encoder, train=train)
    network = fid.load_feature_network()
    extractor = fid.feature_extractor(network)
    embeddings = encoder.encode(train.captions)
    matching_encoders, matching_seconds = None, 0.0
    if recipe["gan"].get("matching_weight"):   # AttnGAN's DAMSM: its own encoders, pre-trained
        from textgan_lib import matching

        image_enc, text_enc, matching_seconds = matching.load_or_train_encoders(
            args.matching_dir, train.images, embeddings, train.image_ids, verbose=0,
            **recipe.get("matching", {}))
        matching_encoders = (image_enc, text_enc)
        print(f"matching encoders ready ({matching_seconds:.0f} s of training) in "
              f"{args.matching_dir}", flush=True)
    stats = text_statistics(embeddings) if recipe.get("standardize_text") else None
    gan = recipes.build_gan(recipe, encoder.dim, text_stats=stats,
                            jit_compile=config.JIT_COMPILE[args.jit],
                            total_steps=args.steps, matching_encoders=matching_encoders)
    path = args.json or Path(__file__).parent / "results" / f"emoji_{args.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {"name": args.name, "command": "python bench/emoji_recipe.py " + shlex.join(argv),
              "recipe": recipe, "precision": args.precision, "cpu_count": os.cpu_count(),
              "finished": False, "history": []}
    if matching_encoders is not None:
        result["matching_encoder_seconds"] = round(matching_seconds, 1)
    start, step, budget = time.perf_counter(), 0, args.steps or 10 ** 9
    train_seconds = 0.0
    while True:
        chunk = min(args.eval_every, budget - step)
        clock = time.perf_counter()
        dataset, _ = training_stream(train.images, embeddings, train.image_ids,   # resumes
                                     batch_size=recipe["batch_size"], seed=args.seed,
                                     start_step=step, image_size=config.BASE_SIZE)
        logs = gan.fit(dataset, epochs=1, steps_per_epoch=chunk, verbose=0).history
        train_seconds += time.perf_counter() - clock
        step += chunk
        scores = rec.score_generator(float32_copy(gan.sampler), sets, network, extractor)
        row = {"step": step, "train_seconds": round(train_seconds, 1),
               **{k: round(float(v[-1]), 4) for k, v in logs.items()},
               **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}}
        result["history"].append(row)
        print(f"step {step:6d} {train_seconds / 60:6.1f} min  R@1 train {row['r1_train']:.3f} "
              f"val {row['r1_val']:.3f}  sharp {row['sharpness']:.3f}  FID {row['fid_val']:.2f}"
              f"  " + " ".join(f"{k} {v:.3f}" for k, v in row.items() if k in logs),
              flush=True)
        done = step >= budget or train_seconds >= minutes * 60
        result.update(final=row, finished=done,
                      load_average=[round(x, 2) for x in os.getloadavg()])
        path.write_text(json.dumps(result, indent=2) + "\n")   # after every evaluation
        if done:
            break
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        float32_copy(gan.sampler).save(args.save / "generator.keras")
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
