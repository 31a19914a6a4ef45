"""A small text-conditioned U-Net: the noise predictor of the diffusion models (issue 19).

To be taught in ``09_real_imagen``. ``[x_t (B, S, S, C), t (B,), caption embedding (B, D)] ->
predicted noise (B, S, S, C)``. As in Imagen, the pooled caption embedding is projected and
**added to the timestep embedding**, which every residual block adds to its features (Imagen
also cross-attends to the token vectors; this small net does not). A zero caption embedding
is the "no caption" of classifier-free guidance. Residual blocks with group normalisation and
SiLU (Ho et al. 2020's design, much smaller); the output convolution starts at zero, so an
untrained net predicts zero noise.
"""
from __future__ import annotations

import math

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="textgan")
class SinusoidalEmbedding(layers.Layer):
    """Timestep t (B,) -> (B, dim): sin and cos of t at geometric frequencies from 1 to 1/10,000
    (the Transformer's position encoding, as DDPM embeds t)."""

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        if dim % 2:
            raise ValueError(f"dim must be even, got {dim}.")
        self.dim = int(dim)

    def call(self, t):
        half = self.dim // 2
        freqs = ops.exp(-math.log(10000.0) * ops.arange(half, dtype="float32") / half)
        angles = ops.cast(ops.reshape(t, (-1, 1)), "float32") * ops.reshape(freqs, (1, -1))
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


def _res_block(x, emb, filters: int, name: str):
    skip = x if x.shape[-1] == filters else layers.Conv2D(filters, 1, name=f"{name}_skip")(x)
    h = layers.GroupNormalization(groups=8, name=f"{name}_norm1")(x)
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(layers.Activation(
        "silu")(h))
    h = h + layers.Reshape((1, 1, filters))(layers.Dense(filters, name=f"{name}_emb")(emb))
    h = layers.GroupNormalization(groups=8, name=f"{name}_norm2")(h)
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(layers.Activation(
        "silu")(h))
    return skip + h


def build_unet(image_size: int | None = 32, channels: int = 3, text_dim: int = 384,
               base_filters: int = 32, multipliers=(1, 2, 2), embed_dim: int = 128,
               low_res: bool = False, name: str = "unet") -> keras.Model:
    """The noise predictor ``[x_t, t, embedding] -> eps``: one residual block per level on the
    way down (stride-2 convolutions between levels), two in the middle, one per level on the
    way up (nearest upsampling, the skip concatenated).

    With ``low_res=True`` it is a super-resolution stage's noise predictor, ``[x_t, t,
    embedding, low_res, aug_level] -> eps``: ``low_res`` is the (noise-augmented) low-resolution
    image already upsampled to x_t's size, concatenated with x_t as extra input channels, and
    ``aug_level`` (B,) the step of that augmentation, embedded like t and added to the
    conditioning vector (Imagen's noise conditioning augmentation).

    ``image_size=None`` makes the net fully convolutional (any size divisible by
    2 ** (levels - 1)): a super-resolution stage trained on crops samples whole images.

    Raises:
        ValueError: if ``image_size`` is not divisible by 2 ** (levels - 1), or ``base_filters``
            is not a multiple of 8 (the groups of the normalisation).
    """
    levels = len(multipliers)
    if (image_size or 0) % 2 ** (levels - 1) or base_filters % 8:
        raise ValueError(f"image_size must be divisible by {2 ** (levels - 1)} and base_filters "
                         f"a multiple of 8, got {image_size} and {base_filters}.")
    x_in = keras.Input((image_size, image_size, channels), name="x_t")
    t_in = keras.Input((), dtype="int32", name="t")
    e_in = keras.Input((text_dim,), name="caption_embedding")
    emb = SinusoidalEmbedding(embed_dim, name="t_sin")(t_in)
    emb = layers.Dense(embed_dim, activation="silu", name="t_dense1")(emb)
    emb = layers.Dense(embed_dim, name="t_dense2")(emb)
    emb = emb + layers.Dense(embed_dim, name="caption_proj")(e_in)
    inputs, h = [x_in, t_in, e_in], x_in
    if low_res:
        lr_in = keras.Input((image_size, image_size, channels), name="low_res")
        aug_in = keras.Input((), dtype="int32", name="aug_level")
        aug = SinusoidalEmbedding(embed_dim, name="aug_sin")(aug_in)
        emb = emb + layers.Dense(embed_dim, name="aug_proj")(aug)
        inputs += [lr_in, aug_in]
        h = layers.Concatenate(name="x_t_and_low_res")([x_in, lr_in])
    emb = layers.Activation("silu")(emb)
    h = layers.Conv2D(base_filters, 3, padding="same", name="stem")(h)
    skips = []
    for i, m in enumerate(multipliers):
        h = _res_block(h, emb, base_filters * m, f"down{i}")
        skips.append(h)
        if i < levels - 1:
            h = layers.Conv2D(base_filters * m, 3, strides=2, padding="same", name=f"pool{i}")(h)
    h = _res_block(h, emb, base_filters * multipliers[-1], "mid1")
    h = _res_block(h, emb, base_filters * multipliers[-1], "mid2")
    for i in reversed(range(levels)):
        if i < levels - 1:
            h = layers.UpSampling2D(2, interpolation="nearest", name=f"up{i}_resize")(h)
        h = layers.Concatenate(name=f"up{i}_concat")([h, skips[i]])
        h = _res_block(h, emb, base_filters * multipliers[i], f"up{i}")
    h = layers.Activation("silu")(layers.GroupNormalization(groups=8, name="out_norm")(h))
    out = layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros", name="eps",
                        dtype="float32")(h)
    return keras.Model(inputs, out, name=name)


__all__ = ["SinusoidalEmbedding", "build_unet"]
