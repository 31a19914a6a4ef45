"""Diffusion, the real Imagen's kind of model: the noise schedule, the forward process, the
samplers' steps, classifier-free guidance and dynamic thresholding.

To be taught in ``09_real_imagen`` (issue 19; this module is its first part: the maths, each
function checked against its closed form in ``tests/test_diffusion.py``, the DDIM sampler and
the training step, :class:`DiffusionModel`, around the U-Net of
:mod:`textgan_lib.models.unet`; the SR diffusion stage, a shipped model and the notebook come
next).

Notation (Ho et al. 2020, DDPM): an image x0 in [-1, 1]; steps t = 0 .. T - 1 (index t is the
paper's t + 1); ``alpha_bar[t]`` = prod_{s <= t} (1 - beta_s). The forward process has the
closed-form marginal

    q(x_t | x0) = N(sqrt(alpha_bar_t) x0, (1 - alpha_bar_t) I),
    x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps,   eps ~ N(0, I),

so a network that predicts eps from (x_t, t, caption) also predicts x0 (:func:`predict_x0`).
Works on NumPy arrays and on tensors (``keras.ops``); ``t`` is an integer array (B,).
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

#: The percentile p of dynamic thresholding: a hyperparameter (Saharia et al. 2022 take "a
#: certain percentile" of |x0|; reimplementations use values from 0.9 to 0.995).
DYNAMIC_PERCENTILE = 0.995


def cosine_schedule(num_steps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> dict:
    """The cosine schedule of Nichol and Dhariwal (2021): ``alpha_bar(t) = f(t) / f(0)`` with
    ``f(t) = cos^2((t / T + s) / (1 + s) * pi / 2)``, and ``beta_t = 1 - alpha_bar_t /
    alpha_bar_{t-1}`` clipped at ``max_beta`` (their 0.999, against the singularity at t = T).

    Returns:
        ``{"betas", "alphas", "alpha_bar"}``: float64 arrays (num_steps,), ``alpha_bar``
        recomputed from the clipped betas, so that ``alpha_bar = cumprod(1 - betas)`` exactly.
    """
    if num_steps < 1 or not s >= 0:
        raise ValueError(f"need num_steps >= 1 and s >= 0, got {num_steps}, {s}.")
    f = lambda t: math.cos((t / num_steps + s) / (1 + s) * math.pi / 2) ** 2   # noqa: E731
    ratio = np.array([f(t + 1) / f(t) for t in range(num_steps)])
    betas = np.clip(1.0 - ratio, 0.0, max_beta)
    alphas = 1.0 - betas
    return {"betas": betas, "alphas": alphas, "alpha_bar": np.cumprod(alphas)}


def _at(values, t, like):
    """``values[t]`` shaped (B, 1, 1, ...) to broadcast against ``like`` (B, ...)."""
    v = ops.take(ops.convert_to_tensor(values, dtype=like.dtype), ops.cast(t, "int32"))
    return ops.reshape(v, (-1,) + (1,) * (len(like.shape) - 1))


def q_sample(x0, t, noise, alpha_bar):
    """The forward process in one jump: ``sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps``."""
    x0 = ops.convert_to_tensor(x0, "float32")
    noise = ops.convert_to_tensor(noise, "float32")
    a = _at(alpha_bar, t, x0)
    return ops.sqrt(a) * x0 + ops.sqrt(1.0 - a) * noise


def predict_x0(x_t, t, eps, alpha_bar):
    """x0 from x_t and a noise prediction: ``(x_t - sqrt(1 - alpha_bar_t) eps) /
    sqrt(alpha_bar_t)``, the forward process solved for x0 (exact for the true noise)."""
    x_t = ops.convert_to_tensor(x_t, "float32")
    eps = ops.convert_to_tensor(eps, "float32")
    a = _at(alpha_bar, t, x_t)
    return (x_t - ops.sqrt(1.0 - a) * eps) / ops.sqrt(a)


def guided_noise(eps_unconditional, eps_conditional, w: float):
    """Classifier-free guidance (Ho and Salimans 2022, as Imagen uses it):
    ``eps_u + w (eps_c - eps_u)``; w = 0 is the unconditional model, w = 1 the conditional
    one, w > 1 pushes further in the caption's direction."""
    eps_u = ops.convert_to_tensor(eps_unconditional, "float32")
    eps_c = ops.convert_to_tensor(eps_conditional, "float32")
    return eps_u + w * (eps_c - eps_u)


def static_threshold(x0):
    """Static thresholding: clip the predicted x0 to [-1, 1]."""
    return ops.clip(ops.convert_to_tensor(x0, "float32"), -1.0, 1.0)


def dynamic_threshold(x0, percentile: float = DYNAMIC_PERCENTILE):
    """Imagen's dynamic thresholding (Saharia et al. 2022): per image, s = the ``percentile``
    of |x0| over its pixels; where s > 1, clip x0 to [-s, s] and divide by s. An image whose
    pixels are all in [-1, 1] has s <= 1 and is left as it is."""
    if not 0 < percentile <= 1:
        raise ValueError(f"percentile must be in (0, 1], got {percentile}.")
    x0 = ops.convert_to_tensor(x0, "float32")
    flat = ops.reshape(ops.abs(x0), (ops.shape(x0)[0], -1))
    s = ops.quantile(flat, percentile, axis=1)
    s = ops.reshape(ops.maximum(s, 1.0), (-1,) + (1,) * (len(x0.shape) - 1))
    return ops.clip(x0, -s, s) / s


def ddim_step(x_t, t, t_prev, eps, alpha_bar):
    """One deterministic DDIM step (Song et al. 2021, eta = 0) from step t to t_prev < t:
    ``sqrt(alpha_bar_prev) x0_hat + sqrt(1 - alpha_bar_prev) eps``, with x0_hat from
    :func:`predict_x0`. ``t_prev = -1`` is the end of sampling (alpha_bar = 1): it returns
    x0_hat itself."""
    x0_hat = predict_x0(x_t, t, eps, alpha_bar)
    padded = np.concatenate([[1.0], np.asarray(alpha_bar, np.float64)])   # index -1 -> 1.0
    a_prev = _at(padded, ops.cast(t_prev, "int32") + 1, x0_hat)
    eps = ops.convert_to_tensor(eps, "float32")
    return ops.sqrt(a_prev) * x0_hat + ops.sqrt(1.0 - a_prev) * eps


def posterior(x_t, t, x0, schedule: dict):
    """DDPM's posterior q(x_{t-1} | x_t, x0) = N(mean, variance), for t >= 1 (index):
    ``mean = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x0
    + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t``,
    ``variance = beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)`` (Ho et al. 2020, eq. 7).

    Returns:
        ``(mean, variance)``; variance has shape (B, 1, ...).
    """
    x_t = ops.convert_to_tensor(x_t, "float32")
    x0 = ops.convert_to_tensor(x0, "float32")
    a_bar = np.asarray(schedule["alpha_bar"], np.float64)
    a_prev = np.concatenate([[1.0], a_bar[:-1]])
    betas = np.asarray(schedule["betas"], np.float64)
    c0 = np.sqrt(a_prev) * betas / (1.0 - a_bar)
    ct = np.sqrt(schedule["alphas"]) * (1.0 - a_prev) / (1.0 - a_bar)
    variance = betas * (1.0 - a_prev) / (1.0 - a_bar)
    mean = _at(c0, t, x0) * x0 + _at(ct, t, x_t) * x_t
    return mean, _at(variance, t, x_t)




def ddim_timesteps(num_steps: int, sampling_steps: int) -> np.ndarray:
    """The DDIM sampling path: ``sampling_steps`` evenly spaced steps from T - 1 down to 0,
    followed by -1 (the clean image). E.g. T = 1000, 4 steps: [999, 666, 333, 0, -1]."""
    if not 1 <= sampling_steps <= num_steps:
        raise ValueError(f"sampling_steps must be in 1..{num_steps}, got {sampling_steps}.")
    path = np.round(np.linspace(num_steps - 1, 0, sampling_steps)).astype(np.int64)
    return np.concatenate([path, [-1]])


def sample_ddim(eps_fn, shape, alpha_bar, sampling_steps: int = 50, embeddings=None,
                guidance: float = 1.0, threshold: str = "dynamic", seed: int = 0):
    """Deterministic DDIM sampling (eta = 0) from pure noise, with classifier-free guidance and
    thresholding of the predicted x0 at every step.

    Args:
        eps_fn: ``eps_fn(x_t, t, embeddings) -> noise prediction``; ``embeddings=None`` asks for
            the unconditional prediction (the caption dropped, as in training).
        shape: (B, H, W, C) of the images.
        alpha_bar: the schedule's ``alpha_bar`` (T,).
        sampling_steps: DDIM steps (:func:`ddim_timesteps`).
        embeddings: caption embeddings (B, D), or None for an unconditional model.
        guidance: w of :func:`guided_noise` (1: the conditional prediction alone, no second
            call); ignored without embeddings.
        threshold: ``"dynamic"``, ``"static"`` or ``"none"``, applied to x0_hat.
        seed: seed of the starting noise.

    Returns:
        float32 array ``shape``: the sampled x0 (in [-1, 1] unless ``threshold="none"``).
    """
    clip = {"dynamic": dynamic_threshold, "static": static_threshold, "none": lambda x: x}
    if threshold not in clip:
        raise ValueError(f"threshold must be 'dynamic', 'static' or 'none', got {threshold!r}.")
    alpha_bar = np.asarray(alpha_bar, np.float64)
    padded = np.concatenate([[1.0], alpha_bar])
    x = np.random.default_rng(seed).standard_normal(shape)          # float64: at t = T - 1
    path = ddim_timesteps(len(alpha_bar), sampling_steps)           # alpha_bar is ~1e-7
    for t, t_prev in zip(path[:-1], path[1:]):
        tt = np.full(shape[0], t, np.int64)
        x32 = x.astype(np.float32)                  # what the network sees, and so do we
        x = x32.astype(np.float64)
        eps = np.asarray(eps_fn(x32, tt, embeddings), np.float64)
        if embeddings is not None and guidance != 1.0:
            eps_u = np.asarray(eps_fn(x32, tt, None), np.float64)
            eps = eps_u + guidance * (eps - eps_u)                  # guided_noise, in float64
        a, a_prev = padded[t + 1], padded[t_prev + 1]
        x0_hat = (x - np.sqrt(1.0 - a) * eps) / np.sqrt(a)          # predict_x0
        x0_hat = np.asarray(clip[threshold](x0_hat.astype(np.float32)), np.float64)
        # the noise that leads from the thresholded x0 to x_t, so the step stays on DDIM's path
        eps = (x - np.sqrt(a) * x0_hat) / np.sqrt(1.0 - a)
        x = np.sqrt(a_prev) * x0_hat + np.sqrt(1.0 - a_prev) * eps
    return x.astype(np.float32)



def caption_keep_mask(batch_size: int, drop_prob: float, seed=None):
    """(B, 1) float mask of classifier-free guidance's training: 0 (caption dropped, the model
    sees the zero "no caption" embedding) with probability ``drop_prob``, else 1."""
    if not 0 <= drop_prob <= 1:
        raise ValueError(f"drop_prob must be in [0, 1], got {drop_prob}.")
    u = keras.random.uniform((batch_size, 1), seed=seed)
    return ops.cast(u >= drop_prob, "float32")


def diffusion_loss(network, x0, embeddings, t, noise, keep, alpha_bar, extra=()):
    """The denoising objective (Ho et al. 2020's simple loss): the mean squared error between
    the noise and ``network([x_t, t, keep * embeddings, *extra])``, x_t from :func:`q_sample`;
    ``extra``: a super-resolution stage's ``(augmented low res, aug_level)``."""
    x_t = q_sample(x0, t, noise, alpha_bar)
    eps = network([x_t, ops.cast(t, "int32"), ops.convert_to_tensor(embeddings, "float32")
                   * keep, *extra], training=True)
    return ops.mean(ops.square(ops.cast(eps, "float32") - ops.convert_to_tensor(noise,
                                                                               "float32")))


def network_eps_fn(network):
    """``eps_fn(x_t, t, embeddings, low_res=None, aug_level=0) -> eps`` (NumPy) for a U-Net of
    :func:`~textgan_lib.models.unet.build_unet`: one compiled call per sampling step
    (``tf.function``, not an eager call), the zero "no caption" embedding when ``embeddings``
    is None; a super-resolution U-Net also gets ``low_res`` at ``aug_level``."""
    import tensorflow as tf

    call = tf.function(lambda xs: network(xs, training=False), reduce_retracing=True)
    text_dim = network.inputs[2].shape[-1]

    def eps_fn(x_t, t, embeddings, low_res=None, aug_level=0):
        b = len(x_t)
        e = (np.zeros((b, text_dim), np.float32) if embeddings is None
             else np.asarray(embeddings, np.float32))
        inputs = [np.asarray(x_t, np.float32), np.asarray(t, np.int32), e]
        if low_res is not None:
            inputs += [np.asarray(low_res, np.float32), np.full(b, aug_level, np.int32)]
        return np.asarray(call(inputs))

    return eps_fn


def augment_low_res(low_res, aug_level, noise, alpha_bar):
    """Imagen's noise conditioning augmentation: the super-resolution stage's low-resolution
    input is corrupted by the forward process itself, ``q_sample(low_res, aug_level)``, and the
    stage is told ``aug_level``. Training draws the level at random, so the stage learns to
    work from a degraded input (as a base model's samples are); sampling fixes it."""
    return q_sample(low_res, aug_level, noise, alpha_bar)


@keras.saving.register_keras_serializable(package="textgan")
class DiffusionModel(keras.Model):
    """A noise predictor trained by ``fit`` on (image, caption embedding) pairs: each step
    draws t uniformly, the noise, and which captions to drop (``drop_prob``, for guidance),
    and descends :func:`diffusion_loss`. ``self.network`` is the U-Net
    (:func:`textgan_lib.models.unet.build_unet`).

    A super-resolution stage (``aug_max`` set, the network built with ``low_res=True``) trains
    on (high-res image, embedding, upsampled low-res image) triples: each step also draws an
    augmentation level in ``[0, aug_max)`` per image and feeds the network the low-res image
    corrupted to that level (:func:`augment_low_res`).

    ``ema_decay``: the sampler's network is an exponential moving average of the trained
    weights (``self.ema_network``; DDPM's code averages with 0.9999), updated after every step.
    """

    def __init__(self, network, num_steps: int = 1000, drop_prob: float = 0.1, seed: int = 0,
                 ema_decay: float | None = None, aug_max: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.num_steps, self.drop_prob = int(num_steps), float(drop_prob)
        self.alpha_bar = cosine_schedule(self.num_steps)["alpha_bar"]
        self.seeds = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.aug_max = None if aug_max is None else int(aug_max)
        self.ema_network = None
        if self.ema_decay is not None:
            self.ema_network = keras.models.clone_model(network)
            self.ema_network.set_weights(network.get_weights())
        self._eps_fn = None

    @property
    def metrics(self):
        return [self.loss_tracker]

    @property
    def sampler_network(self):
        """The network samples come from: the EMA copy when there is one."""
        return self.ema_network if self.ema_network is not None else self.network

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    def checkpoint_variables(self) -> list:
        """Everything a resumed run needs, in a fixed order (for
        :class:`~textgan_lib.callbacks.GANCheckpoint`): weights, EMA weights, the optimizer's
        state and the random-seed state."""
        out = list(self.network.weights)
        if self.ema_network is not None:
            out += list(self.ema_network.weights)
        if self.optimizer is not None:
            out += list(self.optimizer.variables)
        return out + [self.seeds.state]

    def eps(self, x_t, t, embeddings, low_res=None, aug_level=0):
        """The sampler network's noise prediction (:func:`network_eps_fn`);
        ``embeddings=None``: the unconditional one (zero embedding). With ``low_res`` (a
        super-resolution stage): conditioned on it at ``aug_level``. ``model.eps`` (or
        ``functools.partial(model.eps, low_res=...)``) is the ``eps_fn`` of
        :func:`sample_ddim`."""
        if self._eps_fn is None:
            self._eps_fn = network_eps_fn(self.sampler_network)
        return self._eps_fn(x_t, t, embeddings, low_res, aug_level)

    def train_step(self, data):
        import tensorflow as tf

        x0, embeddings = data[0], data[1]          # (image, embedding[, low res]) tuples
        b = ops.shape(x0)[0]
        t = keras.random.randint((b,), 0, self.num_steps, seed=self.seeds)
        noise = keras.random.normal(ops.shape(x0), seed=self.seeds)
        keep = caption_keep_mask(b, self.drop_prob, seed=self.seeds)
        extra = ()
        if self.aug_max is not None:
            level = keras.random.randint((b,), 0, self.aug_max, seed=self.seeds)
            low = augment_low_res(data[2], level,
                                  keras.random.normal(ops.shape(x0), seed=self.seeds),
                                  self.alpha_bar)
            extra = (low, level)
        with tf.GradientTape() as tape:
            loss = diffusion_loss(self.network, x0, embeddings, t, noise, keep, self.alpha_bar,
                                  extra)
        weights = self.network.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        if self.ema_network is not None:
            d = self.ema_decay
            for w_ema, w in zip(self.ema_network.weights, self.network.weights):
                w_ema.assign(d * w_ema + (1.0 - d) * w)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


__all__ = ["cosine_schedule", "q_sample", "predict_x0", "guided_noise", "static_threshold",
           "dynamic_threshold", "ddim_step", "posterior", "ddim_timesteps", "sample_ddim",
           "caption_keep_mask", "diffusion_loss", "augment_low_res", "network_eps_fn", "DiffusionModel", "DYNAMIC_PERCENTILE"]
