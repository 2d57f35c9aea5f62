"""How long an image job will take, said before it starts (so nobody starts a 20-minute job on a CPU Space by
accident), corrected by the jobs that actually ran, and counted down while a job runs.

Before any job: one evaluation (forward + backward) of the very feature extractor a job uses — the network
truncated after its deepest layer, in the precision the job runs in — is timed near a reference size: the median of
three timings after a first pass, whose extra time is the set-up each new shape costs (`Measurements`: measured
again up to twice, 20 s apart, keeping the least, so a busy start-up is not trusted alone). `warm_up` measures the
default backbones' layer sets and runs the default jobs once on the examples, in the background when the app
starts; others are measured the first time they are asked for. A job's estimate scales that time by its pixels and counts its evaluations (style
transfer about 1.1 per L-BFGS iteration, tests/test_style.py pins ≤ 1.25; 1 per Adam step; DeepDream 1 per ascent
step), plus fixed per-iteration and per-image costs.

After each job: `Estimate.record` keeps actual / estimated for that kind of job; later estimates of the kind are
multiplied by the median of the last five ratios. A machine that is slower than the measurement said (a busy
neighbour, another CPU) is learnt from the jobs themselves.

During a job, `StepClock` says how long is left from the measured step times (as tqdm does), so a job slowed
by a neighbour corrects its own figure.
"""

import math
import statistics
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

import torch

from .device import default_device
from .dream import PRESETS, DreamSettings, octave_shapes
from .style.transfer import StyleSettings
from .defaults import dream_backbone
from .vision.backbones import HUB_PROBE, MIN_INPUT_SIDE, SUPPORTED_BACKBONES, feature_extractor, hub_offline

REFERENCE_SIDE = 224
LBFGS_EVALUATIONS_PER_ITERATION = 1.1
# Costs that do not grow with the pixels (measured on the 2-core development CPU; they matter for small jobs
# only): Python per iteration (L-BFGS's bookkeeping, the callback, progress; DeepDream's step is almost all
# network), and per image the targets, previews and streaming.
STYLE_ITERATION_OVERHEAD = 0.02
DREAM_STEP_OVERHEAD = 0.003
STYLE_IMAGE_OVERHEAD = 0.3
DREAM_IMAGE_OVERHEAD = 0.3
COMPARED_PRESETS = ("low", "mid", "high")  # what Compare layers dreams with


@dataclass
class Measurement:
    seconds: float  # one forward + backward at REFERENCE_SIDE², the least of the measurements so far
    setup: float  # what the first pass at a new shape costs on top (oneDNN picks and builds its kernels per shape)
    count: int
    taken_at: float


class Measurements:
    """Seconds per evaluation of each feature extractor, measured when first asked for and again, up to `times`
    times at least `apart` seconds apart, keeping the least: a busy moment (the app starting, a neighbour) only
    makes a pass slower, so a start-up measurement taken in one is corrected by the next estimate instead of
    being trusted for the life of the process."""

    def __init__(self, times: int = 3, apart: float = 20.0):
        self.times, self.apart = times, apart
        self._taken: dict[tuple, Measurement] = {}
        self._lock = threading.Lock()  # one measurement at a time: several page loads ask at once

    def get(self, backbone: str, layers: tuple[str, ...], precision: str) -> Measurement:
        key = (backbone, tuple(layers), precision)
        with self._lock:
            known = self._taken.get(key)
            if known is None or (known.count < self.times and time.monotonic() - known.taken_at >= self.apart):
                # each measurement of a key at a shape it has not run (its first pass shows the set-up), all near
                # the reference size (the time per pixel depends on the size)
                seconds, setup = _time_evaluation(*key, side=REFERENCE_SIDE + 2 * (known.count if known else 0))
                known = Measurement(seconds, setup, 1, time.monotonic()) if known is None else Measurement(
                    min(known.seconds, seconds), min(known.setup, setup), known.count + 1, time.monotonic())
                self._taken[key] = known
            return known

    def clear(self) -> None:
        with self._lock:
            self._taken.clear()


MEASUREMENTS = Measurements()


def evaluation_seconds(backbone: str, layers: tuple[str, ...], precision: str = "auto") -> float:
    """Seconds for one forward + backward pass of the feature extractor for `layers` at REFERENCE_SIDE² pixels, in
    `precision` ("fp32" for L-BFGS, "auto" for DeepDream and Adam), on the device the jobs use."""
    return MEASUREMENTS.get(backbone, tuple(layers), precision).seconds


def _time_evaluation(backbone: str, layers: tuple[str, ...], precision: str, side: int) -> tuple[float, float]:
    """(seconds per pass, first-pass set-up), both scaled to REFERENCE_SIDE², timed at side × side."""
    extractor = feature_extractor(backbone, layers, precision=precision)
    x = torch.rand(1, 3, side, side, device=extractor.device, requires_grad=True)
    seconds = []
    for _ in range(4):  # the first pass pays for allocation and kernel choice
        started = time.perf_counter()
        sum(a.square().mean() for a in extractor(x).values()).backward()
        if x.device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    scale = REFERENCE_SIDE**2 / side**2
    passes = statistics.median(seconds[1:])
    return passes * scale, max(0.0, seconds[0] - passes) * scale




def cold_shape_seconds(backbone: str, layers: tuple[str, ...], precision: str, shapes) -> float:
    """The set-up a job pays for the shapes (height, width) its extractor has not run yet."""
    measured = MEASUREMENTS.get(backbone, tuple(layers), precision)
    seen = feature_extractor(backbone, layers, precision=precision).seen_shapes
    return sum(_scaled(measured.setup, h, w) for h, w in set(map(tuple, shapes)) - seen)


def warm_up() -> threading.Thread:
    """Starts the Hub probe and, in the background as the app starts (the page does not wait), measures the default
    backbones' layer sets and runs the default jobs once on the example images with one step per octave or scale,
    so that the first visitor finds the networks loaded and their kernels set up for those shapes, as the next one
    does."""
    if not hub_offline():
        HUB_PROBE.start()

    def measure():
        style = StyleSettings()
        evaluation_seconds(style.backbone, style.layers, "fp32")
        backbone, _ = dream_backbone()  # the dream tab's default network
        for preset in ("keras", *COMPARED_PRESETS):
            evaluation_seconds(backbone, tuple(PRESETS[backbone][preset]))
        warm_default_shapes(backbone)
    thread = threading.Thread(target=measure, name="genmods-estimate", daemon=True)
    thread.start()
    return thread


def warm_default_shapes(backbone: str) -> None:
    """The default Dream on each example photo and the first style example's default Paint, one step per octave
    or scale: the shapes a visitor who picks an example runs first."""
    from .examples import PHOTOS, example_files
    from .style import style_transfer
    from .dream import deep_dream
    from .defaults import DEFAULTS

    files = example_files()
    dream = DreamSettings(backbone=backbone, octaves=DEFAULTS.dream_octaves, iterations=1,
                          max_side=DEFAULTS.dream_side)
    for name in PHOTOS:
        deep_dream(files[name], dream)
    style_transfer(files["chelsea"], files["starry_night"], image_size=DEFAULTS.style_size,
                   multi_scale=DEFAULTS.style_scales, iterations=1)


class Calibration:
    """Actual / estimated seconds of the last jobs of each kind; estimates are multiplied by their median."""

    def __init__(self, keep: int = 5):
        self._ratios: dict[str, deque] = defaultdict(lambda: deque(maxlen=keep))
        self._lock = threading.Lock()

    def factor(self, kind: str) -> float:
        with self._lock:
            ratios = list(self._ratios[kind])
        return statistics.median(ratios) if ratios else 1.0

    def record(self, kind: str, measured_estimate: float, actual: float) -> None:
        """`measured_estimate`: the estimate before calibration. Very short jobs say little and are not kept."""
        if measured_estimate >= 1.0 and actual > 0:
            with self._lock:  # bounded, but wide enough to mend a measurement taken in a very busy moment
                self._ratios[kind].append(min(20.0, max(0.05, actual / measured_estimate)))


CALIBRATION = Calibration()


@dataclass
class Estimate:
    """An estimate for one job: `seconds` (calibrated) for the page; `record(actual)` once the job has run;
    `step_costs`, the predicted seconds of each step in order (octaves and scales cost more as they grow), for
    the time left while it runs."""

    kind: str
    measured: float  # from the timed evaluations alone
    factor: float  # the calibration applied
    step_costs: list[float]

    @property
    def seconds(self) -> float:
        return self.measured * self.factor

    def describe(self) -> str:
        return describe(self.seconds)

    def record(self, actual: float) -> None:
        CALIBRATION.record(self.kind, self.measured, actual)


def _estimate(kind: str, fixed: float, step_costs: list[float]) -> Estimate:
    return Estimate(kind, fixed + sum(step_costs), CALIBRATION.factor(kind), step_costs)


def _scaled(seconds_per_evaluation: float, height: float, width: float) -> float:
    return seconds_per_evaluation * height * width / REFERENCE_SIDE**2


def style_estimate(settings: StyleSettings, aspect: float = 0.75, frames: int = 1,
                   frame_iterations: int | None = None) -> Estimate:
    """`style_transfer` (or `style_video` with `frames`) with these settings; `aspect` is the content's
    height / width."""
    if settings.color == "colors-only":  # the colour transfer alone: no network
        return _estimate("style", STYLE_IMAGE_OVERHEAD * frames, [])
    lbfgs = settings.optimizer == "lbfgs"
    per_iteration = LBFGS_EVALUATIONS_PER_ITERATION if lbfgs else 1.0
    precision = "fp32" if lbfgs else settings.precision
    unit = evaluation_seconds(settings.backbone, settings.layers, precision)
    sizes = settings.sizes((1000, max(1, round(1000 * aspect))))
    counted = set()  # shapes whose set-up is already in the estimate

    def one_image(iterations: int) -> list[float]:
        costs = []
        for n, size in zip(settings.schedule(iterations), sizes):
            tiles = settings.tiles(size)
            for tile in tiles:  # one, the whole image, unless the scale is tiled
                top, left, bottom, right = tile.window
                evaluation = _scaled(unit, bottom - top, right - left)
                step = per_iteration * evaluation + STYLE_ITERATION_OVERHEAD
                shape = (bottom - top, right - left)
                cold = 0.0 if shape in counted else cold_shape_seconds(settings.backbone, settings.layers, precision,
                                                                       [shape])
                counted.add(shape)
                # before the first iteration: the targets and the starting point (2 evaluations); a tile also
                # recounts its neighbours' cells, about as much again
                costs += [step + (2 if len(tiles) == 1 else 4) * evaluation + cold] + [step] * (n - 1)
        return costs

    later = max(10, settings.iterations // 2) if frame_iterations is None else frame_iterations
    steps = one_image(settings.iterations) + (frames - 1) * one_image(later)
    return _estimate("style", STYLE_IMAGE_OVERHEAD * frames, steps)


def _dream_steps(settings: DreamSettings, side: int, aspect: float) -> list[float]:
    unit = evaluation_seconds(settings.backbone, tuple(settings.layer_weights), settings.precision)
    shape = (max(1, round(side * aspect)), side) if aspect <= 1 else (side, max(1, round(side / aspect)))
    shapes = octave_shapes(shape, settings.octaves, settings.octave_scale)
    shapes = [s for s in shapes if min(s) >= MIN_INPUT_SIDE.get(settings.backbone, 32)]  # as deep_dream skips them
    layers = tuple(settings.layer_weights)
    return [_scaled(unit, h, w) + DREAM_STEP_OVERHEAD
            + (cold_shape_seconds(settings.backbone, layers, settings.precision, [(h, w)]) if step == 0 else 0.0)
            for h, w in shapes for step in range(settings.iterations)]


def dream_estimate(settings: DreamSettings, side: int, aspect: float = 0.75) -> Estimate:
    """`deep_dream` with these settings on an image whose longer side is `side` (after its downscaling)."""
    return _estimate("dream", DREAM_IMAGE_OVERHEAD, _dream_steps(settings, side, aspect))


def compare_estimate(settings: DreamSettings, side: int, aspect: float = 0.75) -> Estimate:
    """Compare layers: the same dream with the low, mid and high presets, one after the other."""
    steps = [cost for preset in COMPARED_PRESETS
             for cost in _dream_steps(settings.with_options(layers=preset), side, aspect)]
    return _estimate("dream", DREAM_IMAGE_OVERHEAD * len(COMPARED_PRESETS), steps)


def zoom_estimate(settings: DreamSettings, frames: int, side: int, aspect: float = 0.75) -> Estimate:
    """A zoom animation: `frames` dreams, each at the image's size (a step here is a frame)."""
    frame = DREAM_IMAGE_OVERHEAD + sum(_dream_steps(settings, side, aspect))
    return _estimate("dream", 0.0, [frame] * frames)


class StepClock:
    """Seconds left in a running job, from the time its steps have taken so far, as tqdm does, but weighing each
    step by its predicted cost (`Estimate.step_costs`: a later octave or scale takes longer than the first). The
    rate is taken from the first step on: the start-up before it (loading, targets) is not a step. `after`: the
    predicted seconds of work queued behind this job (Compare layers' next dreams)."""

    def __init__(self, expected: Estimate | None = None, after: float = 0.0):
        self.costs = None if expected is None else expected.step_costs
        self.after = after
        self._first: tuple[float, int] | None = None

    def _work(self, start: int, stop: int, total: int) -> float:
        if self.costs is None or len(self.costs) != total:
            return float(stop - start)
        return sum(self.costs[start:stop])

    def left(self, step: int, total: int) -> float | None:
        now = time.monotonic()
        if self._first is None or step <= self._first[1]:
            self._first = self._first or (now, step)
            return None
        started, first_step = self._first
        done = self._work(first_step, step, total)
        rate = (now - started) / done if done > 0 else 0.0
        # with predicted costs, the rate is actual per predicted second: it also scales the work queued behind
        pace = rate if self.costs is not None and len(self.costs) == total else 1.0
        return rate * self._work(step, total, total) + pace * self.after


def describe(seconds: float, device: torch.device | str | None = None) -> str:
    """'about 40 s', 'about 3 min', … with the device it was measured on."""
    device = torch.device(device or default_device())
    where = "on this CPU" if device.type == "cpu" else f"on this {device.type.upper()}"
    return f"about {duration(seconds)} {where}"


def duration(seconds: float) -> str:
    """'40 s', '3.5 min', '12 min', '1.2 h'."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{math.ceil(seconds / 60)} min" if seconds >= 600 else f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = [
    "SUPPORTED_BACKBONES", "evaluation_seconds", "MEASUREMENTS", "cold_shape_seconds", "warm_up", "Calibration", "CALIBRATION", "Estimate",
    "style_estimate", "dream_estimate", "compare_estimate", "zoom_estimate", "StepClock", "describe", "duration",
]
