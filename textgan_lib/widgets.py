"""The interactive cascade demo (ipywidgets), interpolation and the helpers behind them.

Taught in ``07_cascade_demo``.

* :func:`check_caption` - is a caption something the cascade can draw? Empty, very long and
  non-English captions (Chinese, emoji, ...) raise :class:`CaptionError` with a message a
  student can act on.
* :func:`noise`, :func:`run_stages`, :func:`render` - inference through the cascade, stage by
  stage (text -> embedding -> 32 px base -> 128 px super-resolved), with timings.
* :func:`slerp`, :func:`lerp`, :func:`interpolate` - interpolation between two caption
  embeddings or two noise vectors.
* :func:`nearest_captions` - which training captions an embedding is closest to (failure cases).
* :class:`CascadeDemo` - caption box, example captions, seed, noise scale ("truncation"),
  a Generate button, and the 32 px base image beside its 128 px super-resolved version.
* :class:`InterpolationDemo` - a slider between two captions or two noise vectors.

Images are float32 NHWC in [-1, 1] everywhere; :func:`png_bytes` is the one place that turns
them into PNG files for the widgets (through :func:`textgan_lib.viz.to_uint8`).
"""
from __future__ import annotations

import html
import io
import time
import unicodedata

import numpy as np

from . import config
from .viz import to_uint8

#: Captions offered in the demo's "examples" list: validation captions the model never
#: trained on ("red apple", "grinning face", "owl", "Germany") and training captions.
EXAMPLE_CAPTIONS = ("red apple", "grinning face", "owl", "police car", "blue heart",
                    "woman in motorized wheelchair", "Germany", "hot pepper")
#: Longest caption, in characters, that the demo accepts (emoji names are at most ~60).
MAX_CAPTION_CHARS = 200
#: Widget CSS classes, for the browser test and for anyone styling the demo.
CSS = {"caption": "textgan-caption", "examples": "textgan-examples", "seed": "textgan-seed",
       "noise_scale": "textgan-noise-scale", "generate": "textgan-generate",
       "base": "textgan-base", "high": "textgan-high", "status": "textgan-status"}


class CaptionError(ValueError):
    """A caption the cascade cannot draw; the message says why and what to type instead."""


# --------------------------------------------------------------------------- captions

def _script_of(char: str) -> str:
    """The first word of a letter's Unicode name (``LATIN``, ``CJK``, ``CYRILLIC``, ...)."""
    return unicodedata.name(char, "UNKNOWN").split(" ")[0]


def check_caption(caption, max_tokens: int | None = None, encoder=None) -> str:
    """Return ``caption`` stripped, or raise :class:`CaptionError` saying what is wrong.

    The cascade was trained on short English emoji names, read by an English text encoder.

    Args:
        caption: the text typed by the user.
        max_tokens: longest caption in tokens (``[CLS]``/``[SEP]`` included); default: the
            encoder's ``max_length`` when ``encoder`` is given, else no token limit.
        encoder: a :class:`~textgan_lib.text.TextEncoder`, to count tokens (optional).

    Returns:
        the caption with surrounding white space removed and inner runs of white space
        collapsed to one space.

    Raises:
        CaptionError: if the caption is not a string, is empty, longer than
            :data:`MAX_CAPTION_CHARS` characters or ``max_tokens`` tokens, contains emoji or
            pictographs, or letters of a script other than Latin (Chinese, Cyrillic, ...).
    """
    if not isinstance(caption, str):
        raise CaptionError(f"A caption must be text, not {type(caption).__name__}.")
    text = " ".join(caption.split())
    if not text:
        raise CaptionError('The caption is empty. Type a few English words, e.g. "red apple".')
    if len(text) > MAX_CAPTION_CHARS:
        raise CaptionError(
            f"The caption is {len(text)} characters long; the demo takes at most "
            f"{MAX_CAPTION_CHARS}. The model was trained on short emoji names, most of "
            "them a few words: describe one thing in a few words.")
    pictographs = [c for c in text if unicodedata.category(c) in ("So", "Cs", "Co")]
    if pictographs:
        import emoji

        names = [emoji.demojize(c, delimiters=("", "")).replace("_", " ") for c in pictographs]
        hint = next((n for n, c in zip(names, pictographs) if n != c), None)
        raise CaptionError(
            f"The caption contains emoji or symbols ({''.join(pictographs[:5])}). The text "
            "encoder reads English words, not pictures: write what the emoji shows"
            + (f', e.g. "{hint}".' if hint else "."))
    foreign = sorted({_script_of(c) for c in text if c.isalpha() and _script_of(c) != "LATIN"})
    if foreign:
        raise CaptionError(
            f"The caption is written in a non-Latin script ({', '.join(foreign).lower()}). The "
            "text encoder (all-MiniLM-L6-v2) and every training caption are English: please "
            'describe the image in English, e.g. "red apple".')
    if max_tokens is None and encoder is not None:
        max_tokens = encoder.max_length
    if max_tokens is not None and encoder is not None:
        tokens = int(encoder.token_lengths([text])[0])
        if tokens > max_tokens:
            raise CaptionError(
                f"The caption is {tokens} tokens long; the text encoder reads at most "
                f"{max_tokens} (the rest would be cut off). Shorten it.")
    return text


# --------------------------------------------------------------------------- inference

def noise(seed: int, n: int = 1, z_dim: int = config.Z_DIM, scale: float = 1.0) -> np.ndarray:
    """The noise vectors :meth:`Cascade.generate` uses for ``seed``: float32 ``(n, z_dim)``,
    ``scale * N(0, I)``. ``scale < 1`` is the "truncation trick" by scaling (less variety).

    Raises:
        ValueError: if ``scale`` is negative or not finite, or ``n`` < 1.
    """
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"noise scale must be a finite number >= 0, got {scale}")
    if int(n) < 1:
        raise ValueError(f"n={n}: need at least one noise vector")
    z = np.random.default_rng(int(seed)).standard_normal((int(n), int(z_dim)))
    return (scale * z).astype(np.float32)


def render(cascade, embeddings, z) -> tuple[np.ndarray, np.ndarray]:
    """Run the two image stages: ``(base (B, 32, 32, 3), high (B, 128, 128, 3))``, float32 in
    [-1, 1] (the super-resolved image is clipped, as in :meth:`Cascade.generate`).

    Args:
        cascade: a :class:`~textgan_lib.cascade.Cascade`.
        embeddings: float32 ``(B, D)`` text embeddings (``D`` = the encoder's ``dim``).
        z: float32 ``(B, z_dim)`` noise.

    Raises:
        ValueError: if the two batch sizes differ.
    """
    embeddings = np.asarray(embeddings, np.float32)
    z = np.asarray(z, np.float32)
    if embeddings.ndim != 2 or z.ndim != 2 or len(embeddings) != len(z):
        raise ValueError(f"embeddings {embeddings.shape} and z {z.shape} must both be (B, .) "
                         "with the same B")
    base = np.asarray(cascade.generator.predict([embeddings, z], verbose=0), np.float32)
    high = np.clip(np.asarray(cascade.superres.predict(base, verbose=0), np.float32), -1, 1)
    return base, high


def run_stages(cascade, caption: str, seed: int = 0, noise_scale: float = 1.0) -> dict:
    """Inference through the cascade, one stage at a time, with the time each stage takes.

    Returns:
        ``{"caption", "embedding" (1, D), "z" (1, z_dim), "base" (1, 32, 32, 3),
        "high" (1, 128, 128, 3), "seconds": {"text", "noise", "base", "superres"}}``; the
        images are float32 in [-1, 1]; the same as ``cascade.generate(caption, seed,
        noise_scale)``.

    Raises:
        CaptionError: for a caption :func:`check_caption` refuses.
    """
    caption = check_caption(caption, encoder=cascade.encoder)
    seconds, out = {}, {"caption": caption}
    clock = time.perf_counter()
    out["embedding"] = cascade.encoder.encode([caption])
    seconds["text"], clock = time.perf_counter() - clock, time.perf_counter()
    out["z"] = noise(seed, 1, cascade.z_dim, noise_scale)
    seconds["noise"], clock = time.perf_counter() - clock, time.perf_counter()
    out["base"] = np.asarray(cascade.generator.predict([out["embedding"], out["z"]], verbose=0),
                             np.float32)
    seconds["base"], clock = time.perf_counter() - clock, time.perf_counter()
    out["high"] = np.clip(np.asarray(cascade.superres.predict(out["base"], verbose=0),
                                     np.float32), -1, 1)
    seconds["superres"] = time.perf_counter() - clock
    out["seconds"] = seconds
    return out


# --------------------------------------------------------------------------- interpolation

def lerp(a, b, t) -> np.ndarray:
    """Linear interpolation ``(1 - t) a + t b`` of two vectors (any shape), float32."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a, b, t) -> np.ndarray:
    """Spherical linear interpolation of two vectors ``(D,)``: float32 ``(D,)``.

    ``sin((1 - t) W) / sin(W) * a + sin(t W) / sin(W) * b`` with ``W`` the angle between ``a``
    and ``b`` (Shoemake, 1985; for GAN latents White, 2016, "Sampling generative networks").
    It follows the great circle between the two directions, so vectors of equal length keep
    that length all the way: a unit text embedding stays a unit vector, and a Gaussian noise
    vector keeps its typical length (about sqrt(D)), where plain :func:`lerp` shrinks it in
    the middle (to about sqrt(D / 2) for two independent draws). ``t=0`` gives ``a``, ``t=1``
    gives ``b``. Falls back to :func:`lerp` for (nearly) parallel vectors, where sin(W) = 0.

    Raises:
        ValueError: if ``a`` and ``b`` differ in shape or are not 1-D.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"slerp needs two vectors of the same length, got {a.shape}, {b.shape}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return lerp(a, b, t)
    omega = np.arccos(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp(a, b, t)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(
        np.float32)


def interpolate(a, b, steps: int = 8, method: str = "slerp") -> np.ndarray:
    """``steps`` points from ``a`` to ``b`` (both ends included): float32 ``(steps, D)``.

    Raises:
        ValueError: for ``steps`` < 2 or a method other than ``"slerp"`` / ``"linear"``.
    """
    if int(steps) < 2:
        raise ValueError(f"steps={steps}: need at least the two end points")
    if method not in ("slerp", "linear"):
        raise ValueError(f"method={method!r}; use 'slerp' or 'linear'")
    step = slerp if method == "slerp" else lerp
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    return np.stack([step(a, b, t) for t in np.linspace(0.0, 1.0, int(steps))])


def nearest_captions(embeddings, table, captions, k: int = 1) -> list[list[tuple[str, float]]]:
    """For each row of ``embeddings`` (N, D), the ``k`` captions of ``table`` (M, D) with the
    highest cosine similarity: ``[[(caption, similarity in [-1, 1]), ...], ...]``.

    Raises:
        ValueError: if ``table`` and ``captions`` differ in length.
    """
    embeddings, table = np.asarray(embeddings, np.float32), np.asarray(table, np.float32)
    if len(table) != len(captions):
        raise ValueError(f"{len(table)} table rows but {len(captions)} captions")
    unit = lambda x: x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)  # noqa: E731
    similarity = unit(embeddings) @ unit(table).T
    order = np.argsort(-similarity, axis=1)[:, :k]
    return [[(captions[j], float(similarity[i, j])) for j in row] for i, row in enumerate(order)]


# --------------------------------------------------------------------------- widgets

def png_bytes(image, size: int | None = None) -> bytes:
    """One image (H, W, 3) in [-1, 1] (or uint8) as PNG bytes, enlarged by pixel repetition
    (nearest neighbour, so no detail is invented) to ``size`` pixels if given."""
    from PIL import Image

    pixels = to_uint8(np.asarray(image))
    if size is not None and size != pixels.shape[0]:
        factor = max(1, int(size) // pixels.shape[0])
        pixels = np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _message(text: str, kind: str = "info") -> str:
    colour = {"info": "#333", "error": "#b00020", "ok": "#1b5e20"}[kind]
    return f'<span style="color:{colour}">{html.escape(text)}</span>'


class CascadeDemo:
    """The cascade as an ipywidgets app. Taught in ``07_cascade_demo``.

    Widgets (attributes): ``caption`` (Text), ``examples`` (Dropdown: picking one fills the
    caption), ``seed`` (BoundedIntText, 0 to 2**31 - 1), ``noise_scale`` (FloatSlider 0 to 2:
    scales z; below 1 is the truncation trick), ``button`` ("Generate"), ``base_image`` and
    ``high_image`` (Image widgets: the 32 px base shown enlarged 4x by pixel repetition, and
    the 128 px super-resolved image), ``title`` (the caption drawn) and ``status`` (messages;
    ``message`` holds the same text without HTML).
    Display it with ``display(demo.widget)`` (or just ``demo`` as a cell's last line).

    Bad input never raises: an empty, overlong or non-English caption shows a message in
    ``status`` and keeps the previous images; so does any other error (its type and message,
    no traceback).

    Args:
        cascade: a :class:`~textgan_lib.cascade.Cascade`.
        source: where the cascade came from (shown under the images), e.g. the second value
            of :meth:`Cascade.load_default`.
        examples: example captions for the drop-down.
        caption: the first caption drawn; ``generate_now=True`` draws it at once.
    """

    def __init__(self, cascade, source: str = "", examples=EXAMPLE_CAPTIONS,
                 caption: str = "red apple", generate_now: bool = True):
        import ipywidgets as w

        self.cascade = cascade
        self.source = source
        self.last = None  # the last successful :func:`run_stages` result
        self.message = "Type a caption and press Generate."  # ``status`` as plain text
        self.caption = w.Text(value=caption, description="caption",
                              placeholder='e.g. "red apple"', continuous_update=True,
                              layout=w.Layout(width="420px"))
        self.examples = w.Dropdown(options=["(pick an example)"] + list(examples),
                                   description="examples", layout=w.Layout(width="420px"))
        self.seed = w.BoundedIntText(value=0, min=0, max=2**31 - 1, description="seed",
                                     layout=w.Layout(width="200px"))
        self.noise_scale = w.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.05,
                                         description="noise scale", readout_format=".2f",
                                         continuous_update=False)
        self.button = w.Button(description="Generate", button_style="primary", icon="paint-brush")
        self.base_image = w.Image(format="png", width=128, height=128)
        self.high_image = w.Image(format="png", width=128, height=128)
        self.title = w.HTML()
        self.status = w.HTML(_message(self.message))
        for name in ("caption", "examples", "seed", "noise_scale", "base_image", "high_image",
                     "status"):
            getattr(self, name).add_class(CSS[name.replace("_image", "")])
        self.button.add_class(CSS["generate"])
        self.examples.observe(self._on_example, names="value")
        self.button.on_click(lambda _: self.generate())
        label = lambda text: w.HTML(f"<small>{html.escape(text)}</small>")  # noqa: E731
        images = w.HBox([w.VBox([self.base_image, label("32 px base (shown 4x)")]),
                         w.VBox([self.high_image, label("128 px super-resolved")])])
        footer = label(f"cascade: {source}") if source else w.HTML()
        self.widget = w.VBox([self.caption, self.examples, w.HBox([self.seed, self.noise_scale]),
                              self.button, self.status, self.title, images, footer])
        if generate_now:
            self.generate()

    def _on_example(self, change):
        if change["new"] in self.examples.options[1:]:
            self.caption.value = change["new"]

    def generate(self, caption: str | None = None) -> bool:
        """Draw the caption in the text box (or ``caption``, which is put into the box).

        Returns:
            True if new images are shown; False if the input was refused or failed (the
            reason is in ``status``).
        """
        if caption is not None:
            self.caption.value = caption
        self.button.disabled = True   # no second click while this one draws
        try:
            result = run_stages(self.cascade, self.caption.value, seed=int(self.seed.value),
                                noise_scale=float(self.noise_scale.value))
        except CaptionError as error:
            return self._say(str(error), "error")
        except Exception as error:  # noqa: BLE001 - shown in the widget, never a traceback
            return self._say(f"Could not draw this caption ({type(error).__name__}: {error}).",
                             "error")
        finally:
            self.button.disabled = False
        self.last = result
        self.base_image.value = png_bytes(result["base"][0], size=128)
        self.high_image.value = png_bytes(result["high"][0])
        self.title.value = (f"<b>{html.escape(result['caption'])}</b> &nbsp; seed "
                            f"{int(self.seed.value)}, noise scale {self.noise_scale.value:.2f}")
        return self._say(f"Done in {sum(result['seconds'].values()):.2f} s.", "ok")

    def _say(self, text: str, kind: str) -> bool:
        """Show ``text`` in ``status``; True for a success message."""
        self.message = text
        self.status.value = _message(text, kind)
        return kind == "ok"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class InterpolationDemo:
    """A slider that walks from one caption to another (``mode="caption"``: slerp between the
    two text embeddings, noise fixed) or from one noise vector to another (``mode="noise"``:
    slerp between the z of ``seed_a`` and ``seed_b``, caption ``caption_a`` fixed).
    Taught in ``07_cascade_demo``.

    Attributes: ``slider`` (FloatSlider, t from 0 to 1), ``image`` (the 128 px image),
    ``label``; ``images`` holds the precomputed (steps, 128, 128, 3) strip, so moving the
    slider only swaps pictures.

    Raises:
        CaptionError: for a caption :func:`check_caption` refuses.
        ValueError: for another ``mode``.
    """

    def __init__(self, cascade, caption_a: str, caption_b: str = "", mode: str = "caption",
                 seed_a: int = 0, seed_b: int = 1, steps: int = 9):
        import ipywidgets as w

        if mode not in ("caption", "noise"):
            raise ValueError(f"mode={mode!r}; use 'caption' or 'noise'")
        self.embeddings, self.z = interpolation_inputs(cascade, caption_a, caption_b, mode,
                                                       seed_a, seed_b, steps)
        self.base, self.images = render(cascade, self.embeddings, self.z)
        ends = (caption_a, caption_b) if mode == "caption" else (
            f"{caption_a}: seed {seed_a}", f"seed {seed_b}")
        self.slider = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=1 / (steps - 1),
                                    description="t", readout_format=".3f")
        self.image = w.Image(format="png", width=128, height=128)
        self.label = w.HTML()
        self.slider.observe(lambda _: self._show(), names="value")
        self._ends = ends
        self.widget = w.VBox([w.HTML(f"<b>{html.escape(ends[0])}</b> &rarr; "
                                     f"<b>{html.escape(ends[1])}</b> ({mode} interpolation)"),
                              self.slider, self.image, self.label])
        self._show()

    def _show(self):
        i = int(round(self.slider.value * (len(self.images) - 1)))
        self.image.value = png_bytes(self.images[i])
        self.label.value = f"<small>step {i + 1} of {len(self.images)}</small>"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def interpolation_inputs(cascade, caption_a: str, caption_b: str = "", mode: str = "caption",
                         seed_a: int = 0, seed_b: int = 1, steps: int = 9):
    """``(embeddings (steps, D), z (steps, z_dim))``, float32, for an interpolation strip.

    ``mode="caption"``: embeddings slerp from ``caption_a`` to ``caption_b`` (unit vectors stay
    unit vectors, like every embedding the generator was trained on), z is the noise of
    ``seed_a`` repeated. ``mode="noise"``: the embedding of ``caption_a`` repeated, z slerps
    from the noise of ``seed_a`` to that of ``seed_b``.

    Raises:
        CaptionError: for a caption :func:`check_caption` refuses.
        ValueError: for another ``mode``.
    """
    encoder = cascade.encoder
    if mode == "caption":
        ends = encoder.encode([check_caption(caption_a, encoder=encoder),
                               check_caption(caption_b, encoder=encoder)])
        embeddings = interpolate(ends[0], ends[1], steps)
        z = np.repeat(noise(seed_a, 1, cascade.z_dim), steps, axis=0)
    elif mode == "noise":
        embeddings = np.repeat(encoder.encode([check_caption(caption_a, encoder=encoder)]),
                               steps, axis=0)
        z = interpolate(noise(seed_a, 1, cascade.z_dim)[0], noise(seed_b, 1, cascade.z_dim)[0],
                        steps)
    else:
        raise ValueError(f"mode={mode!r}; use 'caption' or 'noise'")
    return embeddings.astype(np.float32), z.astype(np.float32)


__all__ = ["EXAMPLE_CAPTIONS", "MAX_CAPTION_CHARS", "CSS", "CaptionError", "check_caption",
           "noise", "render", "run_stages", "lerp", "slerp", "interpolate",
           "interpolation_inputs", "nearest_captions", "png_bytes", "CascadeDemo",
           "InterpolationDemo"]
