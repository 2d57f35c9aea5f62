"""The style tab: neural style transfer streamed with its loss curve."""

import math

import gradio as gr

from ..style import DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, style_transfer
from .common import (
    MAX_IMAGE_SIDE, RANDOM_SEED, _bounded, _image_info, _seed, _stopped_line, _stream_job, _user_error,
)
from .plots import loss_table

MAX_STYLE_ITERATIONS = 500
MAX_TV_WEIGHT = 100.0  # where total variation flattens the picture (docs/calibration.md)
STYLE_STRENGTH_RANGE = (-1.0, 3.0)  # log10(β/α): 0.1× … 1000× the content's weight
DEFAULT_STYLE_STRENGTH = math.log10(DEFAULT_STYLE_WEIGHT)


def _describe_style(report):
    loss = "" if report.losses is None else f" · loss {report.losses['total']:.4g}"
    return f"scale {report.scale}/{report.scales} · step {report.step}/{report.total_steps}{loss}"


def _loss_line(losses: dict) -> str:
    return f"content {losses['content']:.3g} · style {losses['style']:.3g} · TV {losses['tv']:.3g} (total {losses['total']:.3g})"


def stylize(content_image, style_image, second_style_image=None, second_style_weight=0.5,
            style_strength=DEFAULT_STYLE_STRENGTH, tv_weight=DEFAULT_TV_WEIGHT, iterations=100, image_size=384,
            optimizer="lbfgs", preserve_color=False, multi_scale=1, init="content", style_scale=1.0, pooling="max",
            seed=RANDOM_SEED, progress=gr.Progress(track_tqdm=True), request: gr.Request = None):
    """Neural style transfer; streams intermediate images and the loss curve. Yields (image, losses, info),
    the losses as a table (step, term, log10 weighted loss) for a line plot.
    style_strength: log10(β/α), the style's weight against the content's (1 = 10×, the default)."""
    if content_image is None:
        raise _user_error("Upload a content image (or pick an example).")
    if style_image is None:
        raise _user_error("Upload a style image (or pick an example).")
    styles, blend = [style_image], None
    if second_style_image is not None:
        weight = _bounded(second_style_weight, 0.0, 1.0, "Second style weight")
        styles, blend = [style_image, second_style_image], [1 - weight, weight]
    strength = _bounded(style_strength, *STYLE_STRENGTH_RANGE, "Style strength")
    settings = dict(
        style_blend=blend, image_size=int(_bounded(image_size, 64, MAX_IMAGE_SIDE, "Output size")),
        content_weight=1.0, style_weight=10.0**strength, tv_weight=_bounded(tv_weight, 0, MAX_TV_WEIGHT, "TV weight"),
        iterations=int(_bounded(iterations, 1, MAX_STYLE_ITERATIONS, "Iterations")), optimizer=optimizer,
        preserve_color=bool(preserve_color), multi_scale=int(_bounded(multi_scale, 1, 3, "Scales")), init=init,
        style_scale=_bounded(style_scale, 0.25, 2.0, "Style scale"), pooling=pooling, seed=_seed(seed),
    )
    history = []

    def job(callback):
        def collect(report):
            if report.losses is not None:
                history.append(dict(report.losses, step=report.step))
            callback(report)
        return style_transfer(content_image, styles, callback=collect, **settings)

    for kind, value, report in _stream_job(job, progress, _describe_style, "style", request):
        if kind == "preview":
            yield value, loss_table(history), "Painting…"
        elif value.stopped:
            yield value.image, loss_table(history), _stopped_line(value) + f"\n\nSeed {settings['seed']}."
        else:
            result = value.result
            extra = [f"Weighted losses at the start: {_loss_line(result.start)}",
                     f"Weighted losses at the end: {_loss_line(result.final)}",
                     f"Style strength β/α = {settings['style_weight']:.3g}, TV weight {settings['tv_weight']:g}; "
                     f"sizes: {', '.join(f'{w}×{h}' for h, w in result.sizes)}; seed {settings['seed']}"]
            yield result.image, loss_table(history), _image_info(result, extra)
