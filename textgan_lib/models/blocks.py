"""Shared layers for the generator, discriminator and super-resolution networks.

Taught in ``02_generator`` (upsampling) and ``03_super_resolution`` (pixel shuffle).
Every custom layer is registered with Keras so that saved models load in safe mode.
"""
from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="textgan")
class PixelShuffle(layers.Layer):
    """Sub-pixel upsampling (Shi et al., 2016): (B, H, W, C * r^2) -> (B, H*r, W*r, C).

    Uses TensorFlow's ``depth_to_space`` layout (NHWC): output pixel (h*r + i, w*r + j, c)
    takes input channel (i * r + j) * C + c. This is *not* PyTorch's ``PixelShuffle`` layout,
    which is NCHW with channel c * r^2 + i * r + j.

    Args:
        block_size: the upscaling factor r (int >= 2).

    Raises:
        ValueError: (at build time) if the channel count is not a multiple of r^2.
    """

    def __init__(self, block_size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is not None and channels % (self.block_size ** 2):
            raise ValueError(f"PixelShuffle({self.block_size}) needs a channel count divisible "
                             f"by {self.block_size ** 2}, got {channels}.")

    def call(self, x):
        import tensorflow as tf  # depth_to_space has no backend-agnostic op in keras.ops

        return tf.nn.depth_to_space(x, self.block_size)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        r = self.block_size
        return (b, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


def upsample_block(x, filters: int, name: str):
    """Nearest-neighbour upsampling x2, then a 3x3 convolution, batch norm and ReLU.

    Upsample + convolution avoids the checkerboard artefacts of a stride-2 transposed
    convolution whose kernel size is not a multiple of its stride (Odena et al., 2016).
    (B, H, W, C) -> (B, 2H, 2W, filters).
    """
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def downsample_block(x, filters: int, name: str):
    """A 4x4 stride-2 convolution and LeakyReLU(0.2): (B, H, W, C) -> (B, H/2, W/2, filters).

    No batch normalisation: in a discriminator it would make an image's score depend on the
    other images in its batch.
    """
    x = layers.Conv2D(filters, 4, strides=2, padding="same", name=f"{name}_conv")(x)
    return layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x)


def residual_block(x, filters: int, name: str, scale: float = 1.0):
    """EDSR residual block (Lim et al., 2017): conv-ReLU-conv plus the input, no batch norm."""
    y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(x)
    y = layers.ReLU(name=f"{name}_relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(y)
    if scale != 1.0:
        y = layers.Rescaling(scale, name=f"{name}_scale")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def checkerboard_pattern(kind: str = "transposed", size: int = 6, kernel_size: int = 3,
                         strides: int = 2):
    """How many kernel taps reach each output pixel when a layer doubles an all-ones image.

    Taught in ``02_generator`` (Odena et al., 2016, "Deconvolution and Checkerboard Artifacts").

    An all-ones (1, size, size, 1) input goes through a layer whose weights are all ones and
    which has no bias, so each output pixel counts the (input pixel, kernel tap) pairs that
    contribute to it. A stride-2 transposed convolution with a 3x3 kernel gives a periodic
    1-2-4 pattern in the interior: a checkerboard that a trained network must fight. Nearest
    upsampling + convolution gives the same count (kernel_size^2) everywhere inside.

    Args:
        kind: ``"transposed"`` (Conv2DTranspose, ``strides``) or ``"upsample"`` (nearest x
            ``strides``, then a stride-1 Conv2D).
        size: input side in pixels; the output side is ``size * strides``.
        kernel_size: side of the square kernel.
        strides: the upsampling factor.

    Returns:
        float32 NumPy array (size * strides, size * strides) of counts ("same" padding, so the
        border rows and columns count fewer taps).

    Raises:
        ValueError: if ``kind`` is not ``"transposed"`` or ``"upsample"``.
    """
    import numpy as np

    if kind not in ("transposed", "upsample"):
        raise ValueError(f"kind={kind!r}; use 'transposed' or 'upsample'.")
    ones = np.ones((1, size, size, 1), dtype="float32")
    if kind == "transposed":
        layer = layers.Conv2DTranspose(1, kernel_size, strides=strides, padding="same",
                                       use_bias=False, kernel_initializer="ones")
        out = layer(ones)
    else:
        up = layers.UpSampling2D(strides, interpolation="nearest")(ones)
        out = layers.Conv2D(1, kernel_size, padding="same", use_bias=False,
                            kernel_initializer="ones")(up)
    return np.asarray(out)[0, :, :, 0]


def checkerboard_energy(images) -> float:
    """Share of an image's spectral energy in period-2 patterns: a checkerboard detector.

    Taught in ``02_generator``.

    Per image and channel, the mean is removed and the 2-D FFT taken; the returned share is the
    energy on the Nyquist row and column (patterns that repeat every 2 pixels, vertically or
    horizontally) over the total energy, averaged over images. A pure checkerboard gives 1.0,
    smooth images give almost 0; uniform images count as 0.

    Args:
        images: float (N, H, W, C), H and W even.

    Returns:
        float in [0, 1].

    Raises:
        ValueError: if ``images`` is not 4-D with even H and W.
    """
    import numpy as np

    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 4 or x.shape[1] % 2 or x.shape[2] % 2:
        raise ValueError(f"images must be (N, H, W, C) with even H and W, got {x.shape}.")
    x = x - x.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(x, axes=(1, 2))) ** 2                  # (N, H, W, C)
    h, w = x.shape[1] // 2, x.shape[2] // 2
    nyquist = power[:, h, :, :].sum(axis=1) + power[:, :, w, :].sum(axis=1) - power[:, h, w, :]
    total = power.sum(axis=(1, 2))
    share = np.divide(nyquist, total, out=np.zeros_like(total), where=total > 0)
    return float(share.mean())


def standardize_text(text, text_stats=None):
    """Standardise caption embeddings inside a model: ``(e - mean) / std / sqrt(D)``.

    Sentence embeddings of similar captions share a large common part (notebook 06 measures it
    for the 180 shapes captions with all-MiniLM: mean cosine similarity 0.67 between two
    captions, and only a third of an embedding's energy differs between captions). Subtracting the training captions' mean and
    dividing by their per-dimension standard deviation makes the caption-specific part the
    whole input; dividing by sqrt(D) keeps the vector's length near 1, as before.

    Args:
        text: symbolic tensor (B, D).
        text_stats: ``None`` (return ``text`` unchanged) or ``(mean (D,), std (D,))`` of the
            training captions' embeddings; stored in the model (a ``Normalization`` layer),
            so a saved model standardises new captions the same way.

    Raises:
        ValueError: if the statistics do not have shape (D,) or a std is not positive.
    """
    if text_stats is None:
        return text
    import numpy as np

    mean, std = (np.asarray(v, dtype="float32") for v in text_stats)
    dim = int(text.shape[-1])
    if mean.shape != (dim,) or std.shape != (dim,) or not np.all(std > 0):
        raise ValueError(f"text_stats must be (mean, std) of shape ({dim},) with std > 0, got "
                         f"{mean.shape} and {std.shape}.")
    x = keras.layers.Normalization(mean=mean, variance=std ** 2, name="text_standardize")(text)
    return keras.layers.Rescaling(1.0 / float(np.sqrt(dim)), name="text_rescale")(x)


def text_statistics(embeddings) -> tuple:
    """``(mean (D,), std (D,))`` float32 of caption embeddings (N, D), for ``text_stats``.

    Raises:
        ValueError: if ``embeddings`` is not (N >= 2, D).
    """
    import numpy as np

    e = np.asarray(embeddings, dtype="float64")
    if e.ndim != 2 or len(e) < 2:
        raise ValueError(f"embeddings must be (N >= 2, D), got shape {e.shape}.")
    return e.mean(axis=0).astype("float32"), (e.std(axis=0) + 1e-6).astype("float32")


__all__ = ["PixelShuffle", "upsample_block", "downsample_block", "residual_block",
           "checkerboard_pattern", "checkerboard_energy", "standardize_text", "text_statistics"]


def _float32_config(config):
    """``config`` (a serialized Keras model) with every ``mixed_*`` dtype policy set to
    ``float32``."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and isinstance(config.get("config"), dict):
            name = config["config"].get("name", "")
            if isinstance(name, str) and name.startswith("mixed_"):
                return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32_config(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_config(value) for value in config]
    if isinstance(config, str) and config.startswith("mixed_"):
        return "float32"                     # a policy saved by name only
    return config


def float32_copy(model):
    """A float32 copy of ``model``, with the same weights: the same layers, every one of them
    computing in float32. A model trained under a ``mixed_bfloat16`` (or ``mixed_float16``)
    policy keeps its variables in float32 already, so nothing is rounded: only the layers'
    compute dtype changes. We save and ship these copies, so that inference and evaluation
    run in float32 wherever the model is loaded, whatever the global policy there.
    A model with no ``mixed_*`` layer is returned as it is."""
    from ..config import float32_policy

    config = keras.saving.serialize_keras_object(model)
    clean = _float32_config(config)
    if clean == config:
        return model
    with float32_policy():
        copy = keras.saving.deserialize_keras_object(clean)
    copy.set_weights(model.get_weights())
    return copy
