"""Gradio components the app needs beyond the stock ones.

(Gradio writes a `.pyi` stub next to any module that defines a component subclass; it is ignored by git.)
"""

import functools
import math
from io import BytesIO

import gradio as gr
from PIL import Image, UnidentifiedImageError

from ..vision.images import ImageInputError, check_pixel_count


class HandsOnErrors:
    """A component whose preprocess error is handed on as a gr.Error *value*, for the event's `validator` to mark on
    this input: raised while the validator's inputs are read, it would reach an API caller as a bare "400 Bad
    Request" and the page as "Error" on every output. A job given one raises it (`refusing_unread`)."""

    def preprocess(self, payload):
        try:
            return self.read(payload)
        except gr.Error as error:
            return error

    def read(self, payload):
        """The component's own preprocess (which may raise gr.Error)."""
        return super().preprocess(payload)

    def get_block_name(self) -> str:
        # the front-end of the Gradio component this one extends (Gradio takes a template's `__base__`, which for a
        # class with this mixin first is the mixin)
        return next(base for base in type(self).__mro__ if base.__module__.startswith("gradio.")).__name__.lower()

    get_block_class = get_block_name


class FileInput(HandsOnErrors, gr.File):
    """gr.File whose refusal ("Invalid file type") is handed on (`HandsOnErrors`)."""

    is_template = True  # same front-end as gr.File


class Radio(HandsOnErrors, gr.Radio):
    """gr.Radio whose refusal of a value not among its choices is handed on (`HandsOnErrors`)."""

    is_template = True  # same front-end as gr.Radio


class Dropdown(HandsOnErrors, gr.Dropdown):
    """gr.Dropdown whose refusal of a value not among its choices is handed on (`HandsOnErrors`)."""

    is_template = True  # same front-end as gr.Dropdown


class ImageInput(HandsOnErrors, gr.Image):
    """gr.Image that turns an unreadable upload into a message a person understands, instead of a
    decoder's stack trace: Gradio opens the file before our code sees it. The message is handed on
    (`HandsOnErrors`)."""

    is_template = True  # same front-end as gr.Image

    def read(self, payload):
        if payload is not None and payload.path:
            try:  # the header only: too many pixels is refused before Gradio or we decode anything
                with Image.open(payload.path) as image:
                    check_pixel_count(image)
            except ImageInputError as error:
                raise gr.Error(str(error), print_exception=False) from None
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                pass  # an SVG, or not an image: Gradio's own preprocess decides below
        try:
            return gr.Image.preprocess(self, payload)
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


class MaskEditor(HandsOnErrors, gr.ImageEditor):
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


def shown(value: float) -> str:
    """A number as a person reads it: 4,294,967,295 rather than 4.29497e+09; 0.05; 1.23e+29."""
    if float(value).is_integer() and abs(value) < 1e16:
        return f"{int(value):,}"
    return f"{value:.3g}"


def number_problem(component, payload) -> str:
    """What is wrong with a number sent for `component` — not a number, or outside its range — in a message that
    names the control and its range, or "". (Gradio's own check says "Value 0 is less than minimum value 0.05"
    without saying which of three temperatures, and logs a traceback for what is a caller's mistake.)"""
    label = component.label or "This setting"
    low, high = component.minimum, component.maximum
    bounds = f"between {shown(low)} and {shown(high)}" if low is not None and high is not None else "a number"
    try:
        value = float(payload)
    except (TypeError, ValueError, OverflowError):
        return f"{label} must be {bounds} (got {payload!r})."
    if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        return f"{label} must be {bounds} (got {shown(value)})."
    return ""


class Slider(gr.Slider):
    """gr.Slider whose out-of-range or non-numeric value (sent through the API: the page clamps what is typed, and
    says so) is handed on as it came, for the event's `validator` to refuse by the control's name and range — a
    preprocess error would reach an API caller as a bare "400 Bad Request". (Every job that takes a slider also
    checks its value itself.)"""

    is_template = True  # same front-end as gr.Slider

    def preprocess(self, payload):
        return payload if number_problem(self, payload) else super().preprocess(payload)


def validator(inputs, checks):
    """A Gradio validator for an event's `inputs`: `checks` maps some of them to a function of (value, all values by
    component) that returns what is wrong with the value, or ""; every `Slider` is checked against its range, and
    an input its component could not read (`HandsOnErrors`) is refused with that component's message. The page
    marks a text or number input with its message before the job is queued — where a job's own error would leave
    "Error" badges on results it never touched, which stay after the input is fixed — and an API caller gets a
    ValidationError naming the parameter. (The jobs check again: they are called from Python too.)"""
    def validate(*values, **_):
        return [gr.validate(not message, message) for message in problems(inputs, checks, values)]
    return validate


def problems(inputs, checks, values) -> list[str]:
    """What each of `inputs` (with these `values`) is told by its check in `checks`, a slider by `number_problem`
    ("" where nothing is wrong)."""
    by_component = dict(zip(inputs, values))
    return [value.message if isinstance(value, gr.Error)  # an upload its component could not read
            else checks[component](value, by_component) if component in checks
            else number_problem(component, value) if isinstance(component, Slider) else ""
            for component, value in by_component.items()]


def needed(message: str):
    """A check for `validator`: the input must be given."""
    return lambda value, _: "" if value is not None else message


class Number(gr.Number):
    """gr.Number that hands on what is not a number as it came, like `Slider`, for a check to name (the seed's is
    `studio.seed_problem`); empty stays None."""

    is_template = True  # same front-end as gr.Number

    def preprocess(self, payload):
        return payload if payload is None or number_problem(self, payload) else super().preprocess(payload)


def refusing_unread(job):
    """A streaming job that first raises any input its component could not read (the gr.Error a `HandsOnErrors`
    component hands on): its validator has said so already, but the job is reachable without one too."""
    @functools.wraps(job)
    def checked(*args, **kwargs):
        for value in (*args, *kwargs.values()):
            if isinstance(value, gr.Error):
                raise value
        yield from job(*args, **kwargs)
    return checked
