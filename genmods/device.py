"""The one place that decides where tensors live: accelerate's view of this process."""
from functools import lru_cache

import torch
from accelerate import PartialState


@lru_cache(maxsize=1)
def default_device() -> torch.device:
    """GPU on a GPU Space (or under `accelerate launch`), else the CPU."""
    return PartialState().device
