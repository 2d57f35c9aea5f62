"""DeepDream on a trained network: `../shared/weights/inception_v3.safetensors` (an InceptionV3 whose stem up to
Mixed_6c is Keras' ImageNet one; its README says how it was made). Skipped, with the reason, where it is absent;
it is never copied into the repository."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from genmods.dream import DreamSettings, deep_dream

from .conftest import REPO

WEIGHTS = REPO.parent / "shared" / "weights" / "inception_v3.safetensors"
pytestmark = pytest.mark.skipif(not WEIGHTS.exists(), reason=f"no trained InceptionV3 at {WEIGHTS}")
SIDE = 256  # small, for the suite's time; the README's figures are at 512 px


def photo(name: str) -> Image.Image:
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)())


def dreamed(name: str, preset: str, **options) -> tuple[np.ndarray, np.ndarray]:
    """(input, dream) as int16 arrays of the dream's size."""
    image = photo(name)
    result = deep_dream(image, DreamSettings(layers=preset, max_side=SIDE, weights_file=str(WEIGHTS), seed=0,
                                             **options))
    assert result.weights.pretrained
    before = np.asarray(image.resize(result.image.size, Image.Resampling.LANCZOS), np.int16)
    return before, np.asarray(result.image, np.int16)


def newly_clipped_percent(before: np.ndarray, after: np.ndarray) -> float:
    """Pixels at 0 or 255 in some channel of the dream that were not so in the input."""
    clipped = lambda a: ((a == 0) | (a == 255)).any(axis=2)  # noqa: E731
    return float((clipped(after) & ~clipped(before)).mean() * 100)


def finest_band_share(before: np.ndarray, after: np.ndarray) -> float:
    """The share of the dream's change (energy) in the finest Laplacian band: what halving the resolution loses."""
    change = torch.from_numpy((after - before).astype(np.float32)).permute(2, 0, 1)[None]
    coarse = F.interpolate(F.avg_pool2d(change, 2, ceil_mode=True), size=change.shape[-2:], mode="bilinear",
                           align_corners=False)
    return float((change - coarse).square().sum() / change.square().sum())


@pytest.mark.parametrize("preset", ["low", "mid", "high", "keras"])
@pytest.mark.parametrize("name", ["chelsea", "coffee"])
def test_every_preset_is_visible_and_clips_almost_nothing(name, preset):
    before, after = dreamed(name, preset)
    assert np.abs(after - before).mean() >= 6, "a dream must be seen"
    assert newly_clipped_percent(before, after) <= 1.0, "no confetti of saturated pixels"


def test_low_layers_give_finer_geometric_detail_than_high_layers():
    for name in ("chelsea", "coffee"):
        low, high = finest_band_share(*dreamed(name, "low")), finest_band_share(*dreamed(name, "high"))
        assert low > 1.2 * high, (name, low, high)


def test_the_raw_keras_recipe_is_still_there_and_clips_where_the_smoothed_gradient_does_not():
    raw = newly_clipped_percent(*dreamed("coffee", "low", gradient="raw"))
    smoothed = newly_clipped_percent(*dreamed("coffee", "low"))
    assert raw > 3 * max(smoothed, 0.3)
    assert DreamSettings.keras_recipe().gradient == "raw" and DreamSettings.keras_recipe().layer_balance == "raw"


def test_a_trained_file_missing_a_block_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    from genmods.vision.backbones import load_backbone

    state = load_file(WEIGHTS)
    save_file({k: v for k, v in state.items() if not k.startswith("Mixed_6e.")}, tmp_path / "inception_v3.safetensors")
    with pytest.raises(ValueError, match=r"missing Mixed_6e \(\d+ tensors\)"):
        load_backbone("inception_v3", weights_file=str(tmp_path / "inception_v3.safetensors"))
