"""Networks of the cascade: generator, discriminator, super-resolution, shared blocks, and the
diffusion U-Net (importing this package registers their custom layers for loading)."""
from .blocks import PixelShuffle
from .discriminator import build_discriminator
from .generator import build_generator
from .superres import bicubic_upsample, build_superres, downsample
from .unet import SinusoidalEmbedding, build_unet

__all__ = ["PixelShuffle", "build_generator", "build_discriminator", "build_superres",
           "bicubic_upsample", "downsample", "SinusoidalEmbedding", "build_unet"]
