"""Neural style transfer (Gatys et al.): keep the content image's macrostructure, paint it with the
style image's textures.

    result = style_transfer(content, style)
    result.image.save("styled.png")

Minimise α·J_content + β·J_style (+ a total-variation smoothness term), where J_content is the L2
distance between an upper layer's activations of the content image and of the generated image, and
J_style the L2 distance between the Gram matrices of several layers' activations of the style image
and of the generated image. The paper's layers on VGG19: content conv4_2; style conv1_1, conv2_1,
conv3_1, conv4_1, conv5_1.

The image is optimised as pixels inside [0, 1] (L-BFGS on sigmoid-parametrised pixels, or Adam with
projection), so the
picture delivered is the one the optimiser reached; the loss terms are relative errors (see
`losses`), so the weights mean the same whatever the network's activation scale.
"""

import math
import time
from collections import deque
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..vision.backbones import WeightsInfo, feature_extractor
from ..vision.images import DEFAULT_MAX_SIDE, ImageInputError, load_image, load_mask, pixels_to_image
from .colour import luminance, match_luminance, transfer_palette, with_chrominance_of
from .tiles import Tile, WholeImage, cell_gram_sum, feather, tile_layout
from .losses import content_loss, gram_matrix, regional_style_loss, style_loss, temporal_loss, total_variation

CONTENT_LAYERS = ("conv4_2",)
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
MAX_IMAGE_SIZE = 4096
DEFAULT_TILE_SIZE = 512  # the largest side optimised in one piece (peak memory on a CPU: benchmarks/style_large.py)


DEFAULT_CONTENT_WEIGHT = 1.0
DEFAULT_STYLE_WEIGHT = 10.0
DEFAULT_TV_WEIGHT = 1.0
DEFAULT_ADAM_LR = 0.02  # pixels in [0, 1] per step: about 5 grey levels, crowsonkb's step size
LBFGS_HISTORY = 50  # correction pairs kept by L-BFGS
OPTIMIZERS = ("lbfgs", "adam")
COLOR_MODES = ("style", "luminance", "histogram", "colors-only")


@dataclass(frozen=True)
class StyleSettings:
    """Every knob of a style-transfer run, with the library's defaults, checked when made (a bad value is a
    ValueError naming it). `style_transfer`, `style_video`, the command line and the app all build one.

    The objective is content_weight · J_content + style_weight · J_style + tv_weight · TV, J_content and J_style
    relative squared errors (0 = identical to the target, 1 = as far from it as the target is from zero), TV the
    mean squared difference of neighbouring pixels in [0, 1] units; style_weight / content_weight is the style
    strength.
    """

    image_size: int = 384  # the output's longer side in pixels
    iterations: int = 200  # optimiser iterations at the coarsest scale (halved at each finer one)
    content_weight: float = DEFAULT_CONTENT_WEIGHT
    style_weight: float = DEFAULT_STYLE_WEIGHT
    tv_weight: float = DEFAULT_TV_WEIGHT
    # "lbfgs" (on sigmoid-parametrised pixels, fp32) or "adam" (runs under bf16 autocast where that is fast)
    optimizer: str = "lbfgs"
    learning_rate: float | None = None  # Adam's step in [0, 1] pixel units (default DEFAULT_ADAM_LR)
    # "style": the colours the painting reaches; "luminance": luminance-only transfer, the content's colours kept;
    # "histogram": the content's colours matched to the style's before painting; "colors-only": that colour
    # transfer alone, no painting (see genmods/style/colour.py)
    color: str = "style"
    preserve_color: bool = False  # the older name of color="luminance" (kept in step with `color`)
    multi_scale: int = 1  # solve at this many sizes, each twice the previous, from the upsampled result
    # a scale whose longer side is above this is refined in overlapping tiles of at most this side; an image_size
    # above it gets enough coarser scales that the coarsest is solved whole (`scales`)
    tile_size: int = DEFAULT_TILE_SIZE
    style_scale: float = 1.0  # the style image is resized to style_scale × the scale's size for its Grams
    pooling: str = "max"
    backbone: str = "vgg19"
    content_layers: tuple[str, ...] = CONTENT_LAYERS
    style_layers: tuple[str, ...] = STYLE_LAYERS
    pretrained: bool = True
    weights_file: str | None = None
    precision: str = "auto"
    seed: int = 0  # for init="noise"
    preview_every: int = 10  # a preview image every this many iterations

    def __post_init__(self):
        if self.color not in COLOR_MODES:
            raise ValueError(f"color must be one of {', '.join(map(repr, COLOR_MODES))}, not {self.color!r}")
        if self.preserve_color and self.color not in ("style", "luminance"):
            raise ValueError(f"preserve_color=True means color='luminance'; it cannot be combined with "
                             f"color={self.color!r}")
        object.__setattr__(self, "color", "luminance" if self.preserve_color else self.color)
        object.__setattr__(self, "preserve_color", self.color == "luminance")
        if not 32 <= self.image_size <= MAX_IMAGE_SIZE:
            raise ValueError(f"image_size must be between 32 and {MAX_IMAGE_SIZE} px")
        if self.iterations < 1:
            raise ValueError("iterations must be at least 1")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError("optimizer must be 'lbfgs' or 'adam'")
        if self.optimizer == "lbfgs" and self.learning_rate is not None:
            raise ValueError("learning_rate is Adam's step size; L-BFGS chooses its own steps")
        if not 0 < self.adam_learning_rate <= 1:
            raise ValueError("learning_rate must be in (0, 1] (pixels in [0, 1] per step)")
        for name in ("content_weight", "style_weight", "tv_weight"):
            weight = getattr(self, name)
            if not (np.isfinite(weight) and weight >= 0):
                raise ValueError(f"{name} must be a finite number ≥ 0")
        if not 0.1 <= self.style_scale <= 4:
            raise ValueError("style_scale must be between 0.1 and 4")
        if self.multi_scale < 1:
            raise ValueError("multi_scale must be at least 1")
        if not 128 <= self.tile_size <= MAX_IMAGE_SIZE:
            raise ValueError(f"tile_size must be between 128 and {MAX_IMAGE_SIZE} px")
        if self.pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', not {self.pooling!r}")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', not {self.precision!r}")
        object.__setattr__(self, "content_layers", tuple(self.content_layers))
        object.__setattr__(self, "style_layers", tuple(self.style_layers))

    @property
    def adam_learning_rate(self) -> float:
        return DEFAULT_ADAM_LR if self.learning_rate is None else self.learning_rate

    @property
    def layers(self) -> tuple[str, ...]:
        """Every layer the objective reads, each once."""
        return tuple(dict.fromkeys(self.content_layers + self.style_layers))

    @property
    def scales(self) -> int:
        """Scales solved, coarse to fine: `multi_scale`, or more when the output is so large that the coarsest
        would have to be tiled (each scale halves the side)."""
        return max(self.multi_scale, 1 + max(0, math.ceil(math.log2(self.image_size / self.tile_size))))

    def schedule(self, iterations: int | None = None) -> list[int]:
        """Iterations per scale (per tile, for a tiled one), coarse to fine: halved at each finer scale (at least
        10 when there are several)."""
        iterations = self.iterations if iterations is None else iterations
        return [max(10 if self.scales > 1 else 1, iterations // 2**index) for index in range(self.scales)]

    def sizes(self, content_size: tuple[int, int]) -> list[tuple[int, int]]:
        """(height, width) per scale for a content image of `content_size` (width, height)."""
        return scale_sizes(content_size, self.image_size, self.scales)

    def tiles(self, size: tuple[int, int]) -> list[Tile]:
        """The tiles a scale of `size` (height, width) is refined in: one when it fits in `tile_size`."""
        return tile_layout(size, self.tile_size)

    def with_options(self, **options) -> "StyleSettings":
        """A copy with some fields changed (checked again); an unknown name is a TypeError naming it."""
        unknown = set(options) - set(self.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown style setting(s): {', '.join(sorted(unknown))}")
        if "color" in options and "preserve_color" not in options:  # the two names of one setting change together
            options["preserve_color"] = options["color"] == "luminance"
        elif "preserve_color" in options and "color" not in options:
            options["color"] = "luminance" if options["preserve_color"] else (
                "style" if self.color == "luminance" else self.color)
        return replace(self, **options) if options else self


@dataclass
class StyleProgress:
    step: int  # 1-based across all scales; one report with step 0 comes first: the starting canvas
    total_steps: int
    scale: int  # 1-based
    scales: int
    losses: dict | None  # content, style, tv, total (weighted) after this step; None at step 0
    image: Image.Image | None = None
    pixels: np.ndarray | None = field(default=None, repr=False)  # `image` in full precision, (H, W, 3) in [0, 1]


@dataclass
class StyleResult:
    image: Image.Image
    history: list[dict]  # per step: content, style, tv, total (weighted), scale, evaluations
    weights: WeightsInfo
    seconds: float
    sizes: list[tuple[int, int]]  # (height, width) of each scale, coarse to fine
    start: dict = field(default_factory=dict)  # weighted losses of the starting canvas (against the first scale's targets)
    final: dict = field(default_factory=dict)  # weighted losses of the delivered image, as the optimiser last saw it
    notes: list[str] = field(default_factory=list)
    # what `init=<this result>` needs to continue the run: the last scale's size and the optimiser's state
    resume: dict = field(default_factory=dict, repr=False)
    pixels: np.ndarray | None = field(default=None, repr=False)  # `image` in full precision, (H, W, 3) in [0, 1]


@dataclass
class TemporalTerm:
    """Keeps a video frame close to the previous styled frame where the input did not change (`style_video`)."""

    previous: Image.Image  # the previous frame's styled image
    still: np.ndarray  # (height, width) in [0, 1]: 1 where the input frame equals the previous one
    weight: float


INIT_NAMES = ("content", "noise", "style")
# colors-only runs no network: nothing random is involved, so there is no random-weights warning to give
NO_NETWORK = WeightsInfo(pretrained=True, source="none needed (colors only: no network runs)")


def region_masks(masks, count: int, size: tuple[int, int]) -> list[np.ndarray]:
    """One painted region per style image (same order), each (height, width) in [0, 1] at `size`.
    Refused: a different number of masks than styles, a mask of another shape, an empty or an all-covering one."""
    masks = list(masks) if isinstance(masks, (list, tuple)) else [masks]
    if len(masks) != count:
        raise ValueError(f"{len(masks)} mask(s) for {count} style image(s): give one mask per style image, in order.")
    regions = []
    for index, mask in enumerate(masks, start=1):
        region = load_mask(mask, size, name=f"mask {index}")
        if region.max() < 0.05:
            raise ImageInputError(f"Mask {index} is empty: paint the region that style {index} should cover.")
        if region.min() > 0.95:
            raise ImageInputError(f"Mask {index} covers the whole image; paint only the region for style {index} "
                                  "(without a mask a style covers everything).")
        regions.append(region)
    return regions


def _feathered(region: torch.Tensor, side: int) -> torch.Tensor:
    """A region's edge blurred over ~1 % of the image side, so a kept area meets the painted one without a seam."""
    from torchvision.transforms.functional import gaussian_blur

    sigma = max(1.0, 0.01 * side)
    kernel = 2 * round(3 * sigma) + 1
    return gaussian_blur(region, [kernel, kernel], [sigma, sigma]).clamp(0, 1)


def normalise_blend(weights, count: int) -> list[float]:
    """Blend weights for several style images, made to sum to 1 (equal when not given)."""
    if weights is None:
        return [1.0 / count] * count
    weights = [float(w) for w in weights]
    if len(weights) != count:
        raise ValueError(f"{count} style images but {len(weights)} blend weights")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("style blend weights must be non-negative and not all zero")
    return [w / sum(weights) for w in weights]


def scale_sizes(content_size: tuple[int, int], image_size: int, scales: int) -> list[tuple[int, int]]:
    """(height, width) per scale, coarse to fine, halving the side each step down; the last is the output."""
    width, height = content_size
    sizes = []
    for index in reversed(range(scales)):
        longer = max(32, round(image_size / 2**index))
        ratio = longer / max(width, height)
        sizes.append((max(1, round(height * ratio)), max(1, round(width * ratio))))
    return sizes


def _resized(image: Image.Image, longer_side: int) -> Image.Image:
    ratio = longer_side / max(image.size)
    return image.resize((max(1, round(image.width * ratio)), max(1, round(image.height * ratio))), Image.Resampling.LANCZOS)


def _losses(objective, x, *, backward: bool, full_precision: bool) -> tuple[torch.Tensor, dict]:
    """The weighted objective at pixels `x` (its gradient flows back when `backward`), and its terms."""
    total, terms = objective(x, full_precision)
    if backward:
        total.backward()
    return total.detach(), {name: value.item() for name, value in terms.items()} | {"total": total.item()}


# Pixels inside (0, 1) as sigmoid(z): L-BFGS runs unconstrained in z, and every iterate is a valid image.
# A pixel that starts at exactly 0 or 255 starts half a grey level inside instead (logit is finite there).
_EDGE = 0.5 / 255


def run_lbfgs(objective, x: torch.Tensor, steps: int, on_step, history_size: int = LBFGS_HISTORY,
              state: dict | None = None) -> tuple[torch.Tensor, dict]:
    """L-BFGS with a strong-Wolfe line search over z, where pixels = sigmoid(z), evaluated in fp32.

    Why this shape: torch's L-BFGS has no bounds, and projecting the image back into [0, 1] between its
    steps breaks the curvature pairs it has stored (scipy's bounded L-BFGS-B costs ~0.5 s per iteration
    of its own at 384 px, as much as the network). Why the memo: with one `step()` per iteration (for
    progress reports), torch evaluates the current point again at the start of every call, although
    the line search has just evaluated it; the memo answers those from the last few evaluations, so an
    iteration costs about one evaluation. `on_step(pixels, losses, evaluations)` runs after each
    iteration with the accepted point's losses (it may raise to stop).
    `state`: what a previous run returned (its exact z and curvature pairs): continuing it is the same as
    having run on. Returns the pixels and that state.
    """
    z = (state["z"].to(x.device) if state else torch.logit(x.detach().clamp(_EDGE, 1 - _EDGE))).clone().requires_grad_(True)
    solver = torch.optim.LBFGS([z], lr=1.0, max_iter=1, max_eval=20, history_size=history_size, tolerance_grad=-1,
                               tolerance_change=-1, line_search_fn="strong_wolfe")
    if state:
        solver.load_state_dict(state["solver"])
    memo: deque = deque(maxlen=4)  # (z, total, gradient, losses) of the latest evaluations
    current = {"evaluations": 0, "losses": None}  # evaluations in this iteration; losses at the latest point

    def closure():
        for seen, total, gradient, losses in memo:
            if torch.equal(seen, z):
                z.grad, current["losses"] = gradient.clone(), losses
                return total
        solver.zero_grad()
        total, losses = _losses(objective, torch.sigmoid(z), backward=True, full_precision=True)
        memo.append((z.detach().clone(), total, z.grad.clone(), losses))
        current["evaluations"] += 1
        current["losses"] = losses
        return total

    for iteration in range(steps):
        # torch's first step is lr/|g|₁, a tiny move of the whole image in total; scale it so the first
        # iteration moves z by about 0.2 per pixel on average (~3 grey levels), then the curvature decides
        solver.param_groups[0]["lr"] = 0.2 * z.numel() if iteration == 0 and not state else 1.0
        solver.step(closure)
        closure()  # the accepted point: normally memoised already (and then the next step's first evaluation)
        evaluations, current["evaluations"] = current["evaluations"], 0
        on_step(torch.sigmoid(z.detach()), current["losses"], evaluations)
    return torch.sigmoid(z.detach()), {"z": z.detach().clone(), "solver": solver.state_dict()}


def _on_cpu(value):
    """An optimiser's state (dicts and lists of tensors) with every tensor moved to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {key: _on_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(item) for item in value)
    return value


def run_adam(objective, x: torch.Tensor, steps: int, learning_rate: float, on_step, full_precision: bool,
             state: dict | None = None) -> tuple[torch.Tensor, dict]:
    """Adam on the pixels, projected back into [0, 1] after each step (a projection Adam tolerates).
    `state`: what a previous run returned (its exact pixels and Adam's moment estimates; a fresh Adam's first
    steps move every pixel by the full step). Returns the pixels and that state."""
    x = (state["x"].to(x.device) if state else x.detach()).clone().requires_grad_(True)
    solver = torch.optim.Adam([x], lr=learning_rate)
    if state:
        solver.load_state_dict(state["solver"])
        solver.param_groups[0]["lr"] = learning_rate
    for _ in range(steps):
        solver.zero_grad()
        _, losses = _losses(objective, x, backward=True, full_precision=full_precision)
        solver.step()
        with torch.no_grad():
            x.clamp_(0, 1)
        on_step(x.detach(), losses, 1)  # losses of the image this step started from (Adam's one evaluation)
    return x.detach(), {"x": x.detach().clone(), "solver": solver.state_dict()}


@dataclass
class StyleInputs:
    """The images of one run, loaded and checked: what every scale's objective is built from."""

    content: Image.Image  # its luminance only with color="luminance"; in the style's palette with "histogram"
    styles: list[Image.Image]  # luminance matched to the content's, with color="luminance"
    blend: list[float]  # one weight per style image, summing to 1
    regions: list[np.ndarray] | None  # style by region: one mask per style image at the content's size
    init: str | Image.Image  # "content", "noise", "style" or the image to start from
    resume: dict  # the optimiser's state of a continued run
    notes: list[str]
    colours: Image.Image | None = None  # color="luminance": the content whose chrominance the result gets back

    def delivered(self, pixels: torch.Tensor) -> np.ndarray:
        """Optimised pixels (1, 3, H, W) → the picture delivered, (H, W, 3) floats in [0, 1] (with the content's
        colours put back, for color="luminance")."""
        array = pixels.detach()[0].clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()
        return array if self.colours is None else with_chrominance_of(array, self.colours)

    def picture(self, pixels: torch.Tensor) -> Image.Image:
        """Optimised pixels → the 8-bit image a visitor sees."""
        return pixels_to_image(self.delivered(pixels))


def load_inputs(content, style, init, masks, style_blend, settings: StyleSettings) -> StyleInputs:
    """Loads and checks every image of a run (content, styles, masks, starting image) before any network runs."""
    max_side = max(DEFAULT_MAX_SIDE, settings.image_size)
    if isinstance(init, str) and init not in INIT_NAMES:
        raise ValueError("init must be 'content', 'noise', 'style' or an image")
    content_loaded = load_image(content, max_side=max_side, name="content image")
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise ValueError("Give at least one style image.")
    if masks is not None and style_blend is not None:
        raise ValueError("style_blend mixes the styles everywhere; with masks each style paints its own region: "
                         "give one or the other.")
    blend = normalise_blend(style_blend, len(styles))
    style_loaded = [load_image(s, max_side=max_side, name="style image") for s in styles]
    notes = content_loaded.notes + [note for loaded in style_loaded for note in loaded.notes]
    inputs = StyleInputs(content=content_loaded.image, styles=[loaded.image for loaded in style_loaded], blend=blend,
                         regions=None if masks is None else region_masks(masks, len(styles), content_loaded.image.size),
                         init=init, resume={}, notes=notes)
    if isinstance(init, StyleResult):
        inputs.init, inputs.resume = init.image, init.resume
    if not isinstance(inputs.init, str):
        init_loaded = load_image(inputs.init, max_side=max_side, name="starting image")
        inputs.init, inputs.notes = init_loaded.image, notes + init_loaded.notes
        ratio, content_ratio = inputs.init.width / inputs.init.height, inputs.content.width / inputs.content.height
        if abs(ratio - content_ratio) > 0.02 * content_ratio:
            inputs.notes.append(f"starting image ({inputs.init.width}×{inputs.init.height}) stretched to the "
                                "content's shape")
    if settings.color in ("histogram", "colors-only"):
        inputs.content = transfer_palette(inputs.content, inputs.styles)
    if settings.color == "luminance":
        inputs.colours = inputs.content
        inputs.styles = [match_luminance(s, inputs.content) for s in inputs.styles]
        inputs.content = luminance(inputs.content)
        inputs.init = inputs.init if isinstance(inputs.init, str) else luminance(inputs.init)
    return inputs


class StyleObjective:
    """The objective at one scale: content_weight · J_content + style_weight · J_style + tv_weight · TV (+ the
    temporal term of a video frame), its targets computed once when it is made (`at_scale`).

    Style by region: each style's guided Grams inside its own mask, and the pixels no mask covers held at the
    content (`painted`), so they are neither optimised nor delivered changed.
    """

    def __init__(self, extractor, settings: StyleSettings, content_pixels: torch.Tensor,
                 content_targets: dict[str, torch.Tensor], style_grams: dict[str, torch.Tensor],
                 regions: list[tuple[torch.Tensor, dict]] | None = None, free: torch.Tensor | None = None,
                 temporal: tuple[torch.Tensor, torch.Tensor, float] | None = None):
        self.extractor, self.settings = extractor, settings
        self.content_pixels = content_pixels
        self.content_targets, self.style_grams = content_targets, style_grams
        self.regions = regions  # [(mask at this scale, that style's Grams)], or None: one style everywhere
        self.free = free  # where the pixels may change (regions that leave some content untouched), or None
        self.temporal = temporal  # (previous styled frame, still weights, weight), or None

    @classmethod
    def at_scale(cls, extractor, settings: StyleSettings, inputs: StyleInputs, size: tuple[int, int],
                 temporal: "TemporalTerm | None" = None) -> "StyleObjective":
        """The objective for an image of `size` (height, width): the content's activations, each style's Grams
        (blended, or per region), the regions' masks and the temporal anchor at that size."""
        content_pixels = extractor.to_pixels(inputs.content.resize(size[::-1], Image.Resampling.LANCZOS))
        with torch.no_grad():
            # targets in full precision: computed once per scale, they anchor every later evaluation
            content_targets = {name: activation for name, activation
                               in extractor(content_pixels, full_precision=True).items()
                               if name in settings.content_layers}
            per_style = [_style_grams(extractor, settings, image, size) for image in inputs.styles]
        style_grams = _blended(per_style, inputs.blend, settings)
        regions = free = None
        if inputs.regions is not None:  # each style's region at this scale; what no region covers keeps the content
            masks = [torch.from_numpy(np.array(Image.fromarray(r).resize(size[::-1], Image.Resampling.BILINEAR)))
                     [None, None].to(content_pixels.device) for r in inputs.regions]
            union = sum(masks).clamp(0, 1)
            free = None if union.min() > 0.95 else _feathered(union, max(size))
            regions = list(zip(masks, per_style))
        anchor = None
        if temporal is not None:
            anchor = (extractor.to_pixels(temporal.previous.resize(size[::-1], Image.Resampling.LANCZOS)),
                      F.interpolate(torch.from_numpy(temporal.still)[None, None].float(), size=size, mode="area")
                      .to(content_pixels.device), temporal.weight)
        return cls(extractor, settings, content_pixels, content_targets, style_grams, regions, free, anchor)

    def painted(self, x: torch.Tensor) -> torch.Tensor:
        """The image the objective sees and the run delivers: x, except where no region frees the pixels."""
        return x if self.free is None else self.content_pixels + self.free * (x - self.content_pixels)

    def __call__(self, x: torch.Tensor, full_precision: bool = False) -> tuple[torch.Tensor, dict]:
        """(weighted total, {term: weighted value}) at pixels `x` in [0, 1]."""
        settings = self.settings
        x = self.painted(x)
        features = self.extractor(x, full_precision=full_precision)
        style = (style_loss(features, self.style_grams) if self.regions is None
                 else regional_style_loss(features, self.regions))
        terms = {"content": settings.content_weight * content_loss(features, self.content_targets),
                 "style": settings.style_weight * style,
                 "tv": settings.tv_weight * total_variation(x)}
        if self.temporal is not None:
            previous, still, weight = self.temporal
            terms["temporal"] = weight * temporal_loss(x, previous, still)
        return sum(terms.values()), terms

    def losses(self, x: torch.Tensor) -> dict:
        """The weighted terms and total at `x` as numbers, in full precision, without a gradient."""
        with torch.no_grad():
            return _losses(self, x, backward=False, full_precision=True)[1]


def _style_grams(extractor, settings: StyleSettings, style_image: Image.Image, size) -> dict[str, torch.Tensor]:
    """One style image's Gram matrix per style layer, the image resized to style_scale × the scale's longer side.
    An image larger than a tile goes through the network tile by tile (each window with context around its cell):
    the cells' Gram sums add up to the whole image's, in a tile's memory."""
    side = max(extractor.min_side, round(max(size) * settings.style_scale))
    pixels = extractor.to_pixels(_resized(style_image, side))
    tiles = tile_layout(tuple(pixels.shape[-2:]), settings.tile_size)
    if len(tiles) == 1:
        features = extractor(pixels, full_precision=True)
        return {name: gram_matrix(features[name]) for name in settings.style_layers}
    sums, positions = dict.fromkeys(settings.style_layers, 0.0), dict.fromkeys(settings.style_layers, 0)
    for tile in tiles:
        top, left, bottom, right = tile.window
        features = extractor(pixels[..., top:bottom, left:right], full_precision=True)
        for name in settings.style_layers:
            gram_sum, count = cell_gram_sum(features[name], tile)
            sums[name] = sums[name] + gram_sum
            positions[name] += count
    return {name: sums[name] / positions[name] for name in settings.style_layers}


def _blended(per_style: list[dict], blend: list[float], settings: StyleSettings) -> dict[str, torch.Tensor]:
    return {name: sum(w * grams[name] for w, grams in zip(blend, per_style)) for name in settings.style_layers}


def starting_canvas(extractor, inputs: StyleInputs, objective: StyleObjective, size, generator) -> torch.Tensor:
    """The first scale's starting pixels: the content, noise, the (first) style image or a given image."""
    if not isinstance(inputs.init, str):
        return extractor.to_pixels(inputs.init.resize(size[::-1], Image.Resampling.LANCZOS))
    if inputs.init == "content":
        return objective.content_pixels.clone()
    if inputs.init == "noise":
        return torch.rand(objective.content_pixels.shape, generator=generator).to(objective.content_pixels.device)
    return extractor.to_pixels(inputs.styles[0].resize(size[::-1], Image.Resampling.LANCZOS))


class StepReporter:
    """Keeps the per-iteration history of a run and tells the callback after each iteration, with a preview image
    every `preview_every` iterations (the first and the last always)."""

    def __init__(self, inputs: StyleInputs, settings: StyleSettings, total_steps: int, callback):
        self.inputs, self.settings, self.total_steps, self.callback = inputs, settings, total_steps, callback
        self.history: list[dict] = []
        self.scale, self.objective, self.canvas_of = 1, None, None

    def start_scale(self, scale: int, objective: StyleObjective, canvas_of: Callable | None = None) -> None:
        """A new scale (or a new tile of a tiled scale: `canvas_of(x)` is the whole image with that tile at x)."""
        self.scale, self.objective, self.canvas_of = scale, objective, canvas_of

    def _preview(self, x: torch.Tensor) -> tuple[Image.Image, np.ndarray]:
        """(the 8-bit picture a visitor sees, the same in full precision: a stopped run's 16-bit PNG)."""
        x = self.objective.painted(x)
        pixels = self.inputs.delivered(x if self.canvas_of is None else self.canvas_of(x))
        return pixels_to_image(pixels), pixels

    def canvas(self, x: torch.Tensor) -> None:
        """Step 0: the starting canvas, before any evaluation."""
        if self.callback is not None:
            self.callback(StyleProgress(0, self.total_steps, 1, self.settings.scales, None, *self._preview(x)))

    def __call__(self, x: torch.Tensor, losses: dict, evaluations: int) -> None:
        self.history.append(dict(losses, scale=self.scale, evaluations=evaluations))
        if self.callback is not None:
            done = len(self.history)
            show = done == 1 or done % self.settings.preview_every == 0 or done == self.total_steps
            self.callback(StyleProgress(done, self.total_steps, self.scale, self.settings.scales, losses,
                                        *(self._preview(x) if show else (None, None))))


def refine_in_tiles(extractor, settings: StyleSettings, inputs: StyleInputs, canvas: torch.Tensor, steps: int,
                    report: StepReporter, scale: int) -> tuple[torch.Tensor, dict]:
    """One scale too large to optimise whole (genmods/style/tiles.py): the style Grams once for the whole image,
    then each overlapping tile optimised in turn, from the current canvas, on the whole image's objective with the
    rest held, and written back through its feathered weights. Returns the canvas and the whole image's losses
    as the last tile left them."""
    size = tuple(canvas.shape[-2:])
    content = extractor.to_pixels(inputs.content.resize(size[::-1], Image.Resampling.LANCZOS))
    with torch.no_grad():
        style_grams = _blended([_style_grams(extractor, settings, image, size) for image in inputs.styles],
                               inputs.blend, settings)
    tiles = settings.tiles(size)
    whole = WholeImage(extractor, settings, tiles, content, canvas, style_grams)
    done = []
    for index, tile in enumerate(tiles):
        objective = whole.objective(index, canvas)
        report.start_scale(scale, objective, partial(_with_window, canvas, tile.window))
        refined, _ = optimise(objective, objective.fixed, steps, settings, report, None)
        top, left, bottom, right = tile.box
        weight = feather(tile.box, done).to(canvas.device)
        box = canvas[..., top:bottom, left:right]
        box += weight * (refined[(..., *tile.within_window(tile.box))] - box)
        done.append(tile.box)
        for other, neighbour in enumerate(tiles):  # the cells whose network input this box changed
            if _overlaps(neighbour.window, tile.box):
                whole.refresh(other, canvas)
    final = {key: value for key, value in report.history[-1].items() if key not in ("scale", "evaluations")}
    return canvas, final


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _with_window(canvas: torch.Tensor, window: tuple[int, int, int, int], x: torch.Tensor) -> torch.Tensor:
    """The whole canvas with a tile's window at `x` (for previews)."""
    top, left, bottom, right = window
    whole = canvas.clone()
    whole[..., top:bottom, left:right] = x
    return whole


def optimise(objective: StyleObjective, image: torch.Tensor, steps: int, settings: StyleSettings, on_step,
             state: dict | None) -> tuple[torch.Tensor, dict]:
    """`steps` iterations of the chosen optimiser from `image` (and a previous run's `state`, to continue it)."""
    if settings.optimizer == "lbfgs":
        return run_lbfgs(objective, image, steps, on_step, state=state)
    return run_adam(objective, image, steps, settings.adam_learning_rate, on_step, full_precision=False, state=state)


def style_transfer(content, style, settings: StyleSettings | None = None, *, init="content", style_blend=None,
                   masks=None, temporal: TemporalTerm | None = None,
                   callback: Callable[[StyleProgress], None] | None = None, **options) -> StyleResult:
    """Paint `content` in the style of `style` (one image, or a list blended by `style_blend`).

    settings: a `StyleSettings`; `options` are its fields by name (`image_size=512, style_weight=100`), on top.
    init: "content", "noise" or "style", an image to start from, or a previous `StyleResult` to continue that
    run (its image, and with the same optimiser at the same size its state; settings may change in between).
    masks: style by region (Gatys et al. 2017): one mask per style image, same order (images or arrays, white or
    opaque = inside); style i is matched, through guided Gram matrices, only inside mask i. Where no mask
    covers the image the content is kept untouched. Not combined with `style_blend`.
    temporal: a `TemporalTerm` (video frames; see `style_video`).
    callback: a `StyleProgress` after every iteration (and the starting canvas first); it may raise to stop.
    """
    started = time.perf_counter()
    settings = (settings or StyleSettings()).with_options(**options)
    inputs = load_inputs(content, style, init, masks, style_blend, settings)
    if settings.color == "colors-only":
        if inputs.regions is not None:
            raise ValueError("Colours only recolours the whole photo: clear the brushed region, or choose another "
                             "colour mode to paint a region.")
        return palette_only(inputs, settings, started)
    extractor = feature_extractor(settings.backbone, settings.layers, pretrained=settings.pretrained,
                                  pooling=settings.pooling, weights_file=settings.weights_file,
                                  precision=settings.precision)
    sizes, schedule = settings.sizes(inputs.content.size), settings.schedule()
    if min(sizes[0]) < extractor.min_side:
        raise ValueError(f"image_size {settings.image_size} is too small for {settings.scales} scales "
                         f"(the coarsest would be {sizes[0][1]}×{sizes[0][0]} px)")
    tiled = [len(settings.tiles(size)) > 1 for size in sizes]
    if any(tiled) and (inputs.regions is not None or temporal is not None):
        raise ValueError(f"{'Style by region' if temporal is None else 'A video frame'} is painted in one piece: "
                         f"up to {settings.tile_size} px (tile_size); choose a smaller image_size.")
    report = StepReporter(inputs, settings, sum(steps * len(settings.tiles(size))
                                                for size, steps in zip(sizes, schedule)), callback)
    generator = torch.Generator().manual_seed(settings.seed)
    resume, image, start_losses = inputs.resume, None, {}

    for scale, (size, steps) in enumerate(zip(sizes, schedule), start=1):
        if tiled[scale - 1]:  # never the first: `scales` makes the coarsest fit in one tile
            image = F.interpolate(image, size=size, mode="bicubic", align_corners=False).clamp(0, 1)
            image, final_losses = refine_in_tiles(extractor, settings, inputs, image, steps, report, scale)
            resume = {}  # each tile had its own optimiser: continuing such a run starts afresh
            continue
        objective = StyleObjective.at_scale(extractor, settings, inputs, size, temporal)
        report.start_scale(scale, objective)
        if image is None:
            image = starting_canvas(extractor, inputs, objective, size, generator)
            report.canvas(image)
            start_losses = objective.losses(image)
        else:
            image = F.interpolate(image, size=size, mode="bicubic", align_corners=False).clamp(0, 1)
        # a continued run picks up the optimiser where it stopped when it is the same optimiser at the same size
        carried = resume.get(settings.optimizer) if scale == 1 and resume.get("size") == tuple(size) else None
        image, state = optimise(objective, image, steps, settings, report, carried)
        # kept on the CPU (a result may wait in a visitor's session; load_state_dict moves it back)
        resume = {"size": tuple(size), settings.optimizer: _on_cpu(state)}

    if tiled[-1]:
        pass  # the tiles' last losses (refine_in_tiles): measuring the whole image would take more than a tile's memory
    elif settings.optimizer == "adam":  # Adam's history holds each step's starting point: measure where it ended
        final_losses = objective.losses(image)
    else:
        final_losses = {key: value for key, value in report.history[-1].items() if key not in ("scale", "evaluations")}
    # the delivered image is the one the objective saw (regions: x with the uncovered pixels kept as content)
    pixels = inputs.delivered(image if tiled[-1] else objective.painted(image))
    return StyleResult(image=pixels_to_image(pixels), history=report.history, weights=extractor.weights,
                       seconds=time.perf_counter() - started, sizes=sizes, start=start_losses, final=final_losses,
                       notes=inputs.notes, resume=resume, pixels=pixels)


def palette_only(inputs: StyleInputs, settings: StyleSettings, started: float) -> StyleResult:
    """color="colors-only": the content in the style's palette at the output size, no network and no painting."""
    size = settings.sizes(inputs.content.size)[-1]
    image = inputs.content.resize(size[::-1], Image.Resampling.LANCZOS)
    return StyleResult(image=image, history=[], weights=NO_NETWORK, seconds=time.perf_counter() - started,
                       sizes=[size], notes=inputs.notes + ["colors only: the style's palette on the content (its "
                                                           "chroma histograms matched, its luma kept); nothing painted"],
                       pixels=np.asarray(image, np.float32) / 255)


__all__ = [
    "CONTENT_LAYERS", "STYLE_LAYERS", "StyleSettings", "StyleObjective", "StyleInputs", "StyleProgress", "StyleResult",
    "TemporalTerm", "style_transfer", "load_inputs", "region_masks", "normalise_blend", "scale_sizes",
    "run_lbfgs", "run_adam", "palette_only", "OPTIMIZERS", "COLOR_MODES",
]
