"""Train-step throughput: our ``TextGAN`` against a plain TensorFlow-tutorial-style step (issue 7).

Both sides train the same networks, ``build_generator(384, image_size=S)`` and
``build_discriminator(384, image_size=S)`` (defaults otherwise: concatenation fusion, no
spectral norm, no batch norm in D), starting from the same weights, with the same optimizers
(two ``Adam(2e-4, beta_1=0.5)``), the same batch size B and the same objective on the same
emoji images (area-downsampled to S px) and their cached all-MiniLM-L6-v2 caption embeddings:

* D: the matching-aware loss of GAN-CLS, BCE(real/right, 1) + (BCE(real/wrong, 0) +
  BCE(fake/right, 0)) / 2, the wrong caption being the previous example's (pairs showing the same
  image left out), on fakes from fresh noise;
* then G: the non-saturating loss -log D(G(z', e), e) on new noise z', with the D just updated.

That is the alternating update of :class:`textgan_lib.training.TextGAN` (one D step, then one G
step), so the two sides do exactly the same arithmetic per step (``tests/test_train_step_bench.py``
checks that they compute the same losses and weight updates from the same batch, noise and
weights). What differs is only how the work is run:

**baseline** (:func:`make_baseline_step`), written the way the official TensorFlow DCGAN
tutorial trains (https://www.tensorflow.org/tutorials/generative/dcgan): one ``@tf.function``
(no ``jit_compile``, no XLA), which draws the noise with ``tf.random.normal``, runs G, calls D
three times (real/right, real/wrong, fake/right) under one gradient tape and applies D's
gradients, then runs G again under a second tape, calls D on the new fakes and applies G's
gradients. Its batches are NumPy arrays cut from the in-memory data set by a Python loop and fed
to the function one step at a time (uint8 -> float32 [-1, 1] in NumPy; no tf.data, no
prefetching). (The tutorial itself runs G once and updates both networks from the same forward
pass; we keep TextGAN's alternating update on both sides so that the work is equal.)

**ours**: :class:`~textgan_lib.training.TextGAN` through :func:`~textgan_lib.training.fit_gan`,
i.e. ``keras.Model.fit`` on the resumable tf.data stream of
:func:`~textgan_lib.training.training_stream` (images downsampled once and kept in memory as
uint8 with the cached embeddings; batches gathered, converted and prefetched by tf.data while
the step runs), set up as ``textgan train`` sets it up: ``--jit auto`` (``jit_compile="auto"``,
which on a CPU means no XLA; ``--jit on`` compiles with XLA) and ``--precision auto``
(:func:`textgan_lib.config.default_precision`: ``mixed_bfloat16`` on a CPU with bfloat16
matmuls, the layers computing in bfloat16 on float32 weights; the baseline always runs in
float32, as the tutorial does), with TextGAN's default step (three D calls; ``--fuse on``
scores the three kinds of pairs in one D call on
the concatenated 3B batch instead, the same function for this D, measured slower here).

The two are timed **alternately** in one process (ours for ``--steps`` steps, then the
baseline for as many, ``--repeats`` times, after one untimed warm-up step each, which traces
and compiles), because the machine may be shared: the load average is recorded with every
repeat. Throughput = B x steps / wall-clock seconds of the repeat; the medians over the repeats
and their ratio are the result. Also measured in the same run:

* a float32 dense-matmul probe (2048 x 2048 @ 2048 x 2048, ``tf.function``, median of 5 after
  each repeat): the machine's practical float32 peak in GFLOP/s;
* the FLOPs of one train step, counted from the layers: 2 x multiply-adds of every
  convolution and dense layer in every forward and backward pass the step needs (G forward for
  D's fakes; D forward, weight and input gradients on 3B pairs; G forward, weight and input
  gradients and D forward and input gradients on B pairs for the G step). Elementwise work
  (batch norm, activations, the optimizer update) is not counted. Step FLOPs / step time, as a
  fraction of the matmul probe, says how close each side runs to the machine's peak;
* one ``course``-mode epoch on emoji (unless ``--epoch-steps -1``): the GAN exactly as
  :func:`textgan_lib.cascade.train_cascade` sets it up for ``config.get_config("course")``
  (32 px, batch 64, all 3,369 training pairs, ``jit_compile="auto"``, i.e. no XLA on a CPU), run
  through ``fit_gan`` for ``--epoch-steps`` steps; the epoch estimate is the first step (tracing)
  plus the median of the other steps x (steps per epoch - 1). ``--epoch-steps 0`` runs and
  times a whole epoch instead (with checkpoint and sample grid, as the course does). The same
  with ``jit_compile=True`` (``textgan train --jit on``) is measured too unless ``--jit off``;
  both under ``--precision``.

    .venv/bin/python bench/train_step.py                       # 64 px, batch 64: ~10 min, 2 CPUs
    .venv/bin/python bench/train_step.py --repeats 7 --json outputs/bench/train_step.json
    .venv/bin/python bench/train_step.py --size 32 --epoch-steps -1

Prints one line per repeat (both throughputs, the probe, the load average), then the medians,
the ratio ours / baseline, the peak fractions and the epoch time, and writes all of it as JSON
(``--json``, default ``outputs/bench/train_step_<size>px.json``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from textgan_lib import config  # noqa: E402

TEXT_DIM = 384      #: all-MiniLM-L6-v2, the course's text encoder
MATMUL_N = 2048     #: side of the square float32 matmul of the peak probe


# --------------------------------------------------------------------------- the baseline

def make_baseline_step(generator, discriminator, d_optimizer, g_optimizer,
                       z_dim: int = config.Z_DIM):
    """The tutorial-style train step: one ``tf.function`` without XLA, two gradient tapes.

    Args:
        generator: ``[embedding (B, D), z (B, z_dim)] -> image (B, S, S, 3)`` in [-1, 1].
        discriminator: ``[image (B, S, S, 3), embedding (B, D)] -> logit (B, 1)``.
        d_optimizer, g_optimizer: one Keras optimizer per network (built or not).
        z_dim: noise length.

    Returns:
        ``step(images, embeddings, image_ids, noise_d=None, noise_g=None) -> (d_loss, g_loss)``:
        images float32 (B, S, S, 3) in [-1, 1], embeddings float32 (B, D), image_ids int64 (B,)
        (NumPy arrays or tensors); noise float32 (B, z_dim), drawn with ``tf.random.normal``
        inside the step when ``None`` (pass both to reproduce a step exactly). Returns the two
        float32 scalar losses (D's adversarial loss before, G's loss after D's update). One call
        updates D (matching-aware loss) and then G (non-saturating loss), as TextGAN does.
    """
    import tensorflow as tf

    from textgan_lib import losses
    from textgan_lib.training import wrong_caption_pairs

    @tf.function  # as in the tutorial: graph mode, no jit_compile
    def train_step(images, embeddings, image_ids, noise_d, noise_g):
        wrong, wrong_weights = wrong_caption_pairs(embeddings, image_ids)
        fake = generator([embeddings, noise_d], training=True)
        with tf.GradientTape() as disc_tape:
            real_right = discriminator([images, embeddings], training=True)
            real_wrong = discriminator([images, wrong], training=True)
            fake_right = discriminator([fake, embeddings], training=True)
            d_loss = losses.matching_aware_discriminator_loss(real_right, real_wrong,
                                                              fake_right, wrong_weights)
        d_vars = discriminator.trainable_variables
        d_optimizer.apply_gradients(zip(disc_tape.gradient(d_loss, d_vars), d_vars))
        with tf.GradientTape() as gen_tape:
            fake = generator([embeddings, noise_g], training=True)
            g_loss = losses.generator_loss(discriminator([fake, embeddings], training=False))
        g_vars = generator.trainable_variables
        g_optimizer.apply_gradients(zip(gen_tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss

    def step(images, embeddings, image_ids, noise_d=None, noise_g=None):
        batch = len(images)
        if noise_d is None:
            noise_d = tf.random.normal([batch, z_dim])
        if noise_g is None:
            noise_g = tf.random.normal([batch, z_dim])
        return train_step(images, embeddings, image_ids, noise_d, noise_g)

    return step


def numpy_batches(images_uint8, embeddings, image_ids, batch_size: int, seed: int = config.SEED):
    """Endless NumPy batches, cut by a Python loop (the baseline's input: no tf.data, no
    prefetch): shuffled each pass, last incomplete batch dropped.

    Yields:
        ``(images float32 (B, S, S, 3) in [-1, 1], embeddings float32 (B, D), ids int64 (B,))``.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(images_uint8)
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            yield (images_uint8[idx].astype(np.float32) / 127.5 - 1.0, embeddings[idx],
                   image_ids[idx].astype(np.int64))


# --------------------------------------------------------------------------- FLOP counting

def matmul_layers(model) -> list[dict]:
    """Multiply-adds per example of each convolution and dense layer of a functional model.

    Returns:
        list of ``{"name", "macs", "from_inputs"}``: ``macs`` the forward multiply-adds for one
        example, ``from_inputs`` the indices of the model inputs that feed the layer directly
        (such a layer needs no gradient for that input).
    """
    import keras
    import numpy as np

    input_ids = {id(t): i for i, t in enumerate(model.inputs)}
    rows = []
    for layer in model.layers:
        inner = getattr(layer, "layer", layer)            # SpectralNormalization wraps a layer
        if not isinstance(inner, (keras.layers.Conv2D, keras.layers.Conv2DTranspose,
                                  keras.layers.Dense)):
            continue
        in_shape, out_shape = tuple(layer.input.shape), tuple(layer.output.shape)
        if isinstance(inner, keras.layers.Conv2DTranspose):
            k = int(np.prod(inner.kernel_size))
            macs = int(np.prod(in_shape[1:])) * k * int(out_shape[-1])
        elif isinstance(inner, keras.layers.Conv2D):
            k = int(np.prod(inner.kernel_size))
            macs = int(np.prod(out_shape[1:])) * k * int(in_shape[-1])
        else:
            macs = int(np.prod(in_shape[1:])) * int(out_shape[-1])
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        rows.append({"name": layer.name, "macs": macs,
                     "from_inputs": [input_ids[id(t)] for t in inputs if id(t) in input_ids]})
    return rows


def train_step_flops(generator, discriminator, batch_size: int) -> dict:
    """FLOPs (2 x multiply-adds of convolutions and dense layers) of one TextGAN train step
    with the default options (no augmentation, penalty or EMA), by pass.

    Returns:
        dict of ints: ``g_forward`` and ``d_forward`` (per example), and the step's FLOPs
        ``d_step``, ``g_step`` and ``total``.
    """
    g_rows, d_rows = matmul_layers(generator), matmul_layers(discriminator)
    g_fwd = sum(r["macs"] for r in g_rows)
    d_fwd = sum(r["macs"] for r in d_rows)
    # input gradients: not for layers fed only by data (G's text projection; D's first
    # convolution and text projection in the D step, D's text projection in the G step)
    g_igrad = sum(r["macs"] for r in g_rows if not r["from_inputs"])
    d_igrad_d_step = sum(r["macs"] for r in d_rows if not r["from_inputs"])
    d_igrad_g_step = sum(r["macs"] for r in d_rows if 1 not in r["from_inputs"])
    b = int(batch_size)
    d_step = b * g_fwd + 3 * b * (d_fwd + d_fwd + d_igrad_d_step)       # fakes; D fwd, dW, dX
    g_step = b * (g_fwd + g_fwd + g_igrad) + b * (d_fwd + d_igrad_g_step)
    return {"g_forward": 2 * g_fwd, "d_forward": 2 * d_fwd, "d_step": 2 * d_step,
            "g_step": 2 * g_step, "total": 2 * (d_step + g_step)}


def matmul_probe(tf, n: int = MATMUL_N, repeats: int = 5) -> float:
    """Median float32 GFLOP/s of an n x n @ n x n matmul (``tf.function``), over ``repeats``."""
    import numpy as np

    a = tf.random.normal((n, n), seed=1)
    b = tf.random.normal((n, n), seed=2)
    f = _matmul_fn(tf)
    f(a, b).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / float(np.median(times)) / 1e9


_MATMUL = {}


def _matmul_fn(tf):
    if "f" not in _MATMUL:
        _MATMUL["f"] = tf.function(lambda a, b: tf.matmul(a, b))
    return _MATMUL["f"]


# --------------------------------------------------------------------------- the run

def _load(n: int | None = None):
    """Emoji training split (uint8 128 px), cached caption embeddings (float32 (N, 384)), ids."""
    from textgan_lib.data import load_emoji
    from textgan_lib.text import TextEncoder

    train = load_emoji("train", max_images=n)
    embeddings = TextEncoder().encode(train.captions)
    return train.images, embeddings, train.image_ids


def _nets(size: int, seed: int = config.SEED):
    import keras

    from textgan_lib.models import build_discriminator, build_generator

    keras.utils.set_random_seed(seed)
    return (build_generator(TEXT_DIM, image_size=size),
            build_discriminator(TEXT_DIM, image_size=size))


def _adam():
    import keras

    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def _load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def compare(args, tf, images, embeddings, ids) -> dict:
    """Time ours and the baseline alternately; returns the per-repeat and median figures."""
    import keras
    import numpy as np

    from textgan_lib.data.pipeline import resize_uint8
    from textgan_lib.training import TextGAN, fit_gan

    size, batch, steps = args.size, args.batch_size, args.steps
    small = resize_uint8(images, size)
    g_base, d_base = _nets(size)      # the baseline: float32, as the tutorial
    with config.policy_scope(args.precision):
        g_ours, d_ours = _nets(size)  # same seed: the same initial (float32) weights
    flops = train_step_flops(g_ours, d_ours, batch)
    baseline = make_baseline_step(g_base, d_base, _adam(), _adam())
    feed = numpy_batches(small, embeddings, ids, batch)

    def run_baseline(n):
        start = time.perf_counter()
        for _ in range(n):
            out = baseline(*next(feed))
        float(out[0])                                  # wait for the last step
        return time.perf_counter() - start

    gan = TextGAN(g_ours, d_ours, fuse_d_calls=args.fuse == "on")
    with config.policy_scope(args.precision):  # compile wraps optimizers under mixed_float16
        gan.compile(d_optimizer=_adam(), g_optimizer=_adam(), jit_compile=config.JIT_COMPILE[args.jit])
    fit_args = dict(batch_size=batch, image_size=size, verbose=0, tensorboard=False)

    start = time.perf_counter()
    fit_gan(gan, small, embeddings, ids, epochs=1, steps_per_epoch=1, **fit_args)
    warm_ours = time.perf_counter() - start
    warm_base = run_baseline(1)
    xla = ", XLA compilation" if args.jit == "on" else ""
    print(f"[bench] warm-up step (tracing{xla}): ours "
          f"{warm_ours:.1f} s, baseline {warm_base:.1f} s", flush=True)

    rows = []

    class Alternate(keras.callbacks.Callback):
        """Times each of our epochs (``steps`` steps); after it, runs the baseline and the
        matmul probe outside our timing."""

        def on_epoch_begin(self, epoch, logs=None):
            self.load = _load_avg()
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            ours = time.perf_counter() - self.start
            base = run_baseline(steps)
            peak = matmul_probe(tf)
            row = {"repeat": epoch, "ours_img_s": batch * steps / ours,
                   "baseline_img_s": batch * steps / base, "ours_s": ours, "baseline_s": base,
                   "matmul_gflop_s": peak, "load_avg": self.load}
            rows.append(row)
            ratio = row["ours_img_s"] / row["baseline_img_s"]
            print(f"[bench] repeat {epoch}: ours {row['ours_img_s']:6.1f} img/s, baseline "
                  f"{row['baseline_img_s']:6.1f} img/s (x{ratio:.2f}), "
                  f"matmul {peak:6.1f} GFLOP/s, load {self.load}", flush=True)

    fit_gan(gan, small, embeddings, ids, epochs=args.repeats, steps_per_epoch=steps,
            callbacks=[Alternate()], **fit_args)
    med = {k: float(np.median([r[k] for r in rows]))
           for k in ("ours_img_s", "baseline_img_s", "matmul_gflop_s")}
    step_gflop = flops["total"] / 1e9
    result = {
        "per_repeat": rows, "median": med, "ratio": med["ours_img_s"] / med["baseline_img_s"],
        "warmup_s": {"ours": warm_ours, "baseline": warm_base},
        "flops_per_step": flops,
        "gflop_s": {k: step_gflop * med[f"{k}_img_s"] / batch for k in ("ours", "baseline")},
    }
    result["peak_fraction"] = {k: v / med["matmul_gflop_s"] for k, v in result["gflop_s"].items()}
    return result


def course_epoch(args, tf, images, embeddings, ids, jit_compile) -> dict:
    """One ``course``-mode epoch of the base GAN, set up as ``train_cascade`` sets it up."""
    import keras
    import numpy as np

    from textgan_lib.models import build_discriminator, build_generator
    from textgan_lib.training import TextGAN, fit_gan

    cfg = config.get_config("course")
    steps_per_epoch = len(images) // cfg.batch_size
    config.set_seed()
    with config.policy_scope(args.precision):
        gan = TextGAN(build_generator(TEXT_DIM), build_discriminator(TEXT_DIM))
        gan.compile(d_optimizer=_adam(), g_optimizer=_adam(), jit_compile=jit_compile)
    ends = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

    load = _load_avg()
    full = args.epoch_steps == 0
    steps = steps_per_epoch if full else min(args.epoch_steps, steps_per_epoch)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        fit_gan(gan, images, embeddings, ids, epochs=1, batch_size=cfg.batch_size,
                steps_per_epoch=steps, image_size=config.BASE_SIZE, verbose=0,
                out_dir=Path(tmp) if full else None, callbacks=[Clock()],
                sample_embeddings=embeddings[:8] if full else None)
        total = time.perf_counter() - start
    first = ends[0] - start
    per_step = float(np.median(np.diff(ends))) if len(ends) > 1 else first
    out = {"jit_compile": jit_compile, "precision": args.precision,
           "image_size": config.BASE_SIZE,
           "batch_size": cfg.batch_size, "steps_per_epoch": steps_per_epoch,
           "timed_steps": steps, "first_step_s": first, "median_step_s": per_step,
           "load_avg_before": load, "load_avg_after": _load_avg()}
    if full:
        out.update(epoch_s=total, how="one whole epoch through fit_gan (checkpoint and sample "
                                         "grid included)")
    else:
        out.update(epoch_s=first + per_step * (steps_per_epoch - 1),
                   how=f"first step + median of {steps - 1} later steps x "
                       f"{steps_per_epoch - 1} (estimate)")
    print(f"[bench] course epoch (32 px, batch {cfg.batch_size}, {steps_per_epoch} steps, "
          f"jit_compile={jit_compile}, {args.precision}): {out['epoch_s']:.1f} s "
          f"({out['how']}; first step "
          f"{first:.1f} s, then {per_step:.2f} s/step), load {load}", flush=True)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64, help="image side S (power of two)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of each side")
    parser.add_argument("--steps", type=int, default=3, help="train steps per timed repeat")
    parser.add_argument("--jit", choices=("auto", "on", "off"), default="auto",
                        help="ours: jit_compile 'auto' (default: Keras decides; no XLA on a "
                             "CPU), on (XLA) or off, as textgan train --jit")
    parser.add_argument("--no-jit", dest="jit", action="store_const", const="off",
                        help="the same as --jit off")
    parser.add_argument("--precision", default="auto",
                        choices=config.PRECISIONS,
                        help="ours and the course epoch: the Keras dtype policy (default auto, "
                             "as textgan train: config.default_precision()); the baseline "
                             "always runs in float32")
    parser.add_argument("--fuse", choices=("on", "off"), default="off",
                        help="ours: one D call on the 3B batch (TextGAN's fuse_d_calls)")
    parser.add_argument("--epoch-steps", type=int, default=6,
                        help="steps timed for the course-epoch estimate (0: a whole epoch, "
                             "-1: skip it)")
    parser.add_argument("--max-images", type=int, default=None, help="use fewer images")
    parser.add_argument("--json", type=Path, default=None,
                        help="output file (default outputs/bench/train_step_<size>px.json)")
    args = parser.parse_args(argv)

    tf = config.import_tensorflow()
    args.precision = config.resolve_precision(args.precision)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load_before = _load_avg()
    images, embeddings, ids = _load(args.max_images)
    print(f"[bench] {len(images)} emoji training pairs, embeddings {embeddings.shape}; "
          f"S={args.size}, B={args.batch_size}, {args.repeats} x {args.steps} steps per side; "
          f"ours jit {args.jit}, {args.precision}, fuse={args.fuse}; {os.cpu_count()} CPUs, "
          f"load {load_before}", flush=True)
    result = {"date": started, "args": {k: (str(v) if isinstance(v, Path) else v)
                                        for k, v in vars(args).items()},
              "machine": {"cpus": os.cpu_count(), "processor": platform.processor()
                          or platform.machine(), "tensorflow": tf.__version__,
                          "load_avg_before": load_before}}
    result.update(compare(args, tf, images, embeddings, ids))
    med, flops = result["median"], result["flops_per_step"]
    print(f"[bench] median throughput at {args.size} px, batch {args.batch_size}: ours "
          f"{med['ours_img_s']:.1f} img/s, baseline {med['baseline_img_s']:.1f} img/s, "
          f"ratio ours/baseline x{result['ratio']:.2f}")
    print(f"[bench] one train step = {flops['total'] / 1e9:.1f} GFLOP (convolutions and dense "
          f"layers); matmul probe {med['matmul_gflop_s']:.1f} GFLOP/s (median); ours "
          f"{result['gflop_s']['ours']:.1f} GFLOP/s = "
          f"{100 * result['peak_fraction']['ours']:.0f} % "
          f"of it, baseline {result['gflop_s']['baseline']:.1f} GFLOP/s = "
          f"{100 * result['peak_fraction']['baseline']:.0f} %", flush=True)
    if args.epoch_steps >= 0:
        result["course_epoch"] = [course_epoch(args, tf, images, embeddings, ids, "auto")]
        if args.jit != "off":         # the same epoch with XLA, for comparison
            result["course_epoch"].append(course_epoch(args, tf, images, embeddings, ids, True))
    result["machine"]["load_avg_after"] = _load_avg()
    print(f"[bench] load average before {load_before}, after {result['machine']['load_avg_after']}")
    path = args.json or config.output_dir() / "bench" / f"train_step_{args.size}px.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"[bench] wrote {path}")
    return result


if __name__ == "__main__":
    main()
