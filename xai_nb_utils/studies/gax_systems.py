"""What notebooks 02 and 03 (the GAX paper) share: the systems they study and the AX CO-score table.

A system is a :class:`~xai_nb_utils.studies.common.System` whose ``extra`` holds ``dataset`` (the preset's dataset
name; ``"imagenet"`` or ``"chest_xray"`` on the paper profile) and ``gradcam_layer`` (the first conv layer, the paper's LayerGradCam
layer: ResNet34 ``conv1`` / AlexNet ``features[0]``; ``None`` for models without one, the tabular MLPs).
"""
import types
from dataclasses import replace

import numpy as np
import pandas as pd
import torch
from torchvision.models.resnet import BasicBlock
from xai_nb_utils.core.cache import cached_computation
from xai_nb_utils.core.progress import tqdm

from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.core.ledger import claims_summary  # noqa: F401  (used by the notebooks)
from xai_nb_utils.core.params import check_choice
from xai_nb_utils.data.external import load_chest_xray, load_imagenet_val, paper_side
from xai_nb_utils.methods.gax import COMBINATIONS, OUTPUTS, as_output, ax_heatmap
from xai_nb_utils.metrics.perturbation import ax_combine, co_score_from_outputs
from xai_nb_utils.models.fine_tuning import GAX_CHEST_MODELS, fine_tuned_chest_model
from xai_nb_utils.models.pretrained import pretrained_model
from xai_nb_utils.models.training import trained_model
from xai_nb_utils.studies.common import System, method_label, select_images

PAPER = "GAX"  # the paper's name in the paper-claims ledger (Tjoa & Guan)

# Registry names of the six captum methods of the paper (its Table 2 columns, via studies.common.METHOD_LABELS).
PAPER_AX_METHODS = ("saliency", "input_x_gradient", "layer_gradcam", "deconvolution", "guided_backprop", "deeplift")

# The paper's networks: architecture -> (model label, LayerGradCam layer)
PAPER_ARCHITECTURES = {"resnet34": ("Resnet34", "net.conv1"), "alexnet": ("Alexnet", "net.features.0")}


# -------------------------------------------------------------------------------------------------- systems


def first_conv_layer(model: torch.nn.Module) -> str | None:
    return next((name for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)), None)


def embedded_system(preset: str, name: str, profile: str, n: int, seed: int, device, variant: str = "well",
                    min_wrong: int = 0) -> System:
    """An embedded model (trained or loaded from the cache) with ``n`` test samples drawn with ``seed`` (the
    embedded splits are sorted by class), then, when fewer than ``min_wrong`` of them are predicted wrongly, the
    next wrongly predicted images of the same seeded order appended until ``min_wrong`` (or the split runs out).
    ``extra["n_random"]`` = n: the first n images are the random sample, the rest the top-up."""
    trained = trained_model(preset, profile=profile, variant=variant, seed=seed, device=device)
    test = trained.dataset.test
    x, y = test if isinstance(test, tuple) else (test.x, test.y)
    order = select_images(trained.model, x, y, len(y), "seeded", seed)
    index = order[:n]
    if min_wrong > 0:
        wrong = predicted_classes(trained.model, x[order].to(device)).cpu() != y[order].cpu()
        missing = max(0, min_wrong - int(wrong[:n].sum()))
        index = torch.cat([index, order[n:][wrong[n:]][:missing]])
    return System(name, trained.model, x[index].to(device), y[index].to(device), classes=trained.dataset.classes,
                  accuracy=trained.test_accuracy,
                  extra={"dataset": trained.config.dataset, "gradcam_layer": first_conv_layer(trained.model),
                         "n_random": min(n, len(y))})


def imagenet_systems(n: int, seed: int, device, size: int = 256) -> list:
    """The paper profile: pretrained ResNet34 and AlexNet on ``n`` random ImageNet validation images (user-supplied
    folder and weights, see :mod:`xai_nb_utils.data.external`; a clear MissingDataError names what to put where).
    Images are resized and centre-cropped to ``size`` (the paper: 256 x 256; :func:`external.paper_side`) in [0, 1]
    pixel space."""
    size = paper_side(size)
    split = load_imagenet_val(n=n, seed=seed, size=size, resize=size).head(n)
    return [System(f"IMN, {label}", separate_block_relus(pretrained_model(arch, device=device)), split.x.to(device),
                   split.y.to(device), extra={"dataset": "imagenet", "gradcam_layer": layer})
            for arch, (label, layer) in PAPER_ARCHITECTURES.items()]


def chest_systems(n: int, seed: int, device, names=tuple(GAX_CHEST_MODELS), size: int = 256) -> list:
    """The paper profile's pneumonia systems (``names`` of :data:`~xai_nb_utils.models.fine_tuning.GAX_CHEST_MODELS`):
    ResNet34 / AlexNet fine-tuned on the user's Kaggle chest X-ray folder (trained once, cached), each on the same
    ``n`` test X-rays drawn with ``seed`` (all of them when ``n`` exceeds the test split). ``extra["fine_tuning"]``
    holds each model's iterations, validation / test accuracy and whether it reached its target."""
    dataset = load_chest_xray(size=paper_side(size), seed=seed)
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(dataset.test)))
    images = dataset.test.subset(order[:n].sort().values)
    systems = []
    for name in names:
        model, facts = fine_tuned_chest_model(name, dataset, device, seed)
        arch = GAX_CHEST_MODELS[name][0]
        systems.append(System(f"Pneu, {name}", separate_block_relus(model), images.x.to(device), images.y.to(device),
                              classes=dataset.classes, accuracy=facts["test_accuracy"],
                              extra={"dataset": "chest_xray", "gradcam_layer": PAPER_ARCHITECTURES[arch][1],
                                     "fine_tuning": facts}))
    return systems


def correctly_predicted(system: System, n: int) -> System:
    """The system restricted to the first ``n`` of its samples that its model classifies correctly (GAX uses only
    those, as in the paper)."""
    index = select_images(system.model, system.x, system.y, n, "correct").to(system.x.device)
    return replace(system, x=system.x[index], y=system.y[index])


def separate_block_relus(model: torch.nn.Module) -> torch.nn.Module:
    """torchvision's ResNet ``BasicBlock`` applies one ReLU module twice, which captum's DeepLift rejects; give the
    second use its own module (same function, so the outputs do not change)."""

    def forward(block, z):
        out = block.relu(block.bn1(block.conv1(z)))
        out = block.bn2(block.conv2(out))
        identity = z if block.downsample is None else block.downsample(z)
        return block.relu_out(out + identity)

    for block in model.modules():
        if isinstance(block, BasicBlock):
            block.relu_out = torch.nn.ReLU()
            block.forward = types.MethodType(forward, block)
    return model


# ---------------------------------------------------------------------------------------------- AX CO scores


@cached_computation("ax-scores")
def ax_scores(
    model: torch.nn.Module,
    x: torch.Tensor,
    labels: torch.Tensor,
    methods=PAPER_AX_METHODS,
    combinations=COMBINATIONS,
    outputs=OUTPUTS,
    batch_size: int = 128,
    method_kwargs: dict | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """CO scores of the AX process w.r.t. ``labels``, one row per (sample, method, combination, output).

    ``methods`` are registry names; ``method_kwargs`` maps a method to extra registry arguments (e.g.
    ``{"layer_gradcam": {"layer": "conv1"}}``). Columns: ``index, method`` (the display name), ``combination,
    output, co, label, pred, correct, pred_after`` (the prediction on the combined input).
    """
    for combination in combinations:
        check_choice("combinations", combination, COMBINATIONS)
    for output in outputs:
        check_choice("outputs", output, OUTPUTS)
    method_kwargs = method_kwargs or {}
    model.eval()
    rows = []
    for method in tqdm(methods, desc="AX methods", disable=not progress):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], labels[start:start + batch_size]
            h = ax_heatmap(model, xb, method, **method_kwargs.get(method, {}))
            with torch.no_grad():
                before = model(xb)
                for combination in combinations:
                    after = model(ax_combine(xb, h, combination))
                    for output in outputs:
                        # metrics.co_score(model, xb, h, yb, combination, output), without repeating the forward passes
                        co = co_score_from_outputs(*(as_output(t, output) for t in (before, after)), yb)
                        rows += _rows(start, method_label(method), combination, output, co, yb, before.argmax(1),
                                      after.argmax(1))
    return pd.DataFrame(rows)


def _rows(start, method, combination, output, co, labels, pred, pred_after) -> list:
    columns = [t.detach().cpu().numpy() for t in (co, labels, pred, pred_after)]
    return [
        {"index": start + i, "method": method, "combination": combination, "output": output, "co": float(c),
         "label": int(y), "pred": int(p), "correct": bool(y == p), "pred_after": int(pa)}
        for i, (c, y, p, pa) in enumerate(zip(*columns))
    ]


def gradcam_kwargs(layer: str) -> dict:
    """LayerGradCam at ``layer`` with captum's default ``relu_attributions=False``, as in the authors' code."""
    return {"layer_gradcam": {"layer": layer, "relu": False}}


def ax_study(systems: list, methods=PAPER_AX_METHODS, combinations=COMBINATIONS, outputs=OUTPUTS,
             batch_size: int = 64, progress: bool = True) -> pd.DataFrame:
    """:func:`ax_scores` for every system (LayerGradCam at the system's first conv layer, skipped where there is
    none), with a ``model`` column and ``random_sample`` (False for the wrong predictions a system was topped up
    with, :func:`embedded_system`)."""
    tables = []
    for system in tqdm(systems, desc="models", disable=not progress):
        layer = system.extra["gradcam_layer"]
        usable = [m for m in methods if m != "layer_gradcam" or layer is not None]
        table = ax_scores(system.model, system.x, system.y, usable, combinations, outputs, batch_size,
                          gradcam_kwargs(layer), False)
        n_random = system.extra.get("n_random", len(system.y))
        tables.append(table.assign(model=system.name, random_sample=table["index"] < n_random))
    return pd.concat(tables, ignore_index=True)
