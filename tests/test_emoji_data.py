"""Tests for textgan_lib.data.emoji: the captioned emoji image set built from Noto Color Emoji."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from textgan_lib.data import EmojiSet, load_emoji, split_key, split_of
from textgan_lib.data import emoji as emoji_data


@pytest.fixture(scope="session")
def full() -> EmojiSet:
    """The whole set from the shared cache (built on first use, then about a second)."""
    return load_emoji()


@pytest.fixture(scope="session")
def train() -> EmojiSet:
    return load_emoji("train")


@pytest.fixture(scope="session")
def val() -> EmojiSet:
    return load_emoji("val")


def _non_white(image: np.ndarray) -> np.ndarray:
    """(M, 3) float pixels of an image that are not (nearly) white."""
    pixels = image.reshape(-1, 3).astype(np.float64)
    return pixels[(pixels < 240).any(axis=1)]


def test_size_shape_and_dtype(full):
    n = len(full)
    assert n >= 3500
    assert full.images.shape == (n, 128, 128, 3)
    assert full.images.dtype == np.uint8
    assert len(full.captions) == len(full.chars) == n
    assert full.image_ids.dtype == np.int64
    np.testing.assert_array_equal(full.image_ids, np.arange(n))


def test_no_blank_images(full):
    stds = [image.std() for image in full.images]  # one image at a time: little memory
    assert min(stds) >= emoji_data.BLANK_STD
    # and every image really draws something: at least 2 % of its pixels are not white
    non_white = (full.images < 240).any(axis=-1).mean(axis=(1, 2))
    assert non_white.min() > 0.02


def test_no_duplicate_images_or_captions(full):
    hashes = {hashlib.sha1(image.tobytes()).hexdigest() for image in full.images}
    assert len(hashes) == len(full)
    assert len(set(full.captions)) == len(full)
    assert len(set(full.chars)) == len(full)


def test_captions_are_cldr_names(full):
    captions = set(full.captions)
    for caption in ["red apple", "grinning face", "France", "keycap #",
                    "waving hand medium skin tone"]:
        assert caption in captions
    assert all(":" not in c and "_" not in c and c == c.strip() for c in full.captions)
    assert full.chars[full.captions.index("red apple")] == "\U0001F34E"
    assert full.chars[full.captions.index("France")] == "\U0001F1EB\U0001F1F7"
    # stored in alphabetical order of captions
    assert full.captions == sorted(full.captions)


def test_shared_image_keeps_shortest_caption(full):
    # 🇫🇷 and 🇨🇵 share one flag picture in the font; the shorter name is kept.
    assert "France" in full.captions
    assert "Clipperton Island" not in full.captions


def test_red_apple_is_red(full):
    apple = full.images[full.captions.index("red apple")]
    pixels = _non_white(apple)
    assert len(pixels) > 0.3 * 128 * 128  # the apple fills a good part of the picture
    red, green, blue = pixels.mean(axis=0)
    assert red > green + 50
    assert red > blue + 50


def test_corners_are_white(full):
    corners = np.concatenate([full.images[:, :3, :3], full.images[:, :3, -3:],
                              full.images[:, -3:, :3], full.images[:, -3:, -3:]], axis=1)
    assert (corners == 255).all()


def test_split_of_known_values():
    assert split_of("red apple") == "val"
    assert split_of("grinning face") == "val"
    assert split_of("France") == "train"
    assert split_of("pile of poo") == "train"
    assert split_of("France", val_percent=50) == "val"
    assert split_of("pile of poo", val_percent=0) == "train"
    assert split_of("pile of poo", val_percent=100) == "val"
    with pytest.raises(ValueError):
        split_of("red apple", val_percent=101)


def test_split_of_uses_sha1_of_the_split_key(full):
    for caption in full.captions[::50]:
        digest = hashlib.sha1(split_key(caption).encode("utf-8")).digest()
        bucket = int.from_bytes(digest[:8], "big") % 100
        assert split_of(caption) == ("val" if bucket < 10 else "train")
        assert split_of(caption) == split_of(caption)


def test_split_key_drops_skin_tones_only():
    assert split_key("man superhero medium-light skin tone") == "man superhero"
    assert split_key("couple with heart woman man dark skin tone medium-light skin tone") == \
        "couple with heart woman man"
    assert split_key("person medium-dark skin tone curly hair") == "person curly hair"
    assert split_key("dark sunglasses") == "dark sunglasses"
    assert split_of("man superhero medium-light skin tone") == split_of("man superhero")


def test_no_validation_caption_is_a_recoloured_training_image(train, val):
    """Skin-tone variants share a drawing: they must all be on one side of the split."""
    assert not {split_key(c) for c in train.captions} & {split_key(c) for c in val.captions}


def test_train_val_split(full, train, val):
    assert not set(train.captions) & set(val.captions)
    assert sorted(train.captions + val.captions) == sorted(full.captions)
    assert 0.07 <= len(val) / len(full) <= 0.13
    assert all(split_of(c) == "train" for c in train.captions)
    assert all(split_of(c) == "val" for c in val.captions)


def test_image_ids_survive_splitting(full, val):
    assert len(set(val.image_ids.tolist())) == len(val)
    for i in range(0, len(val), 37):
        j = val.image_ids[i]
        assert val.captions[i] == full.captions[j]
        assert val.chars[i] == full.chars[j]
        np.testing.assert_array_equal(val.images[i], full.images[j])


def test_max_images_keeps_first_n(train):
    first = load_emoji("train", max_images=5)
    assert len(first) == 5
    assert first.captions == train.captions[:5]
    np.testing.assert_array_equal(first.image_ids, train.image_ids[:5])
    np.testing.assert_array_equal(first.images, train.images[:5])
    assert len(load_emoji(max_images=0)) == 0


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="split"):
        load_emoji("bogus")
    with pytest.raises(ValueError, match="max_images"):
        load_emoji(max_images=-1)


def test_font_path_exists():
    path = emoji_data.font_path()
    assert path.name == "NotoColorEmoji.ttf"
    assert path.is_file()


def test_unreadable_cache_is_rebuilt_identically(full, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TEXTGAN_CACHE_DIR", str(tmp_path))
    (tmp_path / emoji_data.CACHE_NAME).write_bytes(b"not a zip file")

    rebuilt = load_emoji()  # the broken cache must be detected and rebuilt
    assert "Building" in capsys.readouterr().out
    np.testing.assert_array_equal(rebuilt.images, full.images)
    assert rebuilt.captions == full.captions
    assert rebuilt.chars == full.chars

    cached = load_emoji()  # now read back from the new cache, without building
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(cached.images, full.images)
    assert cached.captions == full.captions
    assert list(tmp_path.iterdir()) == [tmp_path / emoji_data.CACHE_NAME]  # no temp files left


def test_missing_font_raises_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(emoji_data.config, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="NotoColorEmoji.ttf"):
        emoji_data.font_path()
