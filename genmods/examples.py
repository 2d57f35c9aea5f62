"""Example images that work offline: photographs shipped with scikit-image, public-domain paintings shipped in
genmods/paintings (their provenance in PROVENANCE.md there), and style textures we paint ourselves in code."""

import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
PAINTINGS_DIR = Path(__file__).resolve().parent / "paintings"
# the lecture's "numerous well-known artworks", all in the public domain (genmods/paintings/PROVENANCE.md)
PAINTINGS = ("starry_night", "great_wave", "the_scream", "woman_with_a_hat", "shipwreck_of_the_minotaur", "udnie")


def photo(name: str) -> Image.Image:
    import skimage.data

    if name not in PHOTOS + ("hubble_deep_field",):
        raise ValueError(f"unknown example photo {name!r}")
    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


def painting(name: str) -> Image.Image:
    if name not in PAINTINGS:
        raise ValueError(f"unknown painting {name!r}; choose one of {', '.join(PAINTINGS)}")
    return Image.open(PAINTINGS_DIR / f"{name}.jpg").convert("RGB")


def _grid(size: int):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    return x, y


def paint_swirls(size: int = 384, seed: int = 0) -> Image.Image:
    """Van Gogh-ish: flowing bands of saturated blue and yellow along a turbulent angle field."""
    rng = np.random.default_rng(seed)
    x, y = _grid(size)
    field = np.zeros_like(x)
    for _ in range(6):
        fx, fy, phase = rng.uniform(0.5, 2), rng.uniform(0.5, 2), rng.uniform(0, 2 * np.pi)
        field += np.sin(2 * np.pi * (fx * x + fy * y) + phase + 2 * np.sin(2 * np.pi * y * fx))
    bands = np.sin(3 * field)
    palette = np.array([[20, 40, 120], [60, 110, 200], [240, 210, 70], [250, 240, 190]], np.float32)
    t = (bands + 1) / 2 * (len(palette) - 1)
    low = np.floor(t).astype(int).clip(0, len(palette) - 2)
    frac = (t - low)[..., None]
    image = palette[low] * (1 - frac) + palette[low + 1] * frac
    return Image.fromarray(image.astype(np.uint8)).filter(ImageFilter.SMOOTH_MORE)


def paint_mosaic(size: int = 384, cells: int = 90, seed: int = 1) -> Image.Image:
    """Stained glass: Voronoi cells of bright colours separated by dark leading."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, size, (cells, 2))
    colours = rng.choice(np.array([[200, 30, 40], [30, 90, 200], [250, 190, 30], [40, 160, 80], [150, 60, 170],
                                   [240, 120, 30]], np.uint8), cells)
    y, x = np.mgrid[0:size, 0:size]
    distances = (x[..., None] - points[:, 0]) ** 2 + (y[..., None] - points[:, 1]) ** 2
    order = np.argsort(distances, axis=-1)
    nearest, second = order[..., 0], order[..., 1]
    d1 = np.take_along_axis(distances, nearest[..., None], -1)[..., 0]
    d2 = np.take_along_axis(distances, second[..., None], -1)[..., 0]
    image = colours[nearest].astype(np.float32)
    edge = (np.sqrt(d2) - np.sqrt(d1)) < 3.0
    image[edge] = [25, 20, 20]
    return Image.fromarray(image.astype(np.uint8))


def paint_brushstrokes(size: int = 384, strokes: int = 900, seed: int = 2) -> Image.Image:
    """Impasto: many short, thick, warm and cool strokes at random angles on a canvas tone."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    canvas = Image.new("RGB", (size, size), (225, 210, 180))
    draw = ImageDraw.Draw(canvas)
    palette = [(180, 60, 40), (210, 140, 60), (60, 90, 140), (30, 50, 80), (230, 200, 120), (90, 130, 90)]
    for _ in range(strokes):
        cx, cy = rng.uniform(0, size, 2)
        angle, length = rng.uniform(0, np.pi), rng.uniform(8, 30)
        dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
        colour = palette[rng.integers(len(palette))]
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=colour, width=int(rng.integers(3, 8)))
    return canvas.filter(ImageFilter.SMOOTH)


PAINTED_STYLES = {"swirls": paint_swirls, "mosaic": paint_mosaic, "brushstrokes": paint_brushstrokes}


def moving_square_clip(frames: int = 12, size: int = 192) -> list[Image.Image]:
    """A still scene (skimage's coffee) with a red square crossing it: a clip whose still regions show any
    flicker of a styled video (benchmarks/style_video_flicker.py, the style tab's example clip)."""
    scene = photo("coffee").resize((size, round(size * 0.75)), Image.Resampling.LANCZOS)
    side, clip = max(8, size // 6), []
    for index in range(frames):
        frame = np.array(scene)
        left = round(index * (scene.width - side) / max(1, frames - 1))
        top = (scene.height - side) // 2
        frame[top : top + side, left : left + side] = (220, 30, 30)
        clip.append(Image.fromarray(frame))
    return clip


@lru_cache(maxsize=1)
def example_files() -> dict[str, str]:
    """All examples written once as PNG files (Gradio examples are files): {name: path}."""
    folder = Path(tempfile.gettempdir()) / "genmods-examples"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in PHOTOS + ("hubble_deep_field",):
        path = folder / f"{name}.png"
        if not path.exists():
            image = photo(name)
            image.thumbnail((512, 512))
            image.save(path)
        files[name] = str(path)
    for name in PAINTINGS:
        files[name] = str(PAINTINGS_DIR / f"{name}.jpg")
    for name, paint in PAINTED_STYLES.items():
        path = folder / f"{name}.png"
        if not path.exists():
            paint().save(path)
        files[name] = str(path)
    path = folder / "moving-square.gif"
    if not path.exists():
        from .vision.images import save_animation

        save_animation(moving_square_clip(), path, fps=6)
    files["moving-square"] = str(path)
    return files
