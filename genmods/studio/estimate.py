"""How long an image job will take, said before it starts, so nobody starts a 20-minute job on a CPU Space
by accident.

One evaluation (forward + backward through the whole backbone) is timed once per backbone at a reference size
when the app starts (`warm_up`, in the background); a job's estimate scales that time by its pixels and counts
its evaluations: style transfer about 1.1 per L-BFGS iteration (tests/test_style.py pins ≤ 1.25) and 1 per Adam
step, per scale; DeepDream one per ascent step, per octave; plus fixed per-iteration and per-image costs.
Measured on the 2-core development CPU: style within about 15 % (256 px × 30 iterations: 15.3 s estimated,
17.3 s taken); DeepDream errs long, up to about 2× (512 px, 3 octaves × 10: 23 s estimated, 9.9 s taken),
because the jobs run a network truncated after their deepest layer and the whole one is timed — timing the
truncated one would mean tracing it, which pauses every other model (genmods.tracing).
"""

import math
import threading
import time
from functools import lru_cache

import torch

from ..style.transfer import CONTENT_LAYERS, STYLE_LAYERS, StyleSettings
from ..device import default_device
from ..tracing import MODEL_CALLS
from ..vision.backbones import SUPPORTED_BACKBONES, load_backbone

REFERENCE_SIDE = 224
LBFGS_EVALUATIONS_PER_ITERATION = 1.1
# Costs that do not grow with the pixels (measured on the 2-core development CPU; they matter for small jobs
# only): Python per iteration (optimiser, callback, progress), and per image the targets, previews and streaming.
ITERATION_OVERHEAD = 0.03
IMAGE_OVERHEAD = 1.0
STYLE_LAYERS_USED = tuple(dict.fromkeys(CONTENT_LAYERS + STYLE_LAYERS))
DREAM_BACKBONE = "inception_v3"  # the dream tab's default, measured at start-up (others when first asked)


def _dream_layers(backbone: str) -> tuple[str, ...]:
    from ..dream import resolve_layers

    return tuple(resolve_layers(backbone, "keras"))  # the lecture's preset: representative of the cost


_measuring = threading.Lock()  # one measurement at a time: several page loads ask at once


def evaluation_seconds(backbone: str, layers: tuple[str, ...] = ()) -> float:
    """Seconds for one forward + backward pass at REFERENCE_SIDE² pixels on the device the jobs use, measured
    once per backbone. (`layers` is part of the question but not of the measurement: the whole network is
    timed, not a traced extractor — tracing would pause every other model, genmods.tracing — which costs up to
    a third more than the truncated one and keeps the estimate on the safe side.)"""
    with _measuring:
        return _measure(backbone)


@lru_cache(maxsize=8)
def _measure(backbone: str) -> float:
    model, _ = load_backbone(backbone, True, None)
    device = default_device()
    x = torch.rand(1, 3, REFERENCE_SIDE, REFERENCE_SIDE, device=device, requires_grad=True)
    seconds = []
    with MODEL_CALLS.shared():
        for _ in range(2):  # the first pass pays for allocation and is not counted
            started = time.perf_counter()
            model.forward_features(x).float().square().mean().backward()
            if x.device.type == "cuda":
                torch.cuda.synchronize()
            seconds.append(time.perf_counter() - started)
    return seconds[-1]


def warm_up() -> threading.Thread:
    """Measures the default backbones in the background as the app starts."""
    def measure():
        evaluation_seconds("vgg19", STYLE_LAYERS_USED)
        evaluation_seconds(DREAM_BACKBONE, _dream_layers(DREAM_BACKBONE))
    thread = threading.Thread(target=measure, name="genmods-estimate", daemon=True)
    thread.start()
    return thread


def _scaled(seconds_per_evaluation: float, height: int, width: int) -> float:
    return seconds_per_evaluation * height * width / REFERENCE_SIDE**2


def style_seconds(settings: StyleSettings, aspect: float = 0.75, frames: int = 1,
                  frame_iterations: int | None = None) -> float:
    """Estimated seconds for `style_transfer` (or `style_video` with `frames`) with these settings; `aspect` is the
    content's height / width."""
    per_iteration = LBFGS_EVALUATIONS_PER_ITERATION if settings.optimizer == "lbfgs" else 1.0
    unit = evaluation_seconds(settings.backbone, settings.layers)
    sizes = settings.sizes((1000, max(1, round(1000 * aspect))))

    def one_image(iterations: int) -> float:
        # + 2 evaluations per scale for the targets and the starting point
        return IMAGE_OVERHEAD + sum((n * per_iteration + 2) * _scaled(unit, h, w) + n * ITERATION_OVERHEAD
                                    for n, (h, w) in zip(settings.schedule(iterations), sizes))

    later = max(10, settings.iterations // 2) if frame_iterations is None else frame_iterations
    return one_image(settings.iterations) + (frames - 1) * one_image(later)


def dream_seconds(max_side: int, octaves: int, octave_scale: float, iterations: int,
                  backbone: str = "inception_v3", aspect: float = 0.75) -> float:
    """Estimated seconds for `deep_dream` at these settings (the image's longer side is `max_side`)."""
    unit = evaluation_seconds(backbone, _dream_layers(backbone))
    total = 0.0
    for octave in range(octaves):
        side = max_side / octave_scale**octave
        total += iterations * (_scaled(unit, side * aspect, side) + ITERATION_OVERHEAD)
    return IMAGE_OVERHEAD + total


def describe(seconds: float, device: torch.device | str | None = None) -> str:
    """'about 40 s', 'about 3 min', … with the device it was measured on."""
    from ..device import default_device

    device = torch.device(device or default_device())
    where = "on this CPU" if device.type == "cpu" else f"on this {device.type.upper()}"
    if seconds < 60:
        text = f"{max(1, round(seconds))} s"
    elif seconds < 3600:
        text = f"{math.ceil(seconds / 60)} min" if seconds >= 600 else f"{seconds / 60:.1f} min"
    else:
        text = f"{seconds / 3600:.1f} h"
    return f"about {text} {where}"


__all__ = ["SUPPORTED_BACKBONES", "evaluation_seconds", "warm_up", "style_seconds", "dream_seconds", "describe"]
