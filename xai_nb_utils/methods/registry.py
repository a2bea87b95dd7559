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
* seeded stochastic methods (``seed=...``) give the same maps for the same seed, and a batch of N gives the same
  maps as N calls of one image: each image draws its noise from ``core.tensors.image_seeds(x, seed)[i]`` (the
  baselines), or every image sees the same sequence seeded by ``seed`` alone (GEG's perturbed models).
"""
import contextlib
import inspect
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from xai_nb_utils.core.validate import check_images, check_targets, model_output_on_one


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


def check_keywords(spec: MethodSpec, kwargs: dict) -> None:
    """Keyword arguments the method does not take are an error listing those it does."""
    parameters = inspect.signature(spec.fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    allowed = [name for name in parameters if name not in ("model", "x", "target")]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(f"saliency method {spec.name!r} takes no argument {', '.join(map(repr, unknown))}; "
                        f"its arguments are {allowed}")


def explain(method: str, model: nn.Module, x: torch.Tensor, target, **kwargs) -> torch.Tensor:
    """Saliency maps of ``method`` for ``model`` on ``x`` w.r.t. ``target``; see the module docstring.

    Bad input is an error before the method runs (core.validate): ``x`` a non-empty float batch (N, C, H, W) in
    [0, 1] the model accepts, ``target`` an int or one integer class per image within the model's classes, known
    keyword arguments; a method that returns NaN or infinite values is an error too.
    """
    spec = method_spec(method)
    check_images(x)
    check_keywords(spec, kwargs)
    with model_state_restored(model), hooks_removed_afterwards(model):
        num_classes = model_output_on_one(model, x).shape[1]
        target = check_targets(target, len(x), num_classes, x.device)
        maps = spec.fn(model, x.detach(), target, **kwargs).detach().to(x.device)
    if not torch.isfinite(maps).all():
        raise ValueError(f"saliency method {method!r} returned {int((~torch.isfinite(maps)).sum())} NaN or infinite "
                         f"values for these images; the model's gradients or the method's settings overflow")
    return maps
