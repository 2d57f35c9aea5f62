"""What the Space's buttons call: plain Python functions over genmods that stream their results and
turn every bad input into a `gr.Error` a person understands. `app.py` only lays out components and
wires them to these; `gradio_client` reaches the same functions through their `api_name`s.
"""

import logging
import math
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from types import SimpleNamespace
from functools import lru_cache
from pathlib import Path

import gradio as gr
import torch

from ..dream import PRESET_NAMES, deep_dream, dream_zoom, parse_layer_weights, save_animation
from ..style import DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, style_transfer
from ..text.batching import TextBatcher
from ..text.generate import SEED_RANGE, PromptError, TextRequest, prepare_prompt
from ..text.sampling import temperature_label
from ..vision.images import ImageInputError, load_image
from .jobs import JobStopped, StopButtons, run_streaming
from .plots import loss_table, next_character_table

logger = logging.getLogger(__name__)
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
        raise _user_error(f"{name} must be a number.") from None
    if not low <= value <= high:
        raise _user_error(f"{name} must be between {low:g} and {high:g} (got {value:g}).")
    return value


RANDOM_SEED = -1  # the seed inputs' default: a fresh seed for every run


def _seed(value) -> int:
    """-1 or empty: a fresh random seed. Any other whole number is a seed, taken modulo 2**32 (the
    generators' range), like numpy does. The seed used is reported so the result can be reproduced."""
    if value is None or value == "" or value == RANDOM_SEED:
        return secrets.randbelow(SEED_RANGE)
    try:
        return int(value) % SEED_RANGE
    except (TypeError, ValueError, OverflowError):  # text, NaN, infinity
        raise _user_error("The random seed must be a whole number (−1 for a new one each run).") from None


def _session(request) -> str | None:
    return getattr(request, "session_hash", None)


STOP = StopButtons()


def stop_button(tab: str):
    """What a tab's Stop button calls: ends the visitor's running job on that tab at its next step.
    (A plain function per tab: Gradio finds the gr.Request parameter through the annotations, which a
    functools.partial does not carry.)"""
    def stop(request: gr.Request) -> None:
        STOP.press(_session(request), tab)
    stop.__name__ = f"stop_{tab}"
    return stop


# ---------------------------------------------------------------------------------------------- text

@lru_cache(maxsize=4)
def load_text_model(stage: str):
    """(model, tokenizer) for a training stage, on the accelerate device, loaded once."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .. import text  # noqa: F401  (registers the char-LSTM with the Auto classes)
    from ..device import default_device

    if stage not in TEXT_MODELS:
        raise _user_error(f"Unknown model stage {stage!r}: choose one of {', '.join(TEXT_MODELS)}.")
    variable, folder = TEXT_MODELS[stage]
    source = os.environ.get(variable) or str(folder)
    if not os.environ.get(variable) and not (folder / "config.json").exists():
        raise _user_error(f"The {stage} model is missing ({folder}); train one with `python -m genmods.text.train`.")
    try:
        model = AutoModelForCausalLM.from_pretrained(source).to(default_device()).eval()
        tokenizer = AutoTokenizer.from_pretrained(source)
    except Exception as error:  # a Hub id that cannot be reached, a folder that is not a model
        raise _user_error(f"Could not load the {stage} model from {source}: {type(error).__name__}: {error}") from None
    return model, tokenizer


@lru_cache(maxsize=4)
def text_batcher(stage: str) -> TextBatcher:
    """The micro-batcher that serves every visitor's text requests for a model stage together."""
    return TextBatcher(*load_text_model(stage))


def generate_text(prompt, stage="converged", length=400, temperature_low=0.2, temperature_mid=0.5,
                  temperature_high=1.0, seed=RANDOM_SEED, greedy=False, request: gr.Request = None):
    """Streams three continuations of `prompt` side by side, one per temperature, plus the next-character
    distribution after the prompt, reweighted at each temperature (a table for a line plot).
    Yields (text, text, text, distribution, info, walk): `walk` is what the next-character view needs to
    show the distribution at any position of the middle text (a gr.State: not part of the API).
    Requests from many visitors are generated together in one batch (`text_batcher`)."""
    temperatures = [_bounded(t, 0.01, MAX_TEMPERATURE, "Temperature")
                    for t in (temperature_low, temperature_mid, temperature_high)]
    length = int(_bounded(length, 1, MAX_TEXT_LENGTH, "Length"))
    seed = _seed(seed)
    model, tokenizer = load_text_model(stage)
    try:
        prepared = prepare_prompt(tokenizer, prompt, max_length=MAX_PROMPT_LENGTH)
    except PromptError as error:
        raise _user_error(error) from None
    info = f"**Conditioning text, as the model sees it:** `{prepared.text[-300:]}`"
    if prepared.dropped:
        dropped = " ".join(repr(c) for c in prepared.dropped)
        gr.Warning(f"Dropped characters the model has never seen: {dropped}")
        info += f"\n\n⚠️ Dropped characters the model has never seen: {dropped}"
    if greedy:
        info += "\n\nGreedy decoding: the most likely character every time, so the three columns agree."
    info += f"\n\nSeed {seed} (enter it as the random seed to get the same texts again)."
    request_ = TextRequest(prepared, tuple(temperatures), length, seed, bool(greedy), max_time=TEXT_TIME_LIMIT,
                           update_interval=STREAM_INTERVAL)
    stop = STOP.register(_session(request), "text", request_.stop)
    # Every update carries every output: Gradio builds a whole component for each gr.skip(), which under
    # a burst of visitors costs more than sending an unchanged value (benchmarks/serving_load.py).
    plot = None
    try:
        updates = text_batcher(stage).stream(request_)
        next(updates)  # submitted before the first update goes out, so requests of a burst arrive together
        yield "", "", "", plot, info, None
        for request_ in updates:  # at most one update every STREAM_INTERVAL
            if plot is None and request_.distribution is not None:
                plot = next_character_table(request_.distribution, tokenizer, temperatures)
            if not request_.finished:
                yield *request_.texts, plot, info, None
        done = len(request_.texts[0])
        if request_.stopped_by == "stop":
            info += f"\n\n⏹ **Stopped after {done} of {length} characters** (you pressed Stop)."
        elif request_.stopped_by == "time":
            info += f"\n\n⏹ **Stopped after {done} of {length} characters** (time limit {TEXT_TIME_LIMIT:.0f} s)."
        walk = dict(stage=stage, prompt=prepared.text, text=request_.texts[1], temperatures=temperatures,
                    probs=torch.stack([p[1] for p in request_.step_probs[:done]]) if done else None)
        yield *request_.texts, plot, info, walk
    finally:
        STOP.release(_session(request), "text", stop)


UNSURE = 0.5  # the next-character view opens where the model's top character has less than this probability


def first_unsure_position(walk) -> int:
    """The first position of the middle text where the model was unsure (top p < UNSURE at T = 1), else 0."""
    if not walk or walk.get("probs") is None:
        return 0
    unsure = (walk["probs"].max(dim=-1).values < UNSURE).nonzero()
    return int(unsure[0]) if len(unsure) else 0


def next_character_at(walk, position=None):
    """The next-character view at `position` (1-based) of the middle text; None: the first unsure one.
    Returns (slider update, context line, distribution table)."""
    if not walk or walk.get("probs") is None:
        return gr.Slider(value=1, maximum=1, interactive=False), "", gr.skip()
    _, tokenizer = load_text_model(walk["stage"])
    probs, text = walk["probs"], walk["text"]
    index = first_unsure_position(walk) if position is None else int(min(max(int(position) - 1, 0), len(probs) - 1))
    before = (walk["prompt"] + text[:index])[-60:].replace("`", "'").replace("\n", "⏎")
    chosen = text[index]
    shown = {" ": "␣", "\n": "⏎"}.get(chosen, chosen)
    p = float(probs[index, tokenizer.convert_tokens_to_ids(chosen)])
    top = float(probs[index].max())
    line = (f"**Character {index + 1} of {len(probs)}** of the {temperature_label(walk['temperatures'][1])} text. "
            f"After `…{before}` the model gave its favourite {top:.0%}; the text drew **{shown}** "
            f"(p = {p:.1%} before reweighting).")
    table = next_character_table(probs[index], tokenizer, walk["temperatures"])
    return gr.Slider(value=index + 1, minimum=1, maximum=len(probs), interactive=True), line, table


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


@dataclass
class JobEnd:
    """How a streamed image job ended: its result, or the last image it showed when stopped early."""

    result: object = None
    image: object = None  # the last intermediate image (stopped early), or None
    report: object = None  # the last step report
    stopped: str | None = None  # "stopped" (the Stop button) or the time-limit reason


# While an image job runs, Gradio's progress overlay (the step, the queue position, a bar) sits on the info
# panel only (show_progress_on in app.py), so the streamed images and the loss curve stay in view and the
# progress is shown once. The panel itself holds one word under it (an empty panel is hidden, overlay too).


def _stream_job(job, progress, describe, tab: str, request=None):
    """Runs `job(callback)` in a worker, reporting progress; yields ("preview", image, report) and finally
    ("end", JobEnd). Stop (the tab's button) or the time limit end it early with the last image kept.
    Input errors become gr.Error."""
    stop = STOP.register(_session(request), tab)
    last_image = last_report = None
    try:
        for update in run_streaming(job, time_limit=IMAGE_TIME_LIMIT, stop=stop):
            if update.kind == "done":
                yield "end", JobEnd(result=update.value, report=last_report), None
                return
            last_report = report = update.value
            if progress is not None:
                progress(report.step / report.total_steps, desc=describe(report))
            if report.image is not None:
                last_image = report.image
                yield "preview", report.image, report
    except (ImageInputError, ValueError, FileNotFoundError) as error:
        raise _user_error(error) from None
    except JobStopped as stopped:
        yield "end", JobEnd(image=last_image, report=last_report, stopped=stopped.reason), None
    finally:
        STOP.release(_session(request), tab, stop)


def _user_error(error) -> gr.Error:
    """A bad input: one line in the server log (not Gradio's traceback), the message on the page."""
    logger.info("refused: %s", error)
    return gr.Error(str(error), print_exception=False)


def _stopped_line(end: JobEnd, unit: str = "steps") -> str:
    done, total = (end.report.step, end.report.total_steps) if end.report is not None else (0, "?")
    why = "you pressed Stop" if end.stopped == "stopped" else end.stopped
    kept = "the last intermediate image is kept as the result" if end.image is not None else "no image yet"
    return f"⏹ **Stopped after {done} of {total} {unit}** ({why}); {kept}."


def check_upload(payload):
    """Runs when an image is uploaded (before any button is pressed): a file that is not a usable image is
    removed from the input at once with the reason, instead of sitting there as a broken picture.
    Takes Gradio's raw file payload (the event has preprocess=False)."""
    path = payload.get("path") if isinstance(payload, dict) else getattr(payload, "path", None)
    if not path:
        return gr.skip()
    try:
        load_image(path, max_side=64)  # the same checks as a run: format, damage, pixel count, minimum size
    except ImageInputError as error:
        logger.info("refused upload: %s", error)
        gr.Warning(str(error))
        return None
    return path  # sent back, so the input is part of the session's state and a shared link reopens it


def _dream_settings(backbone, preset, custom_layers, octaves, octave_scale, iterations, step, jitter, tile_size,
                    seed, max_side, layer_balance="auto"):
    if preset == "custom":
        try:
            layers = parse_layer_weights(custom_layers or "")
        except ValueError as error:
            raise _user_error(str(error)) from None
    elif preset in PRESET_NAMES:
        layers = preset
    else:
        raise _user_error(f"Unknown layer preset {preset!r}.")
    tile = int(_bounded(tile_size or 0, 0, 4096, "Tile size"))
    if layer_balance not in ("auto", "raw", "relative"):
        raise _user_error(f"Unknown layer balance {layer_balance!r}: choose auto, raw or relative.")
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
          iterations=20, step=0.01, jitter=0, tile_size=0, guide_image=None, seed=RANDOM_SEED, max_side=512,
          layer_balance="auto", progress=gr.Progress(track_tqdm=True), request: gr.Request = None):
    """DeepDream on `image`; streams intermediate images. Yields (image, info).
    step: mean change per pixel per step in [-1, 1] units (0.01 ≈ 1.27 grey levels), on every backbone.
    seed: -1 draws a fresh one (reported in the info)."""
    if image is None:
        raise _user_error("Upload an image (or pick an example) to dream on.")
    settings = _dream_settings(backbone, preset, custom_layers, octaves, octave_scale, iterations, step, jitter,
                               tile_size, seed, max_side, layer_balance)
    job = lambda callback: deep_dream(image, guide=guide_image, callback=callback, **settings)  # noqa: E731
    for kind, value, report in _stream_job(job, progress, _describe_dream, "dream", request):
        if kind == "preview":
            yield value, "Dreaming…"
        elif value.stopped:
            yield value.image, _stopped_line(value) + f"\n\nSeed {settings['seed']}."
        else:
            result = value.result
            yield result.image, _image_info(result, [
                f"Octaves (h×w): {', '.join(f'{h}×{w}' for h, w in result.octave_shapes)}",
                f"Seed {settings['seed']} (enter it as the random seed to repeat this dream)"])


def compare_layers(image, backbone="inception_v3", octaves=3, octave_scale=1.4, iterations=20, step=0.01, jitter=0,
                   seed=RANDOM_SEED, max_side=512, progress=gr.Progress(track_tqdm=True), request: gr.Request = None):
    """The same dream with the low, mid and high presets, side by side. Yields (gallery, info)."""
    if image is None:
        raise _user_error("Upload an image (or pick an example) to dream on.")
    seed = _seed(seed)
    gallery, layer_lines, info = [], [], ""
    for preset in ("low", "mid", "high"):
        settings = _dream_settings(backbone, preset, "", octaves, octave_scale, iterations, step, jitter, 0, seed,
                                   max_side)
        job = lambda callback, s=settings: deep_dream(image, callback=callback, **s)  # noqa: E731
        describe = lambda r, p=preset: f"{p} layers · " + _describe_dream(r)  # noqa: E731
        for kind, value, report in _stream_job(job, progress, describe, "dream", request):
            if kind == "preview":
                yield gallery + [(value, f"{preset} layers…")], "Dreaming…"
            elif value.stopped:
                if value.image is not None:
                    gallery.append((value.image, f"{preset} (stopped)"))
                yield gallery, _stopped_line(value) + f" ({preset} layers)"
                return
            else:
                gallery.append((value.result.image, preset))  # short captions: the layers are listed below
                layer_lines.append(f"{preset}: {', '.join(value.result.layers)}")
                info = _image_info(value.result)
        yield list(gallery), info
    layers = "\n".join(f"- {line}" for line in layer_lines)
    yield gallery, (f"{info}\n\nLayers:\n{layers}\n\nSeed {seed}.\n\n"
                    "Lower layers give geometric patterns; higher layers give object-like ones.")


def zoom_animation(image, backbone="inception_v3", preset="keras", custom_layers="", frames=8, zoom_factor=1.05,
                   octaves=2, iterations=10, step=0.01, seed=RANDOM_SEED, max_side=384,
                   progress=gr.Progress(track_tqdm=True), request: gr.Request = None):
    """A dream-zoom GIF: each frame dreamed from the previous one, slightly zoomed. Streams each finished
    frame; yields (gif path or frame, info), the GIF last."""
    if image is None:
        raise _user_error("Upload an image (or pick an example) to dream on.")
    frames = int(_bounded(frames, 2, 48, "Frames"))
    zoom_factor = _bounded(zoom_factor, 1.0, 2.0, "Zoom factor")
    settings = _dream_settings(backbone, preset, custom_layers, octaves, 1.4, iterations, step, 0, 0, seed, max_side)
    seed_value = settings.pop("seed")
    finished = []

    def job(callback):
        def on_frame(done, total, result):
            finished.append(result)
            callback(SimpleNamespace(step=done, total_steps=total, image=result.image))
        # the step callback checks Stop and the time limit between ascent steps, not only between frames
        step_check = lambda report: callback(None)  # noqa: E731
        return dream_zoom(image, frames=frames, zoom_factor=zoom_factor, seed=seed_value, callback=on_frame,
                          step_callback=step_check, **settings)

    describe = lambda r: f"frame {r.step}/{r.total_steps}"  # noqa: E731
    started = time.monotonic()
    for kind, value, report in _stream_job(job, progress, describe, "dream", request):
        if kind == "preview":
            yield value, "Dreaming…"
            continue
        images = value.result if not value.stopped else [r.image for r in finished]
        if len(images) < 2:
            yield value.image, _stopped_line(value, "frames")
            return
        path = Path(tempfile.mkdtemp(prefix="genmods-zoom-")) / "dream-zoom.gif"
        save_animation(images, path)
        result = finished[-1]
        result.seconds = time.monotonic() - started
        extra = [f"{len(images)} frames, zoom ×{zoom_factor:g} per frame, seed {seed_value}"]
        if value.stopped:
            extra.insert(0, _stopped_line(value, "frames").replace("the last intermediate image is kept as the result",
                                                                    "the GIF holds the frames made so far"))
        yield str(path), _image_info(result, extra)


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
