"""Reference solutions for the exercises of ``00_overview``."""
import numpy as np


def exercise_1(images):
    """``x = exercise_1(images[:4])``: uint8 pixels 0..255 as float32 in [-1, 1]."""
    return images.astype(np.float32) / 127.5 - 1.0


def exercise_2(val):
    """``n_val_faces = exercise_2(val)``: validation captions that contain "face"."""
    return sum("face" in c for c in val.captions)


def exercise_3(emoji_all):
    """``i = exercise_3(emoji_all)``: the row of the caption "panda"."""
    return emoji_all.captions.index("panda")
