"""The DeepDream tab: a dream, the low/mid/high layer comparison and the zoom animation, streamed."""

import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from ..dream import PRESET_NAMES, DreamSettings, deep_dream, dream_zoom, parse_layer_weights, save_animation
from ..vision.backbones import SUPPORTED_BACKBONES, check_layers, layer_names
from .. import estimate
from .common import (
    MAX_IMAGE_SIDE, RANDOM_SEED, _aspect, _bounded, _image_info, _longer_side, _running_line, _seed, _stopped_line,
    _stream_job, _user_error,
)
from ..defaults import DEFAULTS, dream_backbone

MAX_DREAM_ITERATIONS = 100
MAX_OCTAVES = 6
MAX_ZOOM_FRAMES = 48

NO_IMAGE = "Upload an image (or pick an example) to dream on."


def layers_problem(custom_layers, backbone, preset="custom") -> str:
    """What is wrong with the custom layers text for `backbone` ("" when the preset is not "custom"): a malformed
    entry, or a layer the backbone does not have (with its layers named)."""
    if preset != "custom":
        return ""
    try:
        layers = parse_layer_weights(custom_layers or "")
        if backbone in SUPPORTED_BACKBONES:
            check_layers(backbone, list(layers))
    except ValueError as error:
        return str(error)
    return ""


def dream_settings(backbone, preset, custom_layers, octaves, octave_scale, iterations, step, jitter, tile_size,
                   seed, max_side, layer_balance="auto", gradient="smoothed") -> DreamSettings:
    """The tab's controls as the library's settings, each checked against its slider's range (a message naming the
    control): the preset radio and the custom-layers text become `layers`."""
    if preset == "custom":
        if problem := layers_problem(custom_layers, backbone, preset):
            raise _user_error(problem)
        layers = parse_layer_weights(custom_layers or "")
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
            max_side=int(_bounded(max_side, 64, MAX_IMAGE_SIDE, "Image size")), gradient=gradient,
        )
    except ValueError as error:  # e.g. a custom layer the backbone does not have
        raise _user_error(error) from None


def estimate_dream(image=None, backbone="auto", octaves=DEFAULTS.dream_octaves, octave_scale=1.4,
                   iterations=DEFAULTS.dream_iterations, max_side=DEFAULTS.dream_side, preset="keras") -> str:
    """The time a Dream and a Compare layers would take with these settings, as a line for the page (and the API)."""
    try:
        settings = dream_settings(dream_backbone(backbone)[0], preset if preset in PRESET_NAMES else "keras", "",
                                  octaves, octave_scale, iterations, 0.01, 0, 0, 0, max_side)
        side, aspect = _dream_side(image, settings), _aspect(image)
        one = estimate.dream_estimate(settings, side, aspect)
        three = estimate.compare_estimate(settings, side, aspect)
    except gr.Error as error:
        return f"⚠️ {error.message}"
    return f"Dream will take {one.describe()}; Compare layers {estimate.duration(three.seconds)}."


def estimate_zoom(image=None, backbone="auto", preset="keras", frames=DEFAULTS.zoom_frames,
                  octaves=DEFAULTS.zoom_octaves, iterations=DEFAULTS.zoom_iterations, max_side=DEFAULTS.zoom_side) -> str:
    """The time the zoom animation would take with these settings."""
    try:
        settings = dream_settings(dream_backbone(backbone)[0], preset if preset in PRESET_NAMES else "keras", "",
                                  octaves, 1.4, iterations, 0.01, 0, 0, 0, max_side)
        frames = int(_bounded(frames, 2, MAX_ZOOM_FRAMES, "Frames"))
        expected = estimate.zoom_estimate(settings, frames, _dream_side(image, settings), _aspect(image))
    except gr.Error as error:
        return f"⚠️ {error.message}"
    return f"The zoom animation ({frames} frames) will take {expected.describe()}."


def _dream_side(image, settings: DreamSettings) -> int:
    """The longer side the dream runs at: the image's, downscaled to the size setting (never upscaled)."""
    return min(settings.max_side, _longer_side(image, settings.max_side))


def _describe_dream(report):
    return f"octave {report.octave}/{report.octaves} · step {report.step}/{report.total_steps}"


def _growth_line(result) -> str:
    """What the ascent did, in words a visitor can read: how much the objective (the layers' activation) grew
    during the last octave. Within one octave the objective's scale is fixed (a relative layer balance rescales it
    at each octave's start), so the ratio means the same for every preset."""
    last = result.losses[-1] if result.losses else []
    if len(last) < 2 or last[0] <= 0:
        return "The layers' activation was not measured (fewer than two ascent steps)."
    return (f"The chosen layers' activation grew {last[-1] / last[0]:.1f}× over the last octave "
            "(the objective the ascent maximises).")


def dream(image, backbone="auto", preset="keras", custom_layers="", octaves=DEFAULTS.dream_octaves,
          octave_scale=1.4, iterations=DEFAULTS.dream_iterations, step=0.01, jitter=0, tile_size=0, guide_image=None,
          seed=RANDOM_SEED, max_side=DEFAULTS.dream_side, layer_balance="auto", gradient="smoothed",
          progress=gr.Progress(track_tqdm=True), request: gr.Request = None):
    """DeepDream on `image`; streams intermediate images. Yields (image, info).
    step: mean change per pixel per step in [-1, 1] units (0.01 ≈ 1.27 grey levels), on every backbone.
    seed: -1 draws a fresh one (reported in the info).
    gradient: "smoothed" (no rainbow noise, nothing clipped) or "raw" (the Keras recipe's)."""
    if image is None:
        raise _user_error(NO_IMAGE)
    backbone, backbone_note = dream_backbone(backbone)
    settings = dream_settings(backbone, preset, custom_layers, octaves, octave_scale, iterations, step, jitter,
                              tile_size, seed, max_side, layer_balance, gradient)
    expected = estimate.dream_estimate(settings, _dream_side(image, settings), _aspect(image))
    started = time.monotonic()
    job = lambda callback: deep_dream(image, settings, guide=guide_image, callback=callback)  # noqa: E731
    for kind, value, report, left in _stream_job(job, progress, _describe_dream, "dream", request,
                                                 estimate.StepClock(expected)):
        if kind == "preview":
            yield value, _running_line("Dreaming", expected)
        elif value.stopped:
            yield value.image, _stopped_line(value) + f"\n\nSeed {settings.seed}."
        else:
            result = value.result
            took = time.monotonic() - started
            expected.record(took)
            yield result.image, _image_info(result, ([backbone_note] if backbone_note else []) + [
                _network_line(result) + f"; step {settings.effective_step:g} per iteration, {settings.gradient} "
                                        "gradient",
                f"Octaves (h×w): {', '.join(f'{h}×{w}' for h, w in result.octave_shapes)}",
                _growth_line(result),
                f"Seed {settings.seed} (enter it as the random seed to repeat this dream)",
                f"Estimated {expected.describe()} before starting; took {estimate.duration(took)}"])


def backbone_choice():
    """The backbone menu as a visitor finds it (at page load): the network dreams will use, and why when it is not
    the lecture's InceptionV3."""
    backbone, note = dream_backbone()
    return gr.Dropdown(value=backbone, info=note or "InceptionV3 is the lecture's network; VGG19 is trained here too")


def custom_layers_box(preset, backbone):
    """The custom-layers box: shown when the preset is "custom", its placeholder the backbone's own layers."""
    names = layer_names(backbone) if backbone in SUPPORTED_BACKBONES else []
    example = ", ".join(f"{name}={weight}" for name, weight in zip(names[len(names) // 2:][:2], (1, 1.5)))
    return gr.Textbox(visible=preset == "custom", placeholder=example or None,
                      info=f"{backbone}'s layers: {', '.join(names)}" if names else None)


def _network_line(result) -> str:
    layers = ", ".join(f"{name} {weight:g}" for name, weight in result.layers.items())
    return f"Network: {result.backbone}; layers and weights: {layers}"


def compare_layers(image, backbone="auto", octaves=DEFAULTS.dream_octaves, octave_scale=1.4,
                   iterations=DEFAULTS.dream_iterations, step=0.01, jitter=0, seed=RANDOM_SEED,
                   max_side=DEFAULTS.dream_side, gradient="smoothed", progress=gr.Progress(track_tqdm=True),
                   request: gr.Request = None):
    """The same dream with the low, mid and high presets, side by side. Yields (gallery, info); the info says Done
    once, when all three are done."""
    if image is None:
        raise _user_error(NO_IMAGE)
    seed = _seed(seed)
    backbone, backbone_note = dream_backbone(backbone)
    base = dream_settings(backbone, "keras", "", octaves, octave_scale, iterations, step, jitter, 0, seed, max_side,
                          gradient=gradient)
    expected = estimate.compare_estimate(base, _dream_side(image, base), _aspect(image))
    started = time.monotonic()
    gallery, layer_lines, results = [], [], []
    parts = [estimate.dream_estimate(base.with_options(layers=preset), _dream_side(image, base), _aspect(image))
             for preset in estimate.COMPARED_PRESETS]
    for number, preset in enumerate(estimate.COMPARED_PRESETS, start=1):
        settings = base.with_options(layers=preset)
        job = lambda callback, s=settings: deep_dream(image, s, callback=callback)  # noqa: E731
        describe = lambda r, p=preset, n=number: f"{p} layers ({n} of 3) · " + _describe_dream(r)  # noqa: E731
        clock = estimate.StepClock(parts[number - 1], after=sum(part.measured for part in parts[number:]))
        for kind, value, report, left in _stream_job(job, progress, describe, "dream", request, clock):
            if kind == "preview":
                yield gallery + [(value, f"{preset} layers…")], f"Dreaming with the {preset} layers ({number} of 3)…"
            elif value.stopped:
                if value.image is not None:
                    gallery.append((value.image, f"{preset} (stopped)"))
                yield gallery, _stopped_line(value) + f" ({preset} layers)"
                return
            else:
                results.append(value.result)
                gallery.append((value.result.image, preset))  # short captions: the layers are listed below
                layer_lines.append(f"{preset}: {', '.join(value.result.layers)}")
        if number < 3:
            yield list(gallery), f"{number} of 3 dreams done ({', '.join(p for _, p in gallery)})…"
    took = time.monotonic() - started
    expected.record(took)
    layers = "\n".join(f"- {line}" for line in layer_lines)
    all_three = SimpleNamespace(weights=results[-1].weights, notes=results[-1].notes, seconds=took)
    info = _image_info(all_three, ([backbone_note] if backbone_note else []) + [
        f"Network: {backbone}", f"Estimated {expected.describe()} before starting"])
    yield gallery, (f"{info}\n\nLayers:\n{layers}\n\nSeed {seed}.\n\n"
                    "Lower layers give geometric patterns; higher layers give object-like ones.")


def zoom_animation(image, backbone="auto", preset="keras", custom_layers="", frames=DEFAULTS.zoom_frames,
                   zoom_factor=1.05, octaves=DEFAULTS.zoom_octaves, iterations=DEFAULTS.zoom_iterations, step=0.01,
                   seed=RANDOM_SEED, max_side=DEFAULTS.zoom_side, gradient="smoothed",
                   progress=gr.Progress(track_tqdm=True), request: gr.Request = None):
    """A dream-zoom GIF: each frame dreamed from the previous one, slightly zoomed. Streams each finished
    frame; yields (gif path or frame, info), the GIF last."""
    if image is None:
        raise _user_error(NO_IMAGE)
    frames = int(_bounded(frames, 2, MAX_ZOOM_FRAMES, "Frames"))
    zoom_factor = _bounded(zoom_factor, 1.0, 2.0, "Zoom factor")
    backbone, backbone_note = dream_backbone(backbone)
    settings = dream_settings(backbone, preset, custom_layers, octaves, 1.4, iterations, step, 0, 0, seed, max_side,
                              gradient=gradient)
    expected = estimate.zoom_estimate(settings, frames, _dream_side(image, settings), _aspect(image))
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
    for kind, value, report, left in _stream_job(job, progress, describe, "dream", request,
                                                 estimate.StepClock(expected)):
        if kind == "preview":
            yield value, _running_line(f"Frame {report.step} of {frames} done; dreaming", expected)
            continue
        images = value.result if not value.stopped else [r.image for r in finished]
        if len(images) < 2:
            yield value.image, _stopped_line(value, "frames")
            return
        path = Path(tempfile.mkdtemp(prefix="genmods-zoom-")) / "dream-zoom.gif"
        save_animation(images, path)
        result = finished[-1]
        result.seconds = time.monotonic() - started
        extra = ([backbone_note] if backbone_note else []) + [
            f"{len(images)} frames, zoom ×{zoom_factor:g} per frame, seed {settings.seed}",
            f"Estimated {expected.describe()} before starting"]
        if value.stopped:
            extra.insert(0, _stopped_line(value, "frames").replace("the last intermediate image is kept as the result",
                                                                    "the GIF holds the frames made so far"))
        else:
            expected.record(result.seconds)
        yield str(path), _image_info(result, extra)
