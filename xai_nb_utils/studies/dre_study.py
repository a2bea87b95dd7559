"""The study of notebook 06 (DRE, Fu et al., TPAMI): the paper's tables as data, the estimator and ablation
configurations by profile, the images explained, the density and skewness checks (Figures 5, 6, 13-15), the
Tables 3/4 analog, DRE+ (Figure 10a), the ablations (Figures 10b, 10c) and the figures.

The method is :mod:`xai_nb_utils.methods.dre` (controller, generator, MPert); its metrics M_F / M_E are
:mod:`xai_nb_utils.metrics.relevance`.
"""
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from xai_nb_utils.core.params import by_profile
from xai_nb_utils.core.tensors import predicted_classes
from xai_nb_utils.data.embedded import ImageSplit
from xai_nb_utils.methods.dre.controller import (DEFAULT_ETA, DEFAULT_H, INPUT_KINDS, controller, controller_samples,
                                                 density_check, density_normal, input_density, pearson_skewness,
                                                 sample_input)
from xai_nb_utils.methods.dre.generator import (MGNET_LAMBDAS, GeneratorConfig, dre_plus, fit_relevance_estimator,
                                                generator_config)
from xai_nb_utils.methods.registry import explain
from xai_nb_utils.metrics.relevance import explainability, faithfulness, normalize_across_methods
from xai_nb_utils.metrics.statistics import paired_comparison
from xai_nb_utils.studies.common import method_label, timed_maps
from xai_nb_utils.viz.plotting import overlay

PAPER = "DRE"  # the paper's name in the paper-claims ledger (Fu et al.)
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
# training sizes of the main estimators and of the (short-schedule) ablation estimators; ``paper`` = default
GENERATOR_SIZES = {"smoke": dict(n_train=128, embed_epochs=1, epochs=1, lr_halve_every=1),
                   "default": dict(n_train=2000, embed_epochs=1, epochs=4, lr_halve_every=2)}
ABLATION_SIZES = {"smoke": dict(n_train=32, epochs=1, embed_epochs=1, lr_halve_every=1),
                  "default": dict(n_train=800, epochs=1, embed_epochs=1, lr_halve_every=1)}


def _sizes(sizes: dict, profile: str) -> dict:
    return by_profile(profile, sizes["smoke"], sizes["default"])


def estimator_config(kind: str, profile: str, seed: int = 0) -> GeneratorConfig:
    """The main DRE or MGnet estimator of the notebook at a profile's size."""
    return generator_config(kind, seed=seed, **_sizes(GENERATOR_SIZES, profile))


def ablation_config(kind: str, profile: str, seed: int = 0, eta: float = DEFAULT_ETA, h: float = DEFAULT_H,
                    constraints=None) -> GeneratorConfig:
    """A short-schedule estimator (the paper trains its ablations for 3 instead of 10 epochs); ``constraints``:
    which of "bg", "av", "tv" get MGnet's lambdas (None: the kind's default)."""
    overrides = dict(_sizes(ABLATION_SIZES, profile), eta=eta, h=h)
    if constraints is not None:
        overrides.update({f"lambda_{c}": MGNET_LAMBDAS[f"lambda_{c}"] if c in constraints else 0.0
                          for c in ("bg", "av", "tv")})
    return generator_config(kind, seed=seed, **overrides)


def distribution_configs(profile: str, seed: int = 0, n_settings: int | None = None) -> dict:
    """Figure 10(b): one DRE ablation config per (eta, h) of :data:`DISTRIBUTION_ABLATION` (the first
    ``n_settings``)."""
    return {f"eta={eta}, h={h}": ablation_config("dre", profile, seed, eta=eta, h=h)
            for eta, h in DISTRIBUTION_ABLATION[:n_settings]}


def constraint_configs(profile: str, seed: int = 0, n_settings: int | None = None) -> dict:
    """Figure 10(c): DRE and MGnet ablation configs per constraint setting (the first ``n_settings`` of each)."""
    return {f"{kind.upper()} {name}": ablation_config(kind, profile, seed, constraints=terms)
            for kind, settings in CONSTRAINT_ABLATION.items() for name, terms in list(settings.items())[:n_settings]}


def train_ablations(model, images: torch.Tensor, num_classes: int, configs: dict, device=None) -> dict:
    """Fit (or load) one estimator per named config, each its own object; {name: RelevanceEstimator}."""
    return {name: fit_relevance_estimator(model, images, num_classes, config, device) for name, config in configs.items()}


def training_summary(estimators: dict) -> dict:
    """Per estimator: training seconds (when first built), images, epochs and the final loss."""
    return {name: {"seconds": e.train_seconds, "images": e.config.n_train, "epochs": e.config.epochs,
                   "final_loss": e.history[-1]["loss"]} for name, e in estimators.items()}


# ---------------------------------------------------------------------------------------------------------------
# The images explained
# ---------------------------------------------------------------------------------------------------------------

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

    return (pick(torch.nonzero(predicted == test.y).flatten()[:n_correct]),
            pick(torch.nonzero(predicted != test.y).flatten()[:n_wrong]))


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


def _mean_skewness(maps: torch.Tensor) -> float:
    return float(np.mean([pearson_skewness(row) for row in maps.flatten(1).cpu().numpy()]))


def evaluate_maps(model, x: torch.Tensor, target: torch.Tensor, maps: dict, box_masks: torch.Tensor,
                  seconds: dict | None = None):
    """Per method: mean raw M_F, mean per-image min-max normalised M_F (the paper's table convention), mean M_E,
    the mean Pearson CoS of the maps (and the ``seconds`` per image when given); plus the per-image values
    ``{"M_F (raw)": {method: (N,)}, "M_E": {method: (N,)}}``."""
    raw = {label: faithfulness(model, x, m, target) for label, m in tqdm(maps.items(), desc="M_F")}
    me = {label: explainability(m, box_masks) for label, m in maps.items()}
    normalised = normalize_across_methods(raw)
    rows = [{"method": label, "M_F (normalised)": 100 * normalised[label].mean(), "M_F (raw)": raw[label].mean(),
             "M_E": me[label].mean(), "CoS of map": _mean_skewness(m)} for label, m in maps.items()]
    table = pd.DataFrame(rows)
    if seconds is not None:
        table["seconds / image"] = table["method"].map(seconds)
    return table, {"M_F (raw)": raw, "M_E": me}


def map_checks(maps: dict) -> dict:
    """Sanity checks: every method's maps are finite; the DRE and MGnet masks lie in [0, 1]."""
    return {"finite": all(torch.isfinite(m).all().item() for m in maps.values()),
            "masks_in_unit_interval": all(0 <= maps[k].min() and maps[k].max() <= 1 for k in ("DRE", "MGnet"))}


def paired_difference(a, b) -> dict:
    """Per-image a - b: mean, standard error of the mean, and the share of images where a > b."""
    difference = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    sem = difference.std(ddof=1) / math.sqrt(len(difference)) if len(difference) > 1 else float("nan")
    return {"mean": float(difference.mean()), "sem": float(sem), "share_a_better": float((difference > 0).mean())}


def verdict(table: pd.DataFrame, per_image: dict) -> dict:
    """DRE against MGnet and the other methods on the Tables 3/4 analog (the paper: DRE best on M_F, DRE and
    MGnet within 0.5 on M_E); ``per_image`` as returned by :func:`evaluate_maps`."""
    by_method = table.set_index("method")
    return {
        "dre_beats_mgnet_mf_normalised": bool(by_method.loc["DRE", "M_F (normalised)"] > by_method.loc["MGnet", "M_F (normalised)"]),
        "dre_beats_mgnet_mf_raw": bool(by_method.loc["DRE", "M_F (raw)"] > by_method.loc["MGnet", "M_F (raw)"]),
        "dre_best_mf_normalised": bool(by_method["M_F (normalised)"].idxmax() == "DRE"),
        "dre_me_within_2_of_mgnet": bool(abs(by_method.loc["DRE", "M_E"] - by_method.loc["MGnet", "M_E"]) < 2),
        "best_mf_method": by_method["M_F (normalised)"].idxmax(), "best_me_method": by_method["M_E"].idxmax(),
        "dre_minus_mgnet_mf_raw": paired_difference(per_image["M_F (raw)"]["DRE"], per_image["M_F (raw)"]["MGnet"]),
    }


def paper_claims(table: pd.DataFrame, per_image: dict) -> list[dict]:
    """Keyword arguments of ``Recorder.paper_claim`` for the claims of Tables 3 and 4 that the analog examines,
    each decided by :func:`metrics.statistics.paired_comparison` on per-image scores of the same images (raw M_F:
    the paper's per-image min-max normalisation over the methods keeps each image's sign of a difference):

    * Table 3: DRE has a higher M_F than MGnet, and than the best of the other methods (by mean raw M_F);
    * Table 4: DRE has a higher M_E than Grad-CAM ("comparable or even better explainability")."""
    mf, me = per_image["M_F (raw)"], per_image["M_E"]
    best_other = table[table["method"] != "DRE"].sort_values("M_F (raw)", ascending=False)["method"].iloc[0]
    claims = []
    for claim_id, other, scores, paper in (("Table 3 M_F, DRE vs MGnet", "MGnet", mf, PAPER_TABLE3_MF),
                                           ("Table 3 M_F, DRE vs the best other method", best_other, mf, PAPER_TABLE3_MF),
                                           ("Table 4 M_E, DRE vs Grad-CAM", "Grad-CAM", me, PAPER_TABLE4_ME)):
        metric = "M_F" if scores is mf else "M_E"
        claims.append(dict(
            paper=PAPER, claim_id=claim_id,
            claim=f"DRE has a higher {metric} than {other} (paired per image{', raw M_F' if scores is mf else ''})",
            evidence=paired_comparison(scores["DRE"], scores[other], "greater"), labels=("DRE", other),
            paper_value=f"ImageNet ResNet50{' (normalised M_F)' if scores is mf else ''}: DRE {paper['DRE'][0]} vs "
                        f"{other} {paper[other][0]}"))
    return claims


def beside_paper(table: pd.DataFrame, paper: dict, column: str) -> pd.DataFrame:
    """Our ``column`` next to the paper's ResNet50 and mean values (labelled as the paper's)."""
    out = table[["method", column]].copy()
    out[f"paper {column} (ImageNet ResNet50)"] = [paper.get(m, (np.nan, np.nan))[0] for m in out["method"]]
    out[f"paper {column} (ImageNet mean)"] = [paper.get(m, (np.nan, np.nan))[1] for m in out["method"]]
    return out


def dre_plus_table(model, images: ExplainedImages, maps: dict, table: pd.DataFrame):
    """Figure 10(a): DRE+ (self-based tuning of the DRE maps) beside DRE and MGnet (their rows of ``table``):
    raw M_F, M_E and the maps' CoS; also the three methods' maps."""
    plus = {"DRE+": dre_plus(model, images.x, maps["DRE"], images.target), "DRE": maps["DRE"], "MGnet": maps["MGnet"]}
    plus_row, _ = evaluate_maps(model, images.x, images.target, {"DRE+": plus["DRE+"]}, images.box_masks)
    rows = pd.concat([plus_row, table[table["method"].isin(["DRE", "MGnet"])]], ignore_index=True)
    return rows[["method", "M_F (raw)", "M_E", "CoS of map"]], plus


def evaluate_generators(model, images: ExplainedImages, estimators: dict):
    """M_F (raw), M_E, the maps' mean CoS and mean for each fitted estimator; also returns the maps."""
    maps = {name: explain(e.config.kind, model, images.x, images.target, generator=e) for name, e in estimators.items()}
    rows = [{"setting": name, "kind": estimators[name].config.kind,
             "M_F (raw)": faithfulness(model, images.x, m, images.target).mean(),
             "M_E": explainability(m, images.box_masks).mean(), "CoS of map": _mean_skewness(m),
             "mean of map": m.mean().item()} for name, m in maps.items()]
    return pd.DataFrame(rows), maps


def constraint_spread(table: pd.DataFrame) -> pd.DataFrame:
    """Figure 10(c): max - min of M_F (raw) and M_E over the constraint settings, per kind (the paper: DRE
    insensitive, MGnet sensitive)."""
    return table.groupby("kind")[["M_F (raw)", "M_E"]].agg(lambda v: v.max() - v.min())

