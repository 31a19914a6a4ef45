"""The captioned emoji image set: every emoji of Noto Color Emoji with its English CLDR name.

Taught in ``00_overview``.

Each example is one (image, caption) pair, for instance the picture of 🍎 with the caption
``"red apple"``. The set is built once from the shipped font ``data/NotoColorEmoji.ttf``
(SIL Open Font License, see ``data/OFL.txt``) and cached as ``emoji_v2_emoji<version>.npz`` in
:func:`textgan_lib.config.cache_dir`; later calls only load the cache (about a second).

How the set is built:

1. **Captions.** The ``emoji`` package lists every emoji with its English CLDR name, e.g.
   ``":red_apple:"``. We keep only *fully-qualified* emoji (the form keyboards send; the other
   forms draw the same picture), strip the colons and turn underscores into spaces.
2. **Glyphs.** HarfBuzz (``uharfbuzz``) shapes each emoji string with the font, exactly as a
   browser would: ZWJ sequences (👩‍🚀), flags, skin tones and keycaps are merged into one glyph
   by the font's GSUB rules. We accept an emoji only if shaping gives exactly one real glyph
   (not glyph 0, ``.notdef``); newer emoji that this font version cannot draw are dropped.
3. **Images.** The colour bitmap of that glyph is a PNG stored in the font's ``CBDT`` table
   (about 136x128 pixels, with transparency). We composite it on a **white** background, pad it
   to a square with white (centred) and resize it to 128x128 with a Lanczos filter.
4. **Cleaning.** We drop blank images (see :data:`BLANK_STD`), repeated captions and exact
   duplicate images (same uint8 bytes). Several emoji can share one picture (🇫🇷 "France" and
   🇨🇵 "Clipperton Island"; 🏂 "snowboarder" with and without a skin tone); we keep the
   *shortest* caption, ties broken alphabetically, so the choice is fixed and usually the most
   common name. The kept pairs are stored sorted by caption.
5. **Split.** :func:`split_of` puts about 10 % of the captions in a validation split, decided
   by a SHA-1 hash of the caption without its skin-tone phrases (:func:`split_key`), so the
   split never changes between runs or machines and all skin-tone variants of one emoji fall
   on the same side: a validation caption is never a recoloured training image.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import emoji  # the third-party ``emoji`` package (names and status of every emoji)
import numpy as np
import uharfbuzz as hb
from fontTools.ttLib import TTFont
from PIL import Image

from .. import config

#: Side of every image, in pixels (``config.HIGH_SIZE``).
IMAGE_SIZE = config.HIGH_SIZE
#: File name of the cache inside :func:`textgan_lib.config.cache_dir`.
CACHE_NAME = f"emoji_v2_emoji{emoji.__version__}.npz"
#: Percentage of captions that go to the validation split.
VAL_PERCENT = 10
#: Blank rule: an image whose pixel standard deviation (over all pixels and channels, uint8
#: scale 0..255) is below this value is (nearly) one flat colour, e.g. all white, and is dropped.
BLANK_STD = 2.0
#: The accepted values of ``split`` in :func:`load_emoji`.
SPLITS = ("all", "train", "val")

_WHITE = (255, 255, 255)
_CACHE_KEYS = ("images", "captions", "chars", "split")


@dataclass(frozen=True, eq=False)
class EmojiSet:
    """Emoji images with their captions (all three lists are aligned: row ``i`` is one pair).

    Attributes:
        images: ``uint8`` array of shape ``(N, 128, 128, 3)`` (NHWC), RGB values in
            ``0..255``, the emoji drawn on a white background.
        captions: ``N`` English CLDR names, e.g. ``"red apple"``; all distinct.
        chars: ``N`` emoji strings, e.g. ``"🍎"`` (one or more code points each).

    ``image_ids`` (a property) gives each row's index in the full set, so it survives
    :func:`load_emoji`'s ``split`` and ``max_images``: two examples show the same image exactly
    when their ids are equal. ``EmojiSet(images, captions, chars)`` numbers the rows 0..N-1.

    Raises:
        ValueError: if ``captions``, ``chars`` (or the ids) do not have one entry per image.
    """

    images: np.ndarray
    captions: list[str]
    chars: list[str]
    _image_ids: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = len(self.images)
        if len(self.captions) != n or len(self.chars) != n:
            raise ValueError(
                f"EmojiSet needs as many captions ({len(self.captions)}) and chars "
                f"({len(self.chars)}) as images ({n}).")
        ids = np.arange(n) if self._image_ids is None else self._image_ids
        ids = np.asarray(ids, dtype=np.int64)
        if ids.shape != (n,):
            raise ValueError(f"image ids must have shape ({n},), got {ids.shape}.")
        object.__setattr__(self, "_image_ids", ids)  # frozen dataclass: set once, here

    @property
    def image_ids(self) -> np.ndarray:
        """``int64`` array of shape ``(N,)``: each image's index in the full emoji set."""
        return self._image_ids

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (f"EmojiSet({len(self)} pairs, images {self.images.dtype}"
                f"{tuple(self.images.shape)}, first caption {self.captions[:1]})")


def font_path() -> Path:
    """Path of the shipped font, ``data/NotoColorEmoji.ttf``.

    Raises:
        FileNotFoundError: if the font file is not there.
    """
    path = config.DATA_DIR / "NotoColorEmoji.ttf"
    if not path.is_file():
        raise FileNotFoundError(
            f"The emoji font is missing: expected {path}. It ships with the course repository "
            "(Noto Color Emoji, https://github.com/googlefonts/noto-emoji); restore it with "
            "`git checkout -- data/NotoColorEmoji.ttf`.")
    return path


#: The five Fitzpatrick skin-tone phrases of CLDR names ("... medium-dark skin tone").
_SKIN_TONE = re.compile(r"\s*\b(?:light|medium-light|medium|medium-dark|dark) skin tone\b")


def split_key(caption: str) -> str:
    """The caption without its skin-tone phrases: the key that decides the split.

    ``"man superhero medium-light skin tone"`` -> ``"man superhero"``. Skin-tone variants are
    the same drawing in another colour, so they must all land on the same side of the split;
    otherwise a "validation" caption would be a near-copy of a training image.
    """
    return " ".join(_SKIN_TONE.sub("", caption).split())


def split_of(caption: str, val_percent: int = VAL_PERCENT) -> str:
    """Return ``"val"`` or ``"train"`` for a caption, the same on every run and machine.

    The first 8 bytes of the SHA-1 digest of the UTF-8 :func:`split_key` of the caption (the
    caption without skin-tone phrases), read as a big-endian integer, modulo 100: below
    ``val_percent`` means validation. (Python's built-in ``hash()`` is not used: it changes
    from one run to the next.)

    Raises:
        ValueError: if ``val_percent`` is not between 0 and 100.
    """
    if not 0 <= val_percent <= 100:
        raise ValueError(f"val_percent must be between 0 and 100, got {val_percent}.")
    digest = hashlib.sha1(split_key(caption).encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    return "val" if bucket < val_percent else "train"


def load_emoji(split: str = "all", max_images: int | None = None,
               rebuild: bool = False) -> EmojiSet:
    """Load the captioned emoji set, building the cache first if needed.

    Args:
        split: ``"all"`` (every pair), ``"train"`` (about 90 %) or ``"val"`` (about 10 %);
            see :func:`split_of`.
        max_images: keep only the first ``max_images`` pairs of the split (always the same
            ones); ``None`` keeps all.
        rebuild: build the cache again even if it exists.

    Returns:
        An :class:`EmojiSet`: ``images`` is ``uint8`` ``(N, 128, 128, 3)`` in ``0..255``;
        ``image_ids`` index the full set, so they stay meaningful after splitting.

    Raises:
        ValueError: if ``split`` is not one of ``"all"``, ``"train"``, ``"val"``, or
            ``max_images`` is negative.
        FileNotFoundError: if the cache must be built and the font is missing.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}; got {split!r}.")
    if max_images is not None and max_images < 0:
        raise ValueError(f"max_images must be None or >= 0, got {max_images}.")

    data = None if rebuild else _read_cache(_cache_path())
    if data is None:
        data = _build_and_cache()

    n = len(data["images"])
    ids = np.arange(n) if split == "all" else np.flatnonzero(data["split"] == split)
    ids = ids[:max_images]
    images = data["images"] if len(ids) == n else data["images"][ids]
    return EmojiSet(images=images,
                    captions=[str(c) for c in data["captions"][ids]],
                    chars=[str(c) for c in data["chars"][ids]],
                    _image_ids=ids)


# --------------------------------------------------------------------------------------------
# Building the set (runs once; the result is cached).
# --------------------------------------------------------------------------------------------

def _cache_path() -> Path:
    return config.cache_dir() / CACHE_NAME


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or ``None`` if the cache is missing, unreadable or inconsistent."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {key: npz[key] for key in _CACHE_KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    n = len(data["images"])
    ok = (data["images"].dtype == np.uint8
          and data["images"].shape[1:] == (IMAGE_SIZE, IMAGE_SIZE, 3)
          and all(len(data[key]) == n for key in _CACHE_KEYS))
    return data if ok else None


def _build_and_cache() -> dict[str, np.ndarray]:
    """Build the set from the font and write it atomically to the cache."""
    print("Building the emoji image set from NotoColorEmoji.ttf (once) ...", end=" ", flush=True)
    start = time.perf_counter()
    data, skipped = _build()
    path = _cache_path()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:  # write then rename, so a half-written cache is never read
        np.savez_compressed(f, **data)
    os.replace(tmp, path)
    print(f"{len(data['images'])} pairs in {time.perf_counter() - start:.0f} s "
          f"(skipped: {skipped}) -> {path}")
    return data


def caption_of(name: str) -> str:
    """Turn an ``emoji`` package name into a caption: ``":red_apple:"`` -> ``"red apple"``."""
    return name.strip(":").replace("_", " ")


def _candidates() -> list[tuple[str, str]]:
    """(caption, emoji string) for every fully-qualified emoji, shortest caption first."""
    fully_qualified = emoji.STATUS["fully_qualified"]
    pairs = [(caption_of(info["en"]), chars) for chars, info in emoji.EMOJI_DATA.items()
             if info["status"] == fully_qualified]
    return sorted(pairs, key=lambda pair: (len(pair[0]), pair))


class _GlyphRenderer:
    """Finds an emoji's glyph with HarfBuzz and decodes its colour bitmap from ``CBDT``."""

    def __init__(self, path: Path):
        self.hb_font = hb.Font(hb.Face(hb.Blob.from_file_path(str(path))))
        font = TTFont(str(path))
        self.glyph_names = font.getGlyphOrder()
        self.bitmaps = font["CBDT"].strikeData[0]  # glyph name -> bitmap record (one size)

    def glyph_id(self, chars: str) -> int | None:
        """The single glyph the font draws for ``chars``, or ``None`` if there is none."""
        buf = hb.Buffer()
        buf.add_str(chars)
        buf.guess_segment_properties()
        hb.shape(self.hb_font, buf)
        glyphs = [info.codepoint for info in buf.glyph_infos]  # glyph ids after shaping
        if len(glyphs) != 1 or glyphs[0] == 0:  # several glyphs, or .notdef
            return None
        return glyphs[0]

    def image(self, chars: str) -> np.ndarray | None:
        """``uint8`` ``(128, 128, 3)`` RGB picture of ``chars`` on white, or ``None``."""
        gid = self.glyph_id(chars)
        record = None if gid is None else self.bitmaps.get(self.glyph_names[gid])
        if record is None:
            return None
        record.ensureDecompiled()  # fontTools decodes records lazily
        png = getattr(record, "imageData", None)  # PNG bytes in formats 17, 18 and 19
        if png is None:  # another bitmap format (monochrome EBDT-style): not a colour PNG
            return None
        return _on_white_square(Image.open(io.BytesIO(png)))


def _on_white_square(picture: Image.Image) -> np.ndarray:
    """Composite on white, pad to a centred square, resize to IMAGE_SIZE (Lanczos)."""
    rgba = picture.convert("RGBA")
    white = Image.new("RGBA", rgba.size, _WHITE + (255,))
    rgb = Image.alpha_composite(white, rgba).convert("RGB")
    side = max(rgb.size)
    square = Image.new("RGB", (side, side), _WHITE)
    square.paste(rgb, ((side - rgb.width) // 2, (side - rgb.height) // 2))
    square = square.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
    return np.asarray(square, dtype=np.uint8)


def _build() -> tuple[dict[str, np.ndarray], str]:
    """All cleaned pairs as cache arrays, and a short note of what was skipped."""
    renderer = _GlyphRenderer(font_path())
    kept = []  # (caption, chars, image)
    seen_captions, seen_images = set(), set()
    skipped = {"not drawable": 0, "blank": 0, "repeated caption": 0, "duplicate image": 0}
    for caption, chars in _candidates():  # shortest caption first: it wins a shared image
        image = renderer.image(chars)
        digest = None if image is None else hashlib.sha1(image.tobytes()).digest()
        if image is None:
            skipped["not drawable"] += 1
        elif image.std() < BLANK_STD:
            skipped["blank"] += 1
        elif caption in seen_captions:
            skipped["repeated caption"] += 1
        elif digest in seen_images:
            skipped["duplicate image"] += 1
        else:
            seen_captions.add(caption)
            seen_images.add(digest)
            kept.append((caption, chars, image))

    kept.sort(key=lambda pair: pair[0])  # stored in alphabetical order of captions
    captions = [caption for caption, _, _ in kept]
    data = {
        "images": np.stack([image for _, _, image in kept]),
        "captions": np.array(captions, dtype=str),  # fixed-width unicode, no pickle needed
        "chars": np.array([chars for _, chars, _ in kept], dtype=str),
        "split": np.array([split_of(caption) for caption in captions], dtype=str),
    }
    note = ", ".join(f"{count} {why}" for why, count in skipped.items() if count)
    return data, note or "none"
