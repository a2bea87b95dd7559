"""DRE's metrics (Fu et al., TPAMI): faithfulness M_F (eq. 10) and explainability M_E (eq. 11), with the paper's
blur and its table convention (per-image min-max normalisation over the methods).

M_F is the foundation's insertion curve (:func:`metrics.perturbation.insertion_deletion`) with the paper's
conventions: start from the blurred image (the authors' blur: kernel 55, sigma 11 on 224-pixel images, scaled to the
image side), reveal the top i * delta pixels, softmax score of the target class. No M_F code is public: the
smoothing weight before ranking is ours (the paper: "a smoothed mask ... with a small weight").
"""
import numpy as np
import torch

from xai_nb_utils.core.tensors import baseline_image, blur_kernel_for, normalize_maps, reduce_channels
from xai_nb_utils.metrics.perturbation import insertion_deletion

BLUR_SIGMA_FRACTION = 11 / 224  # the authors' blur: kernel 55, sigma 11 on 224-pixel images
DELTA = 1 / 32
SMOOTH_WEIGHT = 0.01  # "a smoothed mask ... with a small weight" (the paper gives no value)


def blur_parameters(size: int, sigma_fraction: float = BLUR_SIGMA_FRACTION) -> tuple[int, float]:
    """(kernel, sigma) of the paper's Gaussian blur scaled to an image side: sigma = fraction * size, kernel
    the odd integer nearest 5 sigma (55 / 11 at 224 pixels)."""
    return blur_kernel_for(size, 5 * sigma_fraction * 224, sigma_fraction * 224)


def blur(x: torch.Tensor, sigma_fraction: float = BLUR_SIGMA_FRACTION) -> torch.Tensor:
    """The blurred image (the foundation's blur baseline with the paper's kernel and sigma)."""
    return baseline_image(x, "blur", *blur_parameters(x.shape[-1], sigma_fraction))


def ranking_map(maps: torch.Tensor, smooth_weight: float = 0.0, sigma_fraction: float = BLUR_SIGMA_FRACTION):
    """(N, 1, H, W) map used to rank pixels: (N, C, H, W) maps are reduced by abs-sum, each map is min-max
    normalised (a constant map becomes ones) and, when smooth_weight > 0, a blurred copy is added with that weight
    (the paper adds "a smoothed mask over the original one with a small weight" before ranking; it mostly breaks
    ties)."""
    single = reduce_channels(maps, "abs_sum") if maps.shape[1] > 1 else maps
    single = normalize_maps(single.float(), "range", constant="ones")
    if smooth_weight:
        single = single + smooth_weight * blur(single, sigma_fraction)
    return single


def faithfulness_curves(model, x: torch.Tensor, maps: torch.Tensor, target, delta: float = DELTA,
                        smooth_weight: float = SMOOTH_WEIGHT, sigma_fraction: float = BLUR_SIGMA_FRACTION,
                        score: str = "softmax", chunk: int | None = None):
    """The Q_i of eq. (10): target-class ``score`` (softmax) of the blurred image (paper's blur) with its top
    i * delta pixels revealed, i = 0..1/delta; the foundation's insertion curve with these conventions."""
    total = x.shape[-2] * x.shape[-1]
    steps = round(1 / delta)
    if abs(steps * delta - 1) > 1e-9 or total % steps:
        raise ValueError(f"delta = {delta!r} must be 1/m with m dividing the {total} pixels")
    kernel, sigma = blur_parameters(x.shape[-1], sigma_fraction)
    return insertion_deletion(model, x, ranking_map(maps, smooth_weight, sigma_fraction), target, mode="insertion",
                              baseline="blur", blur_kernel=kernel, blur_sigma=sigma, pixels_per_step=total // steps,
                              score=score, chunk=chunk)


def m_f(curves) -> np.ndarray:
    """Eq. (10): M_F = 100 * sum_{i=1..m} Q_i * delta per image (a right Riemann sum; Q_0 is left out)."""
    return 100 * (curves.scores[:, 1:] * np.diff(curves.fractions)).sum(1)


def faithfulness(model, x: torch.Tensor, maps: torch.Tensor, target, **kwargs) -> np.ndarray:
    """M_F (percent) per image; keyword arguments as :func:`faithfulness_curves`."""
    return m_f(faithfulness_curves(model, x, maps, target, **kwargs))


def explainability(maps: torch.Tensor, box_masks: torch.Tensor) -> np.ndarray:
    """Eq. (11): M_E = 100 * sum_i P_i (R_i - R_{i-1}), the precision-recall AUC (average precision) of the
    pixels ranked by the map against the bounding-box pixels, per image. Tied scores form one retrieval step
    (so a constant map scores the box's area fraction whatever the pixel order)."""
    scores = ranking_map(maps).flatten(1).cpu().double()
    relevant = box_masks.flatten(1).cpu().double()
    order = torch.argsort(scores, dim=1, descending=True, stable=True)
    sorted_scores, hits = scores.gather(1, order), relevant.gather(1, order)
    # the last position of each run of tied scores
    group_end = torch.searchsorted(-sorted_scores.contiguous(), -sorted_scores.contiguous(), right=True) - 1
    precision = hits.cumsum(1) / torch.arange(1, scores.shape[1] + 1, dtype=torch.double)
    precision_at_end = precision.gather(1, group_end)
    return (100 * (hits * precision_at_end).sum(1) / relevant.sum(1).clamp_min(1)).numpy()


def normalize_across_methods(values: dict) -> dict:
    """Per image, min-max normalise a metric over the methods (the paper's Tables 3-5 convention); a tie of all
    methods on an image gives 0 for each."""
    names = list(values)
    stacked = np.stack([np.asarray(values[name], dtype=float) for name in names])
    low, high = stacked.min(0), stacked.max(0)
    scaled = np.where(high > low, (stacked - low) / np.where(high > low, high - low, 1), 0.0)
    return {name: scaled[i] for i, name in enumerate(names)}
