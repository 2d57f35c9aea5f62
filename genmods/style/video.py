"""Style a moving image — an animated GIF or a short video — frame by frame, without flicker.

    result = style_video("clip.mp4", "starry.jpg", image_size=256, iterations=60)
    save_animation(result.frames, "styled.mp4", fps=result.fps)

Styled one by one from the content, frames flicker: every run finds other brush strokes for the same wall.
Here each frame after the first starts from the previous styled frame (Ruder et al. 2016, "Artistic style
transfer for videos": this alone removes most flicker), and a temporal term keeps the frame close to the
previous styled frame wherever the input did not change. Ruder et al. find "where it did not change" with
optical flow; here the weight is the frame difference itself (1 where a pixel is the same as in the previous
input frame, falling to 0 by STILL_DIFFERENCE), which needs no flow network — none can be downloaded here,
and for a still camera the two agree. What moves is styled afresh, from the previous styled frame.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from ..vision.backbones import WeightsInfo
from ..vision.images import ImageInputError, check_pixel_count, load_image
from .transfer import StyleProgress, StyleSettings, TemporalTerm, style_transfer

MAX_FRAMES = 48  # styled frames at most: a longer clip is sampled evenly (and its frame rate lowered)
MAX_SECONDS = 20.0  # longer clips are refused: trim them first
DEFAULT_FPS = 8.0  # for frames given without a rate
STILL_DIFFERENCE = 0.1  # mean |Δ| per pixel in [0, 1] (~25 grey levels) at which a pixel counts as moved
DEFAULT_TEMPORAL_WEIGHT = 200.0  # on the mean squared pixel difference (docs/calibration.md, "Video")
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v")


@dataclass
class Clip:
    frames: list[Image.Image]
    fps: float
    notes: list[str] = field(default_factory=list)


@dataclass
class VideoProgress:
    step: int  # optimiser iterations done across all frames (0 before the first)
    total_steps: int
    frame: int  # 1-based: the frame being styled
    frames: int
    losses: dict | None
    image: Image.Image | None = None  # a finished styled frame (the latest), else None
    finished: bool = False  # `image` is frame `frame`'s final result


@dataclass
class VideoStyleResult:
    frames: list[Image.Image]  # the styled frames, in order
    history: list[list[dict]]  # per frame: that frame's per-iteration losses (as StyleResult.history)
    fps: float
    weights: WeightsInfo
    seconds: float
    notes: list[str] = field(default_factory=list)


def _not_a_clip(name: str) -> ImageInputError:
    return ImageInputError(f"{name} is not a video or an animated GIF we can read: use MP4, WebM or GIF.")


def _frames_of_file(path: Path, max_seconds: float) -> tuple[list[Image.Image], float]:
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        try:
            with Image.open(path) as image:
                check_pixel_count(image)
                durations, frames = [], []
                for frame in ImageSequence.Iterator(image):
                    durations.append(frame.info.get("duration") or 1000 / DEFAULT_FPS)
                    frames.append(frame.convert("RGB"))
                    if sum(durations) / 1000 > max_seconds:
                        break
            return frames, 1000 * len(durations) / max(sum(durations), 1)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            pass  # not something PIL reads: try it as a video
    import imageio.v2 as imageio

    try:
        reader = imageio.get_reader(str(path), format="FFMPEG")
    except Exception:  # imageio raises several kinds for a file ffmpeg cannot open
        raise _not_a_clip(path.name) from None
    with reader:
        meta = reader.get_meta_data()
        fps = float(meta.get("fps") or DEFAULT_FPS)
        duration = float(meta.get("duration") or 0)
        if duration > max_seconds:
            raise ImageInputError(f"The clip lasts {duration:.1f} s; the limit is {max_seconds:g} s: trim it first.")
        frames = []
        try:
            for index, array in enumerate(reader):
                if index == 0:
                    check_pixel_count(Image.fromarray(array))
                frames.append(Image.fromarray(array).convert("RGB"))
                if len(frames) / fps > max_seconds:
                    break
        except (RuntimeError, OSError, IndexError):
            if not frames:
                raise _not_a_clip(path.name) from None
    return frames, fps


def read_clip(source, *, max_frames: int = MAX_FRAMES, max_seconds: float = MAX_SECONDS, fps: float | None = None,
              name: str = "The clip") -> Clip:
    """Frames of a GIF or video file, a list of frames (PIL images or arrays) or an array (frames, height, width,
    channels). More than `max_frames` are sampled evenly, with a note; more than `max_seconds` are refused."""
    if source is None:
        raise ImageInputError("No clip was given: upload an MP4, WebM or animated GIF.")
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ImageInputError(f"Clip file not found: {path.name}")
        frames, rate = _frames_of_file(path, max_seconds)
        name = path.name
    else:
        if isinstance(source, np.ndarray) and source.ndim != 4:
            raise ImageInputError(f"An array of shape {source.shape} is not a clip: expected (frames, height, width, 3).")
        frames = [load_image(frame, max_side=10**6, min_side=1, name="frame").image for frame in source]
        rate = DEFAULT_FPS
    rate = float(fps or rate)
    if len(frames) / rate > max_seconds + 1e-6:
        raise ImageInputError(f"{name} lasts at least {len(frames) / rate:.1f} s; the limit is {max_seconds:g} s: "
                              "trim it first.")
    if not frames:
        raise ImageInputError(f"{name} has no frames.")
    if len(frames) == 1:
        raise ImageInputError(f"{name} has a single frame: style it as an image.")
    notes = []
    if len(frames) > max_frames:
        keep = np.linspace(0, len(frames) - 1, max_frames).round().astype(int)
        notes.append(f"{name} has {len(frames)} frames; {max_frames} of them, evenly spaced, are styled "
                     f"({rate * max_frames / len(frames):.1f} frames per second instead of {rate:.3g})")
        rate = rate * max_frames / len(frames)
        frames = [frames[i] for i in keep]
    if len({frame.size for frame in frames}) > 1:
        raise ImageInputError(f"The frames of {name} differ in size.")
    return Clip(frames=frames, fps=rate, notes=notes)


def still_weights(previous: Image.Image, frame: Image.Image) -> np.ndarray:
    """(height, width) in [0, 1]: 1 where `frame` equals `previous`, 0 where a pixel changed by STILL_DIFFERENCE
    or more (mean over the colour channels, pixels in [0, 1])."""
    a = np.asarray(previous.convert("RGB"), np.float32) / 255
    b = np.asarray(frame.convert("RGB"), np.float32) / 255
    return np.clip(1 - np.abs(a - b).mean(axis=2) / STILL_DIFFERENCE, 0, 1).astype(np.float32)


def style_video(
    source,
    style,
    settings: StyleSettings | None = None,
    *,
    frame_iterations: int | None = None,
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT,
    warm_start: bool = True,
    max_frames: int = MAX_FRAMES,
    fps: float | None = None,
    init="content",
    masks=None,
    callback: Callable[[VideoProgress], None] | None = None,
    **options,
) -> VideoStyleResult:
    """Style every frame of `source` (a GIF or video path, a list of frames, or an array of frames) with
    `style_transfer(frame, style, settings)`; `options` are `StyleSettings` fields by name, on top of `settings`.

    settings.iterations: for the first frame; frame_iterations: for each later one (default half, at least 10:
    they start from the previous styled frame). warm_start: start each frame from the previous styled frame;
    temporal_weight: keep still regions where the previous styled frame had them (0: off). warm_start=False and
    temporal_weight=0 style each frame independently (what the flicker benchmark compares against).
    `callback` gets a VideoProgress after every iteration and, with `finished`, each styled frame as it is done.
    """
    started = time.perf_counter()
    settings = (settings or StyleSettings(iterations=100)).with_options(**options)
    if not np.isfinite(temporal_weight) or temporal_weight < 0:
        raise ValueError("temporal_weight must be a finite number ≥ 0")
    if masks is not None:
        raise ValueError("Masks are painted on one image; a clip is styled without them.")
    clip = read_clip(source, max_frames=max_frames, fps=fps)
    frame_iterations = max(10, settings.iterations // 2) if frame_iterations is None else int(frame_iterations)
    if frame_iterations < 1:
        raise ValueError("iterations must be at least 1")
    later = settings.with_options(iterations=frame_iterations)
    total = sum(settings.schedule()) + (len(clip.frames) - 1) * sum(later.schedule())
    styled, history, notes, done, weights = [], [], list(clip.notes), 0, None

    for index, frame in enumerate(clip.frames):
        temporal = None
        frame_init = init if index == 0 or not warm_start else styled[-1]
        if index > 0 and temporal_weight > 0:
            temporal = TemporalTerm(styled[-1], still_weights(clip.frames[index - 1], frame), temporal_weight)

        def report(progress: StyleProgress, index=index, before=done):
            if callback is not None and progress.step > 0:
                callback(VideoProgress(before + progress.step, total, index + 1, len(clip.frames), progress.losses))

        result = style_transfer(frame, style, settings if index == 0 else later, init=frame_init, temporal=temporal,
                                callback=report)
        done += len(result.history)
        styled.append(result.image)
        history.append(result.history)
        weights = result.weights
        notes += [note for note in result.notes if note not in notes]
        if callback is not None:
            callback(VideoProgress(done, total, index + 1, len(clip.frames), result.final, result.image, finished=True))
    return VideoStyleResult(frames=styled, history=history, fps=clip.fps, weights=weights,
                            seconds=time.perf_counter() - started, notes=notes)


def flicker(frames: list[Image.Image], inputs: list[Image.Image], still_below: float = 1 / 255) -> float:
    """Mean |Δ| between consecutive output frames (grey levels, 0–255) over the pixels whose input did not
    change between those frames: what a viewer sees as flicker in still regions."""
    changes = []
    for (a, b), (x, y) in zip(zip(frames, frames[1:]), zip(inputs, inputs[1:])):
        x, y = (np.asarray(i.convert("RGB").resize(a.size), np.float32) for i in (x, y))
        still = np.abs(x - y).max(axis=2) < still_below * 255
        if still.any():
            difference = np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean(axis=2)
            changes.append(float(difference[still].mean()))
    return float(np.mean(changes)) if changes else 0.0


__all__ = [
    "Clip", "VideoProgress", "VideoStyleResult", "read_clip", "still_weights", "style_video", "flicker",
    "MAX_FRAMES", "MAX_SECONDS", "DEFAULT_TEMPORAL_WEIGHT", "STILL_DIFFERENCE",
]
