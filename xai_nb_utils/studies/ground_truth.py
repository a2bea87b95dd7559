"""Ground truth for notebook 08: where the evidence is, by construction and by intervention.

* **The evidence mask.** In a DigitScenes scene the label is decided by exactly one object, the digit, among
  distractors kept off its box. ``data.background_scenes`` regenerates the same scenes without their digit (every
  random draw is the same), so the digit's pixel mask is where the two images differ.
* **The interventional ground truth.** The scene network of the benchmark was trained with those digit-free scenes
  as no-evidence images (towards the uniform distribution), so removing the digit stays in the training
  distribution (as IDSDS trains on deletions): the drop of p(label) from the scene to its digit-free copy, computed
  by the model, is the digit's effect on that image.
* **A network with a known attribution.** :class:`AdditiveRegionNet` has its weights set by hand: the logit of
  class c is the sum of the pixels in region c. For such an additive model, integrated gradients from a black
  baseline and the Shapley values of the pixels both equal ``x`` on region c and 0 elsewhere
  (:func:`exact_attribution`); a unit test checks the registry's methods against it.
"""
import numpy as np
import torch
from torch import nn

from xai_nb_utils.core.evaluation import predict_logits
from xai_nb_utils.data.embedded import background_scenes

#: a pixel belongs to the digit when some channel changes by more than this when the digit is removed (the
#: scenes are stored as 8-bit values: 3 grey levels)
MASK_THRESHOLD = 3 / 255
_WITHOUT_DIGITS = {}


def digit_removed(dataset, split: str = "test", rows=slice(None)) -> torch.Tensor:
    """The same scenes without their digit (generated or loaded once per process and dataset)."""
    description = repr(sorted(dataset.info.items()))
    if description not in _WITHOUT_DIGITS:
        _WITHOUT_DIGITS[description] = background_scenes(dataset)
    return getattr(_WITHOUT_DIGITS[description], split).x[rows]


def evidence_masks(dataset, split: str = "test", rows=slice(None)) -> torch.Tensor:
    """Boolean (N, 1, H, W) masks of the digit's pixels of ``dataset``'s ``split`` (a DigitScenes dataset)."""
    scenes = getattr(dataset, split).x[rows]
    return ((scenes - digit_removed(dataset, split, rows)).abs().amax(1, keepdim=True) > MASK_THRESHOLD)


def label_probabilities(model, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """p(y | x) per image (softmax of the model's logits)."""
    return predict_logits(model, x).softmax(1)[torch.arange(len(y)), y].numpy()


def mask_mass(maps: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    """Per image: the share of the map's absolute mass on the mask (one-channel maps; the ground-truth agreement
    of a map). A map that is zero everywhere gets the mask's area share."""
    weight = maps.abs().flatten(1).double()
    inside = masks.flatten(1).double()
    total = weight.sum(1)
    share = (weight * inside).sum(1) / total.clamp(min=1e-12)
    return torch.where(total > 0, share, inside.mean(1)).numpy()


def testbed_health(model, dataset, n_images: int) -> dict:
    """The ground-truth testbed's health on its first ``n_images`` test scenes: accuracy, p(label) with and
    without the digit, the interventional drop (mean, share of images where it exceeds 0.5), the digit's area."""
    part, rows = dataset.test, slice(0, n_images)
    x, y = part.x[rows], part.y[rows]
    with_digit = label_probabilities(model, x, y)
    without = label_probabilities(model, digit_removed(dataset, "test", rows), y)
    drops = with_digit - without
    masks = evidence_masks(dataset, "test", rows)
    return {"n": len(y), "accuracy": float((predict_logits(model, x).argmax(1) == y).float().mean()),
            "p(label) with the digit": float(with_digit.mean()),
            "p(label) without the digit": float(without.mean()),
            "mean interventional drop": float(drops.mean()),
            "share of images with a drop above 0.5": float((drops > 0.5).mean()),
            "digit area (share of the pixels)": float(masks.float().mean())}


class AdditiveRegionNet(nn.Module):
    """A network with hand-set weights: the logit of class c is the sum of the input's pixels (all channels) in
    region c of ``regions`` (C, H, W booleans). It is linear, so its exact attribution is known."""

    def __init__(self, regions: torch.Tensor):
        super().__init__()
        self.register_buffer("weight", regions.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nchw,khw->nk", x, self.weight)


def quadrant_regions(size: int) -> torch.Tensor:
    """Four classes, one per quadrant of a ``size`` x ``size`` image: (4, size, size) booleans."""
    half = size // 2
    regions = torch.zeros(4, size, size, dtype=torch.bool)
    for k, (top, left) in enumerate(((0, 0), (0, half), (half, 0), (half, half))):
        regions[k, top:top + half, left:left + half] = True
    return regions


def exact_attribution(net: AdditiveRegionNet, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The exact attribution of :class:`AdditiveRegionNet` for ``target`` against a black baseline: ``x`` on the
    target's region, 0 elsewhere (integrated gradients and the pixels' Shapley values of an additive model)."""
    return x * net.weight[target][:, None]
