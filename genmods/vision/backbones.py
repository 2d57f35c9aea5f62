"""One place that turns a timm backbone name + layer names into a frozen, truncated feature extractor.

    extractor = feature_extractor("vgg19", ["conv1_1", "conv4_2"], pretrained=True)
    activations = extractor(extractor.to_pixels(image))   # {"conv1_1": tensor, "conv4_2": tensor}

The extractor takes pixels in [0, 1] and normalises them with the backbone's own mean and std inside
`forward`, so callers optimise images in pixel units whatever the backbone (a change of 0.01 in these
units is 2.55 grey levels on every network, and the valid range is always [0, 1]).

Layers are tapped by name through timm's FX `create_feature_extractor` (`features_only` stops at stage
outputs and cannot reach e.g. VGG's conv4_2 or Inception's Mixed_6b…6e); the traced graph keeps only
the nodes the requested outputs depend on, so nothing after the deepest requested layer is computed.
Friendly aliases (VGG's conv4_2, Keras' mixed4) map onto timm's node names; any node name that
`get_graph_node_names` lists is accepted too.
"""

import copy
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import timm
import torch
from PIL import Image
from timm.data import resolve_model_data_config
from timm.layers import create_feature_extractor, get_graph_node_names
from torch import nn

from ..device import default_device
from ..tracing import MODEL_CALLS

logger = logging.getLogger(__name__)

SUPPORTED_BACKBONES = ("inception_v3", "vgg16", "vgg19", "resnet50")
WEIGHTS_DIR_ENV = "GENMODS_WEIGHTS_DIR"  # a folder of <backbone>.safetensors / .pth files, for offline use
HUB_RETRY_ENV = "GENMODS_HUB_RETRY_SECONDS"  # after a failed Hub download, wait this long before trying again
DEFAULT_HUB_RETRY_SECONDS = 60.0


def _vgg_aliases(blocks: tuple[int, ...]) -> dict[str, str]:
    """conv{b}_{i} → the ReLU after that convolution in timm's `features` (what Gatys et al. call conv4_2),
    pool{b} → the pooling layer closing block b."""
    aliases, index = {}, 0
    for block, convs in enumerate(blocks, start=1):
        for conv in range(1, convs + 1):
            aliases[f"conv{block}_{conv}"] = f"features.{index + 1}"
            index += 2
        aliases[f"pool{block}"] = f"features.{index}"
        index += 1
    return aliases


# Keras' InceptionV3 names (used by the lecture's DeepDream recipe) for timm's modules
_INCEPTION_ALIASES = {f"mixed{i}": name for i, name in enumerate(
    ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
     "Mixed_7a", "Mixed_7b", "Mixed_7c"])}

LAYER_ALIASES = {
    "vgg16": _vgg_aliases((2, 2, 3, 3, 3)),
    "vgg19": _vgg_aliases((2, 2, 4, 4, 4)),
    "inception_v3": _INCEPTION_ALIASES,
    # stages and their bottleneck blocks (timm module names, listed so menus can offer them)
    "resnet50": {name: name for stage, blocks in enumerate((3, 4, 6, 3), start=1)
                 for name in [f"layer{stage}"] + [f"layer{stage}.{block}" for block in range(blocks)]},
}

# The smallest input side for which every layer we offer still has a spatial map of at least 1×1.
MIN_INPUT_SIDE = {"inception_v3": 75, "vgg16": 32, "vgg19": 32, "resnet50": 32}


@dataclass(frozen=True)
class WeightsInfo:
    pretrained: bool
    source: str  # where the weights came from, or why they are random

    @property
    def warning(self) -> str | None:
        if self.pretrained:
            return None
        return f"Random weights: {self.source}. Results show the algorithm, not what a trained network sees."


def _weights_file_for(name: str, weights_file: str | None) -> str | None:
    if weights_file:
        return weights_file
    folder = os.environ.get(WEIGHTS_DIR_ENV)
    if folder:
        for suffix in (".safetensors", ".pth", ".bin"):
            candidate = Path(folder) / f"{name}{suffix}"
            if candidate.exists():
                return str(candidate)
    return None


def hub_offline() -> bool:
    """HF_HUB_OFFLINE=1 (read now, not at import): no download is attempted at all."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def hub_retry_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(HUB_RETRY_ENV, DEFAULT_HUB_RETRY_SECONDS)))
    except ValueError:
        return DEFAULT_HUB_RETRY_SECONDS


def _prepared(model: nn.Module) -> nn.Module:
    for module in model.modules():  # in-place activations would overwrite tapped tensors
        if hasattr(module, "inplace"):
            module.inplace = False
    model.eval().requires_grad_(False)
    return model.to(default_device())


@lru_cache(maxsize=8)
def _random_backbone(name: str) -> nn.Module:
    with torch.random.fork_rng(devices=[]):  # the same random weights in every process
        torch.manual_seed(0)
        return _prepared(timm.create_model(name, pretrained=False))


# Only successful loads are remembered. A failed Hub download is remembered just long enough to not
# retry it on every request (GENMODS_HUB_RETRY_SECONDS): one failure at start-up must not leave a public
# Space on random weights until it restarts.
_loaded: dict[tuple, tuple[nn.Module, "WeightsInfo"]] = {}
_hub_failures: dict[str, tuple[float, str]] = {}  # backbone → (time.monotonic() of the failure, reason)
_loading = threading.Lock()


HUB = "*"  # the key of a failure of the Hub itself, shared by every backbone


def _hub_reachable(timeout: float = 3.0) -> bool:
    """One quick request to the Hub, so that an offline machine learns it once, in seconds, instead of each
    backbone's download retrying for about a minute under a bare spinner."""
    import httpx
    from huggingface_hub import constants

    try:
        httpx.head(constants.ENDPOINT, timeout=timeout, follow_redirects=True)
        return True
    except httpx.HTTPError:
        return False


def load_backbone(name: str, pretrained: bool = True, weights_file: str | None = None) -> tuple[nn.Module, WeightsInfo]:
    """A timm classifier in eval mode, frozen, on the default device, with where its weights came from.

    pretrained=True: a local file (`weights_file` or GENMODS_WEIGHTS_DIR), else the Hub through timm; if
    the Hub fails, random weights with a warning for this request, and the Hub is tried again on a request
    at least GENMODS_HUB_RETRY_SECONDS later. pretrained=False: random weights (what tests use).
    """
    if name not in SUPPORTED_BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {', '.join(SUPPORTED_BACKBONES)}.")
    if not pretrained:
        return _random_backbone(name), WeightsInfo(False, "pretrained=False was asked for")
    local = _weights_file_for(name, weights_file)
    if local and not Path(local).exists():
        raise FileNotFoundError(f"weights file not found: {local}")
    key = (name, local)
    with _loading:  # one download per backbone, even when requests arrive together
        if key in _loaded:
            return _loaded[key]
        if local:
            model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=local))
            _loaded[key] = _prepared(model), WeightsInfo(True, f"pretrained weights from {Path(local).name}")
            return _loaded[key]
        if hub_offline():
            return _random_backbone(name), WeightsInfo(False, f"`HF_HUB_OFFLINE` is set, so the pretrained {name} "
                                                              "weights were not downloaded")
        failed = _hub_failures.get(name) or _hub_failures.get(HUB)
        if failed is None and not _hub_reachable():
            failed = _hub_failures[HUB] = (time.monotonic(), "the Hugging Face Hub cannot be reached from this machine")
            logger.warning("%s; every backbone uses random weights for %.0f s", failed[1], hub_retry_seconds())
        if failed is not None and time.monotonic() - failed[0] < hub_retry_seconds():
            wait = hub_retry_seconds() - (time.monotonic() - failed[0])
            return _random_backbone(name), WeightsInfo(False, f"{failed[1]}; trying again in {wait:.0f} s")
        try:
            model = timm.create_model(name, pretrained=True)
        except Exception as error:  # offline, Hub down, no disk space: fall back for this request, visibly
            reason = f"the pretrained {name} weights could not be downloaded ({type(error).__name__})"
            logger.warning("%s: %s; using random weights", reason, error)
            _hub_failures[name] = (time.monotonic(), reason)
            return _random_backbone(name), WeightsInfo(False, reason)
        _hub_failures.pop(name, None)
        _hub_failures.pop(HUB, None)
        cfg = model.pretrained_cfg
        info = WeightsInfo(True, f"pretrained ImageNet weights ({cfg.get('hf_hub_id') or cfg.get('url')})")
        _loaded[key] = _prepared(model), info
        return _loaded[key]


def resolve_layer(name: str, layer: str, node_names: list[str]) -> str:
    node = LAYER_ALIASES.get(name, {}).get(layer, layer)
    # a module's name stands for its output (the last node inside it)
    if node not in node_names and not any(n.startswith(node + ".") for n in node_names):
        known = sorted(LAYER_ALIASES.get(name, {}))
        hint = f" Named layers: {', '.join(known)}." if known else ""
        raise ValueError(f"{name} has no layer {layer!r}.{hint} (any FX node name of the model works too)")
    return node


def fast_bf16_available(device: torch.device) -> bool:
    """bf16 autocast pays off on GPUs that support it and on CPUs with native bf16 (AVX512-BF16/AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            flags = Path("/proc/cpuinfo").read_text().split()
        except OSError:
            return False
        return "avx512_bf16" in flags or "amx_bf16" in flags
    return False


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """"auto" → bf16 where it is fast, else fp32; "bf16" / "fp32" as asked. None means fp32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "auto":
        return torch.bfloat16 if fast_bf16_available(device) else None
    raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', not {precision!r}")


class FeatureExtractor(nn.Module):
    """Frozen, truncated backbone: pixels (B, 3, H, W) in [0, 1] → {layer name: activation (float32)}.

    The backbone's normalisation (mean and std from its `pretrained_cfg`) happens inside `forward`, so
    gradients come back in pixel units.

    The network runs in channels-last memory format and, where it is fast, under bf16 autocast
    (about 2-3× faster on this project's AVX512-BF16 CPUs); the activations come back as float32, so
    losses and Gram matrices are computed in full precision and gradients flow back to an fp32 image.
    """

    def __init__(self, name: str, layers: tuple[str, ...], graph: nn.Module, nodes: dict[str, str],
                 mean: tuple, std: tuple, weights: WeightsInfo, min_side: int, autocast_dtype: torch.dtype | None):
        super().__init__()
        self.name, self.layers, self.graph, self.nodes = name, layers, graph, nodes
        self.weights, self.min_side, self.autocast_dtype = weights, min_side, autocast_dtype
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor, full_precision: bool = False) -> dict[str, torch.Tensor]:
        """full_precision=True runs this call in fp32 whatever the extractor's precision."""
        x = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        use_autocast = self.autocast_dtype is not None and not full_precision
        with torch.autocast(x.device.type, dtype=self.autocast_dtype or torch.float32, enabled=use_autocast):
            out = self.graph(x)
        return {layer: out[node].float() for layer, node in self.nodes.items()}

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def to_pixels(self, image: Image.Image) -> torch.Tensor:
        """PIL image → (1, 3, H, W) RGB pixels in [0, 1] on the extractor's device."""
        array = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0)
        return array.permute(2, 0, 1).unsqueeze(0).to(self.device).contiguous()

    @staticmethod
    def to_image(pixels: torch.Tensor) -> Image.Image:
        """(1, 3, H, W) pixels → 8-bit PIL image (values outside [0, 1] clipped)."""
        array = pixels.detach()[0].clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()
        return Image.fromarray((array * 255).round().astype(np.uint8))


def _with_average_pooling(model: nn.Module) -> nn.Module:
    """Gatys et al. report smoother results with average instead of max pooling."""
    model = copy.deepcopy(model)
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.MaxPool2d):
                setattr(parent, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding, child.ceil_mode))
    return model


_extractors: OrderedDict = OrderedDict()  # (id of the backbone, layers, pooling, precision) → extractor
_MAX_EXTRACTORS = 32


def _build_extractor(name: str, model: nn.Module, layers: tuple[str, ...], pooling: str, precision: str,
                     weights: WeightsInfo) -> FeatureExtractor:
    if pooling == "avg":
        model = _with_average_pooling(model)
    elif pooling != "max":
        raise ValueError(f"pooling must be 'max' or 'avg', not {pooling!r}")
    _, eval_nodes = get_graph_node_names(model)
    nodes = {layer: resolve_layer(name, layer, eval_nodes) for layer in layers}
    graph = create_feature_extractor(model, return_nodes={node: node for node in set(nodes.values())})
    graph.eval().requires_grad_(False).to(memory_format=torch.channels_last)
    config = resolve_model_data_config(model)
    device = default_device()
    extractor = FeatureExtractor(name, layers, graph, nodes, config["mean"], config["std"], weights,
                                 MIN_INPUT_SIDE.get(name, 32), resolve_precision(precision, device))
    return extractor.to(device)


def feature_extractor(name: str, layers, *, pretrained: bool = True, pooling: str = "max",
                      weights_file: str | None = None, precision: str = "auto") -> FeatureExtractor:
    """Cached per loaded backbone: a second request for the same backbone and layers reuses the traced
    extractor; once a Hub download succeeds after a fallback, requests get the pretrained one.
    precision: "auto" (bf16 autocast where the hardware does it fast), "bf16" or "fp32"."""
    layers = tuple(layers)
    model, weights = load_backbone(name, pretrained, weights_file)
    key = (id(model), layers, pooling, precision)
    with _loading:
        extractor = _extractors.get(key)
        if extractor is not None:
            _extractors.move_to_end(key)
    if extractor is None:
        # torch.fx's tracer patches nn.Module for the whole process: trace alone (genmods.tracing)
        with MODEL_CALLS.exclusive():
            extractor = _build_extractor(name, model, layers, pooling, precision, weights)
        with _loading:
            _extractors[key] = extractor
            while len(_extractors) > _MAX_EXTRACTORS:
                _extractors.popitem(last=False)
    if extractor.weights != weights:  # same network, another notice (e.g. "trying again in 40 s")
        extractor = copy.copy(extractor)
        extractor.weights = weights
    return extractor


def layer_names(name: str) -> list[str]:
    """The friendly names offered for a backbone, shallow to deep (for menus)."""
    if name not in LAYER_ALIASES:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {', '.join(SUPPORTED_BACKBONES)}.")
    return list(LAYER_ALIASES[name])
