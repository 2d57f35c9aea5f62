"""Loading backbone weights: a failed Hub download is not remembered for the life of the process."""

import pytest
import timm

from genmods.vision import backbones


@pytest.fixture
def hub(monkeypatch):
    """timm's Hub download, simulated: fails while `hub.down`, otherwise returns a model marked as downloaded."""

    class Hub:
        down = True  # downloads fail
        reachable = True  # the quick reachability check answers
        attempts = 0

    real_create = timm.create_model

    def create_model(name, pretrained=False, **kwargs):
        if not pretrained:
            return real_create(name, pretrained=False, **kwargs)
        Hub.attempts += 1
        if Hub.down:
            raise OSError("simulated: cannot reach the Hub")
        model = real_create(name, pretrained=False, **kwargs)
        model.downloaded = True
        return model

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv(backbones.HUB_RETRY_ENV, "60")
    monkeypatch.setattr(backbones.timm, "create_model", create_model)
    monkeypatch.setattr(backbones, "_hub_failures", {})
    monkeypatch.setattr(backbones, "_loaded", {})
    monkeypatch.setattr(backbones, "_extractors", backbones.OrderedDict())
    monkeypatch.setattr(backbones, "_hub_reachable", lambda: Hub.reachable)
    return Hub


def test_a_failed_download_falls_back_for_that_request_and_is_retried_after_the_interval(hub, monkeypatch):
    model, info = backbones.load_backbone("vgg16")
    assert hub.attempts == 1 and not info.pretrained and "could not be downloaded" in info.warning
    assert not hasattr(model, "downloaded")

    # within the interval: random weights again, without another attempt (an offline machine pays no timeout)
    _, info = backbones.load_backbone("vgg16")
    assert hub.attempts == 1 and not info.pretrained and "trying again in" in info.source

    # after the interval the Hub is tried again; this time it answers, and the success is kept
    hub.down = False
    failed_at, reason = backbones._hub_failures["vgg16"]
    backbones._hub_failures["vgg16"] = (failed_at - 61, reason)
    model, info = backbones.load_backbone("vgg16")
    assert hub.attempts == 2 and info.pretrained and info.warning is None and model.downloaded
    assert backbones.load_backbone("vgg16")[0] is model and hub.attempts == 2


def test_extractors_switch_to_the_pretrained_backbone_once_it_loads(hub):
    fallback = backbones.feature_extractor("vgg16", ("conv1_1",))
    assert not fallback.weights.pretrained
    hub.down = False
    backbones._hub_failures.clear()
    loaded = backbones.feature_extractor("vgg16", ("conv1_1",))
    assert loaded.weights.pretrained and loaded is not fallback
    assert backbones.feature_extractor("vgg16", ("conv1_1",)) is loaded


def test_hf_hub_offline_means_no_attempt(hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, info = backbones.load_backbone("resnet50")
    assert hub.attempts == 0 and not info.pretrained and "HF_HUB_OFFLINE" in info.warning


def test_the_extractor_takes_pixels_and_normalises_inside():
    import torch

    extractor = backbones.feature_extractor("vgg16", ("conv1_1",), pretrained=False, precision="fp32")
    pixels = torch.rand(1, 3, 40, 40)
    model, _ = backbones.load_backbone("vgg16", pretrained=False)
    mean, std = (torch.tensor(model.pretrained_cfg[k]).view(1, 3, 1, 1) for k in ("mean", "std"))
    with torch.no_grad():
        expected = model.features[:2]((pixels - mean) / std)
        assert torch.allclose(extractor(pixels)["conv1_1"], expected, atol=1e-5)


def test_an_unreachable_hub_is_learnt_once_for_every_backbone(hub):
    hub.reachable = False
    for name in ("vgg16", "vgg19", "resnet50"):
        _, info = backbones.load_backbone(name)
        assert not info.pretrained and "cannot be reached" in info.warning
    assert hub.attempts == 0  # no backbone spent a download's retries finding out
    hub.reachable, hub.down = True, False
    failed_at, reason = backbones._hub_failures[backbones.HUB]
    backbones._hub_failures[backbones.HUB] = (failed_at - 61, reason)
    _, info = backbones.load_backbone("vgg16")
    assert info.pretrained and hub.attempts == 1 and backbones.HUB not in backbones._hub_failures
