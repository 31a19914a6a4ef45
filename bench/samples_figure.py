"""README's figures of a cascade: real | generated 32 px | super-resolved 128 px.

    .venv/bin/python bench/samples_figure.py data/pretrained

Writes, into ``--out`` (default ``bench/results``):

* ``<name>_train.png`` and ``<name>_heldout.png``: 16 training captions (a fixed random pick of
  the 400 of ``bench/recognizability.py``) and 16 held-out captions (a fixed random pick of
  the 402), each as real image / generated 32 px / 128 px after super-resolution;
* ``<name>_named.png``: the captions "red apple", "pizza", "grinning face" and "Japan" with
  four noise seeds each (32 px and 128 px), beside their real images;
* ``<name>_noise.png``: one caption at noise scales 0, 0.5 and 1 and five seeds.

All with noise seed 42 (the evaluation's) unless stated. ``<name>`` is ``--name`` (default:
the cascade folder's name).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAMED = ["red apple", "pizza", "grinning face", "Japan"]


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cascade", type=Path, help="a saved cascade directory")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--name", help="file name prefix (default: the folder's name)")
    args = parser.parse_args(argv)
    if not (args.cascade / "cascade.json").is_file():
        print(f"samples_figure: no saved cascade (cascade.json) in {args.cascade}",
              file=sys.stderr)
        raise SystemExit(2)

    from textgan_lib import config

    config.import_tensorflow()
    import numpy as np

    from textgan_lib import recognizability as rec
    from textgan_lib.cascade import Cascade
    from textgan_lib.data.emoji import load_emoji
    from textgan_lib.text import TextEncoder
    from textgan_lib.viz import comparison_grid

    encoder = TextEncoder()
    cascade = Cascade.load(args.cascade, encoder=encoder)
    train, val = load_emoji("train"), load_emoji("val")
    sets = rec.evaluation_sets(encoder, train=train, val=val)
    name = args.name or args.cascade.resolve().name
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for split, data in (("train", train), ("heldout", val)):
        s = sets["train" if split == "train" else "val"]
        rows = np.sort(np.random.default_rng(0).choice(len(s.captions), 16, replace=False))
        captions = [s.captions[i] for i in rows]
        index = {c: i for i, c in enumerate(data.captions)}
        real = data.images[[index[c] for c in captions]]
        base, high = cascade.generate(captions, seed=rec.NOISE_SEED)
        fig = comparison_grid([real, base, high], ["real", "32 px", "128 px"], captions)
        written.append(args.out / f"{name}_{split}.png")
        fig.savefig(written[-1], dpi=80, bbox_inches="tight")

    everything = load_emoji("all")
    index = {c: i for i, c in enumerate(everything.captions)}
    captions = [c for c in NAMED for _ in range(4)]
    real = everything.images[[index[c] for c in captions]]
    z = np.concatenate([rec.noise(1, cascade.z_dim, seed=s) for s in range(4)] * len(NAMED))
    base = cascade.generator.predict([encoder.encode(captions), z], verbose=0)
    high = np.clip(cascade.superres.predict(base, verbose=0), -1, 1)
    labels = [f"{c} ({'held out' if c in set(val.captions) else 'train'}), seed {i % 4}"
              for i, c in enumerate(captions)]
    fig = comparison_grid([real, base, high], ["real", "32 px", "128 px"], labels)
    written.append(args.out / f"{name}_named.png")
    fig.savefig(written[-1], dpi=80, bbox_inches="tight")

    caption, seeds = "pizza", range(5)
    rows = []
    for scale in (0.0, 0.5, 1.0):
        z = np.concatenate([rec.noise(1, cascade.z_dim, seed=s, scale=scale) for s in seeds])
        rows.append(cascade.generator.predict([encoder.encode([caption] * 5), z], verbose=0))
    fig = comparison_grid(rows, ["noise x0", "noise x0.5", "noise x1"],
                          [f"{caption!r}, seed {s}" for s in seeds])
    written.append(args.out / f"{name}_noise.png")
    fig.savefig(written[-1], dpi=80, bbox_inches="tight")
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
