"""Colour control for style transfer, in PIL's YCbCr (the JPEG luma / chroma space): luma Y carries the
picture's structure, the two chroma channels Cb and Cr its colours.

- "luminance" (Gatys et al. 2016, luminance-only transfer): style is transferred on the luma alone and the
  content's chroma is put back afterwards (`luminance`, `match_luminance`, `with_chrominance_of`).
- "histogram" and "colors-only": the style's palette moved onto the content before any painting
  (`transfer_palette`): each chroma channel's histogram matched to the style's, the content's luma kept.

Why chroma histograms with the luma kept, rather than a linear transfer of the mean and covariance of all
three channels (Reinhard et al. 2001; the "colour histogram matching" of Gatys et al. 2016): measured on the
four example pairs and two more (docs/calibration.md), matching all channels moved the lightness too, and the
photo's structure with it (SSIM of the luma to the photo 0.47–0.75), while matching the chroma histograms
brought the colours closer to the style's (mean earth mover's distance of Lab a, b: 1–14 vs 2–17 for the
linear chroma transfer) with the structure intact. Colours that the style's chroma would push outside the RGB
cube at a pixel's luma are pulled towards grey at that luma instead of being clipped, so the luma, and the
structure, stay exactly the photo's.
"""

import numpy as np
from PIL import Image
from skimage.exposure import match_histograms

# PIL's (JPEG's) YCbCr → RGB: R = Y + 1.402 Cr', G = Y − 0.344136 Cb' − 0.714136 Cr', B = Y + 1.772 Cb',
# with Cb' = Cb − 128 and Cr' = Cr − 128
_CHROMA_TO_RGB = np.array([[0.0, 1.402], [-0.344136, -0.714136], [1.772, 0.0]], np.float64)
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def luminance(image: Image.Image) -> Image.Image:
    """The image's luma as a grey RGB image."""
    return image.convert("YCbCr").getchannel("Y").convert("RGB")


def match_luminance(style: Image.Image, content: Image.Image) -> Image.Image:
    """The style's luminance shifted and scaled to the content's mean and spread, as the paper does
    before luminance-only transfer (so the result keeps the content's brightness)."""
    s = np.asarray(style.convert("YCbCr").getchannel("Y"), np.float32)
    c = np.asarray(content.convert("YCbCr").getchannel("Y"), np.float32)
    matched = (s - s.mean()) / max(s.std(), 1e-6) * c.std() + c.mean()
    return Image.fromarray(np.clip(matched, 0, 255).round().astype(np.uint8)).convert("RGB")


def with_chrominance_of(luma_pixels: np.ndarray, colour_image: Image.Image) -> np.ndarray:
    """Luma of `luma_pixels` ((H, W, 3) floats in [0, 1]) with the chroma of `colour_image` (resized to match),
    as floats in [0, 1]: done in floats so that a 16-bit result keeps its precision."""
    height, width = luma_pixels.shape[:2]
    colours = np.asarray(colour_image.resize((width, height), Image.Resampling.BICUBIC).convert("YCbCr"), np.float64)
    luma = luma_pixels.astype(np.float64) @ _LUMA_WEIGHTS * 255
    return _to_rgb(luma, colours[..., 1:] - 128).astype(np.float32)


def transfer_palette(content: Image.Image, styles: Image.Image | list[Image.Image]) -> Image.Image:
    """The content with the style's palette: each chroma channel's histogram matched to the style's (several
    style images: their pixels pooled), the luma kept; where the new chroma would leave the RGB cube at a pixel's
    luma, it is scaled towards grey instead."""
    styles = styles if isinstance(styles, (list, tuple)) else [styles]
    ycc = np.asarray(content.convert("YCbCr"), np.float64)
    palette = np.concatenate([np.asarray(s.convert("YCbCr"), np.float64)[..., 1:].reshape(-1, 2) for s in styles])
    chroma = match_histograms(ycc[..., 1:], palette[None], channel_axis=-1) - 128
    return Image.fromarray((_to_rgb(ycc[..., 0], chroma) * 255).round().clip(0, 255).astype(np.uint8))


def _to_rgb(luma: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """(H, W) luma in [0, 255] and (H, W, 2) chroma offsets → (H, W, 3) RGB in [0, 1], the chroma of each pixel
    scaled down (towards grey) just enough to stay inside the cube, so the luma is exact."""
    offsets = chroma @ _CHROMA_TO_RGB.T  # (H, W, 3): what the chroma adds to each of R, G, B
    room = np.where(offsets > 0, 255 - luma[..., None], np.where(offsets < 0, luma[..., None], np.inf))
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(offsets != 0, room / np.abs(offsets), np.inf)
    scale = np.clip(limit.min(axis=-1, keepdims=True), 0, 1)
    return np.clip((luma[..., None] + scale * offsets) / 255, 0, 1)


__all__ = ["luminance", "match_luminance", "with_chrominance_of", "transfer_palette"]
