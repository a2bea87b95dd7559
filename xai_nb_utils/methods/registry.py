"""One interface for every saliency method: ``explain(method, model, x, target, **kwargs)``.

``x`` is a batch (N,C,H,W) in [0,1] pixel space (or (N,D) for tabular models), ``target`` the class of each
sample (an int is broadcast). The result is on ``x``'s device with shape

* (N, C, H, W) for gradient methods (``channels="input"``): signed, one value per input element;
* (N, 1, H, W) for CAM and mask methods (``channels="single"``): upsampled to the input size.

Baselines (``methods.baselines``) wrap captum and pytorch-grad-cam; the papers' own methods live one module each
and register with :func:`register_method`; ``methods/__init__.py`` imports every one of them explicitly.
The contract every method keeps, checked by the tests for every registered method:

* the model is left as it was: hooks a method adds are removed (also when it raises), its train/eval mode and the
  ``.grad`` of its parameters are restored, and no global random generator is reseeded;
* seeded stochastic methods (``seed=...``) draw image i's noise from ``core.tensors.image_seeds(x, seed)[i]``, so a
  batch of N gives the same maps as N calls of one image, and the same seed gives the same maps.
"""
import contextlib
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from xai_nb_utils.core.tensors import as_targets


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fn: Callable
    channels: str  # "input" -> (N,C,H,W); "single" -> (N,1,H,W)
    family: str  # "gradient", "cam", "perturbation", "optimisation", "reference"
    description: str


_REGISTRY: dict[str, MethodSpec] = {}


def register_method(name: str, channels: str, family: str, description: str = ""):
    """Decorator adding ``fn(model, x, target, **kwargs) -> maps`` to the registry."""
    if channels not in ("input", "single"):
        raise ValueError("channels must be 'input' or 'single'")

    def decorator(fn):
        _REGISTRY[name] = MethodSpec(name, fn, channels, family, description or (fn.__doc__ or "").strip())
        return fn

    return decorator


def available_methods(family: str | None = None) -> list[str]:
    return sorted(n for n, s in _REGISTRY.items() if family is None or s.family == family)


def method_spec(name: str) -> MethodSpec:
    if name not in _REGISTRY:
        raise ValueError(f"unknown saliency method {name!r}; choose one of {sorted(_REGISTRY)}")
    return _REGISTRY[name]


_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


@contextlib.contextmanager
def hooks_removed_afterwards(model: nn.Module):
    """Remove every hook added to ``model``'s modules inside the block, also on an exception."""
    before = {(id(m), d): set(getattr(m, d).keys()) for m in model.modules() for d in _HOOK_DICTS}
    try:
        yield
    finally:
        for module in model.modules():
            for d in _HOOK_DICTS:
                hooks = getattr(module, d)
                for key in set(hooks.keys()) - before.get((id(module), d), set()):
                    del hooks[key]


@contextlib.contextmanager
def model_state_restored(model: nn.Module):
    """Evaluate ``model`` in eval mode inside the block; restore its train/eval mode and its parameters'
    ``.grad`` after, also on an exception."""
    modes = {module: module.training for module in model.modules()}
    grads = {parameter: parameter.grad for parameter in model.parameters()}
    model.eval()
    try:
        yield
    finally:
        for module, training in modes.items():
            module.training = training
        for parameter, grad in grads.items():
            parameter.grad = grad


def explain(method: str, model: nn.Module, x: torch.Tensor, target, **kwargs) -> torch.Tensor:
    """Saliency maps of ``method`` for ``model`` on ``x`` w.r.t. ``target``; see the module docstring."""
    spec = method_spec(method)
    target = as_targets(target, len(x), x.device)
    with model_state_restored(model), hooks_removed_afterwards(model):
        maps = spec.fn(model, x.detach(), target, **kwargs)
    return maps.detach().to(x.device)
