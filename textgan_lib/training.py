"""``TextGAN``: the text-conditioned GAN as one Keras model with its own ``train_step``.

Taught in ``06_training`` (first used by the walking skeleton's ``textgan train``).

One ``keras.Model`` holds the generator G and the discriminator D, has two optimizers (one per
network, never shared) and is trained with ``fit`` on the dicts of
:func:`textgan_lib.data.pipeline.make_pipeline`. Each step:

1. D step: D sees real/right (target 1), real/wrong (target 0) and fake/right (target 0) pairs,
   the matching-aware loss of GAN-INT-CLS (Reed et al., 2016). Only D's weights change.
2. G step: G makes new fakes and minimises the non-saturating loss -log D(G(z, e), e). Only G's
   weights change.

Metrics (per-epoch means in ``fit``'s history): ``d_loss``, ``g_loss``, ``d_real`` and
``d_fake`` (D's mean probability "real" on real/right and fake/right pairs).
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from . import config, losses


def wrong_caption_pairs(embeddings, image_ids):
    """Pick a "wrong" caption for every example: the next example's caption in the batch.

    Args:
        embeddings: float (B, D) caption embeddings of the batch.
        image_ids: int (B,) ids of the images the captions describe.

    Returns:
        ``(wrong_embeddings (B, D), weights (B,) float32)``: weight 1 where the wrong caption
        belongs to a different image, 0 where it describes the same image (a data set may hold
        an image twice or several captions per image); those pairs are left out of the loss.
    """
    wrong = ops.roll(embeddings, shift=1, axis=0)
    wrong_ids = ops.roll(image_ids, shift=1, axis=0)
    weights = ops.cast(ops.not_equal(image_ids, wrong_ids), "float32")
    return wrong, weights


class TextGAN(keras.Model):
    """Generator + discriminator, trained together by ``fit``. Taught in ``06_training``.

    Args:
        generator: ``[embedding (B, D), z (B, z_dim)] -> image (B, S, S, 3)`` in [-1, 1].
        discriminator: ``[image (B, S, S, 3), embedding (B, D)] -> logit (B, 1)``.
        z_dim: noise length (must match the generator's second input).
        seed: seed of the model's ``keras.random.SeedGenerator`` (noise draws).

    Call ``compile(d_optimizer=..., g_optimizer=...)`` before ``fit``. Calling the model
    (``gan([embeddings, z])``) runs the generator.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 z_dim: int = config.Z_DIM, seed: int = config.SEED, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.z_dim = int(z_dim)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")

    def compile(self, d_optimizer: keras.optimizers.Optimizer,
                g_optimizer: keras.optimizers.Optimizer, **kwargs):
        """Set one optimizer per network.

        Raises:
            ValueError: if the same optimizer object is passed twice (its slots would be built
                for one network's variables and then applied to the other's).
        """
        if d_optimizer is g_optimizer:
            raise ValueError("d_optimizer and g_optimizer must be two different optimizer "
                             "objects; one optimizer cannot serve two networks.")
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker,
                self.d_fake_tracker]

    def call(self, inputs, training=False):
        embeddings, z = inputs
        return self.generator([embeddings, z], training=training)

    def sample_noise(self, batch_size):
        """Standard normal noise (batch_size, z_dim), drawn from the model's seed generator."""
        return keras.random.normal((batch_size, self.z_dim), seed=self.seed_generator)

    def discriminator_step(self, data):
        """One D update on a batch: only D's weights change. Returns the D-side numbers.

        Args:
            data: dict with ``image`` (B, S, S, 3) in [-1, 1], ``embedding`` (B, D) and
                ``image_id`` (B,) int (see :func:`wrong_caption_pairs`).

        Returns:
            dict of float32 scalars ``d_loss``, ``d_real`` and ``d_fake`` (D's mean probability
            "real" on real/right and fake/right pairs).
        """
        real = data["image"]
        text = data["embedding"]
        batch_size = ops.shape(real)[0]
        wrong_text, wrong_weights = wrong_caption_pairs(text, data["image_id"])
        fake = self.generator([text, self.sample_noise(batch_size)], training=True)
        with tf.GradientTape() as tape:
            real_right = self.discriminator([real, text], training=True)
            real_wrong = self.discriminator([real, wrong_text], training=True)
            fake_right = self.discriminator([fake, text], training=True)
            d_loss = losses.matching_aware_discriminator_loss(
                real_right, real_wrong, fake_right, wrong_weights)
        d_vars = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        return {"d_loss": d_loss,
                "d_real": ops.mean(ops.sigmoid(ops.cast(real_right, "float32"))),
                "d_fake": ops.mean(ops.sigmoid(ops.cast(fake_right, "float32")))}

    def generator_step(self, data):
        """One G update (non-saturating loss): only G's weights change.

        Any loss the generator adds while it runs (the conditioning-augmentation KL of
        :class:`textgan_lib.models.generator.ConditioningAugmentation`) is added to G's loss.

        Args:
            data: dict with ``embedding`` (B, D) (the images are not used).

        Returns:
            dict with the float32 scalar ``g_loss`` (including the KL term, if any).
        """
        text = data["embedding"]
        batch_size = ops.shape(text)[0]
        with tf.GradientTape() as tape:
            fake = self.generator([text, self.sample_noise(batch_size)], training=True)
            # D in inference mode: a G step must not change D (e.g. Keras' SpectralNormalization
            # rewrites its kernel on every training-mode call).
            g_loss = losses.generator_loss(self.discriminator([fake, text], training=False))
            if self.generator.losses:
                g_loss = g_loss + ops.cast(ops.sum(self.generator.losses), "float32")
        g_vars = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return {"g_loss": g_loss}

    def train_step(self, data):
        d_out = self.discriminator_step(data)  # 1. only D's weights change
        g_out = self.generator_step(data)      # 2. only G's weights change
        self.d_loss_tracker.update_state(d_out["d_loss"])
        self.g_loss_tracker.update_state(g_out["g_loss"])
        self.d_real_tracker.update_state(d_out["d_real"])
        self.d_fake_tracker.update_state(d_out["d_fake"])
        return {m.name: m.result() for m in self.metrics}


__all__ = ["TextGAN", "wrong_caption_pairs"]
