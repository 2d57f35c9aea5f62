"""What the Space's buttons call: plain Python functions over genmods that stream their results and
turn every bad input into a `gr.Error` a person understands. `app.py` only lays out components and
wires them to these; `gradio_client` reaches the same functions through their `api_name`s.
"""

import math
import os
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import gradio as gr

from ..dream import PRESET_NAMES, deep_dream, dream_zoom, parse_layer_weights, save_animation
from ..style import DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, style_transfer
from ..text.batching import TextBatcher
from ..text.generate import SEED_RANGE, PromptError, TextRequest, prepare_prompt
from ..vision.images import ImageInputError
from .jobs import JobStopped, run_streaming
from .plots import loss_figure, next_character_table

REPO_ROOT = Path(__file__).resolve().parents[2]
TEXT_MODELS = {  # stage → local folder; an environment variable can name a Hub repo (or folder) instead
    "converged": ("GENMODS_TEXT_MODEL", REPO_ROOT / "models" / "char-lstm-nietzsche"),
    "early": ("GENMODS_TEXT_MODEL_EARLY", REPO_ROOT / "models" / "char-lstm-nietzsche-early"),
}

# Limits that keep a shared Space responsive; sliders in app.py use the same bounds.
MAX_TEXT_LENGTH = 2000
MAX_PROMPT_LENGTH = 2000  # characters of conditioning text, for the textbox and every API call
MAX_TEMPERATURE = 3.0
MAX_DREAM_ITERATIONS = 100
MAX_OCTAVES = 6
MAX_STYLE_ITERATIONS = 500
MAX_IMAGE_SIDE = 1024
MAX_TV_WEIGHT = 100.0  # where total variation flattens the picture (docs/calibration.md)
STYLE_STRENGTH_RANGE = (-1.0, 3.0)  # log10(β/α): 0.1× … 1000× the content's weight
DEFAULT_STYLE_STRENGTH = math.log10(DEFAULT_STYLE_WEIGHT)
TEXT_TIME_LIMIT = 60.0
IMAGE_TIME_LIMIT = float(os.environ.get("GENMODS_IMAGE_TIME_LIMIT", 600))
STREAM_INTERVAL = 0.25  # seconds between streamed text updates (each one costs the server more than a step)
# Serving (README, "On a Space"): text handlers only wait on the micro-batcher, so many run at once and
# their requests share one generate(); image jobs take turns on the one device; the queue holds a burst.
TEXT_CONCURRENCY = 32
QUEUE_SIZE = 96
SERVER_THREADS = 64  # Gradio's thread pool (40 by default) must cover TEXT_CONCURRENCY + image jobs


def _bounded(value, low, high, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a number.") from None
    if not low <= value <= high:
        raise gr.Error(f"{name} must be between {low:g} and {high:g} (got {value:g}).")
    return value


def _seed(value) -> int:
    """Any whole number is a seed: taken modulo 2**32 (the generators' range), like numpy does."""
    try:
        return int(value or 0) % SEED_RANGE
    except (TypeError, ValueError, OverflowError):  # text, NaN, infinity
        raise gr.Error("The random seed must be a whole number.") from None


# ---------------------------------------------------------------------------------------------- text

@lru_cache(maxsize=4)
def load_text_model(stage: str):
    """(model, tokenizer) for a training stage, on the accelerate device, loaded once."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .. import text  # noqa: F401  (registers the char-LSTM with the Auto classes)
    from ..device import default_device

    if stage not in TEXT_MODELS:
        raise gr.Error(f"Unknown model stage {stage!r}: choose one of {', '.join(TEXT_MODELS)}.")
    variable, folder = TEXT_MODELS[stage]
    source = os.environ.get(variable) or str(folder)
    if not os.environ.get(variable) and not (folder / "config.json").exists():
        raise gr.Error(f"The {stage} model is missing ({folder}); train one with `python -m genmods.text.train`.")
    try:
        model = AutoModelForCausalLM.from_pretrained(source).to(default_device()).eval()
        tokenizer = AutoTokenizer.from_pretrained(source)
    except Exception as error:  # a Hub id that cannot be reached, a folder that is not a model
        raise gr.Error(f"Could not load the {stage} model from {source}: {type(error).__name__}: {error}") from None
    return model, tokenizer


@lru_cache(maxsize=4)
def text_batcher(stage: str) -> TextBatcher:
    """The micro-batcher that serves every visitor's text requests for a model stage together."""
    return TextBatcher(*load_text_model(stage))


def generate_text(prompt, stage="converged", length=400, temperature_low=0.2, temperature_mid=0.5,
                  temperature_high=1.0, seed=0, greedy=False):
    """Streams three continuations of `prompt` side by side, one per temperature, plus the plot of the
    next-character distribution reweighted at each temperature. Yields (text, text, text, plot, info).
    Requests from many visitors are generated together in one batch (`text_batcher`)."""
    temperatures = [_bounded(t, 0.01, MAX_TEMPERATURE, "Temperature")
                    for t in (temperature_low, temperature_mid, temperature_high)]
    length = int(_bounded(length, 1, MAX_TEXT_LENGTH, "Length"))
    seed = _seed(seed)
    model, tokenizer = load_text_model(stage)
    try:
        prepared = prepare_prompt(tokenizer, prompt, max_length=MAX_PROMPT_LENGTH)
    except PromptError as error:
        raise gr.Error(str(error)) from None
    info = f"**Conditioning text, as the model sees it:** `{prepared.text}`"
    if prepared.dropped:
        dropped = " ".join(repr(c) for c in prepared.dropped)
        gr.Warning(f"Dropped characters the model has never seen: {dropped}")
        info += f"\n\n⚠️ Dropped characters the model has never seen: {dropped}"
    if greedy:
        info += "\n\nGreedy decoding: the most likely character every time, so the three columns agree."
    request = TextRequest(prepared, tuple(temperatures), length, seed, bool(greedy), max_time=TEXT_TIME_LIMIT,
                          update_interval=STREAM_INTERVAL)
    # Every update carries every output: Gradio builds a whole component for each gr.skip(), which under
    # a burst of visitors costs more than sending an unchanged value (benchmarks/serving_load.py).
    plot = None
    updates = text_batcher(stage).stream(request)
    next(updates)  # submitted before the first update goes out, so requests of a burst arrive together
    yield "", "", "", plot, info
    for request in updates:  # at most one update every STREAM_INTERVAL
        if plot is None and request.distribution is not None:
            plot = next_character_table(request.distribution, tokenizer, temperatures)
        if request.stopped_by == "time":
            info += f"\n\nStopped after {len(request.texts[0])} characters (time limit {TEXT_TIME_LIMIT:.0f} s)."
        yield *request.texts, plot, info


# ------------------------------------------------------------------------------------------- images

def _image_info(result, extra: list[str] = ()) -> str:
    lines = []
    if result.weights.warning:
        lines.append(f"⚠️ **{result.weights.warning}**")
    else:
        lines.append(f"Weights: {result.weights.source}.")
    lines += [f"ℹ️ {note}" for note in list(result.notes) + list(extra)]
    lines.append(f"Done in {result.seconds:.1f} s.")
    return "\n\n".join(lines)


def _stream_job(job, progress, describe):
    """Runs `job(callback)` in a worker, reporting progress; yields ("preview", image) and finally
    ("done", result). Maps input errors and the time limit to gr.Error."""
    try:
        for update in run_streaming(job, time_limit=IMAGE_TIME_LIMIT):
            if update.kind == "done":
                yield "done", update.value
                return
            report = update.value
            if progress is not None:
                progress(report.step / report.total_steps, desc=describe(report))
            if report.image is not None:
                yield "preview", report.image
    except (ImageInputError, ValueError, FileNotFoundError) as error:
        raise gr.Error(str(error)) from None
    except JobStopped as stopped:
        raise gr.Error(f"Stopped: {stopped.reason}. Try fewer iterations, fewer octaves or a smaller image.") from None


def _dream_settings(backbone, preset, custom_layers, octaves, octave_scale, iterations, step, jitter, tile_size,
                    seed, max_side, layer_balance="auto"):
    if preset == "custom":
        try:
            layers = parse_layer_weights(custom_layers or "")
        except ValueError as error:
            raise gr.Error(str(error)) from None
    elif preset in PRESET_NAMES:
        layers = preset
    else:
        raise gr.Error(f"Unknown layer preset {preset!r}.")
    tile = int(_bounded(tile_size or 0, 0, 4096, "Tile size"))
    if layer_balance not in ("auto", "raw", "relative"):
        raise gr.Error(f"Unknown layer balance {layer_balance!r}: choose auto, raw or relative.")
    return dict(layer_balance=layer_balance,
        backbone=backbone, layers=layers, octaves=int(_bounded(octaves, 1, MAX_OCTAVES, "Octaves")),
        octave_scale=_bounded(octave_scale, 1.05, 3.0, "Octave scale"),
        iterations=int(_bounded(iterations, 0, MAX_DREAM_ITERATIONS, "Iterations")),
        step=_bounded(step, 1e-4, 1.0, "Step"), jitter=int(_bounded(jitter, 0, 256, "Jitter")),
        tile_size=tile or None, seed=_seed(seed), max_side=int(_bounded(max_side, 64, MAX_IMAGE_SIDE, "Image size")),
    )


def _describe_dream(report):
    return f"octave {report.octave}/{report.octaves} · step {report.step}/{report.total_steps} · loss {report.loss:.4g}"


def dream(image, backbone="inception_v3", preset="keras", custom_layers="", octaves=3, octave_scale=1.4,
          iterations=20, step=0.01, jitter=0, tile_size=0, guide_image=None, seed=0, max_side=512,
          layer_balance="auto", progress=gr.Progress()):
    """DeepDream on `image`; streams intermediate images. Yields (image, info).
    step: mean change per pixel per step in [-1, 1] units (0.01 ≈ 1.27 grey levels), on every backbone."""
    if image is None:
        raise gr.Error("Upload an image (or pick an example) to dream on.")
    settings = _dream_settings(backbone, preset, custom_layers, octaves, octave_scale, iterations, step, jitter,
                               tile_size, seed, max_side, layer_balance)
    job = lambda callback: deep_dream(image, guide=guide_image, callback=callback, **settings)  # noqa: E731
    for kind, value in _stream_job(job, progress, _describe_dream):
        if kind == "preview":
            yield value, "Dreaming…"
        else:
            yield value.image, _image_info(value, [f"Octaves (h×w): {', '.join(f'{h}×{w}' for h, w in value.octave_shapes)}"])


def compare_layers(image, backbone="inception_v3", octaves=3, octave_scale=1.4, iterations=20, step=0.01, jitter=0,
                   seed=0, max_side=512, progress=gr.Progress()):
    """The same dream with the low, mid and high presets, side by side. Yields (gallery, info)."""
    if image is None:
        raise gr.Error("Upload an image (or pick an example) to dream on.")
    gallery, info = [], []
    for preset in ("low", "mid", "high"):
        settings = _dream_settings(backbone, preset, "", octaves, octave_scale, iterations, step, jitter, 0, seed,
                                   max_side)
        job = lambda callback, s=settings: deep_dream(image, callback=callback, **s)  # noqa: E731
        for kind, value in _stream_job(job, progress, lambda r, p=preset: f"{p} layers · " + _describe_dream(r)):
            if kind == "preview":
                yield gallery + [(value, f"{preset} layers…")], "Dreaming…"
            else:
                layers = ", ".join(value.layers)
                gallery.append((value.image, f"{preset}: {layers}"))
                info = _image_info(value)
        yield list(gallery), info
    yield gallery, info + "\n\nLower layers give geometric patterns; higher layers give object-like ones."


def zoom_animation(image, backbone="inception_v3", preset="keras", custom_layers="", frames=8, zoom_factor=1.05,
                   octaves=2, iterations=10, step=0.01, seed=0, max_side=384, progress=gr.Progress()):
    """A dream-zoom GIF: each frame dreamed from the previous one, slightly zoomed. Returns (gif path, info)."""
    if image is None:
        raise gr.Error("Upload an image (or pick an example) to dream on.")
    frames = int(_bounded(frames, 2, 48, "Frames"))
    settings = _dream_settings(backbone, preset, custom_layers, octaves, 1.4, iterations, step, 0, 0, seed, max_side)
    seed_value = settings.pop("seed")
    started = time.monotonic()
    last_result = {}

    def on_frame(done, total, result):
        last_result["result"] = result
        if progress is not None:
            progress(done / total, desc=f"frame {done}/{total}")
        if time.monotonic() - started > IMAGE_TIME_LIMIT:
            raise JobStopped(f"time limit of {IMAGE_TIME_LIMIT:.0f} s reached")

    try:
        images = dream_zoom(image, frames=frames, zoom_factor=_bounded(zoom_factor, 1.0, 2.0, "Zoom factor"),
                            seed=seed_value, callback=on_frame, **settings)
    except (ImageInputError, ValueError) as error:
        raise gr.Error(str(error)) from None
    except JobStopped as stopped:
        raise gr.Error(f"Stopped: {stopped.reason}. Try fewer frames or iterations.") from None
    path = Path(tempfile.mkdtemp(prefix="genmods-zoom-")) / "dream-zoom.gif"
    save_animation(images, path)
    result = last_result["result"]
    result.seconds = time.monotonic() - started
    return str(path), _image_info(result, [f"{frames} frames, zoom ×{zoom_factor} per frame"])


def _describe_style(report):
    loss = "" if report.losses is None else f" · loss {report.losses['total']:.4g}"
    return f"scale {report.scale}/{report.scales} · step {report.step}/{report.total_steps}{loss}"


def _loss_line(losses: dict) -> str:
    return f"content {losses['content']:.3g} · style {losses['style']:.3g} · TV {losses['tv']:.3g} (total {losses['total']:.3g})"


def stylize(content_image, style_image, second_style_image=None, second_style_weight=0.5,
            style_strength=DEFAULT_STYLE_STRENGTH, tv_weight=DEFAULT_TV_WEIGHT, iterations=100, image_size=384,
            optimizer="lbfgs", preserve_color=False, multi_scale=1, init="content", style_scale=1.0, pooling="max",
            seed=0, progress=gr.Progress()):
    """Neural style transfer; streams intermediate images and the loss curve. Yields (image, plot, info).
    style_strength: log10(β/α), the style's weight against the content's (1 = 10×, the default)."""
    if content_image is None:
        raise gr.Error("Upload a content image (or pick an example).")
    if style_image is None:
        raise gr.Error("Upload a style image (or pick an example).")
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

    for kind, value in _stream_job(job, progress, _describe_style):
        if kind == "preview":
            # the loss curve is redrawn only once it has a line to show (matplotlib takes a few 100 ms)
            yield value, loss_figure(list(history)) if len(history) > 1 else gr.skip(), "Painting…"
        else:
            extra = [f"Weighted losses at the start: {_loss_line(value.start)}",
                     f"Weighted losses at the end: {_loss_line(value.final)}",
                     f"Style strength β/α = {settings['style_weight']:.3g}, TV weight {settings['tv_weight']:g}; "
                     f"sizes: {', '.join(f'{w}×{h}' for h, w in value.sizes)}"]
            yield value.image, loss_figure(history), _image_info(value, extra)
