"""Notebook 02 (GAX paper, sections 3 and 4.1): CO scores of existing methods in the AX process, the gap between
correct and wrong predictions, the paper's Table 2 (accuracy before / after ``x + h``) and Figure 8 (LayerGradCam
at different layers). The AX score table and the systems are shared with notebook 03 (``studies.gax_systems``).

The paper's claims are decided per image (``*_claims`` functions return the keyword arguments of
``Recorder.paper_claim``, one dict per claim): the gap by the placement of each wrong prediction among the correct
ones (``metrics.error_detection.wrong_placements``, mean = AUROC) against 0.5; Table 2 by each image's correctness
after ``x + h`` against before; the widening of the gap with training, which has no per-image form, paired over
the methods.
"""
import matplotlib.pyplot as plt
import pandas as pd

import torch

from xai_nb_utils.core.exercises import Exercise
from xai_nb_utils.core.params import check_choice
from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.methods.gax import COMBINATIONS, OUTPUTS, as_output, ax_heatmap
from xai_nb_utils.metrics.error_detection import co_gap, wrong_placements
from xai_nb_utils.metrics.perturbation import ax_combine, co_score_from_outputs
from xai_nb_utils.metrics.statistics import one_sample_comparison, paired_comparison
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

# An accuracy gain per image below this counts as "no improvement": the paper's Table 2 gains are at most +0.008
# ("small improvements ... some of them can even be ruled out as noise").
NO_GAIN_MARGIN = 0.01


# -------------------------------------------------------------------------------------------------- systems


def load_systems(profile: str, n: int, seed: int, device) -> list:
    """The embedded systems with ``n`` seeded test samples each; on the ``paper`` profile the paper's systems
    instead: ResNet34_1, ResNet34_sub and AlexNet_sub fine-tuned on chest X-ray (:func:`gax_systems.chest_systems`)
    and the pretrained ResNet34 and AlexNet on ImageNet validation images, ``n`` of each."""
    if profile == "paper":
        return chest_systems(n, seed, device) + imagenet_systems(n, seed, device)
    return [embedded_system(preset, name, profile, n, seed, device, variant)
            for preset, variant, name in EMBEDDED_SYSTEMS]


def training_pair(profile: str) -> tuple:
    """The (well-trained, under-trained) system names whose gaps Figure 2 vs 3A compares."""
    return (PAPER_WELL_TRAINED, PAPER_UNDER_TRAINED) if profile == "paper" else (WELL_TRAINED, UNDER_TRAINED)


def layer_study_system(systems: list, profile: str) -> tuple:
    """Figure 8's system and its layers (first to deepest), :data:`LAYER_STUDY`."""
    name, layers = LAYER_STUDY["paper" if profile == "paper" else "embedded"]
    return next(s for s in systems if s.name == name), layers


def systems_table(systems: list) -> pd.DataFrame:
    """One row per system: its samples, its LayerGradCam layer and its accuracy on the sample."""
    return pd.DataFrame([{"model": s.name, "samples": len(s.y), "LayerGradCam layer": s.extra["gradcam_layer"],
                          "accuracy on the sample": float((predicted_classes(s.model, s.x) == s.y).float().mean()),
                          **fine_tuning_facts(s)} for s in systems])


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
    """Per model (x + h): the method with the highest median CO, that median, and the share of CO > 0."""
    added = variant_rows(scores, output)
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


def gap_claims(scores: pd.DataFrame, models, output: str, min_wrong: int = 5, seed: int = 0) -> list:
    """Figures 2-3, one claim per model of ``models`` and method with >= ``min_wrong`` wrong predictions: CO scores
    (x + h, ``output``) of correct predictions lie above those of wrong ones. Per wrong image: the share of correct
    images with a higher CO (:func:`~xai_nb_utils.metrics.error_detection.wrong_placements`; mean = the AUROC)
    against 0.5 (bootstrap over the wrong images, the correct group held fixed; Wilcoxon signed-rank)."""
    part = variant_rows(scores, output)
    claims = []
    for (model, method), group in part[part["model"].isin(models)].groupby(["model", "method"], sort=False):
        placements = wrong_placements(group["co"], group["correct"])
        if len(placements) < min_wrong:
            continue
        claims.append({
            "paper": PAPER, "claim_id": f"Fig. 2-3 gap, {model}, {method}",
            "claim": f"CO scores (x + h, {output}) of correct predictions lie above those of wrong ones "
                     f"(AUROC > 0.5; per wrong image: share of the {int(group['correct'].sum())} correct images "
                     f"scoring higher)",
            "evidence": one_sample_comparison(placements, 0.5, "greater", seed=seed),
            "labels": ("AUROC", "chance"),
            "paper_value": "a gap for every method (Figs. 2, 3, 7: boxplots, no number)"})
    return claims


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


def widening_claim(gaps: pd.DataFrame, well: str = WELL_TRAINED, under: str = UNDER_TRAINED,
                   seed: int = 0) -> dict | None:
    """Figure 2 vs 3A: the gap (AUROC) is wider for the well-trained model. The models classify different images
    wrongly, so there is no per-image pairing: paired over the methods (n = 6; a Wilcoxon p < 0.05 needs all six
    in one direction). None when fewer than two methods have both AUROCs (a model with no correct or no wrong
    prediction, as on the smoke profile's tiny models): the claim cannot be examined."""
    auroc = well_vs_under_auroc(gaps, well, under)
    if len(auroc) < 2:
        return None
    return {"paper": PAPER, "claim_id": "Fig. 2 vs 3A",
            "claim": f"the CO gap is wider for the better-trained model ({well} vs {under}; AUROC paired over methods)",
            "evidence": paired_comparison(auroc["well"], auroc["under"], "greater", seed=seed),
            "labels": (well.split(", ")[1], under.split(", ")[1]),
            "paper_value": "wider for Resnet34_1 (val. acc. 0.99) than Resnet34_sub (0.8) on pneumonia (Figs. 2, 3A)"}


# ------------------------------------------------------------------------------------------------ Table 2


def correct_before_after(scores: pd.DataFrame, combination: str = "add") -> pd.DataFrame:
    """Per model, method and image: ``before`` = 1 if the prediction on x is right, ``after`` = 1 if the prediction
    on the AX input (``x + h`` by default, the paper's Table 2) is right."""
    part = variant_rows(scores, scores["output"].iloc[0], combination)
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


def no_gain_claims(scores: pd.DataFrame, margin: float = NO_GAIN_MARGIN, seed: int = 0) -> list:
    """Table 2, one claim per method: x + h does not raise the accuracy. Per image (all systems pooled): correct
    after minus correct before, against ``margin`` (reproduced when the gain is significantly below it,
    contradicted when significantly above)."""
    per_image = correct_before_after(scores)
    claims = []
    for method, part in per_image.groupby("method", sort=False):
        paper = paper_accuracy_change(method)
        claims.append({
            "paper": PAPER, "claim_id": f"Table 2, {method}",
            "claim": f"x + h with {method} heatmaps does not improve the accuracy (per image, all systems pooled: "
                     f"correct after minus correct before, below +{margin:g})",
            "evidence": one_sample_comparison(part["after"] - part["before"], margin, "less", seed=seed),
            "labels": ("accuracy change", "margin"),
            "paper_value": f"Table 2: change {paper.min():+.3f} to {paper.max():+.3f} over {len(paper)} systems"})
    return claims


def input_x_gradient_claims(scores: pd.DataFrame, seed: int = 0) -> list:
    """Table 2, one claim per system: x + h with InputXGradient heatmaps lowers the accuracy (per image: correct
    after vs correct before)."""
    per_image = correct_before_after(scores)
    paper = paper_accuracy_change("InputXGradient")
    claims = []
    for model, part in per_image[per_image["method"] == "InputXGradient"].groupby("model", sort=False):
        claims.append({
            "paper": PAPER, "claim_id": f"Table 2, InputXGradient, {model}",
            "claim": f"x + h with InputXGradient heatmaps lowers the accuracy of {model} (per image: correct after "
                     "vs before)",
            "evidence": paired_comparison(part["after"], part["before"], "less", seed=seed),
            "labels": ("accuracy after", "before"),
            "paper_value": f"lower on all {len(paper)} systems (Table 2: {paper.min():+.3f} to {paper.max():+.3f})"})
    return claims


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


def layer_evidence(table: pd.DataFrame, first: str, deepest: str, combination: str, seed: int = 0):
    """Per image of :func:`gradcam_layer_study`: the CO of the ``deepest`` layer's heatmap vs the ``first``
    layer's, for one ``combination`` (``Evidence``, expected: deeper is higher)."""
    part = table[table["combination"] == combination]
    co = lambda layer: part[part["layer"] == layer].sort_values("index")["co"].to_numpy()
    return paired_comparison(co(deepest), co(first), "greater", seed=seed)


def layer_claim(table: pd.DataFrame, first: str, deepest: str, seed: int = 0) -> dict:
    """Figure 8, x * h: LayerGradCam heatmaps from a deeper layer give a higher CO (the paper's expectation, which
    it saw met for x * h only)."""
    return {"paper": PAPER, "claim_id": "Fig. 8, x * h",
            "claim": f"x * h: LayerGradCam from the deepest layer ({deepest}) gives a higher CO than from the first "
                     f"({first}) (per image)",
            "evidence": layer_evidence(table, first, deepest, "mul", seed),
            "labels": (deepest, first),
            "paper_value": "deeper layers expected to score higher; 'a difference in x * h, but not in x + h' "
                           "(Fig. 8, ResNet34 on ImageNet)"}


def plot_co_by_layer(table: pd.DataFrame, title: str = ""):
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(6, 3.2))
    shown = table.assign(AX=table["combination"].map({"add": "x + h", "mul": "x * h"}))
    sns.boxplot(data=shown, x="layer", y="co", hue="AX", ax=ax, fliersize=1.5)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------- exercises


def prediction_flips(scores: pd.DataFrame, combination: str = "add") -> pd.Series:
    """Per method, the share of samples (all systems) whose prediction changes when the heatmap is applied."""
    part = scores[(scores["combination"] == combination) & (scores["output"] == "logit")]
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
