"""Super-resolution benchmark: learned models vs bicubic on the emoji validation split.

Trains each requested model on random patches of the emoji *training* images
(:func:`textgan_lib.models.superres.fit_superres`) and scores it, and bicubic, on all 402
*validation* images (PSNR/SSIM on [-1, 1], outputs clipped), then prints a table and writes it
as JSON. Issue 4's bar: the best model beats bicubic by >= 3.0 dB at x4 within 10 minutes of
CPU training in ``course`` mode.

    .venv/bin/python bench/superres.py                    # the x4 residual model (~8 min, 2 CPUs)
    .venv/bin/python bench/superres.py --scale 2          # the same at x2
    .venv/bin/python bench/superres.py --models srcnn espcn residual --steps 600
    TEXTGAN_MODE=smoke .venv/bin/python bench/superres.py # seconds: checks that it runs

Only the number of optimizer steps depends on the run mode (``--steps`` overrides it);
everything else is fixed by the arguments. Train time is measured wall-clock around ``fit``
(the first step includes tracing/compilation) and depends on the machine and on what else it
runs: the JSON records the load average before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from textgan_lib import config  # noqa: E402

#: Optimizer steps per run mode for the default recipe (batch 32 of 16x16 low-res patches).
STEPS = {"smoke": 10, "course": 2000, "full": 20000}
MODELS = ("bicubic", "srcnn", "espcn", "residual")


def build(name: str, scale: int, args):
    from textgan_lib.models import superres as sr

    if name == "bicubic":
        return sr.build_bicubic(scale)
    if name == "srcnn":
        return sr.build_srcnn(scale, residual=args.residual_baselines)
    if name == "espcn":
        return sr.build_espcn(scale, residual=args.residual_baselines)
    if name == "residual":
        return sr.build_superres(scale, filters=args.filters, num_blocks=args.blocks,
                                 res_scale=args.res_scale)
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}.")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=4, choices=(2, 4))
    parser.add_argument("--models", nargs="+", default=["residual"], choices=MODELS)
    parser.add_argument("--steps", type=int, default=None,
                        help=f"optimizer steps per model (default by run mode: {STEPS})")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--patch-size", type=int, default=16, help="low-res patch side")
    parser.add_argument("--lr", type=float, default=2e-3, help="initial Adam learning rate")
    parser.add_argument("--filters", type=int, default=32, help="residual model's channels")
    parser.add_argument("--blocks", type=int, default=4, help="residual model's blocks")
    parser.add_argument("--res-scale", type=float, default=1.0)
    parser.add_argument("--noise-std", type=float, default=0.0,
                        help="noise augmentation of the low-res input (largest std, [-1, 1])")
    parser.add_argument("--residual-baselines", action="store_true",
                        help="SRCNN/ESPCN predict the difference from bicubic")
    parser.add_argument("--max-train", type=int, default=None, help="use fewer training images")
    parser.add_argument("--max-val", type=int, default=None, help="score fewer val images")
    parser.add_argument("--save", type=Path, default=None,
                        help="directory to save each trained model as <name>_x<scale>.keras")
    parser.add_argument("--json", type=Path, default=None,
                        help="output file (default outputs/bench/superres_x<scale>.json)")
    args = parser.parse_args(argv)

    tf = config.import_tensorflow()
    from textgan_lib.data import load_emoji
    from textgan_lib.models import superres as sr

    cfg = config.get_config()
    steps = args.steps if args.steps is not None else STEPS[cfg.mode]
    config.set_seed()
    load_before = os.getloadavg()
    train = load_emoji("train", max_images=args.max_train or cfg.max_train_images)
    val = load_emoji("val", max_images=args.max_val)
    print(f"mode={cfg.mode} scale=x{args.scale} train={len(train)} val={len(val)} "
          f"steps={steps} batch={args.batch_size}x{args.patch_size}px "
          f"lr={args.lr:g} noise_std={args.noise_std:g} load={load_before[0]:.2f} "
          f"cpus={os.cpu_count()}", flush=True)

    results = []
    low_val, _ = sr.make_pairs(val.images[:64], args.scale)
    for name in ["bicubic"] + [m for m in args.models if m != "bicubic"]:
        config.set_seed()
        model = build(name, args.scale, args)
        seconds = 0.0
        if name != "bicubic":
            start = time.perf_counter()
            history = sr.fit_superres(model, train.images, args.scale, steps=steps,
                                      batch_size=args.batch_size, patch_size=args.patch_size,
                                      learning_rate=args.lr, noise_std=args.noise_std,
                                      epochs=max(d for d in range(1, 11) if steps % d == 0))
            seconds = time.perf_counter() - start
            losses = [round(float(v), 5) for v in history.history["loss"]]
        else:
            losses = []
        scores = sr.evaluate_sr(model, val.images, args.scale)
        row = {"model": name, "scale": args.scale, "params": int(model.count_params()),
               "train_seconds": round(seconds, 1), "steps": 0 if name == "bicubic" else steps,
               "psnr": round(scores["psnr"], 3), "ssim": round(scores["ssim"], 4),
               "psnr_bicubic": round(scores["psnr_bicubic"], 3),
               "gain_db": round(scores["psnr"] - scores["psnr_bicubic"], 3),
               "ms_per_image": round(sr.time_per_image(model, low_val), 2),
               "loss_per_epoch": losses}
        results.append(row)
        print(f"{name:>9} x{args.scale}: PSNR {row['psnr']:.2f} dB (bicubic "
              f"{row['psnr_bicubic']:.2f}, gain {row['gain_db']:+.2f} dB)  SSIM {row['ssim']:.4f}  "
              f"params {row['params']:,}  train {seconds:.0f} s  {row['ms_per_image']:.1f} ms/image",
              flush=True)
        if args.save and name != "bicubic":
            args.save.mkdir(parents=True, exist_ok=True)
            model.save(args.save / f"{name}_x{args.scale}.keras")

    report = {"mode": cfg.mode, "scale": args.scale, "n_train": len(train), "n_val": len(val),
              "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "steps": steps, "results": results,
              "machine": {"cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
                          "load_after": [round(x, 2) for x in os.getloadavg()],
                          "python": platform.python_version(), "tensorflow": tf.__version__}}
    out = args.json or config.output_dir() / "bench" / f"superres_x{args.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    best = max((r for r in results if r["model"] != "bicubic"), key=lambda r: r["gain_db"],
               default=None)
    if best:
        print(f"best: {best['model']} x{args.scale} {best['gain_db']:+.2f} dB over bicubic after "
              f"{best['train_seconds']:.0f} s of training (load {load_before[0]:.2f} -> "
              f"{report['machine']['load_after'][0]:.2f}); wrote {out}")
    return report


if __name__ == "__main__":
    main()
