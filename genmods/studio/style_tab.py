"""The style tab: neural style transfer streamed with its loss curve; style by painted region, continuing
the last result, styling a GIF or short video, and a time estimate before any of them starts."""

import hashlib
import math
import tempfile
import time
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image, ImageOps

from ..style import (
    DEFAULT_STYLE_WEIGHT, DEFAULT_TEMPORAL_WEIGHT, DEFAULT_TV_WEIGHT, StyleSettings, style_transfer, style_video,
)
from ..style.transfer import COLOR_MODES, OPTIMIZERS
from ..style.video import MAX_FRAMES, checked_header, read_clip
from ..vision.images import ImageInputError, check_pixel_count, load_image, save_animation, save_image
from .. import estimate
from .common import (
    IMAGE_TIME_LIMIT, LARGE_JOB_TIME_LIMIT, RANDOM_SEED, JobEnd, _aspect, _bounded, _image_info, _running_line, _seed,
    _session, _stopped_line, _stream_job, _user_error, upload_path,
)
from ..defaults import DEFAULTS, clip_frame_iterations
from .plots import loss_table

MAX_STYLE_ITERATIONS = 500
MAX_TV_WEIGHT = 100.0  # where total variation flattens the picture (docs/calibration.md)
STYLE_STRENGTH_RANGE = (-1.0, 3.0)  # log10(β/α): 0.1× … 1000× the content's weight
DEFAULT_STYLE_STRENGTH = math.log10(DEFAULT_STYLE_WEIGHT)
MAX_TEMPORAL_WEIGHT = 1000.0
OUTSIDE_CHOICES = ("keep the content", "second style")  # what the unpainted part of the content gets
MAX_CLIP_FRAMES = 24  # a Space's clip: seconds of styling per frame add up (the library allows MAX_FRAMES)
DEFAULT_CLIP_ITERATIONS = DEFAULTS.clip_iterations
COARSEST_SIDE = 64

NO_CONTENT = "Upload a content image (or pick an example)."
NO_STYLE = "Upload a style image (or pick an example)."
NO_CLIP = "Upload an animated GIF or a short video (MP4 or WebM), or pick the example."
NO_CLIP_STYLE = "Upload a style image (or pick an example) above."


def _describe_style(report):
    loss = "" if report.losses is None else f" · loss {report.losses['total']:.4g}"
    return f"scale {report.scale}/{report.scales} · step {report.step}/{report.total_steps}{loss}"


def _loss_line(losses: dict) -> str:
    temporal = f" · temporal {losses['temporal']:.3g}" if "temporal" in losses else ""
    return (f"content {losses['content']:.3g} · style {losses['style']:.3g} · TV {losses['tv']:.3g}{temporal} "
            f"(total {losses['total']:.3g})")


def painted_region(editor_value) -> np.ndarray | None:
    """The region painted in the mask editor: the union of its layers' opacity, (height, width) uint8, or
    None when nothing is painted (then the style covers the whole image)."""
    if not editor_value:
        return None
    layers = [layer for layer in (editor_value.get("layers") or []) if layer is not None]
    opacity = None
    for layer in layers:
        alpha = np.asarray(_opacity(layer), np.float32)
        opacity = alpha if opacity is None else np.maximum(opacity, alpha)
    if opacity is None or opacity.max() == 0:
        return None
    return (opacity / opacity.max() * 255).round().astype(np.uint8)


def _opacity(layer) -> Image.Image:
    """A brush layer's alpha channel (the same pixel limit as every image)."""
    try:
        image = layer if isinstance(layer, Image.Image) else Image.open(layer)
        check_pixel_count(image)
        return image.convert("RGBA").getchannel("A")
    except ImageInputError as error:
        raise _user_error(error) from None
    except (OSError, ValueError):
        raise _user_error("The brushed mask layer is not an image we can read.") from None


EDITOR_MAX_SIDE = 1024  # the brush canvas's longer side: a region needs no more (it is resized to every scale)


CANVAS_SOURCES = OrderedDict()  # session → digest of the file its brush canvas was last made from (most recent last)
MAX_CANVAS_SOURCES = 1024  # sessions remembered: a digest each, the oldest forgotten first


def mask_canvas(content_image, editor_value, request: gr.Request = None):
    """The mask editor for a content image: that image as the background (downscaled to EDITOR_MAX_SIDE: an
    8000 × 8000 photo opened at 4 % zoom and took half a minute to appear), nothing brushed yet — unless the canvas
    already shows the same picture (the same file uploaded again, or its upload check echoing it back), whose strokes
    are kept. "Already shows" is what this session's canvas was last made from, remembered here: the editor's value
    sent with the echo can predate the canvas made for the upload (the page sends it when the echo arrives), and
    the fresh canvas that comparison gave wiped strokes brushed in the meantime."""
    content_image = upload_path(content_image)
    session = _session(request)
    if content_image is None:
        CANVAS_SOURCES.pop(session, None)
        return None
    background = upload_path((editor_value or {}).get("background"))
    try:
        digest = hashlib.sha256(Path(content_image).read_bytes()).hexdigest()
        if session is not None and CANVAS_SOURCES.get(session) == digest:
            return gr.skip()
        canvas = editor_background(content_image)
        with Image.open(canvas) as new:
            same = background is not None and _same_picture(new, background)
    except (OSError, ValueError):  # not an image: the upload check says so; the canvas stays as it is
        return gr.skip()
    if session is not None:
        CANVAS_SOURCES[session] = digest
        CANVAS_SOURCES.move_to_end(session)
        while len(CANVAS_SOURCES) > MAX_CANVAS_SOURCES:
            CANVAS_SOURCES.popitem(last=False)
    return gr.skip() if same else {"background": canvas, "layers": [], "composite": canvas}


@lru_cache(maxsize=8)
def editor_background(path: str) -> str:
    """The content image as the brush canvas: itself when small enough, else a copy at EDITOR_MAX_SIDE (same
    shape, so the brushed region maps back onto the full image)."""
    with Image.open(path) as image:
        if max(image.size) <= EDITOR_MAX_SIDE:
            return path
        check_pixel_count(image)
        copy = ImageOps.exif_transpose(image).convert("RGB")
    copy.thumbnail((EDITOR_MAX_SIDE, EDITOR_MAX_SIDE), Image.Resampling.LANCZOS)
    target = Path(tempfile.mkdtemp(prefix="genmods-canvas-")) / "canvas.png"
    copy.save(target)
    return str(target)


def _same_picture(image: Image.Image, other) -> bool:
    """Whether `other` (a PIL image or a path) holds the same pixels as `image`."""
    with (other if isinstance(other, Image.Image) else Image.open(other)) as opened:
        return image.size == opened.size and np.array_equal(np.asarray(image.convert("RGB")),
                                                            np.asarray(opened.convert("RGB")))


def _styles_and_masks(style_image, second_style_image, second_style_weight, mask_editor, outside):
    """(styles, blend, masks) from the tab's inputs: a painted region gets the style image; outside it the content
    is kept or the second style paints; without a painted region a second style is blended in."""
    region = painted_region(mask_editor)
    if region is None:
        if second_style_image is None:
            return [style_image], None, None
        weight = _bounded(second_style_weight, 0.0, 1.0, "Second style weight")
        return [style_image, second_style_image], [1 - weight, weight], None
    if outside not in OUTSIDE_CHOICES:
        raise _user_error(f"Outside the painted region: choose {' or '.join(OUTSIDE_CHOICES)}.")
    if outside == "second style":
        if second_style_image is None:
            raise _user_error("Outside the painted region the second style paints: upload a second style image "
                              "(or choose to keep the content there).")
        return [style_image, second_style_image], None, [region, 255 - region]
    return [style_image], None, [region]


def colour_mode(color) -> str:
    """The Colour control's value as a library colour mode; True / False are what API clients of the former
    "preserve colour" checkbox send (luminance-only transfer, or not)."""
    if isinstance(color, bool) or color is None:
        return "luminance" if color else "style"
    if color not in COLOR_MODES:
        raise _user_error(f"Colour: choose one of {', '.join(COLOR_MODES)} (got {color!r}).")
    return color


def style_settings(style_strength, tv_weight, iterations, image_size, optimizer, color, multi_scale,
                   style_scale, pooling, seed, max_size: int = DEFAULTS.style_max_size) -> StyleSettings:
    """The tab's sliders as the library's settings, each checked against its slider's range (a message naming the
    slider). The one place where a slider's meaning changes: Style strength is log₁₀ β/α, so β = 10^strength.
    Above the device's tile size (DEFAULTS.style_tile) the finest scales are refined in tiles."""
    strength = _bounded(style_strength, *STYLE_STRENGTH_RANGE, "Style strength")
    image_size = int(_bounded(image_size, 64, max_size, "Output size"))
    # a small output has fewer coarse scales (the coarsest keeps at least COARSEST_SIDE px; the sizes are in the info)
    multi_scale = min(int(_bounded(multi_scale, 1, 3, "Scales")), 1 + int(math.log2(image_size / COARSEST_SIDE)))
    if optimizer not in OPTIMIZERS:
        raise _user_error(f"Unknown optimiser {optimizer!r}: choose lbfgs or adam.")
    try:
        return StyleSettings(
            image_size=image_size,
            iterations=int(_bounded(iterations, 1, MAX_STYLE_ITERATIONS, "Iterations")),
            content_weight=1.0, style_weight=10.0**strength, tv_weight=_bounded(tv_weight, 0, MAX_TV_WEIGHT, "TV weight"),
            optimizer=optimizer, color=colour_mode(color), multi_scale=multi_scale, tile_size=DEFAULTS.style_tile,
            style_scale=_bounded(style_scale, 0.25, 2.0, "Style scale"), pooling=pooling, seed=_seed(seed),
        )
    except ValueError as error:  # e.g. an unknown pooling sent through the API
        raise _user_error(error) from None


def estimate_style(content_image=None, image_size=DEFAULTS.style_size, iterations=DEFAULTS.style_iterations,
                   optimizer="lbfgs", multi_scale=DEFAULTS.style_scales, color="style") -> str:
    """The time a Paint would take with these settings, as a line for the page (and the API)."""
    try:
        settings = style_settings(DEFAULT_STYLE_STRENGTH, DEFAULT_TV_WEIGHT, iterations, image_size, optimizer, color,
                                  multi_scale, 1.0, "max", 0)
        expected = estimate.style_estimate(settings, _aspect(content_image))
    except gr.Error as error:
        return f"⚠️ {error.message}"
    if settings.color == "colors-only":
        return "Colours only: the recolouring alone, no painting, about a second."
    sizes = settings.sizes((1000, max(1, round(1000 * _aspect(content_image)))))
    tiled = [(h, w, len(settings.tiles((h, w)))) for h, w in sizes if len(settings.tiles((h, w))) > 1]
    pieces = ("; " + ", ".join(f"{w}×{h} in {count} tiles" for h, w, count in tiled)) if tiled else ""
    return f"Paint will take {expected.describe()}{pieces}."


def _run_style(content_image, styles, settings: StyleSettings, *, blend, masks, init, progress, request, history,
               prefix="", seed: int | None = None):
    """Runs style_transfer streaming; yields (image, losses table, info, last run) — the last run is what
    Continue starts from: the StyleResult (with the optimiser's state), or the image a stopped run reached, and the
    seed of the run that started it all (`seed`: a continued run's; it draws nothing new itself)."""
    seed = settings.seed if seed is None else seed
    if isinstance(init, str) and init != "noise":  # the seed only draws a noise start: say it changes nothing here
        seed_text = (f"seed {seed} (unused: a run that starts from the {init} image draws nothing random, so every "
                     "seed paints the same picture; Start from noise for the seed to matter)")
    else:
        seed_text = f"seed {seed}" + (" (of the run continued: continuing draws no new noise)"
                                      if not isinstance(init, str) else "")
    expected = estimate.style_estimate(settings, _aspect(content_image))

    def job(callback):
        def collect(report):
            if report.losses is not None:
                history.append(dict(report.losses, step=len(history) + 1))
            callback(report)
        return style_transfer(content_image, styles, settings, style_blend=blend, masks=masks, init=init,
                              callback=collect)

    def plot():
        # None rather than an empty table: a line plot first sent an empty table draws no lines afterwards
        return loss_table(history) if history else None

    started = time.monotonic()
    tiled = len(settings.tiles(settings.sizes((1000, max(1, round(1000 * _aspect(content_image)))))[-1])) > 1
    limit = max(IMAGE_TIME_LIMIT, min(LARGE_JOB_TIME_LIMIT, 2 * expected.seconds)) if tiled else IMAGE_TIME_LIMIT
    for kind, value, report, left in _stream_job(job, progress, _describe_style, "style", request,
                                                 estimate.StepClock(expected), time_limit=limit):
        if kind == "preview":
            yield value, plot(), prefix + _running_line("Painting", expected), gr.skip()
        elif value.stopped:
            yield (value.image, plot(), _stopped_line(value) + f"\n\n{seed_text[0].upper()}{seed_text[1:]}.",
                   None if value.image is None else {"image": value.image, "pixels": value.pixels, "seed": seed})
        else:
            result = value.result
            took = time.monotonic() - started
            expected.record(took)
            sizes = ", ".join(f"{w}×{h}" + (f" (in {len(settings.tiles((h, w)))} tiles)"
                                            if len(settings.tiles((h, w))) > 1 else "") for h, w in result.sizes)
            extra = [f"Estimated {expected.describe()} before starting; took {estimate.duration(took)}"]
            if result.history:  # colors-only paints nothing: no losses
                extra[:0] = [f"Weighted losses at the start: {_loss_line(result.start)}",
                             f"Weighted losses at the end: {_loss_line(result.final)}",
                             f"Style strength β/α = {settings.style_weight:.3g}, TV weight {settings.tv_weight:g}; "
                             f"colour: {settings.color}; sizes: {sizes}; {seed_text}"]
            if masks is not None:
                extra.insert(0, "Styled by region: " + ("each style in its own region" if len(masks) > 1
                                                        else "the painted region; the rest keeps the content"))
            yield result.image, plot(), prefix + _image_info(result, extra), {"result": result, "seed": seed}


def stylize(content_image, style_image, second_style_image=None, second_style_weight=0.5,
            style_strength=DEFAULT_STYLE_STRENGTH, tv_weight=DEFAULT_TV_WEIGHT, iterations=DEFAULTS.style_iterations,
            image_size=DEFAULTS.style_size, optimizer="lbfgs", color="style", multi_scale=DEFAULTS.style_scales,
            init="content", style_scale=1.0, pooling="max",
            seed=RANDOM_SEED, mask_editor=None, outside="keep the content",
            progress=gr.Progress(track_tqdm=True), request: gr.Request = None):
    """Neural style transfer; streams intermediate images and the loss curve. Yields (image, losses, info, last
    run), the losses as a table (step, term, log10 weighted loss) for a line plot; the last run (a gr.State, not
    part of the API) is what `continue_style` picks up.
    style_strength: log10(β/α), the style's weight against the content's (1 = 10×, the default).
    mask_editor: the mask editor's value (background + painted layers): the painted region gets the style image;
    `outside` it the content is kept, or the second style paints ("second style")."""
    if content_image is None:
        raise _user_error(NO_CONTENT)
    if style_image is None:
        raise _user_error(NO_STYLE)
    if init not in ("content", "noise", "style"):
        raise _user_error(f"Start from: choose content, noise or style (got {init!r}).")
    styles, blend, masks = _styles_and_masks(style_image, second_style_image, second_style_weight, mask_editor, outside)
    settings = style_settings(style_strength, tv_weight, iterations, image_size, optimizer, color,
                              multi_scale, style_scale, pooling, seed)
    yield from _run_style(content_image, styles, settings, blend=blend, masks=masks, init=init, progress=progress,
                          request=request, history=[])


def continue_style(content_image, style_image, second_style_image=None, second_style_weight=0.5,
                   style_strength=DEFAULT_STYLE_STRENGTH, tv_weight=DEFAULT_TV_WEIGHT,
                   iterations=DEFAULTS.style_iterations, image_size=DEFAULTS.style_size, optimizer="lbfgs",
                   color="style", multi_scale=DEFAULTS.style_scales, init="content", style_scale=1.0,
                   pooling="max", seed=RANDOM_SEED, mask_editor=None, outside="keep the content", last_run=None,
                   shown_image=None, progress=gr.Progress(track_tqdm=True), request: gr.Request = None):
    """Continue: `iterations` more at the final size, from the last result of this session (settings may have
    changed). With the same optimiser and size the optimiser's state goes along, so 100 + 100 is the same as 200 at
    once. A session with no run of its own (a shared link reopened, or its run dropped after 15 minutes) continues
    from `shown_image`, the result on the page, with a fresh optimiser, and says so."""
    fresh = not last_run
    if fresh and shown_image is None:
        raise _user_error("Nothing to continue yet: press Paint first (Continue starts from its result).")
    if content_image is None or style_image is None:
        raise _user_error("Continue needs the content and style images the result was painted from.")
    styles, blend, masks = _styles_and_masks(style_image, second_style_image, second_style_weight, mask_editor, outside)
    # coarse to fine already happened: continuing refines at the final size only, from where the last run ended
    settings = style_settings(style_strength, tv_weight, iterations, image_size, optimizer, color,
                              1, style_scale, pooling, seed)
    if fresh:
        previous, history, seed = shown_image, [], None
        prefix = (f"Continued for {settings.iterations} more iterations from the image shown (this session holds no "
                  "run of its own, e.g. a shared link: the optimiser starts afresh).\n\n")
    else:
        previous = last_run.get("result") or last_run["image"]
        history = [dict(h, step=i + 1) for i, h in enumerate(getattr(previous, "history", []))]
        carried = hasattr(previous, "resume") and previous.resume.get(optimizer) is not None
        prefix = (f"Continued for {settings.iterations} more iterations at the final size from the last result"
                  f"{' (with the optimiser’s state)' if carried else ''}.\n\n")
        seed = last_run.get("seed")
    yield from _run_style(content_image, styles, settings, blend=blend, masks=masks, init=previous, progress=progress,
                          request=request, history=history, prefix=prefix, seed=seed)


@lru_cache(maxsize=16)
def _clip_shape(path: str, max_frames: int) -> tuple[int, float]:
    """(frames styled, height / width) of an uploaded clip, from its header alone: this runs on every slider move,
    outside the queue, so it decodes nothing (and a clip over the limits is refused here already)."""
    header = checked_header(path)
    return min(header.frames, max_frames), header.height / header.width


def estimate_clip(clip=None, image_size=DEFAULTS.clip_size, iterations=DEFAULTS.clip_iterations, optimizer="lbfgs",
                  max_frames=DEFAULTS.clip_frames) -> str:
    """The time styling a clip would take: frames × iterations at this size (the first frame gets `iterations`,
    each later one `clip_frame_iterations` of them)."""
    try:
        frames = int(_bounded(max_frames, 2, MAX_CLIP_FRAMES, "Frames"))
        aspect = 0.75
        if clip is not None:
            frames, aspect = _clip_shape(str(clip), frames)
        settings = style_settings(DEFAULT_STYLE_STRENGTH, DEFAULT_TV_WEIGHT, iterations, image_size, optimizer, False,
                                  1, 1.0, "max", 0)
        expected = estimate.style_estimate(settings, aspect, frames=frames,
                                           frame_iterations=clip_frame_iterations(settings.iterations))
    except (gr.Error, ImageInputError, ValueError) as error:
        return f"⚠️ {getattr(error, 'message', error)}"
    return f"Styling {frames} frames will take {expected.describe()}."


def stylize_clip(clip, style_image, style_strength=DEFAULT_STYLE_STRENGTH, tv_weight=DEFAULT_TV_WEIGHT,
                 iterations=DEFAULT_CLIP_ITERATIONS, image_size=DEFAULTS.clip_size, optimizer="lbfgs",
                 color="style", style_scale=1.0, pooling="max", seed=RANDOM_SEED, max_frames=DEFAULTS.clip_frames,
                 temporal_weight=DEFAULT_TEMPORAL_WEIGHT,
                 progress=gr.Progress(track_tqdm=True), request: gr.Request = None):
    """Styles an animated GIF or a short MP4/WebM frame by frame (`genmods.style.style_video`): each frame starts
    from the previous styled one, with a temporal term where the input did not move. Streams each finished frame;
    yields (latest frame, MP4 path, GIF path, info), the files at the end."""
    if clip is None:
        raise _user_error(NO_CLIP)
    if style_image is None:
        raise _user_error(NO_CLIP_STYLE)
    settings = style_settings(style_strength, tv_weight, iterations, image_size, optimizer, color, 1,
                              style_scale, pooling, seed)
    frames = int(_bounded(max_frames, 2, MAX_CLIP_FRAMES, "Frames"))
    temporal = _bounded(temporal_weight, 0, MAX_TEMPORAL_WEIGHT, "Temporal weight")
    try:
        load_image(style_image, max_side=64, name="style image")
        # bad clips are refused here, before any styling; only the sampled frames are decoded, at the styled size
        read = read_clip(clip, max_frames=frames, max_side=settings.image_size)
    except (ImageInputError, ValueError) as error:
        raise _user_error(error) from None
    later = clip_frame_iterations(settings.iterations)
    expected = estimate.style_estimate(settings, read.frames[0].height / read.frames[0].width, frames=len(read.frames),
                                       frame_iterations=later)
    finished = []

    def job(callback):
        def report(progress_):
            if progress_.finished:
                finished.append(progress_.image)
            callback(progress_)
        return style_video(read.frames, style_image, settings, fps=read.fps, temporal_weight=temporal, callback=report,
                           max_frames=frames, frame_iterations=later)

    describe = lambda r: f"frame {r.frame}/{r.frames} · step {r.step}/{r.total_steps}"  # noqa: E731
    started = time.monotonic()
    for kind, value, report, left in _stream_job(job, progress, describe, "style", request,
                                                 estimate.StepClock(expected)):
        if kind == "preview":
            yield (value, gr.skip(), gr.skip(), _running_line(f"Styling {len(read.frames)} frames", expected)
                   + f"\n\nFrame {report.frame} of {report.frames} done.")
            continue
        end: JobEnd = value
        took = time.monotonic() - started
        styled = end.result.frames if not end.stopped else finished
        lines = [f"ℹ️ {note}" for note in read.notes]
        if end.stopped:
            lines.insert(0, _stopped_line(end, "iterations").replace(
                "the last intermediate image is kept as the result", f"{len(styled)} finished frames kept"))
        else:
            expected.record(took)
        if len(styled) < 2:
            yield (styled[-1] if styled else None), None, None, "\n\n".join(lines or ["No frame finished."])
            return
        folder = Path(tempfile.mkdtemp(prefix="genmods-clip-"))
        mp4 = save_animation(styled, folder / "styled.mp4", fps=read.fps)
        gif = save_animation(styled, folder / "styled.gif", fps=read.fps)
        if not end.stopped:
            result = end.result
            lines = [f"Weights: {result.weights.source}." if not result.weights.warning
                     else f"⚠️ **{result.weights.warning}**"] + lines + [f"ℹ️ {n}" for n in result.notes]
        lines.append(f"{len(styled)} frames at {read.fps:.3g} frames per second, {styled[0].width}×{styled[0].height} px; "
                     f"first frame {settings.iterations} iterations, each later one {later}; temporal weight "
                     f"{temporal:g}; seed {settings.seed}. Estimated {expected.describe()}; took {estimate.duration(took)}.")
        yield styled[-1], mp4, gif, "\n\n".join(lines)

__all__ = [
    "style_settings", "stylize", "continue_style", "sixteen_bit_png", "colour_mode", "stylize_clip", "estimate_style", "estimate_clip", "painted_region", "mask_canvas",
    "MAX_STYLE_ITERATIONS", "MAX_TV_WEIGHT", "STYLE_STRENGTH_RANGE", "DEFAULT_STYLE_STRENGTH", "MAX_TEMPORAL_WEIGHT",
    "OUTSIDE_CHOICES", "MAX_CLIP_FRAMES", "MAX_FRAMES",
]


def sixteen_bit_png(last_run):
    """The download button for the image shown as a 16-bit-per-channel PNG (for print): the finished result, or the
    image a stopped run reached (its full-precision pixels come with the last preview)."""
    last_run = last_run or {}
    result = last_run.get("result")
    pixels = getattr(result, "pixels", None) if result is not None else last_run.get("pixels")
    if pixels is None:
        return gr.DownloadButton(value=None, visible=False)
    folder = Path(tempfile.mkdtemp(prefix="genmods-style-"))
    height, width = pixels.shape[:2]
    path = save_image(pixels, folder / f"styled-{width}x{height}-16bit.png", bits=16)
    stopped = " of the stopped run's image" if result is None else ""
    return gr.DownloadButton(f"16-bit PNG{stopped}, {width}×{height} (for print)", value=path, visible=True)
