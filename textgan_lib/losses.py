"""GAN losses, computed from logits so that they stay finite.

Taught in ``05_losses_and_derivations`` (first used in ``06_training``).

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
"""
from __future__ import annotations

from keras import ops


def _as_float32(x):
    return ops.cast(ops.convert_to_tensor(x), "float32")


def bce_with_logits(logits, targets):
    """Element-wise binary cross-entropy from logits, numerically stable.

    Taught in ``05_losses_and_derivations``.

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
    """Matching-aware discriminator loss of GAN-INT-CLS (Reed et al., 2016, "Generative
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
    wrong = ops.reshape(bce_with_logits(real_wrong_logits, 0.0), (-1,))
    if wrong_weights is None:
        real_wrong = ops.mean(wrong)
    else:
        w = ops.reshape(_as_float32(wrong_weights), (-1,))
        real_wrong = ops.sum(w * wrong) / ops.maximum(ops.sum(w), 1.0)
    return real_right + 0.5 * (real_wrong + fake_right)


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
    "discriminator_loss",
    "generator_loss",
    "matching_aware_discriminator_loss",
]
