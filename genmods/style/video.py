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

import logging
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
# Decoded pixels a clip file may cost in all (every frame of a GIF is drawn on its whole canvas; a video's decoder
# produces every frame), checked from the header before decoding: 25 s of 1080p at 60 frames per second, or a
# 512 × 512 GIF of 11,000 frames. Memory does not grow with it: only the sampled frames are kept, downscaled.
MAX_DECODED_PIXELS = 3_000_000_000
# imageio-ffmpeg warns whenever the frames it delivers differ in size from the source's: here they always do, on
# purpose (ffmpeg downscales them while decoding)
logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)


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


@dataclass
class ClipHeader:
    """What a clip's header says, read before any frame is decoded."""

    width: int
    height: int
    frames: int  # in the file (for a video: duration × frame rate)
    seconds: float  # 0 when a GIF's frame durations are only known by reading them
    kind: str  # "gif" (or another format PIL animates) or "video"

    @property
    def decoded_pixels(self) -> int:
        """What decoding every frame costs: a GIF's frames are drawn one over the other on the whole canvas, and a
        video's decoder produces every frame before any is skipped."""
        return self.width * self.height * self.frames


def _too_many_pixels(name: str, header: ClipHeader, limit: int) -> ImageInputError:
    return ImageInputError(
        f"{name} has {header.frames:,} frames of {header.width}×{header.height}: {header.decoded_pixels / 1e6:,.0f} "
        f"megapixels to decode; the limit is {limit / 1e6:,.0f}. Shorten it or make it smaller first.")


def _video_meta(path: Path) -> dict:
    """ffmpeg's description of a video (size, fps, duration), from its header: the reader is closed before the
    first frame is decoded."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        return next(reader)
    except (RuntimeError, OSError, StopIteration, IndexError):
        raise _not_a_clip(path.name) from None
    finally:
        reader.close()


def probe_clip(path, name: str | None = None) -> ClipHeader:
    """The clip's size, frame count and duration from its header alone (nothing decoded): what the time estimate
    and the pixel limit read. A GIF's canvas over the image pixel limit is refused here, with its size."""
    path = Path(path)
    name = name or path.name
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        try:
            with Image.open(path) as image:
                check_pixel_count(image)
                return ClipHeader(image.width, image.height, getattr(image, "n_frames", 1), 0.0, "gif")
        except ImageInputError as error:
            raise ImageInputError(f"{name}: {error}") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            pass  # not something PIL reads: try it as a video
    meta = _video_meta(path)
    width, height = meta.get("source_size") or meta.get("size") or (0, 0)
    fps, seconds = float(meta.get("fps") or DEFAULT_FPS), float(meta.get("duration") or 0)
    if not width or not height:
        raise _not_a_clip(name)
    return ClipHeader(int(width), int(height), max(1, round(fps * seconds)), seconds, "video")


def checked_header(path, name: str | None = None, *, max_pixels: int = MAX_DECODED_PIXELS,
                   max_seconds: float = MAX_SECONDS) -> ClipHeader:
    """The clip's header (`probe_clip`), refused with a message when decoding it would cost more than `max_pixels`,
    when it lasts longer than `max_seconds` or when it has a single frame — all before anything is decoded."""
    name = name or Path(path).name
    header = probe_clip(path, name)
    if header.decoded_pixels > max_pixels:
        raise _too_many_pixels(name, header, max_pixels)
    if header.seconds > max_seconds + 1e-6:
        raise ImageInputError(f"The clip lasts {header.seconds:.1f} s; the limit is {max_seconds:g} s: trim it first.")
    if header.frames < 2:
        raise ImageInputError(f"{name} has a single frame: style it as an image.")
    return header


def _fitted(image: Image.Image, max_side: int | None) -> Image.Image:
    """RGB, downscaled to `max_side` on its longer side (never upscaled)."""
    image = image.convert("RGB")
    if max_side and max(image.size) > max_side:
        ratio = max_side / max(image.size)
        image = image.resize((max(1, round(image.width * ratio)), max(1, round(image.height * ratio))),
                             Image.Resampling.LANCZOS)
    return image


def _sampled(count: int, keep: int) -> list[int]:
    """`keep` indices of `count` frames, evenly spaced, first and last included."""
    return sorted(set(np.linspace(0, count - 1, min(count, keep)).round().astype(int).tolist()))


def _gif_frames(path: Path, header: ClipHeader, max_frames: int, max_seconds: float, max_side: int | None,
                name: str) -> tuple[list[Image.Image], float, int]:
    """The sampled frames of a GIF and its frame rate, decoded in one pass (each frame is drawn over the ones before it, so all are
    decoded; only the sampled ones are kept, each downscaled as soon as it is decoded)."""
    keep = set(_sampled(header.frames, max_frames))
    frames, milliseconds = [], 0.0
    with Image.open(path) as image:
        for index in range(header.frames):
            image.seek(index)
            milliseconds += image.info.get("duration") or 1000 / DEFAULT_FPS
            if milliseconds / 1000 > max_seconds + 1e-6:
                raise ImageInputError(f"{name} lasts more than {max_seconds:g} s (the limit is {max_seconds:g} s): "
                                      "trim it first.")
            if index in keep:
                frames.append(_fitted(image, max_side))
    return frames, 1000 * header.frames / max(milliseconds, 1), header.frames


def _video_frames(path: Path, header: ClipHeader, max_frames: int, max_side: int | None,
                  name: str) -> tuple[list[Image.Image], float, int]:
    """The sampled frames of a video and its frame rate: ffmpeg picks them (its fps filter) and downscales them
    (scale), so Python only ever holds the frames that will be styled, at the size they will be styled at."""
    import imageio_ffmpeg

    rate = header.frames / header.seconds if header.seconds else DEFAULT_FPS
    filters = []
    if header.frames > max_frames and header.seconds:
        filters.append(f"fps={max_frames / header.seconds:.6f}")
    if max_side and max(header.width, header.height) > max_side:
        ratio = max_side / max(header.width, header.height)
        filters.append(f"scale={max(2, round(header.width * ratio))}:{max(2, round(header.height * ratio))}")
    reader = imageio_ffmpeg.read_frames(str(path), output_params=["-vf", ",".join(filters)] if filters else None)
    frames = []
    try:
        meta = next(reader)
        width, height = meta["size"]
        for data in reader:
            frames.append(Image.fromarray(np.frombuffer(data, np.uint8).reshape(height, width, 3)))
            if len(frames) >= max_frames:
                break
    except (RuntimeError, OSError, StopIteration, ValueError):
        if not frames:
            raise _not_a_clip(name) from None
    finally:
        reader.close()
    return frames, rate, header.frames


def read_clip(source, *, max_frames: int = MAX_FRAMES, max_seconds: float = MAX_SECONDS, fps: float | None = None,
              max_side: int | None = None, max_pixels: int = MAX_DECODED_PIXELS, name: str = "The clip") -> Clip:
    """Frames of a GIF or video file, a list of frames (PIL images or arrays) or an array (frames, height, width,
    channels). More than `max_frames` are sampled evenly, with a note; more than `max_seconds` are refused.

    A file is bounded by its header before anything is decoded: more than `max_pixels` decoded pixels in all
    (canvas × frames) is refused with a message. Only the sampled frames are kept, each downscaled to `max_side`
    as it is decoded, so memory holds at most `max_frames` frames of the styled size whatever the file says."""
    if source is None:
        raise ImageInputError("No clip was given: upload an MP4, WebM or animated GIF.")
    notes = []
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ImageInputError(f"Clip file not found: {path.name}")
        name = path.name
        header = checked_header(path, name, max_pixels=max_pixels, max_seconds=max_seconds)
        if header.kind == "gif":
            frames, rate, total = _gif_frames(path, header, max_frames, max_seconds, max_side, name)
        else:
            frames, rate, total = _video_frames(path, header, max_frames, max_side, name)
        rate = float(fps or rate)
    else:
        if isinstance(source, np.ndarray) and source.ndim != 4:
            raise ImageInputError(f"An array of shape {source.shape} is not a clip: expected (frames, height, width, 3).")
        all_frames = list(source)
        total, rate = len(all_frames), float(fps or DEFAULT_FPS)
        frames = [_fitted(load_image(all_frames[i], max_side=10**6, min_side=1, name="frame").image, max_side)
                  for i in _sampled(total, max_frames)] if all_frames else []
    # `rate`: the clip's own frame rate; the styled frames' rate is lower when some were left out
    if total / rate > max_seconds + 1e-6:
        raise ImageInputError(f"{name} lasts at least {total / rate:.1f} s; the limit is {max_seconds:g} s: "
                              "trim it first.")
    if not frames:
        raise ImageInputError(f"{name} has no frames.")
    if len(frames) == 1:
        raise ImageInputError(f"{name} has a single frame: style it as an image.")
    styled_rate = rate * len(frames) / total
    if total > len(frames):
        notes.append(f"{name} has {total} frames; {len(frames)} of them, evenly spaced, are styled "
                     f"({styled_rate:.1f} frames per second instead of {rate:.3g})")
    if len({frame.size for frame in frames}) > 1:
        raise ImageInputError(f"The frames of {name} differ in size.")
    return Clip(frames=frames, fps=styled_rate, notes=notes)


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
    clip = read_clip(source, max_frames=max_frames, fps=fps, max_side=settings.image_size)
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
    "Clip", "ClipHeader", "probe_clip", "checked_header", "MAX_DECODED_PIXELS", "VideoProgress", "VideoStyleResult", "read_clip", "still_weights", "style_video", "flicker",
    "MAX_FRAMES", "MAX_SECONDS", "DEFAULT_TEMPORAL_WEIGHT", "STILL_DIFFERENCE",
]
