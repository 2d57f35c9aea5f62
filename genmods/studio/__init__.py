"""What the Space's buttons call: plain Python functions over genmods that stream their results and
turn every bad input into a `gr.Error` a person understands. `app.py` only lays out components and
wires them to these; `gradio_client` reaches the same functions through their `api_name`s.

One module per tab (`text_tab`, `dream_tab`, `style_tab`); `common` holds what they share.
"""

from . import components  # noqa: F401  (app.py builds its inputs from it)
from .common import IMAGE_TIME_LIMIT, MAX_IMAGE_SIDE, MAX_SEED, RANDOM_SEED, STOP, check_upload, seed_problem, stop_button
from ..defaults import DEFAULTS, dream_backbone
from .dream_tab import (
    MAX_DREAM_ITERATIONS, MAX_OCTAVES, MAX_ZOOM_FRAMES, NO_IMAGE, backbone_choice, layers_problem, compare_layers, custom_layers_box, dream, estimate_dream, estimate_zoom,
    zoom_animation,
)
from ..estimate import warm_up as measure_devices
from .style_tab import (
    DEFAULT_STYLE_STRENGTH, DEFAULT_TEMPORAL_WEIGHT, DEFAULT_TV_WEIGHT, MAX_CLIP_FRAMES, MAX_STYLE_ITERATIONS,
    MAX_TEMPORAL_WEIGHT, MAX_TV_WEIGHT, NO_CLIP, NO_CLIP_STYLE, NO_CONTENT, NO_STYLE, OUTSIDE_CHOICES, STYLE_STRENGTH_RANGE, continue_style, estimate_clip,
    estimate_style, mask_canvas, sixteen_bit_png, stylize, stylize_clip,
)
from .text_tab import (
    MAX_PROMPT_LENGTH, MAX_TEMPERATURE, MAX_TEXT_LENGTH, STREAM_INTERVAL, TEXT_MODELS, TEXT_TIME_LIMIT, UNSURE,
    prompt_problem, first_unsure_position, generate_text, load_text_model, next_character_at, text_batcher, text_surprisal, cell_view,
    find_cells_view, cell_sliders, chosen_cell, INSIDE_EXAMPLE,
)

# Serving (README, "On a Space"): text handlers only wait on the micro-batcher, so many run at once and
# their requests share one generate(); image jobs take turns on the one device; the queue holds a burst.
TEXT_CONCURRENCY = 32
QUEUE_SIZE = 96
SERVER_THREADS = 64  # Gradio's thread pool (40 by default) must cover TEXT_CONCURRENCY + image jobs

__all__ = [
    "components", "IMAGE_TIME_LIMIT", "MAX_IMAGE_SIDE", "MAX_SEED", "RANDOM_SEED", "STOP", "check_upload", "seed_problem", "stop_button", "NO_IMAGE", "layers_problem", "NO_CLIP",
    "NO_CLIP_STYLE", "NO_CONTENT", "NO_STYLE",
    "MAX_DREAM_ITERATIONS", "MAX_OCTAVES", "MAX_ZOOM_FRAMES", "compare_layers", "dream", "zoom_animation", "backbone_choice", "custom_layers_box",
    "estimate_zoom", "DEFAULTS", "dream_backbone",
    "DEFAULT_STYLE_STRENGTH", "DEFAULT_TV_WEIGHT", "MAX_STYLE_ITERATIONS", "MAX_TV_WEIGHT", "STYLE_STRENGTH_RANGE",
    "stylize", "continue_style", "stylize_clip", "sixteen_bit_png", "estimate_style", "estimate_clip", "estimate_dream",
    "measure_devices", "mask_canvas", "DEFAULT_TEMPORAL_WEIGHT", "MAX_CLIP_FRAMES", "MAX_TEMPORAL_WEIGHT", "OUTSIDE_CHOICES",
    "MAX_PROMPT_LENGTH", "MAX_TEMPERATURE", "MAX_TEXT_LENGTH", "STREAM_INTERVAL", "TEXT_MODELS",
    "TEXT_TIME_LIMIT", "UNSURE", "prompt_problem", "first_unsure_position", "generate_text", "load_text_model", "next_character_at",
    "text_batcher", "text_surprisal", "cell_view", "find_cells_view", "cell_sliders", "chosen_cell", "INSIDE_EXAMPLE", "TEXT_CONCURRENCY", "QUEUE_SIZE", "SERVER_THREADS",
]
