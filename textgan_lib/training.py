"""``TextGAN``: the text-conditioned GAN as one Keras model with its own ``train_step``.

Taught in ``06_training`` (first used by the walking skeleton's ``textgan train``).

One ``keras.Model`` holds the generator G and the discriminator D, has two optimizers (one per
network, never shared) and is trained with ``fit`` on the dicts of
:func:`textgan_lib.data.pipeline.make_pipeline`. Each step:

1. D step: D sees real/right (target 1), real/wrong (target 0) and fake/right (target 0) pairs,
   the matching-aware loss of GAN-CLS (Reed et al., 2016). Only D's weights change.
   (``fuse_d_calls=True`` scores the three kinds of pairs in one D call on their concatenation:
   the same logits for a D without batch or spectral norm, but measured slower on a 2-core CPU
   under XLA, see ``bench/train_step.py``; off by default.)
2. G step: G makes new fakes and minimises the non-saturating loss -log D(G(z, e), e). Only G's
   weights change.

Metrics (per-epoch means in ``fit``'s history): ``d_loss``, ``g_loss``, ``d_real`` and
``d_fake`` (D's mean probability "real" on real/right and fake/right pairs), and ``d_penalty``
when a gradient penalty is on.

Options for small data and for the GPU (all off by default, which is the plain GAN-CLS
step above): DiffAugment of every image D sees (:mod:`textgan_lib.augment`), an exponential
moving average (EMA) of G's weights for samples and evaluation, a gradient penalty (R1 or
DF-GAN's MA-GP), the hinge loss, mixed precision (float16 with loss scaling, or bfloat16) and
``tf.distribute`` (each replica's loss is divided by the number of replicas, since the
optimizers sum the replicas' gradients).

:func:`fit_gan` trains a ``TextGAN`` on in-memory arrays with resumable checkpoints, a
sample grid per epoch, TensorBoard logs and a stop on non-finite losses; it is what
``textgan train`` and the notebook call.
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from . import config, losses
from .augment import diff_augment, parse_policy
from .matching import sentence_matching_loss

GRADIENT_PENALTIES = (None, "r1", "ma_gp")
GAN_LOSSES = ("bce", "hinge")
#: Default weight of each gradient penalty: R1's gamma (Mescheder et al., 2018) and MA-GP's
#: k (DF-GAN, Tao et al., 2022; with p = 6).
DEFAULT_PENALTY_WEIGHT = {"r1": 10.0, "ma_gp": 2.0}


def wrong_caption_pairs(embeddings, image_ids):
    """Pick a "wrong" caption for every example: the previous example's caption in the batch
    (cyclically: the first example gets the last one's).

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


def _num_replicas() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


def _sublayers(layer):
    """``layer`` and every layer inside it (nested models, wrapped layers), depth first."""
    yield layer
    inner = list(getattr(layer, "layers", None) or [])
    if getattr(layer, "layer", None) is not None:       # a wrapper (SpectralNormalization)
        inner.append(layer.layer)
    for sub in inner:
        yield from _sublayers(sub)


def scores_examples_independently(discriminator: keras.Model) -> bool:
    """Whether a training-mode call of ``discriminator`` scores each example on its own and
    changes no state: no batch normalisation (batch statistics) and no spectral normalisation
    (a power iteration per call). Then one call on a concatenated batch gives the same logits
    as one call per part."""
    stateful = (keras.layers.BatchNormalization, keras.layers.SpectralNormalization)
    return not any(isinstance(layer, stateful) for layer in _sublayers(discriminator))


class TextGAN(keras.Model):
    """Generator + discriminator, trained together by ``fit``. Taught in ``06_training``.

    Args:
        generator: ``[embedding (B, D), z (B, z_dim)] -> image (B, S, S, 3)`` float32 in [-1, 1].
        discriminator: ``[image (B, S, S, 3), embedding (B, D)] -> logit (B, 1)`` float32.
        z_dim: noise length (must match the generator's second input).
        seed: seed of the model's ``keras.random.SeedGenerator`` (noise draws); the
            augmentations draw from a second generator seeded ``seed + 1``.
        augment: DiffAugment policy (Zhao et al., 2020), e.g. ``"color,translation,cutout"``;
            ``""`` (default) for none. Applied to real and fake images alike, in both steps.
        ema_decay: ``None`` (default) or e.g. 0.999: keep ``ema_generator``, a copy of G whose
            trainable weights follow ``w_ema <- decay * w_ema + (1 - decay) * w`` after every G
            step (other variables, e.g. batch-norm statistics, are copied). Use it for samples
            and evaluation (Karras et al., 2018; Yazici et al., 2019).
        ema_warmup: use ``min(decay, (1 + n) / (10 + n))`` after the n-th G step instead of
            ``decay`` (the ``num_updates`` rule of ``tf.train.ExponentialMovingAverage``):
            early on the average forgets quickly, so a short run's EMA copy does not keep
            ``decay ** n`` of G's random initial weights (0.999 ** 1,248 = 0.29 after a
            24-epoch course run); from n = 8,990 on it is ``decay`` = 0.999. Default False.
        gradient_penalty: ``None`` (default), ``"r1"`` (Mescheder et al., 2018, on real images
            with their captions) or ``"ma_gp"`` (DF-GAN's matching-aware penalty, p = 6), added
            to D's loss, computed on the (augmented) real images.
        penalty_weight: gamma of R1 / k of MA-GP (default 10 / 2, see
            ``DEFAULT_PENALTY_WEIGHT``).
        loss: ``"bce"`` (default; matching-aware BCE + non-saturating G loss) or ``"hinge"``
            (matching-aware hinge of DF-GAN + G loss -D(G(z))).
        reconstruction_weight: ``0`` (default) or lambda > 0: add lambda * L1(G(e, z), x) to
            G's loss, where x is the real image of caption e (pix2pix's L1 term, Isola et al.
            2017; it needs paired data, one image per caption, as the emoji are). The L1 is on
            the un-augmented images, in [-1, 1] units, averaged over pixels.
        matching_weight: ``0`` (default) or lambda > 0: add lambda * the DAMSM sentence loss
            (:func:`textgan_lib.matching.sentence_matching_loss`, AttnGAN, Xu et al. 2018) of
            the augmented fakes and their captions to G's loss, coded by
            ``matching_encoders = (image_encoder, text_encoder)``, which stay frozen.
        fuse_d_calls: score the D step's pairs in one D call on their concatenation (True)
            instead of one call per kind of pair (False, default). The same logits and
            gradients, since it needs a D that :func:`scores_examples_independently` (no batch
            or spectral norm); measured slower on a 2-core CPU with XLA (``bench/README.md``).

    Call ``compile(d_optimizer=..., g_optimizer=...)`` before ``fit``. Calling the model
    (``gan([embeddings, z])``) runs the generator. :meth:`sampler` is the EMA generator if there
    is one, else the generator.

    Raises:
        ValueError: for an unknown ``augment`` policy, ``gradient_penalty`` or ``loss``,
            ``ema_decay`` outside [0, 1), or ``fuse_d_calls`` with a D that has batch or
            spectral norm.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 z_dim: int = config.Z_DIM, seed: int = config.SEED, augment: str = "",
                 ema_decay: float | None = None, gradient_penalty: str | None = None,
                 penalty_weight: float | None = None, loss: str = "bce",
                 fuse_d_calls: bool = False, reconstruction_weight: float = 0.0,
                 ema_warmup: bool = False, matching_weight: float = 0.0,
                 matching_encoders=None, **kwargs):
        super().__init__(**kwargs)
        if not float(matching_weight) >= 0.0:
            raise ValueError(f"matching_weight must be >= 0, got {matching_weight}.")
        if matching_weight and matching_encoders is None:
            raise ValueError("matching_weight > 0 needs matching_encoders=(image_encoder, "
                             "text_encoder) (textgan_lib.matching.train_matching_encoder).")
        self.matching_weight = float(matching_weight)
        self.matching_image_encoder, self.matching_text_encoder = (
            matching_encoders if matching_weight else (None, None))
        for net in (self.matching_image_encoder, self.matching_text_encoder):
            if net is not None:
                net.trainable = False   # frozen, as AttnGAN freezes its DAMSM encoders
        if not float(reconstruction_weight) >= 0.0:
            raise ValueError(f"reconstruction_weight must be >= 0, got {reconstruction_weight}.")
        self.reconstruction_weight = float(reconstruction_weight)
        if gradient_penalty not in GRADIENT_PENALTIES:
            raise ValueError(f"gradient_penalty={gradient_penalty!r}; use None, 'r1' or 'ma_gp'.")
        if loss not in GAN_LOSSES:
            raise ValueError(f"loss={loss!r}; use one of {', '.join(GAN_LOSSES)}.")
        if ema_decay is not None and not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) or None, got {ema_decay}.")
        self.generator = generator
        self.discriminator = discriminator
        self.z_dim = int(z_dim)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.augment_policy = ",".join(parse_policy(augment))
        self.augment_seed_generator = keras.random.SeedGenerator(seed + 1)
        self.gradient_penalty = gradient_penalty
        self.penalty_weight = (None if gradient_penalty is None else float(
            DEFAULT_PENALTY_WEIGHT[gradient_penalty] if penalty_weight is None
            else penalty_weight))
        self.loss_kind = loss
        if fuse_d_calls and not scores_examples_independently(discriminator):
            raise ValueError("fuse_d_calls=True needs a discriminator without batch or "
                             "spectral normalisation (its logits would depend on the batch).")
        self.fuse_d_calls = bool(fuse_d_calls)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        if ema_warmup and self.ema_decay is None:
            raise ValueError("ema_warmup=True needs an ema_decay (there is no EMA to warm up).")
        self.ema_warmup = bool(ema_warmup)
        self.ema_generator = None
        if self.ema_decay is not None:
            ema = keras.models.clone_model(generator)
            ema.set_weights(generator.get_weights())
            ema.trainable = False
            self.ema_generator = ema
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.d_penalty_tracker = keras.metrics.Mean(name="d_penalty")
        self.g_l1_tracker = keras.metrics.Mean(name="g_l1")
        self.g_match_tracker = keras.metrics.Mean(name="g_match")
        self.built = True   # G and D are built networks; nothing to build from data (fit under
        #                     tf.distribute would otherwise call the model on a data batch)

    def compile(self, d_optimizer: keras.optimizers.Optimizer,
                g_optimizer: keras.optimizers.Optimizer, **kwargs):
        """Set one optimizer per network (and build them: call it under the strategy's scope
        to distribute); other keyword arguments (``jit_compile``,
        ``run_eagerly``, ``steps_per_execution``) go to ``keras.Model.compile``.

        Under the ``mixed_float16`` global policy each optimizer is wrapped in a
        ``keras.optimizers.LossScaleOptimizer`` (dynamic loss scaling: float16 gradients
        would underflow otherwise; steps with non-finite gradients are skipped). ``bfloat16``
        has float32's exponent range and needs no scaling.

        Raises:
            ValueError: if the same optimizer object is passed twice (its slots would be built
                for one network's variables and then applied to the other's).
        """
        if d_optimizer is g_optimizer:
            raise ValueError("d_optimizer and g_optimizer must be two different optimizer "
                             "objects; one optimizer cannot serve two networks.")
        super().compile(**kwargs)
        if keras.config.dtype_policy().name == "mixed_float16":
            scaled = keras.optimizers.LossScaleOptimizer
            d_optimizer = d_optimizer if isinstance(d_optimizer, scaled) else scaled(d_optimizer)
            g_optimizer = g_optimizer if isinstance(g_optimizer, scaled) else scaled(g_optimizer)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # their variables now, not lazily inside the first (distributed) step: under
        # tf.distribute they must be created in the strategy's scope, outside the step
        self.build_optimizers()

    def build_optimizers(self):
        """Create both optimizers' variables now (not at the first step), e.g. before
        restoring a checkpoint into them."""
        for opt, net in ((self.d_optimizer, self.discriminator), (self.g_optimizer, self.generator)):
            if not opt.built:
                opt.build(net.trainable_variables)

    @property
    def metrics(self):
        trackers = [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker,
                    self.d_fake_tracker]
        return (trackers + ([self.d_penalty_tracker] if self.gradient_penalty else [])
                + ([self.g_l1_tracker] if self.reconstruction_weight else [])
                + ([self.g_match_tracker] if self.matching_weight else []))

    @property
    def sampler(self) -> keras.Model:
        """The network to draw samples with: ``ema_generator`` if kept, else ``generator``."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def call(self, inputs, training=False):
        embeddings, z = inputs
        return self.generator([embeddings, z], training=training)

    def sample_noise(self, batch_size):
        """Standard normal noise (batch_size, z_dim), drawn from the model's seed generator."""
        return keras.random.normal((batch_size, self.z_dim), seed=self.seed_generator)

    def augment(self, images):
        """DiffAugment ``images`` (B, S, S, 3) with the model's policy (identity if none)."""
        return diff_augment(images, self.augment_policy, seed=self.augment_seed_generator)

    def _d_adversarial_loss(self, real_right, real_wrong, fake_right, wrong_weights):
        if self.loss_kind == "hinge":
            return losses.matching_aware_hinge_discriminator_loss(
                real_right, real_wrong, fake_right, wrong_weights)
        return losses.matching_aware_discriminator_loss(
            real_right, real_wrong, fake_right, wrong_weights)

    def discriminate(self, images, texts):
        """D's training-mode logits on several (images, texts) groups of B pairs each.

        Args:
            images: list of float (B, S, S, 3) batches; texts: list of float (B, D) batches.

        Returns:
            list of float32 logits (B, 1), one per group: from one D call on the concatenated
            groups if ``fuse_d_calls``, else from one call per group.
        """
        if not self.fuse_d_calls or len(images) == 1:
            return [self.discriminator([x, t], training=True) for x, t in zip(images, texts)]
        logits = self.discriminator([ops.concatenate(images, axis=0),
                                     ops.concatenate(texts, axis=0)], training=True)
        return ops.split(logits, len(images), axis=0)

    def discriminator_step(self, data):
        """One D update on a batch: only D's weights change. Returns the D-side numbers.

        Args:
            data: dict with ``image`` (B, S, S, 3) in [-1, 1], ``embedding`` (B, D) and
                ``image_id`` (B,) int (see :func:`wrong_caption_pairs`).

        Returns:
            dict of float32 scalars ``d_loss`` (the adversarial part), ``d_penalty`` (0 without
            a gradient penalty), ``d_real`` and ``d_fake`` (D's mean probability "real" on
            real/right and fake/right pairs). D's gradient is that of ``d_loss + d_penalty``.
        """
        real = data["image"]
        text = data["embedding"]
        batch_size = ops.shape(real)[0]
        wrong_text, wrong_weights = wrong_caption_pairs(text, data["image_id"])
        fake = self.generator([text, self.sample_noise(batch_size)], training=True)
        real = self.augment(real)      # one draw for the real images (both real pairs) ...
        fake = self.augment(fake)      # ... and an independent one for the fakes
        with tf.GradientTape() as tape:
            if self.gradient_penalty is None:    # the three kinds of pairs
                penalty = tf.constant(0.0, "float32")
                real_right, real_wrong, fake_right = self.discriminate(
                    [real, real, fake], [text, wrong_text, text])
            else:                                # real/right comes with the penalty
                if self.gradient_penalty == "r1":
                    penalty, real_right = losses.r1_penalty(
                        self.discriminator, real, text, gamma=self.penalty_weight,
                        training=True, return_logits=True)
                else:
                    penalty, real_right = losses.matching_aware_gradient_penalty(
                        self.discriminator, real, text, k=self.penalty_weight, p=6.0,
                        training=True, return_logits=True)
                real_wrong, fake_right = self.discriminate([real, fake], [wrong_text, text])
            d_loss = self._d_adversarial_loss(real_right, real_wrong, fake_right, wrong_weights)
            total = (d_loss + penalty) / _num_replicas()   # the optimizer sums the replicas
            scaled = self.d_optimizer.scale_loss(total)     # x loss scale under float16
        d_vars = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, d_vars), d_vars))
        return {"d_loss": d_loss, "d_penalty": penalty,
                "d_real": ops.mean(ops.sigmoid(ops.cast(real_right, "float32"))),
                "d_fake": ops.mean(ops.sigmoid(ops.cast(fake_right, "float32")))}

    def generator_step(self, data):
        """One G update (non-saturating loss, or -D(G(z)) with ``loss="hinge"``): only G's
        weights change; then the EMA generator, if any, follows.

        Any loss the generator adds while it runs (the conditioning-augmentation KL of
        :class:`textgan_lib.models.generator.ConditioningAugmentation`) is added to G's loss,
        and so is ``reconstruction_weight * L1(fake, real)`` when that weight is not 0.

        Args:
            data: dict with ``embedding`` (B, D), and ``image`` (B, S, S, 3) when
                ``reconstruction_weight`` is not 0 (otherwise the images are not used).

        Returns:
            dict with the float32 scalars ``g_loss`` (including the KL and L1 terms, if any)
            and ``g_l1`` (the unweighted L1; 0 without a reconstruction term).
        """
        text = data["embedding"]
        batch_size = ops.shape(text)[0]
        with tf.GradientTape() as tape:
            raw = self.generator([text, self.sample_noise(batch_size)], training=True)
            # D in inference mode: a G step must not change D (e.g. Keras' SpectralNormalization
            # rewrites its kernel on every training-mode call).
            augmented = self.augment(raw)
            logits = self.discriminator([augmented, text], training=False)
            g_loss = (losses.hinge_generator_loss(logits) if self.loss_kind == "hinge"
                      else losses.generator_loss(logits))
            l1 = tf.constant(0.0, "float32")
            if self.reconstruction_weight:
                l1 = losses.reconstruction_loss(raw, data["image"])
                g_loss = g_loss + self.reconstruction_weight * l1
            match = tf.constant(0.0, "float32")
            if self.matching_weight:   # AttnGAN's DAMSM sentence loss, frozen encoders
                match = sentence_matching_loss(
                    self.matching_image_encoder(augmented, training=False),
                    self.matching_text_encoder(text, training=False), data["image_id"])
                g_loss = g_loss + self.matching_weight * match
            if self.generator.losses:
                g_loss = g_loss + ops.cast(ops.sum(self.generator.losses), "float32")
            scaled = self.g_optimizer.scale_loss(g_loss / _num_replicas())
        g_vars = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, g_vars), g_vars))
        if self.ema_generator is not None:
            self.update_ema()
        return {"g_loss": g_loss, "g_l1": l1, "g_match": match}

    def ema_decay_now(self):
        """The decay of the next EMA update: ``ema_decay``, or with ``ema_warmup``
        ``min(ema_decay, (1 + n) / (10 + n))`` where n = G's optimizer steps so far."""
        if not self.ema_warmup:
            return self.ema_decay
        n = keras.ops.cast(self.g_optimizer.iterations, "float32")
        return keras.ops.minimum(self.ema_decay, (1.0 + n) / (10.0 + n))

    def update_ema(self):
        """``ema_generator`` <- decay * itself + (1 - decay) * generator (trainable weights);
        its other variables are copied (``decay``: :meth:`ema_decay_now`). Works inside a
        ``tf.distribute`` replica context."""
        decay = self.ema_decay_now()
        trainable = {id(v) for v in self.generator.trainable_variables}
        pairs = list(zip(self.ema_generator.variables, self.generator.variables))

        def update(strategy):
            for ema_var, var in pairs:
                mix = id(var) in trainable

                def assign(e, v, mix=mix):
                    return e.assign(decay * e + (1.0 - decay) * v if mix else v)

                strategy.extended.update(getattr(ema_var, "value", ema_var), assign,
                                         args=(getattr(var, "value", var),), group=False)

        tf.__internal__.distribute.interim.maybe_merge_call(
            update, tf.distribute.get_strategy())

    def train_step(self, data):
        d_out = self.discriminator_step(data)  # 1. only D's weights change
        g_out = self.generator_step(data)      # 2. only G's weights change
        self.d_loss_tracker.update_state(d_out["d_loss"])
        self.g_loss_tracker.update_state(g_out["g_loss"])
        self.d_real_tracker.update_state(d_out["d_real"])
        self.d_fake_tracker.update_state(d_out["d_fake"])
        if self.gradient_penalty:
            self.d_penalty_tracker.update_state(d_out["d_penalty"])
        if self.reconstruction_weight:
            self.g_l1_tracker.update_state(g_out["g_l1"])
        if self.matching_weight:
            self.g_match_tracker.update_state(g_out["g_match"])
        return {m.name: m.result() for m in self.metrics}

    def checkpoint_variables(self) -> list:
        """Every variable a resumed run needs, in a fixed order: G, D, the EMA copy, the seed
        generators' states (noise and augmentation draws) and both optimizers' states
        (iterations, moments, loss scale). Builds the optimizers if needed."""
        self.build_optimizers()
        seen, out = set(), []
        for v in (list(self.variables) + list(self.d_optimizer.variables)
                  + list(self.g_optimizer.variables)):
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out


def training_stream(images: np.ndarray, embeddings: np.ndarray, image_ids=None,
                    batch_size: int = 64, seed: int = config.SEED, start_step: int = 0,
                    image_size: int | None = None):
    """An endless, resumable tf.data stream of training batches. Taught in ``06_training``.

    Pass p over the data visits the examples in the order of a *stateless* random
    permutation of (seed, p); each pass drops its last incomplete batch. The stream's
    ``k``-th batch is therefore a pure function of ``(seed, k)``, so a run resumed at step
    ``start_step`` sees exactly the batches an uninterrupted run saw from that step on (an
    ordinary ``shuffle(reshuffle_each_iteration=True)`` restarts its sequence of orders in a
    new process). Images, embeddings and ids are indexed by the same index (zipped before
    shuffling, C13).

    Args:
        images: uint8 (N, H, W, 3); area-downsampled to ``image_size`` once (``None``: kept).
        embeddings: float32 (N, D), row i describing image i.
        image_ids: int (N,) (default ``arange(N)``), see :func:`wrong_caption_pairs`.
        batch_size: examples per batch (the global batch under ``tf.distribute``).
        seed: seed of the permutations.
        start_step: index of the first batch to yield (0: from the start).
        image_size: side of the yielded images.

    Returns:
        ``(dataset, steps_per_pass)``: batches of dicts ``image`` float32 (B, S, S, 3) in
        [-1, 1], ``embedding`` float32 (B, D), ``image_id`` int64 (B,); ``N // batch_size``.

    Raises:
        ValueError: if the lengths differ or N < batch_size.
    """
    from .data.pipeline import resize_uint8, to_float

    images = np.asarray(images)
    if image_size is not None:
        images = resize_uint8(images, image_size)
    embeddings = np.asarray(embeddings, dtype=np.float32)
    n = len(images)
    image_ids = np.arange(n) if image_ids is None else np.asarray(image_ids)
    if not len(embeddings) == len(image_ids) == n:
        raise ValueError(f"inputs must have the same length, got images {n}, embeddings "
                         f"{len(embeddings)}, image_ids {len(image_ids)}.")
    if n < batch_size:
        raise ValueError(f"{n} examples make no full batch of {batch_size}; lower batch_size.")
    steps_per_pass = n // batch_size
    start_pass, skip = divmod(int(start_step), steps_per_pass)
    table = {"image": tf.constant(images), "embedding": tf.constant(embeddings),
             "image_id": tf.constant(image_ids.astype(np.int64))}

    def one_pass(p):
        order = tf.argsort(tf.random.stateless_uniform(
            [n], seed=tf.stack([tf.constant(seed, tf.int64), p])))
        return tf.data.Dataset.from_tensor_slices(order[:steps_per_pass * batch_size])

    ds = tf.data.Dataset.range(start_pass, np.iinfo(np.int64).max).flat_map(one_pass)
    ds = ds.batch(batch_size, drop_remainder=True).skip(skip)
    ds = ds.map(lambda idx: {"image": to_float(tf.gather(table["image"], idx)),
                             "embedding": tf.gather(table["embedding"], idx),
                             "image_id": tf.gather(table["image_id"], idx)})
    return ds.prefetch(tf.data.AUTOTUNE), steps_per_pass


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package (needed by ``keras.callbacks.TensorBoard``) is
    installed; TensorFlow 2.21 no longer installs it."""
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def epoch_steps(num_images: int, batch_size: int, steps_per_epoch: int | None = None) -> int:
    """Optimizer steps in one :func:`fit_gan` epoch: one pass over ``num_images`` in full
    batches (at least 1), capped at ``steps_per_epoch`` when that is given."""
    steps_per_pass = num_images // batch_size if num_images >= batch_size else 1
    return (steps_per_pass if steps_per_epoch is None
            else max(1, min(int(steps_per_epoch), steps_per_pass)))


def fit_gan(gan: TextGAN, images: np.ndarray, embeddings: np.ndarray, image_ids=None, *,
            epochs: int, batch_size: int = 64, steps_per_epoch: int | None = None,
            out_dir=None, sample_embeddings=None, sample_captions=None, num_noise: int = 4,
            tensorboard: bool = True, callbacks=(), seed: int = config.SEED,
            image_size: int | None = None, setup: dict | None = None, verbose="auto"):
    """Train ``gan`` (compiled) for ``epochs`` epochs, resumably. Taught in ``06_training``.

    With ``out_dir``, it writes

    * ``checkpoints/checkpoint.npz`` after every epoch whose losses and weights are finite
      (:class:`textgan_lib.callbacks.GANCheckpoint`); if one is there when ``fit_gan`` starts,
      training **resumes** after its epoch (weights, optimizer moments, seed-generator
      states and the position in :func:`training_stream` are restored, so the result is the
      same as an uninterrupted run); a finished run is not repeated, and more ``epochs``
      continue it;
    * ``samples/epoch_NNNN.png`` (fixed captions x fixed noise, from ``gan.sampler``) and
      ``samples/samples.gif`` at the end, if ``sample_embeddings`` is given
      (:class:`textgan_lib.callbacks.SampleGrid`);
    * ``logs/`` for TensorBoard (``tensorboard --logdir OUT/logs``), if ``tensorboard`` and
      the ``tensorboard`` package is installed (else a one-line note).

    Args:
        gan: a compiled :class:`TextGAN` (built under the strategy scope to distribute).
        images, embeddings, image_ids, batch_size, seed: see :func:`training_stream`.
        image_size: side the images are area-downsampled to (default: the generator's
            output side).
        epochs: index of the last epoch (as ``fit``'s ``epochs``), counted from the start.
        steps_per_epoch: steps per epoch, at most (default: one pass, ``N // batch_size``).
        out_dir: directory for checkpoints, samples and logs; ``None``: none of them (no
            resume).
        sample_embeddings: float32 (C, D) embeddings of fixed captions for the sample grid.
        sample_captions: their C captions (written to ``samples/captions.txt``).
        num_noise: rows of the sample grid (fixed noise vectors).
        callbacks: more Keras callbacks.
        setup: more facts that a resumed run must share with the checkpoint's (e.g. the data
            set's name); the number of images, seed, image size and the GAN's options
            (augmentation, EMA, penalty, loss, dtype policy) are always checked.
        verbose: passed to ``fit``.

    Returns:
        a ``keras.callbacks.History`` whose ``history`` holds *every* epoch so far (those of a
        resumed run's earlier processes included) and ``epoch`` their indices.

    Raises:
        textgan_lib.callbacks.NonFiniteLossError: a loss became NaN or infinite; training
            stopped in that epoch and the last good checkpoint is kept unchanged.
        ValueError: if a checkpoint in ``out_dir`` belongs to a different model or setup.
    """
    from .callbacks import GANCheckpoint, NonFiniteLossError, SampleGrid, StopOnNonFinite

    n = len(images)
    steps = epoch_steps(n, batch_size, steps_per_epoch)
    out_dir = Path(out_dir) if out_dir is not None else None
    if image_size is None:
        image_size = int(gan.generator.output.shape[1])
    checkpoint = None
    initial_epoch, past = 0, {}
    if out_dir is not None:
        fingerprint = {"num_images": n, "seed": seed, "image_size": image_size,
                       "augment": gan.augment_policy, "ema_decay": gan.ema_decay,
                       **({"ema_warmup": True} if gan.ema_warmup else {}),
                       "gradient_penalty": gan.gradient_penalty,
                       "penalty_weight": gan.penalty_weight, "loss": gan.loss_kind,
                       **({"reconstruction_weight": gan.reconstruction_weight}
                          if gan.reconstruction_weight else {}),
                       **({"matching_weight": gan.matching_weight}
                          if gan.matching_weight else {}),
                       "dtype_policy": keras.config.dtype_policy().name, **(setup or {})}
        checkpoint = GANCheckpoint(gan, out_dir / "checkpoints", steps_per_epoch=steps,
                                   batch_size=batch_size, setup=fingerprint)
        with gan.distribute_strategy.scope():
            state = checkpoint.restore()
        if state is not None:
            initial_epoch, past = int(state["epoch"]), state["history"]
            if verbose and initial_epoch >= epochs:
                print(f"[textgan] {checkpoint.path} has already trained {initial_epoch} epochs "
                      f"(>= {epochs}): nothing to train")
            elif verbose:
                print(f"[textgan] resuming from {checkpoint.path} after epoch {initial_epoch}")
    if initial_epoch >= epochs:
        history = keras.callbacks.History()
        history.history = {k: list(v) for k, v in past.items()}
        history.epoch = list(range(len(next(iter(past.values()), []))))
        return history

    dataset, _ = training_stream(images, embeddings, image_ids, batch_size=batch_size,
                                 seed=seed, start_step=initial_epoch * steps,
                                 image_size=image_size)
    stopper = StopOnNonFinite(checkpoint)
    all_callbacks = [stopper]
    if checkpoint is not None:
        all_callbacks.append(checkpoint)
    if out_dir is not None and sample_embeddings is not None:
        all_callbacks.append(SampleGrid(sample_embeddings, out_dir / "samples",
                                        captions=sample_captions, num_noise=num_noise,
                                        seed=seed))
    if out_dir is not None and tensorboard:
        if tensorboard_available():
            all_callbacks.append(keras.callbacks.TensorBoard(
                str(out_dir / "logs"), write_graph=False, profile_batch=0, update_freq="epoch"))
        elif verbose:
            print("[textgan] no TensorBoard logs: the `tensorboard` package is not installed "
                  "(pip install tensorboard)")
    all_callbacks += list(callbacks)
    history = gan.fit(dataset, epochs=epochs, initial_epoch=initial_epoch,
                      steps_per_epoch=steps, callbacks=all_callbacks, verbose=verbose,
                      shuffle=False)
    if stopper.message:
        raise NonFiniteLossError(stopper.message)
    merged = {k: list(past.get(k, [])) + [float(x) for x in v]
              for k, v in history.history.items()}
    history.history = merged
    history.epoch = list(range(len(next(iter(merged.values()), []))))
    return history


__all__ = ["TextGAN", "wrong_caption_pairs", "scores_examples_independently", "training_stream",
           "epoch_steps", "fit_gan", "tensorboard_available",
           "GRADIENT_PENALTIES", "GAN_LOSSES"]
