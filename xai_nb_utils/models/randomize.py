"""Randomised copies of a model: the model-parameter randomisation test of Adebayo et al. (2018)."""
import copy

import torch
from torch import nn

from xai_nb_utils.models.networks import get_layer


def randomized_copy(model: nn.Module, layer_names=None, seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose named sub-modules (every module when ``layer_names`` is None) are re-initialised
    with their ``reset_parameters`` under ``seed``. Cascading randomisation passes the top layers first, growing.

    The global torch RNG is left as it was (the draws happen under ``torch.random.fork_rng``); the copy keeps
    the original's train/eval mode.
    """
    copied = copy.deepcopy(model)
    modules = [copied] if layer_names is None else [get_layer(copied, name) for name in layer_names]
    cuda_devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        for module in modules:
            for sub in module.modules():
                if hasattr(sub, "reset_parameters"):
                    sub.reset_parameters()
    return copied
