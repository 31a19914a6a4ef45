"""Can a caption be recovered from its image? R@1, sharpness and FID of saved cascades.

    .venv/bin/python bench/recognizability.py data/pretrained data/pretrained/skeleton

For each cascade: one 32 px image per caption (noise seed 42) for 400 training captions (a
fixed sample, seed 1) and the 402 held-out captions; the emoji feature network predicts a
caption embedding from each image, and R@1 is the share of images whose true caption ranks
first among 100 candidates (AttnGAN's R-precision; chance 0.01). Sharpness: the mean
absolute Laplacian of the training-caption images (real: about 0.34). FID: held-out, n = 402,
in the same network's features. Caption variance share: 64 training captions x 8 noise vectors,
the share of the pixel variance that the caption explains (the rest is the noise's). SR vs
bicubic: the cascade's x4 super-resolution stage on the 402 held-out images (32 -> 128 px),
PSNR gain over bicubic. The first row is the real images (the encoder's ceiling).
``--json FILE`` writes the numbers. Protocol: :mod:`textgan_lib.recognizability`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cascades", nargs="*", type=Path, help="saved cascade directories")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--noise-scale", type=float, default=1.0,
                        help="multiply the noise by this (default 1)")
    args = parser.parse_args(argv)
    missing = [str(d) for d in args.cascades if not (d / "cascade.json").is_file()]
    if missing:
        print(f"recognizability: no saved cascade (cascade.json) in {', '.join(missing)}",
              file=sys.stderr)
        raise SystemExit(2)

    from textgan_lib import config

    config.import_tensorflow()
    from textgan_lib import fid, recognizability as rec
    from textgan_lib.cascade import Cascade, evaluate_superres
    from textgan_lib.data import load_emoji
    from textgan_lib.text import TextEncoder

    start = time.perf_counter()
    encoder = TextEncoder()
    sets = rec.evaluation_sets(encoder)
    network = fid.load_feature_network()
    extractor = fid.feature_extractor(network)
    rows = {"real images": rec.score_real(sets, network, extractor)}
    high_res = load_emoji("val").images if args.cascades else None     # 402 x 128 px
    for directory in args.cascades:
        cascade = Cascade.load(directory, encoder=encoder)
        rows[str(directory)] = {
            **rec.score_generator(cascade.generator, sets, network, extractor,
                                  noise_scale=args.noise_scale),
            **rec.noise_report(cascade.generator, sets),
            "superres": evaluate_superres(cascade.superres, high_res)}
    real_sharp = rows["real images"]["sharpness"]
    print(f"{'images':<32} {'R@1 train':>9} {'R@1 val':>8} {'sharpness':>14} {'FID val':>8} "
          f"{'caption var. share':>18} {'SR vs bicubic':>13}")
    for name, r in rows.items():
        fid_text = "-" if name == "real images" else f"{r['fid_val']:.2f}"
        share = f"{r['caption_variance_share']:.2f}" if "caption_variance_share" in r else "-"
        sr = f"{r['superres']['psnr_gain']:+.2f} dB" if "superres" in r else "-"
        print(f"{name:<32} {r['r1_train']:>9.3f} {r['r1_val']:>8.3f} "
              f"{r['sharpness']:>7.3f} ({r['sharpness'] / real_sharp:>4.0%}) {fid_text:>8} "
              f"{share:>18} {sr:>13}")
    print(f"(n = {rows['real images']['n_train']} training / {rows['real images']['n_val']} "
          f"held-out captions, 100 candidates each, chance 0.01; noise scale "
          f"{args.noise_scale}; {time.perf_counter() - start:.0f} s)")
    result = {"rows": rows, "noise_scale": args.noise_scale}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
