"""How long an image job will take, said before it starts (so nobody starts a 20-minute job on a CPU Space by
accident), corrected by the jobs that actually ran, and counted down while a job runs.

Before any job: one evaluation (forward + backward) of the very feature extractor a job uses — the network
truncated after its deepest layer, in the precision the job runs in — is timed at a reference size: the median of
three timings after a warm-up pass, so one hiccup of a busy CPU does not skew every later estimate. `warm_up`
measures the default backbone's layer sets in the background when the app starts; others are measured the first
time they are asked for. A job's estimate scales that time by its pixels and counts its evaluations (style
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
from functools import lru_cache

import torch

from ..device import default_device
from ..dream import PRESETS, DreamSettings, octave_shapes
from ..style.transfer import StyleSettings
from ..vision.backbones import HUB_PROBE, MIN_INPUT_SIDE, SUPPORTED_BACKBONES, feature_extractor, hub_offline

REFERENCE_SIDE = 224
LBFGS_EVALUATIONS_PER_ITERATION = 1.1
# Costs that do not grow with the pixels (measured on the 2-core development CPU; they matter for small jobs
# only): Python per iteration (L-BFGS's bookkeeping, the callback, progress; DeepDream's step is almost all
# network), and per image the targets, previews and streaming.
STYLE_ITERATION_OVERHEAD = 0.02
DREAM_STEP_OVERHEAD = 0.003
STYLE_IMAGE_OVERHEAD = 0.3
DREAM_IMAGE_OVERHEAD = 0.3
DREAM_BACKBONE = "inception_v3"  # the dream tab's default: its presets are measured at start-up
COMPARED_PRESETS = ("low", "mid", "high")  # what Compare layers dreams with


_measuring = threading.Lock()  # one measurement at a time: several page loads ask at once


def evaluation_seconds(backbone: str, layers: tuple[str, ...], precision: str = "auto") -> float:
    """Seconds for one forward + backward pass of the feature extractor for `layers` at REFERENCE_SIDE² pixels, in
    `precision` ("fp32" for L-BFGS, "auto" for DeepDream and Adam), on the device the jobs use; measured once."""
    with _measuring:
        return _measure(backbone, tuple(layers), precision)


@lru_cache(maxsize=32)
def _measure(backbone: str, layers: tuple[str, ...], precision: str) -> float:
    extractor = feature_extractor(backbone, layers, precision=precision)
    x = torch.rand(1, 3, REFERENCE_SIDE, REFERENCE_SIDE, device=extractor.device, requires_grad=True)
    seconds = []
    for _ in range(4):  # the first pass pays for allocation and kernel choice and is not counted
        started = time.perf_counter()
        sum(a.square().mean() for a in extractor(x).values()).backward()
        if x.device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds[1:])


def warm_up() -> threading.Thread:
    """Starts the Hub probe and measures the default backbones' layer sets in the background as the app starts."""
    if not hub_offline():
        HUB_PROBE.start()

    def measure():
        style = StyleSettings()
        evaluation_seconds(style.backbone, style.layers, "fp32")
        for preset in ("keras", *COMPARED_PRESETS):
            evaluation_seconds(DREAM_BACKBONE, tuple(PRESETS[DREAM_BACKBONE][preset]))
    thread = threading.Thread(target=measure, name="genmods-estimate", daemon=True)
    thread.start()
    return thread


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
            with self._lock:
                self._ratios[kind].append(min(5.0, max(0.2, actual / measured_estimate)))


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
    unit = evaluation_seconds(settings.backbone, settings.layers, "fp32" if lbfgs else settings.precision)
    sizes = settings.sizes((1000, max(1, round(1000 * aspect))))

    def one_image(iterations: int) -> list[float]:
        costs = []
        for n, size in zip(settings.schedule(iterations), sizes):
            tiles = settings.tiles(size)
            for tile in tiles:  # one, the whole image, unless the scale is tiled
                top, left, bottom, right = tile.window
                evaluation = _scaled(unit, bottom - top, right - left)
                step = per_iteration * evaluation + STYLE_ITERATION_OVERHEAD
                # before the first iteration: the targets and the starting point (2 evaluations); a tile also
                # recounts its neighbours' cells, about as much again
                costs += [step + (2 if len(tiles) == 1 else 4) * evaluation] + [step] * (n - 1)
        return costs

    later = max(10, settings.iterations // 2) if frame_iterations is None else frame_iterations
    steps = one_image(settings.iterations) + (frames - 1) * one_image(later)
    return _estimate("style", STYLE_IMAGE_OVERHEAD * frames, steps)


def _dream_steps(settings: DreamSettings, side: int, aspect: float) -> list[float]:
    unit = evaluation_seconds(settings.backbone, tuple(settings.layer_weights), settings.precision)
    shape = (max(1, round(side * aspect)), side) if aspect <= 1 else (side, max(1, round(side / aspect)))
    shapes = octave_shapes(shape, settings.octaves, settings.octave_scale)
    shapes = [s for s in shapes if min(s) >= MIN_INPUT_SIDE.get(settings.backbone, 32)]  # as deep_dream skips them
    return [_scaled(unit, h, w) + DREAM_STEP_OVERHEAD for h, w in shapes for _ in range(settings.iterations)]


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
    "SUPPORTED_BACKBONES", "evaluation_seconds", "warm_up", "Calibration", "CALIBRATION", "Estimate",
    "style_estimate", "dream_estimate", "compare_estimate", "zoom_estimate", "StepClock", "describe", "duration",
]
