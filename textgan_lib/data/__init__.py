"""Data for the course: the captioned emoji image set.

Taught in ``00_overview``. ``emoji`` builds (once) and loads the image set; it imports only
NumPy, Pillow, fontTools, uharfbuzz and ``emoji``, never TensorFlow.
"""
from .emoji import EmojiSet, load_emoji, split_key, split_of

__all__ = ["EmojiSet", "load_emoji", "split_key", "split_of"]
