"""Image input hygiene: every odd input becomes RGB of a workable size, or a clear error."""

import io

import numpy as np
import pytest
from PIL import Image

from genmods.vision.images import ImageInputError, load_image


def encoded(image: Image.Image, fmt: str = "PNG", **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def gradient(size=(80, 60)) -> Image.Image:
    x = np.linspace(0, 255, size[0], dtype=np.uint8)
    y = np.linspace(0, 255, size[1], dtype=np.uint8)
    return Image.fromarray(np.stack([np.tile(x, (size[1], 1)), np.tile(y[:, None], (1, size[0])),
                                     np.full((size[1], size[0]), 128, np.uint8)], axis=-1))


@pytest.mark.parametrize("mode", ["L", "1", "P", "RGBA", "LA", "CMYK", "I;16", "I", "F", "YCbCr"])
def test_every_mode_becomes_rgb(mode):
    image = gradient().convert("L" if mode in ("I;16", "I", "F") else "RGB")
    if mode in ("I;16", "I", "F"):
        image = Image.fromarray((np.asarray(image).astype(np.uint16) * 257).astype(np.uint16 if mode == "I;16" else np.int32 if mode == "I" else np.float32))
    else:
        image = image.convert(mode)
    result = load_image(image)
    assert result.image.mode == "RGB" and result.image.size == (80, 60)


def test_sixteen_bit_png_keeps_its_range():
    array = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (40, 1))
    result = load_image(encoded(Image.fromarray(array)))
    pixels = np.asarray(result.image)
    assert result.image.mode == "RGB" and pixels.min() == 0 and pixels.max() == 255


def test_transparency_is_composited_on_white():
    rgba = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    assert load_image(rgba).image.getpixel((5, 5)) == (255, 255, 255)
    palette = Image.new("P", (40, 40), 0)
    palette.putpalette([0, 0, 255] + [0] * 765)
    palette.info["transparency"] = 0
    assert load_image(encoded(palette)).image.getpixel((5, 5)) == (255, 255, 255)


def test_exif_orientation_is_applied():
    image = gradient((80, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    result = load_image(encoded(image, "JPEG", exif=exif.tobytes()))
    assert result.image.size == (40, 80)
    assert any("EXIF" in note for note in result.notes)


def test_large_images_are_downscaled_with_a_note():
    result = load_image(gradient((3000, 1500)), max_side=512)
    assert result.image.size == (512, 256)
    assert result.original_size == (3000, 1500)
    assert "downscaled from 3000×1500" in result.notes[0]


def test_tiny_images_are_refused_clearly():
    with pytest.raises(ImageInputError, match=r"too small \(10×8 px\)"):
        load_image(gradient((10, 8)))


@pytest.mark.parametrize("data, message", [
    (b"this is plain text, not an image", "not an image"),
    (b"", "not an image"),
])
def test_non_images_are_refused_clearly(data, message):
    with pytest.raises(ImageInputError, match=message):
        load_image(data)


def test_truncated_files_are_refused_clearly():
    data = encoded(gradient((200, 200)), "JPEG")
    with pytest.raises(ImageInputError, match="truncated or damaged"):
        load_image(data[: len(data) // 2])


def test_missing_file_and_none(tmp_path):
    with pytest.raises(ImageInputError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageInputError, match="No style image"):
        load_image(None, name="style image")


def test_arrays_are_accepted():
    assert load_image(np.zeros((50, 50, 3), np.uint8)).image.size == (50, 50)
    assert load_image(np.ones((50, 40), np.float32)).image.getpixel((0, 0)) == (255, 255, 255)
    with pytest.raises(ImageInputError, match="not an image"):
        load_image(np.zeros((5, 50, 50, 3)))


def test_too_many_pixels_is_refused_before_decoding_with_the_count_and_the_limit(decompression_bomb):
    with pytest.raises(ImageInputError, match="900 megapixels \\(30000×30000\\); the limit is 64"):
        load_image(decompression_bomb)
