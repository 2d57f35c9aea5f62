"""What a visitor waits for: each image tab's default job, run through the app's own handlers (as a click does),
with the defaults for this machine's device against the defaults the tabs had before they were sized for it.

    python benchmarks/visitor_defaults.py [--skip-former]

For each job: the estimate shown before it starts, the handler's first output (the first streamed image; the
"Starting…" line is put on the page by the button itself, at once, outside the queue), the total time, and for Paint the delivered image's objective recomputed at the output size (the same objective for
both: the 384-px targets). Random weights (the cost and the objective's fall do not depend on training).
"""

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

import _path  # noqa: F401,E402  (the repository on sys.path)

from genmods import studio  # noqa: E402
from genmods.examples import example_files  # noqa: E402
from genmods.defaults import DEFAULTS, FORMER_DEFAULTS  # noqa: E402
from genmods.style import StyleObjective, StyleSettings  # noqa: E402
from genmods.style.transfer import load_inputs  # noqa: E402
from genmods.vision.backbones import feature_extractor  # noqa: E402


def timed(handler, **inputs):
    """Runs a handler generator as Gradio would; (first output s, total s, last update)."""
    started = time.perf_counter()
    first = last = None
    for update in handler(progress=None, request=None, **inputs):
        first = time.perf_counter() - started if first is None else first
        last = update
    return first, time.perf_counter() - started, last


def objective_at_output(image, content, style, size: int) -> float:
    """The default objective (α = 1, β = 10, τ = 1) of a delivered image, at the output size."""
    settings = StyleSettings(image_size=size)
    inputs = load_inputs(content, style, "content", None, None, settings)
    extractor = feature_extractor(settings.backbone, settings.layers)
    height, width = settings.sizes(inputs.content.size)[-1]
    objective = StyleObjective.at_scale(extractor, settings, inputs, (height, width))
    return objective.losses(extractor.to_pixels(image.resize((width, height))))["total"]


def jobs(d, files):
    photo, content, style, clip = files["chelsea"], files["astronaut"], files["swirls"], files["moving-square"]
    yield "Paint", studio.estimate_style(content, d.style_size, d.style_iterations, "lbfgs", d.style_scales), \
        studio.stylize, dict(content_image=content, style_image=style, iterations=d.style_iterations,
                             image_size=d.style_size, multi_scale=d.style_scales, seed=1)
    yield "Dream", studio.estimate_dream(photo, "inception_v3", d.dream_octaves, 1.4, d.dream_iterations,
                                         d.dream_side), \
        studio.dream, dict(image=photo, octaves=d.dream_octaves, iterations=d.dream_iterations, max_side=d.dream_side,
                           seed=1)
    yield "Compare layers", studio.estimate_dream(photo, "inception_v3", d.dream_octaves, 1.4, d.dream_iterations,
                                                  d.dream_side), \
        studio.compare_layers, dict(image=photo, octaves=d.dream_octaves, iterations=d.dream_iterations,
                                    max_side=d.dream_side, seed=1)
    yield "Zoom animation", studio.estimate_zoom(photo, "inception_v3", "keras", d.zoom_frames, d.zoom_octaves,
                                                 d.zoom_iterations, d.zoom_side), \
        studio.zoom_animation, dict(image=photo, frames=d.zoom_frames, octaves=d.zoom_octaves,
                                    iterations=d.zoom_iterations, max_side=d.zoom_side, seed=1)
    yield "Style the clip", studio.estimate_clip(clip, d.clip_size, d.clip_iterations, "lbfgs", d.clip_frames), \
        studio.stylize_clip, dict(clip=clip, style_image=style, iterations=d.clip_iterations, image_size=d.clip_size,
                                  max_frames=d.clip_frames, seed=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-former", action="store_true", help="only this device's defaults")
    args = parser.parse_args()
    files = example_files()
    studio.measure_devices().join()
    bf16 = "with" if "avx512_bf16" in open("/proc/cpuinfo").read() else "without"
    print(f"torch threads {torch.get_num_threads()}, CPU {bf16} AVX512-BF16, random weights")
    print(f"{'job':16} {'defaults':9} {'estimate':>30} {'1st output':>10} {'total':>7} {'est/actual':>10} "
          f"{'objective':>9}")
    sets = [("now", DEFAULTS)] + ([] if args.skip_former else [("former", FORMER_DEFAULTS)])
    for name, defaults in sets:
        for job, shown, handler, inputs in jobs(defaults, files):
            first, total, last = timed(handler, **inputs)
            estimate_line = (shown.split("Compare layers ")[-1] + " on this CPU" if job == "Compare layers"
                             else shown.split(" take ")[-1].split(";")[0]).rstrip(".").replace(". on", " on")
            seconds = _seconds(estimate_line)
            objective = ""
            if job == "Paint":
                from PIL import Image

                image = last[0] if hasattr(last[0], "size") else Image.open(last[0])
                objective = f"{objective_at_output(image, files['astronaut'], files['swirls'], defaults.style_size):.4f}"
            print(f"{job:16} {name:9} {estimate_line:>30} {first or 0:>10.2f} "
                  f"{total:>7.1f} {seconds / total if seconds else float('nan'):>10.2f} {objective:>9}", flush=True)


def _seconds(line: str) -> float | None:
    """'about 1.2 min on this CPU' → 72."""
    words = line.replace("about ", "").split()
    try:
        value = float(words[0])
    except (IndexError, ValueError):
        return None
    return value * {"s": 1, "min": 60, "h": 3600}.get(words[1], 1)


if __name__ == "__main__":
    main()
