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
    gan = recipes.build_gan(recipes.EMOJI, 384, total_steps=100)
    assert "text_standardize" not in [layer.name for layer in gan.generator.layers]
    assert gan.augment_policy and repr(recipes.EMOJI) == before


def test_emoji_recipe_puts_the_caption_into_the_layout_and_adds_an_l1_term():
    gan = recipes.build_gan(recipes.EMOJI, 384, total_steps=100)
    names = [layer.name for layer in gan.generator.layers]
    assert "concat_text_z" in names and "up8_film" in names          # both ways in
    assert "conditioning_augmentation" not in names
    assert gan.reconstruction_weight == recipes.EMOJI["gan"]["reconstruction_weight"] > 0
    old = recipes.build_gan(recipes.EMOJI_PREVIOUS, 384)
    assert old.reconstruction_weight == 0.0
    assert "conditioning_augmentation" in [layer.name for layer in old.generator.layers]


def test_linear_decay_is_pix2pix_linear_policy():
    # steps 0..49 at lr0, then 1 - (t + 1 - 50) / 51: the last step (t = 99) at lr0 / 51
    lr = recipes.LinearDecay(1e-3, decay_start=50, total_steps=100)
    got = [float(lr(t)) for t in (0, 49, 50, 75, 99, 100, 500)]
    want = [1e-3, 1e-3, 1e-3 * (1 - 1 / 51), 1e-3 * (1 - 26 / 51), 1e-3 / 51, 0.0, 0.0]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    again = recipes.LinearDecay.from_config(lr.get_config())
    assert float(again(75)) == pytest.approx(float(lr(75)))
    for bad in ((1e-3, 100, 100), (1e-3, -1, 100), (0.0, 10, 100)):
        with pytest.raises(ValueError, match="LinearDecay needs"):
            recipes.LinearDecay(*bad)


def test_emoji_recipe_decays_over_the_last_40_percent_with_an_ema_warmup():
    schedule = recipes.learning_rate(recipes.EMOJI, total_steps=15600)     # 300 epochs
    assert schedule.decay_start == 9360 and schedule.total_steps == 15600
    assert float(schedule(9359)) == pytest.approx(6e-4)
    assert float(schedule(15599)) == pytest.approx(6e-4 / 6241, rel=1e-4)   # float32
    gan = recipes.build_gan(recipes.EMOJI, 384, total_steps=15600)
    assert gan.ema_decay == 0.999 and gan.ema_warmup


def test_recipe_learning_rate_constant_or_decaying():
    assert recipes.learning_rate(recipes.EMOJI_PREVIOUS) == pytest.approx(6e-4)
    decaying = {**recipes.EMOJI, "lr_decay_start": 0.5}
    schedule = recipes.learning_rate(decaying, total_steps=1000)
    assert isinstance(schedule, recipes.LinearDecay)
    assert schedule.decay_start == 500 and schedule.total_steps == 1000
    with pytest.raises(ValueError, match="total_steps"):
        recipes.learning_rate(decaying)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        recipes.learning_rate({**recipes.EMOJI, "lr_decay_start": 1.0}, total_steps=10)


def test_decaying_recipe_steps_both_optimizers_down():
    gan = recipes.build_gan({**recipes.EMOJI, "lr_decay_start": 0.0}, 384, total_steps=4)
    for opt in (gan.g_optimizer, gan.d_optimizer):
        assert float(opt.learning_rate) == pytest.approx(6e-4 * (1 - 1 / 5))  # step 0 decays
        opt.iterations.assign(2)
        assert float(opt.learning_rate) == pytest.approx(6e-4 * (1 - 3 / 5))
