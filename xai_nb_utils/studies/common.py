"""What several notebooks' studies share: display names, the model + images a study explains, timed maps of a
registry method, the cascading model-randomisation sanity check.
"""
import contextlib
import io
import time
from dataclasses import dataclass, field

import pandas as pd
import torch
from xai_nb_utils.core.cache import cached_computation
from xai_nb_utils.core.progress import tqdm

from xai_nb_utils.core.params import check_choice
from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.core.tensors import normalize_maps, reduce_channels
from xai_nb_utils.methods import explain, method_spec
from xai_nb_utils.metrics.similarity import spearman, ssim
from xai_nb_utils.models.randomize import randomized_copy

#: registry name -> the name the papers and the notebooks' tables use
METHOD_LABELS = {
    "saliency": "Saliency", "input_x_gradient": "InputXGradient", "integrated_gradients": "Integrated Gradients",
    "guided_backprop": "GuidedBackprop", "deconvolution": "Deconvolution", "deeplift": "DeepLift",
    "gradient_shap": "GradientShap", "smoothgrad": "SmoothGrad", "layer_gradcam": "LayerGradCam", "lime": "LIME",
    "gradcam": "Grad-CAM", "gradcam_pp": "Grad-CAM++", "scorecam": "Score-CAM", "ablationcam": "Ablation-CAM",
    "xgradcam": "XGrad-CAM", "layercam": "Layer-CAM", "hirescam": "HiRes-CAM", "fake_cam": "Fake-CAM",
    "random": "Random", "gax": "GAX", "igos": "I-GOS", "igos_pp": "iGOS++", "opticam": "Opti-CAM", "dre": "DRE",
    "mgnet": "MGnet", "mpert": "MPert", "g3": "G3", "ggig": "GGIG", "geg": "GEG", "ig_unscaled": "IG (unscaled)",
}


def method_label(method: str) -> str:
    """The display name of a registry method (the registry name itself when it has none)."""
    return METHOD_LABELS.get(method, method)


@dataclass
class System:
    """A model with the images a study explains (``x``, ``y`` on the model's device) and what is known of it."""

    name: str
    model: torch.nn.Module
    x: torch.Tensor
    y: torch.Tensor
    classes: list | None = None
    accuracy: float | None = None  # the model's test accuracy (embedded) or its accuracy on ``x`` (paper)
    boxes: object = None  # object boxes of the images, when the data has them
    extra: dict = field(default_factory=dict)  # study-specific facts (mask resolutions, the paper's network, ...)


def select_images(model, x: torch.Tensor, y: torch.Tensor, n: int, how: str = "first", seed: int = 0):
    """Indices of ``n`` images of (x, y): the ``first`` n, n drawn with ``seed`` (``seeded``), or the first n the
    model classifies correctly (``correct``) or wrongly (``misclassified``)."""
    check_choice("how", how, ("first", "seeded", "correct", "misclassified"))
    if how == "first":
        return torch.arange(min(n, len(y)))
    if how == "seeded":
        return torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n]
    device = next(model.parameters()).device
    correct = predicted_classes(model, x.to(device)).cpu() == y.cpu()
    return (correct if how == "correct" else ~correct).nonzero().flatten()[:n]


@dataclass
class TimedMaps:
    maps: torch.Tensor
    seconds_per_image: float


@cached_computation("maps")
def timed_maps(method: str, model, x: torch.Tensor, target: torch.Tensor, batch_size: int | None = None,
               channels: str | None = None, normalization: str | None = None, **kwargs) -> TimedMaps:
    """Maps of a registry method computed in batches of ``batch_size`` (all at once when None), timed.

    ``channels`` (``"sum"`` or ``"abs_sum"``) reduces maps with one channel per input channel to one channel;
    ``normalization`` (``"range"``, constant maps -> ones) rescales each map to [0, 1]. Libraries' progress
    printing (pytorch-grad-cam's Score-CAM) is silenced.
    """
    batch_size = batch_size or len(x)
    chunks, seconds = [], 0.0
    for start in range(0, len(x), batch_size):
        began = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):
            chunks.append(explain(method, model, x[start:start + batch_size], target[start:start + batch_size],
                                  **kwargs))
        seconds += time.perf_counter() - began
    maps = torch.cat(chunks)
    if channels and method_spec(method).channels == "input":
        maps = reduce_channels(maps, channels)
    if normalization:
        maps = normalize_maps(maps, normalization, constant="ones")
    return TimedMaps(maps, seconds / max(len(x), 1))


def candidate_layers(model) -> list:
    """The model's stages when it names them, else its convolutions, in forward order."""
    return list(getattr(model, "stage_names", None) or
                [name for name, module in model.named_modules() if isinstance(module, torch.nn.Conv2d)])


def randomization_order(model, max_layers: int = 6) -> list:
    """Top-down layer order for cascading randomisation: the last linear layer, then :func:`candidate_layers`
    backwards, at most ``max_layers`` entries in all."""
    linear = [name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)]
    return (linear[-1:] + list(reversed(candidate_layers(model))))[:max_layers]


def cascading_randomization(model, maps_of, order, seed: int = 0) -> pd.DataFrame:
    """The model-parameter randomisation sanity check (Adebayo et al.), cascading from the top layer.

    ``maps_of(model) -> {label: maps}`` computes every method's maps, as the study wants them compared;
    ``order`` lists the layers to randomise, top first (``[None]`` randomises the whole model at once). For each
    depth the maps of the randomised copy are compared with the original maps by SSIM and Spearman rank
    correlation (of the maps and of their absolute values). Low similarity = the method depends on the weights.
    """
    reference = maps_of(model)
    rows = []
    for depth in tqdm(range(1, len(order) + 1), desc="randomising layers"):
        layers = None if order[:depth] == [None] else order[:depth]
        maps = maps_of(randomized_copy(model, layers, seed=seed))
        for label, original in reference.items():
            rows.append({"method": label, "randomized up to": order[depth - 1] or "all layers",
                         "SSIM": float(ssim(original, maps[label]).mean()),
                         "rank correlation": float(spearman(original, maps[label]).mean()),
                         "rank correlation (abs)": float(spearman(abs(original), abs(maps[label])).mean())})
    return pd.DataFrame(rows)
