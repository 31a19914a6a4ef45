"""Turning model outputs into pictures: the one place where [-1, 1] becomes pixels.

Taught in ``00_overview`` and used by every notebook.
"""
from __future__ import annotations

import textwrap

import numpy as np


def to_uint8(images) -> np.ndarray:
    """Map images in [-1, 1] (float, any shape ending in C=3) to uint8 pixels in [0, 255].

    Taught in ``00_overview``; every figure of the course goes through it.

    Values outside [-1, 1] are clipped first, so matplotlib and Pillow never see values outside
    their range. uint8 input is returned unchanged.
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    images = np.clip(images.astype(np.float32), -1.0, 1.0)
    return np.round((images + 1.0) * 127.5).astype(np.uint8)


def image_grid(images, captions=None, ncols: int = 8, size: float = 1.6, wrap: int = 18,
               title: str | None = None):
    """Show images in a grid with optional captions under each; returns the matplotlib Figure.

    Args:
        images: (N, H, W, 3) uint8, or float in [-1, 1].
        captions: optional N strings.
        ncols: images per row.
        size: inches per image.
        wrap: caption characters per line.
        title: optional figure title.
    """
    import matplotlib.pyplot as plt

    images = to_uint8(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.25),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], interpolation="nearest")
            if captions is not None:
                ax.set_title("\n".join(textwrap.wrap(str(captions[i]), wrap)[:3]), fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def comparison_grid(rows, row_labels, captions, ncols: int = 8, size: float = 1.6,
                    wrap: int = 16):
    """Several rows of images for the same captions (e.g. real / generated / super-resolved).

    Args:
        rows: list of R arrays, each (N, H, W, 3) uint8 or float in [-1, 1] (sizes may differ
            between rows; each image is shown at the same display size).
        row_labels: R strings shown at the left of each row.
        captions: N strings shown above each column.
        ncols: columns per block; N > ncols wraps into blocks of R rows each.

    Returns:
        the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    rows = [to_uint8(row) for row in rows]
    n, r = len(captions), len(rows)
    ncols = max(1, min(ncols, n))
    blocks = -(-n // ncols)
    fig, axes = plt.subplots(blocks * r, ncols, squeeze=False,
                             figsize=(ncols * size, blocks * r * size * 1.15 + 0.5))
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        block, col = divmod(i, ncols)
        for k, (row, label) in enumerate(zip(rows, row_labels)):
            ax = axes[block * r + k, col]
            ax.axis("on")
            ax.imshow(row[i], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_title("\n".join(textwrap.wrap(captions[i], wrap)[:3]), fontsize=7)
            if col == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.tight_layout()
    return fig


__all__ = ["to_uint8", "image_grid", "comparison_grid"]
