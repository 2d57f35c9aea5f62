"""Neural style transfer (Gatys et al.): keep the content image's macrostructure, paint it with the
style image's textures.

    result = style_transfer(content, style)
    result.image.save("styled.png")

Minimise α·J_content + β·J_style (+ a total-variation smoothness term), where J_content is the L2
distance between an upper layer's activations of the content image and of the generated image, and
J_style the L2 distance between the Gram matrices of several layers' activations of the style image
and of the generated image. The paper's layers on VGG19: content conv4_2; style conv1_1, conv2_1,
conv3_1, conv4_1, conv5_1.
"""

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..vision.backbones import WeightsInfo, feature_extractor
from ..vision.images import DEFAULT_MAX_SIDE, load_image

CONTENT_LAYERS = ("conv4_2",)
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
MAX_IMAGE_SIZE = 2048


@dataclass
class StyleProgress:
    step: int  # 1-based across all scales; one report with step 0 comes first: the starting canvas
    total_steps: int
    scale: int  # 1-based
    scales: int
    losses: dict | None  # content, style, tv, total (weighted); None at step 0
    image: Image.Image | None = None


@dataclass
class StyleResult:
    image: Image.Image
    history: list[dict]  # per step: content, style, tv, total (weighted), scale
    weights: WeightsInfo
    seconds: float
    sizes: list[tuple[int, int]]  # (height, width) of each scale, coarse to fine
    notes: list[str] = field(default_factory=list)


def gram_matrix(activations: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B, C, C) feature correlations, divided by C·H·W so that the same style weight
    works whatever the image size."""
    batch, channels, height, width = activations.shape
    flat = activations.reshape(batch, channels, height * width)
    return flat @ flat.transpose(1, 2) / (channels * height * width)


def content_loss(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(generated, target)


def style_loss(generated: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the squared distance between Gram matrices."""
    return sum(F.mse_loss(gram_matrix(generated[name]), gram) for name, gram in target_grams.items()) / len(target_grams)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).square().mean() + (x[..., :, 1:] - x[..., :, :-1]).square().mean()


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


def style_transfer(
    content,
    style,
    *,
    style_blend=None,
    image_size: int = 384,
    content_weight: float = 1.0,
    style_weight: float = 1e6,
    tv_weight: float = 1e-2,
    optimizer: str = "lbfgs",
    iterations: int = 200,
    learning_rate: float | None = None,
    init: str = "content",
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

    image_size: the output's longer side in pixels. iterations: optimiser steps (L-BFGS: function
    evaluations) at the coarsest scale; with `multi_scale` = n > 1 the problem is solved at n sizes,
    each twice the previous, starting each from the upsampled result and halving the iterations.
    style_scale: the style image is resized to style_scale × image_size before its Grams are taken.
    init: "content", "noise" or "style". preserve_color: luminance-only transfer, content's colours kept.
    precision: "auto" runs the network under bf16 autocast where the hardware is fast at it; "fp32" never.
    """
    started = time.perf_counter()
    if not 32 <= image_size <= MAX_IMAGE_SIZE:
        raise ValueError(f"image_size must be between 32 and {MAX_IMAGE_SIZE} px")
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError("optimizer must be 'lbfgs' or 'adam'")
    if init not in ("content", "noise", "style"):
        raise ValueError("init must be 'content', 'noise' or 'style'")
    if not 0.1 <= style_scale <= 4:
        raise ValueError("style_scale must be between 0.1 and 4")
    if multi_scale < 1:
        raise ValueError("multi_scale must be at least 1")

    content_loaded = load_image(content, max_side=max(DEFAULT_MAX_SIDE, image_size), name="content image")
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise ValueError("Give at least one style image.")
    blend = normalise_blend(style_blend, len(styles))
    style_loaded = [load_image(s, max_side=max(DEFAULT_MAX_SIDE, image_size), name="style image") for s in styles]
    notes = content_loaded.notes + [note for loaded in style_loaded for note in loaded.notes]
    content_image = content_loaded.image
    style_images = [loaded.image for loaded in style_loaded]
    if preserve_color:
        original_content = content_image
        style_images = [match_luminance(s, content_image) for s in style_images]
        content_image = luminance(content_image)

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
    image = None

    def _preview(x):
        preview = extractor.deprocess(x)
        return with_chrominance_of(preview, original_content) if preserve_color else preview

    for scale_index, (size, steps) in enumerate(zip(sizes, schedule)):
        content_x = extractor.preprocess(content_image.resize(size[::-1], Image.Resampling.LANCZOS))
        with torch.no_grad():
            # targets in full precision: computed once, they anchor every later (possibly bf16) evaluation
            content_targets = {name: act.detach() for name, act in extractor(content_x, full_precision=True).items()
                               if name in content_layers}
            style_grams = {name: 0.0 for name in style_layers}
            style_side = max(extractor.min_side, round(max(size) * style_scale))
            for weight, style_image in zip(blend, style_images):
                features = extractor(extractor.preprocess(_resized(style_image, style_side)), full_precision=True)
                for name in style_layers:
                    style_grams[name] = style_grams[name] + weight * gram_matrix(features[name])

        if image is None:
            if init == "content":
                image = content_x.clone()
            elif init == "noise":
                image = torch.randn(content_x.shape, generator=generator).to(content_x.device)
            else:
                image = extractor.preprocess(style_images[0].resize(size[::-1], Image.Resampling.LANCZOS))
        else:
            image = F.interpolate(image.detach(), size=size, mode="bicubic", align_corners=False)
        image = image.detach().requires_grad_(True)
        if callback is not None and scale_index == 0:  # step 0: the starting canvas, before any evaluation
            callback(StyleProgress(0, total_steps, 1, multi_scale, None, _preview(image)))

        if optimizer == "lbfgs":
            # one L-BFGS iteration per step() call: its curvature history lives in the optimiser's
            # state, so this is the usual L-BFGS run, with a progress report after each iteration.
            # The strong-Wolfe line search keeps the first steps from stalling (torch's default first
            # step is 1/|g|₁, tiny for an image's worth of pixels).
            solver = torch.optim.LBFGS([image], lr=learning_rate or 1.0, max_iter=1, max_eval=20, history_size=50,
                                       tolerance_grad=-1, tolerance_change=-1, line_search_fn="strong_wolfe")
        else:
            solver = torch.optim.Adam([image], lr=learning_rate or 0.02)

        for iteration in range(steps):
            record = {}  # the losses of the image as it stands at this step (the first evaluation)
            evaluations = 0
            # torch's L-BFGS takes its first step as lr/|g|₁ (a tiny move of the whole image in total), then
            # lets the line search grow it, evaluation after evaluation; and in bf16 such a tiny move does not
            # change the loss at all, so no curvature would be learnt. So the first iteration runs in fp32,
            # with lr scaled to move each pixel by about 0.05 (normalised units) on average; later steps
            # come from the curvature estimate (lr 1), large enough for bf16.
            first_lbfgs = optimizer == "lbfgs" and iteration == 0
            full_precision = first_lbfgs
            if optimizer == "lbfgs":
                solver.param_groups[0]["lr"] = (0.05 * image.numel() if first_lbfgs else 1.0) * (learning_rate or 1.0)

            def closure():
                nonlocal evaluations
                evaluations += 1
                solver.zero_grad()
                features = extractor(image, full_precision=full_precision)
                j_content = sum(content_loss(features[n], content_targets[n]) for n in content_layers) / len(content_layers)
                j_style = style_loss(features, style_grams)
                j_tv = total_variation(image)
                total = content_weight * j_content + style_weight * j_style + tv_weight * j_tv
                total.backward()
                if not record:
                    record.update(content=content_weight * j_content.item(), style=style_weight * j_style.item(),
                                  tv=tv_weight * j_tv.item(), total=total.item())
                return total

            solver.step(closure)
            if optimizer == "adam":  # L-BFGS must see the function it models: no projection mid-run
                with torch.no_grad():
                    image.copy_(extractor.clamp(image))
            done += 1
            history.append(dict(record, scale=scale_index + 1, evaluations=evaluations))
            if callback is not None:
                show = done == 1 or done % preview_every == 0 or done == total_steps
                callback(StyleProgress(done, total_steps, scale_index + 1, multi_scale, record,
                                       _preview(image) if show else None))

    result = extractor.deprocess(image)
    if preserve_color:
        result = with_chrominance_of(result, original_content)
    return StyleResult(image=result, history=history, weights=extractor.weights,
                       seconds=time.perf_counter() - started, sizes=sizes, notes=notes)


__all__ = [
    "CONTENT_LAYERS", "STYLE_LAYERS", "StyleProgress", "StyleResult", "style_transfer", "gram_matrix",
    "content_loss", "style_loss", "total_variation", "normalise_blend", "scale_sizes", "with_chrominance_of",
]
