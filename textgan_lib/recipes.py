"""The training recipes the course measured, in one place (bench, notebooks and CLI share them).

Taught in ``06_training``. Each recipe is a plain dict of the options of
:func:`~textgan_lib.models.build_generator`, :func:`~textgan_lib.models.build_discriminator`
and :class:`~textgan_lib.training.TextGAN`, plus the Adam learning rate and the batch size
(images per step; :func:`build_gan` does not use it, the data pipeline does). How each choice was
measured: ``bench/README.md`` (shapes) and README.md's pretrained-cascade section (emoji).
"""
from __future__ import annotations

import copy

import keras

#: Captioned shapes, 32 px: small networks and batch 32 (more steps per minute), FiLM +
#: conditioning augmentation in G, standardised caption embeddings, a 10x higher learning rate
#: than DCGAN's with an EMA generator, no augmentation (colour and translation would blur
#: exactly the attributes the caption names). With XLA it reaches 100 % colour and 92.6 % shape
#: accuracy on held-out captions in 9.2 minutes on 2 CPU cores (``bench/README.md``).
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
#: pix2pix L1 term beside the matching-aware adversarial loss (each caption has one image).
EMOJI = {
    "generator": {"fusion": "concat_film", "conditioning_augmentation": False},
    "discriminator": {"fusion": "concat"},
    "standardize_text": False,
    "learning_rate": 6e-4,
    "batch_size": 64,
    "gan": {"ema_decay": 0.99, "augment": "translation,cutout", "gradient_penalty": None,
            "loss": "bce", "reconstruction_weight": 10.0},
    # the x4 SR network (``models.build_superres``): EDSR-style, 64 channels, 5 residual blocks
    "superres": {"filters": 64, "num_blocks": 5},
}


def build_gan(recipe: dict, text_dim: int, text_stats=None, jit_compile="auto"):
    """A compiled :class:`~textgan_lib.training.TextGAN` made by ``recipe``.

    Args:
        recipe: :data:`SHAPES`, :data:`EMOJI` or a dict of the same form.
        text_dim: embedding length (384).
        text_stats: ``(mean, std)`` of the training captions' embeddings
            (:func:`~textgan_lib.models.blocks.text_statistics`); required when the recipe
            standardises text, ignored otherwise.
        jit_compile: passed to ``compile``.

    Raises:
        ValueError: if the recipe standardises text and ``text_stats`` is None.
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
    gan = TextGAN(generator, discriminator, **recipe["gan"])
    lr = recipe["learning_rate"]
    gan.compile(d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5), jit_compile=jit_compile)
    return gan


__all__ = ["SHAPES", "EMOJI", "EMOJI_PREVIOUS", "build_gan"]
