"""Notebook 08: every image method x every metric on the same images, computed as a Dask graph of cached tasks.

One maps task per (model, method, image chunk) -- on the trained model, and for the sanity metric on its fully
randomised copy (the first ``n_randomized`` images only) -- and one task per (model, method, chunk, metric) on those
maps (:mod:`core.tasks`). Every task stores its result under a key of its whole configuration (model weights
included), so a killed run resumes and a warm rerun computes nothing.

Controls run beside the methods (:data:`CONTROLS`): a random map, Fake-CAM, an edge filter, a centre prior, a blurred
copy of each metric's best map and, on the scene network (the ground-truth testbed, :mod:`studies.ground_truth`),
the digit's pixel mask and its inverse. The per-image scores give a leaderboard (mean, bootstrap CI and the
significance tier of a Friedman test with Nemenyi's critical difference on the images every method has,
:mod:`metrics.ranking`), the agreement of metrics (Kendall tau over methods), a report card per metric (does it
order the ground truth, the best method, a random map and the inverted ground truth right?) and the MNIST
network's saturation check (insertion and deletion only: a saturated network is not ranked).

Slow methods run with the benchmark's budget settings (:data:`BUDGET`), not the papers' (their notebooks do that).
"""
import functools
import time
from dataclasses import asdict, dataclass, field

import dask
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import stats
from torchvision.transforms.functional import gaussian_blur

from xai_nb_utils.core.cache import cached_result, fingerprint
from xai_nb_utils.core.params import by_profile, check_choice
from xai_nb_utils.core.tensors import normalize_maps, reduce_channels, seeded
from xai_nb_utils.methods import available_methods, explain
from xai_nb_utils.methods.dre.generator import fit_relevance_estimator
from xai_nb_utils.metrics.localization import pointing_scores
from xai_nb_utils.metrics.perturbation import average_drop_increase_gain, co_score, insertion_deletion
from xai_nb_utils.metrics.ranking import friedman_nemenyi
from xai_nb_utils.metrics.relevance import explainability, faithfulness
from xai_nb_utils.metrics.similarity import similarity_to_input, spearman
from xai_nb_utils.metrics.statistics import bootstrap_mean_ci
from xai_nb_utils.models.randomize import randomized_copy
from xai_nb_utils.models.training import trained_model
from xai_nb_utils.studies import ground_truth, metric_cards
from xai_nb_utils.studies.common import METHOD_LABELS
from xai_nb_utils.studies.dre_study import estimator_config

MODELS = ("scene_cnn", "mnist_cnn")
#: the model whose scenes have a known evidence mask (the ground-truth testbed) and on which the benchmark ranks
GROUND_TRUTH_MODEL = "scene_cnn"
#: controls that carry no information about the model (or, the last two, exact information about the evidence)
CONTROLS = ("random", "fake_cam", "edge_sobel", "centre_prior", "blurred_best", "gt_mask", "gt_inverse")
#: controls the benchmark computes itself (the others are registry methods; blurred_best is made from the maps
#: of each metric's best method, see :func:`blurred_graph`)
OWN_CONTROLS = ("edge_sobel", "centre_prior", "gt_mask", "gt_inverse")
GROUND_TRUTH_CONTROLS = ("gt_mask", "gt_inverse")
BLURRED = "blurred:"
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
#: the methods whose maps cost about 0.5 CPU seconds per scene image or more at :data:`BUDGET` (one thread, measured
#: 2026-12-07: iGOS++ 1.09, GGIG 0.65, MPert 0.59, GAX 0.56, GEG 0.47; next Ablation-CAM 0.26, Score-CAM 0.24,
#: Opti-CAM 0.21, I-GOS 0.20, G3 0.20): they explain the first ``n_slow`` images only (the others ``n_images``)
SLOW_METHODS = ("igos_pp", "ggig", "mpert", "gax", "geg")

#: metric -> (direction, description); "higher" or "lower" is better
METRICS = {
    "insertion": ("higher", "insertion AUC (blurred start, softmax, trapezoid, 32 steps of 1/32 of the pixels; "
                            "Petsiuk et al.)"),
    "deletion": ("lower", "deletion AUC (zeros, softmax, trapezoid, 32 steps of 1/32 of the pixels)"),
    "AD": ("lower", "average drop % (image x map, softmax; Opti-CAM eq. 13)"),
    "AI": ("higher", "average increase % (Opti-CAM eq. 14)"),
    "AG": ("higher", "average gain % (Opti-CAM eq. 15)"),
    "CO": ("higher", "CO score of h = the map scaled to [0, 1], x + h, logits (GAX eq. 5)"),
    "M_F": ("higher", "faithfulness M_F % (DRE eq. 10; steps of 1/32 of the pixels, 1/28 on 28-px MNIST)"),
    "M_E": ("higher", "explainability M_E % (DRE eq. 11; digit boxes)"),
    "pointing": ("higher", "pointing game % (map maximum in the digit box)"),
    "energy_pointing": ("higher", "energy pointing game % (share of map mass in the digit box)"),
    "randomization": ("lower", "Spearman similarity of the maps of the model and its fully randomised copy "
                               "(sanity: lower = more sensitive to the weights; Adebayo et al.; the first "
                               "BenchmarkConfig.n_randomized images only)"),
    "input_similarity": ("lower", "SSIM of |map| to the input (GGIG paper: lower = less like an edge detector)"),
    "evidence_mass": ("higher", "ground-truth agreement: share of the map's mass on the digit's pixels "
                                "(studies.ground_truth; scene network only)"),
    "seconds": ("lower", "seconds per image (maps only; from the run that computed them)"),
}
#: the MNIST network is in the benchmark for its saturation check (:func:`saturation`): these metrics only
MNIST_METRICS = ("insertion", "deletion", "seconds")
#: metrics that are not judged by a report card: the ground truth itself and the cost
NOT_CARDED = ("evidence_mass", "seconds")
#: the metrics each paper's claims of superiority rest on (paper names as in ``core.ledger.PAPERS``)
PAPER_METRICS = {"GAX": ("CO",), "iGOS++": ("insertion", "deletion"), "Opti-CAM": ("AD", "AI", "AG"),
                 "DRE": ("M_F", "M_E"), "GGIG/GEG": ("input_similarity", "randomization")}
#: insertion and deletion curves reveal or remove 1/CURVE_STEPS of the pixels per step, as notebook 04 and M_F (RISE
#: steps one image row: 64 points on a 64-px scene, twice the model evaluations for the same curve shape)
CURVE_STEPS = 32
#: MNIST is saturated when a random map reaches this share of the best method's insertion AUC
SATURATION_SHARE = 0.9


@dataclass(frozen=True)
class BenchmarkConfig:
    """Everything that determines the benchmark's numbers (the chunk's configuration is every task's cache key)."""

    profile: str = "default"
    models: tuple = MODELS
    methods: tuple = ()
    n_images: int = 100  # scene network, every method under 0.5 s per image and the controls
    chunk: int = 20
    seed: int = 0
    budget: dict = field(default_factory=dict)
    n_slow: int = 40  # scene network, :data:`SLOW_METHODS`
    n_mnist: int = 16  # MNIST network (saturation check), every method
    n_randomized: int = 10  # the first images, explained again on the randomised copy (the randomisation metric)

    def n_for(self, model_name: str, method: str) -> int:
        """How many test images ``method`` explains on ``model_name`` (the first ones of the test split)."""
        n = self.n_slow if method.removeprefix(BLURRED) in SLOW_METHODS else self.n_images
        return min(n, self.n_mnist) if model_name != GROUND_TRUTH_MODEL else n

    def n_common(self, model_name: str) -> int:
        """How many images every method of ``model_name`` explains (the images a ranking may use)."""
        return min(self.n_for(model_name, m) for m in self.methods)


def benchmark_methods() -> tuple:
    """Every registered image method except :data:`LEFT_OUT` (the registry's controls included), and the
    benchmark's own controls."""
    return tuple(m for m in available_methods() if m not in LEFT_OUT) + OWN_CONTROLS


def benchmark_config(profile: str, seed: int = 0, models=MODELS, methods=None, n_images=None, n_slow=None,
                     n_mnist=None) -> BenchmarkConfig:
    """The profile's benchmark: smoke 3 images per model and method with the smoke budget; default 100 scene
    images per method (40 for :data:`SLOW_METHODS`) and 16 MNIST images (chunks of 20), with :data:`BUDGET`; the
    randomisation metric on the first 10 (smoke 3)."""
    for name in models:
        check_choice("models", name, MODELS)
    methods = tuple(methods or benchmark_methods())
    for name in methods:
        check_choice("methods", name, benchmark_methods())
    n_images = n_images or by_profile(profile, 3, 100)
    return BenchmarkConfig(profile=profile, models=tuple(models), methods=methods, n_images=n_images,
                           chunk=by_profile(profile, 3, 20), seed=seed,
                           budget=by_profile(profile, SMOKE_BUDGET, BUDGET),
                           n_slow=min(n_images, n_slow or by_profile(profile, 3, 40)),
                           n_mnist=min(n_images, n_mnist or by_profile(profile, 3, 16)),
                           n_randomized=by_profile(profile, 3, 10))


def applicable(model_name: str, method: str) -> bool:
    if method in ESTIMATOR_METHODS or method in GROUND_TRUTH_CONTROLS:
        return model_name == GROUND_TRUTH_MODEL
    return True


def metric_names(model_name: str) -> tuple:
    """The ground-truth testbed: every metric; MNIST: :data:`MNIST_METRICS`."""
    return tuple(METRICS) if model_name == GROUND_TRUTH_MODEL else MNIST_METRICS


# ------------------------------------------------------------------------------------------------ the tasks


def _loaded(config: BenchmarkConfig, model_name: str):
    return _trained_with_test_split(config.profile, config.seed, model_name)


@functools.lru_cache(maxsize=None)
def _trained_with_test_split(profile: str, seed: int, model_name: str):
    """The trained model and its test split, loaded once per process (a Dask worker runs many tasks)."""
    torch.set_num_threads(1)
    trained = trained_model(model_name, profile, seed=seed, device="cpu")
    return trained, trained.dataset.test


def _rows(config: BenchmarkConfig, chunk_index: int) -> slice:
    start = chunk_index * config.chunk
    return slice(start, start + config.chunk)


def _images(config: BenchmarkConfig, split, chunk_index: int):
    rows = _rows(config, chunk_index)
    return split.x[rows], split.y[rows], rows


def _method_kwargs(config: BenchmarkConfig, trained, method: str) -> dict:
    kwargs = dict(config.budget.get(method, {}))
    if method in ESTIMATOR_METHODS:  # notebook 06's main estimator: fitted (or loaded) once, shared
        kwargs["generator"] = fit_relevance_estimator(trained.model, trained.dataset.train.x,
                                                      trained.dataset.num_classes,
                                                      estimator_config(method, config.profile, config.seed))
    return kwargs


def task_key(config: BenchmarkConfig, trained, model_name: str, method: str, chunk_index: int, **more) -> dict:
    """What determines a task's result: the profile, seed, chunk size and budget (not the lists of models and
    methods nor the numbers of images, so adding a method or images reuses the other tasks), the model and its
    weights, the method, the chunk and ``more``."""
    key = {k: v for k, v in asdict(config).items() if k in ("profile", "chunk", "seed", "budget")}
    return dict(key, model=model_name, weights=fingerprint(trained.model), method=method,
                chunk_index=chunk_index, **more)


def sobel_edges(x: torch.Tensor) -> torch.Tensor:
    """The edge-filter control: the Sobel gradient magnitude of the image's channel mean, (N, 1, H, W)."""
    grey = x.mean(1, keepdim=True)
    kernel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    padded = F.pad(grey, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, kernel[None, None])
    gy = F.conv2d(padded, kernel.T[None, None])
    return (gx ** 2 + gy ** 2).sqrt()


def centre_prior(x: torch.Tensor) -> torch.Tensor:
    """The centre-prior control: a Gaussian bump at the image centre (sigma a quarter of the side), (N, 1, H, W)."""
    h, w = x.shape[-2:]
    v, u = torch.meshgrid(torch.arange(h) - (h - 1) / 2, torch.arange(w) - (w - 1) / 2, indexing="ij")
    bump = torch.exp(-(u ** 2 + v ** 2) / (2 * (min(h, w) / 4) ** 2))
    return bump.expand(len(x), 1, h, w).clone()


def blurred(maps: torch.Tensor) -> torch.Tensor:
    """The blurred-copy control: the one-channel map under a Gaussian of sigma 1/16 of the side."""
    sigma = maps.shape[-1] / 16
    kernel = 2 * int(np.ceil(3 * sigma)) + 1
    return gaussian_blur(one_channel(maps), [kernel, kernel], [sigma, sigma])


def control_maps(method: str, trained, x: torch.Tensor, rows: slice) -> torch.Tensor:
    """The maps of one of :data:`OWN_CONTROLS` (the ground-truth ones from the scene's digit mask)."""
    if method == "edge_sobel":
        return sobel_edges(x)
    if method == "centre_prior":
        return centre_prior(x)
    mask = ground_truth.evidence_masks(trained.dataset, "test", rows).float()
    return mask if method == "gt_mask" else 1.0 - mask


def maps_task(config: BenchmarkConfig, model_name: str, method: str, chunk_index: int, randomized: bool) -> dict:
    """The maps of ``method`` on one chunk of test images (labels as targets), on the model or its randomised
    copy, with the seconds they took; cached. ``"blurred:<method>"`` blurs that method's maps."""
    trained, split = _loaded(config, model_name)
    if method.startswith(BLURRED):
        source = maps_task(config, model_name, method.removeprefix(BLURRED), chunk_index, randomized)
        return {**source, "maps": blurred(source["maps"])}
    more = dict(randomized=randomized, n_randomized=config.n_randomized) if randomized else dict(randomized=False)
    key = task_key(config, trained, model_name, method, chunk_index, **more)

    def build():
        x, y, rows = _images(config, split, chunk_index)
        if randomized:  # the first chunk's first n_randomized images
            x, y, rows = x[:config.n_randomized], y[:config.n_randomized], slice(0, config.n_randomized)
        start = time.perf_counter()
        if method in OWN_CONTROLS:
            maps = control_maps(method, trained, x, rows)
        else:
            model = randomized_copy(trained.model, seed=config.seed) if randomized else trained.model
            kwargs = _method_kwargs(config, trained, method)
            with seeded(config.seed):
                maps = explain(method, model, x, y, **kwargs).detach().float()
        return {"maps": maps, "seconds": time.perf_counter() - start, "n": len(x)}

    return cached_result("benchmark-maps", key, build)


def metric_task(config: BenchmarkConfig, model_name: str, method: str, chunk_index: int, metric: str,
                maps: dict, randomized_maps: dict | None) -> np.ndarray:
    """Per-image scores of one metric on one chunk's maps; cached."""
    trained, split = _loaded(config, model_name)
    more = dict(n_randomized=config.n_randomized) if metric == "randomization" else {}
    key = task_key(config, trained, model_name, method, chunk_index, metric=metric, **more)
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
    pixels = x.shape[-2] * x.shape[-1]
    if metric in ("insertion", "deletion"):
        return insertion_deletion(model, x, single, y, mode=metric, pixels_per_step=-(-pixels // CURVE_STEPS)).auc
    if metric in ("AD", "AI", "AG"):
        return average_drop_increase_gain(model, x, single, y)["per_image"][metric]
    if metric == "CO":
        with torch.no_grad():
            return co_score(model, x, normalize_maps(single), y).numpy()
    if metric == "M_F":
        return faithfulness(model, x, single, y, delta=1 / 32 if pixels % 32 == 0 else 1 / x.shape[-1])
    if metric == "M_E":
        return explainability(single, split.box_masks()[rows])
    if metric in ("pointing", "energy_pointing"):
        return pointing_scores(single, split.boxes[rows])["SP" if metric == "pointing" else "EP"]
    if metric == "evidence_mass":
        return ground_truth.mask_mass(single, ground_truth.evidence_masks(trained.dataset, "test", rows))
    if metric == "randomization":
        return spearman(single[:config.n_randomized].abs(), one_channel(randomized_maps["maps"]).abs())
    if metric == "input_similarity":
        return similarity_to_input(saliency, x)["ssim"].to_numpy()
    if metric == "seconds":
        return np.full(len(x), maps["seconds"] / maps["n"])
    raise ValueError(f"unknown metric {metric!r}")


def _method_tasks(config: BenchmarkConfig, model_name: str, method: str, metrics) -> dict:
    """(model, method, chunk, metric) -> delayed scores of one method on its chunks (see :func:`benchmark_graph`)."""
    n_chunks = -(-config.n_for(model_name, method) // config.chunk)
    graph = {}
    for chunk_index in range(n_chunks):
        maps = dask.delayed(maps_task, pure=True)(config, model_name, method, chunk_index, False)
        randomized = (dask.delayed(maps_task, pure=True)(config, model_name, method, chunk_index, True)
                      if chunk_index == 0 else None)
        for metric in metrics:
            if metric == "randomization" and randomized is None:
                continue
            graph[model_name, method, chunk_index, metric] = dask.delayed(metric_task, pure=True)(
                config, model_name, method, chunk_index, metric, maps,
                randomized if metric == "randomization" else None)
    return graph


def benchmark_graph(config: BenchmarkConfig) -> dict:
    """(model, method, chunk, metric) -> delayed per-image scores; the maps tasks are their shared inputs. Each
    method runs on its :meth:`BenchmarkConfig.n_for` first test images. The randomisation metric, which needs the
    maps of the randomised copy too, is computed on the first ``config.n_randomized`` images only (the sanity check
    asks whether maps change at all; the copy's maps of every image would double the cost)."""
    graph = {}
    for model_name in config.models:
        for method in config.methods:
            if applicable(model_name, method):
                graph.update(_method_tasks(config, model_name, method, metric_names(model_name)))
    return graph


def best_methods(scores: pd.DataFrame, config: BenchmarkConfig) -> dict:
    """(model, metric) -> the real method (not a control) with the best mean on the images every method has."""
    best = {}
    for (model_name, metric), group in scores.groupby(["model", "metric"], sort=False):
        common = group[(group.image < config.n_common(model_name)) & ~group.method.isin(CONTROLS)]
        means = common.groupby("method")["value"].mean()
        if len(means):
            best[model_name, metric] = means.idxmax() if METRICS[metric][0] == "higher" else means.idxmin()
    return best


def blurred_graph(config: BenchmarkConfig, best: dict) -> dict:
    """The blurred-best control's tasks: per (model, metric), that metric on the blurred maps of its best method."""
    graph = {}
    for (model_name, metric), method in best.items():
        if metric != "seconds":
            graph.update(_method_tasks(config, model_name, BLURRED + method, (metric,)))
    return graph


def task_priorities(graph: dict, config: BenchmarkConfig) -> dict:
    """Graph key -> scheduling priority: the tasks of the methods with a :data:`BUDGET` entry (the slow ones) first,
    so that the last tasks to run are short ones and no worker waits alone on a long map at the end."""
    return {key: int(key[1] in config.budget) for key in graph}


def scores_table(results: dict, config: BenchmarkConfig) -> pd.DataFrame:
    """Long table: model, method, metric, image, value. The blurred copy of a metric's best method is the control
    ``blurred_best`` of that metric (its source in the column ``source``)."""
    rows = []
    for (model_name, method, chunk_index, metric), values in results.items():
        start = chunk_index * config.chunk
        name, source = (("blurred_best", method.removeprefix(BLURRED)) if method.startswith(BLURRED)
                        else (method, ""))
        rows += [{"model": model_name, "method": name, "metric": metric, "image": start + i, "value": float(v),
                  "source": source} for i, v in enumerate(np.asarray(values, dtype=float))]
    return pd.DataFrame(rows)


def run_benchmark(config: BenchmarkConfig, client=None, compute=None) -> pd.DataFrame:
    """Both stages: every method and control, then the blurred copies of each metric's best method; the scores."""
    from xai_nb_utils.core.tasks import compute as compute_tasks

    compute = compute or compute_tasks
    graph = benchmark_graph(config)
    scores = scores_table(compute(graph, client, desc="08 benchmark tasks",
                                  priority=task_priorities(graph, config)), config)
    blur = blurred_graph(config, best_methods(scores, config))
    return pd.concat([scores, scores_table(compute(blur, client, desc="08 blurred-best control"), config)],
                     ignore_index=True)


# ------------------------------------------------------------------------------------------- the summaries


def label(method: str) -> str:
    return {"edge_sobel": "edge filter (Sobel)", "centre_prior": "centre prior", "blurred_best": "blurred best",
            "gt_mask": "ground-truth mask", "gt_inverse": "inverted ground truth"}.get(
        method, METHOD_LABELS.get(method, method))


def values_table(scores: pd.DataFrame, model_name: str, metric: str) -> pd.DataFrame:
    """Images x methods values of one (model, metric); NaN where a method did not explain an image."""
    part = scores[(scores.model == model_name) & (scores.metric == metric)]
    return part.pivot(index="image", columns="method", values="value")


def image_matrix(scores: pd.DataFrame, model_name: str, metric: str, n_images: int) -> pd.DataFrame:
    """Images x methods values of one (model, metric) on the first ``n_images`` images (every method has them)."""
    return values_table(scores, model_name, metric).loc[:n_images - 1].dropna()


def fast_matrix(scores: pd.DataFrame, config: BenchmarkConfig, model_name: str, metric: str) -> pd.DataFrame:
    """Images x methods values of the methods (and controls) that explain all ``config.n_images`` images: the
    fast pool, ranked on more images than the pool of every method."""
    return values_table(scores, model_name, metric).loc[:config.n_images - 1].dropna(axis=1)


def _ranking_columns(ranking, prefix: str = "") -> tuple:
    """method -> the leaderboard columns of one ranking, and its note on the controls in its top group."""
    tiers = ranking.tiers()
    top_controls = [label(m) for m in ranking.top_group() if m in CONTROLS]
    note = f"control in the top group: {', '.join(top_controls)}" if top_controls else ""
    return {method: {f"{prefix}mean rank": float(ranking.mean_ranks[method]), f"{prefix}tier": int(tiers[method]),
                     f"{prefix}n ranked": ranking.n, f"{prefix}friedman p": ranking.friedman_p,
                     f"{prefix}critical difference": ranking.critical_difference, f"{prefix}note": note}
            for method in ranking.mean_ranks.index}


def leaderboard(scores: pd.DataFrame, config: BenchmarkConfig, ranked_models=(GROUND_TRUTH_MODEL,),
                seed: int = 0) -> pd.DataFrame:
    """Per model and metric: each method's (and control's) mean over its images with a 95% bootstrap CI and n,
    its mean rank over the images every method has and its significance tier (Friedman, then Nemenyi's CD:
    tier 1 = not significantly worse than the best; :mod:`metrics.ranking`), and the same (columns ``fast ...``)
    among the methods that explain all ``n_images`` images. Models outside ``ranked_models`` get no tiers.
    ``note`` says when a control is in the top group."""
    rows = []
    for (model_name, metric), group in scores.groupby(["model", "metric"], sort=False):
        higher = METRICS[metric][0] == "higher"
        ranked = {}
        if model_name in ranked_models and metric != "seconds":
            ranked = _ranking_columns(friedman_nemenyi(image_matrix(scores, model_name, metric,
                                                                    config.n_common(model_name)), higher))
            for method, columns in _ranking_columns(friedman_nemenyi(
                    fast_matrix(scores, config, model_name, metric), higher), "fast ").items():
                ranked[method].update(columns)
        sources = group.groupby("method")["source"].first()
        for method, values in group.groupby("method", sort=False)["value"]:
            low, high = bootstrap_mean_ci(values.to_numpy(), seed=seed, n_boot=2000)
            name = f"{label(method)} ({label(sources[method])})" if sources[method] else label(method)
            rows.append({"model": model_name, "metric": metric, "method": method, "label": name,
                         "control": method in CONTROLS, "mean": values.mean(), "ci_low": low, "ci_high": high,
                         "n": len(values), **ranked.get(method, {})})
    board = pd.DataFrame(rows)
    order = ["model", "metric", "tier", "mean rank"] if "tier" in board else ["model", "metric"]
    return board.sort_values(order).reset_index(drop=True)


def rankings(scores: pd.DataFrame, config: BenchmarkConfig, model_name: str) -> dict:
    """metric -> :class:`metrics.ranking.Ranking` of every method and control of ``model_name`` on the images every
    method has (seconds left out)."""
    return {metric: friedman_nemenyi(image_matrix(scores, model_name, metric, config.n_common(model_name)),
                                     METRICS[metric][0] == "higher")
            for metric in metric_names(model_name) if metric != "seconds"}


def metric_agreement(board: pd.DataFrame, model_name: str) -> pd.DataFrame:
    """Kendall tau between every two metrics over the real methods' means (controls left out), each oriented so
    that larger = better (1: the metrics order the methods alike; 0: unrelated; -1: reversed). Seconds left out."""
    part = board[(board.model == model_name) & (board.metric != "seconds") & ~board.control]
    means = part.pivot(index="method", columns="metric", values="mean")
    oriented = means * [1 if METRICS[m][0] == "higher" else -1 for m in means.columns]
    names = [m for m in METRICS if m in oriented.columns]
    tau = pd.DataFrame(1.0, index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = oriented[[a, b]].dropna()
            tau.loc[a, b] = tau.loc[b, a] = stats.kendalltau(both[a], both[b]).statistic
    return tau


def saturation(scores: pd.DataFrame, model_name: str) -> dict:
    """Whether insertion has headroom on ``model_name``: a random map's mean insertion AUC against the best real
    method's; saturated when the random map reaches :data:`SATURATION_SHARE` of the best."""
    part = scores[(scores.model == model_name) & (scores.metric == "insertion")]
    means = part.groupby("method")["value"].mean()
    real = means[[m for m in means.index if m not in CONTROLS]]
    random, best = float(means["random"]), float(real.max())
    return {"model": model_name, "random insertion AUC": random, "best insertion AUC": best,
            "best method": label(real.idxmax()), "random / best": random / best,
            "saturated": bool(random >= SATURATION_SHARE * best)}


def report_cards(scores: pd.DataFrame, model_name: str = GROUND_TRUTH_MODEL) -> pd.DataFrame:
    """One :func:`studies.metric_cards.report_card` per metric of the ground-truth testbed (not the ground truth
    itself, nor seconds), with the metric's headroom; the ground-truth agreement of a method is its mean
    ``evidence_mass``."""
    agreement = values_table(scores, model_name, "evidence_mass").mean()
    rows = []
    for metric in metric_names(model_name):
        if metric in NOT_CARDED:
            continue
        values, higher = values_table(scores, model_name, metric), METRICS[metric][0] == "higher"
        card = metric_cards.report_card(metric, values, higher, agreement.drop(list(CONTROLS), errors="ignore"))
        rows.append({**card, "best method": label(card["best method"]),
                     **{f"headroom: {k}": v for k, v in metric_cards.headroom(values, higher, CONTROLS).items()}})
    return pd.DataFrame(rows)


def top_groups(board: pd.DataFrame, cards: pd.DataFrame, model_name: str = GROUND_TRUTH_MODEL) -> pd.DataFrame:
    """Per metric of ``model_name``: whether it passed its card, the methods (not controls) in its top group, the
    controls in it, and the Friedman p-value; the same for the fast pool (see :func:`leaderboard`)."""
    passed = cards.set_index("metric")["passed"]
    rows = []
    for metric, group in board[(board.model == model_name) & board.metric.isin(passed.index)].groupby(
            "metric", sort=False):
        top, fast = group[group.tier == 1], group[group["fast tier"] == 1]
        rows.append({"metric": metric, "card passed": bool(passed[metric]),
                     "top group (methods)": ", ".join(top.loc[~top.control, "label"]),
                     "controls in the top group": ", ".join(top.loc[top.control, "label"]),
                     "methods ranked": int((~group.control).sum()), "n ranked": int(group["n ranked"].iloc[0]),
                     "friedman p": float(group["friedman p"].iloc[0]),
                     "fast top group (methods)": ", ".join(fast.loc[~fast.control, "label"]),
                     "controls in the fast top group": ", ".join(fast.loc[fast.control, "label"]),
                     "fast methods ranked": int((group["fast tier"].notna() & ~group.control).sum()),
                     "fast n ranked": int(group["fast n ranked"].dropna().iloc[0])})
    return pd.DataFrame(rows)


def method_costs(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model and method: seconds per image of its maps (from the run that computed them), n and the total."""
    part = scores[(scores.metric == "seconds") & (scores.method != "blurred_best")]
    table = part.groupby(["model", "method"])["value"].agg(["mean", "count", "sum"]).reset_index()
    table.columns = ["model", "method", "seconds per image", "n", "seconds"]
    table.insert(2, "label", table.method.map(label))
    return table.sort_values(["model", "seconds per image"], ascending=[True, False]).reset_index(drop=True)


def narration(cards: pd.DataFrame, groups: pd.DataFrame, saturated: dict) -> list:
    """Sentences, from the results, of what the benchmark can say: which metrics failed their card (and why),
    the top group per trustworthy metric, and the MNIST network's saturation."""
    lines = []
    failed = cards[~cards.passed]
    if len(failed):
        lines.append(f"{len(failed)} of {len(cards)} metrics fail their report card on the ground-truth testbed: "
                     + "; ".join(f"{r.metric} ({r['why not']})" for _, r in failed.iterrows()) + ".")
    trusted = groups[groups["card passed"]]
    if len(trusted):
        for _, row in trusted.iterrows():
            controls = f" (with the controls {row['controls in the top group']})" if row[
                "controls in the top group"] else ""
            fast = (f" (with the controls {row['controls in the fast top group']})"
                    if row["controls in the fast top group"] else "")
            lines.append(f"{row.metric}, which passes its card: top group of all {row['methods ranked']} methods on "
                         f"n = {row['n ranked']} images: {row['top group (methods)']}{controls}; of the "
                         f"{row['fast methods ranked']} fast methods on n = {row['fast n ranked']}: "
                         f"{row['fast top group (methods)']}{fast}.")
    else:
        lines.append("No metric passes its report card: no tier here says that one method's maps are better than another's.")
    passed = dict(zip(cards.metric, cards.passed))
    lines.append("The report cards of the papers' own metrics: " + "; ".join(
        f"{paper}: {', '.join(f'{m} ' + ('passed' if passed[m] else 'failed') for m in metrics if m in passed)}"
        for paper, metrics in PAPER_METRICS.items()) + ".")
    lines.append(f"MNIST: a random map reaches {saturated['random / best']:.0%} of the best insertion AUC "
                 f"({saturated['random insertion AUC']:.3f} vs {saturated['best insertion AUC']:.3f}, "
                 f"{saturated['best method']}): "
                 + ("saturated, not ranked." if saturated["saturated"] else "not saturated by this criterion."))
    return lines


def finding(cards: pd.DataFrame, groups: pd.DataFrame, health: dict) -> str:
    """One sentence for the report's index card."""
    passed, failed = cards[cards.passed].metric, cards[~cards.passed].metric
    return (f"On the ground-truth scenes (accuracy {health['accuracy']:.2f}, removing the digit drops p(label) by "
            f"{health['mean interventional drop']:.2f} on average), {len(passed)} of {len(cards)} metrics pass "
            f"their report card ({', '.join(passed) or 'none'}) and {len(failed)} fail it "
            f"({', '.join(failed) or 'none'}).")


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


def agreement_summary(tau: pd.DataFrame) -> dict:
    """The most similar and the most opposed pair of metrics of a Kendall tau matrix, and the median tau."""
    names = list(tau.index)
    pairs = pd.Series({(a, b): tau.loc[a, b] for i, a in enumerate(names) for b in names[i + 1:]}).dropna()
    return {"most similar": pairs.idxmax(), "tau most similar": pairs.max(), "most opposed": pairs.idxmin(),
            "tau most opposed": pairs.min(), "median tau": pairs.median()}


def trained_for(config: BenchmarkConfig, model_name: str):
    """The trained model (``models.training.TrainedModel``) the benchmark explains."""
    return _loaded(config, model_name)[0]


def test_split(config: BenchmarkConfig, model_name: str):
    """The test split the benchmark's images of ``model_name`` come from."""
    return _loaded(config, model_name)[1]
