"""One place that turns a timm backbone name + layer names into a frozen, truncated feature extractor.

    extractor = feature_extractor("vgg19", ["conv1_1", "conv4_2"], pretrained=True)
    activations = extractor(extractor.preprocess(image))   # {"conv1_1": tensor, "conv4_2": tensor}

Layers are tapped by name through timm's FX `create_feature_extractor` (`features_only` stops at stage
outputs and cannot reach e.g. VGG's conv4_2 or Inception's Mixed_6b…6e); the traced graph keeps only
the nodes the requested outputs depend on, so nothing after the deepest requested layer is computed.
Friendly aliases (VGG's conv4_2, Keras' mixed4) map onto timm's node names; any node name that
`get_graph_node_names` lists is accepted too.
"""

import copy
import logging
import os
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

logger = logging.getLogger(__name__)

SUPPORTED_BACKBONES = ("inception_v3", "vgg16", "vgg19", "resnet50")
WEIGHTS_DIR_ENV = "GENMODS_WEIGHTS_DIR"  # a folder of <backbone>.safetensors / .pth files, for offline use


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
        return (f"Random weights: {self.source}. Results show the algorithm, not what a trained network "
                "sees (no eyes, feathers or real textures).")


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


@lru_cache(maxsize=8)
def load_backbone(name: str, pretrained: bool = True, weights_file: str | None = None) -> tuple[nn.Module, WeightsInfo]:
    """A timm classifier in eval mode, frozen, on the default device, with where its weights came from.

    pretrained=True: the Hub through timm (or a local file); if that fails (offline), random weights
    with a warning. pretrained=False: random weights (what tests use).
    """
    if name not in SUPPORTED_BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {', '.join(SUPPORTED_BACKBONES)}.")
    local = _weights_file_for(name, weights_file)
    if local:
        if not Path(local).exists():
            raise FileNotFoundError(f"weights file not found: {local}")
        model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=local))
        info = WeightsInfo(True, f"pretrained weights from {Path(local).name}")
    elif pretrained:
        try:
            model = timm.create_model(name, pretrained=True)
            cfg = model.pretrained_cfg
            info = WeightsInfo(True, f"pretrained ImageNet weights ({cfg.get('hf_hub_id') or cfg.get('url')})")
        except Exception as error:  # offline, Hub down, no disk space: fall back, visibly
            reason = f"pretrained {name} weights could not be loaded ({type(error).__name__}; offline?)"
            logger.warning("%s: %s; using random weights", reason, error)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = timm.create_model(name, pretrained=False)
            info = WeightsInfo(False, reason)
    else:
        with torch.random.fork_rng(devices=[]):  # the same random weights in every process
            torch.manual_seed(0)
            model = timm.create_model(name, pretrained=False)
        info = WeightsInfo(False, "pretrained=False was asked for")
    for module in model.modules():  # in-place activations would overwrite tapped tensors
        if hasattr(module, "inplace"):
            module.inplace = False
    model.eval().requires_grad_(False)
    return model.to(default_device()), info


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
    """Frozen, truncated backbone: image tensor (normalised) → {layer name: activation (float32)}.

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
        x = x.contiguous(memory_format=torch.channels_last)
        use_autocast = self.autocast_dtype is not None and not full_precision
        with torch.autocast(x.device.type, dtype=self.autocast_dtype or torch.float32, enabled=use_autocast):
            out = self.graph(x)
        return {layer: out[node].float() for layer, node in self.nodes.items()}

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """PIL RGB → (1, 3, H, W) normalised with the backbone's own mean and std (its `pretrained_cfg`)."""
        array = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0)
        return ((array.permute(2, 0, 1).unsqueeze(0).to(self.device) - self.mean) / self.std).contiguous()

    def deprocess(self, x: torch.Tensor) -> Image.Image:
        """The inverse of `preprocess`, clipped to valid pixels."""
        pixels = (x.detach()[0:1] * self.std + self.mean).clamp(0, 1)[0].permute(1, 2, 0)
        return Image.fromarray((pixels.cpu().numpy() * 255).round().astype(np.uint8))

    def clamp(self, x: torch.Tensor) -> torch.Tensor:
        """Keep a normalised image inside the range of real pixels."""
        return torch.max(torch.min(x, (1 - self.mean) / self.std), (0 - self.mean) / self.std)


def _with_average_pooling(model: nn.Module) -> nn.Module:
    """Gatys et al. report smoother results with average instead of max pooling."""
    model = copy.deepcopy(model)
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.MaxPool2d):
                setattr(parent, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding, child.ceil_mode))
    return model


@lru_cache(maxsize=32)
def _cached_extractor(name: str, layers: tuple[str, ...], pretrained: bool, pooling: str,
                      weights_file: str | None, precision: str) -> FeatureExtractor:
    model, weights = load_backbone(name, pretrained, weights_file)
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
    """Cached: a second request for the same backbone and layers reuses the loaded extractor.
    precision: "auto" (bf16 autocast where the hardware does it fast), "bf16" or "fp32"."""
    return _cached_extractor(name, tuple(layers), pretrained, pooling, weights_file, precision)


def layer_names(name: str) -> list[str]:
    """The friendly names offered for a backbone, shallow to deep (for menus)."""
    if name not in LAYER_ALIASES:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {', '.join(SUPPORTED_BACKBONES)}.")
    return list(LAYER_ALIASES[name])
