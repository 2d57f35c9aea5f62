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
    monkeypatch.setattr(backbones, "_download_failures", {})
    monkeypatch.setattr(backbones, "_loaded", {})
    monkeypatch.setattr(backbones, "_extractors", backbones.OrderedDict())
    monkeypatch.setattr(backbones, "_hub_reachable", lambda timeout: Hub.reachable)
    monkeypatch.setattr(backbones, "HUB_PROBE", backbones.HubProbe(timeout=1.0))
    return Hub


def _probe_again_now():
    """As if the retry interval had passed since the last probe; waits for the new background probe."""
    backbones.HUB_PROBE.forget()
    backbones.HUB_PROBE.start()
    backbones.HUB_PROBE._running.join(5)


def test_a_failed_download_falls_back_for_that_request_and_is_retried_after_the_interval(hub, monkeypatch):
    model, info = backbones.load_backbone("vgg16")
    assert hub.attempts == 1 and not info.pretrained and "could not be downloaded" in info.warning
    assert not hasattr(model, "downloaded")

    # within the interval: random weights again, without another attempt (an offline machine pays no timeout)
    _, info = backbones.load_backbone("vgg16")
    assert hub.attempts == 1 and not info.pretrained and "trying again in" in info.source

    # after the interval the Hub is tried again; this time it answers, and the success is kept
    hub.down = False
    failed_at, reason = backbones._download_failures["vgg16"]
    backbones._download_failures["vgg16"] = (failed_at - 61, reason)
    model, info = backbones.load_backbone("vgg16")
    assert hub.attempts == 2 and info.pretrained and info.warning is None and model.downloaded
    assert backbones.load_backbone("vgg16")[0] is model and hub.attempts == 2


def test_extractors_switch_to_the_pretrained_backbone_once_it_loads(hub):
    fallback = backbones.feature_extractor("vgg16", ("conv1_1",))
    assert not fallback.weights.pretrained
    hub.down = False
    backbones._download_failures.clear()
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
    for name in ("vgg16", "vgg19.tv_in1k", "resnet50"):  # ("vgg19" is trained from a package: no Hub)
        _, info = backbones.load_backbone(name)
        assert not info.pretrained and "cannot be reached" in info.warning and "trying again in" in info.warning
    assert hub.attempts == 0  # no backbone spent a download's retries finding out
    hub.reachable, hub.down = True, False
    _probe_again_now()  # the background probe, once the retry interval has passed
    _, info = backbones.load_backbone("vgg16")
    assert info.pretrained and hub.attempts == 1


def test_a_hanging_hub_delays_a_job_by_the_probe_timeout_at_most(hub, monkeypatch):
    import time

    def hang(timeout):
        time.sleep(30)  # a Hub that neither answers nor refuses, whatever the timeout asked for
        return True

    monkeypatch.setattr(backbones, "_hub_reachable", hang)
    for name in ("vgg16", "vgg19.tv_in1k"):  # their random fallbacks built beforehand: only the waits are timed
        backbones._random_backbone(name)
    started = time.monotonic()
    _, info = backbones.load_backbone("vgg16")
    first = time.monotonic() - started
    assert first < backbones.HUB_PROBE.timeout + 0.5 and "has not answered yet" in info.warning
    started = time.monotonic()
    _, info = backbones.load_backbone("vgg19.tv_in1k")  # the probe is still hanging: no second wait
    assert time.monotonic() - started < 0.3 and not info.pretrained
    assert hub.attempts == 0


def test_no_download_is_attempted_while_the_last_probe_failed_and_the_probe_runs_off_the_request_path(hub):
    hub.reachable = False
    backbones.HUB_PROBE.start()
    backbones.HUB_PROBE._running.join(5)
    hub.reachable = True  # the Hub comes back, but nobody has probed since
    for _ in range(3):
        _, info = backbones.load_backbone("vgg16")
        assert not info.pretrained
    assert hub.attempts == 0


def test_a_weights_file_must_hold_the_whole_backbone(tmp_path):
    import torch
    from safetensors.torch import save_file

    model = timm.create_model("vgg16", pretrained=False)
    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    save_file({"unrelated.weight": torch.zeros(3)}, tmp_path / "unrelated.safetensors")
    with pytest.raises(ValueError, match=r"holds 0 of the 26 tensors .*missing features \(26 tensors\)"):
        backbones.load_backbone("vgg16", weights_file=str(tmp_path / "unrelated.safetensors"))
    save_file({k: v for k, v in state.items() if not k.startswith("features.28")}, tmp_path / "partial.safetensors")
    with pytest.raises(ValueError, match="holds 24 of the 26 tensors"):
        backbones.load_backbone("vgg16", weights_file=str(tmp_path / "partial.safetensors"))
    (tmp_path / "text.safetensors").write_text("not weights")
    with pytest.raises(ValueError, match="not a weights file"):
        backbones.load_backbone("vgg16", weights_file=str(tmp_path / "text.safetensors"))
    # without the classifier (head and fc6/fc7) a checkpoint is complete: DeepDream and style never run it
    save_file({k: v for k, v in state.items() if k.startswith("features.")}, tmp_path / "features.safetensors")
    loaded, info = backbones.load_backbone("vgg16", weights_file=str(tmp_path / "features.safetensors"))
    assert info.pretrained and torch.equal(loaded.features[28].weight, state["features.28.weight"])


def test_one_backbones_slow_download_does_not_hold_up_another(hub, monkeypatch):
    import threading
    import time

    hub.down = False
    slow_started, release = threading.Event(), threading.Event()
    create = backbones.timm.create_model

    def create_model(name, pretrained=False, **kwargs):
        if pretrained and name == "vgg16":  # this download hangs until released
            slow_started.set()
            release.wait(10)
        return create(name, pretrained=pretrained, **kwargs)

    monkeypatch.setattr(backbones.timm, "create_model", create_model)
    loading = threading.Thread(target=backbones.load_backbone, args=("vgg16",))
    loading.start()
    assert slow_started.wait(5)
    started = time.monotonic()
    _, info = backbones.load_backbone("resnet50")  # another backbone, while vgg16 is still downloading
    assert info.pretrained and time.monotonic() - started < 5
    release.set()
    loading.join()


@pytest.mark.parametrize("name, nodes", [("inception_v3", ("Mixed_5b", "Mixed_6a")), ("resnet50", ("layer1", "layer2"))])
def test_folding_the_batch_norms_changes_no_activation(name, nodes):
    import torch
    from timm.layers import create_feature_extractor

    model = timm.create_model(name, pretrained=False).eval()
    with torch.no_grad():  # statistics a trained network could have, so the fold has something to fold
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5), module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5), module.bias.uniform_(-0.2, 0.2)
    return_nodes = {node: node for node in nodes}
    plain = create_feature_extractor(model, return_nodes=return_nodes).eval()
    folded = backbones.fold_batch_norms(create_feature_extractor(model, return_nodes=return_nodes).eval())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) > 10  # the backbone itself is untouched
    x = torch.rand(1, 3, 160, 160)
    with torch.no_grad():
        expected, got = plain(x), folded(x)
    for node in nodes:
        assert torch.allclose(got[node], expected[node], rtol=1e-4, atol=1e-4 * expected[node].abs().max().item())
