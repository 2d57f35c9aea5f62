"""Clips made to hurt the server: a 9 kB GIF with a 7000 × 7000 canvas and 400 frames, a GIF whose canvas alone is
over the pixel limit, a long high-resolution video. Each gets a clear message or a correct result, decoding is
bounded by the header, and a fresh process reading them stays small (peak RSS measured)."""

import io
import json
import struct
import subprocess
import sys

import pytest

from genmods.style.video import MAX_DECODED_PIXELS, probe_clip, read_clip
from genmods.vision.images import ImageInputError

from .conftest import REPO


def tiny_gif_with_a_huge_canvas(path, side: int = 7000, frames: int = 400):
    """A GIF of a side × side logical screen whose frames are each one 1 × 1 patch of 50 ms: ~9 kB on disk,
    side² × frames pixels once every frame is drawn on the canvas."""
    data = io.BytesIO()
    data.write(b"GIF89a" + struct.pack("<HH", side, side) + bytes([0xF0, 0, 0]) + b"\x00\x00\x00\xff\xff\xff")
    data.write(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00")
    for index in range(frames):
        data.write(b"\x21\xF9\x04\x04" + struct.pack("<H", 5) + b"\x00\x00")  # 5 centiseconds
        data.write(b"\x2C" + struct.pack("<HHHH", index % side, 0, 1, 1) + b"\x00")
        data.write(b"\x02\x02\x44\x01\x00")  # one pixel, LZW-coded
    data.write(b"\x3B")
    path.write_bytes(data.getvalue())
    return path


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    """6 s of 1080p at 60 frames per second (360 frames, 750 megapixels decoded), from ffmpeg's test source."""
    import imageio_ffmpeg

    path = tmp_path_factory.mktemp("video") / "long.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=1920x1080:rate=60", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast",
                    "-crf", "35", str(path)], check=True, timeout=300)
    return path


def peak_rss_of_reading(path, **options) -> dict:
    """Reads the clip in a fresh Python process: its peak RSS growth (MB) over the imports, and the outcome."""
    code = f"""
import json, resource, sys
sys.path.insert(0, {str(REPO)!r})
from genmods.style.video import read_clip
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    clip = read_clip({str(path)!r}, **{options!r})
    outcome = dict(frames=len(clip.frames), size=list(clip.frames[0].size), fps=clip.fps)
except ValueError as error:
    outcome = dict(error=str(error))
outcome["growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps(outcome))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_tiny_gif_with_a_huge_canvas_is_refused_from_its_header(tmp_path):
    path = tiny_gif_with_a_huge_canvas(tmp_path / "hostile.gif")
    assert path.stat().st_size < 12_000
    header = probe_clip(path)
    assert (header.width, header.height, header.frames) == (7000, 7000, 400)
    outcome = peak_rss_of_reading(path, max_frames=12)
    assert "19,600 megapixels to decode; the limit is 3,000" in outcome["error"]
    assert outcome["growth_mb"] < 100  # the old reader kept 400 full-canvas frames: past 6 GB


def test_a_gif_whose_canvas_alone_is_too_large_says_so_in_pixels(tmp_path):
    path = tiny_gif_with_a_huge_canvas(tmp_path / "huge.gif", side=9000, frames=2)
    with pytest.raises(ImageInputError, match=r"huge.gif: This image has 81 megapixels \(9000×9000\); the limit is 64"):
        read_clip(path)


def test_a_gif_just_under_the_limit_is_read_with_bounded_memory(tmp_path):
    # 2000 × 2000 × 400 frames = 1,600 megapixels to decode (under the limit): only 12 frames are kept, downscaled
    path = tiny_gif_with_a_huge_canvas(tmp_path / "big.gif", side=2000, frames=400)
    outcome = peak_rss_of_reading(path, max_frames=12, max_side=192)
    assert outcome["frames"] == 12 and outcome["size"] == [192, 192]
    assert outcome["growth_mb"] < 300, outcome  # one 2000² canvas at a time, not 400 of them (6.4 GB)


def test_a_long_high_resolution_video_is_sampled_while_decoding(long_video):
    outcome = peak_rss_of_reading(long_video, max_frames=12, max_side=192)
    assert outcome["frames"] == 12 and outcome["size"] == [192, 108]
    assert outcome["fps"] == pytest.approx(2.0, rel=0.05)  # 12 of 360 frames over 6 s
    assert outcome["growth_mb"] < 300, outcome  # 360 decoded 1080p frames held at once would be 2.2 GB


def test_a_video_over_the_pixel_limit_is_refused_before_decoding(long_video):
    header = probe_clip(long_video)
    assert (header.width, header.height) == (1920, 1080) and header.frames == pytest.approx(360, abs=2)
    with pytest.raises(ImageInputError, match="megapixels to decode; the limit is 500"):
        read_clip(long_video, max_pixels=500_000_000)
    assert MAX_DECODED_PIXELS >= 19 * 60 * 1920 * 1080  # a 19-second 1080p60 clip is read, sampled
