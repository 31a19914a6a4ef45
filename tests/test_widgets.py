"""The cascade demo driven from Python: typing a caption and pressing Generate changes the
images; bad input shows a message, never a traceback; interpolation and its helpers."""
from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from textgan_lib import widgets
from textgan_lib.cascade import Cascade
from textgan_lib.widgets import CaptionError, check_caption


@pytest.fixture(scope="module")
def cascade():
    """A tiny untrained cascade with the real text encoder (its images depend on the caption)."""
    from textgan_lib.models import build_generator, build_superres
    from textgan_lib.text import TextEncoder

    encoder = TextEncoder()
    generator = build_generator(encoder.dim, base_filters=8, text_features=16)
    return Cascade(generator, build_superres(filters=8, num_blocks=1), encoder=encoder)


@pytest.fixture()
def demo(cascade):
    return widgets.CascadeDemo(cascade, source="test: tiny", generate_now=False)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# --------------------------------------------------------------------------- captions
def test_check_caption_accepts_and_tidies_english_text():
    assert check_caption("  red   apple \n") == "red apple"
    assert check_caption("crème brûlée") == "crème brûlée"   # accented Latin is fine
    assert check_caption("face with 3 eyes!") == "face with 3 eyes!"


@pytest.mark.parametrize("caption, words", [
    ("", "empty"),
    ("   \n\t", "empty"),
    ("word " * 60, "299 characters long"),
    ("红色的苹果", "non-Latin script (cjk)"),
    ("красное яблоко", "non-Latin script (cyrillic)"),
    ("🍎", 'e.g. "red apple"'),
    ("a 🚓 at night", "emoji or symbols"),
    (None, "must be text, not NoneType"),
])
def test_check_caption_refuses_bad_input_with_a_reason(caption, words):
    with pytest.raises(CaptionError, match=words.replace("(", r"\(").replace(")", r"\)")):
        check_caption(caption)


def test_check_caption_counts_tokens_with_the_encoder(cascade):
    long = "xqzvw " * 30  # 180 characters but far more than 64 WordPiece tokens
    with pytest.raises(CaptionError, match=r"tokens long; the text encoder reads at most 64"):
        check_caption(long, encoder=cascade.encoder)
    assert check_caption("red apple", encoder=cascade.encoder) == "red apple"


# --------------------------------------------------------------------------- inference
def test_run_stages_matches_cascade_generate_and_times_each_stage(cascade):
    out = widgets.run_stages(cascade, "police car", seed=5, noise_scale=0.7)
    base, high = cascade.generate("police car", seed=5, noise_scale=0.7)
    np.testing.assert_allclose(out["base"], base, atol=1e-6)
    np.testing.assert_allclose(out["high"], high, atol=1e-6)
    assert out["embedding"].shape == (1, 384) and out["z"].shape == (1, cascade.z_dim)
    assert out["base"].shape == (1, 32, 32, 3) and out["high"].shape == (1, 128, 128, 3)
    assert out["high"].min() >= -1 and out["high"].max() <= 1
    assert set(out["seconds"]) == {"text", "noise", "base", "superres"}
    assert all(s >= 0 for s in out["seconds"].values())
    np.testing.assert_allclose(np.linalg.norm(out["z"]) / np.linalg.norm(widgets.noise(5)), 0.7,
                               rtol=1e-5)


def test_render_and_noise_validate_their_inputs(cascade):
    with pytest.raises(ValueError, match="same B"):
        widgets.render(cascade, np.zeros((2, 384)), np.zeros((3, cascade.z_dim)))
    with pytest.raises(ValueError, match="finite number >= 0"):
        widgets.noise(0, scale=-1.0)


# --------------------------------------------------------------------------- the demo widget
def test_typing_a_caption_and_pressing_generate_changes_the_image(demo):
    demo.caption.value = "red apple"
    demo.button.click()
    first_high, first_base = demo.high_image.value, demo.base_image.value
    assert pixels(first_high).shape == (128, 128, 3)
    assert pixels(first_base).shape == (128, 128, 3)   # 32 px shown 4x by pixel repetition
    assert (pixels(first_base)[::4, ::4] == pixels(first_base)[3::4, 3::4]).all()
    assert "red apple" in demo.title.value and "Done in" in demo.status.value

    demo.caption.value = "police car"
    demo.button.click()
    second = pixels(demo.high_image.value)
    changed = (second != pixels(first_high)).any(axis=-1).mean()
    assert changed > 0.1, f"only {changed:.1%} of the pixels changed with the caption"
    assert "police car" in demo.title.value

    demo.caption.value = "red apple"   # the same caption and seed draw the same image again
    demo.button.click()
    assert np.array_equal(pixels(demo.high_image.value), pixels(first_high))


def test_seed_and_noise_scale_control_the_noise(demo):
    assert demo.generate("owl")
    seed0 = pixels(demo.high_image.value)
    demo.seed.value = 7
    assert demo.generate()
    assert not np.array_equal(pixels(demo.high_image.value), seed0)
    demo.noise_scale.value = 0.0       # z = 0: every seed gives the same image
    demo.generate()
    zero7 = pixels(demo.high_image.value)
    demo.seed.value = 8
    demo.generate()
    assert np.array_equal(pixels(demo.high_image.value), zero7)
    assert np.abs(demo.last["z"]).max() == 0.0


def test_picking_an_example_fills_the_caption(demo):
    demo.examples.value = "police car"
    assert demo.caption.value == "police car"
    demo.examples.value = "(pick an example)"
    assert demo.caption.value == "police car"


@pytest.mark.parametrize("caption, words", [
    ("", "The caption is empty"),
    ("a" * 250, "250 characters long"),
    ("红色的苹果", "English"),
    ("🍎🍏", "red apple"),
])
def test_bad_input_shows_a_message_and_keeps_the_image(demo, caption, words):
    assert demo.generate("grinning face")
    before = demo.high_image.value
    demo.caption.value = caption
    demo.button.click()                     # must not raise
    assert words in demo.status.value
    assert "Traceback" not in demo.status.value and "color:#b00020" in demo.status.value
    assert words in demo.message and "<" not in demo.message
    assert demo.high_image.value == before


def test_an_unexpected_error_is_a_message_not_a_traceback(cascade):
    class BrokenGenerator:
        inputs = [None, SimpleNamespace(shape=(None, 128))]   # what Cascade.z_dim reads

        def predict(self, *args, **kwargs):
            raise RuntimeError("the generator exploded")

    broken = Cascade(BrokenGenerator(), cascade.superres, encoder=cascade.encoder)
    demo = widgets.CascadeDemo(broken, generate_now=False)
    assert demo.generate("red apple") is False
    assert "RuntimeError: the generator exploded" in demo.status.value
    assert demo.high_image.value == b"" and demo.last is None
    assert demo.button.disabled is False   # usable again after the failure


def test_the_widget_shows_where_the_cascade_came_from(demo):
    html = demo.widget.children[-1].value
    assert "cascade: test: tiny" in html
    classes = {c for child in demo.widget.children for c in getattr(child, "_dom_classes", ())}
    assert {"textgan-caption", "textgan-generate", "textgan-status"} <= classes


# --------------------------------------------------------------------------- interpolation
def test_slerp_keeps_the_norm_and_hits_both_ends():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(128), rng.standard_normal(128)
    np.testing.assert_allclose(widgets.slerp(a, b, 0.0), a, atol=1e-5)
    np.testing.assert_allclose(widgets.slerp(a, b, 1.0), b, atol=1e-5)
    b = b * np.linalg.norm(a) / np.linalg.norm(b)          # equal lengths: slerp keeps it
    expected = np.linalg.norm(a)
    for t in (0.25, 0.5, 0.8):
        np.testing.assert_allclose(np.linalg.norm(widgets.slerp(a, b, t)), expected, rtol=1e-5)
    assert np.linalg.norm(widgets.lerp(a, b, 0.5)) < 0.8 * expected  # lerp shrinks z
    unit = widgets.interpolate(a / np.linalg.norm(a), b / np.linalg.norm(b), steps=5)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(widgets.slerp(a, 2 * a, 0.5), 1.5 * a, rtol=1e-5)  # parallel: lerp
    with pytest.raises(ValueError, match="at least the two end points"):
        widgets.interpolate(a, b, steps=1)


def test_caption_and_noise_interpolation_strips(cascade):
    emb, z = widgets.interpolation_inputs(cascade, "red apple", "police car", "caption", steps=4)
    ends = cascade.encoder.encode(["red apple", "police car"])
    np.testing.assert_allclose(emb[[0, -1]], ends, atol=1e-5)
    assert np.array_equal(z[0], z[-1]) and emb.shape == (4, 384)
    emb, z = widgets.interpolation_inputs(cascade, "owl", mode="noise", seed_a=1, seed_b=2,
                                          steps=3)
    np.testing.assert_allclose(z[[0, -1]], np.concatenate([widgets.noise(1), widgets.noise(2)]),
                               atol=1e-5)
    assert np.array_equal(emb[0], emb[-1])


def test_interpolation_slider_swaps_the_picture(cascade):
    demo = widgets.InterpolationDemo(cascade, "red apple", "police car", steps=3)
    start = demo.image.value
    _, high = cascade.generate("red apple", seed=0)
    np.testing.assert_allclose(demo.images[0], high[0], atol=1e-5)
    demo.slider.value = 1.0
    assert demo.image.value != start and "step 3 of 3" in demo.label.value
    with pytest.raises(CaptionError, match="empty"):
        widgets.InterpolationDemo(cascade, "red apple", "", steps=3)


def test_nearest_captions_ranks_by_cosine():
    table = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    got = widgets.nearest_captions(np.array([[0.0, 2.0]]), table, ["a", "b", "c"], k=2)
    assert [c for c, _ in got[0]] == ["b", "c"]
    np.testing.assert_allclose([s for _, s in got[0]], [1.0, 0.8])
