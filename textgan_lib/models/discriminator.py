"""The conditional discriminator D(image, text embedding) -> logit.

Taught in ``04_discriminator``.

Image path: stride-2 4x4 convolutions with LeakyReLU(0.2) down to a 4x4 feature map (no batch
norm, so an image's score never depends on its batch-mates). Text path and fusion, two choices:

* ``fusion="concat"`` (GAN-CLS, Reed et al., 2016): the embedding is compressed by a dense
  layer, replicated over the 4x4 grid, concatenated with the image features and mixed by a 1x1
  convolution; a dense layer on the flattened map gives the logit.
* ``fusion="projection"`` (Miyato & Koyama, 2018, "cGANs with Projection Discriminator"):
  phi(x) is the image feature vector (global average of the 4x4 map), and

      logit = psi(phi(x)) + <V e, phi(x)>

  psi is a dense layer to one number (how real the image looks, whatever the caption) and V e a
  linear map of the text embedding e into the feature space (the paper's class-embedding matrix
  for one-hot labels; with continuous sentence embeddings it is a dense layer without bias),
  whose inner product with phi(x) scores how well image and caption match.

``spectral_norm=True`` wraps every convolution and dense layer in
``keras.layers.SpectralNormalization`` (Miyato et al., 2018): each weight matrix is divided by
an estimate of its largest singular value (one power iteration per training call), so every
layer is at most 1-Lipschitz and D cannot make its logits arbitrarily steep.

The head outputs a *logit*, not a probability: the losses in :mod:`textgan_lib.losses` apply
the sigmoid themselves, stably. The logit layer is float32 even under mixed precision.
"""
from __future__ import annotations

import keras
from keras import layers

from .. import config
from .blocks import downsample_block, standardize_text

FUSIONS = ("concat", "projection")


def _weighted(layer, spectral_norm: bool):
    """``layer`` itself, or wrapped in ``SpectralNormalization`` under the layer's own name."""
    if not spectral_norm:
        return layer
    name = layer.name
    layer.name = f"{name}_raw"  # the wrapper takes the name that code and tests look up
    return layers.SpectralNormalization(layer, power_iterations=1, name=name,
                                        dtype=layer.dtype_policy)


def build_discriminator(text_dim: int, image_size: int = config.BASE_SIZE, base_filters: int = 32,
                        text_features: int = 128, name: str = "discriminator",
                        fusion: str = "concat", spectral_norm: bool = False,
                        batch_norm: bool = False, text_stats=None) -> keras.Model:
    """Build D: ``[image (B, S, S, 3) in [-1, 1], embedding (B, text_dim)] -> logit (B, 1)``.

    Taught in ``04_discriminator``.

    Args:
        text_dim: length of the sentence embedding (384 in the course).
        image_size: S, a power of two >= 8.
        base_filters: channels after the first convolution; doubled at each halving, up to 8x.
        text_features: size of the compressed text code (``"concat"`` only; the projection
            maps the text straight into the image feature space).
        name: model name.
        fusion: ``"concat"`` (Reed et al., 2016; the default) or ``"projection"`` (Miyato &
            Koyama, 2018).
        spectral_norm: wrap every convolution and dense layer in
            ``keras.layers.SpectralNormalization`` (the wrapper keeps the layer's name).
        batch_norm: add batch normalisation after every convolution but the first (the DCGAN
            discriminator). **Only for the demonstration in 04**: it makes an image's score
            depend on the other images of its batch in training mode. Keep it False.
        text_stats: ``None`` or ``(mean, std)``: standardise the embedding first, as in
            :func:`~textgan_lib.models.build_generator`.

    Returns:
        A functional ``keras.Model`` with inputs named ``image`` and ``text_embedding`` and a
        float32 logit of shape (B, 1) (any real number; sigmoid(logit) is P(real and matching)).

    Raises:
        ValueError: if ``image_size`` is not a power of two >= 8, or ``fusion`` is unknown.
    """
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}.")
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}.")
    n_down = image_size.bit_length() - 3
    image = keras.Input((image_size, image_size, 3), name="image")
    text = keras.Input((text_dim,), name="text_embedding")
    e = standardize_text(text, text_stats)
    x = image
    for i in range(n_down):
        block = f"down{image_size >> (i + 1)}"
        filters = base_filters * min(2 ** i, 8)
        if not (spectral_norm or batch_norm):  # the plain block, shared with other networks
            x = downsample_block(x, filters, name=block)
            continue
        conv = layers.Conv2D(filters, 4, strides=2, padding="same", name=f"{block}_conv")
        x = _weighted(conv, spectral_norm)(x)
        if batch_norm and i > 0:
            x = layers.BatchNormalization(name=f"{block}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"{block}_lrelu")(x)

    if fusion == "concat":
        t = _weighted(layers.Dense(text_features, name="text_projection"), spectral_norm)(e)
        t = layers.LeakyReLU(0.2, name="text_lrelu")(t)
        t = layers.RepeatVector(16, name="text_tile")(t)
        t = layers.Reshape((4, 4, text_features), name="text_4x4")(t)
        x = layers.Concatenate(name="concat_image_text")([x, t])
        x = _weighted(layers.Conv2D(base_filters * 8, 1, name="joint_conv"), spectral_norm)(x)
        x = layers.LeakyReLU(0.2, name="joint_lrelu")(x)
        x = layers.Flatten(name="flatten")(x)
        logit = _weighted(layers.Dense(1, dtype="float32", name="logit"), spectral_norm)(x)
    else:
        phi = layers.GlobalAveragePooling2D(name="phi")(x)                        # (B, C)
        psi = _weighted(layers.Dense(1, dtype="float32", name="psi"), spectral_norm)(phi)
        channels = base_filters * min(2 ** (n_down - 1), 8)
        v_e = _weighted(layers.Dense(channels, use_bias=False, name="text_embed"),
                        spectral_norm)(e)                                         # (B, C)
        match = layers.Dot(axes=1, dtype="float32", name="projection")([v_e, phi])  # (B, 1)
        logit = layers.Add(dtype="float32", name="logit")([psi, match])
    return keras.Model([image, text], logit, name=name)


__all__ = ["build_discriminator", "FUSIONS"]
