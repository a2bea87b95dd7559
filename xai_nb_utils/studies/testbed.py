"""Testbed health: does an embedded image model leave the saliency metrics room to tell methods apart?

A model that is certain on almost every image (AG = AI = 0 for every map), that names a class for an image
without evidence (a black, blurred or mean image: the start of insertion, the end of deletion, what heavy masking
tends to), or under which several CAM methods tie exactly, makes perturbation metrics uninformative. The health
of a trained model is one row of numbers that shows each of these (see :data:`TARGETS`).
"""
import pandas as pd
import torch

from xai_nb_utils.core.cache import cached_computation
from xai_nb_utils.core.evaluation import predict_logits
from xai_nb_utils.core.tensors import baseline_image
from xai_nb_utils.data.embedded import background_scenes, load_digit_scenes, with_marker
from xai_nb_utils.methods import explain
from xai_nb_utils.metrics.perturbation import average_drop_increase_gain, insertion_deletion
from xai_nb_utils.models.calibration import expected_calibration_error

#: fast methods whose best insertion AUC is set against a random map's
INSERTION_METHODS = ("gradcam", "saliency", "integrated_gradients", "input_x_gradient")
#: CAM methods that must not tie exactly on AD / AG / AI
CAM_METHODS = ("gradcam", "gradcam_pp", "xgradcam", "layercam", "hirescam")
#: the targets of issue 11 (default profile): column -> (comparison, bound); accuracy applies to DigitScenes
TARGETS = {"test accuracy": (">=", 0.85), "share p > 0.99": ("<=", 0.5), "max p black": ("<=", 0.3),
           "max p blurred": ("<=", 0.3), "max p mean": ("<=", 0.3), "CAM ties": ("==", 0)}


def no_evidence_images(x: torch.Tensor) -> dict:
    """Images that carry no class evidence: one all-black image, the metric's blur of each image
    (:func:`core.tensors.baseline_image`, insertion's start) and each image's per-channel mean."""
    return {"black": torch.zeros_like(x[:1]), "blurred": baseline_image(x, "blur"), "mean": baseline_image(x, "mean")}


def cam_ties(scores: dict, decimals: int = 2) -> list:
    """Pairs of methods whose (AD, AG, AI) agree to ``decimals`` places (as a table prints them)."""
    rounded = {m: tuple(round(s[k], decimals) for k in ("AD", "AG", "AI")) for m, s in scores.items()}
    names = list(rounded)
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if rounded[a] == rounded[b]]


@cached_computation("testbed-health")
def health(trained, n_images: int = 64, device="cpu") -> dict:
    """The health row of a :class:`training.TrainedModel` (an image model) on its test split.

    Calibration: test accuracy, ECE (15 bins), median and share > 0.99 of the true-class probability.
    No evidence: the max class probability on :func:`no_evidence_images` of the test split (and, for DigitScenes,
    on the test scenes without digit and marker); on the blurred images (where insertion starts) the median
    true-class probability, the share with a class probability above 0.3 and how many of those name their label.
    Room: on the first ``n_images`` test images and their labels, the insertion AUC
    (:func:`metrics.insertion_deletion`'s defaults) of the ``random`` map and of the best of
    :data:`INSERTION_METHODS`, and the pairs of :data:`CAM_METHODS` with identical AD/AG/AI.
    Cached (``core.cache.cached_computation``).
    """
    model = trained.model.to(device).eval()
    split = trained.dataset.test
    x, y = split.x.to(device), split.y.to(device)
    probabilities = predict_logits(model, x).softmax(1)
    true_class = probabilities.gather(1, y.view(-1, 1)).squeeze(1)
    row = {"test accuracy": (probabilities.argmax(1) == y).float().mean().item(),
           "ECE": expected_calibration_error(probabilities, y),
           "median p(true)": true_class.median().item(), "share p > 0.99": (true_class > 0.99).float().mean().item(),
           "temperature": float(getattr(model, "temperature", torch.ones(1)))}
    for name, images in no_evidence_images(x).items():
        evidence_free = predict_logits(model, images).softmax(1)
        row[f"max p {name}"] = evidence_free.max().item()
        if name == "blurred":
            confident = evidence_free.max(1).values > 0.3
            row["median p(true) blurred"] = evidence_free.gather(1, y.view(-1, 1)).median().item()
            row["share blurred max p > 0.3"] = confident.float().mean().item()
            row["blurred max p > 0.3 on label"] = int((evidence_free.argmax(1) == y)[confident].sum())
    if trained.config.dataset == "digit_scenes":
        backgrounds = background_scenes(trained.dataset).test.x.to(device)
        row["max p background"] = predict_logits(model, backgrounds).softmax(1).max().item()
    xs, ys = x[:n_images], y[:n_images]
    insertion = {method: insertion_deletion(model, xs, explain(method, model, xs, ys), ys, mode="insertion").auc.mean()
                 for method in ("random", *INSERTION_METHODS)}
    best = max(INSERTION_METHODS, key=insertion.get)
    row.update({"insertion random": insertion["random"], "insertion best": insertion[best], "best method": best})
    scores = {method: average_drop_increase_gain(model, xs, explain(method, model, xs, ys), ys)
              for method in CAM_METHODS}
    ties = cam_ties(scores)
    row.update({"CAM ties": len(ties), "tied pairs": ", ".join(f"{a}={b}" for a, b in ties)})
    row.update({f"{k} {m}": scores[m][k] for m in CAM_METHODS for k in ("AD", "AG", "AI")})
    return row


@torch.no_grad()
def marker_shortcut(trained, device="cpu") -> dict:
    """Recall of the marker class on the test scenes with the marker stamped on every image and on the same scenes
    regenerated without markers: a model that learned the shortcut loses recall when the marker goes."""
    info = trained.dataset.info
    stamped = with_marker(trained.dataset.test)
    removed = load_digit_scenes(**{**info, "remove_markers": True}).test

    def recall(split):
        of_class = split.y == info["marker_class"]
        predicted = predict_logits(trained.model, split.x[of_class].to(device)).argmax(1).cpu()
        return (predicted == info["marker_class"]).float().mean().item()

    return {"recall with markers": recall(stamped), "recall without markers": recall(removed)}


def meets_targets(row: dict, digit_scenes: bool) -> dict:
    """Which :data:`TARGETS` the health ``row`` meets (accuracy only for DigitScenes)."""
    compare = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b}
    return {name: compare[op](row[name], bound) for name, (op, bound) in TARGETS.items()
            if digit_scenes or name != "test accuracy"}


def health_of_models(models: dict, n_images: int = 64, device="cpu") -> dict:
    """:func:`health` of every image model of ``models`` (name -> TrainedModel; tabular models are skipped), with
    the :func:`marker_shortcut` recalls of models trained on marker scenes."""
    rows = {}
    for name, trained in models.items():
        if trained.config.architecture not in ("mnist_cnn", "scene_cnn"):
            continue
        rows[name] = health(trained, n_images, device)
        if trained.dataset.info.get("marker_rate", 0) > 0:
            rows[name].update(marker_shortcut(trained, device))
    return rows


def health_table(rows: dict) -> pd.DataFrame:
    """Health rows by model name -> a table (one row per model), CAM scores left out."""
    table = pd.DataFrame([{**row, "model": name} for name, row in rows.items()])
    return table[[c for c in table.columns if not c.startswith(("AD ", "AG ", "AI "))]].set_index("model")


def blurred_outliers(row: dict, n_test: int) -> str:
    """One sentence on the blurred test images a model still gives a class probability above 0.3: how many, and
    whether they name their own label (the blur left the evidence) or another class (the model invents one)."""
    count = round(row["share blurred max p > 0.3"] * n_test)
    if count == 0:
        return "no blurred test image gets a class probability above 0.3"
    on_label = row["blurred max p > 0.3 on label"]
    return (f"{count} of {n_test} blurred test images get a class probability above 0.3 (max {row['max p blurred']:.2f}); "
            f"{on_label} of them name their own label, {count - on_label} another class")
