"""GAN losses, computed from logits so that they stay finite.

Taught in ``05_losses_and_derivations`` and ``05b_stable_losses_and_penalties`` (first used in
``06_training``).

The discriminator D outputs a *logit* s (any real number); D's probability that an input is
real is sigmoid(s). Every loss here takes logits, never probabilities: with the identity
log(sigmoid(s)) = -softplus(-s), the loss is exact even at s = -200, where
``log(sigmoid(s))`` computed naively gives -inf (sigmoid underflows to 0 in float32).

The GAN value function (Goodfellow et al., 2014) is

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

D maximises V (real data scored high, fakes low); G minimises it. The source article swaps the
two log terms (it puts log D on the fakes and log(1 - D) on the real data), which would train D
to call real images fake. Here D minimises the binary cross-entropy (BCE) with target 1 for real
and 0 for fake, which is -V; G uses the non-saturating loss -log D(G(z)) of the same paper.

All losses return float32 scalars (the mean over the batch) and cast their inputs to float32,
so that they stay float32 under mixed precision.

Also here: the saturating generator loss of the minimax game (to show why it is not used), the
hinge losses (Lim & Ye 2017; Miyato et al. 2018; DF-GAN), the optimal discriminator
D* = p_data / (p_data + p_g), and two gradient penalties that take the discriminator itself:
R1 (Mescheder et al., 2018) and the matching-aware gradient penalty of DF-GAN (Tao et al., 2022).
"""
from __future__ import annotations

import tensorflow as tf
from keras import ops


def _as_float32(x):
    return ops.cast(ops.convert_to_tensor(x), "float32")


def _weighted_mean(values, weights=None):
    """Mean of ``values`` (B,) or (B, 1); with ``weights`` (B,), the weighted mean over the
    examples of weight 1 (0 when every weight is 0)."""
    values = ops.reshape(values, (-1,))
    if weights is None:
        return ops.mean(values)
    w = ops.reshape(_as_float32(weights), (-1,))
    return ops.sum(w * values) / ops.maximum(ops.sum(w), 1.0)


def bce_with_logits(logits, targets):
    """Element-wise binary cross-entropy from logits, numerically stable.

    Taught in ``05b_stable_losses_and_penalties``.

    BCE(s, t) = -t log sigmoid(s) - (1 - t) log(1 - sigmoid(s)) = softplus(s) - t * s.

    Args:
        logits: float tensor, any shape, any real values.
        targets: float tensor (or Python number) broadcastable to ``logits``, values in [0, 1].

    Returns:
        float32 tensor of the broadcast shape; BCE(0, t) = ln 2 for any t.
    """
    logits = _as_float32(logits)
    targets = _as_float32(targets)
    return ops.softplus(logits) - targets * logits


def discriminator_loss(real_logits, fake_logits):
    """Unconditional discriminator loss: mean BCE(real, 1) + mean BCE(fake, 0).

    Args:
        real_logits: float tensor (B,) or (B, 1), D's logits on real images.
        fake_logits: float tensor (B,) or (B, 1), D's logits on generated images.

    Returns:
        float32 scalar. At D = 0.5 everywhere (logits 0) it is 2 ln 2 = 1.386.
    """
    return (ops.mean(bce_with_logits(real_logits, 1.0))
            + ops.mean(bce_with_logits(fake_logits, 0.0)))


def generator_loss(fake_logits):
    """Non-saturating generator loss: mean BCE(D(G(z)), 1) = -mean log sigmoid(s).

    Its gradient with respect to a fake logit s is sigmoid(s) - 1, about -1 when D confidently
    rejects the fake (s = -10), so G still learns; the saturating -log(1 - sigmoid(s)) has
    gradient sigmoid(s), about 4.5e-5 there.

    Args:
        fake_logits: float tensor (B,) or (B, 1).

    Returns:
        float32 scalar; ln 2 = 0.693 at D = 0.5.
    """
    return ops.mean(bce_with_logits(fake_logits, 1.0))


def matching_aware_discriminator_loss(real_right_logits, real_wrong_logits, fake_right_logits,
                                      wrong_weights=None):
    """Matching-aware discriminator loss of GAN-CLS (Reed et al., 2016, "Generative
    Adversarial Text to Image Synthesis", Algorithm 1).

    D sees three kinds of pairs: a real image with its own caption (target 1), a real image with
    a caption of another image (target 0) and a generated image with the caption it was made
    from (target 0). The two "fake" terms share one half each:

        L_D = BCE(real/right, 1) + (BCE(real/wrong, 0) + BCE(fake/right, 0)) / 2

    Args:
        real_right_logits: float tensor (B,) or (B, 1).
        real_wrong_logits: float tensor (B,) or (B, 1).
        fake_right_logits: float tensor (B,) or (B, 1).
        wrong_weights: optional float tensor (B,), 1 where the wrong caption really belongs to
            another image and 0 where it does not (such pairs are left out of the mean).

    Returns:
        float32 scalar; 2 ln 2 = 1.386 when all logits are 0.
    """
    real_right = ops.mean(bce_with_logits(real_right_logits, 1.0))
    fake_right = ops.mean(bce_with_logits(fake_right_logits, 0.0))
    real_wrong = _weighted_mean(bce_with_logits(real_wrong_logits, 0.0), wrong_weights)
    return real_right + 0.5 * (real_wrong + fake_right)


def saturating_generator_loss(fake_logits):
    """The generator's side of the minimax game: mean log(1 - D(G(z))) = -mean softplus(s).

    Taught in ``05_losses_and_derivations``. **Not used for training**, shown to explain why:
    G minimises this, and its gradient with respect to a fake logit s is -sigmoid(s), about
    -4.5e-5 at s = -10 (D confidently rejects the fake), so G barely learns early on. Compare
    :func:`generator_loss`, whose gradient there is sigmoid(s) - 1 = -0.99995.

    Args:
        fake_logits: float tensor (B,) or (B, 1), any real values.

    Returns:
        float32 scalar <= 0; -ln 2 = -0.693 at D = 0.5, finite for any logit.
    """
    return -ops.mean(ops.softplus(_as_float32(fake_logits)))


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge loss of D (Lim & Ye 2017; Miyato et al. 2018): mean relu(1 - real) + mean relu(1 + fake).

    Taught in ``05b_stable_losses_and_penalties``. D is satisfied (zero loss, zero gradient) once a
    real logit is >= 1 and a fake one <= -1; it stops pushing its logits further apart.

    Args:
        real_logits: float tensor (B,) or (B, 1), D's raw scores on real images.
        fake_logits: float tensor (B,) or (B, 1), D's raw scores on generated images.

    Returns:
        float32 scalar >= 0; 2.0 when all logits are 0.
    """
    real = _as_float32(real_logits)
    fake = _as_float32(fake_logits)
    return ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))


def hinge_generator_loss(fake_logits):
    """Generator loss paired with the hinge D loss: -mean D(G(z)) (the raw score).

    Taught in ``05b_stable_losses_and_penalties``. Its gradient with respect to every fake logit is
    -1/B, however confidently D rejects the fake: it never saturates.

    Args:
        fake_logits: float tensor (B,) or (B, 1).

    Returns:
        float32 scalar (any real value); 0 when all logits are 0.
    """
    return -ops.mean(_as_float32(fake_logits))


def matching_aware_hinge_discriminator_loss(real_right_logits, real_wrong_logits,
                                            fake_right_logits, wrong_weights=None):
    """Hinge version of the matching-aware D loss, as in DF-GAN (Tao et al., 2022, eq. 3).

    Taught in ``05b_stable_losses_and_penalties``.

        L_D = mean relu(1 - real/right) + (mean relu(1 + real/wrong) + mean relu(1 + fake/right)) / 2

    Args:
        real_right_logits, real_wrong_logits, fake_right_logits: float tensors (B,) or (B, 1).
        wrong_weights: optional float tensor (B,), 0 where the "wrong" caption belongs to the
            same image (that pair is left out of the mean), as in
            :func:`matching_aware_discriminator_loss`.

    Returns:
        float32 scalar >= 0; 2.0 when all logits are 0.
    """
    real_right = ops.mean(ops.relu(1.0 - _as_float32(real_right_logits)))
    fake_right = ops.mean(ops.relu(1.0 + _as_float32(fake_right_logits)))
    real_wrong = _weighted_mean(ops.relu(1.0 + _as_float32(real_wrong_logits)), wrong_weights)
    return real_right + 0.5 * (real_wrong + fake_right)


def optimal_discriminator(p_data, p_g):
    """The best discriminator for a fixed G (Goodfellow et al., 2014, Prop. 1).

    Taught in ``05_losses_and_derivations``. For each x, D maximises
    p_data(x) log D + p_g(x) log(1 - D); setting the derivative p_data/D - p_g/(1 - D) to zero
    gives D*(x) = p_data(x) / (p_data(x) + p_g(x)).

    Args:
        p_data: array-like of densities p_data(x) >= 0.
        p_g: array-like of densities p_g(x) >= 0, same shape.

    Returns:
        float64 NumPy array of D*(x) in [0, 1]; 0.5 where both densities are 0 (undefined there).
    """
    import numpy as np

    p_data = np.asarray(p_data, np.float64)
    p_g = np.asarray(p_g, np.float64)
    total = p_data + p_g
    return np.where(total > 0, p_data / np.where(total > 0, total, 1.0), 0.5)


def _call_discriminator(discriminator, images, text, training):
    if text is None:
        return discriminator(images, training=training)
    return discriminator([images, text], training=training)


def r1_penalty(discriminator, images, text=None, gamma: float = 10.0, training: bool = True,
               return_logits: bool = False):
    """R1 gradient penalty (Mescheder et al., 2018, "Which Training Methods for GANs do
    actually Converge?", eq. 9): (gamma / 2) * E_x ||grad_x D(x)||^2 on **real** data.

    Taught in ``05b_stable_losses_and_penalties``. It pushes D's logit to be flat on the data, so
    that D does not keep pushing G past the data once G matches it. D here is the logit (the
    paper's D before the sigmoid). Add it to D's loss; G never sees it.

    The gradient is taken with respect to the image only (a conditional D gets the text as a
    fixed input). Works eagerly and inside ``tf.function``; call it inside D's outer
    ``tf.GradientTape`` so that the penalty's own gradient reaches D's weights (double
    backpropagation).

    Args:
        discriminator: callable ``D(images)`` or ``D([images, text])`` returning logits (B, 1)
            or (B,).
        images: float tensor (B, ...) of real images (NHWC in [-1, 1] for the course's D).
        text: optional float tensor (B, D) of the matching embeddings, or None for an
            unconditional D.
        gamma: weight of the penalty (10 in the paper's image experiments).
        training: passed to D.
        return_logits: also return D's logits on ``(images, text)`` (one forward pass serves
            both the loss and the penalty).

    Returns:
        float32 scalar >= 0 (or ``(penalty, logits)``); the squared norm is summed over all
        non-batch axes and averaged over the batch.
    """
    images = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = _call_discriminator(discriminator, images, text, training)
        total = tf.reduce_sum(tf.cast(logits, "float32"))
    grad = tf.cast(tape.gradient(total, images), "float32")
    squared_norm = tf.reduce_sum(tf.reshape(tf.square(grad), (tf.shape(grad)[0], -1)), axis=1)
    penalty = 0.5 * float(gamma) * tf.reduce_mean(squared_norm)
    return (penalty, logits) if return_logits else penalty


def matching_aware_gradient_penalty(discriminator, images, text, k: float = 2.0, p: float = 6.0,
                                    training: bool = True, return_logits: bool = False):
    """Matching-aware zero-centred gradient penalty, MA-GP, of DF-GAN (Tao et al., 2022,
    "DF-GAN: A Simple and Effective Baseline for Text-to-Image Synthesis", section 3.3).

    Taught in ``05b_stable_losses_and_penalties``. On **real images with their matching captions**,
    the gradient of D's logit with respect to both inputs is pushed to zero, which smooths D
    around the real, matching data points. Per example, with g_x = grad_x D(x, e) and
    g_e = grad_e D(x, e):

        MA-GP = k * E[ ||(g_x, g_e)||^p ]      (k = 2, p = 6 in the paper)

    ||(g_x, g_e)|| is the norm of both gradients concatenated, as in the authors' code
    (``MA_GP`` in tobran/DF-GAN); the paper's equation writes the sum of the two norms,
    (||g_x|| + ||g_e||)^p, which is larger by at most 2^(p/2). The power is computed as
    (||g||^2)^(p/2), never through a square root, whose derivative is infinite where the
    gradient is zero.

    Works eagerly and inside ``tf.function``; call it inside D's outer ``tf.GradientTape``.

    Args:
        discriminator: callable ``D([images, text])`` returning logits (B, 1) or (B,).
        images: float tensor (B, S, S, 3) of real images in [-1, 1].
        text: float tensor (B, D), the embeddings of their **own** captions.
        k: weight (2 in the paper).
        p: power (6 in the paper); must be > 0.
        training: passed to D.
        return_logits: also return D's real/right logits from the same forward pass.

    Returns:
        float32 scalar >= 0 (or ``(penalty, logits)``).

    Raises:
        ValueError: if ``p <= 0``.
    """
    if p <= 0:
        raise ValueError(f"p must be > 0, got {p}.")
    images = tf.convert_to_tensor(images)
    text = tf.convert_to_tensor(text)
    with tf.GradientTape() as tape:
        tape.watch([images, text])
        logits = _call_discriminator(discriminator, images, text, training)
        total = tf.reduce_sum(tf.cast(logits, "float32"))
    grad_x, grad_e = tape.gradient(total, [images, text])
    batch = tf.shape(images)[0]
    squared_norm = (
        tf.reduce_sum(tf.reshape(tf.square(tf.cast(grad_x, "float32")), (batch, -1)), axis=1)
        + tf.reduce_sum(tf.reshape(tf.square(tf.cast(grad_e, "float32")), (batch, -1)), axis=1))
    penalty = float(k) * tf.reduce_mean(tf.pow(squared_norm, 0.5 * float(p)))
    return (penalty, logits) if return_logits else penalty


def reconstruction_loss(fake, real):
    """Mean absolute error between generated and real images (pix2pix's L1 term).

    Taught in ``06_training``. Isola et al. (2017) add lambda * L1(G(x, z), y) to the GAN loss
    when every input has one target image: the L1 term fixes the low frequencies (where things
    are, their colours) and the adversarial term the high ones (edges, texture), which L1
    alone blurs. Here the input is a caption and y its emoji.

    Args:
        fake, real: float (B, H, W, C) in the same value range ([-1, 1] in the course).

    Returns:
        float32 scalar: the mean over the batch, pixels and channels of |fake - real|.
    """
    return ops.mean(ops.abs(_as_float32(fake) - _as_float32(real)))


def kl_conditioning_augmentation(mu, log_sigma):
    """KL divergence of conditioning augmentation (StackGAN, Zhang et al., 2017, eq. 3).

    Taught in ``02_generator``.

    Conditioning augmentation draws the text code c ~ N(mu, diag(sigma^2)) and adds
    KL(N(mu, sigma^2) || N(0, I)) to the generator's loss, so that the codes stay near a
    standard normal and nearby captions share codes. Per dimension the KL is

        KL_j = (mu_j^2 + sigma_j^2 - 1) / 2 - log sigma_j

    which is 0 at mu = 0, log sigma = 0 and 1/2 at mu = 1, log sigma = 0.

    Args:
        mu: float tensor (B, C), the mean of the text code.
        log_sigma: float tensor (B, C), the log standard deviation (natural log).

    Returns:
        float32 scalar: the KL summed over the C dimensions, averaged over the batch (nats).
        (StackGAN's reference code averages over dimensions too; divide by C to get that.)
    """
    mu = _as_float32(mu)
    log_sigma = _as_float32(log_sigma)
    per_dim = 0.5 * (ops.square(mu) + ops.exp(2.0 * log_sigma) - 1.0) - log_sigma
    return ops.mean(ops.sum(per_dim, axis=-1))


__all__ = [
    "bce_with_logits",
    "kl_conditioning_augmentation",
    "reconstruction_loss",
    "discriminator_loss",
    "generator_loss",
    "matching_aware_discriminator_loss",
    "saturating_generator_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "matching_aware_hinge_discriminator_loss",
    "optimal_discriminator",
    "r1_penalty",
    "matching_aware_gradient_penalty",
]
