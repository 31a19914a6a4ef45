"""The measured recipes build what they say."""
import numpy as np
import pytest

from textgan_lib import recipes
from textgan_lib.models.blocks import text_statistics


def test_shapes_recipe_builds_small_standardising_networks():
    stats = text_statistics(np.random.default_rng(0).normal(size=(10, 384)))
    gan = recipes.build_gan(recipes.SHAPES, 384, text_stats=stats)
    names = [layer.name for layer in gan.generator.layers]
    assert "text_standardize" in names and "conditioning_augmentation" in names
    assert "text_standardize" in [layer.name for layer in gan.discriminator.layers]
    assert gan.ema_decay == 0.99 and gan.ema_generator is not None
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(2e-3)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(2e-3)
    assert recipes.SHAPES["batch_size"] == 32 and recipes.EMOJI["batch_size"] == 64
    assert gan.generator.get_layer("to_rgb").kernel.shape == (3, 3, 16, 3)   # base_filters 16


def test_standardising_recipe_needs_statistics():
    with pytest.raises(ValueError, match="text_stats"):
        recipes.build_gan(recipes.SHAPES, 384)


def test_emoji_recipe_does_not_standardise_and_recipes_are_not_mutated():
    before = repr(recipes.EMOJI)
    gan = recipes.build_gan(recipes.EMOJI, 384)
    assert "text_standardize" not in [layer.name for layer in gan.generator.layers]
    assert gan.augment_policy and repr(recipes.EMOJI) == before


def test_emoji_recipe_puts_the_caption_into_the_layout_and_adds_an_l1_term():
    gan = recipes.build_gan(recipes.EMOJI, 384)
    names = [layer.name for layer in gan.generator.layers]
    assert "concat_text_z" in names and "up8_film" in names          # both ways in
    assert "conditioning_augmentation" not in names
    assert gan.reconstruction_weight == recipes.EMOJI["gan"]["reconstruction_weight"] > 0
    old = recipes.build_gan(recipes.EMOJI_PREVIOUS, 384)
    assert old.reconstruction_weight == 0.0
    assert "conditioning_augmentation" in [layer.name for layer in old.generator.layers]
