"""Evaluating text-to-image models honestly: KID, Inception Score, intervals, FID's bias.

Taught in ``08_evaluation``; ``textgan evaluate`` prints the table of README.md.

Every number here comes with its sample size and an interval, because the metrics of
text-to-image papers are estimates from finite samples:

* **FID** (:mod:`textgan_lib.fid`) is *biased*: the Fréchet distance of two finite samples of
  one distribution is above 0 and shrinks as n grows (:func:`fid_curve`). Compare FIDs only at
  equal n. :func:`fid_bootstrap` resamples both feature sets with replacement; a resample holds
  only about 63 % distinct points, so its FIDs sit *above* the full-sample FID (the same bias):
  read the bootstrap spread as the estimate's variability, not as an interval around it.
* **KID** (Binkowski et al. 2018) is the unbiased estimate of MMD^2 with the cubic polynomial
  kernel ``k(x, y) = (x . y / d + 1)^3``, averaged over random subsets as in the authors'
  ``compute_scores.py`` (``polynomial_mmd_averages``): unbiased, so two samples of one
  distribution score about 0, and sometimes below 0.
* **Inception Score** (Salimans et al. 2016) ``exp(E_x KL(p(y|x) || p(y)))``, over splits, as
  the authors' ``inception_score.py`` computes it. It needs a classifier; offline we have none
  trained on ImageNet, so :func:`caption_probabilities` turns the emoji feature network into
  one (a softmax over the cosine similarity to each held-out caption). Numbers on this
  classifier are comparable with each other only, never with published Inception Scores.
* **R-precision** (:mod:`textgan_lib.metrics`) and **attribute accuracy** are means of
  per-image hits; :func:`bootstrap_mean_interval` gives their percentile interval
  (:func:`bootstrap_interval` for any statistic, e.g. the Inception Score).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: Subsets of KID: the defaults of the authors' ``polynomial_mmd_averages`` (50 subsets of
#: 1,000 points); :func:`kid` takes at most half of the smaller set per subset.
KID_SUBSETS = 50
KID_SUBSET_SIZE = 1000
#: Softmax temperature of :func:`caption_probabilities`: CLIP's logit scale, 100 (Radford et
#: al. 2021, who clip the learned scale at 100), so a cosine gap of 0.01 is a factor e.
TEMPERATURE = 0.01


def _features(x, name: str) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{name} must be (N >= 2, F) features, got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contain NaN or inf values.")
    return x


def polynomial_mmd2(x, y) -> float:
    """Unbiased MMD^2 of two feature sets (m, d) and (n, d), kernel ``(x . y / d + 1)^3``.

    ``sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1))
    - 2 sum_{i, j} k(x_i, y_j) / (m n)``: the diagonal terms k(x_i, x_i) are left out, which
    removes the bias; the price is that the estimate can be negative.
    """
    x, y = _features(x, "x"), _features(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sizes differ: {x.shape[1]} and {y.shape[1]}.")
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    m, n = len(x), len(y)
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * k_xy.mean())


def kid(real_features, fake_features, num_subsets: int = KID_SUBSETS,
        subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> dict:
    """Kernel Inception Distance: :func:`polynomial_mmd2` averaged over random subsets.

    Each of ``num_subsets`` rounds draws the same number of points of each set without
    replacement (the authors' code): ``subset_size``, but at most half of the smaller set, so
    that the subsets differ and their spread says how much the estimate moves.

    Returns:
        ``{"kid", "kid_std", "subset_size", "num_subsets"}``: the mean and standard deviation
        of the subsets' MMD^2 (in the kernel's units: not on FID's scale).
    """
    real = _features(real_features, "real features")
    fake = _features(fake_features, "fake features")
    if num_subsets < 1:
        raise ValueError(f"num_subsets must be >= 1, got {num_subsets}.")
    size = min(int(subset_size), min(len(real), len(fake)) // 2)
    if size < 2:
        raise ValueError("KID needs at least 4 points in each set.")
    rng = np.random.default_rng(seed)
    values = np.array([polynomial_mmd2(real[rng.choice(len(real), size, replace=False)],
                                       fake[rng.choice(len(fake), size, replace=False)])
                       for _ in range(num_subsets)])
    return {"kid": float(values.mean()), "kid_std": float(values.std()),
            "subset_size": size, "num_subsets": int(num_subsets)}


def inception_score(probabilities, splits: int = 10) -> dict:
    """Inception Score ``exp(E_x KL(p(y|x) || p(y)))``, per split, as Salimans et al.'s code.

    Args:
        probabilities: (N, K) class probabilities p(y|x) of N images (rows sum to 1).
        splits: the images are cut into this many consecutive parts; p(y) is each part's mean.

    Returns:
        ``{"is", "is_std", "splits", "n"}``: mean and standard deviation over the splits.
        1 when every image gets the same prediction; K when each prediction is certain and the
        K classes are equally frequent (within each split).
    """
    p = np.asarray(probabilities, np.float64)
    if p.ndim != 2 or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"probabilities must be a finite, non-negative (N, K) array, got shape "
                         f"{p.shape}.")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("each row of probabilities must sum to 1.")
    if not 1 <= splits <= len(p):
        raise ValueError(f"splits must be in 1..{len(p)}, got {splits}.")
    scores, n = [], len(p)
    for i in range(splits):        # the authors' slices: rows i*n//splits .. (i+1)*n//splits
        part = p[i * n // splits:(i + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return {"is": float(np.mean(scores)), "is_std": float(np.std(scores)),
            "splits": int(splits), "n": int(len(p))}


def caption_probabilities(predicted_embeddings, caption_embeddings,
                          temperature: float = TEMPERATURE) -> np.ndarray:
    """p(caption | image): a softmax over the cosine similarity of what the feature network
    reads from each image (N, D) to each candidate caption's embedding (K, D), divided by
    ``temperature``. Returns (N, K) float64; the classes are the K captions."""
    a = np.asarray(predicted_embeddings, np.float64)
    b = np.asarray(caption_embeddings, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need (N, D) and (K, D) embeddings, got {a.shape} and {b.shape}.")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    logits = a @ b.T / temperature
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def bootstrap_interval(statistic, values, num_resamples: int = 1000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(values)``: ``values`` (N, ...) is resampled
    N rows at a time with replacement, ``num_resamples`` times, and the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of the statistic are returned. Valid for a statistic that is
    (close to) unbiased, such as a mean; for FID see :func:`fid_bootstrap`."""
    v = np.asarray(values, np.float64)
    if len(v) < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"need at least 2 finite values, got {len(v)}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}.")
    rng = np.random.default_rng(seed)
    stats = [statistic(v[rng.integers(0, len(v), len(v))]) for _ in range(num_resamples)]
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def bootstrap_std(statistic, values, num_resamples: int = 200, seed: int = 0) -> float:
    """Standard deviation of ``statistic`` over bootstrap resamples of ``values`` (N, ...):
    how much a set-level statistic (FID, IS) moves with the sample. Its resampled values are
    biased (a resample holds about 63 % distinct items: IS falls, FID rises), so a percentile
    interval of them need not contain the full-sample value; their spread is still useful."""
    v = np.asarray(values, np.float64)
    if len(v) < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"need at least 2 finite values, got {len(v)}.")
    rng = np.random.default_rng(seed)
    return float(np.std([statistic(v[rng.integers(0, len(v), len(v))])
                         for _ in range(num_resamples)]))


def bootstrap_mean_interval(values, num_resamples: int = 1000, level: float = 0.95,
                            seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-item ``values`` (N,), e.g. R@1's hits.

    Draws ``num_resamples`` resamples of N items with replacement and returns the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of their means.
    """
    v = np.asarray(values, np.float64).ravel()
    if len(v) < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"need at least 2 finite values, got {len(v)}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}.")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (num_resamples, len(v)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def fid_from_features(real_features, fake_features) -> float:
    """FID of two feature sets (:func:`textgan_lib.fid.frechet_distance` of their Gaussians)."""
    from .fid import feature_statistics, frechet_distance

    return frechet_distance(*feature_statistics(real_features),
                            *feature_statistics(fake_features))


def fid_bootstrap(real_features, fake_features, num_resamples: int = 100, level: float = 0.95,
                  seed: int = 0) -> dict:
    """FID and the spread of FID over bootstrap resamples of both feature sets.

    Returns:
        ``{"fid", "low", "high", "resampled_mean", "std"}``: the full-sample FID, the
        percentile interval of the resampled FIDs, their mean and standard deviation. Resampling with replacement keeps
        about 63 % distinct points, so ``resampled_mean`` is above ``fid`` (FID's small-sample
        bias); ``high - low`` is the useful part: how much the estimate moves.
    """
    real = _features(real_features, "real features")
    fake = _features(fake_features, "fake features")
    rng = np.random.default_rng(seed)
    values = np.array([fid_from_features(real[rng.integers(0, len(real), len(real))],
                                         fake[rng.integers(0, len(fake), len(fake))])
                       for _ in range(num_resamples)])
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return {"fid": fid_from_features(real, fake), "low": float(lo), "high": float(hi),
            "resampled_mean": float(values.mean()), "std": float(values.std())}


def fid_curve(real_features, fake_features, sizes, repeats: int = 5, seed: int = 0) -> dict:
    """Mean and standard deviation of FID at each sample size n (both sets subsampled to n
    without replacement, ``repeats`` times): FID's small-sample bias made visible.

    Returns:
        ``{"n": [...], "fid": [...], "fid_std": [...]}``.
    """
    real = _features(real_features, "real features")
    fake = _features(fake_features, "fake features")
    rng = np.random.default_rng(seed)
    out = {"n": [], "fid": [], "fid_std": []}
    for n in sizes:
        n = int(n)
        if not 2 <= n <= min(len(real), len(fake)):
            raise ValueError(f"sample size {n} must be in 2..{min(len(real), len(fake))}.")
        values = [fid_from_features(real[rng.choice(len(real), n, replace=False)],
                                    fake[rng.choice(len(fake), n, replace=False)])
                  for _ in range(repeats)]
        out["n"].append(n)
        out["fid"].append(float(np.mean(values)))
        out["fid_std"].append(float(np.std(values)))
    return out




# --------------------------------------------------------------------------------------------
# One table for every model: ``textgan evaluate``.
# --------------------------------------------------------------------------------------------

def score(images: dict, sets: dict, network, extractor, reference_images=None,
          seed: int = 0) -> dict:
    """Every metric of one model (or of the real images), each with its n and interval.

    Args:
        images: ``{"train": (400, 32, 32, 3), "val": (402, 32, 32, 3)}`` drawn for the two
            evaluation sets of :func:`textgan_lib.recognizability.evaluation_sets` (uint8 or
            [-1, 1]).
        sets: those evaluation sets.
        network, extractor: the emoji feature network and its feature sub-model.
        reference_images: what FID and KID compare the ``val`` images with (default: the real
            held-out images of ``sets["val"]``).

    Returns:
        ``r1_train``/``r1_val`` with ``*_ci`` (95 % bootstrap of the per-image hits);
        ``fid_val`` with ``fid_std`` (the standard deviation of bootstrap FIDs) and
        ``fid_resampled`` (their 95 % range, which lies above ``fid_val``: see
        :func:`fid_bootstrap`); ``kid_val`` and ``kid_std`` (over subsets of 201); ``is_val``
        with ``is_std`` (one split of all held-out images, classes: the held-out captions;
        :func:`bootstrap_std`); and the sample sizes ``n_train``, ``n_val``.
    """
    from . import fid
    from .metrics import r_precision_ranks
    from .recognizability import CANDIDATE_SEED, CANDIDATES, _as_float

    out = {}
    for name in ("train", "val"):
        x = _as_float(images[name])
        predicted = np.asarray(network.predict(x, batch_size=256, verbose=0))
        hits = r_precision_ranks(predicted, sets[name].embeddings, CANDIDATES,
                                 CANDIDATE_SEED) < 1
        out[f"r1_{name}"] = float(hits.mean())
        out[f"r1_{name}_ci"] = bootstrap_mean_interval(hits, seed=seed)
        out[f"n_{name}"] = int(len(x))
        if name == "val":            # IS over all 402 images at once (one split)
            p = caption_probabilities(predicted, sets["val"].embeddings)
            out["is_val"] = inception_score(p, splits=1)["is"]
            out["is_std"] = bootstrap_std(lambda q: inception_score(q, 1)["is"], p, seed=seed)
    reference = sets["val"].images if reference_images is None else reference_images
    real_f = fid.features(reference, extractor)
    fake_f = fid.features(_as_float(images["val"]), extractor)
    boot = fid_bootstrap(real_f, fake_f, seed=seed)
    out["fid_val"], out["fid_std"] = boot["fid"], boot["std"]
    out["fid_resampled"] = (boot["low"], boot["high"])
    k = kid(real_f, fake_f, seed=seed)
    out["kid_val"], out["kid_std"], out["kid_subset_size"] = k["kid"], k["kid_std"], \
        k["subset_size"]
    return out


def display_name(directory) -> str:
    """A cascade directory as the table names it: relative to the repository when inside it
    (``data/pretrained/skeleton`` from any working directory), else as given."""
    from . import config

    try:
        return str(Path(directory).resolve().relative_to(config.DATA_DIR.parent.resolve()))
    except ValueError:
        return str(directory)


def evaluate_cascades(directories, encoder=None) -> dict:
    """:func:`score` of the real images and of each saved cascade's base generator.

    The real-images row is the ceiling for R@1 and IS; its FID and KID compare the 400
    training-caption images with the 402 held-out ones (two real samples of different captions),
    a reference for the models' FID and KID of generated against real held-out images.

    Returns:
        ``{"rows": {name: score}, "n_train", "n_val", "candidates", "noise_seed"}``, each
        cascade's row named by :func:`display_name`.
    """
    from . import fid
    from .cascade import Cascade
    from .recognizability import CANDIDATES, NOISE_SEED, evaluation_sets, generate
    from .text import TextEncoder

    encoder = TextEncoder() if encoder is None else encoder
    sets = evaluation_sets(encoder)
    network = fid.load_feature_network()
    extractor = fid.feature_extractor(network)
    real = {name: s.images for name, s in sets.items()}
    rows = {"real images": score(real, sets, network, extractor,
                                 reference_images=sets["train"].images)}
    for directory in directories:
        generator = Cascade.load(directory, encoder=encoder).generator
        drawn = {name: generate(generator, s.embeddings) for name, s in sets.items()}
        rows[display_name(directory)] = score(drawn, sets, network, extractor)
    return {"rows": rows, "n_train": len(sets["train"].captions),
            "n_val": len(sets["val"].captions), "candidates": CANDIDATES,
            "noise_seed": NOISE_SEED}


def format_table(result: dict) -> str:
    """The table ``textgan evaluate`` prints: one row per model, intervals in brackets."""
    head = (f"{'model':<28} {'FID val':>12} {'KID val x1000':>14} {'R@1 train':>19} "
            f"{'R@1 val':>19} {'IS val':>12}")
    lines = [head]
    for name, r in result["rows"].items():
        lines.append(
            f"{name[-28:]:<28} {r['fid_val']:>5.2f} ± {r['fid_std']:.2f}"
            f" {1000 * r['kid_val']:>7.2f} ± {1000 * r['kid_std']:.2f}"
            f" {r['r1_train']:>6.3f} [{r['r1_train_ci'][0]:.2f}, {r['r1_train_ci'][1]:.2f}]"
            f" {r['r1_val']:>6.3f} [{r['r1_val_ci'][0]:.2f}, {r['r1_val_ci'][1]:.2f}]"
            f" {r['is_val']:>6.1f} ± {r['is_std']:.1f}")
    lines.append(
        f"(n = {result['n_train']} training / {result['n_val']} held-out captions, one image "
        f"each, noise seed {result['noise_seed']}; FID and KID: held-out images against the "
        f"real held-out ones (real row: the {result['n_train']} training-caption images), "
        "KID ± the std over subsets; R@1: "
        f"{result['candidates']} candidates, chance 0.01, [95 % bootstrap interval]; IS: classes "
        f"= the {result['n_val']} held-out captions, one split; FID and IS ± the bootstrap std; "
        "none is comparable with Inception-network numbers)")
    return "\n".join(lines)


__all__ = ["polynomial_mmd2", "kid", "inception_score", "caption_probabilities",
           "bootstrap_interval", "bootstrap_std", "bootstrap_mean_interval", "fid_from_features", "fid_bootstrap", "fid_curve",
           "fid_infinity", "score", "evaluate_cascades", "format_table", "inception_network", "inception_features", "clip_model", "clip_score", "attribute_accuracy_intervals",
           "KID_SUBSETS", "KID_SUBSET_SIZE", "TEMPERATURE", "CLIP_SCORE_WEIGHT", "CLIP_PRESET"]


def fid_infinity(curve: dict) -> float:
    """FID extrapolated to infinitely many images (Chong and Forsyth 2020, "FID_inf"): FID
    is close to linear in 1/n, so fit ``FID(n) = a + b / n`` to a :func:`fid_curve` by least
    squares and return the intercept ``a``. The authors' code fits at several n up to the
    full sample; like FID itself, compare FID_inf at equal numbers of images."""
    n = np.asarray(curve["n"], np.float64)
    if len(n) < 2:
        raise ValueError("fid_infinity needs a curve with at least 2 sample sizes.")
    slope, intercept = np.polyfit(1.0 / n, np.asarray(curve["fid"], np.float64), 1)
    return float(intercept)


# --------------------------------------------------------------------------------------------
# The online metrics, for Colab: Inception-v3 features (the usual FID) and the CLIP score.
# --------------------------------------------------------------------------------------------

INCEPTION_SIZE = 299


def inception_network(weights: str | None = "imagenet"):
    """Keras' Inception-v3 without its classifier, global-average pooled: images (B, 299, 299, 3)
    preprocessed to [-1, 1] -> features (B, 2048), the pool3 features FID uses. ``weights``:
    ``"imagenet"`` downloads them (Colab); ``None`` gives random weights (offline tests).

    Keras' ImageNet weights are not the 2015 TensorFlow graph that the reference FID code
    (and pytorch-fid's port of it) uses, so its FIDs are close to, not equal to, published
    ones: compare models within one implementation."""
    import keras

    from . import config

    with config.float32_policy():
        return keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights,
                                              input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))


def inception_features(images, network, batch_size: int = 32) -> np.ndarray:
    """Inception-v3 features (N, 2048) of images (N, H, W, 3), uint8 0..255 or float in [-1, 1]:
    resized bilinearly to 299 px (as the reference FID code does) and mapped to the range
    Inception-v3 was trained on, [-1, 1] (``keras.applications.inception_v3.preprocess_input``
    of 0..255)."""
    import keras
    import tensorflow as tf

    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"images must be (N, H, W, 3), got shape {x.shape}.")
    pixels = (x.astype(np.float32) if x.dtype == np.uint8
              else (np.clip(x.astype(np.float32), -1, 1) + 1) * 127.5)        # 0..255
    out = []
    for i in range(0, len(pixels), batch_size):
        big = tf.image.resize(pixels[i:i + batch_size], (INCEPTION_SIZE, INCEPTION_SIZE),
                              method="bilinear")
        big = keras.applications.inception_v3.preprocess_input(np.array(big))     # a copy
        out.append(np.asarray(network.predict(big, verbose=0)))
    return np.concatenate(out).astype(np.float64)


#: CLIPScore's rescaling constant (Hessel et al. 2021: CLIP-S = w max(cos, 0), w = 2.5).
CLIP_SCORE_WEIGHT = 2.5
CLIP_PRESET = "clip_vit_base_patch32"


def clip_model(preset: str = CLIP_PRESET):
    """``(backbone, preprocessor)`` of a CLIP model through KerasHub (Keras 3), downloaded
    from the preset on first use (Colab: ``pip install keras-hub`` if it is missing). The
    preprocessor tokenises captions and resizes and normalises images (0..255) for the
    backbone; :func:`clip_score` uses both."""
    import keras_hub

    from . import config

    with config.float32_policy():
        return (keras_hub.models.CLIPBackbone.from_preset(preset),
                keras_hub.models.CLIPPreprocessor.from_preset(preset))


def clip_score(images, captions, backbone, preprocessor, batch_size: int = 32,
               weight: float = CLIP_SCORE_WEIGHT) -> dict:
    """CLIPScore (Hessel et al. 2021) of images and their captions: for each pair,
    ``weight * max(cos(E_image, E_text), 0)`` in CLIP's joint embedding space; the mean,
    its 95 % bootstrap interval and the per-pair values. Text-to-image papers often report
    ``max(100 * cos, 0)`` instead (torchmetrics' ``CLIPScore``): say which.

    Args:
        images: (N, H, W, 3), uint8 0..255 or float in [-1, 1].
        captions: N strings, caption i for image i.
        backbone, preprocessor: :func:`clip_model` (or any KerasHub CLIP pair).

    Returns:
        ``{"clip_score", "clip_score_ci", "per_pair", "n"}``.
    """
    x = np.asarray(images)
    captions = [str(c) for c in captions]
    if x.ndim != 4 or x.shape[-1] != 3 or len(x) != len(captions) or len(x) < 2:
        raise ValueError(f"need N >= 2 images (N, H, W, 3) and N captions, got {x.shape} and "
                         f"{len(captions)} captions.")
    pixels = (x.astype(np.float32) if x.dtype == np.uint8
              else (np.clip(x.astype(np.float32), -1, 1) + 1) * 127.5)        # 0..255
    cosines = []
    for i in range(0, len(x), batch_size):
        batch = preprocessor({"images": pixels[i:i + batch_size],
                              "prompts": np.array(captions[i:i + batch_size])})
        batch = batch[0] if isinstance(batch, tuple) else batch
        v = np.asarray(backbone.get_vision_embeddings(batch["images"]), np.float64)
        t = np.asarray(backbone.get_text_embeddings(batch["token_ids"]), np.float64)
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
        cosines.append(np.sum(v * t, axis=1))
    per_pair = weight * np.maximum(np.concatenate(cosines), 0.0)
    return {"clip_score": float(per_pair.mean()),
            "clip_score_ci": bootstrap_mean_interval(per_pair), "per_pair": per_pair,
            "n": int(len(per_pair))}


def attribute_accuracy_intervals(images, attributes: dict, num_resamples: int = 1000,
                                 seed: int = 0) -> dict:
    """Attribute accuracy on captioned shapes (:func:`textgan_lib.data.shapes.attribute_accuracy`,
    the exact scorer) with a 95 % percentile bootstrap interval per attribute.

    Returns:
        ``{name: (accuracy, (low, high))}`` for ``colour``, ``shape``, ``size``, ``position``
        and ``all`` (all four right), plus ``"n"``.
    """
    from .data.shapes import ATTRIBUTES, score_attributes

    scored = score_attributes(images)
    right = {name: scored[name] == np.asarray(attributes[name]) for name in ATTRIBUTES}
    right["all"] = np.all(np.stack([right[name] for name in ATTRIBUTES]), axis=0)
    out = {name: (float(np.mean(r)), bootstrap_mean_interval(r.astype(float), num_resamples,
                                                             seed=seed))
           for name, r in right.items()}
    out["n"] = int(len(right["all"]))
    return out
