"""Opti-CAM (Zhang, Torres, Sicre, Avrithis, Ayache, CVIU 2024): CAM weights optimised per image.

The saliency map at a layer chosen by name is a convex combination of its feature maps,
``S(x; u) = h(sum_k softmax(u)_k A^k)`` (eq. 8). The image is masked by ``s = n(up(S))`` (eq. 10) and ``u`` is
optimised with Adam so that an objective of the class score of the masked image is maximised (eq. 9).

Faithful to the paper and the authors' code where they agree: features computed once (only the masked forward
passes run inside the loop), ``u`` initialised to a constant (uniform weights), Adam with lr 0.1, at most 100
iterations, early stop when the loss changes by less than 1e-10, bilinear upsampling (align_corners=False), masking
in [0, 1] pixel space before the model's input normalization (``mask_space="pixel"``; ``"normalized"`` masks the
normalized image, as :mod:`metrics` does). Deliberate differences from the authors' code:
early stopping is decided per image (their check sums the loss over the batch, coupling images), range
normalization of a constant map gives ones (no masking) instead of NaN, and the returned
weights are those of the best objective value seen (eq. 9 is an argmax), not simply the last Adam iterate.
"""
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from xai_nb_utils.core.params import check_choice
from xai_nb_utils.core.tensors import as_targets, normalize_maps
from xai_nb_utils.methods.registry import register_method
from xai_nb_utils.metrics.perturbation import class_scores, to_mask_space
from xai_nb_utils.models.networks import get_layer

NORMALIZATIONS = ("range", "max", "sigmoid")
OBJECTIVES = ("mask", "diff", "iomask", "iodiff")
SELECTOR_SCORES = {"logit": "logit", "probability": "softmax"}  # selector g_c -> metrics.class_scores score
MASK_SPACES = ("pixel", "normalized")
ACTIVATIONS = ("identity", "relu")

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def combine_features(features: torch.Tensor, weights: torch.Tensor, activation: str = "identity") -> torch.Tensor:
    """``h(sum_k w_k A^k)``: (N, K, h, w) features and (N, K) weights -> (N, 1, h, w)."""
    combined = torch.einsum("nkhw,nk->nhw", features, weights).unsqueeze(1)
    return torch.relu(combined) if activation == "relu" else combined


def saliency_mask(features, u, size, normalization="range", activation="identity") -> torch.Tensor:
    """``s = n(up(S(x; u)))`` of eq. 10 at the input resolution ``size`` = (H, W), values in [0, 1].

    ``n`` is :func:`core.tensors.normalize_maps`: ``range`` (eq. 16; a constant map becomes all ones, never NaN),
    ``max`` (eq. 17, negatives clipped) or ``sigmoid`` (eq. 18), per image.
    """
    saliency = combine_features(features, torch.softmax(u, dim=1), activation)
    upsampled = F.interpolate(saliency, size=size, mode="bilinear", align_corners=False)
    return normalize_maps(upsampled, normalization, constant="ones")


@torch.no_grad()
def clean_pass(model, image, target, layer, score="logit", mask_space="pixel"):
    """One forward pass of the unmasked ``image`` (in ``mask_space``): the activations of ``layer`` (N, K, h, w)
    and the selected score of ``target`` (N,)."""
    captured = {}
    handle = get_layer(model, layer).register_forward_hook(lambda m, i, out: captured.update(out=out))
    try:
        clean_score = class_scores(model, image, target, score, mask_space)
    finally:
        handle.remove()
    return captured["out"].detach(), clean_score


def _loss(model, image, mask, target, clean_score, objective, score, mask_space):
    """Per-image loss to minimise = -F of eq. 10 (mask), eq. 19 (diff), A1 (iomask), A2 (iodiff)."""
    inside_outside = objective in ("iomask", "iodiff")
    repeats = 2 if inside_outside else 1
    masks = torch.cat([mask, 1 - mask]) if inside_outside else mask
    scores = class_scores(model, image.repeat(repeats, 1, 1, 1) * masks, target.repeat(repeats), score, mask_space)
    inside = scores[: len(image)]
    if objective == "mask":
        return -inside
    if objective == "diff":
        return (clean_score - inside).abs()
    outside = scores[len(image):]
    if objective == "iomask":
        return -(inside - outside)
    return (clean_score - inside).abs() - (clean_score - outside).abs()


@dataclass
class OptiCamResult:
    maps: torch.Tensor  # (N, 1, H, W) saliency masks s in [0, 1] at the best u
    weights: torch.Tensor  # (N, K) softmax(u*)
    n_iter: torch.Tensor  # (N,) iterations (masked forward/backward passes) run for each image
    objective: torch.Tensor  # (N,) best objective value F (the negative of the loss)
    snapshots: dict = field(default_factory=dict)  # iteration t -> maps of the best u within the first t


@torch.enable_grad()  # also when called inside a no_grad block
def optimize_opticam(model, x, target, layer=None, objective="mask", normalization="range", selector="logit",
                     activation="identity", mask_space="pixel", lr=0.1, max_iter=100, tol=1e-10,
                     snapshot_iters=()) -> OptiCamResult:
    """Opti-CAM for a batch: optimise u per image with a hand-written, row-wise Adam.

    Images are independent: each has its own Adam moments and stops on its own when its loss changes by less
    than ``tol``, after which it leaves the batch (no further forward passes for it). ``layer`` is a module
    name (default ``model.cam_layer_name``); ``snapshot_iters`` keeps the maps after those iteration counts
    (for convergence curves from a single run).
    """
    for name, value, allowed in (("objective", objective, OBJECTIVES), ("normalization", normalization, NORMALIZATIONS),
                                 ("selector", selector, SELECTOR_SCORES), ("activation", activation, ACTIVATIONS),
                                 ("mask_space", mask_space, MASK_SPACES)):
        check_choice(name, value, allowed)
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise ValueError(f"parameter 'max_iter' must be an integer >= 1, got {max_iter!r}")
    if not lr > 0:
        raise ValueError(f"parameter 'lr' must be > 0, got {lr!r}")
    target = as_targets(target, len(x), x.device)
    score = SELECTOR_SCORES[selector]
    image = to_mask_space(model, x.detach(), mask_space)
    features, clean_score = clean_pass(model, image, target, layer, score, mask_space)
    n, k = features.shape[:2]
    size = tuple(x.shape[-2:])
    u = torch.zeros(n, k, device=x.device, dtype=features.dtype)
    first_moment, second_moment = torch.zeros_like(u), torch.zeros_like(u)
    best_u, best_loss = u.clone(), torch.full((n,), float("inf"), device=x.device)
    previous_loss = torch.full((n,), float("nan"), device=x.device)
    active = torch.ones(n, dtype=torch.bool, device=x.device)
    n_iter = torch.zeros(n, dtype=torch.long, device=x.device)
    snapshots = {}
    beta1, beta2 = ADAM_BETAS
    for step in range(1, max_iter + 1):
        rows = active.nonzero().squeeze(1)
        if len(rows) == 0:
            break
        u_rows = u[rows].requires_grad_(True)
        mask = saliency_mask(features[rows], u_rows, size, normalization, activation)
        loss = _loss(model, image[rows], mask, target[rows], clean_score[rows], objective, score, mask_space)
        (grad,) = torch.autograd.grad(loss.sum(), u_rows)
        loss = loss.detach()
        n_iter[rows] += 1
        improved = loss < best_loss[rows]
        best_loss[rows[improved]] = loss[improved]
        best_u[rows[improved]] = u_rows.detach()[improved]
        converged = (loss - previous_loss[rows]).abs() < tol
        previous_loss[rows] = loss
        active[rows[converged]] = False
        go, grad = rows[~converged], grad[~converged]
        first_moment[go] = beta1 * first_moment[go] + (1 - beta1) * grad
        second_moment[go] = beta2 * second_moment[go] + (1 - beta2) * grad * grad
        step_size = lr / (1 - beta1 ** step)
        denominator = (second_moment[go] / (1 - beta2 ** step)).sqrt() + ADAM_EPS
        u[go] = u[go] - step_size * first_moment[go] / denominator
        if step in snapshot_iters:
            snapshots[step] = _final_maps(features, best_u, size, normalization, activation)
    maps = _final_maps(features, best_u, size, normalization, activation)
    for step in snapshot_iters:  # images that all stopped before a snapshot: their final maps
        snapshots.setdefault(step, maps)
    return OptiCamResult(maps, torch.softmax(best_u, dim=1), n_iter, -best_loss, snapshots)


@torch.no_grad()
def _final_maps(features, u, size, normalization, activation):
    return saliency_mask(features, u, size, normalization, activation)


@register_method("opticam", "single", "optimisation")
def opticam(model, x, target, **kwargs) -> torch.Tensor:
    """Registry entry: Opti-CAM saliency maps (N, 1, H, W) in [0, 1]; kwargs as :func:`optimize_opticam`."""
    return optimize_opticam(model, x, target, **kwargs).maps
