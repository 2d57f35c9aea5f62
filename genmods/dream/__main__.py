"""python -m genmods.dream INPUT OUTPUT [options]  — DeepDream from the command line.

OUTPUT ending in .gif or .mp4 with --zoom-frames N makes a dream-zoom animation instead of one image.
"""

import argparse
import sys

from tqdm.auto import tqdm

from ..progress import progress_bar
from ..vision.backbones import SUPPORTED_BACKBONES
from ..vision.images import ImageInputError
from . import PRESET_NAMES, DreamSettings, deep_dream, dream_zoom, parse_layer_weights, save_animation


def parse_layers(text: str) -> dict[str, float]:
    try:
        return parse_layer_weights(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def announce_estimate(settings: DreamSettings, image, zoom_frames: int = 0) -> None:
    """How long the dream (or the zoom) will take on this machine, said before it starts, as the app says it."""
    from ..estimate import dream_estimate, zoom_estimate
    from ..vision.images import header_size

    size = header_size(image) or (settings.max_side, round(0.75 * settings.max_side))
    side, aspect = min(settings.max_side, max(size)), size[1] / size[0]
    expected = (zoom_estimate(settings, zoom_frames, side, aspect) if zoom_frames
                else dream_estimate(settings, side, aspect))
    print(f"estimate: {expected.describe()}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m genmods.dream", description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("output", help="PNG/JPEG image, or .gif/.mp4 with --zoom-frames")
    parser.add_argument("--backbone", choices=SUPPORTED_BACKBONES, default="inception_v3")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--preset", choices=PRESET_NAMES, default=None, help="layer mix (default: keras)")
    group.add_argument("--layers", type=parse_layers, help="LAYER=WEIGHT,... e.g. mixed4=1,mixed5=1.5")
    parser.add_argument("--octaves", type=int, default=3)
    parser.add_argument("--octave-scale", type=float, default=1.4)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--step", type=float, default=0.01,
                        help="mean change per pixel per step in [-1, 1] units (0.01 ≈ 1.27 grey levels)")
    parser.add_argument("--max-loss", type=float, default=None)
    parser.add_argument("--layer-balance", choices=["auto", "raw", "relative"], default="auto",
                        help="relative: each layer's weight is its share, whatever its activation scale")
    parser.add_argument("--gradient", choices=["smoothed", "raw"], default="smoothed",
                        help="smoothed: no rainbow noise, nothing clipped; raw: the Keras recipe's gradient, exactly")
    parser.add_argument("--jitter", type=int, default=0)
    parser.add_argument("--tile-size", type=int, default=None)
    parser.add_argument("--guide", default=None, help="guide image: dream towards its features")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-side", type=int, default=1024, help="larger inputs are downscaled to this")
    parser.add_argument("--no-pretrained", dest="pretrained", action="store_false", help="random weights")
    parser.add_argument("--weights-file", default=None, help="local timm weights file (offline)")
    parser.add_argument("--zoom-frames", type=int, default=0, help="make a zoom animation with this many frames")
    parser.add_argument("--zoom-factor", type=float, default=1.05)
    args = parser.parse_args(argv)

    bar = None
    try:
        settings = DreamSettings(
            backbone=args.backbone, layers=args.layers or args.preset, octaves=args.octaves,
            octave_scale=args.octave_scale, iterations=args.iterations, step=args.step, max_loss=args.max_loss,
            layer_balance=args.layer_balance, jitter=args.jitter, tile_size=args.tile_size, seed=args.seed,
            pretrained=args.pretrained, weights_file=args.weights_file, max_side=args.max_side,
            gradient=args.gradient,
        )
        announce_estimate(settings, args.input, args.zoom_frames)
        if args.zoom_frames:
            with tqdm(total=args.zoom_frames, unit="frame") as bar:
                frames = dream_zoom(args.input, settings, frames=args.zoom_frames, zoom_factor=args.zoom_factor,
                                    callback=lambda done, total, result: bar.update(1))
            save_animation(frames, args.output)
            print(f"wrote {len(frames)} frames to {args.output}")
            return
        bar, progress = progress_bar(lambda r: dict(octave=f"{r.octave}/{r.octaves}", loss=f"{r.loss:.4g}"))
        result = deep_dream(args.input, settings, guide=args.guide, callback=progress)
        bar.close()
    except (ImageInputError, ValueError, FileNotFoundError) as error:
        if bar is not None:
            bar.close()
        sys.exit(f"error: {error}")
    result.image.save(args.output)
    for note in result.notes:
        print(f"note: {note}")
    if result.weights.warning:
        print(f"warning: {result.weights.warning}")
    else:
        print(f"weights: {result.weights.source}")
    print(f"wrote {args.output} ({result.image.width}×{result.image.height}, {result.seconds:.1f} s)")


if __name__ == "__main__":
    main()
