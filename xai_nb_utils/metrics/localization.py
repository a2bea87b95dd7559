"""Localization metrics of saliency maps against ground-truth boxes (weakly-supervised object localization).

Definitions follow Opti-CAM's Appendix B (Zhang et al., CVIU 2024): official metric (OM), localization error (LE),
pixel-wise F1, box accuracy (BA, Choe et al. 2020), standard pointing game (SP), energy pointing game (EP) and
saliency metric (SM, Dabkowski & Gal 2017). Boxes are (x0, y0, x1, y1) pixel coordinates with x1, y1 exclusive;
an image may have several ground-truth boxes of its class. Maps are range-normalized to [0, 1] per image first.
"""
import numpy as np
import torch
from scipy import ndimage

from xai_nb_utils.core.tensors import normalize_maps_numpy

DEFAULT_BOX_THRESHOLDS = tuple(np.round(np.linspace(0.0, 0.95, 20), 2))
DEFAULT_IOU_THRESHOLDS = (0.3, 0.5, 0.7)


def box_iou(a, b) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes; 0 when both are empty."""
    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def largest_component_box(binary: np.ndarray) -> tuple:
    """Bounding box of the largest 4-connected component of a boolean (H, W) mask; (0, 0, 0, 0) when empty."""
    labels, count = ndimage.label(binary)
    if count == 0:
        return (0, 0, 0, 0)
    sizes = np.bincount(labels.ravel())[1:]
    rows, cols = np.nonzero(labels == 1 + int(np.argmax(sizes)))
    return (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)


def _box_lists(boxes, n) -> list:
    """(N, 4) or a length-N list of (B_i, 4) boxes -> list of lists of 4-tuples."""
    if isinstance(boxes, (torch.Tensor, np.ndarray)) and np.ndim(boxes) == 2:
        boxes = [[b] for b in np.asarray(boxes)]
    if len(boxes) != n:
        raise ValueError(f"parameter 'boxes' has {len(boxes)} entries for {n} maps")
    return [[tuple(int(v) for v in b) for b in np.asarray(image_boxes).reshape(-1, 4)] for image_boxes in boxes]


def _union_mask(image_boxes, shape) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for x0, y0, x1, y1 in image_boxes:
        mask[y0:y1, x0:x1] = True
    return mask


def pointing(saliency: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    """Standard pointing game (1 when the map's maximum lies in ``inside``) and energy pointing game (the share of
    the map's mass in ``inside``; 0 for an all-zero map) of one non-negative (H, W) map."""
    mass = saliency.sum()
    return float(inside.flat[int(np.argmax(saliency))]), float(saliency[inside].sum() / mass) if mass > 0 else 0.0


def pointing_scores(maps, boxes) -> dict:
    """Per-image standard (SP) and energy (EP) pointing games in percent of maps (N, 1|C, H, W) against the
    images' boxes, maps normalised to [0, 1] first (channels averaged), as :func:`localization_metrics` does."""
    s = normalize_maps_numpy(maps, constant="zeros")
    s = s.reshape(len(s), -1, *s.shape[-2:]).mean(1)
    gt = _box_lists(boxes, len(s))
    scores = np.array([pointing(s[i], _union_mask(gt[i], s.shape[-2:])) for i in range(len(s))])
    return {"SP": 100 * scores[:, 0], "EP": 100 * scores[:, 1]}


def localization_metrics(maps, boxes, true_class_prob, correct, box_thresholds=DEFAULT_BOX_THRESHOLDS,
                         iou_thresholds=DEFAULT_IOU_THRESHOLDS, binarize_at="mean") -> dict:
    """All seven Appendix-B metrics averaged over the images, in percent (SM unitless).

    ``true_class_prob``: the model's probability p^c of the ground-truth class (for SM); ``correct``: whether the
    prediction is the ground truth (for OM). ``binarize_at="mean"`` thresholds each map at its mean value for
    the predicted box of OM/LE/SM (the paper); a float thresholds at that value of the [0, 1] map instead.
    BA: for each threshold eta the box of the largest component of {S > eta} must reach IoU >= delta with a
    ground-truth box; the accuracy over images is maximised over eta, then averaged over ``iou_thresholds``.
    """
    s = normalize_maps_numpy(maps, constant="zeros")
    s = s.reshape(len(s), *s.shape[-2:])
    n, h, w = s.shape
    gt = _box_lists(boxes, n)
    true_class_prob = np.asarray(torch.as_tensor(true_class_prob).detach().cpu(), dtype=float).reshape(n)
    correct = np.asarray(torch.as_tensor(correct).detach().cpu(), dtype=bool).reshape(n)
    per_image = {key: np.zeros(n) for key in ("OM", "LE", "F1", "SP", "EP", "SM")}
    hits = np.zeros((len(box_thresholds), len(iou_thresholds)))
    for i in range(n):
        union = _union_mask(gt[i], (h, w))
        level = s[i].mean() if binarize_at == "mean" else float(binarize_at)
        predicted = largest_component_box(s[i] > level)
        best_iou = max(box_iou(predicted, b) for b in gt[i])
        per_image["LE"][i] = 1 - best_iou
        per_image["OM"][i] = 1 - best_iou * correct[i]
        per_image["SP"][i], precision = pointing(s[i], union)
        recall = s[i][union].sum() / max(union.sum(), 1)
        per_image["EP"][i] = precision
        per_image["F1"][i] = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        area = (predicted[2] - predicted[0]) * (predicted[3] - predicted[1]) / (h * w)
        per_image["SM"][i] = np.log(max(0.05, area)) - np.log(max(true_class_prob[i], 1e-12))
        for t, eta in enumerate(box_thresholds):
            iou = max(box_iou(largest_component_box(s[i] > eta), b) for b in gt[i])
            hits[t] += [iou >= delta for delta in iou_thresholds]
    result = {key: 100 * values.mean() for key, values in per_image.items() if key != "SM"}
    result["BA"] = 100 * (hits / n).max(axis=0).mean()
    result["SM"] = per_image["SM"].mean()
    return {key: float(result[key]) for key in ("OM", "LE", "F1", "BA", "SP", "EP", "SM")}
