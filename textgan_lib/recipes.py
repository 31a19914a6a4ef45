"""The training recipes the course measured, in one place (bench, notebooks and CLI share them).

Taught in ``06_training``. Each recipe is a plain dict of the options of
:func:`~textgan_lib.models.build_generator`, :func:`~textgan_lib.models.build_discriminator`
and :class:`~textgan_lib.training.TextGAN`, plus the Adam learning rate and the batch size
(images per step; :func:`build_gan` does not use it, the data pipeline does). A recipe may add
``"lr_decay_start"``: the fraction of the run after which the learning rate decays linearly
towards zero (pix2pix's ``linear`` policy, :class:`LinearDecay`); ``bench/emoji_recipe.py
--set lr_decay_start=0.5`` measures it. A recipe may also set ``gan.matching_weight`` (AttnGAN's
DAMSM sentence loss, :mod:`textgan_lib.matching`) with a ``"matching"`` part (the encoders'
pre-training options); measured, it hurt at 1,248 steps and no shipped recipe uses it
(``bench/README.md``). How each choice was
measured: ``bench/README.md`` (shapes) and README.md's pretrained-cascade section (emoji).
"""
from __future__ import annotations

import copy

import keras

#: Captioned shapes, 32 px: small networks and batch 32 (more steps per minute), FiLM +
#: conditioning augmentation in G, standardised caption embeddings, a 10x higher learning rate
#: than DCGAN's with an EMA generator, no augmentation (colour and translation would blur
#: exactly the attributes the caption names). It reaches 100 % colour and 92.8 % shape accuracy
#: on held-out captions after 4,000 steps, 2.5 minutes on 2 CPU cores in mixed_bfloat16
#: (float32 with XLA, on 2026-11-30: 92.6 % in 9.2 minutes; ``bench/README.md``).
SHAPES = {
    "generator": {"base_filters": 16, "fusion": "film", "conditioning_augmentation": True},
    "discriminator": {"base_filters": 16, "fusion": "concat"},
    "standardize_text": True,
    "learning_rate": 2e-3,
    "batch_size": 32,
    "gan": {"ema_decay": 0.99, "augment": "", "gradient_penalty": None, "loss": "bce"},
}

#: Emoji, 32 px base: the previous pretrained cascade's base GAN (wave 1; kept as the baseline
#: ``data/pretrained/previous``): FiLM + conditioning augmentation, no reconstruction term.
EMOJI_PREVIOUS = {
    "generator": {"fusion": "film", "conditioning_augmentation": True},
    "discriminator": {"fusion": "concat"},
    "standardize_text": False,
    "learning_rate": 6e-4,
    "batch_size": 64,
    "gan": {"ema_decay": 0.99, "augment": "translation,cutout", "gradient_penalty": None,
            "loss": "bce"},
}


#: Emoji, 32 px base: the shipped cascade's base GAN (``data/pretrained``). The caption enters
#: twice (concatenated with z before the 4x4 projection, and modulating every block); no
#: conditioning augmentation (its sampled code drowns a caption that has a single image); a
#: pix2pix L1 term beside the matching-aware adversarial loss (each caption has one image);
#: G and D with 48 filters (1.5x the default width, about 2.25x the convolutions' work): over
#: 300 epochs R@1 0.660 / 0.371 against 0.590 / 0.333 with 32 filters (``bench/README.md``).
EMOJI = {
    "generator": {"fusion": "concat_film", "conditioning_augmentation": False, "base_filters": 48},
    "discriminator": {"fusion": "concat", "base_filters": 48},
    "standardize_text": False,
    "learning_rate": 6e-4,
    "batch_size": 64,
    # EMA 0.999: the sampler averages G over about 1,000 steps (BigGAN and StyleGAN average far
    # longer still); the EMA never feeds back into training. Its warm-up (TextGAN's
    # ``ema_warmup``) keeps a short course-mode run from sampling with G's initial weights.
    "gan": {"ema_decay": 0.999, "ema_warmup": True, "augment": "translation,cutout",
            "gradient_penalty": None, "loss": "bce", "reconstruction_weight": 10.0},
    # the x4 SR network (``models.build_superres``): EDSR-style, 64 channels, 5 residual blocks
    "superres": {"filters": 64, "num_blocks": 5},
    # the pix2pix code's linear policy: the learning rate is constant for the first 60 % of the
    # steps, then falls linearly towards zero (:class:`LinearDecay`)
    "lr_decay_start": 0.6,
}


#: Emoji, the diffusion cascade of ``09_real_imagen`` (:mod:`textgan_lib.diffusion_cascade`):
#: a 32 px base U-Net (766k parameters) and a fully convolutional SR U-Net trained on 32 px
#: crops of the 128 px images (8 px of low res), both text-conditioned, the cosine schedule
#: with T = 1000, 10 % of captions dropped for classifier-free guidance (Imagen's rate), EMA
#: weights for sampling. The SR stage's low-res input is noise-augmented at a random step in
#: [0, aug_max) in training and at ``sample_aug_level`` when sampling. ``epochs`` per run mode
#: (of ``steps_per_epoch`` steps; smoke mode caps steps per epoch at its config's 4).
DIFFUSION_EMOJI = {
    "base": {"base_filters": 32, "multipliers": [1, 2, 2]},
    "superres": {"base_filters": 32, "multipliers": [1, 2, 2]},
    "num_steps": 1000,
    "drop_prob": 0.1,
    "ema_decay": 0.999,
    "learning_rate": 1e-3,
    "batch_size": 64,
    "steps_per_epoch": 250,
    "crop": 32,
    "aug_max": 250,
    "sample_aug_level": 50,
    "guidance": 3.0,
    "sampling_steps": 50,
    "sr_sampling_steps": 20,
    "threshold": "dynamic",
    "epochs": {"smoke": {"base": 1, "superres": 1}, "course": {"base": 2, "superres": 1},
               "full": {"base": 24, "superres": 10}},
}


@keras.saving.register_keras_serializable(package="textgan")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """pix2pix's ``linear`` learning-rate policy, per optimizer step: constant for the first
    ``decay_start`` steps, then linearly down towards zero at ``total_steps``:
    ``lr(t) = lr0 * (1 - max(0, t + 1 - decay_start) / (total_steps - decay_start + 1))``
    for the optimizer step t = 0, 1, ...: exactly ``decay_start`` steps at ``lr0``, then a
    linear decay whose last step (t = total_steps - 1) runs at ``lr0 / (total_steps -
    decay_start + 1)``. This is the authors' ``get_scheduler`` rule (pytorch-CycleGAN-and-pix2pix,
    ``1 - max(0, epoch + epoch_count - n_epochs) / (n_epochs_decay + 1)``, epoch_count = 1)
    counted in steps instead of epochs. The step is the optimizer's ``iterations``, which a
    checkpoint stores, so a resumed run continues the same schedule.

    Raises:
        ValueError: unless ``0 <= decay_start < total_steps`` and ``initial_learning_rate > 0``.
    """

    def __init__(self, initial_learning_rate: float, decay_start: int, total_steps: int):
        if not 0 <= int(decay_start) < int(total_steps) or not float(initial_learning_rate) > 0:
            raise ValueError("LinearDecay needs initial_learning_rate > 0 and "
                             f"0 <= decay_start < total_steps, got {initial_learning_rate}, "
                             f"{decay_start}, {total_steps}.")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_start = int(decay_start)
        self.total_steps = int(total_steps)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        past = keras.ops.maximum(0.0, step + 1.0 - self.decay_start)
        factor = 1.0 - past / float(self.total_steps - self.decay_start + 1)
        return self.initial_learning_rate * keras.ops.maximum(factor, 0.0)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_start": self.decay_start, "total_steps": self.total_steps}


def learning_rate(recipe: dict, total_steps: int | None = None):
    """The recipe's Adam learning rate: the float ``recipe["learning_rate"]``, or, when the
    recipe sets ``"lr_decay_start"`` (a fraction f of the run in [0, 1)), a :class:`LinearDecay`
    that keeps it for the first ``f * total_steps`` steps and then decays it linearly.

    Raises:
        ValueError: if the recipe decays and ``total_steps`` is None or < 1, or f is not in [0, 1).
    """
    lr = float(recipe["learning_rate"])
    start = recipe.get("lr_decay_start")
    if start is None:
        return lr
    if not 0.0 <= float(start) < 1.0:
        raise ValueError(f"lr_decay_start must be a fraction in [0, 1), got {start}.")
    if total_steps is None or int(total_steps) < 1:
        raise ValueError("this recipe decays its learning rate: pass total_steps= (the run's "
                         "number of optimizer steps).")
    return LinearDecay(lr, int(float(start) * int(total_steps)), int(total_steps))


def build_gan(recipe: dict, text_dim: int, text_stats=None, jit_compile="auto",
              total_steps: int | None = None, matching_encoders=None):
    """A compiled :class:`~textgan_lib.training.TextGAN` made by ``recipe``.

    Args:
        recipe: :data:`SHAPES`, :data:`EMOJI` or a dict of the same form.
        text_dim: embedding length (384).
        text_stats: ``(mean, std)`` of the training captions' embeddings
            (:func:`~textgan_lib.models.blocks.text_statistics`); required when the recipe
            standardises text, ignored otherwise.
        jit_compile: passed to ``compile``.
        total_steps: the run's number of steps; needed only by a recipe with
            ``"lr_decay_start"`` (:func:`learning_rate`).
        matching_encoders: ``(image_encoder, text_encoder)`` of
            :func:`textgan_lib.matching.train_matching_encoder`; needed only by a recipe whose
            ``"gan"`` part sets ``matching_weight`` (AttnGAN's DAMSM sentence loss).

    Raises:
        ValueError: if the recipe standardises text and ``text_stats`` is None, or decays its
            learning rate and ``total_steps`` is missing.
    """
    from .models import build_discriminator, build_generator
    from .training import TextGAN

    recipe = copy.deepcopy(recipe)
    stats = None
    if recipe.get("standardize_text"):
        if text_stats is None:
            raise ValueError("this recipe standardises caption embeddings: pass text_stats="
                             "models.blocks.text_statistics(training_embeddings).")
        stats = text_stats
    generator = build_generator(text_dim, text_stats=stats, **recipe["generator"])
    discriminator = build_discriminator(text_dim, text_stats=stats, **recipe["discriminator"])
    extra = {"matching_encoders": matching_encoders} if recipe["gan"].get("matching_weight") else {}
    gan = TextGAN(generator, discriminator, **recipe["gan"], **extra)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate(recipe, total_steps), beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(learning_rate(recipe, total_steps), beta_1=0.5),
                jit_compile=jit_compile)
    return gan


__all__ = ["SHAPES", "EMOJI", "EMOJI_PREVIOUS", "DIFFUSION_EMOJI", "LinearDecay", "learning_rate", "build_gan"]
