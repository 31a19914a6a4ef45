"""FID on emoji: the Fréchet distance between real and generated images in a feature space.

Taught in ``06_training``.

FID (Heusel et al., 2017) fits a Gaussian to the features of real images and one to the
features of generated images and measures the Fréchet (2-Wasserstein) distance between them:

    FID = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r^1/2 S_g S_r^1/2)^1/2)

0 means the two feature distributions have the same mean and covariance; lower is better.
The usual features come from an Inception-v3 network trained on ImageNet. This course runs
offline and at 32 px, so the features come from a **small network trained on the emoji set
itself** (:func:`build_feature_network`): a CNN that reads a 32 px emoji and predicts its
caption's sentence embedding (cosine loss), trained on the *training* split only. Its
128-d penultimate layer is the feature space. Numbers from it are comparable with each other
(same network, same sample size), **not** with published Inception FIDs. FID is biased upward
for small samples, so always state the sample size and compare at equal sizes.
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from . import config

#: The feature network shipped with the course (``bench/fid.py --train-features`` makes it).
FEATURES_FILE = config.DATA_DIR / "pretrained" / "emoji_features.keras"
FEATURE_DIM = 128


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and covariance (F, F) of ``features`` (N, F), float64, N >= 2.

    Raises:
        ValueError: if ``features`` is not 2-D with at least 2 rows, or is not finite.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features must be (N >= 2, F), got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("features contain NaN or inf values.")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (via eigh)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (squared units of features).

    Uses Tr((S1 S2)^1/2) = Tr((S1^1/2 S2 S1^1/2)^1/2), whose inner matrix is symmetric PSD,
    so only symmetric eigendecompositions are needed (no complex square roots).

    Args:
        mu1, mu2: means (F,).
        sigma1, sigma2: covariances (F, F), symmetric positive semi-definite.

    Returns:
        a float >= 0 (tiny negative rounding errors are clipped to 0).

    Raises:
        ValueError: if the shapes do not match.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    f = mu1.shape[0]
    if mu1.shape != (f,) or mu2.shape != (f,) or sigma1.shape != (f, f) or sigma2.shape != (f, f):
        raise ValueError(f"shapes do not match: mu {mu1.shape}, {mu2.shape}; sigma "
                         f"{sigma1.shape}, {sigma2.shape}.")
    root1 = _sqrt_psd(sigma1)
    cross = np.trace(_sqrt_psd(root1 @ sigma2 @ root1))
    value = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * cross
    return float(max(value, 0.0))


def build_feature_network(text_dim: int = 384, image_size: int = config.BASE_SIZE,
                          feature_dim: int = FEATURE_DIM) -> keras.Model:
    """A small CNN: image (B, S, S, 3) in [-1, 1] -> predicted caption embedding (B, text_dim).

    Its layer ``features`` (B, feature_dim) is FID's feature space. Four 3x3 conv blocks
    (32, 64, 128, 128 channels; batch norm, ReLU, 2x2 max-pool after the first three), global
    average pooling, dense ``features`` (ReLU), dense ``embedding`` (L2-normalised).
    """
    image = keras.Input((image_size, image_size, 3), name="image")
    x = image
    for i, filters in enumerate((32, 64, 128, 128)):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        if i < 3:
            x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    features = keras.layers.Dense(feature_dim, activation="relu", name="features")(x)
    embedding = keras.layers.Dense(text_dim, name="embedding")(features)
    embedding = keras.layers.UnitNormalization(name="unit")(embedding)
    return keras.Model(image, embedding, name="emoji_features")


def train_feature_network(images: np.ndarray, embeddings: np.ndarray, epochs: int = 40,
                          batch_size: int = 64, seed: int = config.SEED,
                          verbose="auto") -> keras.Model:
    """Train :func:`build_feature_network` to predict each image's caption embedding.

    Args:
        images: uint8 (N, H, W, 3) training images (area-resized to 32 px here).
        embeddings: float32 (N, D) their caption embeddings (unit length).
        epochs, batch_size, seed: training length, batch, seed (flips are the augmentation).

    Returns:
        the trained model (loss: cosine distance to the caption embedding), uncompiled: a
        saved copy holds the weights only, no optimizer state.
    """
    import tensorflow as tf

    from .data.pipeline import resize_uint8, to_float

    config.set_seed(seed)
    x = resize_uint8(images, config.BASE_SIZE)
    model = build_feature_network(text_dim=embeddings.shape[1])
    ds = tf.data.Dataset.from_tensor_slices((x, np.asarray(embeddings, np.float32)))
    ds = ds.shuffle(len(x), seed=seed).batch(batch_size)
    ds = ds.map(lambda a, e: (tf.image.random_flip_left_right(to_float(a), seed=seed), e))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.CosineSimilarity())
    model.fit(ds.prefetch(tf.data.AUTOTUNE), epochs=epochs, verbose=verbose)
    trained = build_feature_network(text_dim=embeddings.shape[1])
    trained.set_weights(model.get_weights())
    return trained


def feature_extractor(model: keras.Model) -> keras.Model:
    """The sub-model ``image -> features`` (B, 128) of a feature network."""
    return keras.Model(model.input, model.get_layer("features").output, name="fid_features")


def load_feature_network(path=None) -> keras.Model:
    """Load the shipped feature network (safe mode).

    Raises:
        FileNotFoundError: if the file is missing (the message says how to make it).
    """
    path = Path(path) if path else FEATURES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no FID feature network at {path}; make it with "
                                "`python bench/fid.py --train-features`.")
    with config.float32_policy():          # float32 whatever the global policy
        return keras.saving.load_model(path)


def fid(real_images, fake_images, extractor: keras.Model, batch_size: int = 256) -> float:
    """FID between two sets of 32 px images in the feature space of ``extractor``.

    Args:
        real_images, fake_images: (N, 32, 32, 3) uint8 0..255 or float in [-1, 1]; larger
            images are area-resized to 32 px first. State N with the number: FID grows as N
            shrinks.
        extractor: :func:`feature_extractor` of a feature network.

    Returns:
        FID (float >= 0; squared feature units).

    Raises:
        ValueError: if a set has fewer than 2 images, or holds NaN/inf.
    """
    stats = [feature_statistics(_features(x, extractor, batch_size))
             for x in (real_images, fake_images)]
    return frechet_distance(*stats[0], *stats[1])


def features(images, extractor: keras.Model, batch_size: int = 256) -> np.ndarray:
    """The features (N, 128) that :func:`fid` compares: ``extractor`` applied to images
    (N, H, W, 3), uint8 0..255 or float in [-1, 1], area-resized to 32 px first.

    Raises:
        ValueError: if there are fewer than 2 images, or they hold NaN/inf.
    """
    return _features(images, extractor, batch_size)


def _features(images, extractor, batch_size) -> np.ndarray:
    from .data.pipeline import resize_uint8

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) < 2:
        raise ValueError(f"expected at least 2 images (N, H, W, 3), got shape {images.shape}.")
    if images.dtype != np.uint8:
        if not np.all(np.isfinite(images)):
            raise ValueError("images contain NaN or inf values.")
        images = np.round((np.clip(images, -1, 1) + 1) * 127.5).astype(np.uint8)
    x = resize_uint8(images, config.BASE_SIZE).astype(np.float32) / 127.5 - 1.0
    return np.asarray(extractor.predict(x, batch_size=batch_size, verbose=0))


__all__ = ["frechet_distance", "feature_statistics", "build_feature_network",
           "train_feature_network", "feature_extractor", "load_feature_network", "fid", "features",
           "FEATURES_FILE"]
