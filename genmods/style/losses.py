"""The terms of the style-transfer objective, each normalised so that its weight means the same on any
backbone (random or trained, VGG16 or VGG19, max or average pooling).

Gatys et al. write the content term as ½‖F − P‖² and the style term of a layer as ‖G − A‖² / (4N²M²):
both grow with the activations' scale (to the 2nd and 4th power), so α/β = 1e-3 only means something
for the network and image size it was tuned on. Here each term is a *relative* squared error,
‖F − P‖² / ‖P‖² and ‖G − A‖² / ‖A‖²: multiplying a layer's activations by any factor leaves it
unchanged, and 1.0 means "as far from the target as the target is from zero". docs/calibration.md
converts the references' weights to these units.
"""

import torch

# ‖target‖² below this is treated as this (a layer that is all zeros for the target image)
_TINY = 1e-30


def gram_matrix(activations: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B, C, C) feature correlations, divided by C·H·W so that the same texture at two
    sizes has the same Gram matrix (and so that Grams of several style images can be blended)."""
    batch, channels, height, width = activations.shape
    flat = activations.reshape(batch, channels, height * width)
    return flat @ flat.transpose(1, 2) / (channels * height * width)


def guided_gram_matrix(activations: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The Gram matrix of the activations inside a region (Gatys et al. 2017, guided Gram matrices): each
    position weighted by `mask` (B or 1, 1, H, W) in [0, 1] at the activations' resolution, divided by C·Σmask²
    so that a texture has the same Gram inside a region as over a whole image (an all-ones mask gives
    `gram_matrix`)."""
    batch, channels, height, width = activations.shape
    flat = (activations * mask).reshape(batch, channels, height * width)
    return flat @ flat.transpose(1, 2) / (channels * mask.square().sum().clamp_min(_TINY))


def mask_at(mask: torch.Tensor, activations: torch.Tensor) -> torch.Tensor:
    """A region mask (1, 1, H, W) averaged down to a layer's resolution: the share of each unit's cell inside
    the region."""
    return torch.nn.functional.adaptive_avg_pool2d(mask, activations.shape[-2:])


def relative_squared_error(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """‖generated − target‖² / ‖target‖²: invariant to a common scale of both."""
    return (generated - target).square().sum() / target.square().sum().clamp_min(_TINY)


def content_loss(features: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over the content layers of the relative squared error of the activations."""
    return sum(relative_squared_error(features[name], target) for name, target in targets.items()) / len(targets)


def style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over the style layers (the paper's w_l = 1/L) of the relative squared error of the Gram
    matrices."""
    return sum(relative_squared_error(gram_matrix(features[name]), gram)
               for name, gram in target_grams.items()) / len(target_grams)


def regional_style_loss(features: dict[str, torch.Tensor], regions: list[tuple[torch.Tensor, dict]]) -> torch.Tensor:
    """Style by region: for each (mask, target Grams) — one style image and the region it paints — the
    relative error of the guided Grams inside that region, averaged over the style layers; then the mean over
    the regions, so the style weight means what it means for a whole image."""
    total = 0.0
    for mask, target_grams in regions:
        total = total + sum(relative_squared_error(guided_gram_matrix(features[name], mask_at(mask, features[name])),
                                                   gram) for name, gram in target_grams.items()) / len(target_grams)
    return total / len(regions)


def temporal_loss(pixels: torch.Tensor, previous: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean squared difference (in [0, 1] pixel units) from the previous styled frame, weighted by `weights`
    (1 where the input did not change, 0 where it did; Ruder et al. 2016 without optical flow)."""
    return ((pixels - previous).square().mean(dim=1, keepdim=True) * weights).sum() / weights.sum().clamp_min(1.0)


def total_variation(pixels: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels (in [0, 1] units), both directions added:
    about 0.002–0.01 for a photo, 0 for a flat image."""
    return ((pixels[..., 1:, :] - pixels[..., :-1, :]).square().mean()
            + (pixels[..., :, 1:] - pixels[..., :, :-1]).square().mean())


__all__ = [
    "gram_matrix", "guided_gram_matrix", "mask_at", "relative_squared_error", "content_loss", "style_loss",
    "regional_style_loss", "temporal_loss", "total_variation",
]
