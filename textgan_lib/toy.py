"""1-D toy GAN and densities, taught in ``05_losses_and_derivations`` (densities, D*, JS) and
``05b_stable_losses_and_penalties`` (the toy GAN, mode coverage, the Dirac GAN).

Everything here works on scalars or 1-D arrays, so each GAN identity of the notebook can be
checked exactly on a grid or by sampling, in seconds and on a CPU:

- Gaussian densities (``normal_pdf``, ``log_normal``);
- the Jensen-Shannon divergence in log space and ``V(D*, G)`` on a grid and by sampling;
- the two-mode 1-D data set with its density and mode-coverage measures, small MLPs and one
  training step of a toy GAN;
- the Dirac GAN (a point mass against a linear discriminator), with and without R1.
"""
from __future__ import annotations

import math

import numpy as np

from textgan_lib import losses

LN2 = math.log(2.0)

#: Mode centres and standard deviation of the two-mode toy data set.
CENTRES = np.array([-2.0, 2.0])
SD = 0.4


def normal_pdf(x, mu, sd):
    """Density of N(mu, sd²) at x.

    Taught in ``05_losses_and_derivations``.

    Args:
        x: float or array of any shape.
        mu: the mean (float).
        sd: the standard deviation (float > 0; 0 or negative gives inf/nan, no error).

    Returns:
        float64 value or array of the same shape as x, >= 0.
    """
    return np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def log_normal(v, mu, sd):
    """log of the N(mu, sd²) density at v, exact far in the tails (where ``normal_pdf`` is 0).

    Taught in ``05_losses_and_derivations``.

    Args:
        v: float or array of any shape.
        mu: the mean (float).
        sd: the standard deviation (float > 0).

    Returns:
        float64 value or array of the same shape as v (any real number, <= -log(sd sqrt(2 pi))).
    """
    return -0.5 * ((v - mu) / sd) ** 2 - math.log(sd * math.sqrt(2 * math.pi))


def js_divergence(log_p, log_q, dx):
    """Jensen-Shannon divergence (nats) of two densities given as logs on a grid.

    Taught in ``05_losses_and_derivations``. Working in log space keeps it exact where D* rounds
    to 0 or 1 in the tails.

    Args:
        log_p, log_q: float arrays (n,) of log densities on an evenly spaced grid.
        dx: the grid spacing (float > 0).

    Returns:
        a float64 scalar in [0, log 2] (up to the grid's quadrature error).
    """
    log_m = np.logaddexp(log_p, log_q) - LN2
    kl = lambda la, lb: np.sum(np.exp(la) * (la - lb)) * dx
    return 0.5 * kl(log_p, log_m) + 0.5 * kl(log_q, log_m)


def optimal_value_on_grid(log_p_data, log_p_g, dx):
    """V(D*, G) on a grid, from log densities: ∫ p_data log D* + p_g log(1 - D*) dx.

    Taught in ``05_losses_and_derivations``; equals -log 4 + 2 JS(p_data, p_g).

    Args:
        log_p_data, log_p_g: float arrays (n,) of log densities on an evenly spaced grid.
        dx: the grid spacing (float > 0).

    Returns:
        a float64 scalar in [-log 4, 0].
    """
    log_total = np.logaddexp(log_p_data, log_p_g)
    return np.sum(np.exp(log_p_data) * (log_p_data - log_total)
                  + np.exp(log_p_g) * (log_p_g - log_total)) * dx


def optimal_value_sampled(rng, mu_g, n: int = 200_000):
    """V(D*, G) by sampling, for p_data = N(0, 1) and p_g = N(mu_g, 1).

    Taught in ``05_losses_and_derivations``. Uses log D* = -softplus(-(log p_data - log p_g))
    and log(1 - D*) = -softplus(log p_data - log p_g).

    Args:
        rng: a ``numpy.random.Generator``; draws n real then n fake samples from it.
        mu_g: the mean of p_g (float).
        n: samples per distribution (int >= 1).

    Returns:
        a float64 scalar, the Monte-Carlo estimate (standard error about 1e-3 for n = 200,000).
    """
    xr, xf = rng.normal(0, 1, n), rng.normal(mu_g, 1, n)
    log_ratio = lambda v: log_normal(v, 0.0, 1.0) - log_normal(v, mu_g, 1.0)
    return np.mean(-np.logaddexp(0, -log_ratio(xr))) + np.mean(-np.logaddexp(0, log_ratio(xf)))


def sample_data(n, rng, centres=CENTRES, sd=SD):
    """n samples of the two-mode toy data: a centre chosen uniformly, plus N(0, sd²) noise.

    Taught in ``05b_stable_losses_and_penalties``.

    Args:
        n: number of samples (int >= 0).
        rng: a ``numpy.random.Generator`` (draws the centres, then the noise).
        centres: the mode centres, array (k,).
        sd: the noise standard deviation (float >= 0).

    Returns:
        float32 array (n, 1).
    """
    return (rng.choice(np.asarray(centres), size=n) + sd * rng.normal(size=n)).astype("float32")[:, None]


def data_density(v, centres=CENTRES, sd=SD):
    """Density of the toy data (an equal mixture of N(c, sd²) over the centres) at v.

    Taught in ``05b_stable_losses_and_penalties``.

    Args:
        v: float or array of any shape.
        centres: the mode centres, array (k,), k >= 1.
        sd: the standard deviation of each mode (float > 0).

    Returns:
        float64 value or array of the shape of v, >= 0; integrates to 1.
    """
    w = 1.0 / len(centres)
    return sum(w * normal_pdf(v, c, sd) for c in centres)


def mode_coverage(samples, radius: float = 1.0, centres=CENTRES):
    """Fraction of samples within ``radius`` of each mode centre.

    Taught in ``05b_stable_losses_and_penalties``.

    Args:
        samples: array of any shape (flattened), e.g. G's outputs (n, 1).
        radius: half-width of the window around each centre (float > 0).
        centres: the mode centres, array (k,).

    Returns:
        float64 array (k,) of fractions in [0, 1]; nan for empty samples.
    """
    v = np.asarray(samples).ravel()
    return np.array([np.mean(np.abs(v - c) < radius) for c in centres])


def modes_missed(samples, min_fraction: float = 0.10, centres=CENTRES):
    """Number of modes holding fewer than ``min_fraction`` of the samples (within radius 1).

    Taught in ``05b_stable_losses_and_penalties``.

    Returns:
        int in [0, k].
    """
    return int(np.sum(mode_coverage(samples, centres=centres) < min_fraction))


def mlp(n_in: int, name: str):
    """A small MLP for the toy GAN: n_in -> 32 -> 32 -> 1, leaky ReLU, linear output.

    Taught in ``05b_stable_losses_and_penalties`` (G: 4-D noise -> x; D: x -> logit).

    Args:
        n_in: input width (int >= 1).
        name: the Keras model name.

    Returns:
        a ``keras.Sequential`` mapping float32 (batch, n_in) to (batch, 1). Its weights come from
        Keras' global seed (call ``config.set_seed()`` first for reproducible weights).
    """
    import keras
    from keras import layers

    return keras.Sequential([keras.Input((n_in,)), layers.Dense(32, activation="leaky_relu"),
                             layers.Dense(32, activation="leaky_relu"), layers.Dense(1)], name=name)


def make_gan_step(generator, discriminator, g_optimizer, d_optimizer):
    """One compiled toy-GAN step: a D step on the BCE, then a non-saturating G step.

    Taught in ``05b_stable_losses_and_penalties``.

    Returns:
        a ``tf.function`` ``step(real, z) -> (d_loss, g_loss)``; real is float32 (batch, 1), z is
        float32 (batch, noise_dim); both losses are float32 scalars computed before the updates.
    """
    import tensorflow as tf

    @tf.function
    def step(real, z):
        with tf.GradientTape() as tape:
            d_loss = losses.discriminator_loss(discriminator(real), discriminator(generator(z)))
        d_optimizer.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_weights),
                                        discriminator.trainable_weights))
        with tf.GradientTape() as tape:
            g_loss = losses.generator_loss(discriminator(generator(z)))
        g_optimizer.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_weights),
                                        generator.trainable_weights))
        return d_loss, g_loss

    return step


def dirac_gan(gamma: float, steps: int = 1000, lr: float = 0.1):
    """The Dirac GAN (Mescheder et al., 2018): G is a point θ, D(x) = ψ x, the data a point at 0.

    Taught in ``05b_stable_losses_and_penalties``. Alternating SGD steps from (θ, ψ) = (1, 1): a D step
    on the BCE plus the R1 penalty ``gamma`` on the real point, then a non-saturating G step.
    Without R1 (gamma = 0) the path spirals in towards the equilibrium (0, 0), slowly (the
    non-saturating loss changes (θ² + ψ²)/2 by -u tanh(u/2) per unit time, u = ψθ; the saturating
    loss would conserve it and circle forever); with R1 it converges fast.

    Args:
        gamma: R1 weight (float >= 0).
        steps: number of alternating steps (int >= 0).
        lr: SGD learning rate (float > 0).

    Returns:
        float64 array (steps + 1, 2) of (θ, ψ), starting with (1, 1).
    """
    import tensorflow as tf

    theta, psi = tf.Variable(1.0), tf.Variable(1.0)
    D_dirac = lambda v, training=None: psi * v
    real = tf.zeros((1, 1))

    @tf.function
    def step():
        with tf.GradientTape() as tape:       # D step (with R1 on the real point)
            d_loss = losses.discriminator_loss(D_dirac(real), D_dirac(theta * tf.ones((1, 1))))
            d_loss += losses.r1_penalty(D_dirac, real, gamma=gamma)
        psi.assign_sub(lr * tape.gradient(d_loss, psi))
        with tf.GradientTape() as tape:       # G step
            g_loss = losses.generator_loss(D_dirac(theta * tf.ones((1, 1))))
        theta.assign_sub(lr * tape.gradient(g_loss, theta))

    path = [(1.0, 1.0)]
    for _ in range(steps):
        step(); path.append((float(theta), float(psi)))
    return np.array(path)
