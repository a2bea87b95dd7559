"""Notebook 08: every image method x every metric on the same images, computed as a Dask graph of cached tasks.

One maps task per (model, method, image chunk) -- on the trained model, and for the sanity metric on its fully
randomised copy (first chunk only) -- and one task per (model, method, chunk, metric) on those maps
(:mod:`core.tasks`). Every task stores its result under a key of its whole configuration (model weights included),
so a killed run resumes and a warm rerun computes nothing. The per-image scores then give a leaderboard (mean, bootstrap CI, ranks shared by
methods whose intervals overlap), a rank heatmap, the agreement of metrics (Kendall tau over methods) and the
controls' positions (a metric that ranks Fake-CAM or a random map among the real methods is flagged gameable).

Slow methods run with the benchmark's budget settings (:data:`BUDGET`), not the papers' (their notebooks do that).
"""
import functools
import time
from dataclasses import asdict, dataclass, field

import dask
import numpy as np
import pandas as pd
import torch
from scipy import stats

from xai_nb_utils.core.cache import cached_result, fingerprint
from xai_nb_utils.core.params import by_profile, check_choice
from xai_nb_utils.core.tensors import normalize_maps, reduce_channels, seeded
from xai_nb_utils.methods import available_methods, explain
from xai_nb_utils.methods.dre.generator import fit_relevance_estimator
from xai_nb_utils.metrics.localization import pointing_scores
from xai_nb_utils.metrics.perturbation import average_drop_increase_gain, co_score, insertion_deletion
from xai_nb_utils.metrics.relevance import explainability, faithfulness
from xai_nb_utils.metrics.similarity import similarity_to_input, spearman
from xai_nb_utils.metrics.statistics import bootstrap_mean_ci
from xai_nb_utils.models.randomize import randomized_copy
from xai_nb_utils.models.training import trained_model
from xai_nb_utils.studies.common import METHOD_LABELS
from xai_nb_utils.studies.dre_study import estimator_config

MODELS = ("scene_cnn", "mnist_cnn")
CONTROLS = ("fake_cam", "random")
#: registry entries left out: layer_gradcam is captum's Grad-CAM, the same maps as pytorch-grad-cam's gradcam
LEFT_OUT = ("layer_gradcam",)
#: methods that need a fitted relevance estimator, which exists for the scene network's encoder only
ESTIMATOR_METHODS = ("dre", "mgnet")
#: the benchmark's budget for the slow methods (the papers' settings are in notebooks 03-07); I-GOS and iGOS++ take
#: notebook 04's default IG steps (8, the paper 20): at 20 their 64 maps cost more than the other 27 methods' together
BUDGET = {"igos": dict(iterations=5, ig_steps=8), "igos_pp": dict(iterations=5, ig_steps=8), "gax": dict(max_iter=100),
          "ggig": dict(steps=10, iterations=20), "g3": dict(iterations=50), "geg": dict(n_models=50, max_draws=500),
          "opticam": dict(max_iter=50), "mpert": dict(iterations=100), "lime": dict(n_samples=100)}
SMOKE_BUDGET = {"igos": dict(iterations=2, ig_steps=2), "igos_pp": dict(iterations=2, ig_steps=2),
                "gax": dict(max_iter=10), "ggig": dict(steps=3, iterations=5), "g3": dict(iterations=10),
                "geg": dict(n_models=8, max_draws=64), "opticam": dict(max_iter=10),
                "mpert": dict(iterations=20), "lime": dict(n_samples=50)}

#: metric -> (direction, description); "higher" or "lower" is better
METRICS = {
    "insertion": ("higher", "insertion AUC (blurred start, softmax, trapezoid; Petsiuk et al.)"),
    "deletion": ("lower", "deletion AUC (zeros, softmax, trapezoid)"),
    "AD": ("lower", "average drop % (image x map, softmax; Opti-CAM eq. 13)"),
    "AI": ("higher", "average increase % (Opti-CAM eq. 14)"),
    "AG": ("higher", "average gain % (Opti-CAM eq. 15)"),
    "CO": ("higher", "CO score of h = the map scaled to [0, 1], x + h, logits (GAX eq. 5)"),
    "M_F": ("higher", "faithfulness M_F % (DRE eq. 10; steps of 1/32 of the pixels, 1/28 on 28-px MNIST)"),
    "M_E": ("higher", "explainability M_E % (DRE eq. 11; digit boxes)"),
    "pointing": ("higher", "pointing game % (map maximum in the digit box)"),
    "energy_pointing": ("higher", "energy pointing game % (share of map mass in the digit box)"),
    "randomization": ("lower", "Spearman similarity of the maps of the model and its fully randomised copy "
                               "(sanity: lower = more sensitive to the weights; Adebayo et al.; the first chunk "
                               "of images only)"),
    "input_similarity": ("lower", "SSIM of |map| to the input (GGIG paper: lower = less like an edge detector)"),
    "seconds": ("lower", "seconds per image (maps only; from the run that computed them)"),
}
#: metrics that need the digit boxes (DigitScenes only)
BOX_METRICS = ("M_E", "pointing", "energy_pointing")


@dataclass(frozen=True)
class BenchmarkConfig:
    """Everything that determines the benchmark's numbers (part of every task's cache key)."""

    profile: str = "default"
    models: tuple = MODELS
    methods: tuple = ()
    n_images: int = 16
    chunk: int = 8
    seed: int = 0
    budget: dict = field(default_factory=dict)


def benchmark_methods() -> tuple:
    """Every registered image method except :data:`LEFT_OUT` (the controls included)."""
    return tuple(m for m in available_methods() if m not in LEFT_OUT)


def benchmark_config(profile: str, seed: int = 0, models=MODELS, methods=None, n_images=None) -> BenchmarkConfig:
    """The profile's benchmark: smoke 3 images per model with the smoke budget; default 16 with :data:`BUDGET`."""
    for name in models:
        check_choice("models", name, MODELS)
    methods = tuple(methods or benchmark_methods())
    for name in methods:
        check_choice("methods", name, benchmark_methods())
    n_images = n_images or by_profile(profile, 3, 16)
    return BenchmarkConfig(profile=profile, models=tuple(models), methods=methods, n_images=n_images,
                           chunk=by_profile(profile, 3, 8), seed=seed,
                           budget=by_profile(profile, SMOKE_BUDGET, BUDGET))


def applicable(model_name: str, method: str) -> bool:
    return method not in ESTIMATOR_METHODS or model_name == "scene_cnn"


def metric_names(model_name: str) -> tuple:
    return tuple(m for m in METRICS if m not in BOX_METRICS or model_name == "scene_cnn")


# ------------------------------------------------------------------------------------------------ the tasks


def _loaded(config: BenchmarkConfig, model_name: str):
    return _trained_with_test_split(config.profile, config.seed, model_name)


@functools.lru_cache(maxsize=None)
def _trained_with_test_split(profile: str, seed: int, model_name: str):
    """The trained model and its test split, loaded once per process (a Dask worker runs many tasks)."""
    torch.set_num_threads(1)
    trained = trained_model(model_name, profile, seed=seed, device="cpu")
    return trained, trained.dataset.test


def _images(config: BenchmarkConfig, split, chunk_index: int):
    start = chunk_index * config.chunk
    stop = min(start + config.chunk, config.n_images)
    return split.x[start:stop], split.y[start:stop], slice(start, stop)


def _method_kwargs(config: BenchmarkConfig, trained, method: str) -> dict:
    kwargs = dict(config.budget.get(method, {}))
    if method in ESTIMATOR_METHODS:  # notebook 06's main estimator: fitted (or loaded) once, shared
        kwargs["generator"] = fit_relevance_estimator(trained.model, trained.dataset.train.x,
                                                      trained.dataset.num_classes,
                                                      estimator_config(method, config.profile, config.seed))
    return kwargs


def task_key(config: BenchmarkConfig, trained, model_name: str, method: str, chunk_index: int, **more) -> dict:
    """What determines a task's result: the configuration (less the lists of models and methods, so adding a
    method reuses the others' tasks), the model and its weights, the method, the chunk and ``more``."""
    key = {k: v for k, v in asdict(config).items() if k not in ("models", "methods")}
    return dict(key, model=model_name, weights=fingerprint(trained.model), method=method,
                chunk_index=chunk_index, **more)


def maps_task(config: BenchmarkConfig, model_name: str, method: str, chunk_index: int, randomized: bool) -> dict:
    """The maps of ``method`` on one chunk of test images (labels as targets), on the model or its randomised
    copy, with the seconds they took; cached."""
    trained, split = _loaded(config, model_name)
    key = task_key(config, trained, model_name, method, chunk_index, randomized=randomized)

    def build():
        x, y, _ = _images(config, split, chunk_index)
        model = randomized_copy(trained.model, seed=config.seed) if randomized else trained.model
        kwargs = _method_kwargs(config, trained, method)
        start = time.perf_counter()
        with seeded(config.seed):
            maps = explain(method, model, x, y, **kwargs).detach().float()
        return {"maps": maps, "seconds": time.perf_counter() - start, "n": len(x)}

    return cached_result("benchmark-maps", key, build)


def metric_task(config: BenchmarkConfig, model_name: str, method: str, chunk_index: int, metric: str,
                maps: dict, randomized_maps: dict | None) -> np.ndarray:
    """Per-image scores of one metric on one chunk's maps; cached."""
    trained, split = _loaded(config, model_name)
    key = task_key(config, trained, model_name, method, chunk_index, metric=metric)
    return cached_result("benchmark-scores", key,
                         lambda: score(metric, trained, split, config, chunk_index, maps, randomized_maps))


def one_channel(maps: torch.Tensor) -> torch.Tensor:
    """Maps with one value per colour channel reduced to their absolute sum; one-channel maps as they are."""
    return reduce_channels(maps) if maps.shape[1] > 1 else maps


def score(metric: str, trained, split, config: BenchmarkConfig, chunk_index: int, maps: dict,
          randomized_maps: dict | None) -> np.ndarray:
    """One metric's per-image values (see :data:`METRICS` for each convention)."""
    model, (x, y, rows) = trained.model, _images(config, split, chunk_index)
    saliency = maps["maps"]
    single = one_channel(saliency)
    if metric in ("insertion", "deletion"):
        return insertion_deletion(model, x, single, y, mode=metric).auc
    if metric in ("AD", "AI", "AG"):
        return average_drop_increase_gain(model, x, single, y)["per_image"][metric]
    if metric == "CO":
        with torch.no_grad():
            return co_score(model, x, normalize_maps(single), y).numpy()
    if metric == "M_F":
        pixels = x.shape[-2] * x.shape[-1]
        return faithfulness(model, x, single, y, delta=1 / 32 if pixels % 32 == 0 else 1 / x.shape[-1])
    if metric == "M_E":
        return explainability(single, split.box_masks()[rows])
    if metric in ("pointing", "energy_pointing"):
        return pointing_scores(single, split.boxes[rows])["SP" if metric == "pointing" else "EP"]
    if metric == "randomization":
        return spearman(single.abs(), one_channel(randomized_maps["maps"]).abs())
    if metric == "input_similarity":
        return similarity_to_input(saliency, x)["ssim"].to_numpy()
    if metric == "seconds":
        return np.full(len(x), maps["seconds"] / maps["n"])
    raise ValueError(f"unknown metric {metric!r}")


def benchmark_graph(config: BenchmarkConfig) -> dict:
    """(model, method, chunk, metric) -> delayed per-image scores; the maps tasks are their shared inputs. The
    randomisation metric, which needs the maps of the randomised copy too, is computed on the first chunk only
    (the sanity check asks whether maps change at all; every method's maps on the copy would double the cost)."""
    n_chunks = -(-config.n_images // config.chunk)
    graph = {}
    for model_name in config.models:
        for method in config.methods:
            if not applicable(model_name, method):
                continue
            for chunk_index in range(n_chunks):
                maps = dask.delayed(maps_task, pure=True)(config, model_name, method, chunk_index, False)
                randomized = (dask.delayed(maps_task, pure=True)(config, model_name, method, chunk_index, True)
                              if chunk_index == 0 else None)
                for metric in metric_names(model_name):
                    if metric == "randomization" and randomized is None:
                        continue
                    graph[model_name, method, chunk_index, metric] = dask.delayed(metric_task, pure=True)(
                        config, model_name, method, chunk_index, metric, maps,
                        randomized if metric == "randomization" else None)
    return graph


def task_priorities(graph: dict, config: BenchmarkConfig) -> dict:
    """Graph key -> scheduling priority: the tasks of the methods with a :data:`BUDGET` entry (the slow ones) first,
    so that the last tasks to run are short ones and no worker waits alone on a long map at the end."""
    return {key: int(key[1] in config.budget) for key in graph}


def scores_table(results: dict, config: BenchmarkConfig) -> pd.DataFrame:
    """Long table: model, method, metric, image, value."""
    rows = []
    for (model_name, method, chunk_index, metric), values in results.items():
        start = chunk_index * config.chunk
        rows += [{"model": model_name, "method": method, "metric": metric, "image": start + i, "value": float(v)}
                 for i, v in enumerate(np.asarray(values, dtype=float))]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------- the summaries


def leaderboard(scores: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per model and metric: each method's mean with a 95% bootstrap CI and its rank. A method's rank is 1 plus
    the number of methods whose whole interval is better than its own, so methods with overlapping intervals
    can share a rank."""
    rows = []
    for (model_name, metric), group in scores.groupby(["model", "metric"], sort=False):
        higher = METRICS[metric][0] == "higher"
        stats_of = {}
        for method, values in group.groupby("method", sort=False)["value"]:
            low, high = bootstrap_mean_ci(values.to_numpy(), seed=seed, n_boot=2000)
            stats_of[method] = (values.mean(), low, high, len(values))
        for method, (mean, low, high, n) in stats_of.items():
            better = sum((o_low > high) if higher else (o_high < low)
                         for other, (_, o_low, o_high, _) in stats_of.items() if other != method)
            rows.append({"model": model_name, "metric": metric, "method": method, "label": label(method),
                         "mean": mean, "ci_low": low, "ci_high": high, "n": n, "rank": 1 + better})
    return pd.DataFrame(rows).sort_values(["model", "metric", "rank", "mean"]).reset_index(drop=True)


def label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def rank_matrix(board: pd.DataFrame, model_name: str) -> pd.DataFrame:
    """Methods x metrics ranks of one model."""
    table = board[board.model == model_name].pivot(index="label", columns="metric", values="rank")
    return table[[m for m in METRICS if m in table.columns]]


def metric_agreement(board: pd.DataFrame, model_name: str) -> pd.DataFrame:
    """Kendall tau between every two metrics over the methods' means, each oriented so that larger = better
    (1: the metrics order the methods alike; 0: unrelated; -1: reversed). Seconds are left out."""
    part = board[(board.model == model_name) & (board.metric != "seconds")]
    means = part.pivot(index="method", columns="metric", values="mean")
    oriented = means * [1 if METRICS[m][0] == "higher" else -1 for m in means.columns]
    names = [m for m in METRICS if m in oriented.columns]
    tau = pd.DataFrame(1.0, index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = oriented[[a, b]].dropna()
            tau.loc[a, b] = tau.loc[b, a] = stats.kendalltau(both[a], both[b]).statistic
    return tau


def control_flags(board: pd.DataFrame) -> pd.DataFrame:
    """Per model and metric: the controls' ranks, the median rank of the real methods, and whether the metric is
    gameable here (a control ranks at or above that median). Seconds are left out."""
    rows = []
    for (model_name, metric), group in board[board.metric != "seconds"].groupby(["model", "metric"], sort=False):
        real = group[~group.method.isin(CONTROLS)]["rank"].median()
        ranks = group.set_index("method")["rank"]
        row = {"model": model_name, "metric": metric, "median rank of the methods": real,
               **{f"rank {label(c)}": ranks.get(c, np.nan) for c in CONTROLS}, "methods": len(group)}
        row["gameable"] = bool(any(ranks.get(c, np.inf) <= real for c in CONTROLS))
        rows.append(row)
    return pd.DataFrame(rows)


def per_image(scores: pd.DataFrame, model_name: str, metric: str, method: str) -> np.ndarray:
    """One method's per-image values of a metric, ordered by image (for paired comparisons)."""
    part = scores[(scores.model == model_name) & (scores.metric == metric) & (scores.method == method)]
    return part.sort_values("image")["value"].to_numpy()


def example_maps(config: BenchmarkConfig, model_name: str, methods, image: int = 0) -> dict:
    """The cached maps of ``methods`` for one test image (for the widget): method -> (H, W) array."""
    chunk_index, row = divmod(image, config.chunk)
    out = {}
    for method in methods:
        maps = maps_task(config, model_name, method, chunk_index, False)["maps"][row]
        out[method] = maps.abs().sum(0).numpy()
    return out


# ------------------------------------------------------------------------------------------ the papers' claims

#: cross-method claims of the papers that the benchmark's common images can test: (paper, claim id, claim,
#: metric, method a, method b, the paper's direction for a vs b)
CROSS_CLAIMS = (
    ("Opti-CAM", "Table 1 AD (08 benchmark)", "Opti-CAM has a lower average drop than Grad-CAM", "AD", "opticam",
     "gradcam", "less"),
    ("Opti-CAM", "Table 1 AG (08 benchmark)", "Opti-CAM has a higher average gain than Grad-CAM", "AG", "opticam",
     "gradcam", "greater"),
    ("iGOS++", "Table 1 insertion (08 benchmark)", "iGOS++ has a higher insertion AUC than I-GOS", "insertion",
     "igos_pp", "igos", "greater"),
    ("iGOS++", "Table 1 deletion (08 benchmark)", "iGOS++ has a lower deletion AUC than I-GOS", "deletion",
     "igos_pp", "igos", "less"),
    ("DRE", "Table 3 M_F (08 benchmark)", "DRE is more faithful (M_F) than MGnet", "M_F", "dre", "mgnet", "greater"),
)


def cross_claims(scores: pd.DataFrame, model_name: str = "scene_cnn") -> list:
    """Keyword arguments of ``Recorder.paper_claim`` for each of :data:`CROSS_CLAIMS` whose methods were run,
    decided by a paired comparison on the benchmark's per-image scores of ``model_name``."""
    from xai_nb_utils.metrics.statistics import paired_comparison

    claims = []
    for paper, claim_id, claim, metric, a, b, expected in CROSS_CLAIMS:
        values_a, values_b = (per_image(scores, model_name, metric, m) for m in (a, b))
        if len(values_a) == 0 or len(values_a) != len(values_b):
            continue
        claims.append(dict(paper=paper, claim_id=f"{claim_id}, {model_name}",
                           claim=f"{claim} ({METRICS[metric][1]}; the benchmark's budget settings)",
                           evidence=paired_comparison(values_a, values_b, expected), labels=(label(a), label(b))))
    return claims


def agreement_summary(tau: pd.DataFrame) -> dict:
    """The most similar and the most opposed pair of metrics of a Kendall tau matrix, and the median tau."""
    names = list(tau.index)
    pairs = pd.Series({(a, b): tau.loc[a, b] for i, a in enumerate(names) for b in names[i + 1:]}).dropna()
    return {"most similar": pairs.idxmax(), "tau most similar": pairs.max(), "most opposed": pairs.idxmin(),
            "tau most opposed": pairs.min(), "median tau": pairs.median()}


def test_split(config: BenchmarkConfig, model_name: str):
    """The test split the benchmark's images of ``model_name`` come from."""
    return _loaded(config, model_name)[1]
