"""DeepDream: gradient ascent on an image to maximise the activations of whole layers of a convnet.

    result = deep_dream(image)                       # the lecture's layers on InceptionV3, smoothed gradient
    result = deep_dream(image, DreamSettings.keras_recipe())   # the lecture's Keras recipe exactly
    result.image.save("dream.png")

The image is processed at successive octaves, each `octave_scale` (1.4) times larger than the one
before; at each octave we upscale the dream, re-inject the detail that shrinking the original lost,
and run gradient ascent. Lower layers give geometric patterns, higher layers object-like ones.

Units: the ascent works on pixels in [0, 1] (the backbone normalises inside), the gradient is divided
by its mean absolute value, and `step` is the mean change per pixel per step in Keras' [-1, 1] units,
so the default 0.01 moves pixels by 1.27 grey levels on average on every backbone, as the lecture's
Keras recipe does on InceptionV3. By default the gradient is smoothed first (Laplacian bands equalised, colours
decorrelated, pixels slowed near black and white: no rainbow confetti on a trained network) and the shallow presets
take a smaller step; docs/calibration.md converts every default from the references and shows both on a trained
InceptionV3.
"""

import math

import time
from dataclasses import dataclass, field, replace
from typing import Callable

import torch
import torch.nn.functional as F
from PIL import Image

from ..vision.backbones import SUPPORTED_BACKBONES, WeightsInfo, architecture, feature_extractor
from ..vision.images import DEFAULT_MAX_SIDE, load_image, save_animation  # save_animation: re-exported

# Layer mixes per backbone. "keras" is the lecture's recipe (InceptionV3 mixed4–mixed7 weighted
# 1.0/1.5/2.0/2.5); for the other backbones it is the same weighting over four layers of similar depth.
PRESETS = {
    "inception_v3": {
        "low": {"Conv2d_4a_3x3": 1.0, "Mixed_5b": 1.0},
        "mid": {"Mixed_5d": 1.0, "Mixed_6a": 1.5},
        "high": {"Mixed_6e": 1.0, "Mixed_7a": 1.5},
        "keras": {"mixed4": 1.0, "mixed5": 1.5, "mixed6": 2.0, "mixed7": 2.5},
    },
    "vgg16": {
        "low": {"conv2_2": 1.0, "conv3_1": 1.0},
        "mid": {"conv4_1": 1.0, "conv4_2": 1.5},
        "high": {"conv5_2": 1.0, "conv5_3": 1.5},
        "keras": {"conv4_2": 1.0, "conv4_3": 1.5, "conv5_1": 2.0, "conv5_2": 2.5},
    },
    "vgg19": {
        "low": {"conv2_2": 1.0, "conv3_1": 1.0},
        "mid": {"conv4_1": 1.0, "conv4_2": 1.5},
        "high": {"conv5_3": 1.0, "conv5_4": 1.5},
        "keras": {"conv4_3": 1.0, "conv4_4": 1.5, "conv5_1": 2.0, "conv5_2": 2.5},
    },
    "resnet50": {
        "low": {"layer1": 1.0, "layer2.0": 1.0},
        "mid": {"layer2": 1.0, "layer3.1": 1.5},
        "high": {"layer3.5": 1.0, "layer4.0": 1.5},
        "keras": {"layer3.0": 1.0, "layer3.2": 1.5, "layer3.4": 2.0, "layer3.5": 2.5},
    },
}
PRESETS["vgg19.tv_in1k"] = PRESETS["vgg19"]
PRESET_NAMES = ("low", "mid", "high", "keras")


@dataclass
class DreamProgress:
    """What the callback sees after every ascent step."""

    step: int  # 1-based, across all octaves
    total_steps: int
    octave: int  # 1-based
    octaves: int
    loss: float
    image: Image.Image | None = None  # every `preview_every` steps and at the end of each octave


@dataclass
class DreamResult:
    image: Image.Image
    losses: list[list[float]]  # per octave, per step
    octave_shapes: list[tuple[int, int]]  # (height, width), smallest first
    layers: dict[str, float]
    weights: WeightsInfo
    seconds: float
    notes: list[str] = field(default_factory=list)
    stopped_early: bool = False
    backbone: str = ""


def _finite_weight(name: str, weight) -> float:
    try:
        value = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"The weight of layer {name!r} must be a number, not {weight!r}.") from None
    if not math.isfinite(value):
        raise ValueError(f"The weight of layer {name!r} must be a finite number, not {value}.")
    return value


def parse_layer_weights(text: str) -> dict[str, float]:
    """"Mixed_6b=1, Mixed_6c=1.5" → {"Mixed_6b": 1.0, "Mixed_6c": 1.5}; a layer without "=" weighs 1."""
    layers = {}
    for item in filter(None, (part.strip() for part in text.replace("\n", ",").split(","))):
        name, _, weight = item.partition("=")
        if not name.strip():
            raise ValueError(f"Bad layer weight in {item!r}: write LAYER=WEIGHT, e.g. Mixed_6b=1.5")
        try:
            layers[name.strip()] = _finite_weight(name.strip(), weight) if weight.strip() else 1.0
        except ValueError:
            raise ValueError(f"Bad layer weight in {item!r}: write LAYER=WEIGHT with a finite number, "
                             "e.g. Mixed_6b=1.5") from None
    if not layers:
        raise ValueError("No layers given: write LAYER=WEIGHT pairs separated by commas, e.g. Mixed_6b=1, Mixed_6c=1.5")
    return layers


def resolve_layers(backbone: str, layers) -> dict[str, float]:
    """A preset name, or a {layer: weight} dict (or list of layers, weight 1) → {layer: weight}."""
    if backbone not in PRESETS:
        raise ValueError(f"Unknown backbone {backbone!r}; choose one of {', '.join(SUPPORTED_BACKBONES)}.")
    if layers is None:
        layers = "keras"
    if isinstance(layers, str):
        if layers not in PRESETS[backbone]:
            raise ValueError(f"Unknown preset {layers!r}; choose one of {', '.join(PRESET_NAMES)} or give layers.")
        return dict(PRESETS[backbone][layers])
    if isinstance(layers, (list, tuple)):
        layers = {layer: 1.0 for layer in layers}
    layers = {str(k): w for k, v in dict(layers).items() if (w := _finite_weight(str(k), v)) != 0.0}
    if not layers:
        raise ValueError("Give at least one layer with a non-zero weight.")
    return layers


def octave_shapes(shape: tuple[int, int], octaves: int, octave_scale: float) -> list[tuple[int, int]]:
    """The lecture's rule: each octave is `octave_scale` times larger than the previous; smallest first,
    ending at the original shape."""
    if octaves < 1:
        raise ValueError("octaves must be at least 1")
    if octave_scale <= 1:
        raise ValueError("octave_scale must be larger than 1")
    height, width = shape
    return [(int(height / octave_scale**i), int(width / octave_scale**i)) for i in reversed(range(octaves))]


def resize(x: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(shape):
        return x
    return F.interpolate(x, size=shape, mode="bilinear", align_corners=False, antialias=True)


def reinject_detail(dream: torch.Tensor, original: torch.Tensor, previous_shape, shape) -> torch.Tensor:
    """Upscale the dream to `shape` and add back the detail lost by shrinking: the original at `shape`
    minus the original shrunk to `previous_shape` and upscaled again."""
    lost_detail = resize(original, shape) - resize(resize(original, previous_shape), shape)
    return resize(dream, shape) + lost_detail


def layer_terms(activations: dict[str, torch.Tensor], layers, border: int = 2) -> dict[str, torch.Tensor]:
    """Per layer, the Keras recipe's term: the sum of squared activations inside a `border`-pixel frame
    (edge artefacts), divided by the size of the whole activation."""
    terms = {}
    for name in layers:
        activation = activations[name]
        height, width = activation.shape[-2:]
        inner = activation[..., border:-border, border:-border] if min(height, width) > 2 * border else activation
        terms[name] = inner.square().sum() / activation.numel()
    return terms


def dream_loss(activations: dict[str, torch.Tensor], layers: dict[str, float], border: int = 2,
               layer_scales: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Weighted sum of the layers' terms. With `layer_scales`, each term is divided by its scale (its
    value at the start of the octave), so the weights are relative contributions whatever each layer's
    activation scale."""
    terms = layer_terms(activations, layers, border)
    return sum(weight * terms[name] / (1.0 if layer_scales is None else layer_scales[name])
               for name, weight in layers.items())


def guide_loss(activations: dict[str, torch.Tensor], guide: dict[str, torch.Tensor], layers: dict[str, float]) -> torch.Tensor:
    """Guided dreaming (Google's notebook): at every position, the dot product with the best-matching
    guide feature; its gradient pulls each position towards the guide's features."""
    loss = 0.0
    for name, weight in layers.items():
        x = activations[name].flatten(2)[0]  # (C, N)
        y = guide[name].flatten(2)[0]  # (C, M)
        loss = loss + weight * (x.T @ y).max(dim=1).values.sum() / x.numel()
    return loss


def _objective(extractor, x, layers, guide_features, layer_scales=None):
    activations = extractor(x)
    if guide_features is not None:
        return guide_loss(activations, guide_features, layers)
    return dream_loss(activations, layers, layer_scales=layer_scales)


def _tiles(length: int, tile: int, min_tile: int) -> list[tuple[int, int]]:
    """Non-overlapping spans of `tile` covering `length`; a remainder shorter than `min_tile` joins the last span."""
    spans = [(start, min(length, start + tile)) for start in range(0, length, tile)]
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < min_tile:
        spans[-2:] = [(spans[-2][0], length)]
    return spans


def objective_gradient(extractor, x, layers, guide_features=None, tile_size: int | None = None, layer_scales=None):
    """(loss, d loss / d x). With `tile_size`, computed tile by tile (the TensorFlow tutorial's tiled
    gradients) so memory stays bounded whatever the image size; the caller rolls the image randomly
    beforehand so tile seams move from step to step."""
    height, width = x.shape[-2:]
    if tile_size is None or (tile_size >= height and tile_size >= width):
        x = x.detach().requires_grad_(True)
        loss = _objective(extractor, x, layers, guide_features, layer_scales)
        (gradient,) = torch.autograd.grad(loss, x)
        return loss.detach(), gradient
    tile = max(tile_size, extractor.min_side)
    gradient = torch.zeros_like(x)
    total = 0.0
    for top, bottom in _tiles(height, tile, extractor.min_side):
        for left, right in _tiles(width, tile, extractor.min_side):
            patch = x[..., top:bottom, left:right].detach().requires_grad_(True)
            # each tile's loss is a mean over the tile; weighted by its share of the image, the tiles
            # add up to the untiled loss (up to the borders each tile leaves out)
            loss = _objective(extractor, patch, layers, guide_features, layer_scales) * (patch.numel() / x.numel())
            (patch_gradient,) = torch.autograd.grad(loss, patch)
            gradient[..., top:bottom, left:right] = patch_gradient
            total += loss.detach()
    return total, gradient


def laplacian_normalize(gradient: torch.Tensor, levels: int) -> torch.Tensor:
    """The gradient split into `levels` Laplacian-pyramid bands (each the detail lost by halving the resolution),
    each band divided by its root mean square, and summed back (Lucid's `lap_normalize`, neural-dream's
    `-lap_scale`). A raw gradient is dominated by its finest band — single-pixel, saturated colour noise where the
    image is bright — and this gives every scale the same say, so the ascent paints strokes instead of confetti.
    levels = 0 or 1 returns the gradient unchanged."""
    bands, current = [], gradient
    for _ in range(levels - 1):
        if min(current.shape[-2:]) < 4:
            break
        coarser = F.avg_pool2d(current, 2, ceil_mode=True)
        bands.append(current - F.interpolate(coarser, size=current.shape[-2:], mode="bilinear", align_corners=False))
        current = coarser
    if not bands:
        return gradient
    merged = current / current.square().mean().sqrt().clamp_min(1e-12)
    for band in reversed(bands):
        merged = (F.interpolate(merged, size=band.shape[-2:], mode="bilinear", align_corners=False)
                  + band / band.square().mean().sqrt().clamp_min(1e-12))
    return merged


# Lucid's colour correlation of ImageNet photos (the square root of the RGB covariance, by its SVD): a gradient
# mapped through it moves pixels along the directions photos vary in (mostly brightness) and much less along
# the pure chroma directions that show as rainbow noise.
_COLOUR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOUR_DECORRELATION = _COLOUR_CORRELATION @ _COLOUR_CORRELATION.T  # the step in the decorrelated space, in RGB
ROOM_MARGIN = 0.15  # within this distance of black or white a pixel slows down (a step never overshoots)
LAPLACIAN_LEVELS = 4  # Lucid's and neural-dream's default
GRADIENTS = ("smoothed", "raw")
# Calibrated on the trained InceptionV3 and VGG19 (docs/calibration.md): with the smoothed gradient, the shallow
# layers' dreams change the picture much more per step than the deep ones', so their presets take a smaller step;
# the factor multiplies `step`. VGG19's layers push bright pixels harder than Inception's (coffee, low preset, 512 px:
# 1.3 % newly clipped at 0.4), so they step less (0.8 % at 384 px with 0.2). Other backbones take Inception's.
PRESET_STEP_FACTORS = {"inception_v3": {"low": 0.4, "mid": 0.7}, "vgg19": {"low": 0.2, "mid": 0.5}}


def decorrelate_colours(gradient: torch.Tensor) -> torch.Tensor:
    """The gradient as a step in Lucid's decorrelated colour space would move the RGB pixels."""
    matrix = (COLOUR_DECORRELATION / COLOUR_DECORRELATION.norm()).to(gradient)
    return torch.einsum("ij,bjhw->bihw", matrix, gradient)


def within_range(x: torch.Tensor, change: torch.Tensor) -> torch.Tensor:
    """x + change, each pixel's move scaled down as it nears the end of the range it moves towards (by the square
    of its remaining room, within ROOM_MARGIN of black or white), so pixels approach 0 and 255 ever more slowly
    instead of piling up there clipped; moves away from an end are not slowed."""
    room = torch.where(change > 0, 1 - x, x)
    return (x + change * (room / ROOM_MARGIN).clamp(0, 1).square()).clamp(0, 1)


def gradient_ascent_step(extractor, x, layers, step, *, jitter=0, generator=None, guide_features=None, tile_size=None,
                         layer_scales=None, smoothed: bool = False):
    """One step on pixels `x` in [0, 1]: roll the image by a random offset (jitter), take the gradient, roll it
    back, normalise it by its mean absolute value, and move each pixel by `step` on average in Keras' [-1, 1] units
    (step / 2 in [0, 1] units), staying inside the valid range.
    smoothed: first equalise the gradient's Laplacian bands and map it through the decorrelated colour space, and
    slow pixels down near black and white (`within_range`) instead of clipping them; False is the Keras recipe's
    raw gradient and hard clip."""
    dy = dx = 0
    if jitter:
        dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=generator)).tolist()
    rolled = torch.roll(x, shifts=(dy, dx), dims=(-2, -1)) if jitter else x
    loss, gradient = objective_gradient(extractor, rolled, layers, guide_features, tile_size, layer_scales)
    if jitter:
        gradient = torch.roll(gradient, shifts=(-dy, -dx), dims=(-2, -1))
    if smoothed:
        gradient = decorrelate_colours(laplacian_normalize(gradient, LAPLACIAN_LEVELS))
    gradient = gradient / gradient.abs().mean().clamp_min(1e-12)
    if smoothed:
        return loss, within_range(x, (step / 2) * gradient)
    return loss, (x + (step / 2) * gradient).clamp(0, 1)


def uses_relative_layers(backbone: str, layers, layer_balance: str) -> bool:
    """"auto": the lecture's Keras recipe (InceptionV3, preset "keras") keeps its raw terms, so it is
    reproduced exactly; every other mix balances its layers relative to their start values."""
    if layer_balance not in ("auto", "raw", "relative"):
        raise ValueError("layer_balance must be 'auto', 'raw' or 'relative'")
    if layer_balance == "auto":
        return not (backbone == "inception_v3" and layers in (None, "keras"))
    return layer_balance == "relative"


@torch.no_grad()
def layer_scales_at(extractor, x, layers) -> dict[str, torch.Tensor]:
    """Each layer's term on `x`, floored so that a layer silent on this image cannot blow up."""
    terms = layer_terms(extractor(x), layers)
    return {name: term.clamp_min(1e-12) for name, term in terms.items()}


@dataclass(frozen=True)
class DreamSettings:
    """Every knob of a dream, with the library's defaults (the lecture's Keras recipe), checked when made (a bad
    value is a ValueError naming it). `deep_dream`, `dream_zoom`, the command line and the app all build one.

    layers: a preset name ("low", "mid", "high", "keras") or {layer: weight} (or a list of layers, weight 1).
    step: mean change per pixel per ascent step, in Keras' [-1, 1] units (0.01 ≈ 1.27 grey levels), the same on
        every backbone; with the smoothed gradient a preset multiplies it by its factor (low 0.4, mid 0.7 on
        Inception; 0.2, 0.5 on VGG19:
        `effective_step`).
    gradient: "smoothed" (default) equalises the gradient's Laplacian bands, maps it through a decorrelated colour
        space and slows pixels near black and white — no rainbow confetti, nothing clipped; "raw" is the Keras
        recipe's raw gradient and hard clip (`DreamSettings.keras_recipe()` reproduces the recipe exactly).
    max_loss: stop ascending at an octave once the loss exceeds it (the Keras recipe's early stop).
    layer_balance: "relative" divides each layer's term by its value at the start of the octave, so the weights
        are relative contributions on any backbone; "raw" is the Keras recipe's plain weighted sum; "auto" is raw
        for the recipe itself (InceptionV3, preset "keras") and relative otherwise.
    jitter: roll the image by up to this many pixels before each step (and the gradient back).
    tile_size: compute gradients in tiles of this many pixels (bounded memory for large images).
    precision: "auto" runs the network under bf16 autocast where the hardware is fast at it; "fp32" never.
    max_side: larger inputs are downscaled to this longer side.
    """

    backbone: str = "inception_v3"
    layers: str | dict | tuple | None = "keras"
    octaves: int = 3
    octave_scale: float = 1.4
    iterations: int = 20
    step: float = 0.01
    max_loss: float | None = None
    layer_balance: str = "auto"
    jitter: int = 0
    tile_size: int | None = None
    seed: int = 0
    pretrained: bool = True
    weights_file: str | None = None
    precision: str = "auto"
    max_side: int = DEFAULT_MAX_SIDE
    preview_every: int = 5
    # "smoothed": Laplacian-normalised, colour-decorrelated gradient, pixels slowed near black and white (no
    # rainbow confetti, nothing clipped); "raw": the Keras recipe's gradient and hard clip, reproduced exactly
    gradient: str = "smoothed"

    def __post_init__(self):
        resolve_layers(self.backbone, self.layers)  # an unknown backbone, preset or a bad weight: its message
        uses_relative_layers(self.backbone, self.layers, self.layer_balance)
        if not (math.isfinite(self.step) and self.step > 0):
            raise ValueError("step must be a positive number")
        if self.octaves < 1:
            raise ValueError("octaves must be at least 1")
        if self.octave_scale <= 1:
            raise ValueError("octave_scale must be larger than 1")
        if self.iterations < 0 or self.jitter < 0:
            raise ValueError("iterations and jitter must be ≥ 0")
        if self.gradient not in GRADIENTS:
            raise ValueError(f"gradient must be 'smoothed' or 'raw', not {self.gradient!r}")

    @classmethod
    def keras_recipe(cls, **options) -> "DreamSettings":
        """The lecture's Keras recipe exactly: InceptionV3 mixed4…7, raw gradient, raw layer sum, hard clip."""
        return cls(**{"layers": "keras", "gradient": "raw", "layer_balance": "raw", **options})

    @property
    def effective_step(self) -> float:
        """`step`, times the backbone's factor for the preset with the smoothed gradient (PRESET_STEP_FACTORS)."""
        if self.gradient == "smoothed" and isinstance(self.layers, str):
            factors = PRESET_STEP_FACTORS.get(architecture(self.backbone), PRESET_STEP_FACTORS["inception_v3"])
            return self.step * factors.get(self.layers, 1.0)
        return self.step

    @property
    def layer_weights(self) -> dict[str, float]:
        return resolve_layers(self.backbone, self.layers)

    @property
    def relative(self) -> bool:
        """Whether each layer's term is divided by its value at the start of the octave (`layer_balance`)."""
        return uses_relative_layers(self.backbone, self.layers, self.layer_balance)

    def with_options(self, **options) -> "DreamSettings":
        """A copy with some fields changed (checked again); an unknown name is a TypeError naming it."""
        unknown = set(options) - set(self.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown dream setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **options) if options else self


def deep_dream(image, settings: DreamSettings | None = None, *, guide=None,
               callback: Callable[[DreamProgress], None] | None = None, **options) -> DreamResult:
    """Dream on `image` (a path, bytes, PIL image or array; see `vision.images.load_image`).

    settings: a `DreamSettings`; `options` are its fields by name (`layers="high", octaves=4`), on top.
    guide: an image whose features the dream is pulled towards, instead of raw activation.
    callback: a `DreamProgress` after every ascent step; it may raise to stop.
    """
    started = time.perf_counter()
    settings = (settings or DreamSettings()).with_options(**options)
    layer_weights = settings.layer_weights
    relative = settings.relative and guide is None
    loaded = load_image(image, max_side=settings.max_side)
    notes = list(loaded.notes)
    extractor = feature_extractor(settings.backbone, tuple(layer_weights), pretrained=settings.pretrained,
                                  weights_file=settings.weights_file, precision=settings.precision)
    generator = torch.Generator().manual_seed(settings.seed)

    original = extractor.to_pixels(loaded.image)
    shapes, skipped = usable_octaves(tuple(original.shape[-2:]), settings, extractor.min_side)
    notes += skipped
    guide_features = None if guide is None else guide_activations(extractor, guide, settings.max_side)

    iterations = settings.iterations
    total_steps = len(shapes) * iterations
    losses, done, stopped_early = [], 0, False
    dream = resize(original, shapes[0])
    for index, shape in enumerate(shapes):
        if index > 0:
            dream = reinject_detail(dream, original, shapes[index - 1], shape)
        octave_losses = []
        scales = layer_scales_at(extractor, dream, layer_weights) if relative and iterations else None
        for iteration in range(iterations):
            loss, dream = gradient_ascent_step(extractor, dream, layer_weights, settings.effective_step,
                                               jitter=settings.jitter,
                                               generator=generator, guide_features=guide_features,
                                               tile_size=settings.tile_size, layer_scales=scales,
                                               smoothed=settings.gradient == "smoothed")
            loss = float(loss)
            octave_losses.append(loss)
            done += 1
            last = iteration == iterations - 1
            exceeded = settings.max_loss is not None and loss > settings.max_loss
            if callback is not None:
                show = done == 1 or done % settings.preview_every == 0 or last or exceeded
                callback(DreamProgress(done, total_steps, index + 1, len(shapes), loss,
                                       extractor.to_image(dream) if show else None))
            if exceeded:
                stopped_early = True
                done += iterations - 1 - iteration
                break
        losses.append(octave_losses)

    return DreamResult(
        image=extractor.to_image(dream), losses=losses, octave_shapes=shapes, layers=layer_weights,
        weights=extractor.weights, seconds=time.perf_counter() - started, notes=notes, stopped_early=stopped_early,
        backbone=settings.backbone,
    )


def usable_octaves(shape: tuple[int, int], settings: DreamSettings, min_side: int) -> tuple[list, list[str]]:
    """The octaves' shapes that the backbone can take (each at least `min_side`), and a note when some are not."""
    shapes = octave_shapes(shape, settings.octaves, settings.octave_scale)
    usable = [s for s in shapes if min(s) >= min_side]
    if not usable:
        raise ValueError(
            f"The image is too small for {settings.backbone}: it needs at least {min_side} px on its shorter side.")
    notes = []
    if len(usable) < len(shapes):
        notes.append(f"{len(shapes) - len(usable)} of {settings.octaves} octaves skipped: they would be smaller than "
                     f"{min_side} px, {settings.backbone}'s minimum")
    return usable, notes


def guide_activations(extractor, guide, max_side: int) -> dict[str, torch.Tensor]:
    """The guide image's activations at the dream's layers (guided dreaming pulls towards them)."""
    guide_image = load_image(guide, max_side=min(max_side, 512), name="guide image").image
    with torch.no_grad():
        return {k: v.detach() for k, v in extractor(extractor.to_pixels(guide_image)).items()}


def zoom(image: Image.Image, factor: float) -> Image.Image:
    """Crop the centre by `factor` and scale it back to the full size."""
    width, height = image.size
    crop_w, crop_h = width / factor, height / factor
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    return image.resize((width, height), Image.Resampling.BICUBIC, box=(left, top, left + crop_w, top + crop_h))


def dream_zoom(image, settings: DreamSettings | None = None, *, frames: int = 8, zoom_factor: float = 1.05,
               callback=None, step_callback=None, **options) -> list[Image.Image]:
    """Frames of an endless zoom: each frame is dreamed from the previous one, slightly zoomed in (frame i with
    seed settings.seed + i). `callback(done, total, result)` after each frame; `step_callback` is each frame's
    `deep_dream` callback (it may raise to stop between steps). Export with `save_animation` (diffusers'
    `export_to_gif` / `export_to_video`)."""
    if frames < 1:
        raise ValueError("frames must be at least 1")
    settings = (settings or DreamSettings()).with_options(**options)
    current = load_image(image, max_side=settings.max_side).image
    result_frames = []
    for index in range(frames):
        result = deep_dream(current, settings.with_options(seed=settings.seed + index), callback=step_callback)
        result_frames.append(result.image)
        if callback is not None:
            callback(index + 1, frames, result)
        current = zoom(result.image, zoom_factor)
    return result_frames


__all__ = [
    "DreamSettings", "PRESETS", "PRESET_NAMES", "DreamProgress", "DreamResult", "deep_dream", "dream_zoom", "save_animation",
    "octave_shapes", "reinject_detail", "dream_loss", "layer_terms", "guide_loss", "resolve_layers",
    "parse_layer_weights", "zoom",
]
