"""Super-resolution: the cascade's second stage, low-res image -> high-res image.

Taught in ``03_super_resolution``.

* :func:`downsample` is how the course makes low-resolution images: area averaging of
  scale x scale blocks (:func:`textgan_lib.data.pipeline.resize_uint8` does the same on uint8
  data sets once), for the base generator's training images and for super-resolution pairs.
* :func:`prepare_images` turns any image (grayscale, RGB, RGBA; any size) into RGB whose size
  is a multiple of the scale, so the other functions never have to guess.
* :func:`bicubic_upsample` (and :func:`build_bicubic`, the same as a Keras model) is the
  baseline any learned model must beat.
* Three learned models, in the order the notebook builds them:

  - :func:`build_srcnn` - SRCNN (Dong et al., 2014): three convolutions (9-1-5) on the
    bicubic-upsampled image, i.e. all work done at the *high* resolution;
  - :func:`build_espcn` - a sub-pixel network (ESPCN, Shi et al., 2016): convolutions at the
    *low* resolution, then one pixel shuffle (``tf.nn.depth_to_space``);
  - :func:`build_superres` - a small residual sub-pixel network (EDSR-style blocks without
    batch norm, Lim et al. 2017) that predicts the *difference* from the bicubic upsampling,
    so that an untrained network already starts near the baseline. The cascade uses it.

* :func:`patch_dataset` and :func:`fit_superres` train any of them on random aligned patches
  (L1 loss, Adam with cosine decay), optionally with noise augmentation of the low-res input;
  :func:`evaluate_sr` scores a model against bicubic; :func:`time_per_image` measures speed.
"""
from __future__ import annotations

import time

import keras
import numpy as np
from keras import layers, ops

from .. import config
from .blocks import PixelShuffle, residual_block

SCALES = (2, 4)


def _check_scale(scale: int) -> int:
    if scale not in SCALES:
        raise ValueError(f"scale must be 2 or 4, got {scale}.")
    return scale


def downsample(images, scale: int = config.SR_SCALE):
    """Average-pool ``scale`` x ``scale`` blocks: (B, H, W, C) -> (B, H/scale, W/scale, C).

    Works on float images in any range (the mean of a range stays in it).

    Raises:
        ValueError: if H or W is not a multiple of ``scale`` (:func:`prepare_images` crops).
    """
    images = ops.convert_to_tensor(images)
    h, w = images.shape[1], images.shape[2]
    if h % scale or w % scale:
        raise ValueError(f"image size {h}x{w} is not a multiple of the scale {scale}; "
                         "crop it first (prepare_images does).")
    return ops.average_pool(ops.cast(images, "float32"), scale, strides=scale, padding="valid")


def prepare_images(images, scale: int = config.SR_SCALE, value_range=(0.0, 255.0)):
    """Make images ready for super-resolution: RGB, size a multiple of ``scale``.

    Taught in ``03_super_resolution``.

    * Grayscale (H, W) or (H, W, 1) is repeated into three equal channels.
    * RGBA (H, W, 4) is **composited on white** (``rgb * alpha + white * (1 - alpha)``, alpha
      scaled to [0, 1]), as the emoji set is; a transparent pixel becomes white, not black.
    * Height and width are **cropped** (bottom rows and right columns dropped) to the largest
      multiples of ``scale``: HR 250x361 at x4 becomes 248x360, whose LR is 62x90.

    Args:
        images: one image (H, W), (H, W, C) or a batch (N, H, W, C) with C in {1, 3, 4}; a 3-D
            array is read as one image, never as a batch of grayscale images.
        scale: 2 or 4.
        value_range: (low, high) of the pixel values (white = high); alpha uses the same range.

    Returns:
        (N, H', W', 3) with H' = H - H % scale, W' = W - W % scale: uint8 if the input is uint8
        (composited values rounded), else float32, in ``value_range``.

    Raises:
        ValueError: on an unsupported shape or channel count, a bad scale, or an image smaller
            than ``scale`` pixels on a side.
    """
    _check_scale(scale)
    array = np.asarray(images)
    if array.ndim == 2:
        array = array[None, :, :, None]
    elif array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected (H, W), (H, W, C) or (N, H, W, C) with C in 1, 3, 4; "
                         f"got shape {np.asarray(images).shape}.")
    n, h, w, c = array.shape
    h2, w2 = h - h % scale, w - w % scale
    if h2 == 0 or w2 == 0:
        raise ValueError(f"image {h}x{w} is smaller than the scale {scale}.")
    is_uint8 = array.dtype == np.uint8
    array = array[:, :h2, :w2]
    if c == 1:
        array = np.repeat(array, 3, axis=-1)
    elif c == 4:
        lo, hi = value_range
        rgb, alpha = array[..., :3].astype(np.float32), array[..., 3:].astype(np.float32)
        alpha = np.clip((alpha - lo) / (hi - lo), 0.0, 1.0)
        array = rgb * alpha + hi * (1.0 - alpha)
        if is_uint8:
            array = np.round(array)
    return array.astype(np.uint8) if is_uint8 else array.astype(np.float32)


def _pairs_uint8(images, scale: int):
    high = prepare_images(np.asarray(images, dtype=np.uint8), scale)
    n, h, w, _ = high.shape
    low = np.round(high.reshape(n, h // scale, scale, w // scale, scale, 3)
                   .astype(np.float32).mean(axis=(2, 4))).astype(np.uint8)
    return low, high


def make_pairs(images: np.ndarray, scale: int = config.SR_SCALE):
    """(low, high) float32 pairs in [-1, 1] from uint8 images, as the cascade makes them.

    The low-res image is the area downsampling of the high-res one, rounded to uint8 once
    (the same values as :func:`textgan_lib.data.pipeline.resize_uint8`), exactly like the base
    generator's training images. Images are first passed through :func:`prepare_images`.

    Args:
        images: uint8 (N, H, W, C) or one image (see :func:`prepare_images`).
        scale: 2 or 4.

    Returns:
        ``(low (N, H/scale, W/scale, 3), high (N, H, W, 3))``, float32 NumPy arrays in [-1, 1].
    """
    low, high = _pairs_uint8(images, scale)
    return low.astype(np.float32) / 127.5 - 1.0, high.astype(np.float32) / 127.5 - 1.0


def bicubic_upsample(images, scale: int = config.SR_SCALE):
    """Bicubic interpolation: (B, h, w, C) float -> (B, h*scale, w*scale, C) float32.

    ``keras.ops.image.resize`` (``tf.image.resize`` with Keys' cubic, a = -0.5, and half-pixel
    centres). Values can overshoot the input range near edges; clip before display.
    """
    images = ops.cast(ops.convert_to_tensor(images), "float32")
    h, w = images.shape[1], images.shape[2]
    return ops.image.resize(images, (h * scale, w * scale), interpolation="bicubic")


def build_bicubic(scale: int = config.SR_SCALE, name: str = "bicubic") -> keras.Model:
    """Bicubic upsampling as a Keras model with no weights: (B, h, w, 3) -> (B, sh, sw, 3).

    Taught in ``03_super_resolution``; lets the baseline go through the same evaluation and
    timing code as the learned models. The same values as :func:`bicubic_upsample`.
    """
    _check_scale(scale)
    low = keras.Input((None, None, 3), name="low_res")
    high = layers.UpSampling2D(scale, interpolation="bicubic", name="bicubic")(low)
    return keras.Model(low, high, name=name)


def build_srcnn(scale: int = config.SR_SCALE, filters=(64, 32), kernel_sizes=(9, 1, 5),
                residual: bool = False, name: str = "srcnn") -> keras.Model:
    """SRCNN (Dong et al., 2014, "Learning a Deep Convolutional Network for Image
    Super-Resolution"): ``(B, h, w, 3) in [-1, 1] -> (B, h*scale, w*scale, 3)``.

    Taught in ``03_super_resolution``.

    The low-res image is first upsampled by bicubic interpolation; three convolutions then
    work at the *high* resolution: 9x9 patch extraction (64 maps, ReLU), 1x1 non-linear mapping
    (32 maps, ReLU), 5x5 reconstruction (3 channels, linear). ``padding="same"`` (the paper
    used "valid" and a smaller output). Every convolution runs on scale^2 times as many pixels
    as in a sub-pixel network, which is what makes SRCNN slow.

    Args:
        scale: 2 or 4.
        filters: channels of the first two convolutions.
        kernel_sizes: the three kernel sizes (the paper's 9-1-5).
        residual: if True, add the bicubic image to the output (a global residual, as in VDSR,
            Kim et al. 2016) instead of predicting the image itself as the paper does.
        name: model name.

    Raises:
        ValueError: if ``scale`` is not 2 or 4.
    """
    _check_scale(scale)
    low = keras.Input((None, None, 3), name="low_res")
    base = layers.UpSampling2D(scale, interpolation="bicubic", name="bicubic")(low)
    k1, k2, k3 = kernel_sizes
    x = layers.Conv2D(filters[0], k1, padding="same", activation="relu", name="extract")(base)
    x = layers.Conv2D(filters[1], k2, padding="same", activation="relu", name="map")(x)
    x = layers.Conv2D(3, k3, padding="same", name="reconstruct")(x)
    if residual:
        x = layers.Add(name="bicubic_plus_residual")([base, x])
    return keras.Model(low, x, name=name)


def build_espcn(scale: int = config.SR_SCALE, filters=(64, 32), kernel_sizes=(5, 3, 3),
                residual: bool = False, name: str = "espcn") -> keras.Model:
    """Sub-pixel network ESPCN (Shi et al., 2016, "Real-Time Single Image and Video
    Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural Network"):
    ``(B, h, w, 3) in [-1, 1] -> (B, h*scale, w*scale, 3)``.

    Taught in ``03_super_resolution``.

    All convolutions run at the *low* resolution: 5x5 (64 maps, tanh), 3x3 (32 maps, tanh),
    3x3 to ``3 * scale^2`` channels; a pixel shuffle (``tf.nn.depth_to_space``, see
    :class:`~textgan_lib.models.blocks.PixelShuffle`) rearranges those channels into the
    scale x scale sub-pixels of every output pixel.

    Args:
        scale: 2 or 4.
        filters: channels of the first two convolutions.
        kernel_sizes: the three kernel sizes (the paper's 5-3-3).
        residual: if True, add the bicubic upsampling to the output (predict the difference).
        name: model name.

    Raises:
        ValueError: if ``scale`` is not 2 or 4.
    """
    _check_scale(scale)
    low = keras.Input((None, None, 3), name="low_res")
    k1, k2, k3 = kernel_sizes
    x = layers.Conv2D(filters[0], k1, padding="same", activation="tanh", name="conv1")(low)
    x = layers.Conv2D(filters[1], k2, padding="same", activation="tanh", name="conv2")(x)
    x = layers.Conv2D(3 * scale * scale, k3, padding="same", name="to_subpixels")(x)
    x = PixelShuffle(scale, name="pixel_shuffle")(x)
    if residual:
        base = layers.UpSampling2D(scale, interpolation="bicubic", name="bicubic")(low)
        x = layers.Add(name="bicubic_plus_residual")([base, x])
    return keras.Model(low, x, name=name)


def build_superres(scale: int = config.SR_SCALE, filters: int = 32, num_blocks: int = 4,
                   res_scale: float = 1.0, name: str = "superres") -> keras.Model:
    """Build the residual SR network: ``image (B, h, w, 3) in [-1, 1] -> (B, h*scale, w*scale, 3)``.

    Taught in ``03_super_resolution``.

    Output = bicubic(x) + residual(x); values are not clipped by the model (clip to [-1, 1]
    for display, see :func:`textgan_lib.viz.to_uint8`). Works at any input size. With the
    ``to_subpixels`` layer zeroed the network is exactly bicubic upsampling.

    Args:
        scale: 2 or 4.
        filters: channels of the residual trunk.
        num_blocks: number of EDSR residual blocks.
        res_scale: multiplies each block's residual branch (EDSR's residual scaling, 0.1 in
            its large models; 1 = none).
        name: model name.

    Raises:
        ValueError: if ``scale`` is not 2 or 4.
    """
    _check_scale(scale)
    low = keras.Input((None, None, 3), name="low_res")
    x = layers.Conv2D(filters, 3, padding="same", name="head")(low)
    skip = x
    for i in range(num_blocks):
        x = residual_block(x, filters, name=f"res{i}", scale=res_scale)
    x = layers.Conv2D(filters, 3, padding="same", name="trunk_out")(x)
    x = layers.Add(name="trunk_add")([x, skip])
    # All convolutions run at the low resolution; one pixel shuffle makes the scale x scale
    # sub-pixels of each output pixel from 3 * scale^2 channels (ESPCN, Shi et al. 2016).
    x = layers.Conv2D(3 * scale * scale, 3, padding="same", name="to_subpixels")(x)
    residual = PixelShuffle(scale, name="pixel_shuffle")(x)
    base = layers.UpSampling2D(scale, interpolation="bicubic", name="bicubic")(low)
    high = layers.Add(dtype="float32", name="bicubic_plus_residual")([base, residual])
    return keras.Model(low, high, name=name)


def patch_dataset(images: np.ndarray, scale: int = config.SR_SCALE, patch_size: int = 16,
                  batch_size: int = 32, noise_std: float = 0.0, flips: bool = True,
                  seed: int = config.SEED):
    """An endless ``tf.data.Dataset`` of random aligned (low, high) patch pairs.

    Taught in ``03_super_resolution``.

    The low-res images are made once by :func:`make_pairs` (area downsampling rounded to uint8,
    as the cascade does). Each example is a random ``patch_size`` x ``patch_size`` window of a
    low-res image and the ``scale`` times larger window of its high-res image at the same
    place, randomly flipped left-right (``flips``).

    Noise augmentation (Imagen, Saharia et al. 2022, "noise conditioning augmentation"): with
    ``noise_std > 0`` each low-res patch gets Gaussian noise of a standard deviation drawn
    uniformly from [0, ``noise_std``] (in [-1, 1] units), so that the model learns to clean up
    imperfect inputs such as a generator's artefacts. (Imagen also tells the model the noise
    level; we do not.)

    Args:
        images: uint8 (N, H, W, 3) high-res images; H/scale and W/scale >= ``patch_size``.
        scale: 2 or 4.
        patch_size: side of the low-res patch in pixels (the high-res patch is scale times it).
        batch_size: pairs per batch.
        noise_std: largest noise standard deviation (0: no noise).
        flips: random left-right flips.
        seed: seed of the shuffling, cropping, flipping and noise.

    Returns:
        Dataset of ``(low (B, p, p, 3), high (B, p*scale, p*scale, 3))`` float32 in [-1, 1]
        (``low`` may leave [-1, 1] slightly when noise is added).

    Raises:
        ValueError: if the low-res images are smaller than ``patch_size``.
    """
    import tensorflow as tf

    low, high = _pairs_uint8(images, scale)   # uint8: a quarter of the memory of float32
    lh, lw = low.shape[1:3]
    if lh < patch_size or lw < patch_size:
        raise ValueError(f"low-res images {lh}x{lw} are smaller than patch_size {patch_size}.")
    p, hp = patch_size, patch_size * scale
    low = tf.constant(low)
    high = tf.constant(high)
    n = int(low.shape[0])

    def crop(index, key):
        seeds = tf.random.experimental.stateless_split(key, 4)
        y = tf.random.stateless_uniform((), seeds[0], 0, lh - p + 1, dtype=tf.int64)
        x = tf.random.stateless_uniform((), seeds[1], 0, lw - p + 1, dtype=tf.int64)
        lo = tf.cast(low[index, y:y + p, x:x + p], tf.float32) / 127.5 - 1.0
        hi = tf.cast(high[index, y * scale:y * scale + hp, x * scale:x * scale + hp],
                     tf.float32) / 127.5 - 1.0
        if flips:
            flip = tf.random.stateless_uniform((), seeds[2]) < 0.5
            lo = tf.cond(flip, lambda: lo[:, ::-1], lambda: lo)
            hi = tf.cond(flip, lambda: hi[:, ::-1], lambda: hi)
        if noise_std > 0:
            sigma = tf.random.stateless_uniform((), seeds[3], 0.0, noise_std)
            lo = lo + sigma * tf.random.stateless_normal(tf.shape(lo), seeds[3][::-1])
        return tf.ensure_shape(lo, (p, p, 3)), tf.ensure_shape(hi, (hp, hp, 3))

    indices = tf.data.Dataset.range(n).repeat().shuffle(n, seed=seed)
    keys = tf.data.Dataset.random(seed=seed).batch(2)  # a stateless key per example
    ds = tf.data.Dataset.zip(indices, keys)
    ds = ds.map(crop, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def fit_superres(model, images: np.ndarray, scale: int = config.SR_SCALE, steps: int = 1000,
                 batch_size: int = 32, patch_size: int = 16, learning_rate: float = 2e-3,
                 noise_std: float = 0.0, epochs: int = 1, verbose=0, seed: int = config.SEED):
    """Train an SR model on random patches: L1 loss, Adam with cosine learning-rate decay.

    Taught in ``03_super_resolution``. L1 (mean absolute error) as in EDSR (Lim et al. 2017),
    which found it trains better than L2 although PSNR measures L2.

    Args:
        model: ``(B, h, w, 3) -> (B, h*scale, w*scale, 3)`` (any builder in this module).
        images: uint8 (N, H, W, 3) high-res training images.
        scale: the model's scale, 2 or 4.
        steps: optimizer steps in total (split evenly into ``epochs`` for the progress log).
        batch_size, patch_size, noise_std, seed: see :func:`patch_dataset`.
        learning_rate: initial Adam learning rate, decayed to 0 by a cosine over ``steps``.
        epochs: how many times ``fit`` reports progress (the data are endless random patches).
        verbose: passed to ``fit``.

    Returns:
        The Keras ``History``; ``history.history["loss"]`` is the mean L1 loss per epoch.

    Raises:
        ValueError: if ``steps`` is not a positive multiple of ``epochs``.
    """
    if steps < 1 or epochs < 1 or steps % epochs:
        raise ValueError(f"steps ({steps}) must be a positive multiple of epochs ({epochs}).")
    ds = patch_dataset(images, scale, patch_size=patch_size, batch_size=batch_size,
                       noise_std=noise_std, seed=seed)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mean_absolute_error")
    return model.fit(ds, epochs=epochs, steps_per_epoch=steps // epochs, verbose=verbose,
                     shuffle=False)  # the dataset shuffles itself


def super_resolve(model, low, batch_size: int = 32) -> np.ndarray:
    """Run ``model`` on low-res images and clip to [-1, 1]: float32 (N, sh, sw, 3) NumPy."""
    out = model.predict(np.asarray(low, np.float32), batch_size=batch_size, verbose=0)
    return np.clip(out, -1.0, 1.0)


def evaluate_sr(model, images: np.ndarray, scale: int = config.SR_SCALE,
                batch_size: int = 32) -> dict:
    """Mean PSNR (dB) and SSIM of ``model`` and of bicubic on high-res ``images``.

    Taught in ``03_super_resolution``. The low-res inputs are made by :func:`make_pairs`;
    outputs are clipped to [-1, 1] (as a display would) and scored on the [-1, 1] range with
    :func:`textgan_lib.metrics.psnr` / :func:`~textgan_lib.metrics.ssim`.

    Args:
        model: an SR model of this ``scale``, or ``None`` to score bicubic only.
        images: uint8 (N, H, W, 3) held-out high-res images.

    Returns:
        ``{"psnr", "ssim", "psnr_bicubic", "ssim_bicubic", "psnr_gain", "n"}`` (floats; ``n``
        int). Without a model, ``psnr``/``ssim`` are bicubic's and the gain is 0.
    """
    from ..metrics import psnr, ssim

    low, high = make_pairs(images, scale)
    bicubic = np.clip(np.asarray(bicubic_upsample(low, scale)), -1.0, 1.0)
    sr = bicubic if model is None else super_resolve(model, low, batch_size)
    result = {"psnr": float(np.mean(psnr(sr, high))), "ssim": float(np.mean(ssim(sr, high))),
              "psnr_bicubic": float(np.mean(psnr(bicubic, high))),
              "ssim_bicubic": float(np.mean(ssim(bicubic, high))), "n": int(len(high))}
    result["psnr_gain"] = result["psnr"] - result["psnr_bicubic"]
    return result


def time_per_image(model, low, repeats: int = 3, batch_size: int = 32) -> float:
    """Milliseconds per image of ``model.predict`` on ``low`` (best of ``repeats`` runs).

    The first call (tracing and compiling) is not timed. Times depend on the machine and on
    what else it is doing; compare models measured in the same run.
    """
    low = np.asarray(low, np.float32)
    model.predict(low[:batch_size], batch_size=batch_size, verbose=0)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(low, batch_size=batch_size, verbose=0)
        best = min(best, time.perf_counter() - start)
    return 1000.0 * best / len(low)


__all__ = ["SCALES", "downsample", "prepare_images", "make_pairs", "bicubic_upsample",
           "build_bicubic", "build_srcnn", "build_espcn", "build_superres", "patch_dataset",
           "fit_superres", "super_resolve", "evaluate_sr", "time_per_image"]
