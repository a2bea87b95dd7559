"""The study of notebooks/04_igos_pp_ablations.ipynb: I-GOS and iGOS++ (:mod:`xai_nb_utils.methods.igos`) scored
with the paper's insertion/deletion protocol, the rows of its Tables 1-7 (the paper's own numbers as labelled data),
the sanity checks, the adversarial study, the "letter R" marker story and the figures.

Every table row is a registry method with the settings it changes (:data:`ROWS`); the I-GOS rows run at a mask
resolution taken from the study system's ``extra["resolutions"]`` (label -> mask side).
"""
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from xai_nb_utils.core.tensors import normalize_maps, perturb, predicted_classes
from xai_nb_utils.methods import explain, igos
from xai_nb_utils.metrics.perturbation import insertion_deletion
from xai_nb_utils.metrics.regions import region_share
from xai_nb_utils.metrics.similarity import spearman, ssim
from xai_nb_utils.models.training import preset_config, train_classifier, trained_model
from xai_nb_utils.studies.common import (System, cascading_randomization, method_label, randomization_order,
                                         select_images, timed_maps)

# ------------------------------------------------------------------------------------- the paper's numbers

#: The PAPER's numbers (not ours): Table 1, ResNet50 on 5,000 ImageNet validation images, (deletion, insertion).
PAPER_TABLE1 = {
    "224x224": {"Integrated Gradients": (0.0907, 0.2921), "RISE": (0.1196, 0.5637), "Mask": (0.0468, 0.4962),
                "I-GOS": (0.0420, 0.5846), "iGOS++": (0.0328, 0.7261)},
    "28x28": {"Mask": (0.1151, 0.5559), "I-GOS": (0.1059, 0.5986), "iGOS++": (0.0929, 0.7284)},
    "7x7": {"Grad-CAM": (0.1675, 0.6521), "Mask": (0.2259, 0.6003), "I-GOS": (0.1607, 0.6632),
            "iGOS++": (0.1810, 0.7332)},
}
#: The PAPER's Table 3 (ablations, ResNet50): row -> {resolution: (deletion, insertion)}.
PAPER_TABLE3 = {
    "I-GOS": {"224x224": (0.0420, 0.5846), "28x28": (0.1059, 0.5986)},
    "Insertion": {"224x224": (0.0760, 0.6192), "28x28": (0.1321, 0.7231)},
    "I-GOS + Insertion (naive)": {"224x224": (0.0322, 0.6175), "28x28": (0.2037, 0.5103)},
    "iGOS++ (no noise)": {"224x224": (0.0490, 0.5943), "28x28": (0.0904, 0.7108)},
    "iGOS++ (fixed step)": {"224x224": (0.0332, 0.5695), "28x28": (0.1052, 0.7060)},
    "iGOS++ (no BTV)": {"224x224": (0.0245, 0.6742), "28x28": (0.0813, 0.6825)},
    "iGOS++": {"224x224": (0.0328, 0.7261), "28x28": (0.0929, 0.7284)},
}
#: The PAPER's supplementary Table 5 (ResNet50): mask -> {resolution: (deletion, insertion)}.
PAPER_TABLE5 = {
    "M_x": {"224x224": (0.0268, 0.5008), "28x28": (0.1011, 0.5536)},
    "M_y": {"224x224": (0.0594, 0.7184), "28x28": (0.1788, 0.6912)},
    "M_xy": {"224x224": (0.0328, 0.7261), "28x28": (0.0929, 0.7332)},
}
#: The PAPER's supplementary Table 6: seconds per image on a GTX 1080 Ti, ResNet50.
PAPER_TABLE6 = {"28x28": {"iGOS++": 16.67, "I-GOS": 1.50}, "224x224": {"iGOS++": 12.25, "I-GOS": 1.48}}
#: The PAPER's supplementary Table 7: final objective at 28x28, (lambda1, lambda2) -> {method: value}.
PAPER_TABLE7 = {(1, 2): {"naive": -0.869, "iGOS++": -0.971}, (1, 20): {"naive": -0.374, "iGOS++": -0.649},
                (10, 20): {"naive": 0.346, "iGOS++": 0.158}, (10, 200): {"naive": 0.693, "iGOS++": 0.654}}
#: The paper's Table 7 grid of (lambda1, lambda2).
TABLE7_LAMBDAS = ((1.0, 2.0), (1.0, 20.0), (10.0, 20.0), (10.0, 200.0))

# ------------------------------------------------------------------------------------------ the table rows

#: The rows of the paper's Table 3 (ablations): row -> (registry method, the settings the row changes).
ABLATIONS = {
    method_label("igos"): ("igos", {}),
    "Insertion": ("igos_pp", dict(objective="insertion")),
    "I-GOS + Insertion (naive)": ("igos_pp", dict(objective="naive")),
    "iGOS++ (no noise)": ("igos_pp", dict(noise_std=0.0)),
    "iGOS++ (fixed step)": ("igos_pp", dict(step_rule="fixed")),
    "iGOS++ (no BTV)": ("igos_pp", dict(smoothness="tv")),
    method_label("igos_pp"): ("igos_pp", {}),
}
#: The baselines of Table 1 (registry methods), at the input resolution whatever the row's resolution label.
BASELINES = ("gradcam", "integrated_gradients", "random")
#: Every row of the tables: name -> (registry method, settings).
ROWS = {**{method_label(method): (method, {}) for method in BASELINES}, **ABLATIONS}


def row_settings(name: str) -> dict:
    """The full I-GOS settings of an :data:`ABLATIONS` row."""
    method, changes = ABLATIONS[name]
    return {**igos.SETTINGS[method], **changes}


# ------------------------------------------------------------------------------------------------ the system


def study_system(profile: str, n_images: int, seed: int, device) -> System:
    """``smoke``/``default``: the trained DigitScenes SceneCNN on correctly classified test scenes, masks at
    full resolution (64), 28 and 1/8 = the CAM resolution (8). ``paper``: ResNet50 on ImageNet validation images
    (user-supplied, see :mod:`xai_nb_utils.data.external`) at 224, 28 and 7, as the paper's Table 1. The mask
    resolutions (label -> side) are ``extra["resolutions"]``."""
    if profile == "paper":
        from xai_nb_utils.data.external import load_imagenet_val
        from xai_nb_utils.models.pretrained import pretrained_model

        model = pretrained_model("resnet50", device=device)
        split = load_imagenet_val(n=n_images, seed=seed).head(n_images)
        return System("ResNet50 on ImageNet val (224x224)", model, split.x.to(device), split.y.to(device),
                      extra={"resolutions": {"224x224 (full)": 224, "28x28": 28, "7x7 (CAM)": 7}})
    trained = trained_model("scene_cnn", profile, seed=seed, device=device)
    model, test = trained.model, trained.dataset.test
    chosen = select_images(model, test.x, test.y, n_images, how="correct")
    side = test.x.shape[-1]
    return System(f"SceneCNN on DigitScenes ({side}x{side}), test accuracy {trained.test_accuracy:.3f}", model,
                  test.x[chosen].to(device), test.y[chosen].to(device), accuracy=trained.test_accuracy,
                  extra={"resolutions": {f"{side}x{side} (full)": side, "28x28": 28,
                                         f"{side // 8}x{side // 8} (1/8, CAM)": side // 8}})


# ---------------------------------------------------------------------------------------------- evaluation

#: Insertion/deletion as the paper evaluates (Petsiuk et al.): blurred baseline (the same blur as the method's
#: baseline) for both curves, softmax probability of the target, trapezoid AUC, in :data:`CURVE_STEPS` steps.
PROTOCOL = dict(score="softmax", auc="trapezoid", baseline="blur")
#: Steps of the insertion/deletion curves (the authors' metric uses about 50; RISE one image row per step).
CURVE_STEPS = 32


def perturbation_curves(model, x: torch.Tensor, maps: torch.Tensor, target: torch.Tensor) -> dict:
    """{"deletion": PerturbationCurves, "insertion": PerturbationCurves} under :data:`PROTOCOL`."""
    kernel, sigma = igos.blur_for(max(x.shape[-2:]))
    pixels_per_step = -(-x.shape[-2] * x.shape[-1] // CURVE_STEPS)
    return {mode: insertion_deletion(model, x, maps, target, mode, blur_kernel=kernel, blur_sigma=sigma,
                                     pixels_per_step=pixels_per_step, **PROTOCOL)
            for mode in ("deletion", "insertion")}


def mask_maps(mask: torch.Tensor, size) -> torch.Tensor:
    """Saliency (high = important) of a mask at mask resolution: 1 - upsampled mask."""
    return 1 - igos.upsample_mask(mask, size)


@dataclass
class Evaluated:
    """One method at one resolution on a batch: maps, curves, seconds per image and (for I-GOS) the result."""

    maps: torch.Tensor
    curves: dict
    seconds_per_image: float
    result: igos.IgosResult | None = None


def evaluate_method(model, x, target, method: str, resolution: int | None = None, settings: dict | None = None,
                    seed: int = 0, batch_size: int = 16) -> Evaluated:
    """Maps of the registry ``method`` with ``settings``, timed and scored under :data:`PROTOCOL`.

    For "igos" / "igos_pp" ``settings`` override the method's own (:data:`methods.igos.SETTINGS`), ``resolution``
    is the mask side and ``seed`` the noise seed; other methods get ``settings`` as keyword arguments. Gradient
    maps are summed over channels (signed) by the metric.
    """
    settings = dict(settings or {})
    result = None
    if method in igos.SETTINGS:
        if resolution is not None:
            settings["mask_size"] = resolution
        started = time.perf_counter()
        result = igos.optimize_in_batches(model, x, target, batch_size, seed=seed,
                                          **{**igos.SETTINGS[method], **settings})
        maps, seconds = result.maps, (time.perf_counter() - started) / len(x)
    else:
        timed = timed_maps(method, model, x, target, **settings)
        maps, seconds = timed.maps, timed.seconds_per_image
    return Evaluated(maps, perturbation_curves(model, x, maps, target), seconds, result)


def per_image_rows(name: str, resolution: str, evaluated: Evaluated) -> list:
    """One row per image: AUCs and the method's seconds per image."""
    return [{"method": name, "resolution": resolution, "image": i, "deletion": float(d), "insertion": float(s),
             "seconds_per_image": evaluated.seconds_per_image}
            for i, (d, s) in enumerate(zip(evaluated.curves["deletion"].auc, evaluated.curves["insertion"].auc))]


def auc_summary(rows) -> pd.DataFrame:
    """Mean deletion / insertion AUC per (method, resolution) with 95% normal-approximation half-widths."""
    frame = pd.DataFrame(rows)
    grouped = frame.groupby(["method", "resolution"], sort=False)
    summary = grouped[["deletion", "insertion", "seconds_per_image"]].mean()
    half_width = 1.96 * grouped[["deletion", "insertion"]].std(ddof=1) / grouped.size().pow(0.5).values[:, None]
    summary["deletion ±95%"] = half_width["deletion"].fillna(0.0)
    summary["insertion ±95%"] = half_width["insertion"].fillna(0.0)
    summary["images"] = grouped.size()
    return summary.reset_index()


def run_entries(system: System, entries, budget: dict, seed: int = 0, count: int | None = None):
    """Evaluate (row name, resolution label) entries of :data:`ROWS` on the first ``count`` images of ``system``;
    I-GOS rows run with ``budget`` (e.g. iterations / ig_steps) at the label's mask side.

    Returns ({(name, label): Evaluated}, per-image rows for :func:`auc_summary`).
    """
    x, y = system.x[:count], system.y[:count]
    evaluated, rows = {}, []
    for name, label in tqdm(entries, desc="methods"):
        method, changes = ROWS[name]
        if method in igos.SETTINGS:
            entry = evaluate_method(system.model, x, y, method, system.extra["resolutions"][label],
                                    {**changes, **budget}, seed=seed)
        else:
            entry = evaluate_method(system.model, x, y, method, settings=changes)
        evaluated[(name, label)] = entry
        rows += per_image_rows(name, label, entry)
    return evaluated, rows


def ablation_table(system: System, labels, table1_rows: list, budget: dict, seed: int, count: int) -> pd.DataFrame:
    """Table 3: every :data:`ABLATIONS` row at each resolution of ``labels`` on the first ``count`` images.

    Rows already in ``table1_rows`` (I-GOS, iGOS++) are reused: an image's maps do not depend on its batch.
    """
    done = {(row["method"], row["resolution"]) for row in table1_rows}
    entries = [(name, label) for label in labels for name in ABLATIONS if (name, label) not in done]
    _, rows = run_entries(system, entries, budget, seed, count=count)
    rows += [row for row in table1_rows if row["method"] in ABLATIONS and row["resolution"] in labels
             and row["image"] < count]
    return auc_summary(rows)


def mask_table(system: System, evaluated: dict, labels) -> pd.DataFrame:
    """Table 5: AUCs of iGOS++'s deletion mask M_x, insertion mask M_y and their product M_xy, from the
    iGOS++ entries of ``evaluated`` (:func:`run_entries`) at each resolution of ``labels``."""
    rows = []
    for label in labels:
        result = evaluated[(method_label("igos_pp"), label)].result
        for name, mask in (("M_x", result.deletion_mask), ("M_y", result.insertion_mask), ("M_xy", result.mask)):
            maps = mask_maps(mask, system.x.shape[-2:])
            curves = perturbation_curves(system.model, system.x, maps, system.y)
            rows += per_image_rows(name, label, Evaluated(maps, curves, 0.0))
    return auc_summary(rows).drop(columns="seconds_per_image")


def objective_table(system: System, lambdas, budget: dict, seed: int, count: int) -> pd.DataFrame:
    """Table 7: the noise-free objective ``f(Phi(M)) - f(Phi(1 - M)) + g(M)`` reached at 28x28 by the naive
    one-mask version and by iGOS++, mean over the first ``count`` images, per (lambda1, lambda2)."""
    x, y = system.x[:count], system.y[:count]
    rows = []
    for lambda1, lambda2 in tqdm(lambdas, desc="lambda settings"):
        for name in ("I-GOS + Insertion (naive)", method_label("igos_pp")):
            settings = {**row_settings(name), **budget, "mask_size": 28, "lambda1": lambda1, "lambda2": lambda2}
            result = igos.optimize_in_batches(system.model, x, y, seed=seed, **settings)
            rows.append({"lambda1": lambda1, "lambda2": lambda2, "method": name,
                         "objective": float(result.final_objective.mean())})
    return pd.DataFrame(rows)


def smoothness_maps(system: System, lambda2s, budget: dict, seed: int) -> dict:
    """Figure 10: iGOS++ maps of the first image at full resolution with BTV or plain TV, per lambda2."""
    side = max(system.extra["resolutions"].values())
    return {f"{smoothness.upper()} λ2={lambda2:g}": explain(
                "igos_pp", system.model, system.x[:1], system.y[:1], mask_size=side, smoothness=smoothness,
                lambda2=lambda2, seed=seed, **budget)
            for smoothness in ("btv", "tv") for lambda2 in lambda2s}


# ----------------------------------------------------------------------------------------- sanity checks

#: The maps the sanity checks compare: label -> (registry method, whether it takes the I-GOS budget).
SANITY_METHODS = {"Grad-CAM": ("gradcam", False), "Integrated Gradients": ("integrated_gradients", False),
                  "iGOS++ 28x28": ("igos_pp", True)}


def sanity_checks(system: System, random_label_model, budget: dict, seed: int, count: int) -> pd.DataFrame:
    """Adebayo et al.'s checks on the first ``count`` images: cascading model randomisation (from the logits
    down, :func:`studies.common.cascading_randomization`) and the same network trained on permuted labels.

    Rows: model (the randomised layers joined by "+", or "random labels"), method, Spearman rank correlation and
    SSIM between the map and the trained model's map. Maps are summed over channels and min-max rescaled
    (constant -> 0) before the comparison.
    """
    x, y = system.x[:count], system.y[:count]

    def maps_of(model) -> dict:
        maps = {label: explain(method, model, x, y, **(dict(budget, mask_size=28, seed=seed) if budgeted else {}))
                for label, (method, budgeted) in SANITY_METHODS.items()}
        return {label: normalize_maps(m.sum(1, keepdim=True).double(), "range", constant="zeros")
                for label, m in maps.items()}

    reference = maps_of(system.model)  # computed once: the cascade and the random-label model compare with it
    order = randomization_order(system.model)
    cascade = cascading_randomization(system.model, lambda m: reference if m is system.model else maps_of(m),
                                      order, seed=seed)
    randomized = {layer: "+".join(order[:depth + 1]) for depth, layer in enumerate(order)}
    rows = [{"model": randomized[row["randomized up to"]], "method": row["method"],
             "spearman": row["rank correlation"], "ssim": row["SSIM"]} for row in cascade.to_dict("records")]
    random_labels = maps_of(random_label_model)
    rows += [{"model": "random labels", "method": label,
              "spearman": float(spearman(original, random_labels[label]).mean()),
              "ssim": float(ssim(original, random_labels[label]).mean())} for label, original in reference.items()]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ adversarial examples


def mi_fgsm(model, x: torch.Tensor, adversarial_class: torch.Tensor, epsilon: float = 16 / 255, steps: int = 10,
            decay: float = 1.0) -> torch.Tensor:
    """Targeted MI-FGSM (Dong et al. 2018) in [0,1] pixel space: momentum on L1-normalised gradients of the
    cross-entropy towards ``adversarial_class``, L-infinity ball of radius ``epsilon``."""
    step_size = epsilon / steps
    adversarial = x.detach().clone()
    momentum = torch.zeros_like(x)
    for _ in range(steps):
        adversarial.requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(model(adversarial), adversarial_class)
            grad = torch.autograd.grad(loss, adversarial)[0]
        momentum = decay * momentum + grad / grad.abs().flatten(1).mean(1).clamp(min=1e-12).view(-1, 1, 1, 1)
        adversarial = adversarial.detach() - step_size * momentum.sign()
        adversarial = (x + (adversarial - x).clamp(-epsilon, epsilon)).clamp(0, 1)
    return adversarial.detach()


@dataclass
class AdversarialStudy:
    """iGOS++ (28x28) on the first images (``natural``) and on their MI-FGSM versions (``x_adversarial``,
    explained for the adversarial class), with the summary the notebook records."""

    x_natural: torch.Tensor
    x_adversarial: torch.Tensor
    natural: Evaluated
    adversarial: Evaluated
    summary: dict


def adversarial_study(system: System, budget: dict, seed: int, count: int) -> AdversarialStudy:
    """Attack the first ``count`` images towards class (y + 1) mod 10 and explain both versions with iGOS++."""
    x, y = system.x[:count], system.y[:count]
    adversarial_class = (y + 1) % 10
    x_adversarial = mi_fgsm(system.model, x, adversarial_class)
    success = float((predicted_classes(system.model, x_adversarial) == adversarial_class).float().mean())
    adversarial = evaluate_method(system.model, x_adversarial, adversarial_class, "igos_pp", 28, budget, seed=seed)
    natural = evaluate_method(system.model, x, y, "igos_pp", 28, budget, seed=seed)
    summary = {"attack success rate": success}
    for metric in ("insertion", "deletion"):
        summary[f"{metric} AUC natural"] = float(natural.curves[metric].auc.mean())
        summary[f"{metric} AUC adversarial"] = float(adversarial.curves[metric].auc.mean())
    return AdversarialStudy(x, x_adversarial, natural, adversarial, summary)


# -------------------------------------------------------------------------------- the "letter R" marker story


@dataclass
class MarkerStory:
    """A SceneCNN trained on DigitScenes with a marker glyph on most zeros (``shortcut``), the same network trained
    on the same scenes without the marker (``cleaned``), both test splits, and the marked zeros to explain
    (``x``, ``y``) with their marker ``region`` (N, 1, H, W), all on the device."""

    shortcut: torch.nn.Module
    cleaned: torch.nn.Module
    marked_test: object
    clean_test: object
    x: torch.Tensor
    y: torch.Tensor
    region: torch.Tensor


#: The class the marker is stamped on (the paper's COVID-19 class).
MARKED_CLASS = 0


def marker_story(profile: str, seed: int, device, count: int) -> MarkerStory:
    """Train (or load) both networks and pick the first ``count`` marked test scenes of :data:`MARKED_CLASS`; the
    marker region is where the marked and marker-free versions of a scene differ."""
    shortcut = trained_model("scene_cnn_marker", profile, seed=seed, device=device)
    config = preset_config("scene_cnn_marker", profile, seed=seed)
    cleaned = train_classifier(replace(config, dataset_kwargs={**config.dataset_kwargs, "remove_markers": True}),
                               device)
    marked_test, clean_test = shortcut.dataset.test, cleaned.dataset.test  # the same scenes, with and without
    region = (marked_test.x != clean_test.x).any(1, keepdim=True)
    chosen = ((marked_test.y == MARKED_CLASS) & marked_test.marker).nonzero().squeeze(1)[:count]
    return MarkerStory(shortcut.model, cleaned.model, marked_test, clean_test, marked_test.x[chosen].to(device),
                       marked_test.y[chosen].to(device), region[chosen].to(device))


def marker_maps(story: MarkerStory, budget: dict, seed: int) -> dict:
    """Grad-CAM (at the 8x8 CAM layer) and iGOS++ (28x28) maps of the marked scenes on the shortcut model."""
    return {"Grad-CAM (8x8)": explain("gradcam", story.shortcut, story.x, story.y),
            "iGOS++ 28x28": explain("igos_pp", story.shortcut, story.x, story.y, mask_size=28, seed=seed, **budget)}


def marker_lift(maps: dict, region: torch.Tensor) -> dict:
    """Mean saliency on the marker over mean saliency of the scene (1 = no preference), mean over images."""
    return {name: float(region_share(m, region, magnitude="positive", relative_to_area=True).mean())
            for name, m in maps.items()}


def top_pixels_score(model, x: torch.Tensor, maps: torch.Tensor, target: torch.Tensor,
                     fraction: float = 0.06) -> float:
    """Mean softmax score after revealing the top ``fraction`` of pixels in the blurred baseline (the paper's
    Fig. 5), read off the insertion curve by linear interpolation."""
    curves = perturbation_curves(model, x, maps, target)["insertion"]
    return float(np.mean([np.interp(fraction, curves.fractions, row) for row in curves.scores]))


def marker_only_predictions(story: MarkerStory) -> dict:
    """Share of the blurred scenes with only the marker revealed (the paper's Fig. 12) that each model
    classifies as :data:`MARKED_CLASS`."""
    marker_only = perturb(story.x, story.region.float(), igos.blurred_baseline(story.x))
    return {name: float((predicted_classes(model, marker_only) == MARKED_CLASS).float().mean())
            for name, model in (("marker model", story.shortcut), ("cleaned model", story.cleaned))}


def classification_summary(model, x: torch.Tensor, y: torch.Tensor, positive_class: int,
                           batch_size: int = 256) -> dict:
    """Accuracy over all classes and precision / recall / F1 of ``positive_class`` (the paper's COVID class)."""
    from sklearn.metrics import precision_recall_fscore_support

    device = next(model.parameters()).device
    predicted = predicted_classes(model, x.to(device), batch_size).cpu()
    truth = y.cpu()
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth == positive_class, predicted == positive_class, average="binary", zero_division=0)
    return {"accuracy": float((predicted == truth).float().mean()), "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


def cleaning_table(story: MarkerStory) -> pd.DataFrame:
    """Table 4 analog: accuracy and class-0 precision / recall / F1 of the marker model (with and without
    markers at test time) and of the cleaned model (marker-free test)."""
    cases = {"marker model, test with markers": (story.shortcut, story.marked_test),
             "marker model, marker-free test": (story.shortcut, story.clean_test),
             "cleaned model, marker-free test": (story.cleaned, story.clean_test)}
    return pd.DataFrame({name: classification_summary(model, split.x, split.y, MARKED_CLASS)
                         for name, (model, split) in cases.items()}).T


# -------------------------------------------------------------------------------------------------- figures


def plot_maps_and_curves(x, evaluated: dict, index: int = 0, cell: float = 2.0):
    """Figure 2 analog for image ``index``: one column per entry of ``evaluated`` (overlay, deletion curve,
    insertion curve). ``x`` is the image batch, or a dict with one batch per entry."""
    import matplotlib.pyplot as plt

    from xai_nb_utils.viz.plotting import overlay

    names = list(evaluated)
    fig, axes = plt.subplots(3, len(names), figsize=(cell * len(names), cell * 2.6), squeeze=False,
                             gridspec_kw={"height_ratios": [1.3, 1, 1]})
    for j, name in enumerate(names):
        entry = evaluated[name]
        images = x[name] if isinstance(x, dict) else x
        overlay(axes[0, j], images[index], entry.maps[index], title=name)
        for row, mode, colour in ((1, "deletion", "tab:red"), (2, "insertion", "tab:blue")):
            curves = entry.curves[mode]
            ax = axes[row, j]
            ax.plot(curves.fractions, curves.scores[index], color=colour)
            ax.fill_between(curves.fractions, curves.scores[index], color=colour, alpha=0.25)
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(f"{mode} AUC {curves.auc[index]:.3f}", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[2, 0].set_xlabel("fraction of pixels", fontsize=8)
    fig.tight_layout()
    return fig
