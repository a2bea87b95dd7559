"""Checks at the public boundaries: each raises a ValueError or TypeError whose message names the argument, what
was given and what is allowed, before any library sees a bad value.

Conventions checked: images are float tensors (N, C, H, W) in [0, 1] (tabular inputs (N, D), any finite value),
targets are an int or an integer tensor of length N within [0, C), maps are finite and match the images' batch and
size.
"""
import math
import numbers

import torch

PIXEL_TOLERANCE = 1e-4  # rounding of [0, 1] images (bilinear resizing, blending) stays allowed


def check_images(x, name: str = "x") -> torch.Tensor:
    """``x`` must be a non-empty float tensor (N, C, H, W) with finite values in [0, 1], or (N, D) features."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.dim() not in (2, 4):
        hint = " (a single image? add the batch dimension: x.unsqueeze(0))" if x.dim() == 3 else ""
        raise ValueError(f"{name} must have 4 dimensions (N, C, H, W) (or 2, (N, D), for tabular models), got shape "
                         f"{tuple(x.shape)}{hint}")
    if not x.is_floating_point():
        hint = " (uint8 pixels in 0-255? use x.float() / 255)" if x.dtype == torch.uint8 else ""
        raise TypeError(f"{name} must be a float tensor with pixels in [0, 1], got dtype {x.dtype}{hint}")
    if len(x) == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)}); pass at least one image")
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} has {bad} NaN or infinite values; images must be finite")
    if x.dim() == 4:
        low, high = float(x.min()), float(x.max())
        if low < -PIXEL_TOLERANCE or high > 1 + PIXEL_TOLERANCE:
            raise ValueError(f"{name} must hold pixels in [0, 1] (the models normalise inside), got values in "
                             f"[{low:.3g}, {high:.3g}]; pass unnormalised images scaled to [0, 1]")
    return x


def check_targets(target, n: int, num_classes: int | None = None, device=None, name: str = "target") -> torch.Tensor:
    """An int (broadcast to the N images) or an integer tensor / sequence of length N, each in [0, num_classes)."""
    if isinstance(target, bool) or isinstance(target, str):
        raise TypeError(f"{name} must be an int or an integer tensor of length {n}, got {target!r}")
    if isinstance(target, numbers.Integral):
        values = torch.full((n,), int(target), dtype=torch.long)
    else:
        if isinstance(target, numbers.Number):
            raise TypeError(f"{name} must be an integer class index, got {target!r}")
        try:
            values = torch.as_tensor(target)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be an int or an integer tensor of length {n}, got {target!r}") from None
        if values.is_floating_point() or values.is_complex() or values.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer class indices, got dtype {values.dtype}: {target!r}")
        if values.dim() == 0:
            values = values.expand(n)
        elif values.dim() != 1 or len(values) != n:
            raise ValueError(f"{name} must have one class per image: {n} for this batch, got shape "
                             f"{tuple(values.shape)}")
        values = values.long()
    if num_classes is not None and ((values < 0) | (values >= num_classes)).any():
        raise ValueError(f"{name} must lie in [0, {num_classes}) (the model has {num_classes} classes), got "
                         f"{values.tolist()}")
    return values.to(device).clone() if device is not None else values.clone()


def check_maps(maps, x: torch.Tensor, name: str = "saliency", allow_smaller: bool = False) -> torch.Tensor:
    """Maps must be a finite float tensor (N, 1 or C, H, W) for the N images of ``x`` at their size (or any
    size when ``allow_smaller``, for maps that are upsampled)."""
    if not isinstance(maps, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (N, 1, H, W) or (N, C, H, W), got {type(maps).__name__}")
    if maps.dim() != 4:
        raise ValueError(f"{name} must have 4 dimensions (N, 1, H, W) or (N, C, H, W), got shape {tuple(maps.shape)}")
    if len(maps) != len(x):
        raise ValueError(f"{name} has {len(maps)} maps for {len(x)} images; give one map per image")
    if maps.shape[1] not in (1, x.shape[1]):
        raise ValueError(f"{name} must have 1 or {x.shape[1]} channels (the images'), got {maps.shape[1]}")
    if not allow_smaller and tuple(maps.shape[-2:]) != tuple(x.shape[-2:]):
        raise ValueError(f"{name} maps are {tuple(maps.shape[-2:])} but the images are {tuple(x.shape[-2:])}; "
                         f"upsample the maps to the image size")
    if not torch.isfinite(maps).all():
        raise ValueError(f"{name} has {int((~torch.isfinite(maps)).sum())} NaN or infinite values; maps must be "
                         f"finite")
    return maps


def check_positive_int(name: str, value) -> int:
    """A positive integer (step counts, sample counts, batch sizes)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_finite_number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def expected_input(model) -> str:
    """What ``model`` says it takes, for error messages."""
    shape = getattr(model, "input_shape", None)
    return f"(N, {', '.join(map(str, shape))})" if shape else "the size it was trained on"


@torch.no_grad()
def model_output_on_one(model, x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """Logits of the model on the first image of ``x``: checks that the model accepts the images' channels and
    size (with the expected shape in the message) and that its output is finite. Returns the (1, C) logits."""
    try:
        logits = model(x[:1])
    except RuntimeError as error:
        raise ValueError(f"the model ({type(model).__name__}) does not accept {name} of shape {tuple(x.shape)}; it "
                         f"expects {expected_input(model)} ({str(error).splitlines()[0]})") from None
    if logits.dim() != 2:
        raise ValueError(f"the model must return logits (N, classes), got shape {tuple(logits.shape)}")
    if not torch.isfinite(logits).all():
        raise ValueError(f"the model's output on {name} is not finite (NaN or inf logits); no map can be computed")
    return logits
