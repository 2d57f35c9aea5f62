"""The image tabs' defaults, chosen for the hardware the app finds: a free Space is 2 CPU cores, where the
recipes' GPU sizes take minutes; on a GPU they cost seconds and the full recipes are kept.

CPU: each default job finishes in about a minute on 2 slow cores (benchmarks/visitor_defaults.py measures them
through the app's handlers). Style transfer gets there by doing less work for the same picture: coarse to fine
(96 → 192 → 384 px, 50/25/12 iterations: most iterations where they are cheap) ends at a lower objective, at
384 px, than 100 iterations at 384 px alone, in about a quarter of the time. A clip's later frames start from the
previous styled frame, so they need few iterations; 8 of a clip's frames are styled unless the visitor asks for
more.
"""

from dataclasses import dataclass

from .device import default_device
from .vision.backbones import why_untrained


@dataclass(frozen=True)
class VisitorDefaults:
    style_size: int  # Paint
    style_iterations: int
    style_scales: int
    dream_side: int  # Dream and Compare layers
    dream_iterations: int
    dream_octaves: int
    zoom_frames: int  # Zoom animation
    zoom_side: int
    zoom_octaves: int
    zoom_iterations: int
    clip_size: int  # Style a moving image
    clip_iterations: int  # the first frame; each later one CLIP_LATER_SHARE of it (at least 10)
    clip_frames: int
    style_max_size: int = 2048  # the Output size slider's end: above style_tile the finest scales go in tiles
    style_tile: int = 512  # the largest side optimised in one piece (memory: benchmarks/style_large.py)


CPU_DEFAULTS = VisitorDefaults(
    style_size=384, style_iterations=50, style_scales=3,
    dream_side=512, dream_iterations=20, dream_octaves=3,
    zoom_frames=8, zoom_side=384, zoom_octaves=2, zoom_iterations=10,
    clip_size=192, clip_iterations=40, clip_frames=8,
)
GPU_DEFAULTS = VisitorDefaults(
    style_size=512, style_iterations=100, style_scales=3,
    dream_side=512, dream_iterations=20, dream_octaves=3,
    zoom_frames=24, zoom_side=512, zoom_octaves=3, zoom_iterations=10,
    clip_size=256, clip_iterations=60, clip_frames=12,
    style_max_size=4096, style_tile=1024,
)
# what the tabs offered before they were sized for the hardware (benchmarks/visitor_defaults.py compares)
FORMER_DEFAULTS = VisitorDefaults(
    style_size=384, style_iterations=100, style_scales=1,
    dream_side=512, dream_iterations=20, dream_octaves=3,
    zoom_frames=8, zoom_side=512, zoom_octaves=3, zoom_iterations=20,  # the app's zoom used the dream's sliders
    clip_size=192, clip_iterations=60, clip_frames=12,
)


def clip_frame_iterations(iterations: int) -> int:
    """A clip's later frames start from the previous styled frame: a quarter of the first frame's iterations
    (at least 10) keeps the still regions and re-paints what moved."""
    return max(10, iterations // 4)


def for_device(device=None) -> VisitorDefaults:
    device = device or default_device()
    return CPU_DEFAULTS if getattr(device, "type", str(device)) == "cpu" else GPU_DEFAULTS


DEFAULTS = for_device()

DREAM_BACKBONE = "inception_v3"  # the lecture's network, when its trained weights can be had
TRAINED_BACKBONE = "vgg19"  # trained out of the box (the Oxford/Caffe weights come with a requirement)


def dream_backbone(asked: str = "auto") -> tuple[str, str | None]:
    """The network a dream runs on, and a note for the page when it is not the lecture's trained InceptionV3.
    "auto": InceptionV3 where its trained weights can be had, else the trained VGG19 — a visitor is never left on
    random weights while a trained network is at hand. A backbone named explicitly is kept; if it would be random,
    the note says the trained VGG19 is there to choose."""
    lecture_why = why_untrained(DREAM_BACKBONE)
    trained_at_hand = why_untrained(TRAINED_BACKBONE) is None
    if asked == "auto":
        asked = DREAM_BACKBONE if lecture_why is None or not trained_at_hand else TRAINED_BACKBONE
    if asked == TRAINED_BACKBONE and lecture_why is not None:
        return asked, (f"Dreaming on the trained VGG19: InceptionV3's trained weights cannot be had here "
                       f"({lecture_why}), and on random weights it would show the algorithm, not what a trained "
                       "network sees")
    why = lecture_why if asked == DREAM_BACKBONE else why_untrained(asked)
    if why is not None and trained_at_hand:
        return asked, (f"{asked} runs on random weights here ({why}); choose {TRAINED_BACKBONE} for a trained "
                       "network's dream")
    return asked, None
