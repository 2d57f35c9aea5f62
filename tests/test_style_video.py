"""Styling a moving image: reading clips, refusing bad ones, and frames that do not flicker."""

import numpy as np
import pytest
from PIL import Image

from genmods.style import VideoProgress, flicker, read_clip, style_video
from genmods.style.video import still_weights
from genmods.vision.images import ImageInputError, save_animation

FAST = dict(image_size=64, iterations=8, frame_iterations=8, pretrained=False, precision="fp32")


def moving_square(frames=3, width=64, height=48):
    import skimage.data

    scene = np.array(Image.fromarray(skimage.data.coffee()).resize((width, height)))
    clip = []
    for index in range(frames):
        frame = scene.copy()
        frame[16:28, 4 + 10 * index : 16 + 10 * index] = (220, 30, 30)
        clip.append(Image.fromarray(frame))
    return clip


@pytest.fixture(scope="module")
def style():
    import skimage.data

    return Image.fromarray(skimage.data.astronaut()).resize((64, 64))


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_a_gif_or_mp4_file_reads_back_as_its_frames(tmp_path, suffix):
    clip = moving_square(4)
    path = save_animation(clip, tmp_path / f"clip{suffix}", fps=5)
    read = read_clip(path)
    assert len(read.frames) == 4 and read.frames[0].size[0] >= 64
    assert read.fps == pytest.approx(5, rel=0.05)
    assert not read.notes


def test_frames_and_arrays_are_clips():
    clip = moving_square(3)
    assert len(read_clip(clip).frames) == 3
    assert len(read_clip(np.stack([np.asarray(f) for f in clip])).frames) == 3


def test_a_long_clip_is_sampled_evenly_with_a_notice():
    read = read_clip(moving_square(10), max_frames=4, fps=10)
    assert len(read.frames) == 4 and read.fps == pytest.approx(4)
    assert "10 frames; 4 of them, evenly spaced" in read.notes[0]


@pytest.mark.parametrize("kind,message", [
    ("not-a-video", "is not a video or an animated GIF"),
    ("too-long", "the limit is 20 s"),
    ("one-frame", "has a single frame"),
    ("no-frames", "has no frames"),
    ("missing", "Clip file not found"),
])
def test_bad_clips_are_refused_with_a_clear_message(tmp_path, kind, message):
    if kind == "not-a-video":
        source = tmp_path / "notes.mp4"
        source.write_text("this is text, not a video")
    elif kind == "too-long":
        source = str(tmp_path / "long.gif")
        frames = moving_square(3)
        frames[0].save(source, save_all=True, append_images=frames[1:], duration=[10_000, 10_000, 10_000])
    elif kind == "one-frame":
        source = moving_square(1)
    elif kind == "no-frames":
        source = []
    else:
        source = tmp_path / "gone.webm"
    with pytest.raises(ImageInputError, match=message):
        read_clip(source)


def test_still_weights_are_one_where_the_input_did_not_change():
    a, b = moving_square(2)
    weights = still_weights(a, b)
    assert weights[0, 0] == 1.0 and weights[20, 18] == 0.0  # a corner of the scene; where the square arrived


def test_style_video_streams_every_frame_and_keeps_the_frame_rate(style):
    reports = []
    result = style_video(moving_square(3), style, fps=6, callback=reports.append, **FAST)
    assert len(result.frames) == 3 and len(result.history) == 3 and result.fps == 6
    assert all(len(h) == 8 for h in result.history)
    finished = [r for r in reports if r.finished]
    assert [r.frame for r in finished] == [1, 2, 3]
    assert [r.image for r in finished] == result.frames
    assert all(isinstance(r, VideoProgress) for r in reports) and reports[-1].step == reports[-1].total_steps == 24
    assert "temporal" in result.history[1][-1] and "temporal" not in result.history[0][-1]


def test_warm_start_and_the_temporal_term_stop_the_flicker(style):
    clip = moving_square(3)
    independent = style_video(clip, style, warm_start=False, temporal_weight=0.0, **FAST)
    ours = style_video(clip, style, **FAST)
    assert flicker(ours.frames, clip) * 3 <= flicker(independent.frames, clip)


def test_a_styled_clip_exports_as_gif_and_mp4(style, tmp_path):
    result = style_video(moving_square(3), style, **dict(FAST, iterations=2, frame_iterations=2))
    for suffix in (".gif", ".mp4"):
        path = save_animation(result.frames, tmp_path / f"styled{suffix}", fps=result.fps)
        assert len(read_clip(path).frames) == 3


def test_masks_do_not_apply_to_a_clip(style):
    with pytest.raises(ValueError, match="Masks are painted on one image"):
        style_video(moving_square(2), style, masks=[Image.new("L", (64, 48), 255)], **FAST)
