"""Gradio components the app needs beyond the stock ones.

(Gradio writes a `.pyi` stub next to any module that defines a component subclass; it is ignored by git.)
"""

from io import BytesIO

import gradio as gr
from PIL import Image, UnidentifiedImageError

from ..vision.images import ImageInputError, check_pixel_count


class ImageInput(gr.Image):
    """gr.Image that turns an unreadable upload into a message a person understands, instead of a
    decoder's stack trace: Gradio opens the file before our code sees it."""

    is_template = True  # same front-end as gr.Image

    def preprocess(self, payload):
        if payload is not None and payload.path:
            try:  # the header only: too many pixels is refused before Gradio or we decode anything
                with Image.open(payload.path) as image:
                    check_pixel_count(image)
            except ImageInputError as error:
                raise gr.Error(str(error), print_exception=False) from None
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                pass  # an SVG, or not an image: Gradio's own preprocess decides below
        try:
            return super().preprocess(payload)
        except Exception:
            raise gr.Error("This file is not an image we can read: upload a PNG, JPEG, WebP, BMP, GIF or TIFF.",
                           print_exception=False) from None


def image_input(label, **kwargs) -> ImageInput:
    # filepath and no mode conversion: genmods' own loader handles EXIF, 16-bit, CMYK, transparency and size
    return ImageInput(label=label, type="filepath", image_mode=None, sources=["upload", "webcam", "clipboard"], height=300,
                      **kwargs)


def image_output(label, **kwargs) -> gr.Image:
    """A result image, downloadable as lossless PNG."""
    return gr.Image(label=label, type="pil", format="png", interactive=False, height=360,
                    buttons=["download", "fullscreen"], **kwargs)


class MaskEditor(gr.ImageEditor):
    """gr.ImageEditor whose background and brush layers are checked from their headers before Gradio decodes them:
    a 30,000 × 30,000 layer sent through the API is refused with its size instead of growing the server by
    gigabytes, and a layer that is not an image gets a message, not "Could not preprocess input component"."""

    is_template = True  # same front-end as gr.ImageEditor

    def convert_and_format_image(self, file, flatten_on_white: bool = False):
        if file is not None:
            source = getattr(file, "path", None) or BytesIO(file)
            try:
                with Image.open(source) as image:
                    check_pixel_count(image)
            except ImageInputError as error:
                raise gr.Error(f"The brushed mask: {error}", print_exception=False) from None
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                raise gr.Error("The brushed mask layer is not an image we can read.", print_exception=False) from None
        return super().convert_and_format_image(file, flatten_on_white)
