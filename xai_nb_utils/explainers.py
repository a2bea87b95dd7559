"""One interface for every saliency method: ``explain(method, model, x, target, **kwargs)``.

``x`` is a batch (N,C,H,W) in [0,1] pixel space (or (N,D) for tabular models), ``target`` the class of each
sample (an int is broadcast). The result is on ``x``'s device with shape

* (N, C, H, W) for gradient methods (``channels="input"``): signed, one value per input element;
* (N, 1, H, W) for CAM and mask methods (``channels="single"``): upsampled to the input size.

Baselines wrap captum and pytorch-grad-cam; the papers' own methods register themselves from their modules.
Hooks a method leaves behind are removed, also when it raises.
"""
import contextlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .models import get_layer


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fn: Callable
    channels: str  # "input" -> (N,C,H,W); "single" -> (N,1,H,W)
    family: str  # "gradient", "cam", "perturbation", "optimisation", "reference"
    description: str


_REGISTRY: dict[str, MethodSpec] = {}
# the modules of the papers' methods; importing one registers its methods
_PAPER_MODULES = ("gax", "igos", "opticam", "dre", "ggig")


def register_method(name: str, channels: str, family: str, description: str = ""):
    """Decorator adding ``fn(model, x, target, **kwargs) -> maps`` to the registry."""
    if channels not in ("input", "single"):
        raise ValueError("channels must be 'input' or 'single'")

    def decorator(fn):
        _REGISTRY[name] = MethodSpec(name, fn, channels, family, description or (fn.__doc__ or "").strip())
        return fn

    return decorator


def _load_paper_modules() -> None:
    import importlib

    for module in _PAPER_MODULES:
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(f"{__package__}.{module}")


def available_methods(family: str | None = None) -> list[str]:
    _load_paper_modules()
    return sorted(n for n, s in _REGISTRY.items() if family is None or s.family == family)


def method_spec(name: str) -> MethodSpec:
    _load_paper_modules()
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


def as_targets(target, n: int, device) -> torch.Tensor:
    target = torch.as_tensor(target, dtype=torch.long, device=device)
    return target.expand(n).clone() if target.dim() == 0 else target.to(device)


def explain(method: str, model: nn.Module, x: torch.Tensor, target, **kwargs) -> torch.Tensor:
    """Saliency maps of ``method`` for ``model`` on ``x`` w.r.t. ``target``; see the module docstring."""
    spec = method_spec(method)
    model.eval()
    target = as_targets(target, len(x), x.device)
    with hooks_removed_afterwards(model):
        maps = spec.fn(model, x.detach(), target, **kwargs)
    return maps.detach().to(x.device)


def reduce_channels(maps: torch.Tensor, how: str = "abs_sum") -> torch.Tensor:
    """(N,C,H,W) -> (N,1,H,W) by ``abs_sum`` (default), ``sum`` or ``max_abs``."""
    if how == "abs_sum":
        return maps.abs().sum(1, keepdim=True)
    if how == "sum":
        return maps.sum(1, keepdim=True)
    if how == "max_abs":
        return maps.abs().amax(1, keepdim=True)
    raise ValueError(f"how = {how!r}; choose one of ['abs_sum', 'sum', 'max_abs']")


def upsample_to(maps: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(maps, size=x.shape[-2:], mode="bilinear", align_corners=False)


# ------------------------------------------------------------------------------------------------ captum


def _captum_gradient_method(name: str, captum_class: str, description: str, **attribute_defaults):
    def fn(model, x, target, **kwargs):
        import captum.attr

        explainer = getattr(captum.attr, captum_class)(model)
        return explainer.attribute(x.clone().requires_grad_(True), target=target, **{**attribute_defaults, **kwargs})

    fn.__doc__ = description
    register_method(name, "input", "gradient", description)(fn)


_captum_gradient_method("saliency", "Saliency", "captum Saliency: |d logit / d x| (abs=False for signed).", abs=True)
_captum_gradient_method("input_x_gradient", "InputXGradient", "captum InputXGradient: x * d logit / d x.")
_captum_gradient_method("integrated_gradients", "IntegratedGradients",
                        "captum IntegratedGradients, zero baseline, 32 steps.", n_steps=32, internal_batch_size=64)
_captum_gradient_method("guided_backprop", "GuidedBackprop", "captum GuidedBackprop.")
_captum_gradient_method("deconvolution", "Deconvolution", "captum Deconvolution.")
_captum_gradient_method("deeplift", "DeepLift", "captum DeepLift, zero baseline.")


@register_method("gradient_shap", "input", "gradient")
def gradient_shap(model, x, target, n_samples: int = 16, stdevs: float = 0.1, seed: int = 0, **kwargs):
    """captum GradientShap; baselines: a black image and a uniform-noise image."""
    import captum.attr

    generator = torch.Generator(device="cpu").manual_seed(seed)
    baselines = torch.cat([torch.zeros_like(x[:1]), torch.rand(x[:1].shape, generator=generator).to(x.device)])
    torch.manual_seed(seed)
    return captum.attr.GradientShap(model).attribute(x.clone().requires_grad_(True), baselines=baselines,
                                                     target=target, n_samples=n_samples, stdevs=stdevs, **kwargs)


@register_method("smoothgrad", "input", "gradient")
def smoothgrad(model, x, target, nt_samples: int = 16, stdevs: float = 0.15, seed: int = 0, **kwargs):
    """captum NoiseTunnel(Saliency) in SmoothGrad mode; ``stdevs`` in [0,1] pixel units."""
    import captum.attr

    torch.manual_seed(seed)
    tunnel = captum.attr.NoiseTunnel(captum.attr.Saliency(model))
    return tunnel.attribute(x.clone().requires_grad_(True), nt_type="smoothgrad", nt_samples=nt_samples,
                            nt_samples_batch_size=nt_samples, stdevs=stdevs, target=target, abs=False, **kwargs)


@register_method("layer_gradcam", "single", "cam")
def layer_gradcam(model, x, target, layer: str | None = None, relu: bool = True):
    """captum LayerGradCam at ``layer`` (default: the model's CAM layer), bilinearly upsampled to the input."""
    import captum.attr

    explainer = captum.attr.LayerGradCam(model, get_layer(model, layer))
    cam = explainer.attribute(x.clone().requires_grad_(True), target=target, relu_attributions=relu)
    return upsample_to(cam.sum(1, keepdim=True), x)


def grid_segments(x: torch.Tensor, cell: int) -> torch.Tensor:
    """Feature mask (N,1,H,W) of square ``cell`` x ``cell`` super-pixels, numbered row by row."""
    h, w = x.shape[-2:]
    rows = torch.arange(h, device=x.device) // cell
    cols = torch.arange(w, device=x.device) // cell
    ids = rows[:, None] * ((w + cell - 1) // cell) + cols[None, :]
    return ids.expand(len(x), 1, h, w).contiguous()


@register_method("lime", "input", "perturbation")
def lime(model, x, target, cell: int = 8, n_samples: int = 200, seed: int = 0, batch_size: int = 50):
    """captum Lime on a grid of ``cell``-pixel super-pixels (zero baseline); one weight per super-pixel."""
    import captum.attr

    torch.manual_seed(seed)
    explainer = captum.attr.Lime(model)
    segments = grid_segments(x, cell)
    maps = [explainer.attribute(x[i:i + 1], target=target[i:i + 1], feature_mask=segments[i:i + 1],
                                n_samples=n_samples, perturbations_per_eval=batch_size)
            for i in range(len(x))]
    return torch.cat(maps)


# ------------------------------------------------------------------------------------------ pytorch-grad-cam


def _gradcam_method(name: str, cam_class: str, description: str, **init_kwargs):
    def fn(model, x, target, layer: str | None = None, **kwargs):
        import pytorch_grad_cam
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        with torch.enable_grad(), getattr(pytorch_grad_cam, cam_class)(
                model=model, target_layers=[get_layer(model, layer)], **{**init_kwargs, **kwargs}) as cam:
            maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(int(t)) for t in target])
        return torch.as_tensor(np.asarray(maps), dtype=torch.float32, device=x.device).unsqueeze(1)

    fn.__doc__ = description
    register_method(name, "single", "cam", description)(fn)


_gradcam_method("gradcam", "GradCAM", "pytorch-grad-cam GradCAM (min-max normalised by the library).")
_gradcam_method("gradcam_pp", "GradCAMPlusPlus", "pytorch-grad-cam GradCAM++.")
_gradcam_method("scorecam", "ScoreCAM", "pytorch-grad-cam ScoreCAM.")
_gradcam_method("ablationcam", "AblationCAM", "pytorch-grad-cam AblationCAM.")
_gradcam_method("xgradcam", "XGradCAM", "pytorch-grad-cam XGradCAM.")
_gradcam_method("layercam", "LayerCAM", "pytorch-grad-cam LayerCAM.")
_gradcam_method("hirescam", "HiResCAM", "pytorch-grad-cam HiResCAM.")


# ---------------------------------------------------------------------------------------------- references


@register_method("fake_cam", "single", "reference")
def fake_cam(model, x, target):
    """Fake-CAM (Opti-CAM paper): a uniform map of ones with the top-left pixel set to zero."""
    maps = torch.ones(len(x), 1, *x.shape[-2:], device=x.device)
    maps[:, :, 0, 0] = 0.0
    return maps


@register_method("random", "single", "reference")
def random_map(model, x, target, seed: int = 0):
    """Uniform random noise: the chance level of every metric."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return torch.rand(len(x), 1, *x.shape[-2:], generator=generator).to(x.device)
