"""DeepDream with random weights on small images: the algorithm's maths, not the pictures."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from genmods.dream import (
    PRESET_NAMES, PRESETS, deep_dream, dream_loss, dream_zoom, octave_shapes, reinject_detail, resize,
    save_animation,
)
from genmods.dream import (
    gradient_ascent_step, objective_gradient, parse_layer_weights, resolve_layers, uses_relative_layers,
)
from genmods.vision.backbones import SUPPORTED_BACKBONES, feature_extractor

from .conftest import REPO


@pytest.fixture(scope="module")
def photo():
    import skimage.data

    return Image.fromarray(skimage.data.chelsea()).resize((96, 72))


FAST = dict(backbone="vgg19", layers={"conv2_1": 1.0, "conv3_1": 0.5}, pretrained=False)


def test_octave_shapes_follow_the_lectures_rule():
    assert octave_shapes((384, 512), 3, 1.4) == [(195, 261), (274, 365), (384, 512)]
    shapes = octave_shapes((1000, 700), 5, 1.4)
    assert shapes[-1] == (1000, 700)
    for small, large in zip(shapes, shapes[1:]):
        assert abs(large[0] / small[0] - 1.4) < 0.02 and abs(large[1] / small[1] - 1.4) < 0.02
    with pytest.raises(ValueError):
        octave_shapes((100, 100), 0, 1.4)


def test_detail_reinjection_adds_exactly_the_lost_detail():
    torch.manual_seed(0)
    original = torch.rand(1, 3, 50, 70)
    small, large = (25, 35), (50, 70)
    dream_small = resize(original, small) + 0.1 * torch.rand(1, 3, *small)  # some dreamed change
    result = reinject_detail(dream_small, original, small, large)
    lost = original - resize(resize(original, small), large)
    assert torch.allclose(result, resize(dream_small, large) + lost, atol=1e-6)
    # with no dreaming at all, upscale + re-injection gives back the original exactly
    assert torch.allclose(reinject_detail(resize(original, small), original, small, large), original, atol=1e-5)


def test_no_ascent_returns_the_original_image(photo):
    result = deep_dream(photo, iterations=0, octaves=3, **FAST)
    assert result.image.size == photo.size
    assert np.abs(np.asarray(result.image, np.int16) - np.asarray(photo, np.int16)).max() <= 1


def test_objective_rises_during_ascent(photo):
    result = deep_dream(photo, octaves=2, iterations=6, step=0.02, **FAST)
    for octave in result.losses:
        assert octave[-1] > octave[0]
    assert len(result.losses) == 2 and result.octave_shapes[-1] == (72, 96)
    assert not result.weights.pretrained and "pretrained=False" in result.weights.source


def test_loss_is_the_keras_recipes_weighted_sum_of_squares_without_the_border():
    activation = torch.zeros(1, 2, 8, 8)
    activation[..., 2:-2, 2:-2] = 3.0
    activation[..., 0, :] = 100.0  # border: ignored
    # keras-io: sum of squares inside the border, divided by the size of the whole activation
    per_layer = 9.0 * 2 * 4 * 4 / (2 * 8 * 8)
    assert dream_loss({"a": activation, "b": activation}, {"a": 1.0, "b": 2.5}).item() == pytest.approx(3.5 * per_layer)
    scales = {"a": torch.tensor(per_layer), "b": torch.tensor(per_layer / 10)}
    assert dream_loss({"a": activation, "b": activation}, {"a": 1.0, "b": 2.5},
                      layer_scales=scales).item() == pytest.approx(1.0 + 25.0)


class PointwiseExtractor(torch.nn.Module):
    """activation = the image itself: the gradient at a pixel depends only on that pixel."""

    min_side = 1

    def forward(self, x):
        return {"x": x}


def test_jitter_is_undone():
    torch.manual_seed(0)
    x = 0.25 + 0.5 * torch.rand(1, 3, 24, 24)  # pixels away from 0 and 1: no step is cut by the valid range
    plain_loss, plain = gradient_ascent_step(PointwiseExtractor(), x, {"x": 1.0}, 0.1)
    generator = torch.Generator().manual_seed(5)
    _, jittered = gradient_ascent_step(PointwiseExtractor(), x, {"x": 1.0}, 0.1, jitter=4, generator=generator)
    # away from the 2-pixel loss border (which moves with the roll), each pixel moved by its own gradient
    inner = (..., slice(6, -6), slice(6, -6))
    plain_step, jittered_step = (plain - x)[inner], (jittered - x)[inner]

    def correlation(a, b):
        return torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1]

    assert correlation(plain_step, jittered_step) > 0.999
    # a roll that was not undone would move each pixel along a neighbour's gradient
    shifted = torch.roll(plain - x, shifts=(3, 2), dims=(-2, -1))[inner]
    assert correlation(shifted, jittered_step) < 0.5


def test_tiled_gradients_match_untiled(photo):
    extractor = feature_extractor("vgg19", ("conv1_2",), pretrained=False)
    x = extractor.to_pixels(photo)
    loss, untiled = objective_gradient(extractor, x, {"conv1_2": 1.0})
    big_loss, one_tile = objective_gradient(extractor, x, {"conv1_2": 1.0}, tile_size=128)
    assert torch.equal(one_tile, untiled) and big_loss == loss
    seen = []
    hook = extractor.graph.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    try:
        _, tiled = objective_gradient(extractor, x, {"conv1_2": 1.0}, tile_size=40)
    finally:
        hook.remove()
    # bounded memory: no tile beyond tile_size plus a remainder too small to stand alone (< min_side)
    assert len(seen) == 4 and all(h < 40 + extractor.min_side and w < 40 + extractor.min_side for h, w in seen)
    cosine = torch.nn.functional.cosine_similarity(tiled.flatten(), untiled.flatten(), dim=0)
    assert cosine > 0.9


def test_tiled_dream_runs_at_full_size(photo):
    result = deep_dream(photo, octaves=2, iterations=3, tile_size=48, jitter=8, **FAST)
    assert result.image.size == photo.size and result.losses[-1][-1] > 0


@pytest.mark.parametrize("backbone", SUPPORTED_BACKBONES)
def test_presets_resolve_to_existing_layers(backbone):
    assert set(PRESETS[backbone]) == set(PRESET_NAMES)
    for preset, layers in PRESETS[backbone].items():
        extractor = feature_extractor(backbone, tuple(layers), pretrained=False)
        side = max(extractor.min_side, 80)
        with torch.no_grad():
            activations = extractor(torch.zeros(1, 3, side, side))
        assert set(activations) == set(layers), (backbone, preset)
        assert all(a.ndim == 4 and a.shape[-1] >= 1 for a in activations.values())


def test_extractor_is_truncated_after_the_deepest_layer():
    extractor = feature_extractor("inception_v3", ("Mixed_6b",), pretrained=False)
    modules = {name for name, _ in extractor.graph.named_children()}
    assert "Mixed_6b" in modules and "Mixed_6c" not in modules and "fc" not in modules
    vgg = feature_extractor("vgg19", ("conv4_2",), pretrained=False)
    kept = sorted(int(name) for name, _ in vgg.graph.features.named_children())
    assert kept[-1] == 22  # up to features.22 (relu4_2); nothing after it


def test_unknown_layer_and_preset_are_clear_errors(photo):
    with pytest.raises(ValueError, match="has no layer 'conv9_9'"):
        deep_dream(photo, backbone="vgg19", layers={"conv9_9": 1.0}, pretrained=False, iterations=1)
    with pytest.raises(ValueError, match="Unknown preset"):
        deep_dream(photo, backbone="vgg19", layers="psychedelic", pretrained=False)


def test_deterministic_for_a_seed(photo):
    kwargs = dict(octaves=2, iterations=3, jitter=6, **FAST)
    first, second = deep_dream(photo, seed=3, **kwargs), deep_dream(photo, seed=3, **kwargs)
    other = deep_dream(photo, seed=4, **kwargs)
    assert np.array_equal(np.asarray(first.image), np.asarray(second.image))
    assert not np.array_equal(np.asarray(first.image), np.asarray(other.image))


def test_callback_reports_every_step_and_streams_images(photo):
    updates = []
    deep_dream(photo, octaves=2, iterations=4, callback=updates.append, preview_every=3, **FAST)
    assert [u.step for u in updates] == list(range(1, 9))
    assert all(u.total_steps == 8 for u in updates) and [u.octave for u in updates] == [1] * 4 + [2] * 4
    with_images = [u.step for u in updates if u.image is not None]
    assert with_images == [1, 3, 4, 6, 8]  # the first step, every 3 steps, and the end of each octave


def test_max_loss_stops_an_octave_early(photo):
    full = deep_dream(photo, octaves=1, iterations=8, **FAST)
    threshold = (full.losses[0][1] + full.losses[0][2]) / 2
    stopped = deep_dream(photo, octaves=1, iterations=8, max_loss=threshold, **FAST)
    assert stopped.stopped_early and len(stopped.losses[0]) == 3


def test_guided_dream_pulls_towards_the_guide(photo):
    import skimage.data

    guide = Image.fromarray(skimage.data.coffee()).resize((80, 60))
    guided = deep_dream(photo, octaves=1, iterations=5, guide=guide, **FAST)
    plain = deep_dream(photo, octaves=1, iterations=5, **FAST)
    assert guided.losses[0][-1] > guided.losses[0][0]
    assert not np.array_equal(np.asarray(guided.image), np.asarray(plain.image))


def test_small_images_skip_octaves_or_fail_clearly(photo):
    small = photo.resize((120, 110))  # octaves: 110 px, 78 px, 56 px (< 75)
    result = deep_dream(small, backbone="inception_v3", layers="low", octaves=3, iterations=1, pretrained=False)
    assert len(result.octave_shapes) == 2 and "skipped" in result.notes[0]
    with pytest.raises(ValueError, match="at least 75 px"):
        deep_dream(photo.resize((60, 50)), backbone="inception_v3", iterations=1, pretrained=False)


def test_dream_zoom_frames_export_as_gif_and_mp4(photo, tmp_path):
    frames = dream_zoom(photo, frames=3, zoom_factor=1.1, octaves=1, iterations=2, **FAST)
    assert len(frames) == 3 and all(f.size == photo.size for f in frames)
    gif = Image.open(save_animation(frames, tmp_path / "zoom.gif"))
    assert gif.n_frames == 3
    mp4 = tmp_path / "zoom.mp4"
    save_animation(frames, mp4)
    assert mp4.stat().st_size > 1000


def test_command_line(photo, tmp_path):
    source, target = tmp_path / "cat.png", tmp_path / "dream.png"
    photo.save(source)
    env = {"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "genmods.dream", str(source), str(target), "--backbone", "vgg19",
                          "--layers", "conv2_1=1,conv3_1=0.5", "--octaves", "2", "--iterations", "2", "--no-pretrained"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert Image.open(target).size == photo.size and "Random weights" in run.stdout
    assert "estimate: about" in run.stdout.split("wrote")[0]  # said before the run, as the app says it
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    run = subprocess.run([sys.executable, "-m", "genmods.dream", str(bad), str(target), "--no-pretrained"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode != 0 and "not an image" in run.stderr


def test_local_weights_file_is_loaded_and_extractors_are_cached(tmp_path):
    import timm
    from safetensors.torch import save_file

    from genmods.vision.backbones import load_backbone

    torch.manual_seed(123)
    trained = timm.create_model("vgg16", pretrained=False)
    path = tmp_path / "vgg16.safetensors"
    save_file(trained.state_dict(), str(path))
    model, info = load_backbone("vgg16", weights_file=str(path))
    assert info.pretrained and "vgg16.safetensors" in info.source and info.warning is None
    assert torch.equal(model.features[0].weight.cpu(), trained.features[0].weight)
    first = feature_extractor("vgg16", ("conv1_1",), pretrained=False)
    assert feature_extractor("vgg16", ("conv1_1",), pretrained=False) is first  # no reload for a second request
    with pytest.raises(FileNotFoundError):
        load_backbone("vgg16", weights_file=str(tmp_path / "missing.safetensors"))


@pytest.mark.parametrize("bad", ["Mixed_6b=nan", "Mixed_6b=inf", "Mixed_6b=-inf", "Mixed_6b=abc", "=1"])
def test_layer_weights_must_be_finite_numbers(bad):
    with pytest.raises(ValueError, match="LAYER=WEIGHT"):
        parse_layer_weights(bad)


def test_non_finite_layer_weights_are_refused_from_python(photo):
    for weight in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            deep_dream(photo, backbone="vgg19", layers={"conv2_1": weight}, pretrained=False, iterations=1)


def test_one_default_step_moves_pixels_equally_on_every_backbone(photo):
    """`step` is in pixel units: 0.01 in [-1, 1] units = 1.275 grey levels per pixel on average."""
    x = feature_extractor("vgg19", ("conv1_1",), pretrained=False).to_pixels(photo.resize((128, 96)))
    moved = {}
    for backbone in SUPPORTED_BACKBONES:
        layers = resolve_layers(backbone, "keras")
        extractor = feature_extractor(backbone, tuple(layers), pretrained=False)
        _, after = gradient_ascent_step(extractor, x, layers, 0.01)
        moved[backbone] = (after - x).abs().mean().item() * 255
    for backbone, grey_levels in moved.items():
        assert grey_levels == pytest.approx(0.01 * 127.5, rel=0.1), moved


def test_relative_layer_balance_makes_weights_shares_whatever_the_layers_scale(photo):
    assert not uses_relative_layers("inception_v3", "keras", "auto")  # the lecture's recipe stays exactly as written
    assert uses_relative_layers("vgg19", "keras", "auto") and uses_relative_layers("inception_v3", "high", "auto")
    result = deep_dream(photo, octaves=2, iterations=3, layer_balance="relative", **FAST)
    for octave in result.losses:  # each octave starts at the sum of the weights (1 + 0.5)
        assert octave[0] == pytest.approx(1.5, rel=1e-3)
    raw = deep_dream(photo, octaves=1, iterations=1, layer_balance="raw", **FAST)
    assert raw.losses[0][0] != pytest.approx(1.5, rel=0.1)


def test_dream_settings_are_checked_when_made_and_the_tab_builds_them(photo):
    from genmods.dream import DreamSettings
    from genmods.studio.dream_tab import dream_settings

    with pytest.raises(ValueError, match="step must be a positive number"):
        DreamSettings(step=0)
    with pytest.raises(ValueError, match="Unknown preset"):
        DreamSettings(layers="deepest")
    with pytest.raises(TypeError, match="unknown dream setting.*octave"):
        deep_dream(photo, pretrained=False, octave=2)
    settings = dream_settings("vgg19", "custom", "conv4_2=2", 2, 1.4, 3, 0.02, 4, 0, 9, 128)
    assert settings.layer_weights == {"conv4_2": 2.0} and settings.relative and settings.seed == 9
    assert settings.tile_size is None and settings.with_options(tile_size=64).tile_size == 64
