"""The text-conditioned generator G(text embedding, noise) -> low-resolution image.

Taught in ``02_generator``.

This is the GAN-INT-CLS design (Reed et al., 2016): the sentence embedding is compressed by a
dense layer, concatenated with the noise vector z, projected to a 4x4 feature map and upsampled
to the base resolution. Later notebooks add conditioning augmentation (StackGAN) and
affine/FiLM fusion (DF-GAN).
"""
from __future__ import annotations

import keras
from keras import layers

from .. import config
from .blocks import upsample_block


def build_generator(text_dim: int, z_dim: int = config.Z_DIM, image_size: int = config.BASE_SIZE,
                    base_filters: int = 32, text_features: int = 128,
                    name: str = "generator") -> keras.Model:
    """Build G: ``[embedding (B, text_dim), z (B, z_dim)] -> image (B, S, S, 3)`` in [-1, 1].

    The image is float32 (tanh output) even under a mixed-precision policy.

    Taught in ``02_generator``.

    Args:
        text_dim: length D of the sentence embedding (384 for all-MiniLM-L6-v2).
        z_dim: length of the noise vector.
        image_size: S, output side in pixels; a power of two >= 8 (32 or 64 in the course).
        base_filters: channels of the last (largest) feature map; each halving of the
            resolution doubles it, up to 8x.
        text_features: size of the compressed text code concatenated with z.
        name: model name.

    Raises:
        ValueError: if ``image_size`` is not a power of two >= 8.
    """
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}.")
    n_up = image_size.bit_length() - 3          # 4 -> image_size takes n_up doublings
    widths = [base_filters * min(2 ** (n_up - i), 8) for i in range(n_up + 1)]

    text = keras.Input((text_dim,), name="text_embedding")
    z = keras.Input((z_dim,), name="z")
    t = layers.Dense(text_features, name="text_projection")(text)
    t = layers.LeakyReLU(0.2, name="text_lrelu")(t)
    x = layers.Concatenate(name="concat_text_z")([t, z])
    x = layers.Dense(4 * 4 * widths[0], use_bias=False, name="project")(x)
    x = layers.Reshape((4, 4, widths[0]), name="to_4x4")(x)
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.ReLU(name="project_relu")(x)
    for i in range(n_up):
        x = upsample_block(x, widths[i + 1], name=f"up{4 * 2 ** (i + 1)}")
    x = layers.Conv2D(3, 3, padding="same", name="to_rgb")(x)
    image = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model([text, z], image, name=name)


__all__ = ["build_generator"]
