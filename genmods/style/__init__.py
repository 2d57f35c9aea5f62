"""Neural style transfer (Gatys et al.): keep the content image's macrostructure, paint it with the
style image's textures.

    result = style_transfer(content, style)
    result.image.save("styled.png")
    clip = style_video("clip.mp4", style)          # frame by frame, without flicker

`losses` holds the terms of the objective (scale-free relative errors, Gram matrices, total variation);
`transfer` the optimisation: `StyleSettings` (every knob), `StyleObjective` (one scale's targets and loss),
L-BFGS or Adam inside the pixel range, regions, continuing, progress; `colour` the colour modes (luminance-only,
the style's palette); `video` styles a clip frame by frame with a temporal term.
"""

from .colour import luminance, match_luminance, transfer_palette, with_chrominance_of
from .losses import (
    content_loss, gram_matrix, guided_gram_matrix, mask_at, regional_style_loss, relative_squared_error, style_loss,
    temporal_loss, total_variation,
)
from .transfer import (
    CONTENT_LAYERS, DEFAULT_CONTENT_WEIGHT, DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, STYLE_LAYERS, StyleObjective,
    COLOR_MODES, StyleProgress, StyleResult, StyleSettings, TemporalTerm, normalise_blend, region_masks, scale_sizes,
    style_transfer,
)
from .video import DEFAULT_TEMPORAL_WEIGHT, VideoProgress, VideoStyleResult, flicker, read_clip, style_video

__all__ = [
    "style_video", "read_clip", "flicker", "VideoProgress", "VideoStyleResult", "DEFAULT_TEMPORAL_WEIGHT",
    "CONTENT_LAYERS", "STYLE_LAYERS", "DEFAULT_CONTENT_WEIGHT", "DEFAULT_STYLE_WEIGHT", "DEFAULT_TV_WEIGHT",
    "StyleSettings", "StyleObjective", "StyleProgress", "StyleResult", "style_transfer", "gram_matrix", "content_loss", "style_loss",
    "relative_squared_error", "total_variation", "normalise_blend", "scale_sizes", "with_chrominance_of",
    "transfer_palette", "luminance", "match_luminance", "COLOR_MODES",
    "guided_gram_matrix", "mask_at", "regional_style_loss", "temporal_loss", "TemporalTerm", "region_masks",
]
