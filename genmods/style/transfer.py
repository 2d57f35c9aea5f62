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

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..vision.backbones import WeightsInfo, feature_extractor
from ..vision.images import DEFAULT_MAX_SIDE, ImageInputError, load_image, load_mask
from .losses import content_loss, gram_matrix, regional_style_loss, style_loss, temporal_loss, total_variation

CONTENT_LAYERS = ("conv4_2",)
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
MAX_IMAGE_SIZE = 2048


DEFAULT_CONTENT_WEIGHT = 1.0
DEFAULT_STYLE_WEIGHT = 10.0
DEFAULT_TV_WEIGHT = 1.0
DEFAULT_ADAM_LR = 0.02  # pixels in [0, 1] per step: about 5 grey levels, crowsonkb's step size
LBFGS_HISTORY = 50  # correction pairs kept by L-BFGS


@dataclass
class StyleProgress:
    step: int  # 1-based across all scales; one report with step 0 comes first: the starting canvas
    total_steps: int
    scale: int  # 1-based
    scales: int
    losses: dict | None  # content, style, tv, total (weighted) after this step; None at step 0
    image: Image.Image | None = None


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


@dataclass
class TemporalTerm:
    """Keeps a video frame close to the previous styled frame where the input did not change (`style_video`)."""

    previous: Image.Image  # the previous frame's styled image
    still: np.ndarray  # (height, width) in [0, 1]: 1 where the input frame equals the previous one
    weight: float


INIT_NAMES = ("content", "noise", "style")


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


# Colour preservation (Gatys et al. 2016, "luminance-only transfer"): transfer style on the luminance
# channel only and keep the content's chrominance. PIL's YCbCr is the colour space.
def luminance(image: Image.Image) -> Image.Image:
    return image.convert("YCbCr").getchannel("Y").convert("RGB")


def match_luminance(style: Image.Image, content: Image.Image) -> Image.Image:
    """The style's luminance shifted and scaled to the content's mean and spread, as the paper does
    before luminance-only transfer (so the result keeps the content's brightness)."""
    s = np.asarray(style.convert("YCbCr").getchannel("Y"), np.float32)
    c = np.asarray(content.convert("YCbCr").getchannel("Y"), np.float32)
    matched = (s - s.mean()) / max(s.std(), 1e-6) * c.std() + c.mean()
    return Image.fromarray(np.clip(matched, 0, 255).round().astype(np.uint8)).convert("RGB")


def with_chrominance_of(luma_image: Image.Image, colour_image: Image.Image) -> Image.Image:
    """Y from `luma_image`, Cb and Cr from `colour_image`."""
    y = luma_image.convert("YCbCr").getchannel("Y")
    _, cb, cr = colour_image.resize(luma_image.size, Image.Resampling.BICUBIC).convert("YCbCr").split()
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")


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


def style_transfer(
    content,
    style,
    *,
    style_blend=None,
    image_size: int = 384,
    content_weight: float = DEFAULT_CONTENT_WEIGHT,
    style_weight: float = DEFAULT_STYLE_WEIGHT,
    tv_weight: float = DEFAULT_TV_WEIGHT,
    optimizer: str = "lbfgs",
    iterations: int = 200,
    learning_rate: float | None = None,
    init="content",
    masks=None,
    temporal: TemporalTerm | None = None,
    preserve_color: bool = False,
    multi_scale: int = 1,
    style_scale: float = 1.0,
    pooling: str = "max",
    backbone: str = "vgg19",
    content_layers=CONTENT_LAYERS,
    style_layers=STYLE_LAYERS,
    pretrained: bool = True,
    weights_file: str | None = None,
    precision: str = "auto",
    seed: int = 0,
    callback: Callable[[StyleProgress], None] | None = None,
    preview_every: int = 10,
) -> StyleResult:
    """Paint `content` in the style of `style` (one image, or a list blended by `style_blend`).

    Minimises content_weight · J_content + style_weight · J_style + tv_weight · TV, where J_content and
    J_style are relative squared errors (0 = identical to the target, 1 = as far from it as the target
    is from zero) and TV the mean squared difference of neighbouring pixels in [0, 1] units.

    image_size: the output's longer side in pixels. iterations: optimiser iterations at the coarsest
    scale; with `multi_scale` = n > 1 the problem is solved at n sizes, each twice the previous,
    starting each from the upsampled result and halving the iterations.
    optimizer: "lbfgs" (on sigmoid-parametrised pixels, fp32) or "adam" (learning_rate in [0, 1] pixel units per step,
    default 0.02; runs under bf16 autocast where that is fast, per `precision`).
    style_scale: the style image is resized to style_scale × image_size before its Grams are taken.
    init: "content", "noise" or "style", an image to start from, or a previous `StyleResult` to continue that
    run (its image, and with Adam at the same size its moment estimates; settings may change in between).
    masks: style by region (Gatys et al. 2017): one mask per style image, same order (images or arrays, white or
    opaque = inside); style i is matched, through guided Gram matrices, only inside mask i. Where no mask
    covers the image the content is kept untouched. Not combined with `style_blend`.
    temporal: a `TemporalTerm` (video frames; see `style_video`).
    preserve_color: luminance-only transfer, content's colours kept.
    """
    started = time.perf_counter()
    if not 32 <= image_size <= MAX_IMAGE_SIZE:
        raise ValueError(f"image_size must be between 32 and {MAX_IMAGE_SIZE} px")
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError("optimizer must be 'lbfgs' or 'adam'")
    if optimizer == "lbfgs" and learning_rate is not None:
        raise ValueError("learning_rate is Adam's step size; L-BFGS chooses its own steps")
    learning_rate = DEFAULT_ADAM_LR if learning_rate is None else learning_rate
    if not 0 < learning_rate <= 1:
        raise ValueError("learning_rate must be in (0, 1] (pixels in [0, 1] per step)")
    for name, weight in (("content_weight", content_weight), ("style_weight", style_weight), ("tv_weight", tv_weight)):
        if not (np.isfinite(weight) and weight >= 0):
            raise ValueError(f"{name} must be a finite number ≥ 0")
    if isinstance(init, str) and init not in INIT_NAMES:
        raise ValueError("init must be 'content', 'noise', 'style' or an image")
    if not 0.1 <= style_scale <= 4:
        raise ValueError("style_scale must be between 0.1 and 4")
    if multi_scale < 1:
        raise ValueError("multi_scale must be at least 1")

    content_loaded = load_image(content, max_side=max(DEFAULT_MAX_SIDE, image_size), name="content image")
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise ValueError("Give at least one style image.")
    if masks is not None and style_blend is not None:
        raise ValueError("style_blend mixes the styles everywhere; with masks each style paints its own region: "
                         "give one or the other.")
    blend = normalise_blend(style_blend, len(styles))
    style_loaded = [load_image(s, max_side=max(DEFAULT_MAX_SIDE, image_size), name="style image") for s in styles]
    notes = content_loaded.notes + [note for loaded in style_loaded for note in loaded.notes]
    content_image = content_loaded.image
    style_images = [loaded.image for loaded in style_loaded]
    regions = None if masks is None else region_masks(masks, len(styles), content_image.size)
    init_image, resume = None, {}
    if isinstance(init, StyleResult):
        init, resume = init.image, init.resume
    if not isinstance(init, str):
        init_loaded = load_image(init, max_side=max(DEFAULT_MAX_SIDE, image_size), name="starting image")
        init_image, notes = init_loaded.image, notes + init_loaded.notes
        ratio, content_ratio = init_image.width / init_image.height, content_image.width / content_image.height
        if abs(ratio - content_ratio) > 0.02 * content_ratio:
            notes.append(f"starting image ({init_image.width}×{init_image.height}) stretched to the content's shape")
    if preserve_color:
        original_content = content_image
        style_images = [match_luminance(s, content_image) for s in style_images]
        content_image = luminance(content_image)
        init_image = None if init_image is None else luminance(init_image)

    content_layers, style_layers = tuple(content_layers), tuple(style_layers)
    layers = tuple(dict.fromkeys(content_layers + style_layers))
    extractor = feature_extractor(backbone, layers, pretrained=pretrained, pooling=pooling, weights_file=weights_file,
                                  precision=precision)
    generator = torch.Generator().manual_seed(seed)

    sizes = scale_sizes(content_image.size, image_size, multi_scale)
    if min(sizes[0]) < extractor.min_side:
        raise ValueError(f"image_size {image_size} is too small for {multi_scale} scales "
                         f"(the coarsest would be {sizes[0][1]}×{sizes[0][0]} px)")
    schedule = [max(10 if multi_scale > 1 else 1, iterations // 2**index) for index in range(multi_scale)]
    total_steps, done = sum(schedule), 0
    history: list[dict] = []
    start_losses: dict = {}
    image = None

    def to_image(x):
        preview = extractor.to_image(x)
        return with_chrominance_of(preview, original_content) if preserve_color else preview

    for scale_index, (size, steps) in enumerate(zip(sizes, schedule)):
        content_x = extractor.to_pixels(content_image.resize(size[::-1], Image.Resampling.LANCZOS))
        with torch.no_grad():
            # targets in full precision: computed once per scale, they anchor every later evaluation
            content_targets = {name: act for name, act in extractor(content_x, full_precision=True).items()
                               if name in content_layers}
            style_side = max(extractor.min_side, round(max(size) * style_scale))
            per_style = []  # each style image's Grams at this scale
            for style_image in style_images:
                features = extractor(extractor.to_pixels(_resized(style_image, style_side)), full_precision=True)
                per_style.append({name: gram_matrix(features[name]) for name in style_layers})
            style_grams = {name: sum(w * grams[name] for w, grams in zip(blend, per_style)) for name in style_layers}
        regions_x = free = None
        if regions is not None:  # each style's region at this scale; what no region covers keeps the content
            regions_x = [torch.from_numpy(np.array(Image.fromarray(r).resize(size[::-1], Image.Resampling.BILINEAR)))
                         [None, None].to(content_x.device) for r in regions]
            union = sum(regions_x).clamp(0, 1)
            free = None if union.min() > 0.95 else _feathered(union, max(size))
        anchor = None
        if temporal is not None:
            anchor = (extractor.to_pixels(temporal.previous.resize(size[::-1], Image.Resampling.LANCZOS)),
                      F.interpolate(torch.from_numpy(temporal.still)[None, None].float(), size=size, mode="area")
                      .to(content_x.device))

        def painted(x, content_x=content_x, free=free):
            """The image the objective sees and the run delivers: x, except where no region frees the pixels."""
            return x if free is None else content_x + free * (x - content_x)

        def objective(x, full_precision, content_targets=content_targets, style_grams=style_grams,
                      regions_x=regions_x, per_style=per_style, anchor=anchor, painted=painted):
            x = painted(x)
            features = extractor(x, full_precision=full_precision)
            style = (style_loss(features, style_grams) if regions_x is None
                     else regional_style_loss(features, list(zip(regions_x, per_style))))
            terms = {"content": content_weight * content_loss(features, content_targets),
                     "style": style_weight * style,
                     "tv": tv_weight * total_variation(x)}
            if anchor is not None:
                terms["temporal"] = temporal.weight * temporal_loss(x, *anchor)
            return sum(terms.values()), terms

        if image is None:
            if init_image is not None:
                image = extractor.to_pixels(init_image.resize(size[::-1], Image.Resampling.LANCZOS))
            elif init == "content":
                image = content_x.clone()
            elif init == "noise":
                image = torch.rand(content_x.shape, generator=generator).to(content_x.device)
            else:
                image = extractor.to_pixels(style_images[0].resize(size[::-1], Image.Resampling.LANCZOS))
            if callback is not None:  # step 0: the starting canvas, before any evaluation
                callback(StyleProgress(0, total_steps, 1, multi_scale, None, to_image(painted(image))))
            with torch.no_grad():
                _, start_losses = _losses(objective, image, backward=False, full_precision=True)
        else:
            image = F.interpolate(image, size=size, mode="bicubic", align_corners=False).clamp(0, 1)

        def on_step(x, losses, evaluations, scale=scale_index + 1, painted=painted):
            nonlocal done
            done += 1
            history.append(dict(losses, scale=scale, evaluations=evaluations))
            if callback is not None:
                show = done == 1 or done % preview_every == 0 or done == total_steps
                callback(StyleProgress(done, total_steps, scale, multi_scale, losses,
                                       to_image(painted(x)) if show else None))

        # a continued run picks up the optimiser where it stopped when it is the same optimiser at the same size
        carried = resume.get(optimizer) if scale_index == 0 and resume.get("size") == tuple(size) else None
        if optimizer == "lbfgs":
            image, state = run_lbfgs(objective, image, steps, on_step, state=carried)
        else:
            image, state = run_adam(objective, image, steps, learning_rate, on_step, full_precision=False, state=carried)
        # kept on the CPU (a result may wait in a visitor's session; load_state_dict moves it back)
        resume = {"size": tuple(size), optimizer: _on_cpu(state)}

    if optimizer == "adam":  # Adam's history holds each step's starting point: measure where it ended
        with torch.no_grad():
            _, final_losses = _losses(objective, image, backward=False, full_precision=True)
    else:
        final_losses = {key: value for key, value in history[-1].items() if key not in ("scale", "evaluations")}
    # the delivered image is the one the objective saw (regions: x with the uncovered pixels kept as content)
    return StyleResult(image=to_image(painted(image)), history=history, weights=extractor.weights,
                       seconds=time.perf_counter() - started, sizes=sizes, start=start_losses, final=final_losses,
                       notes=notes, resume=resume)


__all__ = [
    "CONTENT_LAYERS", "STYLE_LAYERS", "StyleProgress", "StyleResult", "TemporalTerm", "style_transfer", "region_masks",
    "normalise_blend",
    "scale_sizes", "with_chrominance_of", "run_lbfgs", "run_adam",
]
