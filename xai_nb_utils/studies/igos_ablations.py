"""The study of notebooks/04_igos_pp_ablations.ipynb: I-GOS and iGOS++ (:mod:`xai_nb_utils.methods.igos`) scored
with the paper's insertion/deletion protocol, the rows of its Tables 1-7 (the paper's own numbers as labelled data),
the sanity checks, the adversarial study, the "letter R" marker story, the tests of the paper's headline claims
(declared in :mod:`xai_nb_utils.studies.igos_claims`; ``headline_*`` functions), the secondary rows of its tables
(:class:`PaperClaim`, uncorrected paired tests of :mod:`xai_nb_utils.metrics.statistics`) and the figures.

Every table row is a registry method with the settings it changes (:data:`ROWS`); the I-GOS rows run at a mask
resolution taken from the study system's ``extra["resolutions"]`` (label -> mask side).
"""
import math
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from xai_nb_utils.core.cache import cached_computation
from xai_nb_utils.core.exercises import Exercise
from xai_nb_utils.core.tasks import run_calls
from xai_nb_utils.core.progress import tqdm

from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.core.tensors import normalize_maps, perturb
from xai_nb_utils.methods import explain, igos
from xai_nb_utils.metrics.perturbation import insertion_deletion
from xai_nb_utils.metrics.regions import region_share
from xai_nb_utils.metrics.similarity import spearman, ssim
from xai_nb_utils.metrics.statistics import Evidence, paired_bootstrap, paired_comparison, paired_t
from xai_nb_utils.models.training import preset_config, train_classifier, trained_model
from xai_nb_utils.studies.common import (System, cascading_randomization, method_label, randomization_order,
                                         select_images, timed_maps)
from xai_nb_utils.studies.igos_claims import PAPER

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
#: The paper's mask resolutions (keys of the PAPER_TABLE* dicts) matching the study system's full, 28x28 and
#: CAM resolutions, in that order.
PAPER_RESOLUTIONS = ("224x224", "28x28", "7x7")

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
#: The baselines of Table 1 (registry methods); Grad-CAM and Integrated Gradients have one resolution (their
#: own), "random" is the chance level, Mask (MPert) runs at the label's resolution (:data:`STRIDED`).
BASELINES = ("gradcam", "integrated_gradients", "random", "mpert")
#: Table 1's "Mask" (Fong & Vedaldi): the workbook's MPert (preservation game), its mask at the row's resolution.
MASK = "Mask"
#: Every row of the tables: name -> (registry method, settings).
ROWS = {**{method_label(method): (method, {}) for method in BASELINES if method != "mpert"}, MASK: ("mpert", {}),
        **ABLATIONS}
#: Registry methods whose mask side is set by the row's resolution label, through their stride keyword.
STRIDED = {"mpert": "mask_stride"}


def row_settings(name: str) -> dict:
    """The full I-GOS settings of an :data:`ABLATIONS` row."""
    method, changes = ABLATIONS[name]
    return {**igos.SETTINGS[method], **changes}


# ------------------------------------------------------------------------------------------------ the system


def study_system(profile: str, n_images: int, seed: int, device) -> System:
    """``smoke``/``default``: the trained DigitScenes SceneCNN on correctly classified test scenes, masks at
    full resolution (64), 28 and 1/8 = the CAM resolution (8). ``paper``: ResNet50 on ImageNet validation images
    (user-supplied, see :mod:`xai_nb_utils.data.external`) at 224, 28 and 7, as the paper's Table 1. The mask
    resolutions (label -> side) are ``extra["resolutions"]``, the paper's resolution each one stands for
    (label -> a key of :data:`PAPER_RESOLUTIONS`) ``extra["paper_resolutions"]``."""
    if profile == "paper":
        from xai_nb_utils.data.external import load_imagenet_val, paper_crop
        from xai_nb_utils.models.pretrained import pretrained_model

        model = pretrained_model("resnet50", device=device)
        crop = paper_crop()
        side, cam = crop["size"], max(crop["size"] // 32, 2)  # the CAM resolution (2 at the tiny side, the least mask)
        split = load_imagenet_val(n=n_images, seed=seed, **crop).head(n_images)
        return System(f"ResNet50 on ImageNet val ({side}x{side})", model, split.x.to(device), split.y.to(device),
                      extra=_resolutions({f"{side}x{side} (full)": side, "28x28": 28, f"{cam}x{cam} (CAM)": cam}))
    trained = trained_model("scene_cnn", profile, seed=seed, device=device)
    model, test = trained.model, trained.dataset.test
    chosen = select_images(model, test.x, test.y, n_images, how="correct")
    side = test.x.shape[-1]
    return System(f"SceneCNN on DigitScenes ({side}x{side}), test accuracy {trained.test_accuracy:.3f}", model,
                  test.x[chosen].to(device), test.y[chosen].to(device), accuracy=trained.test_accuracy,
                  extra=_resolutions({f"{side}x{side} (full)": side, "28x28": 28,
                                      f"{side // 8}x{side // 8} (1/8, CAM)": side // 8}))


def _resolutions(sides: dict) -> dict:
    """The system's ``extra``: mask sides (full, 28, CAM, in that order) and the paper's resolution of each."""
    return {"resolutions": sides, "paper_resolutions": dict(zip(sides, PAPER_RESOLUTIONS))}


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
    """One method at one resolution on a batch: maps, curves, seconds per image (None: not timed, e.g. the
    masks of Table 5) and (for I-GOS) the result."""

    maps: torch.Tensor
    curves: dict
    seconds_per_image: float | None
    result: igos.IgosResult | None = None


@cached_computation("igos-methods")
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
    """One row per image: AUCs and (when timed) the method's seconds per image."""
    timed = {} if evaluated.seconds_per_image is None else {"seconds_per_image": evaluated.seconds_per_image}
    return [{"method": name, "resolution": resolution, "image": i, "deletion": float(d), "insertion": float(s),
             **timed}
            for i, (d, s) in enumerate(zip(evaluated.curves["deletion"].auc, evaluated.curves["insertion"].auc))]


def auc_summary(rows) -> pd.DataFrame:
    """Mean deletion / insertion AUC (and seconds per image, when timed) per (method, resolution) with 95%
    normal-approximation half-widths."""
    frame = pd.DataFrame(rows)
    grouped = frame.groupby(["method", "resolution"], sort=False)
    summary = grouped[[c for c in ("deletion", "insertion", "seconds_per_image") if c in frame]].mean()
    half_width = 1.96 * grouped[["deletion", "insertion"]].std(ddof=1) / grouped.size().pow(0.5).values[:, None]
    summary["deletion ±95%"] = half_width["deletion"].fillna(0.0)
    summary["insertion ±95%"] = half_width["insertion"].fillna(0.0)
    summary["images"] = grouped.size()
    return summary.reset_index()


def run_entries(system: System, entries, budget: dict, seed: int = 0, count: int | None = None,
                scheduler: str = "sync", method_settings: dict | None = None):
    """Evaluate (row name, resolution label) entries of :data:`ROWS` on the first ``count`` images of ``system``;
    I-GOS rows run with ``budget`` (e.g. iterations / ig_steps) at the label's mask side, the other rows with
    ``method_settings[method]`` (e.g. ``{"mpert": {"iterations": 20}}``) over their registry defaults. The entries
    are independent tasks run on ``scheduler`` (:func:`core.tasks.run_calls`: ``"sync"`` here, ``"local"`` on a local
    Dask cluster, ``"tcp://..."`` on a running one).

    Returns ({(name, label): Evaluated}, per-image rows for :func:`auc_summary`).
    """
    x, y = system.x[:count], system.y[:count]
    calls = {}
    for name, label in entries:
        method, changes = ROWS[name]
        changes = {**changes, **(method_settings or {}).get(method, {})}
        side = system.extra["resolutions"][label]
        if method in igos.SETTINGS:
            calls[name, label] = (system.model, x, y, method, side, {**changes, **budget}, seed)
        elif method in STRIDED:
            calls[name, label] = (system.model, x, y, method, None,
                                  {**changes, STRIDED[method]: x.shape[-1] // side})
        else:
            calls[name, label] = (system.model, x, y, method, None, changes)
    evaluated = run_calls(evaluate_method, calls, scheduler, desc="methods")
    rows = [row for (name, label), entry in evaluated.items() for row in per_image_rows(name, label, entry)]
    return evaluated, rows


def ablation_rows(system: System, labels, budget: dict, seed: int, count: int, scheduler: str = "sync") -> list:
    """Table 3: per-image rows (:func:`per_image_rows`) of every :data:`ABLATIONS` row at each resolution of
    ``labels`` on the first ``count`` images, all at ``budget`` (the I-GOS and iGOS++ rows are run again: Table 1
    runs at the paper's budget)."""
    entries = [(name, label) for label in labels for name in ABLATIONS]
    return run_entries(system, entries, budget, seed, count=count, scheduler=scheduler)[1]


def mask_rows(system: System, evaluated: dict, labels) -> list:
    """Table 5: per-image AUC rows of iGOS++'s deletion mask M_x, insertion mask M_y and their product M_xy,
    from the iGOS++ entries of ``evaluated`` (:func:`run_entries`) at each resolution of ``labels``."""
    rows = []
    for label in labels:
        result = evaluated[(method_label("igos_pp"), label)].result
        for name, mask in (("M_x", result.deletion_mask), ("M_y", result.insertion_mask), ("M_xy", result.mask)):
            maps = mask_maps(mask, system.x.shape[-2:])
            curves = perturbation_curves(system.model, system.x, maps, system.y)
            rows += per_image_rows(name, label, Evaluated(maps, curves, None))
    return rows


#: The two rows Table 7 compares.
TABLE7_METHODS = ("I-GOS + Insertion (naive)", method_label("igos_pp"))


@cached_computation("igos-objective")
def objective_rows(system: System, lambdas, budget: dict, seed: int, count: int) -> pd.DataFrame:
    """Table 7: the noise-free objective ``f(Phi(M)) - f(Phi(1 - M)) + g(M)`` reached at 28x28 by the naive
    one-mask version and by iGOS++ on each of the first ``count`` images, per (lambda1, lambda2)."""
    x, y = system.x[:count], system.y[:count]
    rows = []
    for lambda1, lambda2 in tqdm(lambdas, desc="lambda settings"):
        for name in TABLE7_METHODS:
            settings = {**row_settings(name), **budget, "mask_size": 28, "lambda1": lambda1, "lambda2": lambda2}
            result = igos.optimize_in_batches(system.model, x, y, seed=seed, **settings)
            rows += [{"lambda1": lambda1, "lambda2": lambda2, "method": name, "image": i, "objective": float(value)}
                     for i, value in enumerate(result.final_objective)]
    return pd.DataFrame(rows)


def objective_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Table 7 as the paper prints it: the mean objective per (lambda1, lambda2) and method."""
    return rows.groupby(["lambda1", "lambda2", "method"], sort=False)["objective"].mean().reset_index()


@cached_computation("igos-smoothness")
def smoothness_maps(system: System, lambda2s, budget: dict, seed: int) -> dict:
    """Figure 10: iGOS++ maps of the first image at full resolution with BTV or plain TV, per lambda2."""
    side = max(system.extra["resolutions"].values())
    return {_smoothness_title(smoothness, lambda2): explain(
                "igos_pp", system.model, system.x[:1], system.y[:1], mask_size=side, smoothness=smoothness,
                lambda2=lambda2, seed=seed, **budget)
            for smoothness in ("btv", "tv") for lambda2 in lambda2s}


def _smoothness_title(smoothness: str, lambda2: float) -> str:
    return f"{smoothness.upper()} λ2={lambda2:g}"


def smoothness_differences(maps: dict, lambda2s) -> pd.DataFrame:
    """How much the Figure 10 panels differ: per lambda2, the mean and the largest absolute difference between
    the BTV and the TV map (maps are 1 - M, in [0, 1]) and their Spearman rank correlation (1 = same ranking,
    the ranking is what insertion/deletion score)."""
    rows = []
    for lambda2 in lambda2s:
        btv, tv = maps[_smoothness_title("btv", lambda2)], maps[_smoothness_title("tv", lambda2)]
        difference = (btv - tv).abs()
        rows.append({"lambda2": lambda2, "mean |BTV - TV|": float(difference.mean()),
                     "max |BTV - TV|": float(difference.max()), "spearman": float(spearman(btv, tv).mean())})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- sanity checks

#: The maps the sanity checks compare: label -> (registry method, whether it takes the I-GOS budget).
SANITY_METHODS = {"Grad-CAM": ("gradcam", False), "Integrated Gradients": ("integrated_gradients", False),
                  "iGOS++ 28x28": ("igos_pp", True)}


def random_label_model(profile: str, seed: int, device):
    """The study network trained on permuted labels (embedded profiles); None on ``paper``, where no ResNet50
    trained on permuted ImageNet labels is available (the check is then left out, and the notebook says so)."""
    if profile == "paper":
        return None
    return trained_model("scene_cnn", profile, variant="random_labels", seed=seed, device=device).model


def random_label_fit(profile: str, seed: int) -> dict:
    """Did the random-label network fit its permuted labels, as Adebayo et al.'s (which memorises them) does? Its
    last epoch's training loss against chance, ln(classes): "fitted" below half of chance, "near chance" above 90%
    of it, "partly fitted" between. With a sentence."""
    trained = trained_model("scene_cnn", profile, variant="random_labels", seed=seed, device="cpu")
    loss, chance, epochs = trained.history[-1]["loss"], math.log(trained.dataset.num_classes), len(trained.history)
    fit = "fitted" if loss < chance / 2 else "near chance" if loss > 0.9 * chance else "partly fitted"
    verdict = {"fitted": "it fitted its permuted labels, as Adebayo et al.'s network does",
               "partly fitted": f"it fitted its permuted labels only partly in {epochs} epochs (Adebayo et al.'s "
                                "network memorises them)",
               "near chance": f"it did not fit its permuted labels in {epochs} epochs (Adebayo et al.'s network "
                              "memorises them), so this check compares with a near-chance network, much like the "
                              "cascade's last level"}[fit]
    return {"final training loss": loss, "chance loss": chance, "fit": fit,
            "sentence": f"The random-label network ends training at loss {loss:.3f} (chance: ln "
                        f"{trained.dataset.num_classes} = {chance:.3f}): {verdict}."}


@cached_computation("igos-sanity")
def sanity_checks(system: System, random_label_model, budget: dict, seed: int, count: int) -> pd.DataFrame:
    """Adebayo et al.'s checks on the first ``count`` images: cascading model randomisation (from the logits
    down, :func:`studies.common.cascading_randomization`) and, unless ``random_label_model`` is None, the same
    network trained on permuted labels.

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
    if random_label_model is None:
        return pd.DataFrame(rows)
    random_labels = maps_of(random_label_model)
    rows += [{"model": "random labels", "method": label,
              "spearman": float(spearman(original, random_labels[label]).mean()),
              "ssim": float(ssim(original, random_labels[label]).mean())} for label, original in reference.items()]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ adversarial examples


#: The attack's L-infinity radius in [0,1] pixel units.
ATTACK_RADIUS = 16 / 255


def mi_fgsm(model, x: torch.Tensor, adversarial_class: torch.Tensor, epsilon: float = ATTACK_RADIUS,
            steps: int = 10, decay: float = 1.0) -> torch.Tensor:
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


def attack_images(model, x: torch.Tensor, y: torch.Tensor, epsilon: float = ATTACK_RADIUS) -> tuple:
    """Targeted MI-FGSM towards class (y + 1) mod 10: (adversarial images, their class, the success rate)."""
    adversarial_class = (y + 1) % 10
    x_adversarial = mi_fgsm(model, x, adversarial_class, epsilon)
    success = float((predicted_classes(model, x_adversarial) == adversarial_class).float().mean())
    return x_adversarial, adversarial_class, success


@cached_computation("igos-adversarial")
def adversarial_study(system: System, budget: dict, seed: int, count: int) -> AdversarialStudy:
    """Attack the first ``count`` images (:func:`attack_images`) and explain both versions with iGOS++."""
    x, y = system.x[:count], system.y[:count]
    x_adversarial, adversarial_class, success = attack_images(system.model, x, y)
    adversarial = evaluate_method(system.model, x_adversarial, adversarial_class, "igos_pp", 28, budget, seed=seed)
    natural = evaluate_method(system.model, x, y, "igos_pp", 28, budget, seed=seed)
    summary = {"attack success rate": success}
    for metric in ("insertion", "deletion"):
        summary[f"{metric} AUC natural"] = float(natural.curves[metric].auc.mean())
        summary[f"{metric} AUC adversarial"] = float(adversarial.curves[metric].auc.mean())
    return AdversarialStudy(x, x_adversarial, natural, adversarial, summary)


def attack_success(model, x: torch.Tensor, y: torch.Tensor, epsilon: float) -> float:
    """Share of the images that :func:`attack_images` with radius ``epsilon`` turns into the other class."""
    return attack_images(model, x, y, epsilon)[2]


#: :func:`pixels_to_reach`'s level: the share of the full-image score an insertion curve has to reach.
HALF_SCORE = 0.5


def pixels_to_reach(curves, level: float = HALF_SCORE) -> np.ndarray:
    """Per image: the first fraction of pixels on the curve at which the score reaches ``level`` times its
    last value (for insertion: the score of the image itself). Near 1 = the curve stays low until almost every
    pixel is back (the paper's Fig. 4 for adversarial masks)."""
    reached = curves.scores >= level * curves.scores[:, -1:]
    return curves.fractions[reached.argmax(1)]


def half_score_fractions(attack: AdversarialStudy) -> dict:
    """Per image (N,): :func:`pixels_to_reach` of the natural and of the adversarial insertion curves."""
    return {name: pixels_to_reach(entry.curves["insertion"])
            for name, entry in (("natural", attack.natural), ("adversarial", attack.adversarial))}


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

    @property
    def cam_cells(self) -> int:
        """Side of the SceneCNN's Grad-CAM grid: its last stage is 1/8 of the scene."""
        return self.x.shape[-1] // 8


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
    """Per image (N,): mean saliency on the marker over mean saliency of the scene (1 = no preference)."""
    return {name: region_share(m, region, magnitude="positive", relative_to_area=True).cpu().numpy()
            for name, m in maps.items()}


def means(per_image: dict) -> dict:
    """{name: mean over images} of {name: per-image values}."""
    return {name: float(np.mean(values)) for name, values in per_image.items()}


def top_pixels_scores(model, x: torch.Tensor, maps: torch.Tensor, target: torch.Tensor,
                     fraction: float = 0.06) -> np.ndarray:
    """Per image (N,): the softmax score after revealing the top ``fraction`` of pixels in the blurred
    baseline (the paper's Fig. 5), read off the insertion curve by linear interpolation."""
    curves = perturbation_curves(model, x, maps, target)["insertion"]
    return np.array([np.interp(fraction, curves.fractions, row) for row in curves.scores])


def marker_cell_share(region: torch.Tensor, cells: int) -> float:
    """Mean over images of the share of the marker's pixels that lie in the one cell (of a ``cells`` x ``cells``
    grid, e.g. Grad-CAM's) holding most of them: 1 = the whole marker sits inside a single CAM cell."""
    region = region.float().flatten(1, 1)  # (N, H, W); H and W are multiples of cells
    per_cell = region.unflatten(-2, (cells, -1)).unflatten(-1, (cells, -1)).sum((-3, -1))
    return float((per_cell.flatten(1).amax(1) / region.flatten(1).sum(1).clamp_min(1)).mean())


def marker_only_predictions(story: MarkerStory) -> dict:
    """Share of the blurred scenes with only the marker revealed (the paper's Fig. 12) that each model
    classifies as :data:`MARKED_CLASS`."""
    marker_only = perturb(story.x, story.region.float(), igos.blurred_baseline(story.x))
    return {name: float((predicted_classes(model, marker_only) == MARKED_CLASS).float().mean())
            for name, model in (("marker model", story.shortcut), ("cleaned model", story.cleaned))}


def classification_summary(model, x: torch.Tensor, y: torch.Tensor, positive_class: int) -> dict:
    """Accuracy over all classes and precision / recall / F1 of ``positive_class`` (the paper's COVID class)."""
    from sklearn.metrics import precision_recall_fscore_support

    device = next(model.parameters()).device
    predicted = predicted_classes(model, x.to(device)).cpu()
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


# ------------------------------------------------------------------------------------- the headline claims


def pair_tests(rows, pairs: dict) -> dict:
    """{pair label: paired t of insertion AUC} for ``pairs`` {label: ((method, resolution), (method, resolution))}
    of per-image rows, a - b on the same images."""
    return {label: paired_t(*(_paired_scores(rows, "insertion", a, b))) for label, (a, b) in pairs.items()}


def baseline_pairs(labels) -> dict:
    """H1's pairs: iGOS++ against each Table 1 baseline at that baseline's resolution (``labels`` = full, 28x28,
    CAM), as {label: ((method, resolution), (method, resolution))}."""
    full, mid, cam = labels
    plus = method_label("igos_pp")
    pairs = {f"vs I-GOS, {label}": ((plus, label), (method_label("igos"), label)) for label in labels}
    pairs |= {f"vs {name}, {label}": ((plus, label), (name, label))
              for name, label in ((method_label("integrated_gradients"), full), (MASK, full),
                                  (method_label("gradcam"), cam), (MASK, cam))}
    return pairs


def drop_tests(rows, coarse: str, full: str) -> dict:
    """H2: the per-image insertion drop from ``coarse`` to ``full`` resolution (coarse minus full), iGOS++ - I-GOS."""
    drops = {}
    for method in (method_label("igos_pp"), method_label("igos")):
        coarse_scores, full_scores = _paired_scores(rows, "insertion", (method, coarse), (method, full))
        drops[method] = coarse_scores - full_scores
    return {f"drop {coarse} -> {full}, iGOS++ - I-GOS": paired_t(*drops.values())}


def headroom(table1: pd.DataFrame, evaluated: dict, minimum: float) -> tuple:
    """The insertion claims' premise, ``(passed, detail)``: the best mean insertion AUC of Table 1 exceeds the random
    map's by at least ``minimum``; the detail prints both, and the ceiling (the mean score of the full scenes, where
    every insertion curve ends) and the floor (the blurred scenes, where it starts)."""
    means = table1.groupby("method")["insertion"].max()
    random_map = means.pop(method_label("random"))
    best = means.idxmax()
    scores = np.concatenate([entry.curves["insertion"].scores for entry in evaluated.values()])
    gap = means[best] - random_map
    return bool(gap >= minimum), (f"best mean insertion AUC {best} {means[best]:.3f} vs the random map "
                                  f"{random_map:.3f}: headroom {gap:.3f} (needs >= {minimum:g}); the curves end at "
                                  f"the full scene's score {scores[:, -1].mean():.3f} and start at the blurred "
                                  f"scene's {scores[:, 0].mean():.3f}")


def fragmentation(maps: torch.Tensor, fraction: float) -> np.ndarray:
    """Per image (N,): the number of connected regions (8-neighbours) formed by the ``fraction`` most salient
    pixels of the map (channels summed; pixels at or below 0 never count): 1 = one blob, more = scattered."""
    from scipy import ndimage

    counts = []
    for image in maps.sum(1).detach().cpu().numpy():
        threshold = np.quantile(image, 1 - fraction)
        top = (image >= threshold) & (image > 0)
        counts.append(ndimage.label(top, structure=np.ones((3, 3)))[1])
    return np.array(counts, dtype=float)


def continuity_tests(evaluated: dict, full: str, fraction: float) -> tuple:
    """H3: (paired t of :func:`fragmentation`, iGOS++ (BTV) - iGOS++ (no BTV), at ``full`` resolution; the mean
    region counts)."""
    counts = {name: fragmentation(evaluated[name, full].maps, fraction)
              for name in (method_label("igos_pp"), "iGOS++ (no BTV)")}
    return {f"regions of the top {fraction:.0%}, BTV - TV": paired_t(*counts.values())}, \
        {name: float(values.mean()) for name, values in counts.items()}


def _class_outcomes(model, split, positive_class: int, device) -> np.ndarray:
    """(N, 2) per scene: [predicted ``positive_class``, is ``positive_class``], the model on ``device``."""
    predicted = predicted_classes(model, split.x.to(device), 256).cpu()
    return np.stack([(predicted == positive_class).numpy(), (split.y.cpu() == positive_class).numpy()], 1)


def precision(outcomes: np.ndarray) -> float:
    """Precision of (N, 2) [predicted, true] outcomes (0 when nothing is predicted)."""
    predicted = outcomes[:, 0].sum()
    return float((outcomes[:, 0] & outcomes[:, 1]).sum() / predicted) if predicted else 0.0


def recall(outcomes: np.ndarray) -> float:
    """Recall of (N, 2) [predicted, true] outcomes (0 when nothing is true)."""
    true = outcomes[:, 1].sum()
    return float((outcomes[:, 0] & outcomes[:, 1]).sum() / true) if true else 0.0


def cleaning_tests(story: MarkerStory, seed: int = 0) -> dict:
    """H4: precision and recall of :data:`MARKED_CLASS` on the marker-free test scenes, the cleaned model minus the
    marker model, each a paired bootstrap over the scenes."""
    cleaned, marker = (_class_outcomes(model, story.clean_test, MARKED_CLASS, story.x.device)
                       for model in (story.cleaned, story.shortcut))
    return {name: paired_bootstrap(lambda a, b, f=metric: f(a) - f(b), cleaned, marker, seed=seed)
            for name, metric in (("precision", precision), ("recall", recall))}


def shortcut_premise(story: MarkerStory, minimum: float) -> tuple:
    """H4's premise, ``(passed, detail)``: the marker model learned the shortcut, i.e. its recall of the marked
    class falls by at least ``minimum`` from the test scenes with markers to the same scenes without."""
    with_markers, without = (recall(_class_outcomes(story.shortcut, split, MARKED_CLASS, story.x.device))
                             for split in (story.marked_test, story.clean_test))
    return bool(with_markers - without >= minimum), (
        f"marker model's class-{MARKED_CLASS} recall {with_markers:.3f} with markers vs {without:.3f} on the same "
        f"scenes without (drop {with_markers - without:.3f}, needs >= {minimum:g})")


@cached_computation("igos-label-sanity")
def label_sanity_maps(system: System, random_label_model, budget: dict, seed: int, count: int,
                      mask_size: int = 28) -> dict:
    """Fig. 3's maps of iGOS++ (``mask_size``) on the first ``count`` images: the trained model with noise seeds
    ``seed`` and ``seed + 1``, and the random-label model with ``seed``."""
    x, y = system.x[:count], system.y[:count]
    run = lambda model, s: explain("igos_pp", model, x, y, mask_size=mask_size, seed=s, **budget)
    return {"trained": run(system.model, seed), "trained, other seed": run(system.model, seed + 1),
            "random labels": run(random_label_model, seed)}


def label_sanity_claim(maps: dict) -> tuple:
    """Fig. 3 (a reading of a remark): the Spearman correlation of each trained-model map with the random-label
    model's map is lower than with a second run on the trained model (another noise seed: how much the maps move
    by chance). Returns (the :class:`PaperClaim`, the mean correlations)."""
    correlations = {name: np.asarray(spearman(maps["trained"], maps[name]))
                    for name in ("random labels", "trained, other seed")}
    claim = PaperClaim("Fig. 3 label randomisation", "iGOS++ maps of a random-label model correlate less with the "
                       "trained model's maps than a rerun with another noise seed does",
                       paired_comparison(*correlations.values(), "less"), tuple(correlations),
                       "the paper's Fig. 3: maps 'significantly different from random classes' (Fashion-MNIST, no "
                       "number)", "reading of a remark")
    return claim, {name: float(values.mean()) for name, values in correlations.items()}


def paper_values() -> dict:
    """The paper's numbers behind H1 and H2 (Table 1, ResNet50; labelled as the paper's)."""
    plus, base = method_label("igos_pp"), method_label("igos")
    insertion = {paper: {name: values[1] for name, values in table.items()} for paper, table in PAPER_TABLE1.items()}
    best_other = {paper: max((v, n) for n, v in row.items() if n != plus) for paper, row in insertion.items()}
    h1 = "; ".join(f"{paper}: iGOS++ {row[plus]:.4f} vs {name} {value:.4f}"
                   for (paper, row), (value, name) in zip(insertion.items(), best_other.values()))
    drop = {name: insertion["7x7"][name] - insertion["224x224"][name] for name in (plus, base)}
    h2 = (f"7x7 -> 224x224 insertion drop: iGOS++ {drop[plus]:.4f} vs I-GOS {drop[base]:.4f}")
    return {"H1": f"the paper's Table 1 (ResNet50) insertion, iGOS++ vs the best baseline: {h1}", "H2": f"the paper's "
            f"Table 1 (ResNet50), {h2}"}


def finding(rows: list) -> str:
    """One sentence on the decided headline claims (``headline.decided`` rows): each claim's verdict and effect."""
    parts = [f"{row['claim_id']} {row['label']}: {row['verdict']}"
             + ("" if row.get("estimate") is None else f" ({row['estimate']:+.3g}, n = {row['n']})") for row in rows]
    return "iGOS++ on DigitScenes at the paper's budget: " + "; ".join(parts) + "."


# ------------------------------------------------------------------------------------------ secondary rows


@dataclass(frozen=True)
class PaperClaim:
    """A secondary row of the paper (a table cell or a reading of a remark), decided on our per-image scores without
    correction (recorded by :func:`record_claims`)."""

    claim_id: str
    claim: str
    evidence: Evidence
    labels: tuple
    paper_value: str | None = None
    kind: str = "table cell"


def record_claims(recorder, claims: list) -> list:
    """Record ``claims`` as secondary rows of the paper in ``recorder`` (``run.recorder``); each prints the sentence
    that states its outcome. Returns ``claims``."""
    for claim in claims:
        recorder.paper_claim(PAPER, claim.claim_id, claim.claim, claim.evidence, claim.labels, claim.paper_value,
                             claim.kind)
    return claims


def claims_table(claims: list) -> pd.DataFrame:
    """One row per claim: id, kind, verdict, n, both means, the mean difference and its confidence interval."""
    return pd.DataFrame([{"claim": c.claim_id, "kind": c.kind, "verdict": c.evidence.verdict, "n": c.evidence.n,
                          "a": c.labels[0], "mean a": c.evidence.mean_a,
                          "b": c.labels[1], "mean b": c.evidence.mean_b, "a - b": c.evidence.difference,
                          "CI low": c.evidence.ci_low, "CI high": c.evidence.ci_high, "p": c.evidence.p_value}
                         for c in claims])


def _image_scores(rows, method: str, resolution: str, metric: str) -> tuple:
    """(image indices, values) of ``metric`` for one (method, resolution) of per-image rows, by image."""
    chosen = sorted((row["image"], row[metric]) for row in rows
                    if row["method"] == method and row["resolution"] == resolution)
    return tuple(i for i, _ in chosen), np.array([value for _, value in chosen])


def _paired_scores(rows, metric: str, a: tuple, b: tuple) -> tuple:
    """(values of a, values of b) of ``metric`` for (method, resolution) ``a`` and ``b``, on the same images."""
    images_a, values_a = _image_scores(rows, *a, metric)
    images_b, values_b = _image_scores(rows, *b, metric)
    if images_a != images_b:
        raise ValueError(f"{a} and {b} are not scored on the same images: {images_a} vs {images_b}")
    return values_a, values_b


def compare_rows(rows, metric: str, a: tuple, b: tuple, expected: str) -> Evidence:
    """Paired comparison of ``metric`` between (method, resolution) ``a`` and ``b`` on the same images."""
    return paired_comparison(*_paired_scores(rows, metric, a, b), expected)


def _resolutions_in(rows, paper_resolutions: dict) -> dict:
    """The entries of ``paper_resolutions`` (label -> paper's resolution) whose label appears in ``rows``."""
    present = {row["resolution"] for row in rows}
    return {label: paper for label, paper in paper_resolutions.items() if label in present}


def _paper_pair(table: dict, a: str, b: str, metric: str) -> str:
    column = ("deletion", "insertion").index(metric)
    return f"{a} {table[a][column]:.4f} vs {b} {table[b][column]:.4f}"


def table1_claims(rows, paper_resolutions: dict) -> list:
    """Table 1's deletion cells at each resolution: the ordering of iGOS++ and I-GOS in the paper's own numbers
    (iGOS++ lower at 224x224 and 28x28, I-GOS lower at 7x7). Insertion is headline claim H1."""
    plus, base = method_label("igos_pp"), method_label("igos")
    claims = []
    for label, paper in _resolutions_in(rows, paper_resolutions).items():
        table = PAPER_TABLE1[paper]
        lower = table[plus][0] < table[base][0]
        claims.append(PaperClaim(
            f"Table 1 deletion, {label}",
            f"{'iGOS++' if lower else 'I-GOS'} has the lower deletion AUC (paper: {paper})",
            compare_rows(rows, "deletion", (plus, label), (base, label), "less" if lower else "greater"),
            (plus, base), f"{paper}: {_paper_pair(table, plus, base, 'deletion')} (ResNet50, ImageNet)"))
    return claims


def table3_claims(rows, paper_resolutions: dict) -> list:
    """Table 3: iGOS++ has a higher insertion AUC than each ablation row, at each resolution (the paper's
    iGOS++ row has the best insertion in both columns). The I-GOS row is left out: iGOS++ vs I-GOS is H1."""
    igos_pp = method_label("igos_pp")
    claims = []
    for label, paper in _resolutions_in(rows, paper_resolutions).items():
        table = {name: PAPER_TABLE3[name][paper] for name in ABLATIONS}
        claims += [PaperClaim(
            f"Table 3 insertion, {name}, {label}", f"iGOS++ has a higher insertion AUC than {name} (paper: {paper})",
            compare_rows(rows, "insertion", (igos_pp, label), (name, label), "greater"), (igos_pp, name),
            f"{paper}: {_paper_pair(table, igos_pp, name, 'insertion')} (ResNet50)")
            for name in ABLATIONS if name not in (igos_pp, method_label("igos"))]
    return claims


#: Table 5's claims: (a, b, metric, the paper's direction of a vs b); each holds in both of the paper's columns.
TABLE5_COMPARISONS = (("M_xy", "M_y", "insertion", "greater"), ("M_y", "M_x", "insertion", "greater"),
                      ("M_x", "M_y", "deletion", "less"))


def table5_claims(rows, paper_resolutions: dict) -> list:
    """Table 5: the product M_xy inserts better than the insertion mask M_y alone, M_y inserts better than the
    deletion mask M_x, and M_x deletes better than M_y, at each resolution."""
    claims = []
    for label, paper in _resolutions_in(rows, paper_resolutions).items():
        table = {name: PAPER_TABLE5[name][paper] for name in ("M_x", "M_y", "M_xy")}
        for a, b, metric, expected in TABLE5_COMPARISONS:
            word = "higher" if expected == "greater" else "lower"
            claims.append(PaperClaim(
                f"Table 5 {metric}, {a} vs {b}, {label}", f"{a} has a {word} {metric} AUC than {b} (paper: {paper})",
                compare_rows(rows, metric, (a, label), (b, label), expected), (a, b),
                f"{paper}: {_paper_pair(table, a, b, metric)} (ResNet50)"))
    return claims


def table7_claims(rows: pd.DataFrame) -> list:
    """Table 7: iGOS++ reaches a lower objective than the naive one-mask version, per (lambda1, lambda2),
    paired by image."""
    naive, igos_pp = TABLE7_METHODS
    claims = []
    for (lambda1, lambda2), group in rows.groupby(["lambda1", "lambda2"], sort=False):
        values = {name: group[group["method"] == name].sort_values("image")["objective"].to_numpy()
                  for name in TABLE7_METHODS}
        paper = PAPER_TABLE7[(int(lambda1), int(lambda2))]
        claims.append(PaperClaim(
            f"Table 7, lambda1={lambda1:g}, lambda2={lambda2:g}",
            "iGOS++ reaches a lower objective f(Phi(M)) - f(Phi(1-M)) + g(M) than the naive version (28x28)",
            paired_comparison(values[igos_pp], values[naive], "less"), (igos_pp, "naive"),
            f"iGOS++ {paper['iGOS++']:.3f} vs naive {paper['naive']:.3f} (ResNet50, mean of 500 images)"))
    return claims


def adversarial_claims(attack: AdversarialStudy) -> list:
    """Fig. 4 / Sec. 4 (readings of remarks): on adversarial images the insertion AUC is lower and the insertion
    curve needs more pixels to rise; deletion does not expose them (its AUC is as low or lower)."""
    natural, adversarial = attack.natural.curves, attack.adversarial.curves
    fractions = half_score_fractions(attack)
    labels = ("adversarial", "natural")
    remark = "reading of a remark"
    return [
        PaperClaim("Fig. 4 insertion AUC", "the insertion AUC of an adversarial image's explanation is lower "
                   "than the natural image's", paired_comparison(adversarial["insertion"].auc,
                                                                 natural["insertion"].auc, "less"), labels,
                   "Fig. 4: 'the insertion score is significantly lower' (VGG19, 4 images, no mean)", remark),
        PaperClaim("Fig. 4 insertion curve", f"an adversarial insertion curve needs more pixels to reach "
                   f"{HALF_SCORE:.0%} of the full-image score",
                   paired_comparison(fractions["adversarial"], fractions["natural"], "greater"), labels,
                   "Fig. 4: it 'only reaches the original score after almost all the pixels have been inserted'",
                   remark),
        PaperClaim("Sec. 4 deletion AUC", "deletion does not expose adversarial masks: their deletion AUC is "
                   "lower than the natural image's", paired_comparison(adversarial["deletion"].auc,
                                                                       natural["deletion"].auc, "less"), labels,
                   "Sec. 4: adversarial examples 'achieve near perfect' deletion scores (no number)", remark),
    ]


def marker_claims(lifts: dict, top_scores: dict) -> list:
    """Fig. 5 (readings of remarks): iGOS++ (28x28) puts more saliency on the marker than Grad-CAM (8x8) and its
    top 6% of pixels alone give a higher class-0 score. Table 4 (cleaning) is headline claim H4."""
    gradcam, igos_pp = list(lifts)
    remark = "reading of a remark"
    return [
        PaperClaim("Fig. 5 marker lift", "iGOS++ puts more of its saliency on the marker than the coarse Grad-CAM",
                   paired_comparison(lifts[igos_pp], lifts[gradcam], "greater"), (igos_pp, gradcam),
                   "Fig. 5: Grad-CAM (8x8) is 'coarse and ineffective', iGOS++ (32x32) highlights the 'R' (no number)",
                   remark),
        PaperClaim("Fig. 5 top-6% insertion", "revealing the top 6% pixels of iGOS++ gives a higher score of the "
                   "marked class than those of Grad-CAM", paired_comparison(top_scores[igos_pp],
                                                                           top_scores[gradcam], "greater"),
                   (igos_pp, gradcam), "Fig. 5: COVID-19 confidence 43% from the top 6% of iGOS++ (one image)",
                   remark),
    ]


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


def exercises(table1: pd.DataFrame, table3: pd.DataFrame, headline_budget: dict, iterations: int,
              ig_steps: int) -> list:
    """The notebook's "try it" exercises, answered from this run's Table 1 analog (at ``headline_budget``) and its
    Table 3 (at ``iterations`` / ``ig_steps``)."""
    rows = table1.set_index(["method", "resolution"])

    def comparison(resolution: str) -> str:
        igos, igos_pp = rows.loc[("I-GOS", resolution)], rows.loc[("iGOS++", resolution)]
        return (f"{resolution}: insertion iGOS++ {igos_pp.insertion:.3f} vs I-GOS {igos.insertion:.3f}, deletion "
                f"{igos_pp.deletion:.3f} vs {igos.deletion:.3f}, {igos_pp.seconds_per_image:.2f} vs "
                f"{igos.seconds_per_image:.2f} s per image")

    def resolutions_answer() -> str:
        resolutions = [r for r in table1["resolution"].unique() if ("iGOS++", r) in rows.index]
        return (f"means over {int(rows['images'].max())} scenes, {headline_budget['iterations']} iterations, "
                f"{headline_budget['ig_steps']} IG steps: " + "; ".join(comparison(r) for r in resolutions)
                + " (higher insertion, lower deletion is better).")

    def ablation_answer() -> str:
        best = table3.loc[table3.groupby("resolution", sort=False)["insertion"].idxmax()]
        return (f"Table 3 over {int(table3['images'].max())} scenes at {iterations} iterations, {ig_steps} IG steps: "
                + "; ".join(f"best insertion at {row.resolution}: {row.method} ({row.insertion:.3f})"
                            for row in best.itertuples()) + " (the paper: iGOS++ in both columns).")

    return [
        Exercise("With the widget, explain one scene with 'I-GOS' and with 'iGOS++' at each mask size: which "
                 "variant keeps the class score up when its top pixels are inserted?", resolutions_answer),
        Exercise("Run the ablations of Table 3 at the paper's budget (15 iterations, 20 integrated-gradient "
                 "steps): is iGOS++ then the best row in both columns?", ablation_answer,
                 {"iterations": 15, "ig_steps": 20}),
    ]
