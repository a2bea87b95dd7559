"""Pretrained torchvision ImageNet classifiers from user-supplied weight files (the ``paper`` profile).

Nothing is downloaded: the weights must be in ``data/external/weights/`` (or the torch hub cache) under their
standard torchvision file names, or be passed as ``weights_path``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torchvision
from torch import nn

from xai_nb_utils.core.evaluation import fast_layout
from xai_nb_utils.core.params import check_choice
from xai_nb_utils.core.paths import MissingDataError
from xai_nb_utils.data.external import IMAGENET_MEAN, IMAGENET_STD, external_dir
from xai_nb_utils.models.networks import NormalizedClassifier, make_relus_not_inplace


@dataclass(frozen=True)
class Architecture:
    build: Callable[..., nn.Module]  # torchvision constructor
    weights: object  # torchvision Weights enum member (gives the standard file name; never downloaded)
    cam_layer_name: str  # inside the wrapper: the last convolutional block / ReLU


ARCHITECTURES = {
    "resnet34": Architecture(torchvision.models.resnet34, torchvision.models.ResNet34_Weights.IMAGENET1K_V1, "net.layer4"),
    "resnet50": Architecture(torchvision.models.resnet50, torchvision.models.ResNet50_Weights.IMAGENET1K_V1, "net.layer4"),
    "alexnet": Architecture(torchvision.models.alexnet, torchvision.models.AlexNet_Weights.IMAGENET1K_V1, "net.features.11"),
    "vgg16": Architecture(torchvision.models.vgg16, torchvision.models.VGG16_Weights.IMAGENET1K_V1, "net.features.29"),
    "vgg19": Architecture(torchvision.models.vgg19, torchvision.models.VGG19_Weights.IMAGENET1K_V1, "net.features.35"),
}


class PretrainedClassifier(NormalizedClassifier):
    """A torchvision ImageNet model (``self.net``) behind ImageNet normalisation: [0,1] pixels in, logits out."""

    def __init__(self, net: nn.Module, cam_layer_name: str, arch: str):
        super().__init__(IMAGENET_MEAN, IMAGENET_STD)
        self.net = make_relus_not_inplace(net)
        self.cam_layer_name = cam_layer_name
        self.arch = arch

    def raw_logits(self, z):
        return self.net(z)


def weights_filename(arch: str) -> str:
    """The standard torchvision file name of ``arch``'s ImageNet weights, e.g. ``resnet34-b627a593.pth``."""
    return ARCHITECTURES[arch].weights.url.rsplit("/", 1)[-1]


def weights_locations(arch: str) -> list[Path]:
    """Where :func:`pretrained_model` looks, in order: data/external/weights/, then the torch hub cache."""
    name = weights_filename(arch)
    return [external_dir() / "weights" / name, Path(torch.hub.get_dir()) / "checkpoints" / name]


def pretrained_model(arch: str, weights_path: str | Path | None = None, device="cpu") -> PretrainedClassifier:
    """A torchvision ImageNet classifier (resnet34, resnet50, alexnet, vgg16, vgg19) in eval mode, with weights
    from ``weights_path`` or the standard file name in :func:`weights_locations`; never downloads."""
    check_choice("arch", arch, list(ARCHITECTURES))
    spec = ARCHITECTURES[arch]
    candidates = [Path(weights_path)] if weights_path is not None else weights_locations(arch)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise MissingDataError(
            f"pretrained {arch} weights not found at {' or '.join(map(str, candidates))}. Put the torchvision file "
            f"{weights_filename(arch)} (published at {spec.weights.url}) into {candidates[0].parent}/ "
            f"or pass weights_path=...; nothing is downloaded.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # random bytes, text, an empty or truncated file, a pickle of other objects
        raise ValueError(f"{path} is not a torch weights file ({type(error).__name__}); put the torchvision file "
                         f"{weights_filename(arch)} there") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict of {arch} weights")
    if "state_dict" in state:
        state = state["state_dict"]
    net = spec.build(weights=None)
    try:
        net.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"{path} does not hold {arch} weights: {str(error).splitlines()[0]}") from None
    return fast_layout(PretrainedClassifier(net, spec.cam_layer_name, arch).to(device).eval())
