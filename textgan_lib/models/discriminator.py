"""The conditional discriminator D(image, text embedding) -> logit.

Taught in ``04_discriminator``.

Image path: stride-2 convolutions down to 4x4 (no batch norm, so an image's score never depends
on its batch-mates). Text path: a dense layer, replicated over the 4x4 grid and concatenated
with the image features (Reed et al., 2016). The head outputs a *logit*, not a probability:
the losses in :mod:`textgan_lib.losses` apply the sigmoid themselves, stably.
"""
from __future__ import annotations

import keras
from keras import layers

from .. import config
from .blocks import downsample_block


def build_discriminator(text_dim: int, image_size: int = config.BASE_SIZE, base_filters: int = 32,
                        text_features: int = 128, name: str = "discriminator") -> keras.Model:
    """Build D: ``[image (B, S, S, 3) in [-1, 1], embedding (B, text_dim)] -> logit (B, 1)``.

    Taught in ``04_discriminator``.

    Args:
        text_dim: length of the sentence embedding.
        image_size: S, a power of two >= 8.
        base_filters: channels after the first convolution; doubled at each halving, up to 8x.
        text_features: size of the compressed text code.
        name: model name.

    Raises:
        ValueError: if ``image_size`` is not a power of two >= 8.
    """
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}.")
    n_down = image_size.bit_length() - 3
    image = keras.Input((image_size, image_size, 3), name="image")
    text = keras.Input((text_dim,), name="text_embedding")
    x = image
    for i in range(n_down):
        x = downsample_block(x, base_filters * min(2 ** i, 8), name=f"down{image_size >> (i + 1)}")
    t = layers.Dense(text_features, name="text_projection")(text)
    t = layers.LeakyReLU(0.2, name="text_lrelu")(t)
    t = layers.RepeatVector(16, name="text_tile")(t)
    t = layers.Reshape((4, 4, text_features), name="text_4x4")(t)
    x = layers.Concatenate(name="concat_image_text")([x, t])
    x = layers.Conv2D(base_filters * 8, 1, name="joint_conv")(x)
    x = layers.LeakyReLU(0.2, name="joint_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    logit = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model([image, text], logit, name=name)


__all__ = ["build_discriminator"]
