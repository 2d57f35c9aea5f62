"""Image input hygiene shared by DeepDream and style transfer.

Whatever a person uploads becomes an 8-bit RGB PIL image of a workable size, or an `ImageInputError`
whose message says what is wrong: EXIF orientation applied; grayscale, palette, RGBA, CMYK and 16-bit
images converted (transparency composited on white); images larger than `max_side` downscaled, not
rejected; images smaller than `min_side` refused; non-images and truncated files refused.
"""

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_SIDE = 1024
DEFAULT_MIN_SIDE = 32
MAX_PIXELS = 64_000_000  # 8000 × 8000: any camera photo; more is refused before it is decoded

# PIL refuses images over 2 × 89 MP with an exception that does not say how large the image is, and
# only warns below that. We check every opened image against MAX_PIXELS before decoding it
# (`check_pixel_count`), so PIL's own check is off; its purpose, not decoding a decompression bomb,
# is kept with a message a person can act on.
Image.MAX_IMAGE_PIXELS = None


class ImageInputError(ValueError):
    """The input cannot be used as an image; the message is meant for the person who gave it."""


@dataclass
class LoadedImage:
    image: Image.Image
    original_size: tuple[int, int]
    notes: list[str] = field(default_factory=list)  # what was done to it, for the UI ("downscaled from …")


def check_pixel_count(image: Image.Image, limit: int = MAX_PIXELS) -> None:
    """Refuses an opened (not yet decoded) image with more than `limit` pixels."""
    pixels = image.width * image.height
    if pixels > limit:
        raise ImageInputError(f"This image has {pixels / 1e6:,.0f} megapixels ({image.width}×{image.height}); "
                              f"the limit is {limit / 1e6:g}. Downscale it before uploading.")


def _open(source) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ImageInputError(f"Image file not found: {path.name}")
        if path.is_dir():
            raise ImageInputError(f"{path.name} is a folder, not an image file.")
    try:
        image = Image.open(source)  # reads the header only
    except UnidentifiedImageError:
        raise ImageInputError("This file is not an image (or not a format we can read: use PNG, JPEG, WebP, BMP, GIF or TIFF).") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(f"This image file is truncated or damaged and cannot be decoded ({error}).") from None
    check_pixel_count(image)
    try:
        image.load()  # decode now, so truncated data fails here and not later
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(f"This image file is truncated or damaged and cannot be decoded ({error}).") from None
    return image


def _from_array(array: np.ndarray) -> Image.Image:
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4)):
        if array.dtype == np.uint8:
            return Image.fromarray(array.squeeze(-1) if array.ndim == 3 and array.shape[2] == 1 else array)
        if np.issubdtype(array.dtype, np.floating):
            return Image.fromarray((np.clip(array, 0, 1) * 255).round().astype(np.uint8).squeeze())
        if np.issubdtype(array.dtype, np.integer):
            scaled = array.astype(np.float64) / max(1, np.iinfo(array.dtype).max)
            return Image.fromarray((scaled * 255).round().astype(np.uint8).squeeze())
    raise ImageInputError(f"An array of shape {array.shape} and type {array.dtype} is not an image.")


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit or 32-bit grayscale: stretch the used range to 8 bits
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
        return Image.fromarray(scaled.round().astype(np.uint8)).convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode != "RGB":
        return image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return image


def header_size(source) -> tuple[int, int] | None:
    """(width, height) of an image file from its header alone (nothing decoded), None when it cannot be read."""
    try:
        with Image.open(source) as opened:
            return opened.size
    except Exception:  # no image yet, or one the run itself will refuse with a message
        return None


def load_mask(source, size: tuple[int, int], *, name: str = "mask") -> np.ndarray:
    """A painted region → (height, width) float32 in [0, 1] at `size` = (width, height) of the image it was
    painted on. The alpha channel is the region when the mask has transparency (a brush layer), otherwise
    the grey level (white = inside). Same safety checks as images; a mask of another shape is refused."""
    if source is None:
        raise ImageInputError(f"No {name} was given.")
    image = ImageOps.exif_transpose(_open(source))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        alpha = image.convert("RGBA").getchannel("A")
        region = alpha if alpha.getextrema()[0] < 255 else image.convert("L")
    else:
        region = image.convert("L")
    width, height = size
    if abs(region.width / region.height - width / height) > 0.02 * (width / height):
        raise ImageInputError(f"The {name} is {region.width}×{region.height} px but the image it paints is "
                              f"{width}×{height}: paint it on that image (same shape).")
    return np.asarray(region.resize((width, height), Image.Resampling.BILINEAR), np.float32) / 255.0


def load_image(source, *, max_side: int = DEFAULT_MAX_SIDE, min_side: int = DEFAULT_MIN_SIDE,
               name: str = "image") -> LoadedImage:
    """Any reasonable image input → `LoadedImage` (RGB, at most `max_side` px on its longer side)."""
    if source is None:
        raise ImageInputError(f"No {name} was given: upload one or pick an example.")
    image = _open(source)
    notes = []
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
        notes.append(f"{name} has several frames; the first one is used")
    transposed = ImageOps.exif_transpose(image)
    if transposed is not image and transposed.size != image.size or image.getexif().get(0x0112, 1) != 1:
        notes.append(f"{name} rotated upright from its EXIF orientation")
    image = _to_rgb(transposed)
    original = image.size
    if min(image.size) < min_side:
        raise ImageInputError(
            f"The {name} is too small ({image.width}×{image.height} px); it needs at least {min_side} px on each side."
        )
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
        notes.append(f"{name} downscaled from {original[0]}×{original[1]} to {size[0]}×{size[1]} px (limit {max_side} px)")
    return LoadedImage(image=image, original_size=original, notes=notes)


def save_animation(frames: list[Image.Image], path, fps: float = 8) -> str:
    """GIF or MP4 by the file's suffix, through diffusers' exporters (DeepDream zooms, styled clips)."""
    from diffusers.utils import export_to_gif, export_to_video

    path = str(path)
    if path.lower().endswith(".gif"):
        return export_to_gif(frames, path, fps=fps)
    if path.lower().endswith(".mp4"):
        return export_to_video(frames, path, fps=fps)
    raise ValueError("animation path must end in .gif or .mp4")


def pixels_to_image(pixels: np.ndarray) -> Image.Image:
    """(H, W, 3) floats in [0, 1] → an 8-bit RGB image (values outside clipped)."""
    return Image.fromarray((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8))


def save_image(image, path, bits: int = 8) -> str:
    """Saves a result: a PIL image, an (H, W, 3) float array in [0, 1], or anything with `.pixels` (a style
    result, whose full-precision pixels a 16-bit file keeps) or `.image`. bits=16 writes a 16-bit-per-channel PNG
    (for print: no banding when the picture is retouched); 8 writes any format PIL knows by the suffix.
    Pillow writes 16-bit PNGs for one grey channel only, so 16-bit RGB goes through pypng."""
    if bits not in (8, 16):
        raise ValueError("bits must be 8 or 16")
    path = str(path)
    pixels = getattr(image, "pixels", None)
    if pixels is None and hasattr(image, "image"):
        image = image.image
    if pixels is None:
        pixels = image if isinstance(image, np.ndarray) else np.asarray(image.convert("RGB"), np.float32) / 255
    if bits == 8:
        pixels_to_image(pixels).save(path)
        return path
    if not path.lower().endswith(".png"):
        raise ValueError("a 16-bit image is saved as PNG: give a path ending in .png")
    import png

    height, width = pixels.shape[:2]
    values = (np.clip(pixels, 0, 1) * 65535).round().astype(np.uint16)
    png.from_array(values.reshape(height, width * 3), "RGB;16").save(path)
    return path
