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

    RESNET_STAGES = ("layer1", "layer2", "layer3", "layer4")

    def stages(self, z):
        """ResNets only: the outputs of layer1 ... layer4 on a normalised input (the multi-scale encoder the DRE
        generator uses, as Dabkowski & Gal's on ResNet50)."""
        if not self.arch.startswith("resnet"):
            raise ValueError(f"the DRE generator needs a ResNet encoder (layer1 ... layer4), not {self.arch}")
        net = self.net
        z = net.maxpool(net.relu(net.bn1(net.conv1(z))))
        features = []
        for name in self.RESNET_STAGES:
            z = getattr(net, name)(z)
            features.append(z)
        return features

    @property
    def stage_channels(self) -> list[int]:
        """Channels of each of :meth:`stages` (the last batch norm of each layer)."""
        return [[m.num_features for m in getattr(self.net, name).modules() if isinstance(m, nn.BatchNorm2d)][-1]
                for name in self.RESNET_STAGES]


def weights_filename(arch: str) -> str:
    """The standard torchvision file name of ``arch``'s ImageNet weights, e.g. ``resnet34-b627a593.pth``."""
    return ARCHITECTURES[arch].weights.url.rsplit("/", 1)[-1]


def weights_locations(arch: str) -> list[Path]:
    """Where :func:`pretrained_model` looks, in order: data/external/weights/, then the torch hub cache."""
    name = weights_filename(arch)
    return [external_dir() / "weights" / name, Path(torch.hub.get_dir()) / "checkpoints" / name]


def weights_file(arch: str, weights_path: str | Path | None = None) -> Path:
    """The weights file of ``arch``: ``weights_path`` or the first of :func:`weights_locations` that exists; a
    MissingDataError says which file to put where."""
    check_choice("arch", arch, list(ARCHITECTURES))
    candidates = [Path(weights_path)] if weights_path is not None else weights_locations(arch)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise MissingDataError(
            f"pretrained {arch} weights not found at {' or '.join(map(str, candidates))}. Put the torchvision file "
            f"{weights_filename(arch)} (published at {ARCHITECTURES[arch].weights.url}) into {candidates[0].parent}/ "
            f"or pass weights_path=...; nothing is downloaded.")
    return path


def pretrained_net(arch: str, weights_path: str | Path | None = None) -> nn.Module:
    """The bare torchvision network of ``arch`` with its ImageNet weights read from :func:`weights_file`; a file
    that is not a state dict of ``arch`` is a ValueError naming the file."""
    path = weights_file(arch, weights_path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # random bytes, text, an empty or truncated file, a pickle of other objects
        raise ValueError(f"{path} is not a torch weights file ({type(error).__name__}); put the torchvision file "
                         f"{weights_filename(arch)} there") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict of {arch} weights")
    if "state_dict" in state:
        state = state["state_dict"]
    net = ARCHITECTURES[arch].build(weights=None)
    try:
        net.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"{path} does not hold {arch} weights: {str(error).splitlines()[0]}") from None
    return net


def wrap(net: nn.Module, arch: str, device="cpu") -> PretrainedClassifier:
    """``net`` behind ImageNet normalisation, in eval mode on ``device``."""
    return fast_layout(PretrainedClassifier(net, ARCHITECTURES[arch].cam_layer_name, arch).to(device).eval())


def pretrained_model(arch: str, weights_path: str | Path | None = None, device="cpu") -> PretrainedClassifier:
    """A torchvision ImageNet classifier (resnet34, resnet50, alexnet, vgg16, vgg19) in eval mode, with weights
    from ``weights_path`` or the standard file name in :func:`weights_locations`; never downloads."""
    return wrap(pretrained_net(arch, weights_path), arch, device)
