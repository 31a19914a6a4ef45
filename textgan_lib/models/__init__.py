"""Networks of the cascade: generator, discriminator, super-resolution, shared blocks."""
from .blocks import PixelShuffle
from .discriminator import build_discriminator
from .generator import build_generator
from .superres import bicubic_upsample, build_superres, downsample

__all__ = ["PixelShuffle", "build_generator", "build_discriminator", "build_superres",
           "bicubic_upsample", "downsample"]
