"""Notebook 07's study of GGIG and GEG on MNIST (Rahman, Lewis & Plis): the paper's settings, the maps of the four
compared methods with their cost, the map-vs-input similarity table (Figure 2), the model randomisation test, the
checkerboard background (Appendix D.4 analogue), sensitivity sweeps, and the figures.

The methods themselves (G3, GGIG, GEG, unscaled IG) are in :mod:`xai_nb_utils.methods.ggig`.
"""
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch
from tqdm.auto import tqdm

from xai_nb_utils.core.params import check_int
from xai_nb_utils.core.tensors import normalize_maps_numpy, predicted_classes
from xai_nb_utils.methods import explain
from xai_nb_utils.methods.ggig import geg_explain
from xai_nb_utils.metrics.regions import region_share
from xai_nb_utils.metrics.similarity import SIMILARITY_METRICS, mean_with_ci, pearson, similarity_to_input
from xai_nb_utils.studies.common import cascading_randomization, select_images, timed_maps

#: The paper's MNIST settings (Section 4 and the authors' code); ours are chosen per profile in notebook 07.
PAPER_SETTINGS = {
    "ggig_lr": 1e-4,
    "ggig_iterations": 200,
    "ggig_steps": 50,  # path points = steps + 1 = 51 (authors' code: linspace(0, 1, 51))
    "geg_models": 200,
    "geg_sigma": 1e-3,  # authors' code: N(0, 0.001) absolute std on every float parameter
}
PAPER_MNIST_ACCURACY = 0.992  # Section 4: the CNN's test accuracy on the full MNIST
PAPER_ORDER = ("GEG", "GGIG", "IG", "GRAD")  # the paper's ranking on every similarity metric (Figure 2, bottom)
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


def similarity_summary(maps: dict, images: torch.Tensor, confidence: float = 0.95) -> pd.DataFrame:
    """Mean and t-interval half-width of the five map-vs-input metrics: one row per (method, metric)."""
    rows = []
    for name, method_maps in maps.items():
        summary = mean_with_ci(similarity_to_input(method_maps, images), confidence)
        rows += [{"method": name, "metric": metric, "mean": row["mean"], "ci": row["ci"]}
                 for metric, row in summary.iterrows()]
    return pd.DataFrame(rows)


def similarity_display(summary: pd.DataFrame, methods) -> pd.DataFrame:
    """The summary as "mean ± ci" strings, methods as rows (in the order of ``methods``), metrics as columns."""
    table = summary.assign(value=summary["mean"].map("{:.3f}".format) + " ± " + summary["ci"].map("{:.3f}".format))
    return table.pivot(index="method", columns="metric", values="value").loc[list(methods), list(SIMILARITY_METRICS)]


def paper_order_holds(summary: pd.DataFrame, order=PAPER_ORDER) -> dict:
    """Per metric: does mean(GEG) > mean(GGIG) > max(mean(IG), mean(GRAD)) hold (the paper's claim)?"""
    means = summary.pivot(index="metric", columns="method", values="mean")
    best, second, rest = order[0], order[1], list(order[2:])
    return {metric: bool(row[best] > row[second] > row[rest].max()) for metric, row in means.iterrows()}


def ranking_report(summary: pd.DataFrame, order_holds: dict) -> str:
    """Per metric, our ranking of the methods by mean and whether the paper's ranking reproduces."""
    means = summary.pivot(index="metric", columns="method", values="mean")
    lines = []
    for metric, holds in order_holds.items():
        ranking = " > ".join(means.loc[metric].sort_values(ascending=False).index)
        lines.append(f"{metric:17s} ours: {ranking:26s} paper's GEG > GGIG > IG, GRAD "
                     f"{'reproduces' if holds else 'does NOT reproduce'}")
    return "\n".join(lines)


def randomization_test(model, x, target, methods: dict, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The model randomisation test: every layer of a copy re-initialised with ``seed``, the maps computed again.

    Returns (agreement, summary): per method the mean Spearman correlation and SSIM between the trained and the
    random model's |maps| rescaled to [0, 1] (1 = unchanged), and the random model's :func:`similarity_summary`.
    """
    computed = []

    def rescaled_maps(explained_model):
        which = "trained" if explained_model is model else "random"
        maps, _ = compute_maps(explained_model, x, target, methods, desc=f"{which} model")
        computed.append(maps)
        return {name: torch.from_numpy(normalize_maps_numpy(m, absolute=True)) for name, m in maps.items()}

    table = cascading_randomization(model, rescaled_maps, [None], seed)
    agreement = table.rename(columns={"rank correlation": "spearman", "SSIM": "ssim"})[["method", "spearman", "ssim"]]
    return agreement, similarity_summary(computed[-1], x)


def trained_vs_random(summary: pd.DataFrame, random_summary: pd.DataFrame, agreement: pd.DataFrame) -> pd.DataFrame:
    """Per method: each metric's mean for the trained and the random model, with the trained-vs-random agreement."""
    comparison = summary.pivot(index="method", columns="metric", values="mean").add_suffix(" trained")
    comparison = comparison.join(random_summary.pivot(index="method", columns="metric", values="mean")
                                 .add_suffix(" random"))
    return comparison[sorted(comparison.columns)].join(agreement.set_index("method"))


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


def background_study(model, x, labels, methods: dict, square: int = 4, high: float = 0.5,
                     stroke_threshold: float = 0.1):
    """Appendix D.4 analogue: the same digits on black and on a checkerboard.

    Per method: the share of |map| on background pixels (clean pixel < ``stroke_threshold``) for both versions,
    and the Pearson correlation of the checkerboard map with the clean digit and with the checkerboard input.
    The maps explain the model's prediction on each version. Returns (table, checkerboard images, maps).
    """
    boarded = checkerboard_background(x, square=square, high=high)
    background = x < stroke_threshold
    clean_pred, board_pred = predicted_classes(model, x), predicted_classes(model, boarded)
    clean_maps, _ = compute_maps(model, x, clean_pred, methods, desc="maps on black")
    board_maps, _ = compute_maps(model, boarded, board_pred, methods, desc="maps on checkerboard")
    rows = []
    for name in methods:
        board_map = normalize_maps_numpy(board_maps[name], absolute=True)
        share_black = region_share(clean_maps[name], background, magnitude="abs")
        share_board = region_share(board_maps[name], background, magnitude="abs")
        rows.append({"method": name,
                     "background_share_black": float(share_black.mean()),
                     "background_share_checkerboard": float(share_board.mean()),
                     "pearson_with_clean_digit": float(pearson(board_map, x).mean()),
                     "pearson_with_checkerboard_input": float(pearson(board_map, boarded).mean())})
    table = pd.DataFrame(rows)
    table.attrs.update(accuracy_black=float((clean_pred == labels).float().mean()),
                       accuracy_checkerboard=float((board_pred == labels).float().mean()),
                       background_area=float(background.float().mean()))
    return table, boarded, board_maps


def sensitivity_sweep(model, x, target, method: str, base_kwargs: dict, parameter: str, values) -> pd.DataFrame:
    """Re-run ``method`` with ``parameter`` set to each of ``values``: mean similarity metrics and the cost."""
    rows = []
    for value in tqdm(values, desc=f"{method}: {parameter}"):
        maps, cost = run_method(model, x, target, method, {**base_kwargs, parameter: value})
        rows.append({"method": method, "parameter": parameter, "value": value,
                     **similarity_to_input(maps, x).mean().to_dict(), **cost})
    return pd.DataFrame(rows)


def sensitivity_table(model, x, target, sweeps) -> pd.DataFrame:
    """Every sweep of ``sweeps`` = [(method, base kwargs, parameter, values), ...] in one table."""
    return pd.concat([sensitivity_sweep(model, x, target, method, base, parameter, values)
                      for method, base, parameter, values in sweeps], ignore_index=True)


def sweep_rows(sensitivity: pd.DataFrame, method: str, parameter: str) -> pd.DataFrame:
    """The rows of one sweep."""
    return sensitivity[(sensitivity.method == method) & (sensitivity.parameter == parameter)]


def findings(test_accuracy: float, summary: pd.DataFrame, order_holds: dict, costs: pd.DataFrame,
             geg_sigma: float, sensitivity: pd.DataFrame, agreement: pd.DataFrame) -> str:
    """The comparison with the paper, from this run's recorded numbers."""
    holds = sum(order_holds.values())
    best = summary.pivot(index="metric", columns="method", values="mean").idxmax(axis=1)
    geg_cost = costs.set_index("method").loc["GEG"]
    lines = [f"Model: {test_accuracy:.1%} test accuracy on embedded MNIST "
             f"(paper: {PAPER_MNIST_ACCURACY:.1%} on full MNIST).",
             f"Paper's ranking GEG > GGIG > IG, GRAD: holds on {holds}/{len(order_holds)} metrics "
             f"({', '.join(m for m, h in order_holds.items() if h) or 'none'}).",
             "Best method per metric: " + ", ".join(f"{metric} {method}" for metric, method in best.items()),
             f"GEG acceptance rate at sigma {geg_sigma:g}: {geg_cost['acceptance_rate']:.2f}; seconds per image: "
             + ", ".join(f"{r.method} {r.seconds_per_image:.3f}" for r in costs.itertuples())]
    for method, parameter in (("geg", "sigma"), ("ggig", "lr"), ("ggig", "iterations")):
        part = sweep_rows(sensitivity, method, parameter)
        lines.append(f"{method.upper()} {parameter}: Pearson "
                     + ", ".join(f"{v:g} -> {p:.3f}" for v, p in zip(part["value"], part["pearson"]))
                     + " | seconds/image " + ", ".join(f"{t:.2f}" for t in part["seconds_per_image"]))
    lines.append("Randomization: Spearman(trained, random maps) "
                 + ", ".join(f"{r.method} {r.spearman:.2f}" for r in agreement.itertuples()))
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
