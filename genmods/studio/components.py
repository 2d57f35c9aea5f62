"""Gradio components the app needs beyond the stock ones.

(Gradio writes a `.pyi` stub next to any module that defines a component subclass; it is ignored by git.)
"""

import gradio as gr


class ImageInput(gr.Image):
    """gr.Image that turns an unreadable upload into a message a person understands, instead of a
    decoder's stack trace: Gradio opens the file before our code sees it."""

    is_template = True  # same front-end as gr.Image

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:
            raise gr.Error("This file is not an image we can read: upload a PNG, JPEG, WebP, BMP, GIF or TIFF.") from None


def image_input(label, **kwargs) -> ImageInput:
    # filepath and no mode conversion: genmods' own loader handles EXIF, 16-bit, CMYK, transparency and size
    return ImageInput(label=label, type="filepath", image_mode=None, sources=["upload", "clipboard"], height=300, **kwargs)


def image_output(label) -> gr.Image:
    """A result image, downloadable as lossless PNG."""
    return gr.Image(label=label, type="pil", format="png", interactive=False, height=360,
                    buttons=["download", "fullscreen"])
