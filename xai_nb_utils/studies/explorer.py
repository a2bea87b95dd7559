"""The explorer app (``notebooks/explorer.ipynb``, served by Voila with ``make explore``): one test image of an
embedded model, up to three saliency methods side by side, their insertion / deletion curves, AD / AG / AI / CO,
and the paper method's own view (Opti-CAM's objective over iterations, GAX's heatmap evolution, DRE's controller
density).

Everything is computed on demand, when a control changes: models come from the workbook's cache (trained the first
time), maps are kept in memory per (model, image, target, method), the DRE generator is fitted once per model and
cached on disk like notebook 06's. Metric conventions are the package defaults (the metric docstrings).
"""
import os
import time
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.core.progress import transient_bars
from xai_nb_utils.methods import dre
from xai_nb_utils.methods.dre.controller import DEFAULT_ETA, DEFAULT_H
from xai_nb_utils.methods.gax import gax, normalize_max_abs
from xai_nb_utils.methods.opticam import optimize_opticam
from xai_nb_utils.methods.registry import explain
from xai_nb_utils.metrics.perturbation import average_drop_increase_gain, co_score, insertion_deletion
from xai_nb_utils.models.training import trained_model
from xai_nb_utils.studies.common import method_label
from xai_nb_utils.studies.dre_study import estimator_config, plot_controller_on_mask
from xai_nb_utils.studies.gax_heatmaps import GAX_TARGETS
from xai_nb_utils.viz.plotting import maps_for_display, overlay, signed_map

# display name -> (preset, variant) of the embedded models
SYSTEMS = {
    "DigitScenes / SceneCNN": ("scene_cnn", "well"),
    "DigitScenes / SceneCNN, marker shortcut": ("scene_cnn_marker", "well"),
    "DigitScenes / SceneCNN, under-trained": ("scene_cnn", "under"),
    "MNIST / MnistCNN": ("mnist_cnn", "well"),
}
IMAGES = 100  # the first test images of each dataset the image slider reaches
NONE = "(none)"
FAST_METHODS = ("gradcam", "saliency", "integrated_gradients", "input_x_gradient", "gradcam_pp", "xgradcam",
                "layercam", "smoothgrad", "random", "fake_cam")
# the papers' methods at short budgets (a few seconds per image on a CPU; the app shows "computing" meanwhile)
PAPER_METHODS = {"opticam": {"max_iter": 50}, "gax": {"max_iter": 100}, "igos_pp": {"iterations": 8, "ig_steps": 8},
                 "ggig": {"iterations": 20}, "geg": {"n_models": 50}, "dre": {}}
METHODS = FAST_METHODS + tuple(PAPER_METHODS)
OWN_VIEWS = ("opticam", "gax", "dre")  # methods whose paper has a view of its own beyond the map
SNAPSHOTS = (1, 2, 5, 10, 20, 50, 100)
MODES = ("insertion", "deletion")
CURVE_STEPS = 32


def app_profile(profile: str) -> str:
    """``$XAI_EXPLORER_PROFILE`` when set (``make explore PROFILE=smoke`` serves the smoke models), else ``profile``."""
    return os.environ.get("XAI_EXPLORER_PROFILE", profile)


def method_options() -> list:
    """(label, registry name) pairs for the method dropdowns; the papers' methods are marked as slower."""
    return [(method_label(m) + (" (slow)" if m in PAPER_METHODS and m != "dre" else ""), m) for m in METHODS]


def target_options(classes) -> list:
    return [("predicted class", -1)] + [(f"class {c}", i) for i, c in enumerate(classes)]


@dataclass
class Case:
    """One explained image: the model, the image (1,C,H,W), its label and the explained class."""

    model: torch.nn.Module
    x: torch.Tensor
    label: int
    target: int
    classes: list
    system: str


class Explorer:
    """The app's state: models, fitted DRE generators and computed maps, all loaded or computed on demand."""

    def __init__(self, profile: str, seed: int, device):
        self.profile, self.seed, self.device = profile, seed, device
        self._trained = {}
        self._generators = {}
        self._maps = {}
        self._views = {}

    def trained(self, system: str):
        if system not in self._trained:
            preset, variant = SYSTEMS[system]
            with transient_bars():  # a model trained on first use leaves no finished bar above the controls
                self._trained[system] = trained_model(preset, self.profile, variant=variant, seed=self.seed,
                                                      device=self.device)
        return self._trained[system]

    def classes(self, system: str) -> list:
        return self.trained(system).dataset.classes

    def case(self, system: str, image: int, target: int) -> Case:
        """The ``image``-th test image of ``system``; ``target`` -1 means the predicted class."""
        trained = self.trained(system)
        test = trained.dataset.test
        x = test.x[image:image + 1].to(self.device)
        explained = int(predicted_classes(trained.model, x)[0]) if target < 0 else int(target)
        return Case(trained.model, x, int(test.y[image]), explained, trained.dataset.classes, system)

    def generator(self, system: str):
        """The DRE generator of ``system``'s model (notebook 06's configuration; fitted once, then cached)."""
        if system not in self._generators:
            trained = self.trained(system)
            with transient_bars():
                self._generators[system] = dre.fit_relevance_estimator(
                    trained.model, trained.dataset.train.x, trained.dataset.num_classes,
                    estimator_config("dre", self.profile, self.seed), self.device)
        return self._generators[system]

    def maps(self, case: Case, method: str, image: int) -> torch.Tensor:
        """(1,1,H,W) display maps of ``method`` (channels reduced), computed once per case."""
        key = (case.system, image, case.target, method)
        if key not in self._maps:
            kwargs = dict(PAPER_METHODS.get(method, {}))
            if method == "dre":
                kwargs["generator"] = self.generator(case.system)
            self._maps[key] = maps_for_display(method, case.model, case.x, case.target, **kwargs).detach()
        return self._maps[key]

    def own_view(self, case: Case, method: str, image: int):
        """:func:`own_view_data`, computed once per case."""
        key = (case.system, image, case.target, method)
        if key not in self._views:
            self._views[key] = own_view_data(self, case, method)
        return self._views[key]


def perturbation_curves(case: Case, maps: dict) -> dict:
    """method -> {"insertion": curves, "deletion": curves}: ``metrics.insertion_deletion`` defaults except the
    step, :data:`CURVE_STEPS` steps over the image instead of one row per step (half the model evaluations, so the
    app answers within about two seconds; the AUC moves by the width of a step at most)."""
    step = case.x.shape[-2] * case.x.shape[-1] // CURVE_STEPS
    return {method: {mode: insertion_deletion(case.model, case.x, saliency, case.target, mode, pixels_per_step=step)
                     for mode in MODES} for method, saliency in maps.items()}


@torch.no_grad()
def scores_table(case: Case, maps: dict, curves: dict) -> pd.DataFrame:
    """Insertion / deletion AUC, AD / AG / AI (this image) and the CO score of ``x + map / max|map|`` per method."""
    rows = []
    for method, saliency in maps.items():
        drop = average_drop_increase_gain(case.model, case.x, saliency, case.target)
        heat = normalize_max_abs(saliency).expand_as(case.x)
        rows.append({"method": method_label(method),
                     **{f"{mode} AUC": float(curves[method][mode].auc[0]) for mode in MODES},
                     "AD (%)": drop["AD"], "AG (%)": drop["AG"], "AI (%)": drop["AI"],
                     "CO (x + map / max)": float(co_score(case.model, case.x, heat, case.target))})
    return pd.DataFrame(rows).set_index("method")


def plot_maps(case: Case, maps: dict):
    """The image, then one overlay per method."""
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(2.4 * (len(maps) + 1), 2.6), squeeze=False)
    overlay(axes[0, 0], case.x[0].cpu(),
            title=f"label {case.classes[case.label]}, explained {case.classes[case.target]}")
    for ax, (method, saliency) in zip(axes[0, 1:], maps.items()):
        overlay(ax, case.x[0].cpu(), saliency[0].cpu(), title=method_label(method))
    fig.tight_layout()
    return fig


def plot_curves(curves: dict):
    """Insertion and deletion curves (softmax of the explained class against the share of pixels changed)."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 2.6))
    for ax, mode in zip(axes, MODES):
        for method, by_mode in curves.items():
            curve = by_mode[mode]
            ax.plot(curve.fractions, curve.scores[0], label=f"{method_label(method)} ({curve.auc[0]:.3f})")
        ax.set(title=f"{mode} (AUC)", xlabel="share of pixels", ylabel="p(explained class)", ylim=(0, 1.02))
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def own_view_data(explorer: Explorer, case: Case, method: str):
    """What the paper's own view of ``method`` shows, computed on this image: Opti-CAM's result with map snapshots
    and the class probability of each, GAX's result with heatmap snapshots, DRE's raw generator map."""
    target = torch.tensor([case.target], device=case.x.device)
    if method == "opticam":
        steps = tuple(s for s in SNAPSHOTS if s <= PAPER_METHODS["opticam"]["max_iter"])
        result = optimize_opticam(case.model, case.x, target, snapshot_iters=steps, **PAPER_METHODS["opticam"])
        with torch.no_grad():
            probability = [float(torch.softmax(case.model(case.x * result.snapshots[s]), 1)[0, case.target])
                           for s in steps]
        return result, steps, probability
    if method == "gax":
        budget = PAPER_METHODS["gax"]["max_iter"]
        steps = tuple(s for s in (0,) + SNAPSHOTS if s <= budget)
        co_target = GAX_TARGETS[explorer.trained(case.system).dataset.name]
        return gax(case.model, case.x, target, max_iter=budget, co_target=co_target, snapshot_iterations=steps), steps
    return explorer.generator(case.system).raw_map(case.model, case.x, target)[0].cpu()


def plot_own_view(case: Case, method: str, data):
    """The paper's own view of ``method`` from :func:`own_view_data`."""
    if method == "opticam":
        result, steps, probability = data
        fig, axes = plt.subplots(1, 2, figsize=(7, 2.6))
        axes[0].plot(steps, probability, "o-")
        axes[0].set(xscale="log", xlabel="iteration", ylabel="p(class | x * mask)",
                    title="Opti-CAM: objective over iterations")
        overlay(axes[1], case.x[0].cpu(), result.maps[0].cpu(), title=f"after {int(result.n_iter[0])} iterations")
    elif method == "gax":
        result, steps = data
        fig, axes = plt.subplots(1, len(steps) + 1, figsize=(2.0 * (len(steps) + 1), 2.4))
        axes[0].plot(np.asarray(result.co[0]))
        axes[0].set(xlabel="iteration", title="GAX: CO score")
        for ax, step in zip(axes[1:], steps):
            signed_map(ax, result.snapshots[step][0], title=f"h at {step}")
    else:
        fig = plot_controller_on_mask(data, case.x[0].cpu(), DEFAULT_ETA, DEFAULT_H)
    fig.tight_layout()
    return fig


def draw(explorer: Explorer, system: str, image: int, target: int, methods) -> dict:
    """Compute and show everything for one state of the controls; returns the scores table and the seconds."""
    from IPython.display import display

    started = time.perf_counter()
    chosen = list(dict.fromkeys(m for m in methods if m != NONE))
    case = explorer.case(system, image, target)
    maps = {method: explorer.maps(case, method, image) for method in chosen}
    plot_maps(case, maps)
    plt.show()
    curves = perturbation_curves(case, maps)
    table = scores_table(case, maps, curves)
    display(table.round(3))
    plot_curves(curves)
    plt.show()
    for method in (m for m in chosen if m in OWN_VIEWS):
        plot_own_view(case, method, explorer.own_view(case, method, image))
        plt.show()
    return {"scores": table, "seconds": time.perf_counter() - started}
