"""Tensor conventions shared by methods, metrics and studies: one function per concept.

Images are float tensors (N, C, H, W) in [0, 1] pixel space; maps are (N, C, H, W) or (N, 1, H, W).
"""
import contextlib
import hashlib
import math
import random

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

from xai_nb_utils.core.params import check_choice

NORMALIZATIONS = ("range", "max", "sigmoid", "none")
CONSTANT_MAP_VALUES = {"ones": 1.0, "zeros": 0.0}


def as_targets(target, n: int, device) -> torch.Tensor:
    """Targets as a LongTensor (N,) on ``device``; an int (or a 0-d tensor) is broadcast to all N samples."""
    target = torch.as_tensor(target, dtype=torch.long, device=device)
    return target.expand(n).clone() if target.dim() == 0 else target.to(device)


def reduce_channels(maps: torch.Tensor, how: str = "abs_sum") -> torch.Tensor:
    """(N,C,H,W) -> (N,1,H,W) by ``abs_sum`` (default), ``sum`` or ``max_abs``."""
    check_choice("how", how, ("abs_sum", "sum", "max_abs"))
    if how == "abs_sum":
        return maps.abs().sum(1, keepdim=True)
    if how == "sum":
        return maps.sum(1, keepdim=True)
    return maps.abs().amax(1, keepdim=True)


def upsample_to(maps: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bilinear upsampling of (N, K, h, w) maps to the spatial size of ``x``."""
    return F.interpolate(maps, size=x.shape[-2:], mode="bilinear", align_corners=False)


def normalize_maps(maps, how: str = "range", constant: str = "ones", eps: float = 1e-12) -> torch.Tensor:
    """Per-map normalisation to [0, 1]: ``range`` (min-max), ``max`` (divide by the max, negatives clipped),
    ``sigmoid``, or ``none`` (maps used as they are).

    ``constant`` is the policy for a map with no range under ``range``: ``"ones"`` (every pixel equally
    important: masking by it keeps the image, the Opti-CAM/AD convention) or ``"zeros"`` (nothing stands out:
    the similarity and localization convention). Accepts tensors or arrays; returns a float tensor.
    """
    check_choice("how", how, NORMALIZATIONS)
    check_choice("constant", constant, tuple(CONSTANT_MAP_VALUES))
    maps = torch.as_tensor(maps)
    if how == "none":
        return maps
    if how == "sigmoid":
        return torch.sigmoid(maps)
    flat = maps.flatten(1)
    if how == "max":
        flat = flat.clamp(min=0)
        return (flat / flat.amax(1, keepdim=True).clamp(min=eps)).view_as(maps)
    low, high = flat.amin(1, keepdim=True), flat.amax(1, keepdim=True)
    fill = torch.full_like(flat, CONSTANT_MAP_VALUES[constant])
    scaled = torch.where(high - low > eps, (flat - low) / (high - low).clamp(min=eps), fill)
    return scaled.view_as(maps)


def normalize_maps_numpy(maps, absolute: bool = False, constant: str = "zeros") -> np.ndarray:
    """:func:`normalize_maps` (``range``) as float64 NumPy arrays, of ``|maps|`` when ``absolute``; 2-D maps
    are treated as one image."""
    values = maps.detach().cpu().double() if hasattr(maps, "detach") else torch.as_tensor(np.asarray(maps, np.float64))
    values = values[None] if values.dim() == 2 else values
    values = values.abs() if absolute else values
    return normalize_maps(values, "range", constant).numpy()


def perturb(image: torch.Tensor, mask: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
    """The masking operator ``image * mask + baseline * (1 - mask)`` (iGOS++'s Phi, DRE's eq. 1);
    ``mask`` in [0, 1] broadcasts over channels."""
    return image * mask + baseline * (1 - mask)


def blur_kernel_for(size: int, kernel_at_224: int = 11, sigma_at_224: float = 5.0) -> tuple[int, float]:
    """A blur (kernel, sigma) scaled from its value on 224-pixel images; the kernel is odd and at least 3."""
    scale = size / 224
    kernel = max(3, int(round(kernel_at_224 * scale)) | 1)
    return kernel, max(sigma_at_224 * scale, 0.5)


#: below this side, images are the embedded digit tasks (28-px MNIST, 64-px DigitScenes), not photographs
PHOTO_SIDE = 224


def insertion_blur_for(size: int) -> tuple[int, float]:
    """The default (kernel, sigma) of the blurred image insertion starts from.

    Photographs (side >= 224): RISE's blur, kernel 11 and sigma 5 at 224 px, scaled with the side. Smaller images
    (the embedded digit tasks): sigma = side / 12 and kernel 2 * ceil(2 sigma) + 1 (23 / 5.3 at 64 px, 11 / 2.3 at
    28 px). RISE's blur scaled down to 64 px is a 3x3 box that leaves a digit legible (the DigitScenes model kept
    p(true) ~ 0.43 on it, so a random map scored 0.71 insertion); the purpose of the blurred start, an image
    without the class evidence, needs a blur relative to the strokes (docs/notes/testbed.md).
    """
    if size >= PHOTO_SIDE:
        return blur_kernel_for(size)
    sigma = size / 12
    return 2 * math.ceil(2 * sigma) + 1, sigma


def baseline_image(x: torch.Tensor, baseline: str, blur_kernel: int | None = None,
                   blur_sigma: float | None = None) -> torch.Tensor:
    """``"blur"`` (Gaussian; default kernel/sigma :func:`insertion_blur_for` the image side), ``"zeros"`` or
    ``"mean"`` (per-image channel mean)."""
    check_choice("baseline", baseline, ("blur", "zeros", "mean"))
    if baseline == "zeros":
        return torch.zeros_like(x)
    if baseline == "mean":
        return x.mean(dim=(2, 3), keepdim=True).expand_as(x)
    default_kernel, default_sigma = insertion_blur_for(x.shape[-1])
    kernel = blur_kernel or default_kernel
    return gaussian_blur(x, [kernel, kernel], [blur_sigma or default_sigma] * 2)


def neighbour_differences(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Vertical and horizontal differences of neighbouring values of (..., H, W)."""
    return t[..., 1:, :] - t[..., :-1, :], t[..., :, 1:] - t[..., :, :-1]


def total_variation(mask: torch.Tensor, beta: float = 2.0) -> torch.Tensor:
    """Per-image TV: mean |vertical difference|^beta + mean |horizontal difference|^beta, shape (N,)."""
    return sum(d.abs().pow(beta).flatten(1).mean(1) for d in neighbour_differences(mask))


@torch.no_grad()
def image_seeds(x: torch.Tensor, seed: int) -> list[int]:
    """One seed per image, derived from ``seed`` and the image's own values: a stochastic method that draws image
    i's noise from ``image_seeds(x, seed)[i]`` gives an image the same map whatever else shares its batch, and
    different images different draws."""
    values = x.detach().to("cpu", torch.float32).contiguous().numpy()
    return [int.from_bytes(hashlib.blake2b(image.tobytes(), digest_size=8, key=str(seed).encode()).digest(), "little")
            % (2 ** 63) for image in values]


@contextlib.contextmanager
def seeded(seed: int):
    """Seed torch (CPU and CUDA), NumPy and Python's ``random`` inside the block and restore their states after,
    for libraries that draw from the global generators (captum's GradientShap, NoiseTunnel, Lime)."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    devices = list(range(torch.cuda.device_count()))
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        np.random.seed(seed % (2 ** 32))
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)
