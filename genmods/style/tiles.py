"""Style transfer at any size: a scale too large to optimise in one piece is refined tile by tile, each tile
minimising the *whole image's* objective with the rest of the image held where it is (block coordinate descent).

Why the whole image's objective and not each tile's own: with a tile's own Gram matrices every tile must hold
every texture of the style in the style's proportions (a tile of sky gets the same mix of strokes as a tile of
face), and neighbours disagree. Here the style term is the relative error of the Gram matrices of the whole
canvas, made of the other cells' Gram sums (fixed while the tile is optimised) and the tile's own (variable); the
content and smoothness terms likewise add the tile's part to the rest's, each normalised by the whole image's.
So a tile's gradient is the whole-image gradient at its pixels, and its reported losses are the whole image's.

Geometry: each tile has a `box` (optimised, written back through feathered weights), a `window` around it (what
the network sees: the box and some context held at the canvas, so the box edge is no image edge to the deep
layers) and a `cell` (the box trimmed half-way into each overlap: the cells partition the image, and each one's
Gram sum and content error is counted once).
"""

import math
from typing import NamedTuple

import torch

from .losses import relative_squared_error


def _starts(length: int, side: int, overlap: int) -> list[int]:
    if length <= side:
        return [0]
    count = math.ceil((length - overlap) / (side - overlap))
    return [round(index * (length - side) / (count - 1)) for index in range(count)]


def _cell_cuts(starts: list[int], side: int, length: int) -> list[tuple[int, int]]:
    """Along one axis: each box trimmed to the middle of its overlaps with its neighbours."""
    cuts = [0] + [(following + previous + side) // 2 for previous, following in zip(starts, starts[1:])] + [length]
    return list(zip(cuts[:-1], cuts[1:]))


Box = tuple[int, int, int, int]  # top, left, bottom, right (pixels)


class Tile(NamedTuple):
    box: Box  # optimised and written back
    window: Box  # what the network sees: the box and up to tile_size / 8 px of context, inside the image
    cell: Box  # the part of the box this tile accounts for in the whole image's sums

    def within_window(self, region: Box) -> tuple[slice, slice]:
        """A region's rows and columns inside the window."""
        top, left, bottom, right = region
        return slice(top - self.window[0], bottom - self.window[0]), slice(left - self.window[1], right - self.window[1])


def tile_layout(size: tuple[int, int], tile: int) -> list[Tile]:
    """Tiles whose windows are at most `tile` px covering (height, width), row by row: boxes of `tile` less the
    context on both sides, evenly spaced, neighbours overlapping by at least an eighth of a box (the feathered
    seam). One tile, the whole image, when it fits."""
    height, width = size
    if max(size) <= tile:
        whole = (0, 0, height, width)
        return [Tile(whole, whole, whole)]
    context = tile // 8
    side = tile - 2 * context
    rows, columns = _starts(height, side, side // 8), _starts(width, side, side // 8)
    row_cells, column_cells = _cell_cuts(rows, side, height), _cell_cuts(columns, side, width)
    tiles = []
    for top, (cell_top, cell_bottom) in zip(rows, row_cells):
        for left, (cell_left, cell_right) in zip(columns, column_cells):
            box = (top, left, min(height, top + side), min(width, left + side))
            window = (max(0, top - context), max(0, left - context), min(height, box[2] + context),
                      min(width, box[3] + context))
            tiles.append(Tile(box, window, (cell_top, cell_left, cell_bottom, cell_right)))
    return tiles


def feather(box: Box, boxes_done: list[Box]) -> torch.Tensor:
    """(1, 1, h, w) weights for writing a refined box over the canvas: a raised-cosine ramp from 0 to 1 across
    its overlap with each box refined before it (above and to the left), 1 elsewhere. Where it overlaps a later
    box it keeps weight 1: that box's own ramp blends the two."""
    top, left, bottom, right = box
    rows, columns = torch.ones(bottom - top), torch.ones(right - left)
    overlap_above = max([b - top for t, l, b, r in boxes_done if t < top and l < right and r > left], default=0)
    overlap_left = max([r - left for t, l, b, r in boxes_done if l < left and t < bottom and b > top], default=0)
    for ramp, width in ((rows, overlap_above), (columns, overlap_left)):
        if width > 0:
            ramp[:width] = 0.5 - 0.5 * torch.cos(torch.linspace(0, math.pi, width + 2)[1:-1])
    return (rows[:, None] * columns[None, :])[None, None]


def _features_in(features: torch.Tensor, tile: Tile, region: Box) -> torch.Tensor:
    """A layer's activations over the window, cut to the positions of `region` (proportionally to the layer's
    resolution)."""
    height, width = features.shape[-2:]
    window_height, window_width = tile.window[2] - tile.window[0], tile.window[3] - tile.window[1]
    rows, columns = tile.within_window(region)
    top, bottom = round(rows.start * height / window_height), round(rows.stop * height / window_height)
    left, right = round(columns.start * width / window_width), round(columns.stop * width / window_width)
    return features[..., top:max(bottom, top + 1), left:max(right, left + 1)]


def _gram_sum(features: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(Σ over positions of f fᵀ / channels, positions): a Gram matrix before its division by the positions."""
    batch, channels = features.shape[:2]
    flat = features.reshape(batch, channels, -1)
    return flat @ flat.transpose(1, 2) / channels, flat.shape[-1]


def cell_gram_sum(features: torch.Tensor, tile: Tile) -> tuple[torch.Tensor, int]:
    """A layer's Gram sum over the positions of a tile's cell (activations computed over its window)."""
    return _gram_sum(_features_in(features, tile, tile.cell))


def _squared_differences(pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return ((pixels[..., 1:, :] - pixels[..., :-1, :]).square().sum(),
            (pixels[..., :, 1:] - pixels[..., :, :-1]).square().sum())


class WholeImage:
    """The whole canvas's Gram sums and content errors, cell by cell, kept current as tiles are refined, and the
    content targets and norms of the whole content image."""

    def __init__(self, extractor, settings, tiles: list[Tile], content: torch.Tensor, canvas: torch.Tensor,
                 style_grams: dict[str, torch.Tensor]):
        self.extractor, self.settings, self.tiles, self.style_grams = extractor, settings, tiles, style_grams
        self.targets, self.content_norms = [], dict.fromkeys(settings.content_layers, 0.0)
        with torch.no_grad():
            for tile in tiles:
                top, left, bottom, right = tile.window
                features = extractor(content[..., top:bottom, left:right], full_precision=True)
                target = {name: _features_in(features[name], tile, tile.cell) for name in settings.content_layers}
                self.targets.append(target)
                for name, value in target.items():
                    self.content_norms[name] = self.content_norms[name] + value.square().sum()
        self.grams: list[dict] = [{} for _ in tiles]
        self.errors: list[dict] = [{} for _ in tiles]
        self.positions = dict.fromkeys(settings.style_layers, 0)
        for index in range(len(tiles)):
            self.refresh(index, canvas)
        channels, height, width = canvas.shape[-3:]
        # neighbouring pairs, vertical and horizontal, per channel: what total_variation averages over
        self.pairs = (channels * (height - 1) * width, channels * height * (width - 1))

    @torch.no_grad()
    def refresh(self, index: int, canvas: torch.Tensor) -> None:
        """Recounts one cell from the canvas."""
        tile = self.tiles[index]
        top, left, bottom, right = tile.window
        features = self.extractor(canvas[..., top:bottom, left:right], full_precision=True)
        grams = {}
        for name in self.settings.style_layers:
            grams[name], count = cell_gram_sum(features[name], tile)
            if name not in self.grams[index]:
                self.positions[name] += count
        self.grams[index] = grams
        self.errors[index] = {name: (_features_in(features[name], tile, tile.cell) - target).square().sum()
                              for name, target in self.targets[index].items()}

    def objective(self, index: int, canvas: torch.Tensor) -> "TileObjective":
        """The whole image's objective as a function of tile `index`'s pixels, the rest held at `canvas`."""
        others = [i for i in range(len(self.tiles)) if i != index]
        gram_rest = {name: sum((self.grams[i][name] for i in others), torch.zeros_like(self.grams[index][name]))
                     for name in self.settings.style_layers}
        error_rest = {name: sum((self.errors[i][name] for i in others), 0.0) for name in self.settings.content_layers}
        tile = self.tiles[index]
        top, left, bottom, right = tile.window
        window = canvas[..., top:bottom, left:right].clone()
        vertical, horizontal = _squared_differences(canvas)
        window_vertical, window_horizontal = _squared_differences(window)
        return TileObjective(self, index, window, gram_rest, error_rest,
                             (vertical - window_vertical, horizontal - window_horizontal))


class TileObjective:
    """content_weight · J_content + style_weight · J_style + tv_weight · TV of the whole image, as a function of
    one tile's window (only its box free), with the same interface as `StyleObjective`."""

    def __init__(self, whole: WholeImage, index: int, window: torch.Tensor, gram_rest: dict, error_rest: dict,
                 differences_rest: tuple[torch.Tensor, torch.Tensor]):
        self.whole, self.tile, self.index = whole, whole.tiles[index], index
        self.fixed = window
        self.gram_rest, self.error_rest, self.differences_rest = gram_rest, error_rest, differences_rest
        self.free = torch.zeros_like(window[:, :1])
        self.free[(..., *self.tile.within_window(self.tile.box))] = 1

    def painted(self, x: torch.Tensor) -> torch.Tensor:
        return self.fixed + self.free * (x - self.fixed)

    def __call__(self, x: torch.Tensor, full_precision: bool = False) -> tuple[torch.Tensor, dict]:
        whole, settings, tile = self.whole, self.whole.settings, self.tile
        x = self.painted(x)
        features = whole.extractor(x, full_precision=full_precision)
        content = sum((self.error_rest[name] + (_features_in(features[name].float(), tile, tile.cell)
                                                - whole.targets[self.index][name]).square().sum())
                      / whole.content_norms[name].clamp_min(1e-30) for name in settings.content_layers)
        style = 0.0
        for name in settings.style_layers:
            gram, _ = cell_gram_sum(features[name].float(), tile)
            style = style + relative_squared_error((self.gram_rest[name] + gram) / whole.positions[name],
                                                   whole.style_grams[name])
        vertical, horizontal = _squared_differences(x)
        tv = ((self.differences_rest[0] + vertical) / whole.pairs[0]
              + (self.differences_rest[1] + horizontal) / whole.pairs[1])
        terms = {"content": settings.content_weight * content / len(settings.content_layers),
                 "style": settings.style_weight * style / len(settings.style_layers),
                 "tv": settings.tv_weight * tv}
        return sum(terms.values()), terms


__all__ = ["Tile", "tile_layout", "feather", "cell_gram_sum", "WholeImage", "TileObjective"]
