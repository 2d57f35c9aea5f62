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


def total_variation(pixels: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels (in [0, 1] units), both directions added:
    about 0.002–0.01 for a photo, 0 for a flat image."""
    return ((pixels[..., 1:, :] - pixels[..., :-1, :]).square().mean()
            + (pixels[..., :, 1:] - pixels[..., :, :-1]).square().mean())


__all__ = ["gram_matrix", "relative_squared_error", "content_loss", "style_loss", "total_variation"]
