"""Notebook 02 (GAX paper, sections 3 and 4.1): CO scores of existing methods in the AX process, the gap between
correct and wrong predictions, the paper's Table 2 (accuracy before / after ``x + h``) and Figure 8 (LayerGradCam
at different layers). The AX score table and the systems are shared with notebook 03 (``studies.gax_systems``).

Headline claims H1-H3 and H6 (``studies.gax_claims``): :func:`improvement_tests` (the best method, chosen on a
selection half, against no heatmap), :func:`ranking_tests` (each dataset's best method against the other's),
:func:`gap_tests` (DeLong AUROC of the CO score, correct vs wrong) and :func:`permutation_tests` (the best
method's heatmap against its shuffled copy). Secondary rows (``*_rows`` functions return the
keyword arguments of ``Recorder.paper_claim``): Table 2 per system with exact McNemar on each image's correctness
before and after ``x + h``, and both halves of Figure 8.
"""
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import torch

from xai_nb_utils.core.exercises import Exercise
from xai_nb_utils.core.params import check_choice
from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.methods.gax import COMBINATIONS, OUTPUTS, as_output, ax_heatmap
from xai_nb_utils.metrics.error_detection import co_gap
from xai_nb_utils.metrics.perturbation import ax_combine, co_score_from_outputs
from xai_nb_utils.metrics.statistics import (all_of, delong_auroc, one_sample_t, paired_binary_comparison,
                                              paired_comparison, paired_t)
from xai_nb_utils.studies.common import method_label
from xai_nb_utils.viz.plotting import overlay, signed_map
from xai_nb_utils.studies.gax_systems import ax_study, claims_summary  # noqa: F401  (used by the notebook)
from xai_nb_utils.studies.gax_systems import (PAPER, PAPER_AX_METHODS, ax_scores, chest_systems, embedded_system,
                                              gradcam_kwargs, imagenet_systems)

# (preset, variant, name) of the embedded stand-ins for the paper's systems ("_sub": the under-trained variant)
EMBEDDED_SYSTEMS = (
    ("mnist_cnn", "well", "MNIST, MnistCNN"),
    ("scene_cnn", "well", "DigitScenes, SceneCNN"),
    ("scene_cnn", "under", "DigitScenes, SceneCNN_sub"),
    ("tabular_wine", "well", "wine, TabularMLP"),
    ("tabular_breast_cancer", "well", "breast cancer, TabularMLP"),
)
WELL_TRAINED, UNDER_TRAINED = "DigitScenes, SceneCNN", "DigitScenes, SceneCNN_sub"
#: the trained image models of the headline claims H1-H3, one per dataset: embedded profiles, and ``paper``
HEADLINE_MODELS = {"embedded": ("MNIST, MnistCNN", WELL_TRAINED), "paper": ("IMN, Resnet34", "Pneu, Resnet34_1")}
#: the paper's pair (Figs. 2 and 3A): ResNet34 fine-tuned to 0.99 and to 0.8 validation accuracy on pneumonia
PAPER_WELL_TRAINED, PAPER_UNDER_TRAINED = "Pneu, Resnet34_1", "Pneu, Resnet34_sub"
#: Figure 8's model and its LayerGradCam layers, first to deepest: embedded profiles, and ``paper`` (ResNet34 on
#: ImageNet, as the paper)
LAYER_STUDY = {"embedded": (WELL_TRAINED, ["stem.0", "stage1", "stage2", "stage3"]),
               "paper": ("IMN, Resnet34", ["net.conv1", "net.layer1", "net.layer2", "net.layer3", "net.layer4"])}

# The paper's Table 2 (appendix A.5): accuracy before ("Baseline") and after the AX process x + h. THE PAPER'S
# NUMBERS, shown beside ours for comparison only (IMN: ImageNet, Pneu: chest X-ray pneumonia, COVID, CCF: credit
# card fraud, DB: dry bean).
PAPER_TABLE2 = {
    "IMN, Resnet34": (0.722, 0.715, 0.526, 0.703, 0.659, 0.706, 0.610),
    "IMN, Alexnet": (0.551, 0.530, 0.347, 0.542, 0.364, 0.484, 0.407),
    "Pneu, Resnet34": (0.691, 0.691, 0.601, 0.671, 0.691, 0.689, 0.619),
    "Pneu, Resnet34_sub": (0.708, 0.708, 0.643, 0.713, 0.700, 0.712, 0.668),
    "Pneu, Alexnet": (0.628, 0.628, 0.510, 0.606, 0.636, 0.635, 0.546),
    "COVID, CXCMultiSPA": (0.865, 0.821, 0.624, 0.784, 0.245, 0.578, 0.562),
    "CCF, ccfFPA": (0.895, 0.872, 0.813, 0.692, 0.282, 0.188, 0.785),
    "DB, drybeanFPA": (0.877, 0.868, 0.708, 0.646, 0.817, 0.777, 0.712),
}
PAPER_TABLE2_COLUMNS = ("Baseline",) + tuple(method_label(m) for m in PAPER_AX_METHODS)

# An accuracy gain below this counts as "no improvement" (non-inferiority margin of after - before): the paper's
# Table 2 gains are at most +0.008 ("small improvements ... some of them can even be ruled out as noise"); with
# 300 images and no change at all the exact McNemar bound is 0.012, so 0.01 could never be shown here.
NO_GAIN_MARGIN = 0.02
#: Figure 8, x + h: "no difference" between layers is shown when the mean paired CO difference lies within this
LAYER_EQUIVALENCE_MARGIN = 1.0
#: the wrong predictions each image model is topped up to (H3's planned n), per profile
MIN_WRONG = {"smoke": 8, "default": 40, "paper": 40}


# -------------------------------------------------------------------------------------------------- systems


def load_systems(profile: str, n: int, seed: int, device) -> list:
    """The embedded systems with ``n`` seeded test samples each (image models topped up with wrong predictions to
    :data:`MIN_WRONG`, ``gax_systems.embedded_system``); on the ``paper`` profile the paper's systems
    instead: ResNet34_1, ResNet34_sub and AlexNet_sub fine-tuned on chest X-ray (:func:`gax_systems.chest_systems`)
    and the pretrained ResNet34 and AlexNet on ImageNet validation images, ``n`` of each."""
    if profile == "paper":
        return chest_systems(n, seed, device) + imagenet_systems(n, seed, device)
    return [embedded_system(preset, name, profile, n, seed, device, variant,
                            min_wrong=MIN_WRONG[profile] if preset.endswith("cnn") else 0)
            for preset, variant, name in EMBEDDED_SYSTEMS]


def headline_models(profile: str) -> tuple:
    """The systems of the headline claims H1-H3 (:data:`HEADLINE_MODELS`), fixed before any score is seen."""
    return HEADLINE_MODELS["paper" if profile == "paper" else "embedded"]


def training_pair(profile: str) -> tuple:
    """The (well-trained, under-trained) system names whose gaps Figure 2 vs 3A compares."""
    return (PAPER_WELL_TRAINED, PAPER_UNDER_TRAINED) if profile == "paper" else (WELL_TRAINED, UNDER_TRAINED)


def layer_study_system(systems: list, profile: str) -> tuple:
    """Figure 8's system (its random sample) and its layers (first to deepest), :data:`LAYER_STUDY`."""
    name, layers = LAYER_STUDY["paper" if profile == "paper" else "embedded"]
    system = next(s for s in systems if s.name == name)
    n_random = system.extra.get("n_random", len(system.y))
    return replace(system, x=system.x[:n_random], y=system.y[:n_random]), layers


def systems_table(systems: list) -> pd.DataFrame:
    """One row per system: its random sample, its LayerGradCam layer, its accuracy on the random sample and the
    wrong predictions with the top-up (``gax_systems.embedded_system``)."""
    rows = []
    for s in systems:
        correct = predicted_classes(s.model, s.x) == s.y
        n_random = s.extra.get("n_random", len(s.y))
        rows.append({"model": s.name, "samples": n_random, "LayerGradCam layer": s.extra["gradcam_layer"],
                     "accuracy on the sample": float(correct[:n_random].float().mean()),
                     "wrong predictions with the top-up": int((~correct).sum()), **fine_tuning_facts(s)})
    return pd.DataFrame(rows)


def fine_tuning_facts(system) -> dict:
    """The fine-tuning columns of a pneumonia system (paper profile), empty for the others."""
    facts = system.extra.get("fine_tuning")
    if facts is None:
        return {}
    return {"fine-tuning iterations": facts["iterations"], "validation accuracy": facts["val_accuracy"],
            "reached its target": facts["reached_target"], "test accuracy": facts["test_accuracy"]}


# ----------------------------------------------------------------------------------------------- CO scores


def variant_rows(table: pd.DataFrame, output: str, combination: str = "add") -> pd.DataFrame:
    """The rows of a score or gap table for one AX variant (default ``x + h``) and output."""
    check_choice("output", output, OUTPUTS)
    check_choice("combination", combination, COMBINATIONS)
    return table[(table["combination"] == combination) & (table["output"] == output)]


def median_co(scores: pd.DataFrame) -> pd.DataFrame:
    """Median CO per model and method (rows), combination and output (columns)."""
    medians = scores.groupby(["model", "method", "combination", "output"])["co"].median()
    return medians.unstack(["combination", "output"])


def highest_median_co(scores: pd.DataFrame, output: str) -> pd.DataFrame:
    """Per model (x + h, random sample): the method with the highest median CO, that median, and the share of
    CO > 0."""
    added = variant_rows(random_rows(scores), output)
    median_co = added.groupby(["model", "method"])["co"].median().unstack("method")
    share_positive = added.groupby("model")["co"].apply(lambda co: float((co > 0).mean()))
    return pd.DataFrame({"highest median CO": median_co.idxmax(axis=1), "its median": median_co.max(axis=1),
                         "share of CO > 0 (all methods)": share_positive})


def plot_co_distributions(scores: pd.DataFrame, model: str, combination: str = "add", output: str = "logit",
                          hist_methods=("Saliency", "Deconvolution")):
    """Figure 2/3 analog: boxplots of CO scores per method split by correct / wrong prediction, and histograms."""
    import seaborn as sns

    part = variant_rows(scores[scores["model"] == model], output, combination)
    part = part.assign(prediction=part["correct"].map({True: "correct", False: "wrong"}))
    hist_methods = [m for m in hist_methods if m in set(part["method"])]
    fig, axes = plt.subplots(1, 1 + len(hist_methods), figsize=(5 + 3 * len(hist_methods), 3.2),
                             gridspec_kw={"width_ratios": [2.2] + [1] * len(hist_methods)}, squeeze=False)
    palette = {"correct": "tab:blue", "wrong": "tab:red"}
    sns.boxplot(data=part, x="method", y="co", hue="prediction", hue_order=["correct", "wrong"], palette=palette,
                ax=axes[0, 0], fliersize=1.5)
    axes[0, 0].set_yscale("symlog", linthresh=1.0)  # one method's large scores would flatten the others
    axes[0, 0].tick_params(axis="x", rotation=30)
    axes[0, 0].set_title(f"{model}: CO ({'x + h' if combination == 'add' else 'x * h'}, {output})", fontsize=9)
    for ax, method in zip(axes[0, 1:], hist_methods):
        sns.histplot(data=part[part["method"] == method], x="co", hue="prediction", hue_order=["correct", "wrong"],
                     palette=palette, stat="density", common_norm=False, bins=30, ax=ax)
        ax.set_title(method, fontsize=9)
    fig.tight_layout()
    return fig


def image_systems(systems: list) -> dict:
    """name -> system for the systems with images (those with a Grad-CAM layer), for the AX widget."""
    return {system.name: system for system in systems if system.extra["gradcam_layer"] is not None}


def plot_ax_process(system, index: int, method: str, combination: str = "add", output: str = "logit"):
    """The AX process on one sample: the image, its heatmap ``h`` for the predicted class (signed, normalised by
    max|h|), the combined input and the class scores before / after, titled with the CO score w.r.t. the label."""
    check_choice("combination", combination, COMBINATIONS)
    check_choice("output", output, OUTPUTS)
    x, label = system.x[index:index + 1], system.y[index:index + 1]
    h = ax_heatmap(system.model, x, method, **gradcam_kwargs(system.extra["gradcam_layer"]).get(method, {}))
    combined = ax_combine(x, h, combination)
    with torch.no_grad():
        before, after = (as_output(system.model(inputs), output) for inputs in (x, combined))
    co = float(co_score_from_outputs(before, after, label))
    fig, axes = plt.subplots(1, 4, figsize=(11, 2.8), gridspec_kw={"width_ratios": [1, 1, 1, 1.6]})
    overlay(axes[0], x[0].cpu(), title=f"label {int(label)}, predicted {int(before.argmax(1))}")
    signed_map(axes[1], h[0].cpu(), title=f"h: {method_label(method)}")
    overlay(axes[2], combined[0].cpu(), title=f"{'x + h' if combination == 'add' else 'x * h'} (shown clipped to [0, 1])")
    classes = range(before.shape[1])
    axes[3].bar([c - 0.2 for c in classes], before[0].cpu(), width=0.4, label="x")
    axes[3].bar([c + 0.2 for c in classes], after[0].cpu(), width=0.4, label="combined")
    axes[3].axvspan(int(label) - 0.5, int(label) + 0.5, color="tab:green", alpha=0.15, label="label")
    axes[3].set_xticks(list(classes))
    axes[3].set_title(f"{output}: CO score {co:+.3g}, predicted after {int(after.argmax(1))}", fontsize=9)
    axes[3].legend(fontsize=7)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------- gaps


def co_gap_table(scores: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """``metrics.error_detection.co_gap`` for every (model, method, combination, output) group of a score table."""
    keys = [k for k in ("model", "method", "combination", "output") if k in scores.columns]
    rows = [{**dict(zip(keys, group)), **co_gap(part["co"], part["correct"], n_boot=n_boot, seed=seed)}
            for group, part in scores.groupby(keys, sort=False)]
    return pd.DataFrame(rows)


def trained_image_models(systems: pd.DataFrame, min_accuracy: float = 0.7) -> list:
    """The trained image models of a :func:`systems_table`: a LayerGradCam layer and accuracy on the sample
    >= ``min_accuracy``."""
    models = systems[systems["LayerGradCam layer"].notna() & (systems["accuracy on the sample"] >= min_accuracy)]
    return list(models["model"])


def share_informative_gaps(systems: pd.DataFrame, gaps: pd.DataFrame, min_accuracy: float = 0.7,
                           min_wrong: int = 5) -> tuple:
    """Among the :func:`trained_image_models` and their methods with >= ``min_wrong`` wrong predictions: the share
    whose bootstrap AUROC interval lies above 0.5. ``gaps``: one variant's rows of :func:`co_gap_table`. Returns
    ``(share, models)``."""
    models = trained_image_models(systems, min_accuracy)
    image_gaps = gaps[gaps["model"].isin(models) & (gaps["n_wrong"] >= min_wrong)]
    return float((image_gaps["auroc_low"] > 0.5).mean()), models


def random_rows(scores: pd.DataFrame) -> pd.DataFrame:
    """The rows of the random sample (without the wrong predictions a system was topped up with)."""
    return scores[scores["random_sample"]] if "random_sample" in scores else scores


def selection_half(scores: pd.DataFrame, seed: int = 0) -> pd.Series:
    """Per row of a score table: is its image in the seeded selection half of its model's random sample (the
    half on which the best method is chosen; H1 and H2 are tested on the other half)?"""
    chosen = {}
    for model, part in random_rows(scores).groupby("model", sort=False):
        images = np.sort(part["index"].unique())
        picked = np.random.default_rng(seed).permutation(images)[:len(images) // 2]
        chosen[model] = set(picked.tolist())
    return pd.Series([i in chosen.get(m, ()) for m, i in zip(scores["model"], scores["index"])], index=scores.index)


def _test_half(scores: pd.DataFrame, model: str, output: str, seed: int) -> pd.DataFrame:
    """x + h rows of ``model``'s random sample outside the selection half, one column of CO per method (rows =
    images)."""
    part = variant_rows(scores, output)
    part = part[(part["model"] == model) & part["random_sample"] & ~selection_half(part, seed)]
    return part.pivot(index="index", columns="method", values="co")


def best_methods(scores: pd.DataFrame, models, output: str = "logit", seed: int = 0) -> dict:
    """model -> the method with the highest mean CO (x + h) on the model's selection half."""
    part = variant_rows(scores, output)
    part = part[part["model"].isin(models) & part["random_sample"] & selection_half(part, seed)]
    return part.groupby(["model", "method"])["co"].mean().unstack("method").idxmax(axis=1).to_dict()


def improvement_tests(scores: pd.DataFrame, best: dict, output: str = "logit", seed: int = 0) -> dict:
    """H1, one test per model of ``best``: its best method's CO (x + h) on the test half against 0 (no heatmap)."""
    return {f"{model}: {method} vs no heatmap": one_sample_t(_test_half(scores, model, output, seed)[method], 0.0)
            for model, method in best.items()}


def ranking_tests(scores: pd.DataFrame, best: dict, output: str = "logit", seed: int = 0) -> dict:
    """H2, on each model of ``best``: its own best method vs each other model's best method, CO (x + h) paired
    over its test half (identically 0 when the two choose the same method)."""
    tests = {}
    for model, own in best.items():
        co = _test_half(scores, model, output, seed)
        for other, theirs in best.items():
            if other != model:
                tests[f"{model}: {own} vs {other.split(', ')[0]}'s best {theirs}"] = paired_t(co[own], co[theirs])
    return tests


def gap_tests(scores: pd.DataFrame, models, output: str = "logit") -> dict:
    """H3, one test per model of ``models`` and method: the AUROC of the CO score (x + h) for telling correct
    (higher) from wrong predictions, DeLong, over every image including the wrong predictions of the top-up (a
    model with fewer than two correct or two wrong predictions has no AUROC to test and is left out)."""
    part = variant_rows(scores, output)
    return {f"{model}, {method}": delong_auroc(group["co"], group["correct"])
            for (model, method), group in part[part["model"].isin(models)].groupby(["model", "method"], sort=False)
            if min(group["correct"].sum(), (~group["correct"]).sum()) >= 2}


def permutation_tests(systems: list, scores: pd.DataFrame, best: dict, output: str = "logit",
                      seed: int = 0) -> dict:
    """H6, one test per model of ``best``: on its test half, the CO (x + h) of its best method's heatmap against
    the CO of the same heatmap with its elements shuffled within each image (same values, no spatial information;
    seeded), paired t. A heatmap whose place carries information scores higher than its shuffled copy."""
    tests = {}
    for model, method in best.items():
        system = next(s for s in systems if s.name == model)
        index = torch.tensor(_test_half(scores, model, output, seed).index.to_list(), device=system.x.device)
        x, y = system.x[index], system.y[index]
        name = {method_label(m): m for m in PAPER_AX_METHODS}.get(method, method)  # the registry's name
        h = ax_heatmap(system.model, x, name, **gradcam_kwargs(system.extra["gradcam_layer"]).get(name, {}))
        generator = torch.Generator().manual_seed(seed)
        flat = h.flatten(1)
        shuffled = torch.stack([row[torch.randperm(len(row), generator=generator).to(row.device)] for row in flat])
        with torch.no_grad():
            before, real, permuted = (as_output(system.model(inputs), output)
                                      for inputs in (x, x + h, x + shuffled.view_as(h)))
        tests[f"{model}: {method} vs its shuffled heatmap"] = paired_t(
            co_score_from_outputs(before, real, y).cpu().numpy(), co_score_from_outputs(before, permuted, y).cpu().numpy())
    return tests


def improvement_table(scores: pd.DataFrame, best: dict, output: str = "logit", seed: int = 0) -> pd.DataFrame:
    """Mean CO (x + h) per model (rows) and method on the test half, with the method chosen on the selection
    half."""
    table = pd.DataFrame({model: _test_half(scores, model, output, seed).mean() for model in best}).T
    return table.assign(**{"chosen on the selection half": pd.Series(best)})


def largest_gap_method(gaps: pd.DataFrame) -> pd.DataFrame:
    """Per model, the method with the largest AUROC (``gaps``: one variant's rows of :func:`co_gap_table`)."""
    known = gaps.dropna(subset=["auroc"])
    return known.loc[known.groupby("model")["auroc"].idxmax(), ["model", "method", "auroc"]]


def well_vs_under_auroc(gaps: pd.DataFrame, well: str = WELL_TRAINED, under: str = UNDER_TRAINED) -> pd.DataFrame:
    """Per method (rows, both AUROCs known): the AUROC of the well- and of the under-trained model (columns)."""
    auroc = lambda model: gaps[gaps["model"] == model].set_index("method")["auroc"]
    return pd.DataFrame({"well": auroc(well), "under": auroc(under)}).dropna()


def wider_gap_when_well_trained(gaps: pd.DataFrame, well: str = WELL_TRAINED, under: str = UNDER_TRAINED):
    """Per method: is the AUROC of the well-trained model above that of the under-trained one? (bool Series)"""
    auroc = well_vs_under_auroc(gaps, well, under)
    return auroc["well"] > auroc["under"]


# ------------------------------------------------------------------------------------------------ Table 2


def correct_before_after(scores: pd.DataFrame, combination: str = "add") -> pd.DataFrame:
    """Per model, method and image: ``before`` = 1 if the prediction on x is right, ``after`` = 1 if the prediction
    on the AX input (``x + h`` by default, the paper's Table 2) is right; the random sample only."""
    part = variant_rows(random_rows(scores), scores["output"].iloc[0], combination)
    return pd.DataFrame({"model": part["model"], "method": part["method"], "index": part["index"],
                         "before": part["correct"].astype(int),
                         "after": (part["pred_after"] == part["label"]).astype(int)})


def accuracy_table(scores: pd.DataFrame) -> pd.DataFrame:
    """The Table 2 analog: one row per model, accuracy before (Baseline) and after x + h per method."""
    rows = []
    for name, part in correct_before_after(scores).groupby("model", sort=False):
        first = part[part["method"] == part["method"].iloc[0]]
        rows.append({"model": name, "Baseline": float(first["before"].mean()),
                     **{method: float(group["after"].mean()) for method, group in part.groupby("method", sort=False)}})
    return pd.DataFrame(rows).set_index("model")


def accuracy_change(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Accuracy after x + h minus the baseline accuracy, per model and method."""
    return accuracy.drop(columns="Baseline").sub(accuracy["Baseline"], axis=0)


def paper_accuracy_change(method: str) -> pd.Series:
    """The paper's Table 2 accuracy change (after x + h minus Baseline) of one method per system (the paper's
    numbers)."""
    paper = paper_table2()
    return paper[method] - paper["Baseline"]


def no_gain_rows(scores: pd.DataFrame, margin: float = NO_GAIN_MARGIN) -> list:
    """Table 2, one secondary row per system: no method raises the accuracy by ``margin`` or more (per image:
    correct after vs before, exact McNemar, non-inferiority of after - before below +``margin``; all six methods
    must show it)."""
    rows = []
    for model, part in correct_before_after(scores).groupby("model", sort=False):
        evidence, method = all_of({method: paired_binary_comparison(group["after"], group["before"], "less",
                                                                    hypothesis="non-inferiority", margin=margin)
                                   for method, group in part.groupby("method", sort=False)})
        rows.append({"paper": PAPER, "claim_id": f"Table 2 no gain, {model}",
                     "claim": f"x + h raises the accuracy of {model} by less than {margin:g} with every method "
                              f"(exact McNemar per method; the weakest shown: {method})",
                     "evidence": evidence, "labels": ("accuracy after", "before"), "kind": "reading of a remark",
                     "paper_value": "'we only observe small improvements ... some of them can even be ruled out as "
                                    "noise' (the paper's Table 2: at most +0.008)"})
    return rows


def input_x_gradient_rows(scores: pd.DataFrame) -> list:
    """Table 2, one secondary row per system: x + h with InputXGradient heatmaps lowers the accuracy (per image:
    correct after vs correct before, exact McNemar)."""
    per_image = correct_before_after(scores)
    paper = paper_accuracy_change("InputXGradient")
    return [{"paper": PAPER, "claim_id": f"Table 2, InputXGradient, {model}",
             "claim": f"x + h with InputXGradient heatmaps lowers the accuracy of {model} (per image: correct after "
                      "vs before, exact McNemar)",
             "evidence": paired_binary_comparison(part["after"], part["before"], "less"),
             "labels": ("accuracy after", "before"), "kind": "table cell",
             "paper_value": f"lower on all {len(paper)} of the paper's systems (its Table 2: {paper.min():+.3f} to "
                            f"{paper.max():+.3f})"}
            for model, part in per_image[per_image["method"] == "InputXGradient"].groupby("model", sort=False)]


def paper_table2() -> pd.DataFrame:
    """:data:`PAPER_TABLE2` as a DataFrame (the paper's numbers)."""
    return pd.DataFrame.from_dict(PAPER_TABLE2, orient="index", columns=list(PAPER_TABLE2_COLUMNS))


# ----------------------------------------------------------------------------------------------- Figure 8


def gradcam_layer_study(system, layers, combinations=COMBINATIONS, output: str = "logit") -> pd.DataFrame:
    """Figure 8 analog: AX CO scores of LayerGradCam heatmaps taken at different layers (upsampled to the input)."""
    tables = [ax_scores(system.model, system.x, system.y, ["layer_gradcam"], combinations, [output],
                        method_kwargs=gradcam_kwargs(layer), progress=False).assign(layer=layer) for layer in layers]
    return pd.concat(tables, ignore_index=True)


def median_co_by_layer(table: pd.DataFrame, layers) -> pd.DataFrame:
    """Median CO per combination (rows) and layer (columns, in the order of ``layers``)."""
    return table.groupby(["combination", "layer"])["co"].median().unstack("layer")[list(layers)]


def layer_evidence(table: pd.DataFrame, first: str, deepest: str, combination: str, **hypothesis):
    """Per image of :func:`gradcam_layer_study`: the CO of the ``deepest`` layer's heatmap vs the ``first``
    layer's, for one ``combination`` (``Evidence``, paired t; expected: deeper is higher; ``hypothesis``:
    ``hypothesis`` and ``margin`` of ``metrics.statistics.evidence``)."""
    part = table[table["combination"] == combination]
    co = lambda layer: part[part["layer"] == layer].sort_values("index")["co"].to_numpy()
    return paired_comparison(co(deepest), co(first), "greater", **hypothesis)


def layer_rows(table: pd.DataFrame, first: str, deepest: str,
               margin: float = LAYER_EQUIVALENCE_MARGIN) -> list:
    """Figure 8, two secondary rows: x * h, LayerGradCam from the deepest layer gives a higher CO than from the
    first (the paper saw a difference there); x + h, the two give the same CO within ``margin`` (the paper saw
    none)."""
    paper_value = ("deeper layers expected to score higher; 'a difference in x * h, but not in x + h' (the paper's "
                   "Fig. 8, ResNet34 on ImageNet)")
    return [{"paper": PAPER, "claim_id": "Fig. 8, x * h",
             "claim": f"x * h: LayerGradCam from the deepest layer ({deepest}) gives a higher CO than from the first "
                      f"({first}) (per image, paired t)",
             "evidence": layer_evidence(table, first, deepest, "mul"), "labels": (deepest, first),
             "kind": "reading of a remark", "paper_value": paper_value},
            {"paper": PAPER, "claim_id": "Fig. 8, x + h",
             "claim": f"x + h: LayerGradCam from the deepest layer ({deepest}) and from the first ({first}) give the "
                      f"same CO within {margin:g} (per image, paired t, equivalence)",
             "evidence": layer_evidence(table, first, deepest, "add", hypothesis="equivalence", margin=margin),
             "labels": (deepest, first), "kind": "reading of a remark", "paper_value": paper_value}]


def plot_co_by_layer(table: pd.DataFrame, title: str = ""):
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(6, 3.2))
    shown = table.assign(AX=table["combination"].map({"add": "x + h", "mul": "x * h"}))
    sns.boxplot(data=shown, x="layer", y="co", hue="AX", ax=ax, fliersize=1.5)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------- finding


def finding(decided: list, best: dict, gap_tests: dict) -> str:
    """The notebook's finding, one sentence from the decided headline rows (H1-H3, H6), the chosen methods and the
    AUROCs of the gap tests."""
    verdict = {row["claim_id"]: row["verdict"] for row in decided}
    chosen = ", ".join(f"{model.split(', ')[0]}: {method}" for model, method in best.items())
    aurocs = [result.mean_a for result in gap_tests.values()]
    return (f"The best existing AX method (chosen per dataset, {chosen}) raising the CO score above no heatmap is "
            f"{verdict.get('H1', 'not run')}, its lead over its own shuffled heatmap is {verdict.get('H6', 'not run')},"
            f" the dataset-dependent ranking is {verdict.get('H2', 'not run')}, and the correct/wrong CO gap (AUROC "
            f"{min(aurocs, default=float('nan')):.2f} to {max(aurocs, default=float('nan')):.2f} over {len(aurocs)} "
            f"model-method pairs) is {verdict.get('H3', 'not run')}.")


# ----------------------------------------------------------------------------------------------- exercises


def prediction_flips(scores: pd.DataFrame, combination: str = "add") -> pd.Series:
    """Per method, the share of samples (all systems) whose prediction changes when the heatmap is applied."""
    part = variant_rows(random_rows(scores), "logit", combination)
    return (part["pred"] != part["pred_after"]).groupby(part["method"]).mean().sort_values()


def exercises(scores: pd.DataFrame, share_informative: float, best: pd.DataFrame, gap_output: str) -> list:
    """The notebook's "try it" exercises, answered from this run's results."""
    def flips_answer():
        flips = prediction_flips(scores)
        return (f"x + h changes the prediction of {flips.iloc[0]:.1%} of the samples with {flips.index[0]} and of "
                f"{flips.iloc[-1]:.1%} with {flips.index[-1]} (all systems); the CO score in the widget's title "
                f"is positive when the label's score rose more than the others'.")

    def softmax_answer():
        largest = ", ".join(f"{row.model}: {row.method} ({row.auroc:.2f})" for row in best.itertuples())
        share = ("no trained image model has enough wrong predictions in this sample to decide"
                 if pd.isna(share_informative) else
                 f"{share_informative:.0%} of the (trained image model, method) pairs have an AUROC interval above 0.5")
        return f"with gap_output = {gap_output!r}, {share}; the largest gaps: {largest}."

    return [
        Exercise("With the AX widget, step through the samples for one method: how often does x + h change the "
                 "model's prediction, and for which method most?", flips_answer),
        Exercise("Does the correct/wrong gap survive when the CO score is taken on softmax probabilities instead "
                 "of logits?", softmax_answer, {"gap_output": "softmax"}),
    ]
