"""python -m genmods.style CONTENT STYLE OUTPUT [options] — neural style transfer from the command line.

Several styles: repeat --style-image (with --style-blend weights) on top of STYLE. Style by region: one --mask
per style image (white or opaque = the region that style paints; what no mask covers keeps the content).
Continue a run: --init PREVIOUS_RESULT.png.
"""

import argparse
import sys
from pathlib import Path

from ..progress import progress_bar
from ..vision.images import ImageInputError, save_image
from . import (
    CONTENT_LAYERS, DEFAULT_CONTENT_WEIGHT, DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, STYLE_LAYERS, StyleSettings,
    style_transfer,
)
from .transfer import COLOR_MODES, DEFAULT_TILE_SIZE, INIT_NAMES


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def announce_estimate(settings: StyleSettings, content) -> None:
    """How long the run will take on this machine, said before it starts, as the app says it."""
    from ..estimate import style_estimate
    from ..vision.images import header_size

    size = header_size(content)
    print(f"estimate: {style_estimate(settings, size[1] / size[0] if size else 0.75).describe()}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m genmods.style", description=__doc__.splitlines()[0])
    parser.add_argument("content")
    parser.add_argument("style")
    parser.add_argument("output")
    parser.add_argument("--style-image", action="append", default=[], help="another style image to blend in")
    parser.add_argument("--style-blend", type=lambda t: [float(x) for x in comma_list(t)], default=None,
                        help="blend weights, one per style image (STYLE first), e.g. 0.7,0.3")
    parser.add_argument("--image-size", type=int, default=384, help="output's longer side in px")
    parser.add_argument("--content-weight", type=float, default=DEFAULT_CONTENT_WEIGHT,
                        help="α, on the relative content error (scale-free; see docs/calibration.md)")
    parser.add_argument("--style-weight", type=float, default=DEFAULT_STYLE_WEIGHT,
                        help="β, on the relative Gram error; β/α is the style strength")
    parser.add_argument("--tv-weight", type=float, default=DEFAULT_TV_WEIGHT,
                        help="smoothness; 10 smooths visibly, 100 flattens")
    parser.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=None, help="Adam only: pixels in [0, 1] per step (0.02)")
    parser.add_argument("--init", default="content",
                        help="content, noise, style, or an image file to start from (continue an earlier result)")
    parser.add_argument("--mask", action="append", default=None,
                        help="a region mask per style image, in order (STYLE first); white/opaque = inside")
    parser.add_argument("--color", choices=COLOR_MODES, default=None,
                        help="style (default): the painting's colours; luminance: keep the content's; histogram: the "
                             "content takes the style's palette first; colors-only: that recolouring alone")
    parser.add_argument("--preserve-color", action="store_true", help="the same as --color luminance")
    parser.add_argument("--tile-size", type=int, default=DEFAULT_TILE_SIZE,
                        help="larger scales are refined in overlapping tiles of this many px (memory)")
    parser.add_argument("--bits", type=int, choices=[8, 16], default=8, help="16: a 16-bit-per-channel PNG")
    parser.add_argument("--multi-scale", type=int, default=1, help="number of coarse-to-fine scales")
    parser.add_argument("--style-scale", type=float, default=1.0)
    parser.add_argument("--pooling", choices=["max", "avg"], default="max")
    parser.add_argument("--backbone", choices=["vgg19", "vgg16"], default="vgg19")
    parser.add_argument("--content-layers", type=comma_list, default=list(CONTENT_LAYERS))
    parser.add_argument("--style-layers", type=comma_list, default=list(STYLE_LAYERS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-pretrained", dest="pretrained", action="store_false", help="random weights")
    parser.add_argument("--weights-file", default=None, help="local timm weights file (offline)")
    args = parser.parse_args(argv)
    if args.bits == 16 and not args.output.lower().endswith(".png"):
        parser.error("--bits 16 writes a PNG: give an OUTPUT ending in .png")

    bar, progress = progress_bar(lambda r: dict(scale=f"{r.scale}/{r.scales}",
                                                loss=f"{r.losses['total']:.4g}" if r.losses else "-"))

    try:
        settings = StyleSettings(
            image_size=args.image_size, iterations=args.iterations, content_weight=args.content_weight,
            style_weight=args.style_weight, tv_weight=args.tv_weight, optimizer=args.optimizer,
            learning_rate=args.learning_rate, color=args.color or ("luminance" if args.preserve_color else "style"),
            preserve_color=args.preserve_color, multi_scale=args.multi_scale, tile_size=args.tile_size,
            style_scale=args.style_scale, pooling=args.pooling, backbone=args.backbone,
            content_layers=args.content_layers, style_layers=args.style_layers, pretrained=args.pretrained,
            weights_file=args.weights_file, seed=args.seed,
        )
        announce_estimate(settings, args.content)
        result = style_transfer(args.content, [args.style, *args.style_image], settings, style_blend=args.style_blend,
                                init=args.init if args.init in INIT_NAMES else Path(args.init), masks=args.mask,
                                callback=progress)
        save_image(result, args.output, bits=args.bits)
    except (ImageInputError, ValueError, FileNotFoundError) as error:
        bar.close()
        sys.exit(f"error: {error}")
    bar.close()
    for note in result.notes:
        print(f"note: {note}")
    if result.weights.warning:
        print(f"warning: {result.weights.warning}")
    else:
        print(f"weights: {result.weights.source}")
    start, final = result.start, result.final
    print(f"wrote {args.output} ({result.image.width}×{result.image.height}, {args.bits}-bit, {result.seconds:.1f} s)")
    if result.history:  # colors-only paints nothing
        print(f"weighted losses, start → end: content {start['content']:.4g} → {final['content']:.4g}, "
              f"style {start['style']:.4g} → {final['style']:.4g}, tv {start['tv']:.4g} → {final['tv']:.4g}")


if __name__ == "__main__":
    main()
