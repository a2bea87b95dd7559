"""The study of notebook 06 (DRE, Fu et al., TPAMI): the paper's tables as data, the estimator and ablation
configurations by profile, the images explained, the density and skewness checks (Figures 5, 6, 13-15), the
Tables 3/4 analog, DRE+ (Figure 10a), the ablations (Figures 10b, 10c) and the figures.

The method is :mod:`xai_nb_utils.methods.dre` (controller, generator, MPert); its metrics M_F / M_E are
:mod:`xai_nb_utils.metrics.relevance`.
"""
from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from xai_nb_utils.core.cache import cached_computation, fingerprint
from xai_nb_utils.core.exercises import Exercise
from xai_nb_utils.core.tasks import run_calls
from xai_nb_utils.core.progress import tqdm

from xai_nb_utils.core.params import by_profile
from xai_nb_utils.core.paths import MissingDataError
from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.data.embedded import ImageSplit
from xai_nb_utils.data.external import load_imagenet_val, paper_crop
from xai_nb_utils.methods.dre.controller import (DEFAULT_ETA, DEFAULT_H, INPUT_KINDS, controller, controller_samples,
                                                 density_check, density_normal, input_density, pearson_skewness,
                                                 sample_input)
from xai_nb_utils.methods.dre.generator import (KINDS, MGNET_LAMBDAS, GeneratorConfig, dre_plus, estimator_key,
                                                fit_relevance_estimator, generator_config)
from xai_nb_utils.methods.registry import explain
from xai_nb_utils.metrics.relevance import explainability, faithfulness, normalize_across_methods
from xai_nb_utils.metrics.statistics import Evidence, one_sample_comparison, paired_comparison, paired_t
from xai_nb_utils.models.pretrained import pretrained_model
from xai_nb_utils.models.training import trained_model
from xai_nb_utils.studies.common import method_label, timed_maps
from xai_nb_utils.studies.dre_claims import PAPER
from xai_nb_utils.studies.headline import check
from xai_nb_utils.viz.plotting import overlay

# The paper's numbers, for display beside ours only (ImageNet, ResNet50 column and the mean over ResNet50, VGG19 and
# GoogleNet): Table 3 (M_F, per-image min-max normalised over the methods) and Table 4 (M_E).
PAPER_TABLE3_MF = {"DRE": (77.13, 74.37), "MGnet": (56.61, 55.75), "MPert": (72.40, 70.10),
                   "Grad-CAM": (70.13, 67.51), "Grad-CAM++": (68.34, 66.94), "VGrad": (18.80, 15.93),
                   "SmoothGrad": (29.38, 35.03), "IntGrad": (16.47, 26.73)}
PAPER_TABLE4_ME = {"DRE": (83.02, 82.89), "MGnet": (82.62, 82.67), "MPert": (75.74, 73.07),
                   "Grad-CAM": (79.28, 78.79), "Grad-CAM++": (82.86, 83.51), "VGrad": (66.23, 67.97),
                   "SmoothGrad": (73.17, 72.50), "IntGrad": (66.92, 65.64)}
#: the names the paper's tables give where they differ from the workbook's display names
PAPER_NAMES = {"saliency": "VGrad", "integrated_gradients": "IntGrad"}
#: the methods of Tables 3 and 4: table label -> registry name
TABLE_METHODS = {PAPER_NAMES.get(name, method_label(name)): name for name in (
    "dre", "mgnet", "mpert", "gradcam", "gradcam_pp", "saliency", "smoothgrad", "integrated_gradients")}
MISCLASSIFIED_METHODS = {label: TABLE_METHODS[label] for label in ("DRE", "MGnet", "Grad-CAM")}  # section 4.4.4

# Figure 10(b): (eta, h) of the distribution ablation; Figure 10(c): the constraints put back (1 = MGnet's lambdas)
DISTRIBUTION_ABLATION = ((0.5, 2.5), (1.5, 2.5), (1.5, 1.5), (2.5, 2.5), (1.5, 0.5))
CONSTRAINT_ABLATION = {
    "dre": {"(1) all constraints": ("bg", "av", "tv"), "(2) lambda_av = 0": ("bg", "tv"),
            "(3) lambda_av = lambda_bg = 0": ("tv",), "(4) lambda_av = lambda_tv = 0": ("bg",),
            "(5) none (DRE)": ()},
    "mgnet": {"(1) all constraints (MGnet)": ("bg", "av", "tv"), "(2) lambda_av = 0": ("bg", "tv"),
              "(3) lambda_bg = 0": ("av", "tv"), "(4) lambda_tv = 0": ("bg", "av"),
              "(5) lambda_bg = lambda_tv = 0": ("av",)},
}
# training sizes of the main estimators and of the ablation estimators; ``paper`` = default. The ablations train to
# a loss plateau: stop at the first epoch whose mean loss falls by less than ``plateau_tol`` = 5% of the previous
# epoch's, at most ``epochs`` (4: 100 steps of 16 scenes, within the time budget). Batch 16 on 400 scenes: measured on
# the default classifier, the right-skewed DRE generator's loss falls further per scene seen at batch 16 than at 64.
GENERATOR_SIZES = {"smoke": dict(n_train=128, embed_epochs=1, epochs=1, lr_halve_every=1),
                   "default": dict(n_train=2000, embed_epochs=1, epochs=4, lr_halve_every=2)}
ABLATION_SIZES = {"smoke": dict(n_train=32, batch_size=16, epochs=2, embed_epochs=1, lr_halve_every=1, plateau_tol=0.05),
                  "default": dict(n_train=400, batch_size=16, epochs=4, embed_epochs=1, lr_halve_every=2,
                                  plateau_tol=0.05)}


def _sizes(sizes: dict, profile: str) -> dict:
    return by_profile(profile, sizes["smoke"], sizes["default"])


def estimator_config(kind: str, profile: str, seed: int = 0) -> GeneratorConfig:
    """The main DRE or MGnet estimator of the notebook at a profile's size."""
    return generator_config(kind, seed=seed, **_sizes(GENERATOR_SIZES, profile))


def ablation_config(kind: str, profile: str, seed: int = 0, eta: float = DEFAULT_ETA, h: float = DEFAULT_H,
                    constraints=None) -> GeneratorConfig:
    """An ablation estimator, trained to a loss plateau (:data:`ABLATION_SIZES`; the paper trains its ablations for
    3 instead of 10 epochs); ``constraints``: which of "bg", "av", "tv" get MGnet's lambdas (None: the kind's
    default)."""
    overrides = dict(_sizes(ABLATION_SIZES, profile), eta=eta, h=h)
    if constraints is not None:
        overrides.update({f"lambda_{c}": MGNET_LAMBDAS[f"lambda_{c}"] if c in constraints else 0.0
                          for c in ("bg", "av", "tv")})
    return generator_config(kind, seed=seed, **overrides)


def distribution_configs(profile: str, seed: int = 0) -> dict:
    """Figure 10(b): one DRE ablation config per (eta, h) of :data:`DISTRIBUTION_ABLATION`."""
    return {f"eta={eta}, h={h}": ablation_config("dre", profile, seed, eta=eta, h=h)
            for eta, h in DISTRIBUTION_ABLATION}


def constraint_configs(profile: str, seed: int = 0) -> dict:
    """Figure 10(c): DRE and MGnet ablation configs per constraint setting of :data:`CONSTRAINT_ABLATION`."""
    return {f"{kind.upper()} {name}": ablation_config(kind, profile, seed, constraints=terms)
            for kind, settings in CONSTRAINT_ABLATION.items() for name, terms in settings.items()}


def train_ablations(model, images: torch.Tensor, num_classes: int, configs: dict, device=None,
                    scheduler: str = "sync") -> dict:
    """Fit (or load) one estimator per named config, each its own object; {name: RelevanceEstimator}. The fits are
    independent tasks run on ``scheduler`` (:func:`core.tasks.run_calls`; each is cached on disk as it finishes)."""
    calls = {name: (model, images, num_classes, config, device) for name, config in configs.items()}
    return run_calls(fit_relevance_estimator, calls, scheduler, desc="estimators")


def training_summary(estimators: dict) -> dict:
    """Per estimator: training seconds (when first built), images, epochs trained (of the cap), the final loss,
    whether it reached its loss plateau and its cache key (which covers the classifier's weights)."""
    return {name: {"seconds": e.train_seconds, "images": e.config.n_train,
                   "epochs": len([h for h in e.history if h["stage"] == "generator"]), "max_epochs": e.config.epochs,
                   "final_loss": e.history[-1]["loss"], "converged": e.converged, "key": e.key}
            for name, e in estimators.items()}


def same_classifier(model, images: torch.Tensor, estimators: dict) -> bool:
    """Whether every estimator was fitted on this classifier's weights and these training images (its cache key
    is the one :func:`estimator_key` gives for them)."""
    return all(e.key == estimator_key(e.config, model, images) for e in estimators.values())


# ---------------------------------------------------------------------------------------------------------------
# The classifier and the images explained
# ---------------------------------------------------------------------------------------------------------------

#: the paper profile's ImageNet images, drawn with the seed from the user's validation folder: the images the
#: generators train on (the paper: the ImageNet training set) and the test pool the tables explain
PAPER_IMAGES = {"smoke": dict(n_train=8, n_test=8), "default": dict(n_train=2000, n_test=1000)}


@dataclass
class StudyData:
    """What the notebook explains: the classifier, the images its generators train on, the test split (with
    object boxes) and the class names."""

    model: torch.nn.Module
    train_x: torch.Tensor
    test: ImageSplit
    classes: list
    test_accuracy: float | None  # None on paper (not measured on the whole validation set)
    description: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def classifier_fingerprint(self) -> str:
        """The digest of the classifier's weights (the same in every run that loads the same cached model)."""
        return fingerprint(self.model)


def load_study_data(profile: str, seed: int, device) -> StudyData:
    """Embedded profiles: the foundation's SceneCNN on DigitScenes (generators trained on its training scenes).
    ``paper``: the pretrained ResNet50 (the paper's main network) on ImageNet validation images with their boxes,
    :data:`PAPER_IMAGES` of them (at most half of the folder for the generators, the rest to explain)."""
    if profile != "paper":
        trained = trained_model("scene_cnn", profile=profile, seed=seed, device=device)
        scenes = trained.dataset
        return StudyData(trained.model, scenes.train.x, scenes.test, scenes.classes, trained.test_accuracy,
                         f"SceneCNN on DigitScenes, test accuracy {trained.test_accuracy:.3f}")
    sizes = by_profile(profile, PAPER_IMAGES["smoke"], PAPER_IMAGES["default"])
    split = load_imagenet_val(n=sizes["n_train"] + sizes["n_test"], seed=seed, **paper_crop())
    if split.boxes is None:
        raise MissingDataError("M_E needs the ImageNet bounding boxes: put the ILSVRC2012 validation box XMLs "
                               "(ILSVRC2012_bbox_val_v3) into data/external/imagenet/bbox/")
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(split)))
    n_train = min(sizes["n_train"], len(split) // 2)
    train, test = split.subset(order[:n_train]), split.subset(order[n_train:])
    return StudyData(pretrained_model("resnet50", device=device), train.x, test, split.classes, None,
                     f"ResNet50 (pretrained) on {len(test)} ImageNet validation images; generators trained on "
                     f"{n_train} others")


@dataclass
class ExplainedImages:
    """Test images on the model's device, the class each is explained for (the classifier's prediction) and their
    labels and digit boxes (on the CPU)."""

    x: torch.Tensor
    target: torch.Tensor
    split: ImageSplit

    def __len__(self) -> int:
        return len(self.x)

    @property
    def box_masks(self) -> torch.Tensor:
        return self.split.box_masks()

    def head(self, n: int) -> "ExplainedImages":
        return ExplainedImages(self.x[:n], self.target[:n], self.split.head(n))

    def titles(self, classes) -> list[str]:
        """Row titles: the true class -> the predicted class, per image."""
        return [f"{classes[int(t)]} -> {classes[int(p)]}" for t, p in zip(self.split.y, self.target)]


def classified_test_images(model, test: ImageSplit, n_correct: int, n_wrong: int = 4):
    """The first ``n_correct`` test images the model classifies correctly and the first ``n_wrong`` it gets wrong,
    each explained for the predicted class."""
    device = next(model.parameters()).device
    predicted = predicted_classes(model, test.x.to(device)).cpu()

    def pick(index):
        split = test.subset(index)
        return ExplainedImages(split.x.to(device), predicted[index].to(device), split)

    correct = torch.nonzero(predicted == test.y).flatten()
    if len(correct) == 0:
        raise ValueError(f"the classifier gets none of the {len(test)} test images right: nothing to explain "
                         "(are the labels in the model's class order?)")
    return pick(correct[:n_correct]), pick(torch.nonzero(predicted != test.y).flatten()[:n_wrong])


# ---------------------------------------------------------------------------------------------------------------
# Densities and skewness (Figures 5, 6, 13-15)
# ---------------------------------------------------------------------------------------------------------------

def _grid(n: int = 2001) -> np.ndarray:
    return np.linspace(0, 1, n)[1:-1]


def input_cases(kind: str) -> list[dict]:
    """The inputs of Figures 6 and 13-15: uniform; skew normal a in -20..20; mixtures with mu2 in (2, 4, 8, 16)
    and r1 in 0.1..0.9 (sigma1 = sigma2 = 1, mu1 = 0)."""
    if kind in ("normal", "uniform"):
        return [{}]
    if kind == "skew_normal":
        return [{"a": a} for a in (-20.0, -5.0, -2.0, 0.0, 2.0, 5.0, 20.0)]
    if kind == "mixture":
        return [{"r1": r1, "mu2": mu2} for mu2 in (2.0, 4.0, 8.0, 16.0) for r1 in (0.1, 0.3, 0.5, 0.7, 0.9)]
    raise ValueError(f"kind must be one of {INPUT_KINDS}, got {kind!r}")


def skewness_table(n: int = 100_000, seed: int = 0, eta: float = DEFAULT_ETA, h: float = DEFAULT_H) -> pd.DataFrame:
    """Pearson's coefficient of skewness (median form, and the moment form) of Monte Carlo inputs x and of the
    controller outputs z for every input of :func:`input_cases`, with the density checks (integral, KS)."""
    rows = []
    for kind in INPUT_KINDS:
        for params in input_cases(kind):
            check = density_check(kind, eta, h, n, seed, **params)
            rows.append({"input": kind, **params, "CoS x": check["cos_x"], "CoS z": check["cos_z"],
                         "moment skew x": check["moment_skew_x"], "moment skew z": check["moment_skew_z"],
                         "integral": check["integral"], "KS": check["ks"], "KS tolerance": check["ks_tolerance"]})
    return pd.DataFrame(rows)


def density_summary(checks: pd.DataFrame) -> dict:
    """Whether every density integrates to 1 (within 1e-4) and matches its Monte Carlo sample (KS below the
    tolerance), with the worst values."""
    integral_error = (checks["integral"] - 1).abs()
    return {"integrals_ok": bool((integral_error < 1e-4).all()), "ks_ok": bool((checks["KS"] < checks["KS tolerance"]).all()),
            "max_integral_error": float(integral_error.max()), "max_ks": float(checks["KS"].max()),
            "ks_tolerance": float(checks["KS tolerance"].iloc[0]), "inputs": len(checks)}


def cos_increase(checks: pd.DataFrame) -> dict:
    """For how many inputs the controller increases Pearson's CoS (the paper: all), and the inputs where not."""
    increased = checks["CoS z"] > checks["CoS x"]
    return {"count": int(increased.sum()), "of": len(checks),
            "not_increased": checks.loc[~increased, ["input", "a", "r1", "mu2", "CoS x", "CoS z"]]}


def plot_controller_densities(n: int = 100_000, seed: int = 0, etas=(0.5, 1.5, 2.5), hs=(0.5, 1.0, 1.5, 2.5, 5.0)):
    """Figure 5: p(z) for standard-normal input, (a) h = 1 and eta in ``etas``, (b-d) each eta with h in ``hs``;
    analytic curves (eq. 8) over Monte Carlo histograms of the controller output."""
    x = sample_input("normal", n, seed)
    z = _grid()
    panels = [("(a) h = 1", [(eta, 1.0) for eta in etas])] + \
             [(f"({'bcd'[i]}) eta = {eta}", [(eta, h) for h in hs]) for i, eta in enumerate(etas[:3])]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, (title, settings) in zip(axes, panels):
        for eta, h in settings:
            line, = ax.plot(z, density_normal(z, eta, h), label=f"eta={eta}, h={h}" if "h =" in title else f"h={h}")
            ax.hist(controller_samples(x, eta, h), bins=60, range=(0, 1), density=True, alpha=0.25,
                    color=line.get_color())
        ax.set(title=title, xlabel="z", ylim=(0, 4))
        ax.legend(fontsize=7)
    axes[0].set_ylabel("p(z)")
    fig.tight_layout()
    return fig


def plot_input_family(kind: str, n: int = 100_000, seed: int = 0, eta: float = DEFAULT_ETA, h: float = DEFAULT_H):
    """Figures 6 / 13-15: for each input of ``kind``, the input histogram (top) and the analytic p(z) over the
    histogram of the controller output (bottom), with Pearson's CoS before and after. Mixtures: one column per
    mu2, one curve per r1."""
    cases = input_cases(kind)
    groups = [[c for c in cases if c["mu2"] == mu2] for mu2 in (2.0, 4.0, 8.0, 16.0)] if kind == "mixture" \
        else [[c] for c in cases]
    fig, axes = plt.subplots(2, len(groups), figsize=(2.6 * len(groups) + 1, 5), squeeze=False)
    z = _grid()
    for column, group in enumerate(groups):
        for params in group:
            x = sample_input(kind, n, seed, **params)
            out = controller_samples(x, eta, h)
            label = ", ".join(f"{k}={v:g}" for k, v in params.items() if not (kind == "mixture" and k == "mu2"))
            top = axes[0, column].hist(x, bins=80, density=True, histtype="step", label=f"{label} CoS {pearson_skewness(x):+.2f}")
            colour = top[2][0].get_edgecolor()
            axes[1, column].hist(out, bins=60, range=(0, 1), density=True, alpha=0.25, color=colour)
            axes[1, column].plot(z, input_density(kind, eta, h, **params)(z), color=colour,
                                 label=f"CoS {pearson_skewness(out):+.2f}")
        title = f"mu2 = {group[0]['mu2']:g}" if kind == "mixture" else (label or kind)
        axes[0, column].set_title(title, fontsize=9)
        axes[1, column].set(xlabel="z", ylim=(0, 6))
        for ax in axes[:, column]:
            ax.legend(fontsize=6)
    axes[0, 0].set_ylabel("p(x)")
    axes[1, 0].set_ylabel(f"p(z), eta={eta}, h={h}")
    fig.tight_layout()
    return fig


def plot_controller_on_mask(raw: torch.Tensor, image: torch.Tensor, eta: float, h: float, n: int = 50_000):
    """The widget's picture: p(z) for normal input at (eta, h) over the histogram of a raw generator map passed
    through C(eta, h), the image, and the controlled map."""
    mask = controller(raw[None].double(), eta, h)[0].float()
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    z = _grid()
    axes[0].hist(controller_samples(sample_input("normal", n), eta, h), bins=60, range=(0, 1), density=True,
                 alpha=0.3, label="normal input")
    axes[0].hist(mask.flatten().numpy(), bins=60, range=(0, 1), density=True, alpha=0.4, label="this mask")
    axes[0].plot(z, density_normal(z, eta, h), "k", label="eq. (8)")
    axes[0].set(xlabel="z", ylim=(0, 5), title=f"eta={eta}, h={h}, CoS {pearson_skewness(mask):+.2f}")
    axes[0].legend(fontsize=7)
    overlay(axes[1], image, title="image")
    overlay(axes[2], image, mask, title="C(X) on the image")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------------
# Tables 3 and 4 analog, DRE+, the ablations
# ---------------------------------------------------------------------------------------------------------------

def method_maps(model, x: torch.Tensor, target: torch.Tensor, estimators: dict, methods=TABLE_METHODS,
                method_kwargs: dict | None = None) -> tuple[dict, dict]:
    """Maps (N, 1, H, W) of each method (gradient maps abs-summed over channels) and seconds per image;
    ``estimators``: {"dre": ..., "mgnet": ...} fitted relevance estimators."""
    method_kwargs = method_kwargs or {}
    maps, seconds = {}, {}
    for label, name in tqdm(list(methods.items()), desc="saliency maps"):
        kwargs = dict(method_kwargs.get(name, {}))
        if name in estimators:
            kwargs["generator"] = estimators[name]
        timed = timed_maps(name, model, x, target, channels="abs_sum", **kwargs)
        maps[label], seconds[label] = timed.maps, timed.seconds_per_image
    return maps, seconds


def map_skewness(maps: torch.Tensor) -> np.ndarray:
    """Pearson's coefficient of skewness (median form, the paper's statistic) of each map's values, (N,)."""
    return np.array([pearson_skewness(row) for row in maps.flatten(1).cpu().numpy()])


@cached_computation("dre-scores")
def per_image_scores(model, x: torch.Tensor, target: torch.Tensor, maps: dict, box_masks: torch.Tensor) -> dict:
    """Per image and map: raw M_F, M_E and the map's Pearson CoS, ``{"M_F (raw)": {name: (N,)}, "M_E": ...,
    "CoS": ...}``."""
    return {"M_F (raw)": {name: faithfulness(model, x, m, target) for name, m in tqdm(maps.items(), desc="M_F")},
            "M_E": {name: explainability(m, box_masks) for name, m in maps.items()},
            "CoS": {name: map_skewness(m) for name, m in maps.items()}}


def evaluate_maps(model, x: torch.Tensor, target: torch.Tensor, maps: dict, box_masks: torch.Tensor,
                  seconds: dict | None = None):
    """Per method: mean raw M_F, mean per-image min-max normalised M_F (the paper's table convention), mean M_E,
    the mean Pearson CoS of the maps (and the ``seconds`` per image when given); plus the per-image values of
    :func:`per_image_scores`."""
    scores = per_image_scores(model, x, target, maps, box_masks)
    normalised = normalize_across_methods(scores["M_F (raw)"])
    table = pd.DataFrame([{"method": label, "M_F (normalised)": 100 * normalised[label].mean(),
                           "M_F (raw)": scores["M_F (raw)"][label].mean(), "M_E": scores["M_E"][label].mean(),
                           "CoS of map": scores["CoS"][label].mean()} for label in maps])
    if seconds is not None:
        table["seconds / image"] = table["method"].map(seconds)
    return table, scores


def map_checks(maps: dict) -> dict:
    """Sanity checks: every method's maps are finite; the DRE and MGnet masks lie in [0, 1]."""
    return {"finite": all(torch.isfinite(m).all().item() for m in maps.values()),
            "masks_in_unit_interval": all(0 <= maps[k].min() and maps[k].max() <= 1 for k in ("DRE", "MGnet"))}


def table_summary(table: pd.DataFrame) -> dict:
    """The means behind the Tables 3/4 analog: which method is best on M_F and M_E, DRE against MGnet. Descriptive
    only: the paper's claims are decided per image (``dre_claims``)."""
    by_method = table.set_index("method")
    return {
        "dre_beats_mgnet_mf_normalised": bool(by_method.loc["DRE", "M_F (normalised)"] > by_method.loc["MGnet", "M_F (normalised)"]),
        "dre_beats_mgnet_mf_raw": bool(by_method.loc["DRE", "M_F (raw)"] > by_method.loc["MGnet", "M_F (raw)"]),
        "dre_best_mf_normalised": bool(by_method["M_F (normalised)"].idxmax() == "DRE"),
        "best_mf_method": by_method["M_F (normalised)"].idxmax(), "best_me_method": by_method["M_E"].idxmax(),
    }


# ---------------------------------------------------------------------------------------------------------------
# The paper's headline claims (declared in ``dre_claims``): tests per compared pair, premises; secondary rows
# ---------------------------------------------------------------------------------------------------------------

#: Figure 10(c): the constraint settings compared (the names of :data:`CONSTRAINT_ABLATION` with the kind)
DRE_ALL, DRE_NO_AREA, DRE_NONE = ("DRE (1) all constraints", "DRE (2) lambda_av = 0", "DRE (5) none (DRE)")
MGNET_ALL, MGNET_NO_AREA = ("MGNET (1) all constraints (MGnet)", "MGNET (2) lambda_av = 0")
DEFAULT_SETTING = f"eta={DEFAULT_ETA}, h={DEFAULT_H}"  # Figure 10(b): the paper's DRE
FIGURE_ONLY = "masks only (no numbers)"  # the paper's Figure 10 shows masks
#: premise "M_F headroom": the best method's mean raw M_F must exceed a random map's by this many points
MF_HEADROOM = 2.0
#: the equivalence margin (M_E points) of the secondary "has few effects" row (as the headline M_E margin)
ME_MARGIN = 2.0


def normalised_mf(per_image: dict) -> dict:
    """Per image, M_F min-max normalised over the methods (the paper's Table 3 convention), x100."""
    return {name: 100 * values for name, values in normalize_across_methods(per_image["M_F (raw)"]).items()}


def against_others(scores: dict, method: str = "DRE") -> dict:
    """{"DRE vs <other>": paired t of the per-image scores} for every other method of ``scores``."""
    return {f"{method} vs {other}": paired_t(scores[method], scores[other]) for other in scores if other != method}


def faithfulness_tests(per_image: dict) -> dict:
    """H1: DRE's normalised M_F against each other method's, paired per image."""
    return against_others(normalised_mf(per_image))


def explainability_tests(per_image: dict) -> dict:
    """H2: DRE's M_E against each other method's, paired per image."""
    return against_others(per_image["M_E"])


def random_maps(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Uniform random maps (N, 1, H, W), seeded: the floor of the headroom premise."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((len(x), 1, *x.shape[-2:]), generator=generator).to(x.device)


def mf_headroom(model, images: "ExplainedImages", table: pd.DataFrame, seed: int = 0,
                minimum: float = MF_HEADROOM) -> tuple:
    """Premise of H1: the best method's mean raw M_F lies at least ``minimum`` points above a random map's (else
    every map scores near the ceiling and no ranking of methods means much). Returns (passed, detail)."""
    floor = float(faithfulness(model, images.x, random_maps(images.x, seed), images.target).mean())
    best = table.loc[table["M_F (raw)"].idxmax()]
    gap = best["M_F (raw)"] - floor
    return check(gap >= minimum, f"best raw M_F {best['M_F (raw)']:.2f} ({best['method']}) vs a random map's "
                                 f"{floor:.2f}: headroom {gap:.2f} (needs >= {minimum:g})")


def dre_plus_tests(plus_scores: dict, per_image: dict) -> dict:
    """H4: the M_E of the DRE+ masks against the DRE masks', paired per image."""
    return {"DRE+ vs DRE": paired_t(plus_scores["M_E"]["DRE+"], per_image["M_E"]["DRE"])}


def _range_over_settings(scores: dict, names: list) -> np.ndarray:
    return np.ptp(np.stack([scores[name] for name in names]), axis=0)


def sensitivity_tests(per_image: dict, table: pd.DataFrame) -> dict:
    """H3 (Figure 10c): per image, the range of M_E over the DRE constraint settings against the range over the
    MGnet ones (``table``: the settings and their kinds, as :func:`evaluate_generators`)."""
    by_kind = {kind: list(table.loc[table["kind"] == kind, "setting"]) for kind in KINDS}
    return {"DRE range vs MGnet range": paired_t(_range_over_settings(per_image["M_E"], by_kind["dre"]),
                                                 _range_over_settings(per_image["M_E"], by_kind["mgnet"]))}


def skew_sides(table: pd.DataFrame) -> tuple:
    """The left- and right-skewed settings of a distribution table, by their pre-configured CoS."""
    preconfigured = dict(zip(table["setting"], table["pre-configured CoS"]))
    return ([name for name, value in preconfigured.items() if value < 0],
            [name for name, value in preconfigured.items() if value > 0])


def left_skew_tests(per_image: dict, table: pd.DataFrame) -> dict:
    """H5 (Figure 10b): the M_E of each left-skewed setting against each right-skewed one, paired per image."""
    left, right = skew_sides(table)
    return {f"{l} vs {r}": paired_t(per_image["M_E"][l], per_image["M_E"][r]) for l in left for r in right}


def skew_direction(table: pd.DataFrame) -> tuple:
    """Premise of H5 (the manipulation check; the paper: "the controllers consistently enforce them towards these
    distributions"): every setting's masks are skewed to the side of its pre-configured distribution (mean
    per-image Pearson CoS of the masks below 0 for a left-skewed controller, above 0 for a right-skewed one).
    Returns (passed, detail with the measured skewness)."""
    rows = table.set_index("setting")
    wrong = [name for name, row in rows.iterrows() if np.sign(row["CoS of map"]) != np.sign(row["pre-configured CoS"])]
    measured = "; ".join(f"{name}: pre-configured {row['pre-configured CoS']:+.2f}, masks {row['CoS of map']:+.2f}"
                         for name, row in rows.iterrows())
    return check(not wrong, ("masks on the wrong side for " + ", ".join(wrong) if wrong else "every setting's masks "
                             "on its side") + f" (mean CoS: {measured})")


def ablations_converged(estimators: dict) -> tuple:
    """Premise of H3 and H5: every ablation estimator reached its loss plateau within the epoch cap."""
    short = [name for name, e in estimators.items() if not e.converged]
    epochs = sorted({len([h for h in e.history if h["stage"] == "generator"]) for e in estimators.values()})
    return check(not short, f"{len(estimators) - len(short)} of {len(estimators)} reached the plateau "
                            f"(epochs trained: {min(epochs)}-{max(epochs)})"
                            + (f"; not: {', '.join(short)}" if short else ""))


def component_table(entry: dict) -> pd.DataFrame:
    """The compared pairs of a recorded headline claim (``headline.record``'s return): means, a - b and its
    uncorrected 95% CI (the decision uses the Holm-level interval of the decided table)."""
    return pd.DataFrame([{"pair": c["label"], "mean a": c["mean_a"], "mean b": c["mean_b"], "a - b": c["estimate"],
                          "95% CI low": c["intervals"][0][0], "95% CI high": c["intervals"][0][1], "n": c["n"]}
                         for c in entry["components"]]).set_index("pair")


def paper_value(paper: dict, a: str, b: str, metric: str) -> str:
    """The paper's ImageNet ResNet50 numbers of a against b, as text."""
    return f"Table {3 if 'F' in metric else 4} ({metric}, ImageNet ResNet50): {a} {paper[a][0]} vs {b} {paper[b][0]}"


def finding(rows: list) -> str:
    """One sentence of what the notebook found, from the decided headline rows (``headline.decided``)."""
    parts = [f"{row['claim_id']} {row['label']}: {row['verdict']}"
             + (f" ({row['deciding_component']}: {row['estimate']:+.2f})" if row.get("estimate") is not None else "")
             for row in rows]
    reproduced = sum(row["verdict"] == "reproduced" for row in rows)
    return (f"On DigitScenes {reproduced} of {len(rows)} DRE headline claims reproduce: " + "; ".join(parts) + ".")


def _secondary(claim_id: str, claim: str, evidence: Evidence, labels: tuple, paper_value: str | None,
               kind: str = "reading of a remark") -> dict:
    return dict(paper=PAPER, claim_id=claim_id, claim=claim, evidence=evidence, labels=labels, paper_value=paper_value,
                kind=kind)


def premise_claim(per_image: dict) -> dict:
    """Secondary row, Principle 2 (section 3.4): DRE's masks are right-skewed for each decision - the per-image
    Pearson CoS of the DRE masks against 0."""
    return _secondary("Sec. 3.4 Principle 2, DRE masks right-skewed",
                      "DRE's masks are right-skewed: per-image Pearson CoS (median form) of the DRE masks above 0",
                      one_sample_comparison(per_image["CoS"]["DRE"], 0.0, "greater"), ("DRE mask CoS", "0"),
                      f"no number; the pre-configured distribution (eta={DEFAULT_ETA}, h={DEFAULT_H}, normal input) "
                      f"is right-skewed")


def constraint_claims(per_image: dict, margin: float = ME_MARGIN) -> list[dict]:
    """Secondary rows of Figure 10(c) on M_E, per image: adding all the constraints back improves DRE "to some
    degree"; lambda_av = 0 has "few effects" on DRE (equivalence within ``margin``); it has "remarkable impacts"
    on MGnet (read as: a lower M_E). The sensitivity itself is headline claim H3."""
    me = per_image["M_E"]
    where = f"Fig. 10c: {FIGURE_ONLY}"
    return [
        _secondary("Fig. 10c M_E, DRE all constraints vs none",
                   "adding all the constraints back improves DRE's masks 'to some degree' (higher M_E)",
                   paired_comparison(me[DRE_ALL], me[DRE_NONE], "greater"), ("DRE (1)", "DRE (5)"), where),
        _secondary("Fig. 10c M_E, DRE lambda_av = 0 matches all constraints",
                   f"lambda_av = 0 'has few effects' on DRE (equivalence of M_E with setting (1) within +-{margin:g} "
                   f"M_E points)",
                   paired_comparison(me[DRE_NO_AREA], me[DRE_ALL], "greater", "equivalence", margin),
                   ("DRE (2)", "DRE (1)"), where),
        _secondary("Fig. 10c M_E, MGnet lambda_av = 0 vs all constraints",
                   "lambda_av = 0 harms MGnet ('remarkable impacts ... especially lambda_av = 0'; the direction, a "
                   "lower M_E, is our reading of the figure)",
                   paired_comparison(me[MGNET_NO_AREA], me[MGNET_ALL], "less"), ("MGnet (2)", "MGnet (1)"), where)]


def with_preconfigured_skewness(table: pd.DataFrame, estimators: dict, n: int = 100_000, seed: int = 0):
    """``table`` (of :func:`evaluate_generators`) with a "pre-configured CoS" column: Pearson's CoS of each DRE
    estimator's pre-configured distribution, its controller applied to standard-normal input (Figure 10b, 1st
    column; negative = left-skewed)."""
    x = sample_input("normal", n, seed)
    skewness = {name: pearson_skewness(controller_samples(x, e.config.eta, e.config.h))
                for name, e in estimators.items()}
    return table.assign(**{"pre-configured CoS": table["setting"].map(skewness)})


def with_raw_skewness(table: pd.DataFrame, model, images: "ExplainedImages", estimators: dict) -> pd.DataFrame:
    """``table`` with "CoS of X": the mean per-image Pearson CoS of each generator's output X before the controller
    (the controller's input; eq. 7 gives the pre-configured skew only for a normal X)."""
    skewness = {name: map_skewness(e.raw_map(model, images.x, images.target)).mean() for name, e in estimators.items()}
    return table.assign(**{"CoS of X": table["setting"].map(skewness)})


def ablation_outcome(table: pd.DataFrame) -> str:
    """Figure 10(b) in one sentence from the recorded means (``table`` with its "pre-configured CoS"): which
    setting has the best mean M_E and whether its pre-configured distribution is left-skewed (the paper: left skew
    reduces explainability)."""
    best = table.loc[table["M_E"].idxmax()]
    skew = best["pre-configured CoS"]
    reading = ("left-skewed: the opposite of the paper, which expects the left-skewed controller to reduce the "
               "explainability" if skew < 0 else "right-skewed, as the paper expects")
    return (f"Best mean M_E among the {len(table)} settings: {best['setting']} ({best['M_E']:.2f}); its pre-configured "
            f"distribution has CoS {skew:+.2f} ({reading}).")


def beside_paper(table: pd.DataFrame, paper: dict, column: str) -> pd.DataFrame:
    """Our ``column`` next to the paper's ResNet50 and mean values (labelled as the paper's)."""
    out = table[["method", column]].copy()
    out[f"paper {column} (ImageNet ResNet50)"] = [paper.get(m, (np.nan, np.nan))[0] for m in out["method"]]
    out[f"paper {column} (ImageNet mean)"] = [paper.get(m, (np.nan, np.nan))[1] for m in out["method"]]
    return out


def dre_plus_table(model, images: ExplainedImages, maps: dict, table: pd.DataFrame):
    """Figure 10(a): DRE+ (self-based tuning of the DRE maps) beside DRE and MGnet (their rows of ``table``):
    raw M_F, M_E and the maps' CoS; also the three methods' maps and the DRE+ per-image scores."""
    plus = {"DRE+": dre_plus(model, images.x, maps["DRE"], images.target), "DRE": maps["DRE"], "MGnet": maps["MGnet"]}
    plus_row, plus_scores = evaluate_maps(model, images.x, images.target, {"DRE+": plus["DRE+"]}, images.box_masks)
    rows = pd.concat([plus_row, table[table["method"].isin(["DRE", "MGnet"])]], ignore_index=True)
    return rows[["method", "M_F (raw)", "M_E", "CoS of map"]], plus, plus_scores


def evaluate_generators(model, images: ExplainedImages, estimators: dict):
    """M_F (raw), M_E, the maps' mean CoS and mean for each fitted estimator; also the maps and the per-image
    scores of :func:`per_image_scores`."""
    maps = {name: explain(e.config.kind, model, images.x, images.target, generator=e) for name, e in estimators.items()}
    scores = per_image_scores(model, images.x, images.target, maps, images.box_masks)
    table = pd.DataFrame([{"setting": name, "kind": estimators[name].config.kind,
                           "M_F (raw)": scores["M_F (raw)"][name].mean(), "M_E": scores["M_E"][name].mean(),
                           "CoS of map": scores["CoS"][name].mean(), "mean of map": m.mean().item()}
                          for name, m in maps.items()])
    return table, maps, scores


def constraint_spread(table: pd.DataFrame) -> pd.DataFrame:
    """Figure 10(c): max - min of the mean M_F (raw) and M_E over the constraint settings, per kind (the paper:
    DRE insensitive, MGnet sensitive)."""
    return table.groupby("kind")[["M_F (raw)", "M_E"]].agg(lambda v: v.max() - v.min())


def exercises(table: pd.DataFrame, distribution_table: pd.DataFrame, mpert_iterations: int) -> list:
    """The notebook's "try it" exercises, answered from this run's tables."""
    def distribution_answer() -> str:
        part = distribution_table.set_index("setting")
        return ("; ".join(f"{setting}: controller CoS {row['pre-configured CoS']:+.2f}, M_F {row['M_F (raw)']:.1f}, "
                          f"M_E {row['M_E']:.1f}" for setting, row in part.iterrows())
                + f". Best M_E: {part['M_E'].idxmax()}; best M_F: {part['M_F (raw)'].idxmax()}.")

    def mpert_answer() -> str:
        rows = table.set_index("method")
        mpert, dre_row = rows.loc["MPert"], rows.loc["DRE"]
        return (f"with {mpert_iterations} MPert steps: M_F (normalised) {mpert['M_F (normalised)']:.1f} and M_E "
                f"{mpert['M_E']:.1f} at {mpert['seconds / image']:.2f} s per image, against DRE's "
                f"{dre_row['M_F (normalised)']:.1f} / {dre_row['M_E']:.1f} at {dre_row['seconds / image']:.4f} s.")

    return [
        Exercise("With the controller widget, move eta and h and watch the density's skew: which of the Fig. 10b "
                 "settings (trained generators) gives the best M_F and M_E?", distribution_answer),
        Exercise("Give MPert the paper's 300 optimisation steps: does it pull further ahead of DRE, and at what "
                 "cost per image?", mpert_answer, {"mpert_iterations": 300}),
    ]
