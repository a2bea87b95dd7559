"""Saliency metrics with every convention an explicit argument.

* CO score (Tjoa & Guan, eq. 5): ``s . [f(x + h) - f(x)]`` with ``s_j = 1`` for the ground truth and
  ``-1/(C-1)`` otherwise; raw logits by default.
* Insertion / deletion (Petsiuk et al., RISE): the score of the target class as pixels are inserted into a
  baseline image or deleted from the image, most salient first, and the area under that curve.
* Average drop / increase / gain (Opti-CAM eqs. 13-15): the class score of the image masked by its saliency map
  against the score of the image.

Images are in [0,1] pixel space; our image models normalise inside (``model.normalizer``), and
``mask_space="normalized"`` blends after that normalisation instead (the convention of some libraries).
"""
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from xai_nb_utils.core.evaluation import chunk_rows, evaluate_rows, forward_in_chunks
from xai_nb_utils.core.params import check_choice
from xai_nb_utils.core.tensors import baseline_image, normalize_maps
from xai_nb_utils.core.validate import (check_images, check_maps, check_positive_int, check_targets,
                                       model_output_on_one)

# ----------------------------------------------------------------------------------------------- CO score


def co_weights(target: torch.Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(N, C) weights of ``dtype``: +1 for the target class, -1/(C-1) for every other class."""
    weights = torch.full((len(target), num_classes), -1.0 / (num_classes - 1), dtype=dtype, device=target.device)
    weights[torch.arange(len(target)), target] = 1.0
    return weights


def co_score_from_outputs(before: torch.Tensor, after: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CO score from model outputs before and after the heatmap is applied, (N,)."""
    return (co_weights(target, before.shape[1], before.dtype) * (after - before)).sum(1)


def ax_combine(x: torch.Tensor, h: torch.Tensor, combine: str = "add") -> torch.Tensor:
    """The AX process: ``x + h`` (``"add"``, the paper's main variant) or ``x * h`` (``"mul"``)."""
    check_choice("combine", combine, ("add", "mul"))
    return x + h if combine == "add" else x * h


def co_score(model, x: torch.Tensor, h: torch.Tensor, target: torch.Tensor, combine: str = "add",
             output: str = "logit") -> torch.Tensor:
    """CO score of heatmaps ``h`` (same shape as ``x``, or broadcastable) for ``model`` on ``x``, (N,).

    ``output="logit"`` (paper default) uses raw logits, ``"softmax"`` probabilities. Differentiable in ``h``.
    """
    check_choice("output", output, ("logit", "softmax"))
    target = checked_inputs(model, x, target)
    if not isinstance(h, torch.Tensor) or not torch.isfinite(h.detach()).all():
        raise ValueError("h (the heatmaps) must be a finite tensor of the images' shape")
    try:
        torch.broadcast_shapes(h.shape, x.shape)
    except RuntimeError:
        raise ValueError(f"h has shape {tuple(h.shape)}, which does not broadcast to the images' {tuple(x.shape)}") from None
    outputs = lambda inputs: model(inputs).softmax(1) if output == "softmax" else model(inputs)
    return co_score_from_outputs(outputs(x), outputs(ax_combine(x, h, combine)), target)


# ------------------------------------------------------------------------------------------ shared pieces


#: the class scores a metric can read: the softmax probability or the raw logit of the target
SCORES = ("softmax", "logit")


def checked_inputs(model, x: torch.Tensor, target) -> torch.Tensor:
    """Validate the images and the model's answer to them; return the targets as a LongTensor (N,)."""
    check_images(x)
    num_classes = model_output_on_one(model, x).shape[1]
    return check_targets(target, len(x), num_classes, x.device)


def class_scores(model, x: torch.Tensor, target: torch.Tensor, score: str = "softmax",
                 mask_space: str = "pixel") -> torch.Tensor:
    """Score of ``target`` per sample: ``"softmax"`` probability or raw ``"logit"``; ``x`` in ``mask_space``.
    Differentiable (Opti-CAM's objective): the model runs in chunks (:func:`core.evaluation.forward_in_chunks`)."""
    check_choice("score", score, SCORES)
    forward = model.forward_normalized if mask_space == "normalized" else model
    return scores_of(forward_in_chunks(forward, x), target, score)


def scores_of(logits: torch.Tensor, target: torch.Tensor, score: str) -> torch.Tensor:
    """The ``"softmax"`` probability or raw ``"logit"`` of ``target`` per row of ``logits``."""
    values = logits.softmax(1) if score == "softmax" else logits
    return values.gather(1, target.view(-1, 1)).squeeze(1)


def to_mask_space(model, x: torch.Tensor, mask_space: str) -> torch.Tensor:
    check_choice("mask_space", mask_space, ("pixel", "normalized"))
    return model.normalizer(x) if mask_space == "normalized" else x


def pixel_saliency(saliency: torch.Tensor, channel_reduce: str = "sum") -> torch.Tensor:
    """(N,1,H,W) or (N,C,H,W) -> (N,H*W) per-pixel importance (channels reduced by ``sum`` or ``abs_sum``)."""
    check_choice("channel_reduce", channel_reduce, ("sum", "abs_sum"))
    values = saliency.abs() if channel_reduce == "abs_sum" else saliency
    return values.sum(1).flatten(1)


# -------------------------------------------------------------------------------------- insertion/deletion


@dataclass
class PerturbationCurves:
    """Scores after each step: ``fractions`` (S+1,) of pixels changed, ``scores`` (N, S+1), ``auc`` (N,)."""

    mode: str
    fractions: np.ndarray
    scores: np.ndarray
    auc: np.ndarray


def area_under_curve(fractions: np.ndarray, scores: np.ndarray, rule: str = "trapezoid") -> np.ndarray:
    """Area under each row of ``scores`` over ``fractions`` in [0,1]: ``trapezoid`` (RISE's rule, exact for
    a last partial step) or ``left`` (left Riemann sum: each step's score times its width)."""
    check_choice("auc", rule, ("trapezoid", "left"))
    widths = np.diff(fractions)
    if rule == "left":
        return (scores[:, :-1] * widths).sum(1)
    return ((scores[:, 1:] + scores[:, :-1]) / 2 * widths).sum(1)


def distinct_curve_points(differs: torch.Tensor, order: torch.Tensor, steps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The curve points that need a model evaluation, as (image, step) index pairs in curve order.

    A step that changes only pixels where the start and end images agree (``differs`` False over all channels;
    e.g. the black background of an MNIST digit under the zeros baseline) leaves the image as it was, so its
    score is the previous point's: only the first step of each run of identical images is evaluated."""
    n = len(order)
    pixel_differs = differs.any(1).view(n, -1).gather(1, order)
    changed = torch.cat([pixel_differs.new_zeros(n, 1, dtype=torch.long), pixel_differs.long().cumsum(1)], 1)
    changed_by_step = changed[:, steps]  # differing pixels changed after each step, (n, S + 1)
    new_image = torch.ones_like(changed_by_step, dtype=torch.bool)
    new_image[:, 1:] = changed_by_step[:, 1:] != changed_by_step[:, :-1]
    return new_image.nonzero(as_tuple=True)


def point_of_step(point_image: torch.Tensor, point_step: torch.Tensor, n: int, n_steps: int) -> torch.Tensor:
    """For every (image, step) of the curves, (n, S + 1), the index of the evaluated point whose image it shows."""
    evaluated = torch.full((n, n_steps), -1, dtype=torch.long, device=point_image.device)
    evaluated[point_image, point_step] = torch.arange(len(point_image), device=point_image.device)
    return evaluated.cummax(1).values


@torch.no_grad()
def insertion_deletion(model, x: torch.Tensor, saliency: torch.Tensor, target, mode: str = "deletion",
                       baseline: str | None = None, blur_kernel: int | None = None, blur_sigma: float | None = None,
                       pixels_per_step: int | None = None, score: str = "softmax", auc: str = "trapezoid",
                       mask_space: str = "pixel", channel_reduce: str = "sum", chunk: int | None = None,
                       ) -> PerturbationCurves:
    """Insertion or deletion curves (Petsiuk et al. 2018) for a batch.

    Pixels are ranked by saliency (channels reduced by ``channel_reduce``; ties broken by position). Deletion
    replaces the most salient pixels of ``x`` by the baseline; insertion starts from the baseline and reveals
    the most salient pixels of ``x``. Defaults follow RISE: ``baseline`` ``"zeros"`` for deletion and
    ``"blur"`` for insertion (:func:`core.tensors.insertion_blur_for`: RISE's 11/5 at 224 px and above, a stronger
    blur relative to the side below), one image row of pixels per step
    (``pixels_per_step=None`` -> W), softmax scores of ``target``, trapezoid AUC over the fraction of pixels.
    ``mask_space="normalized"`` blends normalised images instead of [0,1] pixels. The n * (S + 1) perturbed
    images go through the model in chunks of ``chunk`` rows (default :func:`core.evaluation.chunk_rows`);
    a step that changes no pixel (the start and end images agree there) repeats the previous score without a
    model evaluation (:func:`distinct_curve_points`).
    """
    check_choice("mode", mode, ("insertion", "deletion"))
    check_choice("score", score, SCORES)
    target = checked_inputs(model, x, target)
    check_maps(saliency, x)
    chunk_rows(x.device, chunk)
    if pixels_per_step is not None:
        check_positive_int("pixels_per_step", pixels_per_step)
    baseline = baseline or ("blur" if mode == "insertion" else "zeros")
    n, _, h, w = x.shape
    total = h * w
    step = pixels_per_step or w
    counts = list(range(0, total, step)) + [total]
    order = torch.argsort(pixel_saliency(saliency, channel_reduce).to(x.device), dim=1, descending=True, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(total, device=x.device).expand(n, total).contiguous())
    rank = rank.view(n, 1, h, w)
    image = to_mask_space(model, x, mask_space)
    other = baseline_image(image, baseline, blur_kernel, blur_sigma)  # zeros in normalised space = the mean
    start, end = (other, image) if mode == "insertion" else (image, other)
    steps = torch.tensor(counts, device=x.device)
    point_image, point_step = distinct_curve_points(start != end, order, steps)

    def curve_points(first, stop):
        images = point_image[first:stop]
        blend = (rank[images] < steps[point_step[first:stop]].view(-1, 1, 1, 1)).to(x.dtype)  # 1: changed to `end`
        return start[images] * (1 - blend) + end[images] * blend

    def target_score(logits, first, stop):
        return scores_of(logits, target[point_image[first:stop]], score)

    forward = model.forward_normalized if mask_space == "normalized" else model
    distinct = evaluate_rows(forward, curve_points, len(point_image), x.device, target_score, chunk)
    scores = distinct[point_of_step(point_image, point_step, n, len(counts))]
    scores = scores.cpu().double()
    fractions = np.array(counts, dtype=np.float64) / total
    scores = scores.numpy()
    return PerturbationCurves(mode, fractions, scores, area_under_curve(fractions, scores, auc))


# ----------------------------------------------------------------------------- average drop / increase / gain


@torch.no_grad()
def average_drop_increase_gain(model, x: torch.Tensor, saliency: torch.Tensor, target, score: str = "softmax",
                               map_normalization: str = "range", mask_space: str = "pixel",
                               channel_reduce: str = "sum") -> dict:
    """Average drop (AD, lower is better), average increase (AI) and average gain (AG) in percent.

    With ``p`` the score of ``target`` on ``x`` and ``o`` on ``x * n(S)`` (the map normalised per image to
    [0,1] by ``map_normalization``, upsampled if needed):
    AD = 100/N sum max(p - o, 0) / p;  AI = 100/N sum 1[p < o];  AG = 100/N sum max(o - p, 0) / (1 - p)
    (Opti-CAM eqs. 13-15; softmax probabilities as in the Opti-CAM authors' evaluation code).
    Returns the three means, the per-image ``p`` and ``o``, and the per-image terms (``per_image``: AD, AG, AI).
    """
    target = checked_inputs(model, x, target)
    check_maps(saliency, x, allow_smaller=True)
    single = pixel_saliency(saliency, channel_reduce).view(len(x), 1, *saliency.shape[-2:])
    if single.shape[-2:] != x.shape[-2:]:
        single = F.interpolate(single, size=x.shape[-2:], mode="bilinear", align_corners=False)
    mask = normalize_maps(single.to(x.device), map_normalization)
    image = to_mask_space(model, x, mask_space)
    p = class_scores(model, image, target, score, mask_space)
    o = class_scores(model, image * mask, target, score, mask_space)
    drop = 100 * (p - o).clamp(min=0) / p.clamp(min=1e-12)
    gain = 100 * (o - p).clamp(min=0) / (1 - p).clamp(min=1e-12)
    increase = 100 * (o > p).to(p.dtype)
    per_image = {"AD": drop.cpu().numpy(), "AG": gain.cpu().numpy(), "AI": increase.cpu().numpy()}
    return {"AD": drop.mean().item(), "AI": increase.mean().item(), "AG": gain.mean().item(),
            "p": p.cpu().numpy(), "o": o.cpu().numpy(), "per_image": per_image}