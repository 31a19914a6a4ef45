"""FID of trained cascades on emoji, in the features of a network trained on the emoji set.

    .venv/bin/python bench/fid.py --train-features          # (re)make data/pretrained/emoji_features.keras
    .venv/bin/python bench/fid.py outputs/cascade data/pretrained   # FID of one or more cascades

The feature network (:mod:`textgan_lib.fid`) reads a 32 px emoji and predicts its caption's
sentence embedding; it is trained on the emoji *training* split only. Each cascade draws one
32 px base image per *validation* caption (402 captions it never trained on; noise seed 42),
and FID compares them with the 402 real validation images. Reference points printed with it:
real training images vs real validation images (how far two real samples of this size are),
and the caption-retrieval accuracy of the feature network on the validation split (evidence
that its features know what emoji show).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cascades", nargs="*", help="saved cascade directories to score")
    parser.add_argument("--train-features", action="store_true",
                        help="train the feature network and save it to data/pretrained/")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=42, help="noise seed of the generated images")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    from textgan_lib import config

    config.import_tensorflow()
    from textgan_lib import fid
    from textgan_lib.cascade import Cascade
    from textgan_lib.data.emoji import load_emoji
    from textgan_lib.text import TextEncoder

    encoder = TextEncoder()
    train, val = load_emoji("train"), load_emoji("val")
    val_emb = encoder.encode(val.captions)
    result: dict = {"n_val": len(val), "n_train": len(train)}
    if args.train_features:
        start = time.perf_counter()
        model = fid.train_feature_network(train.images, encoder.encode(train.captions),
                                          epochs=args.epochs, verbose=2)
        fid.FEATURES_FILE.parent.mkdir(parents=True, exist_ok=True)
        model.save(fid.FEATURES_FILE)
        result["feature_training_seconds"] = round(time.perf_counter() - start, 1)
        print(f"saved {fid.FEATURES_FILE} ({result['feature_training_seconds']} s)")
    model = fid.load_feature_network()
    extractor = fid.feature_extractor(model)

    from textgan_lib.data.pipeline import resize_uint8

    predicted = model.predict(resize_uint8(val.images, 32).astype("float32") / 127.5 - 1,
                              verbose=0)
    scores = predicted @ val_emb.T                          # (402 images, 402 captions)
    rank = (scores > scores[np.arange(len(val)), np.arange(len(val))][:, None]).sum(axis=1)
    result["retrieval_top1"] = float(np.mean(rank < 1))
    result["retrieval_top5"] = float(np.mean(rank < 5))
    print(f"feature network, validation split: the right caption ranks first among "
          f"{len(val)} for {result['retrieval_top1']:.1%} of images, in the top 5 for "
          f"{result['retrieval_top5']:.1%} (chance {1 / len(val):.2%}, {5 / len(val):.2%})")
    rng = np.random.default_rng(args.seed)
    train_sample = train.images[rng.choice(len(train), len(val), replace=False)]
    result["fid_real_train_vs_val"] = round(fid.fid(train_sample, val.images, extractor), 2)
    print(f"FID real training vs real validation images (n={len(val)} each): "
          f"{result['fid_real_train_vs_val']:.2f}")
    result["cascades"] = {}
    for directory in args.cascades:
        cascade = Cascade.load(directory, encoder=encoder)
        base, _ = cascade.generate(val.captions, seed=args.seed)
        score = round(fid.fid(val.images, base, extractor), 2)
        result["cascades"][directory] = score
        print(f"FID {directory}: {score:.2f} (n={len(val)} generated vs {len(val)} real "
              "validation images, 32 px)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
