"""Super-resolution: the cascade's second stage, low-res image -> high-res image.

Taught in ``03_super_resolution``.

* :func:`downsample` is how the course makes low-resolution images: area averaging of
  scale x scale blocks (:func:`textgan_lib.data.pipeline.resize_uint8` does the same on uint8
  data sets once), for the base generator's training images and for super-resolution pairs.
* :func:`bicubic_upsample` is the baseline any learned model must beat.
* :func:`build_superres` is a small residual sub-pixel network (EDSR-style blocks without batch
  norm, Lim et al. 2017, computed at the low resolution; one pixel shuffle, Shi et al. 2016)
  that predicts the *difference* from the bicubic upsampling, so that an untrained network
  already starts near the baseline.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from .. import config
from .blocks import PixelShuffle, residual_block


def downsample(images, scale: int = config.SR_SCALE):
    """Average-pool ``scale`` x ``scale`` blocks: (B, H, W, C) -> (B, H/scale, W/scale, C).

    Works on float images in any range (the mean of a range stays in it).

    Raises:
        ValueError: if H or W is not a multiple of ``scale``.
    """
    images = ops.convert_to_tensor(images)
    h, w = images.shape[1], images.shape[2]
    if h % scale or w % scale:
        raise ValueError(f"image size {h}x{w} is not a multiple of the scale {scale}; "
                         "crop it first.")
    return ops.average_pool(ops.cast(images, "float32"), scale, strides=scale, padding="valid")


def bicubic_upsample(images, scale: int = config.SR_SCALE):
    """Bicubic interpolation: (B, h, w, C) float -> (B, h*scale, w*scale, C) float32."""
    images = ops.cast(ops.convert_to_tensor(images), "float32")
    h, w = images.shape[1], images.shape[2]
    return ops.image.resize(images, (h * scale, w * scale), interpolation="bicubic")


def build_superres(scale: int = config.SR_SCALE, filters: int = 32, num_blocks: int = 4,
                   name: str = "superres") -> keras.Model:
    """Build SR: ``image (B, h, w, 3) in [-1, 1] -> image (B, h*scale, w*scale, 3)``.

    Taught in ``03_super_resolution``.

    Output = bicubic(x) + residual(x); values are not clipped by the model (clip to [-1, 1]
    for display, see :func:`textgan_lib.viz.to_uint8`). Works at any input size. With the
    ``to_subpixels`` layer zeroed the network is exactly bicubic upsampling.

    Args:
        scale: 2 or 4.
        filters: channels of the residual trunk.
        num_blocks: number of EDSR residual blocks.
        name: model name.

    Raises:
        ValueError: if ``scale`` is not 2 or 4.
    """
    if scale not in (2, 4):
        raise ValueError(f"scale must be 2 or 4, got {scale}.")
    low = keras.Input((None, None, 3), name="low_res")
    x = layers.Conv2D(filters, 3, padding="same", name="head")(low)
    skip = x
    for i in range(num_blocks):
        x = residual_block(x, filters, name=f"res{i}")
    x = layers.Conv2D(filters, 3, padding="same", name="trunk_out")(x)
    x = layers.Add(name="trunk_add")([x, skip])
    # All convolutions run at the low resolution; one pixel shuffle makes the scale x scale
    # sub-pixels of each output pixel from 3 * scale^2 channels (ESPCN, Shi et al. 2016).
    x = layers.Conv2D(3 * scale * scale, 3, padding="same", name="to_subpixels")(x)
    residual = PixelShuffle(scale, name="pixel_shuffle")(x)
    base = layers.UpSampling2D(scale, interpolation="bicubic", name="bicubic")(low)
    high = layers.Add(dtype="float32", name="bicubic_plus_residual")([base, residual])
    return keras.Model(low, high, name=name)


__all__ = ["downsample", "bicubic_upsample", "build_superres"]
