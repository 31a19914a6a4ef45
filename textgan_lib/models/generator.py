"""The text-conditioned generator G(text embedding, noise) -> low-resolution image.

Taught in ``02_generator``.

Three ways to give the generator the caption, in the order the field found them:

* ``fusion="concat"`` - **GAN-CLS** (Reed et al., 2016, "Generative Adversarial Text to
  Image Synthesis"): compress the sentence embedding with a dense layer, concatenate it with the
  noise z, project to a 4x4 feature map and upsample. The text enters once, at the start.
* ``conditioning_augmentation=True`` - **StackGAN** (Zhang et al., 2017): instead of a fixed
  text code, draw c ~ N(mu(e), diag(sigma(e)^2)) and add KL(N(mu, sigma^2) || N(0, I)) to G's
  loss (:class:`ConditioningAugmentation`). Nearby captions then share codes, which smooths the
  conditioning manifold when there are few captions. Combines with either fusion.
* ``fusion="film"`` - **affine modulation** (FiLM, Perez et al., 2018) after a batch norm
  without its own scale and shift, i.e. **conditional batch norm** (de Vries et al., 2017; as in
  the SN-GAN and BigGAN generators): z alone makes the 4x4 map, and *every* upsampling block
  scales and shifts its normalised features by gamma(text) and beta(text) (:class:`FiLM`), so
  the caption acts at every resolution. (DF-GAN's fusion blocks, Tao et al., 2022, apply such
  affines with no normalisation, two per block, each followed by a LeakyReLU.)

Upsampling is nearest-neighbour + 3x3 convolution by default; ``upsampling="transposed"``
uses stride-2 transposed convolutions with 3x3 kernels, which make checkerboard artefacts
(:func:`textgan_lib.models.blocks.checkerboard_pattern`).
"""
from __future__ import annotations

import keras
from keras import layers, ops

from .. import config, losses
from .blocks import standardize_text, upsample_block

FUSIONS = ("concat", "film", "concat_film")
UPSAMPLINGS = ("nearest", "transposed")


@keras.saving.register_keras_serializable(package="textgan")
class ConditioningAugmentation(layers.Layer):
    """Conditioning augmentation (StackGAN, Zhang et al., 2017): text embedding -> text code.

    Taught in ``02_generator``.

    A dense layer maps the embedding e (B, D) to mu (B, C) and log sigma (B, C). In training
    the code is c = mu + sigma * eps with eps ~ N(0, I) (the reparameterisation trick, so
    gradients reach mu and sigma); at inference it is c = mu (deterministic given the caption;
    the variety comes from z). On every call the layer adds
    ``kl_weight * KL(N(mu, sigma^2) || N(0, I))`` (:func:`textgan_lib.losses.kl_conditioning_augmentation`)
    to its ``losses``, which :meth:`textgan_lib.training.TextGAN.generator_step` adds to G's loss.

    Args:
        units: C, the size of the code.
        kl_weight: weight of the KL term; ``None`` means 2 / units (StackGAN's reference code
            weights the per-dimension mean KL by 2).
        seed: seed of the layer's noise.

    Call args:
        text: float (B, D) embedding.
        training: bool; sample (True) or return mu (False).

    Returns:
        float32 (B, C). After a call, :attr:`last_mu` and :attr:`last_log_sigma` hold mu and
        log sigma of that call (for inspection in notebooks).
    """

    def __init__(self, units: int = 128, kl_weight: float | None = None, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.kl_weight = 2.0 / self.units if kl_weight is None else float(kl_weight)
        self.seed = seed
        self.dense = layers.Dense(2 * self.units, name="mu_log_sigma")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.dense.build(input_shape)

    def mu_log_sigma(self, text):
        """``(mu, log_sigma)``, each float (B, C), for embeddings ``text`` (B, D)."""
        if not self.built:
            self.build(tuple(text.shape))
        h = self.dense(text)
        return h[:, :self.units], h[:, self.units:]

    def call(self, text, training=False):
        mu, log_sigma = self.mu_log_sigma(text)
        self.add_loss(self.kl_weight * losses.kl_conditioning_augmentation(mu, log_sigma))
        if not training:
            return mu
        eps = keras.random.normal(ops.shape(mu), seed=self.seed_generator, dtype=mu.dtype)
        return mu + ops.exp(log_sigma) * eps

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kl_weight": self.kl_weight,
                "seed": self.seed}


@keras.saving.register_keras_serializable(package="textgan")
class FiLM(layers.Layer):
    """Feature-wise affine modulation by the text: x * (1 + gamma(t)) + beta(t).

    Taught in ``02_generator``. FiLM (Perez et al., 2018); after a batch norm without scale and
    shift (as this module's blocks use it) it is conditional batch norm (de Vries et al.,
    2017). DF-GAN (Tao et al., 2022) applies such affines without normalisation.
    gamma and beta (B, 1, 1, C) come from a two-layer MLP of the text code t; the last
    layer starts at zero, so an untrained FiLM is the identity and the text's influence is
    learned.

    Call args:
        inputs: ``[x (B, H, W, C), t (B, T)]`` float.

    Returns:
        float (B, H, W, C).
    """

    def __init__(self, hidden: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.hidden = int(hidden)

    def build(self, input_shape):
        x_shape, t_shape = input_shape
        channels = int(x_shape[-1])
        self.mlp_hidden = layers.Dense(self.hidden, activation="relu", name="hidden")
        self.mlp_out = layers.Dense(2 * channels, kernel_initializer="zeros", name="gamma_beta")
        self.mlp_hidden.build(t_shape)
        self.mlp_out.build((t_shape[0], self.hidden))

    def gamma_beta(self, t):
        """``(gamma, beta)``, each float (B, 1, 1, C), for text codes ``t`` (B, T)."""
        h = self.mlp_out(self.mlp_hidden(t))
        gamma, beta = ops.split(h, 2, axis=-1)
        return gamma[:, None, None, :], beta[:, None, None, :]

    def call(self, inputs):
        x, t = inputs
        gamma, beta = self.gamma_beta(t)
        return x * (1.0 + ops.cast(gamma, x.dtype)) + ops.cast(beta, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


def _upsample(x, filters: int, name: str, upsampling: str, text_code=None):
    """One doubling: (B, H, W, C) -> (B, 2H, 2W, filters); FiLM-modulated if ``text_code``."""
    if upsampling == "nearest" and text_code is None:
        return upsample_block(x, filters, name=name)
    if upsampling == "nearest":
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up")(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    else:
        x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", use_bias=False,
                                   name=f"{name}_tconv")(x)
    if text_code is None:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    else:  # conditional normalisation: BN without its own scale/shift, then the text's
        x = layers.BatchNormalization(center=False, scale=False, name=f"{name}_bn")(x)
        x = FiLM(name=f"{name}_film")([x, text_code])
    return layers.ReLU(name=f"{name}_relu")(x)


def block_summary(model: keras.Model) -> list[tuple[str, tuple, int]]:
    """The model's layers grouped into blocks by name prefix (``up8_conv`` -> ``up8``).

    Taught in ``02_generator``.

    Returns:
        list of ``(block name, output shape of the block's last layer, parameter count of the
        block)``: the inputs first (0 parameters), then the blocks in layer order. Shapes have ``None``
        for the batch dimension.
    """
    rows: dict[str, list] = {}
    inputs_first = sorted(model.layers, key=lambda layer: not isinstance(layer, keras.layers.InputLayer))
    for layer in inputs_first:
        prefix = layer.name.split("_")[0]
        block = prefix if prefix[-1:].isdigit() else layer.name
        row = rows.setdefault(block, [None, 0])
        row[0] = tuple(layer.output.shape)
        row[1] += layer.count_params()
    return [(name, shape, int(params)) for name, (shape, params) in rows.items()]


def build_generator(text_dim: int, z_dim: int = config.Z_DIM, image_size: int = config.BASE_SIZE,
                    base_filters: int = 32, text_features: int = 128, fusion: str = "concat",
                    conditioning_augmentation: bool = False, upsampling: str = "nearest",
                    name: str = "generator", text_stats=None,
                    kl_weight: float | None = None) -> keras.Model:
    """Build G: ``[embedding (B, text_dim), z (B, z_dim)] -> image (B, S, S, 3)`` in [-1, 1].

    The image is float32 (tanh output) even under a mixed-precision policy. Layer names:
    ``project`` (to 4x4), ``up8``, ``up16``, ... (one per doubling), ``to_rgb``.

    Taught in ``02_generator``.

    Args:
        text_dim: length D of the sentence embedding (384 for all-MiniLM-L6-v2).
        z_dim: length of the noise vector.
        image_size: S, output side in pixels; a power of two >= 8 (32 or 64 in the course).
        base_filters: channels of the last (largest) feature map; each halving of the
            resolution doubles it, up to 8x.
        text_features: size of the text code (the compressed embedding, or the
            conditioning-augmentation code).
        fusion: ``"concat"`` (text code concatenated with z, GAN-CLS), ``"film"``
            (z alone makes the 4x4 map; every upsampling block is modulated by the text code)
            or ``"concat_film"`` (both: the text code and z make the 4x4 map, so the caption
            decides the layout, and every block is modulated by the text code too).
        conditioning_augmentation: draw the text code with :class:`ConditioningAugmentation`
            (StackGAN) instead of a dense layer + LeakyReLU.
        kl_weight: weight of conditioning augmentation's KL term (``None``: the layer's
            default, 2 / text_features).
        upsampling: ``"nearest"`` (nearest-neighbour x2 + 3x3 conv) or ``"transposed"``
            (3x3 stride-2 transposed conv: checkerboard artefacts, for comparison).
        name: model name.
        text_stats: ``None``, or ``(mean, std)`` of the training captions' embeddings
            (:func:`~textgan_lib.models.blocks.text_statistics`): standardise the embedding
            first (:func:`~textgan_lib.models.blocks.standardize_text`; used for shapes).

    Raises:
        ValueError: if ``image_size`` is not a power of two >= 8, ``fusion`` /
            ``upsampling`` is not one of the choices above, or ``kl_weight`` is negative or
            given without conditioning augmentation.
    """
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}.")
    if fusion not in FUSIONS:
        raise ValueError(f"fusion={fusion!r}; use one of {', '.join(FUSIONS)}.")
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f"upsampling={upsampling!r}; use one of {', '.join(UPSAMPLINGS)}.")
    if kl_weight is not None and (not conditioning_augmentation or not kl_weight >= 0):
        raise ValueError(f"kl_weight={kl_weight} needs conditioning_augmentation=True and a "
                         "weight >= 0.")
    n_up = image_size.bit_length() - 3          # 4 -> image_size takes n_up doublings
    widths = [base_filters * min(2 ** (n_up - i), 8) for i in range(n_up + 1)]

    text = keras.Input((text_dim,), name="text_embedding")
    z = keras.Input((z_dim,), name="z")
    e = standardize_text(text, text_stats)
    if conditioning_augmentation:
        t = ConditioningAugmentation(text_features, kl_weight=kl_weight, seed=config.SEED,
                                     name="conditioning_augmentation")(e)
    else:
        t = layers.Dense(text_features, name="text_projection")(e)
        t = layers.LeakyReLU(0.2, name="text_lrelu")(t)
    x = layers.Concatenate(name="concat_text_z")([t, z]) if fusion != "film" else z
    x = layers.Dense(4 * 4 * widths[0], use_bias=False, name="project")(x)
    x = layers.Reshape((4, 4, widths[0]), name="to_4x4")(x)
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.ReLU(name="project_relu")(x)
    for i in range(n_up):
        x = _upsample(x, widths[i + 1], f"up{4 * 2 ** (i + 1)}", upsampling,
                      text_code=t if fusion != "concat" else None)
    x = layers.Conv2D(3, 3, padding="same", name="to_rgb")(x)
    image = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model([text, z], image, name=name)


__all__ = ["build_generator", "block_summary", "ConditioningAugmentation", "FiLM", "FUSIONS", "UPSAMPLINGS"]
