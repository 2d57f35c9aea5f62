"""The DeepDream tab: a dream, the low/mid/high layer comparison and the zoom animation, streamed."""

import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from ..dream import PRESET_NAMES, DreamSettings, deep_dream, dream_zoom, parse_layer_weights, save_animation
from ..vision.backbones import SUPPORTED_BACKBONES
from . import estimate
from .common import (
    MAX_IMAGE_SIDE, RANDOM_SEED, _aspect, _bounded, _image_info, _longer_side, _seed, _stopped_line, _stream_job,
    _user_error,
)

MAX_DREAM_ITERATIONS = 100
MAX_OCTAVES = 6


def dream_settings(backbone, preset, custom_layers, octaves, octave_scale, iterations, step, jitter, tile_size,
                   seed, max_side, layer_balance="auto") -> DreamSettings:
    """The tab's controls as the library's settings, each checked against its slider's range (a message naming the
    control): the preset radio and the custom-layers text become `layers`."""
    if preset == "custom":
        try:
            layers = parse_layer_weights(custom_layers or "")
        except ValueError as error:
            raise _user_error(str(error)) from None
    elif preset in PRESET_NAMES:
        layers = preset
    else:
        raise _user_error(f"Unknown layer preset {preset!r}.")
    if layer_balance not in ("auto", "raw", "relative"):
        raise _user_error(f"Unknown layer balance {layer_balance!r}: choose auto, raw or relative.")
    if backbone not in SUPPORTED_BACKBONES:
        raise _user_error(f"Unknown backbone {backbone!r}.")
    try:
        return DreamSettings(
            backbone=backbone, layers=layers, layer_balance=layer_balance,
            octaves=int(_bounded(octaves, 1, MAX_OCTAVES, "Octaves")),
            octave_scale=_bounded(octave_scale, 1.05, 3.0, "Octave scale"),
            iterations=int(_bounded(iterations, 0, MAX_DREAM_ITERATIONS, "Iterations")),
            step=_bounded(step, 1e-4, 1.0, "Step"), jitter=int(_bounded(jitter, 0, 256, "Jitter")),
            tile_size=int(_bounded(tile_size or 0, 0, 4096, "Tile size")) or None, seed=_seed(seed),
            max_side=int(_bounded(max_side, 64, MAX_IMAGE_SIDE, "Image size")),
        )
    except ValueError as error:  # e.g. a custom layer the backbone does not have
        raise _user_error(error) from None


def estimate_dream(image=None, backbone="inception_v3", octaves=3, octave_scale=1.4, iterations=20, max_side=512) -> str:
    """The time a Dream would take with these settings, as a line for the page (and the API)."""
    try:
        seconds = _dream_seconds(image, backbone, octaves, octave_scale, iterations, max_side)
    except gr.Error as error:
        return f"⚠️ {error.message}"
    return f"Dream will take {estimate.describe(seconds)}."


def _dream_seconds(image, backbone, octaves, octave_scale, iterations, max_side) -> float:
    if backbone not in estimate.SUPPORTED_BACKBONES:
        raise _user_error(f"Unknown backbone {backbone!r}.")
    side = int(_bounded(max_side, 64, MAX_IMAGE_SIDE, "Image size"))
    return estimate.dream_seconds(min(side, _longer_side(image, side)),  # a smaller image is not upscaled
                                  int(_bounded(octaves, 1, MAX_OCTAVES, "Octaves")),
                                  _bounded(octave_scale, 1.05, 3.0, "Octave scale"),
                                  int(_bounded(iterations, 0, MAX_DREAM_ITERATIONS, "Iterations")), backbone,
                                  _aspect(image))


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
    settings = dream_settings(backbone, preset, custom_layers, octaves, octave_scale, iterations, step, jitter,
                              tile_size, seed, max_side, layer_balance)
    expected = estimate.describe(_dream_seconds(image, backbone, octaves, octave_scale, iterations, max_side))
    started = time.monotonic()
    job = lambda callback: deep_dream(image, settings, guide=guide_image, callback=callback)  # noqa: E731
    for kind, value, report in _stream_job(job, progress, _describe_dream, "dream", request):
        if kind == "preview":
            yield value, f"Dreaming… ({expected})"
        elif value.stopped:
            yield value.image, _stopped_line(value) + f"\n\nSeed {settings.seed}."
        else:
            result = value.result
            yield result.image, _image_info(result, [
                f"Octaves (h×w): {', '.join(f'{h}×{w}' for h, w in result.octave_shapes)}",
                f"Seed {settings.seed} (enter it as the random seed to repeat this dream)",
                f"Estimated {expected} before starting; took {time.monotonic() - started:.0f} s"])


def compare_layers(image, backbone="inception_v3", octaves=3, octave_scale=1.4, iterations=20, step=0.01, jitter=0,
                   seed=RANDOM_SEED, max_side=512, progress=gr.Progress(track_tqdm=True), request: gr.Request = None):
    """The same dream with the low, mid and high presets, side by side. Yields (gallery, info)."""
    if image is None:
        raise _user_error("Upload an image (or pick an example) to dream on.")
    seed = _seed(seed)
    gallery, layer_lines, info = [], [], ""
    for preset in ("low", "mid", "high"):
        settings = dream_settings(backbone, preset, "", octaves, octave_scale, iterations, step, jitter, 0, seed,
                                  max_side)
        job = lambda callback, s=settings: deep_dream(image, s, callback=callback)  # noqa: E731
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
    settings = dream_settings(backbone, preset, custom_layers, octaves, 1.4, iterations, step, 0, 0, seed, max_side)
    finished = []

    def job(callback):
        def on_frame(done, total, result):
            finished.append(result)
            callback(SimpleNamespace(step=done, total_steps=total, image=result.image))
        # the step callback checks Stop and the time limit between ascent steps, not only between frames
        step_check = lambda report: callback(None)  # noqa: E731
        return dream_zoom(image, settings, frames=frames, zoom_factor=zoom_factor, callback=on_frame,
                          step_callback=step_check)

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
        extra = [f"{len(images)} frames, zoom ×{zoom_factor:g} per frame, seed {settings.seed}"]
        if value.stopped:
            extra.insert(0, _stopped_line(value, "frames").replace("the last intermediate image is kept as the result",
                                                                    "the GIF holds the frames made so far"))
        yield str(path), _image_info(result, extra)
