"""The study of notebook 05 (Opti-CAM, Zhang et al., CVIU 2024): the paper's tables as data, the two model / image
systems, the table builders (Tables 1, 3, 5, 6, A7, A9, A12-A14, Figures A4, A5, Appendices G and H), the paper's
claims decided by paired per-image comparisons, and figures.

Every table keeps its per-image scores, so that two methods are always compared on the same images: a costly
method scored on the first ``n_costly`` images is paired with another on exactly those images.

The method itself (eqs. 8-10, 16-19, A1, A2) is :mod:`xai_nb_utils.methods.opticam`.
"""
import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from xai_nb_utils.core.cache import cached_computation
from xai_nb_utils.core.exercises import Exercise
from xai_nb_utils.core.progress import tqdm

from xai_nb_utils.core.ledger import claims_summary  # noqa: F401  (used by the notebooks)
from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.data.embedded import boxes_to_masks
from xai_nb_utils.data.external import load_imagenet_val, paper_crop
from xai_nb_utils.methods.opticam import NORMALIZATIONS, clean_pass, optimize_opticam
from xai_nb_utils.metrics.localization import localization_metrics
from xai_nb_utils.metrics.perturbation import average_drop_increase_gain, insertion_deletion
from xai_nb_utils.metrics.statistics import exact_mcnemar, paired_binary_comparison, paired_comparison, paired_t
from xai_nb_utils.models.pretrained import pretrained_model
from xai_nb_utils.models.training import trained_model
from xai_nb_utils.studies import opticam_claims as claims
from xai_nb_utils.studies.headline import check
from xai_nb_utils.studies.common import (System, candidate_layers, cascading_randomization, method_label,
                                        randomization_order, select_images, timed_maps)

PAPER = claims.PAPER  # the paper's name in the claims ledger
#: the methods of the paper's Table 1, in its order (registry names)
TABLE1_METHODS = ("fake_cam", "gradcam", "gradcam_pp", "scorecam", "ablationcam", "xgradcam", "layercam", "hirescam",
                  "lime", "gradient_shap", "opticam")
#: Table A14's methods (Appendix H)
TABLE_A14_METHODS = ("fake_cam", "gradcam", "gradcam_pp", "scorecam", "ablationcam", "xgradcam", "layercam", "opticam")
#: Table A9's methods, and Figure A4's
CLASS_CHOICE_METHODS = ("gradcam", "gradcam_pp", "scorecam", "opticam")
SELECTIVITY_METHODS = ("gradcam", "gradcam_pp", "xgradcam", "layercam", "opticam")
COSTLY_METHODS = ("scorecam", "ablationcam", "lime")  # one forward pass per channel / per perturbation sample
SCORES = ("AD", "AG", "AI")
BATCH_SIZE = 8  # the paper times batches of 8 images
TIME_COLUMN = f"T (s / {BATCH_SIZE} images)"
#: the direction in which each per-image score is better ("less": lower is better)
BETTER = {"AD": "less", "AG": "greater", "AI": "greater", "I": "greater", "D": "less", "OM": "less", "LE": "less",
          "F1": "greater", "SP": "greater", "EP": "greater", "SM": "less", TIME_COLUMN: "less"}
PER_IMAGE_LOCALIZATION = ("OM", "LE", "F1", "SP", "EP", "SM")  # BA is a dataset-level accuracy, not per image
#: Tables 6 and A12: every objective x normalization of the paper's ablations
OBJECTIVE_VARIANTS = ([dict(objective=o, normalization=n) for n in NORMALIZATIONS for o in ("mask", "diff")]
                      + [dict(objective=o, normalization="range") for o in ("iomask", "iodiff")])
LEARNING_RATES = (0.01, 0.1, 1.0)  # Figure A5

# The paper's numbers, for context only (ImageNet validation set, 224x224 images), copied from the paper.
# Table 1 (CNNs): AD, AG, AI in %, T = seconds per batch of 8 images on the authors' GPU.
PAPER_TABLE1 = {network: {method: dict(zip(("AD", "AG", "AI", TIME_COLUMN), values))
                          for method, values in rows.items()} for network, rows in {
    "ResNet50": {"Fake-CAM": (0.8, 1.6, 46.0, 0.00), "Grad-CAM": (12.2, 17.6, 44.4, 0.03),
                 "Grad-CAM++": (12.9, 16.0, 42.1, 0.03), "Score-CAM": (8.6, 26.6, 56.7, 15.22),
                 "Ablation-CAM": (12.5, 16.4, 42.8, 18.26), "XGrad-CAM": (12.2, 17.6, 44.4, 0.03),
                 "Layer-CAM": (15.6, 15.0, 38.8, 0.08), "HiRes-CAM": (12.2, 17.6, 44.4, 0.03),
                 "LIME": (66.7, 3.1, 10.2, 0.63), "GradientShap": (96.8, 0.1, 1.3, 0.87),
                 "Opti-CAM": (1.5, 68.8, 92.8, 4.15)},
    "VGG16": {"Fake-CAM": (0.5, 0.6, 42.6, 0.00), "Grad-CAM": (14.2, 14.7, 40.6, 0.02),
              "Grad-CAM++": (17.1, 10.2, 33.4, 0.02), "Score-CAM": (13.5, 15.6, 41.7, 3.11),
              "Ablation-CAM": (15.5, 12.6, 36.9, 2.98), "XGrad-CAM": (13.8, 14.8, 41.2, 0.02),
              "Layer-CAM": (48.9, 3.1, 13.5, 0.07), "HiRes-CAM": (15.8, 13.2, 37.8, 0.02),
              "LIME": (62.7, 2.9, 11.1, 0.67), "GradientShap": (94.0, 0.1, 2.9, 0.60),
              "Opti-CAM": (1.3, 71.2, 92.7, 3.94)}}.items()}

# Table 3: insertion (I) / deletion (D) AUC in %.
PAPER_TABLE3 = {network: {method: dict(zip(("I", "D"), values)) for method, values in rows.items()}
                for network, rows in {
    "ResNet50": {"Fake-CAM": (50.7, 28.1), "Grad-CAM": (66.3, 14.7), "Grad-CAM++": (66.0, 14.7),
                 "Score-CAM": (65.7, 16.3), "XGrad-CAM": (66.3, 14.7), "Layer-CAM": (67.0, 14.2),
                 "Ablation-CAM": (65.9, 14.6), "LIME": (60.0, 15.3), "GradientShap": (58.5, 6.3),
                 "Opti-CAM": (62.0, 19.7)},
    "VGG16": {"Fake-CAM": (46.1, 26.9), "Grad-CAM": (64.1, 11.6), "Grad-CAM++": (62.9, 12.2),
              "Score-CAM": (62.5, 12.1), "XGrad-CAM": (64.1, 11.7), "Layer-CAM": (58.3, 6.4),
              "Ablation-CAM": (63.8, 11.4), "LIME": (56.6, 14.8), "GradientShap": (43.4, 5.2),
              "Opti-CAM": (59.2, 11.0)}}.items()}

# Table 5 (VGG16): AD / AG / AI of S, B ∩ S and S \ B; the box rows have S only.
PAPER_TABLE5 = {"VGG16": {
    "S := B": {"AD S": 67.2, "AG S": 2.3, "AI S": 9.2}, "S := I \\ B": {"AD S": 44.0, "AG S": 2.8, "AI S": 16.3},
    **{method: dict(zip([f"{score} {region}" for score in SCORES for region in ("S", "B ∩ S", "S \\ B")], values))
       for method, values in {
           "Fake-CAM": (0.5, 67.2, 44.1, 0.7, 2.3, 2.8, 42.0, 9.2, 18.9),
           "Grad-CAM": (15.0, 72.6, 52.1, 15.3, 1.8, 6.0, 40.4, 8.4, 19.4),
           "Grad-CAM++": (16.5, 72.9, 53.1, 10.6, 1.6, 4.1, 35.2, 7.3, 17.1),
           "Score-CAM": (12.5, 71.5, 50.5, 16.1, 2.2, 6.3, 42.5, 8.6, 20.8),
           "Ablation-CAM": (15.1, 72.8, 52.1, 13.5, 1.7, 5.6, 39.9, 7.8, 19.0),
           "XGrad-CAM": (14.3, 72.6, 51.4, 15.1, 1.8, 6.0, 42.1, 8.0, 20.1),
           "Layer-CAM": (49.2, 84.2, 74.4, 2.7, 0.4, 1.2, 12.7, 4.4, 7.3),
           "Opti-CAM": (1.4, 62.5, 34.8, 66.3, 8.7, 25.8, 92.5, 18.6, 47.1)}.items()}}}

# Tables 6 and A12 (VGG16; A12 with range normalization and 50 iterations): objective x normalization.
PAPER_TABLE6 = {"VGG16": {(objective, normalization): dict(zip(SCORES, values)) for objective, normalization, values in (
    ("mask", "range", (1.4, 66.3, 92.5)), ("diff", "range", (7.1, 18.5, 54.9)),
    ("mask", "max", (1.6, 66.2, 90.3)), ("diff", "max", (6.8, 17.8, 54.5)),
    ("mask", "sigmoid", (5.0, 18.3, 57.5)), ("diff", "sigmoid", (6.5, 10.0, 45.3)),
    ("iomask", "range", (0.2, 5.5, 99.7)), ("iodiff", "range", (25.9, 7.6, 42.6)))}}

# Table A7 (VGG16): localization metrics, % except SM.
PAPER_TABLE_A7 = {"VGG16": {method: dict(zip(("OM", "LE", "F1", "BA", "SP", "EP", "SM"), values))
                            for method, values in {
    "Fake-CAM": (64.7, 54.0, 57.7, 47.9, 99.8, 28.5, 1.07), "Grad-CAM": (71.1, 62.3, 42.0, 54.2, 64.8, 32.0, 1.39),
    "Grad-CAM++": (70.8, 61.9, 44.3, 55.2, 66.2, 32.3, 1.38), "Score-CAM": (71.2, 62.5, 45.3, 58.5, 68.2, 33.4, 1.40),
    "Ablation-CAM": (71.3, 62.6, 43.2, 56.2, 65.7, 32.7, 1.39), "XGrad-CAM": (70.8, 62.0, 41.9, 53.5, 64.4, 31.6, 1.41),
    "Layer-CAM": (70.5, 61.5, 28.0, 54.7, 65.0, 32.4, 1.45), "Opti-CAM": (69.1, 59.9, 44.1, 51.2, 61.4, 30.7, 1.34)}.items()}}

# Table A9 (ResNet50): AD / AG / AI of the ground truth for maps explaining other classes.
PAPER_TABLE_A9 = {"ResNet50": {(method, case): dict(zip(SCORES, values)) for method, cases in {
    "Grad-CAM": ((12.2, 17.6, 44.4), (16.54, 16.2, 39.1), (96.26, 0.0, 2.2), (96.28, 0.0, 2.2), (37.84, 5.4, 40.1)),
    "Grad-CAM++": ((12.9, 16.0, 42.1), (15.81, 15.2, 38.8), (17.08, 11.9, 34.8), (17.18, 11.8, 34.5),
                   (34.49, 5.5, 42.4)),
    "Score-CAM": ((8.6, 26.6, 56.7), (10.07, 26.9, 52.3), (26.16, 8.4, 23.3), (28.29, 7.4, 22.1), (36.82, 5.1, 38.8)),
    "Opti-CAM": ((1.5, 68.8, 92.8), (12.01, 60.1, 78.3), (28.45, 5.8, 18.8), (29.17, 5.5, 18.1), (64.45, 2.2, 16.2)),
}.items() for case, values in zip(("ground truth", "most probable", "second", "least",
                                   "most probable (misclassified)"), cases)}}

# Table A14 (ResNet50, no input normalization): AD, AG, AI.
PAPER_TABLE_A14 = {"ResNet50": {method: dict(zip(SCORES, values)) for method, values in {
    "Fake-CAM": (0.9, 0.7, 47.4), "Grad-CAM": (36.4, 5.5, 27.0), "Grad-CAM++": (37.6, 4.9, 24.0),
    "Score-CAM": (28.8, 8.8, 33.6), "Ablation-CAM": (36.6, 5.1, 25.6), "XGrad-CAM": (36.4, 5.5, 27.0),
    "Layer-CAM": (42.6, 4.2, 19.2), "Opti-CAM": (2.0, 49.4, 91.2)}.items()}}


# ------------------------------------------------------------------------------------ the models and images


def accuracy(model, x: torch.Tensor, y: torch.Tensor) -> float:
    """The share of ``x`` the model classifies as ``y``."""
    return float((predicted_classes(model, x) == y).float().mean())


def systems(profile: str, n_images: dict, seed: int = 0, device="cpu") -> dict:
    """The two systems of notebook 05, keyed ``"scenes"`` (with boxes) and ``"digits"``, each with the first
    ``n_images[key]`` images. ``extra["paper_network"]`` names the paper's network shown beside ours and
    ``extra["pool"]`` the split where misclassified images are looked for (the whole test split when embedded,
    the images themselves on ``paper``). ``accuracy`` is the test accuracy (embedded) or that on the images.

    Embedded profiles: the foundation's SceneCNN on DigitScenes test images (beside the paper's VGG16, the
    network of its box and localization tables) and MnistCNN on MNIST test images (beside ResNet50).
    ``paper``: ImageNet validation images with boxes (:func:`external.load_imagenet_val`, the same random
    images for both) and the pretrained VGG16 / ResNet50 (:func:`pretrained.pretrained_model`); a missing folder
    or weights file raises an error naming what to put where.
    """
    def system(name, model, pool, n, classes, network, test_accuracy=None):
        images = pool.head(n)
        x, y = images.x.to(device), images.y.to(device)
        return System(name, model, x, y, classes, accuracy(model, x, y) if test_accuracy is None else test_accuracy,
                      images.boxes, extra={"paper_network": network, "pool": pool})

    if profile == "paper":
        split = load_imagenet_val(n=max(n_images.values()), seed=seed, **paper_crop())
        return {key: system(f"ImageNet / {network}", pretrained_model(arch, device=device), split.head(n_images[key]),
                            n_images[key], split.classes, network)
                for key, arch, network in (("scenes", "vgg16", "VGG16"), ("digits", "resnet50", "ResNet50"))}
    sets = {}
    for key, preset, name, network in (("scenes", "scene_cnn", "DigitScenes / SceneCNN", "VGG16"),
                                       ("digits", "mnist_cnn", "MNIST / MnistCNN", "ResNet50")):
        trained = trained_model(preset, profile=profile, seed=seed, device=device)
        sets[key] = system(name, trained.model, trained.dataset.test, n_images[key], trained.dataset.classes, network,
                           trained.test_accuracy)
    return sets


def box_masks(system: System) -> torch.Tensor:
    """Boolean (N, 1, H, W) masks of the system's object boxes."""
    return boxes_to_masks(system.boxes, system.x.shape[-2:])


def misclassified(model, pool, n: int):
    """The first ``n`` images of ``pool`` (a split) the model gets wrong: (x, y) on the model's device."""
    device = next(model.parameters()).device
    index = select_images(model, pool.x, pool.y, n, "misclassified")
    return pool.x[index].to(device), pool.y[index].to(device)


@torch.no_grad()
def model_context(system: System) -> dict:
    """How confident the model is on the clean images (AG divides by 1 - p, AI needs o > p) and what it predicts
    for an all-black image (what masking most of an image pushes it towards)."""
    p = system.model(system.x).softmax(1).gather(1, system.y.view(-1, 1)).squeeze(1)
    black = system.model(torch.zeros_like(system.x[:1])).softmax(1)[0]
    return {"mean p": p.mean().item(), "share p > 0.99": (p > 0.99).float().mean().item(),
            "black image class": system.classes[int(black.argmax())], "black image p": black.max().item(),
            "share of images with that label": (system.y == black.argmax()).float().mean().item()}


def black_corner_share(x: torch.Tensor) -> float:
    """The share of images whose top-left pixel (the one Fake-CAM masks) is black in every channel."""
    return float((x[:, :, 0, 0] == 0).all(dim=1).float().mean())


def cam_channels(model, x: torch.Tensor) -> int:
    """The number of feature maps at the model's CAM layer: Score-CAM's forward passes per image."""
    features, _ = clean_pass(model, x[:1], torch.zeros(1, dtype=torch.long, device=x.device), None)
    return features.shape[1]


# ------------------------------------------------------------------------------------------- the tables


@dataclass
class UnitMaps:
    """One-channel maps in [0, 1] and the seconds each batch of :data:`BATCH_SIZE` images took, in order."""

    maps: torch.Tensor
    batch_seconds: np.ndarray

    @property
    def seconds_per_image(self) -> float:
        return float(self.batch_seconds.sum()) / max(len(self.maps), 1)


def unit_maps(method, model, x, target, **kwargs) -> UnitMaps:
    """Maps as every table of this study scores them, timed per batch of 8 (:func:`studies.common.timed_maps`):
    maps with one channel per input channel summed over channels (signed), then range-normalized to [0, 1] per
    image (constant maps -> ones)."""
    batches = [timed_maps(method, model, x[start:start + BATCH_SIZE], target[start:start + BATCH_SIZE],
                          channels="sum", normalization="range", **kwargs) for start in range(0, len(x), BATCH_SIZE)]
    return UnitMaps(torch.cat([batch.maps for batch in batches]),
                    np.array([batch.seconds_per_image * len(batch.maps) for batch in batches]))


def image_scores(model, x, target, maps, map_normalization="range") -> dict:
    """Per-image AD, AG and AI terms (%) of ``maps`` on the first ``len(maps)`` images
    (:func:`metrics.average_drop_increase_gain`: softmax of ``target``, masking in pixel space; eqs. 13-15).
    Not cached: two forward passes cost less than fingerprinting a large network (VGG16: 0.5 GB of weights) for
    the cache key; the tables that call it many times are cached where they optimise."""
    n = len(maps)
    result = average_drop_increase_gain(model, x[:n], maps, target[:n], map_normalization=map_normalization)
    return {key: values.astype(np.float64) for key, values in result["per_image"].items()}


def means(scores: dict) -> dict:
    """``{score: per-image values}`` -> ``{score: mean}``."""
    return {key: float(np.mean(values)) for key, values in scores.items()}


def drop_gain_increase(model, x, target, maps, map_normalization="range") -> dict:
    """AD, AG, AI (%) of ``maps`` on the first ``len(maps)`` images: the means of :func:`image_scores`."""
    return means(image_scores(model, x, target, maps, map_normalization))


def means_table(scores: dict, label=method_label) -> pd.DataFrame:
    """One row per entry of ``scores`` (``{name: {score: per-image values}}``): the name by ``label`` in column
    ``method``, its number of images and each score's mean."""
    return pd.DataFrame([{"method": label(name), "n_images": len(next(iter(values.values()))), **means(values)}
                         for name, values in scores.items()])


@dataclass
class MethodComparison:
    """Table 1 on one model: the table (one row per method) and, by registry name, each method's maps, per-image
    AD / AG / AI terms and seconds per batch of 8, all on the method's first ``n_images`` images."""

    table: pd.DataFrame
    maps: dict
    scores: dict
    batch_seconds: dict


def compare_methods(model, x, target, methods=TABLE1_METHODS, n_costly=None, method_kwargs=None) -> MethodComparison:
    """Table 1: AD/AG/AI and seconds per batch of 8 images (8 x the seconds per image) for each method.
    Methods in :data:`COSTLY_METHODS` run on the first ``n_costly`` images only (column ``n_images``)."""
    method_kwargs = method_kwargs or {}
    maps, scores, seconds, times = {}, {}, {}, []
    for method in tqdm(methods, desc="methods"):
        n = min(len(x), n_costly) if n_costly and method in COSTLY_METHODS else len(x)
        timed = unit_maps(method, model, x[:n], target[:n], **method_kwargs.get(method, {}))
        maps[method], seconds[method] = timed.maps, timed.batch_seconds
        scores[method] = image_scores(model, x, target, timed.maps)
        times.append(BATCH_SIZE * timed.seconds_per_image)
    table = means_table(scores)
    table[TIME_COLUMN] = times
    return MethodComparison(table, maps, scores, seconds)


def beside_paper(ours: pd.DataFrame, paper: dict, network: str, keys=("method",)) -> pd.DataFrame:
    """``ours`` with the paper's numbers for ``network`` in extra columns ``paper <column>``, matched on ``keys``
    (a paper entry's name is a tuple when there are several keys)."""
    keys = list(keys)
    rows = [{**dict(zip(keys, name if isinstance(name, tuple) else (name,))),
             **{f"paper {column}": value for column, value in values.items()}}
            for name, values in paper[network].items()]
    return ours.merge(pd.DataFrame(rows), on=keys, how="left")


def seconds_per_batch(table: pd.DataFrame) -> dict:
    """Method -> seconds per batch of 8 images, from :func:`compare_methods`'s table."""
    return table.set_index("method")[TIME_COLUMN].to_dict()


def maps_in_unit_range(*maps: dict) -> bool:
    """Whether every map of these ``{method: maps}`` dicts is finite and in [0, 1]."""
    return all(bool(torch.isfinite(m).all()) and m.min() >= 0 and m.max() <= 1
               for method_maps in maps for m in method_maps.values())


@cached_computation("opticam-insertion")
def insertion_deletion_scores(model, x, target, maps: dict, pixels_per_step=None) -> dict:
    """Table 3's per-image insertion (``I``) and deletion (``D``) AUC (x 100) of each method's maps, with
    :func:`metrics.insertion_deletion`'s RISE defaults (deletion to black, insertion from a blur, softmax of
    ``target``); :func:`means_table` makes the table."""
    return {method: {key: 100 * insertion_deletion(model, x[:len(method_map)], method_map, target[:len(method_map)],
                                                   mode=mode, pixels_per_step=pixels_per_step).auc
                     for key, mode in (("I", "insertion"), ("D", "deletion"))}
            for method, method_map in tqdm(maps.items(), desc="insertion/deletion")}


def spread(layers: list, most: int) -> list:
    """At most ``most`` of ``layers``, evenly spaced in their order, the last always kept (Table A13 on a deep
    network: the paper's covers 11 of VGG16's 13 convolutions)."""
    if len(layers) <= most:
        return list(layers)
    picks = {round(i * (len(layers) - 1) / (most - 1)) for i in range(most)} if most > 1 else {len(layers) - 1}
    return [layers[i] for i in sorted(picks)]


@cached_computation("opticam-variants")
def variant_table(model, x, target, variants: list, **common) -> tuple[pd.DataFrame, list]:
    """AD/AG/AI of Opti-CAM variants (Tables 6, A12, A13): each variant is a dict of :func:`optimize_opticam`
    keyword arguments, reported in the row. The maps are evaluated as produced (``map_normalization="none"``),
    so the normalization under study is also the one the metrics see. Also returns each variant's per-image
    scores (:func:`image_scores`), in the order of ``variants``."""
    rows, scores = [], []
    for variant in tqdm(variants, desc="Opti-CAM variants"):
        maps = optimize_opticam(model, x, target, **{**common, **variant}).maps
        scores.append(image_scores(model, x, target, maps, map_normalization="none"))
        rows.append({**variant, **means(scores[-1])})
    return pd.DataFrame(rows), scores


def iteration_grid(max_iter: int) -> list:
    """Figure A5's iteration counts up to ``max_iter`` (always including it)."""
    return sorted({t for t in (1, 2, 5, 10, 20, 50, 100, max_iter) if t <= max_iter})


@cached_computation("opticam-convergence")
def convergence_table(model, x, target, learning_rates, iterations, **common) -> pd.DataFrame:
    """Figure A5: AD/AG/AI after each number of ``iterations`` for each learning rate (one run per rate)."""
    rows = []
    for lr in tqdm(learning_rates, desc="learning rates"):
        result = optimize_opticam(model, x, target, lr=lr, max_iter=max(iterations), snapshot_iters=iterations,
                                  **common)
        rows += [{"lr": lr, "iterations": t, **drop_gain_increase(model, x, target, result.snapshots[t], "none")}
                 for t in iterations]
    return pd.DataFrame(rows)


def selectivity_table(model, x, target, maps: dict, alphas) -> pd.DataFrame:
    """Figure A4: AD/AG/AI when the [0, 1] maps are raised element-wise to ``alpha`` (pixel order kept)."""
    return pd.DataFrame([{"method": method_label(method), "alpha": alpha,
                          **drop_gain_increase(model, x, target, method_map ** alpha, "none")}
                         for method, method_map in maps.items() for alpha in alphas])


def without_costly(methods) -> tuple:
    """``methods`` without :data:`COSTLY_METHODS` (the paper path's test runs those in Table 1 only)."""
    return tuple(method for method in methods if method not in COSTLY_METHODS)


@torch.no_grad()
def ranked_classes(model, x) -> dict:
    """Targets by rank of the model's probability: most probable, second most probable, least probable."""
    order = model(x).argsort(dim=1, descending=True)
    return {"most probable": order[:, 0], "second": order[:, 1], "least": order[:, -1]}


def class_choice_table(model, x, y, methods, x_misclassified=None, y_misclassified=None,
                       method_kwargs=None) -> pd.DataFrame:
    """Table A9: maps for the ground truth, the most / second / least probable class (and for the most probable
    class of misclassified images), always scored by AD/AG/AI of the ground-truth class."""
    targets = {"ground truth": y, **ranked_classes(model, x)}
    method_kwargs = method_kwargs or {}
    rows = []
    for method in tqdm(methods, desc="target classes"):
        cases = [(name, x, t, y) for name, t in targets.items()]
        if x_misclassified is not None and len(x_misclassified):
            cases.append(("most probable (misclassified)", x_misclassified,
                          ranked_classes(model, x_misclassified)["most probable"], y_misclassified))
        for name, images, explained, truth in cases:
            maps = unit_maps(method, model, images, explained, **method_kwargs.get(method, {})).maps
            rows.append({"method": method_label(method), "explained class": name, "n_images": len(images),
                         **drop_gain_increase(model, images, truth, maps)})
    return pd.DataFrame(rows)


def box_study_table(model, x, target, maps: dict, box_masks: torch.Tensor) -> tuple[pd.DataFrame, dict]:
    """Table 5: the box B and its complement I \\ B as saliency maps, and each map S, B ∩ S = S * B and
    S \\ B = S * (1 - B), by AD/AG/AI (maps in [0, 1] used as they are); one row per map, columns
    ``<score> <region>``. Also returns the per-image scores of the box and of its complement as maps, by row name."""
    box = box_masks.to(x.device, torch.float32)

    def scores(region_maps: dict) -> dict:
        return {region: image_scores(model, x, target, masked, "none") for region, masked in region_maps.items()}

    def columns(region_scores: dict) -> dict:
        return {f"{score} {region}": value for region, values in region_scores.items()
                for score, value in means(values).items()}

    box_rows = {"S := B": scores({"S": box}), "S := I \\ B": scores({"S": 1 - box})}
    rows = [{"method": name, **columns(region_scores)} for name, region_scores in box_rows.items()]
    for method, method_map in maps.items():
        inside = box[:len(method_map)]
        rows.append({"method": method_label(method), "n_images": len(method_map),
                     **columns(scores({"S": method_map, "B ∩ S": method_map * inside,
                                       "S \\ B": method_map * (1 - inside)}))})
    return pd.DataFrame(rows), {name: region_scores["S"] for name, region_scores in box_rows.items()}


def in_paper_table5(maps: dict) -> dict:
    """The maps of the methods the paper's Table 5 has."""
    return {method: m for method, m in maps.items() if method_label(method) in PAPER_TABLE5["VGG16"]}


@torch.no_grad()
def true_class_probability(model, x, target) -> tuple[torch.Tensor, torch.Tensor]:
    """The softmax probability of ``target`` on each image and whether the model predicts ``target``."""
    probabilities = model(x).softmax(dim=1)
    target = target.to(probabilities.device)
    return probabilities.gather(1, target.view(-1, 1)).squeeze(1), probabilities.argmax(dim=1) == target


def localization_table(model, x, target, maps: dict, boxes, label=method_label) -> pd.DataFrame:
    """Table A7: the Appendix B localization metrics (:mod:`metrics.localization`) of each method's maps, one
    row per entry of ``maps`` named by ``label(key)`` in column ``method``."""
    true_prob, correct = true_class_probability(model, x, target)
    rows = []
    for method, method_map in maps.items():
        n = len(method_map)
        rows.append({"method": label(method), "n_images": n,
                     **localization_metrics(method_map, boxes[:n], true_prob[:n], correct[:n])})
    return pd.DataFrame(rows)


def localization_scores(model, x, target, maps: dict, boxes) -> dict:
    """Per-image localization metrics (:data:`PER_IMAGE_LOCALIZATION`, % but SM) of each method's maps:
    :func:`metrics.localization.localization_metrics` of each image alone, which is that image's term of the
    table's mean."""
    true_prob, correct = true_class_probability(model, x, target)
    scores = {}
    for method, method_map in maps.items():
        per_image = [localization_metrics(method_map[i:i + 1], boxes[i:i + 1], true_prob[i:i + 1], correct[i:i + 1])
                     for i in range(len(method_map))]
        scores[method] = {key: np.array([values[key] for values in per_image]) for key in PER_IMAGE_LOCALIZATION}
    return scores


def without_input_normalization(model):
    """Appendix H: a copy of ``model`` fed [0, 1] images without its input normalization (mean 0, std 1)."""
    copied = copy.deepcopy(model)
    copied.normalizer.mean.zero_()
    copied.normalizer.std.fill_(1.0)
    return copied


def sanity_check_table(model, x, target, methods=("opticam", "gradcam"), seed=0, method_kwargs=None) -> pd.DataFrame:
    """Appendix G: :func:`studies.common.cascading_randomization` of ``model`` along
    :func:`studies.common.randomization_order` (top layer first) for the maps of :func:`unit_maps`; one block of
    rows per method, in the order of ``methods``. Low similarity = the method is sensitive to the parameters
    (passes)."""
    method_kwargs = method_kwargs or {}

    def maps_of(network):
        return {method_label(method): unit_maps(method, network, x, target, **method_kwargs.get(method, {})).maps
                for method in methods}

    table = cascading_randomization(model, maps_of, randomization_order(model), seed=seed)
    position = {method_label(method): i for i, method in enumerate(methods)}
    return table.sort_values("method", key=lambda column: column.map(position), kind="stable", ignore_index=True)


# ------------------------------------------------------------------------------ the paper's headline claims
# Each function returns the tests ({pair label: TestResult}) and premises ({name: check}) of one claim declared in
# ``studies.opticam_claims``, for ``studies.headline.record``. Two methods are always compared on the images both
# have (a costly method runs on fewer).


def on_common_images(a, b) -> tuple:
    """Two per-image scores cut to the images both have (the first ``min(len(a), len(b))``)."""
    n = min(len(a), len(b))
    return np.asarray(a[:n], dtype=np.float64), np.asarray(b[:n], dtype=np.float64)


def _common_means(scores: dict, methods, key: str) -> dict:
    """The mean of ``key`` of each method on the images all of ``methods`` have."""
    n = min(len(scores[method][key]) for method in methods)
    return {method: float(np.mean(scores[method][key][:n])) for method in methods}


@torch.no_grad()
def raisable_share(model, x: torch.Tensor, target) -> float:
    """The share of images whose class probability is below 1 in the model's precision: the only images on which
    a map can raise it (AI) or gain anything (AG)."""
    p, _ = true_class_probability(model, x, target)
    return float((p < 1).float().mean())


def lead_tests(scores_by_system: dict, raisable: dict, margin: float = claims.CLAIMS[0].margin) -> tuple[dict, dict]:
    """H1: on each system (``{name: {method: per-image scores}}``), Opti-CAM's lead over each CAM baseline in
    points: the baseline's AD minus Opti-CAM's, and Opti-CAM's AG minus the baseline's (paired t). Premise: the best
    baseline leaves room for a lead of ``margin``: its mean AD at least ``margin``, its mean AG at least ``margin``
    below the ceiling 100 x ``raisable[name]`` (:func:`raisable_share`)."""
    tests, rooms, details = {}, [], []
    for system, scores in scores_by_system.items():
        opti = scores["opticam"]
        for baseline in claims.CAM_BASELINES:
            name = method_label(baseline)
            tests[f"{system}: AD, {name} - Opti-CAM"] = paired_t(*on_common_images(scores[baseline]["AD"], opti["AD"]))
            tests[f"{system}: AG, Opti-CAM - {name}"] = paired_t(*on_common_images(opti["AG"], scores[baseline]["AG"]))
        drop = _common_means(scores, claims.CAM_BASELINES, "AD")
        gain = _common_means(scores, claims.CAM_BASELINES, "AG")
        best_drop, best_gain = min(drop, key=drop.get), max(gain, key=gain.get)
        ceiling = 100 * raisable[system]
        rooms.append(drop[best_drop] >= margin and ceiling - gain[best_gain] >= margin)
        details.append(f"{system}: best CAM AD {drop[best_drop]:.2f} % ({method_label(best_drop)}), best CAM AG "
                       f"{gain[best_gain]:.2f} % ({method_label(best_gain)}) of at most {ceiling:.1f} % (the images "
                       f"whose probability can rise)")
    return tests, {claims.HEADROOM: check(all(rooms), f"room for a lead of {margin:g} points needed; "
                                          + "; ".join(details))}


def increase_tests(scores_by_system: dict, raisable: dict,
                   margin: float = claims.CLAIMS[1].margin) -> tuple[dict, dict]:
    """H2: on each system, whether masking raises the class probability (the AI term, yes/no) for Opti-CAM and for
    each other method (exact McNemar). Premise: the share of images whose probability can rise at all
    (``raisable[name]``, :func:`raisable_share`) exceeds the most frequent baseline's share by ``margin``."""
    baselines = claims.CAM_BASELINES + claims.OTHER_BASELINES
    tests, rooms, details = {}, [], []
    for system, scores in scores_by_system.items():
        for baseline in baselines:
            opti, other = on_common_images(scores["opticam"]["AI"], scores[baseline]["AI"])
            tests[f"{system}: AI, Opti-CAM vs {method_label(baseline)}"] = exact_mcnemar(opti / 100, other / 100)
        share = {method: value / 100 for method, value in _common_means(scores, baselines, "AI").items()}
        best = max(share, key=share.get)
        rooms.append(raisable[system] - share[best] >= margin)
        details.append(f"{system}: the highest baseline share {share[best]:.2f} ({method_label(best)}) of at most "
                       f"{raisable[system]:.2f} (the images whose probability can rise)")
    return tests, {claims.AI_HEADROOM: check(all(rooms), f"room for a lead of {margin:g} needed; "
                                             + "; ".join(details))}


def fake_cam_premise(x: torch.Tensor, system: str, most_black: float = 0.1) -> dict:
    """H3's premise: Fake-CAM masks something, i.e. its top-left pixel is black on at most ``most_black`` of the
    images (where it is black, the Fake-CAM mask changes nothing)."""
    black = black_corner_share(x)
    return {claims.FAKE_CAM_MASKS: check(black <= most_black, f"{system}: the top-left pixel is black on {black:.0%} "
                                                             f"of the images (at most {most_black:.0%} allowed)")}


def fake_cam_tests(scores: dict, x: torch.Tensor, system: str) -> tuple[dict, dict]:
    """H3 on one system: Fake-CAM's AD and AG against each CAM baseline's (paired t; the paper: lower on both),
    with :func:`fake_cam_premise`."""
    tests = {f"{system}: {key}, Fake-CAM vs {method_label(baseline)}": paired_t(
        *on_common_images(scores["fake_cam"][key], scores[baseline][key]))
        for key in ("AD", "AG") for baseline in claims.CAM_BASELINES}
    return tests, fake_cam_premise(x, system)


def misalignment_tests(localization: dict, scores: dict, system: str) -> tuple[dict, dict]:
    """H4 on one system: Opti-CAM's per-image localization error LE against Grad-CAM's (paired t; the paper's
    sentence: higher, although its AD is lower). Premise: Opti-CAM's mean AD is below Grad-CAM's on those images."""
    opti_le, grad_le = on_common_images(localization["opticam"]["LE"], localization["gradcam"]["LE"])
    opti_ad, grad_ad = on_common_images(scores["opticam"]["AD"][:len(opti_le)], scores["gradcam"]["AD"])
    return {f"{system}: LE, Opti-CAM vs Grad-CAM": paired_t(opti_le, grad_le)}, {claims.CLASSIFICATION_FAVOURS: check(
        opti_ad.mean() < grad_ad.mean(), f"{system}: AD Opti-CAM {opti_ad.mean():.2f} % vs Grad-CAM "
                                         f"{grad_ad.mean():.2f} % on {len(opti_ad)} images")}


def decided_sentence(rows: list) -> str:
    """One sentence on the paper's decided headline claims (``headline.decided`` rows)."""
    if not rows:
        return f"No headline claim of {PAPER} recorded yet."
    return f"{PAPER}, decided within the paper (Holm): " + "; ".join(
        f"{row['claim_id']} {row['label']}: {row['verdict']} (n = {row.get('n')})" for row in rows) + "."


def finding(scores: dict, localization: dict, system: str) -> str:
    """The notebook's finding in one sentence, from one system's per-image scores and localization errors."""
    drop = _common_means(scores, claims.CAM_BASELINES, "AD")
    gain = _common_means(scores, claims.CAM_BASELINES, "AG")
    best_drop, best_gain = min(drop, key=drop.get), max(gain, key=gain.get)
    mean = {(method, key): float(np.mean(scores[method][key])) for method in ("opticam", "fake_cam")
            for key in ("AD", "AG")}
    le = {method: float(np.mean(localization[method]["LE"])) for method in ("opticam", "gradcam")}
    return (f"On {system}, Opti-CAM's maps drop the class probability by {mean['opticam', 'AD']:.1f} % and gain "
            f"{mean['opticam', 'AG']:.1f} % against the best CAM method's {drop[best_drop]:.1f} % "
            f"({method_label(best_drop)}) and {gain[best_gain]:.1f} % ({method_label(best_gain)}); Fake-CAM drops "
            f"{mean['fake_cam', 'AD']:.2f} % but gains only {mean['fake_cam', 'AG']:.2f} %, and Opti-CAM's "
            f"localization error is {le['opticam']:.1f} against Grad-CAM's {le['gradcam']:.1f}.")


# ----------------------------------------------------------------------------- the paper's secondary rows
# Table cells, each decided by metrics.statistics on per-image scores of the same images; the functions return
# keyword arguments of Recorder.paper_claim.


def paper_claim(claim_id: str, claim: str, evidence, labels: tuple, paper_value: str | None = None,
                kind: str = "table cell") -> dict:
    """Keyword arguments of ``Recorder.paper_claim`` for one of this paper's secondary rows."""
    return dict(paper=PAPER, claim_id=claim_id, claim=claim, evidence=evidence, labels=labels,
                paper_value=paper_value, kind=kind)


def paired(a, b, expected: str):
    """:func:`metrics.statistics.paired_comparison` of two per-image scores on the images both have."""
    return paired_comparison(*on_common_images(a, b), expected)


def best_first(means_by_name: dict, key: str) -> list:
    """The names of ``means_by_name`` (``{name: mean of key}``) from the best mean to the worst (:data:`BETTER`)."""
    return sorted(means_by_name, key=means_by_name.get, reverse=BETTER[key] == "greater")


def middle(names: list):
    """The median entry of a ranked list (the better one of the two middle entries when their number is even)."""
    return names[(len(names) - 1) // 2]


def ranked_on_common_images(scores: dict, methods, key: str) -> list:
    """``methods`` from best to worst by the mean of ``key`` on the images they all have."""
    return best_first(_common_means(scores, methods, key), key)


def paper_baselines(rows: dict, key: str) -> list:
    """The baselines of a paper table (``{label: values}``, Fake-CAM and Opti-CAM left out), best first by ``key``."""
    return best_first({label: values[key] for label, values in rows.items() if label not in ("Fake-CAM", "Opti-CAM")},
                      key)


def paper_text(rows: dict, network: str, key: str, a: str, b: str, role: str = "") -> str:
    """The paper's numbers behind a claim: ``key`` of rows ``a`` and ``b`` of a paper table for ``network``."""
    return f"{network}, {key}: {a} {rows[a][key]} vs {(role + ' ') if role else ''}{b} {rows[b][key]}"


def fake_cam_increase_claim(scores: dict, system: str, network: str) -> dict:
    """Table 1, the AI side of the flaw: Fake-CAM raises the class probability more often than the median baseline
    (by mean AI on the images all baselines have; per-image yes/no outcomes, exact McNemar)."""
    baselines = [method for method in scores if method not in ("fake_cam", "opticam")]
    median = middle(ranked_on_common_images(scores, baselines, "AI"))
    fake, other = on_common_images(scores["fake_cam"]["AI"], scores[median]["AI"])
    return paper_claim(
        f"Table 1 Fake-CAM AI, {system}", "Fake-CAM, which masks one pixel, raises the class probability on more "
        "images than the median baseline (the AI loophole; the median by mean AI on the images all baselines have)",
        paired_binary_comparison(fake / 100, other / 100, "greater"), ("Fake-CAM", method_label(median)),
        paper_text(PAPER_TABLE1[network], network, "AI", "Fake-CAM", middle(paper_baselines(PAPER_TABLE1[network], "AI")),
                   "median baseline"))


def insertion_deletion_claims(scores: dict, network: str) -> list:
    """Table 3: Opti-CAM is not the best on insertion (its per-image insertion AUC below the best baseline's)
    nor on deletion (its deletion AUC above the best baseline's); the best baseline by mean on the images all
    baselines have, paired per image."""
    baselines = [method for method in scores if method not in ("fake_cam", "opticam")]
    rows = PAPER_TABLE3[network]
    found = []
    for key, name, expected in (("I", "insertion", "less"), ("D", "deletion", "greater")):
        best = ranked_on_common_images(scores, baselines, key)[0]
        found.append(paper_claim(
            f"Table 3 {key}", f"Opti-CAM is not the best on {name}: its {name} AUC is "
            f"{'lower' if expected == 'less' else 'higher'} (worse) than the best baseline's (the best by mean on the "
            "images all baselines have; paired per image)",
            paired(scores["opticam"][key], scores[best][key], expected), ("Opti-CAM", method_label(best)),
            paper_text(rows, network, key, "Opti-CAM", paper_baselines(rows, key)[0], "best baseline")))
    return found


def box_claim(box_scores: dict, network: str) -> dict:
    """Table 5: the box's complement, used as a saliency map, drops the class score less than the box itself."""
    complement, box = "S := I \\ B", "S := B"
    return paper_claim(
        "Table 5 AD", "The complement of the object box, as a saliency map, has a lower AD than the box itself "
        "(context matters; paired per image)", paired(box_scores[complement]["AD"], box_scores[box]["AD"], "less"),
        (complement, box), paper_text(PAPER_TABLE5[network], network, "AD S", complement, box))


def objective_claim(variants: list, scores: list, network: str = "VGG16") -> dict:
    """Table 6: the Mask objective (eq. 10) has a higher AG than Diff (eq. 19), both with range normalization;
    ``variants`` and ``scores`` as given to and returned by :func:`variant_table`."""
    def of(objective):
        return scores[variants.index(dict(objective=objective, normalization="range"))]["AG"]

    rows = {f"{objective} / {normalization}": values
            for (objective, normalization), values in PAPER_TABLE6[network].items()}
    return paper_claim(
        "Table 6 AG", "The Mask objective has a higher AG than Diff (range normalization; paired per image)",
        paired(of("mask"), of("diff"), "greater"), ("Mask", "Diff"),
        paper_text(rows, network, "AG", "mask / range", "diff / range"))


# ------------------------------------------------------------------------------------------------ figures


@torch.no_grad()
def draw_masked_images(model, x, maps: dict, index: int, target: int, classes):
    """Widget figure: for one image, each method's map, the image masked by it, and the masked image's
    probability of ``target`` (and its top class)."""
    import matplotlib.pyplot as plt

    from xai_nb_utils.viz.plotting import overlay, to_image

    names = [name for name in maps if index < len(maps[name])]
    fig, axes = plt.subplots(2, len(names) + 1, figsize=(1.9 * (len(names) + 1), 4.2), squeeze=False)
    image = x[index:index + 1]
    probability = model(image).softmax(1)[0]
    overlay(axes[0, 0], image[0], title=f"p({classes[target]}) = {probability[target]:.2f}")
    axes[1, 0].axis("off")
    for j, name in enumerate(names, start=1):
        mask = maps[name][index:index + 1].to(x.device)
        masked_probability = model(image * mask).softmax(1)[0]
        overlay(axes[0, j], image[0], mask[0], title=method_label(name))
        shown = to_image((image * mask)[0])
        axes[1, j].imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1)
        axes[1, j].set_title(f"p = {masked_probability[target]:.2f}, top {classes[int(masked_probability.argmax())]}",
                             fontsize=8)
        axes[1, j].axis("off")
    fig.tight_layout()
    return fig


def plot_scores(table: pd.DataFrame, x: str, hue: str, logx: bool = False):
    """AD, AG and AI against column ``x``, one line per value of ``hue`` (Figures A4 and A5)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for ax, score in zip(axes, SCORES):
        for name, group in table.groupby(hue, sort=False):
            ax.plot(group[x], group[score], marker="o", markersize=3, label=str(name))
        ax.set(xlabel=x, ylabel=f"{score} (%)", title=f"{score} ({'lower' if score == 'AD' else 'higher'} is better)")
        if logx:
            ax.set_xscale("log")
    axes[-1].legend(title=hue, fontsize=8, bbox_to_anchor=(1.02, 1), loc="upper left")
    fig.tight_layout()
    return fig


def exercises(table1: pd.DataFrame, max_iter: int, iterations: int) -> list:
    """The notebook's "try it" exercises, answered from this run's Table 1 analog (DigitScenes)."""
    rows = table1.set_index("method")

    def best_answer() -> str:
        methods = rows.drop(index=["Fake-CAM", "Random"], errors="ignore")  # the references
        lowest_drop, highest_increase = methods["AD"].idxmin(), methods["AI"].idxmax()
        return (f"lowest average drop: {lowest_drop} ({rows.loc[lowest_drop, 'AD']:.1f} %), highest average "
                f"increase: {highest_increase} ({rows.loc[highest_increase, 'AI']:.1f} %); Fake-CAM (a mask of "
                f"ones) scores AD {rows.loc['Fake-CAM', 'AD']:.2f} % and AI {rows.loc['Fake-CAM', 'AI']:.1f} %, which is why AD and AI "
                f"alone cannot rank methods.")

    def iterations_answer() -> str:
        opti, grad = rows.loc["Opti-CAM"], rows.loc["Grad-CAM"]
        return (f"with max_iter = {max_iter} ({iterations} iterations run): Opti-CAM AD {opti.AD:.1f} % / AG "
                f"{opti.AG:.1f} % against Grad-CAM's {grad.AD:.1f} % / {grad.AG:.1f} %, in "
                f"{opti['T (s / 8 images)']:.2f} s per 8 images.")

    return [
        Exercise("With the widget, compare the masked images of each method: which method's mask keeps the class "
                 "score highest (lowest AD, highest AI)?", best_answer),
        Exercise("Stop Opti-CAM after 10 iterations instead of 100: how much of its advantage over Grad-CAM "
                 "remains, and how much time does it save?", iterations_answer, {"max_iter": 10}),
    ]
