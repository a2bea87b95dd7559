"""The study of notebook 00 (the workbench tour): the cached models and their datasets, the tables that describe
them, the registry, a pointing-game check of a few maps, and the gallery widget's figure."""
import pandas as pd

from xai_nb_utils.methods import available_methods, method_spec
from xai_nb_utils.models.training import trained_model
from xai_nb_utils.studies.common import timed_maps
from xai_nb_utils.studies.opticam_tables import localization_table
from xai_nb_utils.viz.plotting import method_gallery

#: the tour's dataset name -> the preset trained on it
IMAGE_MODELS = {"mnist": "mnist_cnn", "digit_scenes": "scene_cnn", "digit_scenes_marker": "scene_cnn_marker"}
TABULAR_MODELS = ("tabular_wine", "tabular_breast_cancer", "tabular_digits")
GALLERY_METHODS = ("saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "guided_backprop",
                   "deconvolution", "gradcam", "gradcam_pp", "xgradcam", "layercam", "scorecam", "fake_cam")
#: maps checked by the pointing game, with a random map and Fake-CAM as references
POINTING_METHODS = ("gradcam", "layercam", "saliency", "random", "fake_cam")


def trained_models(profile: str, seed: int = 0, device="cpu") -> dict:
    """Every preset of the tour, trained or loaded from the cache: name -> :class:`training.TrainedModel`."""
    return {name: trained_model(name, profile=profile, seed=seed, device=device)
            for name in [*IMAGE_MODELS.values(), *TABULAR_MODELS]}


def datasets_of(models: dict) -> dict:
    """The dataset each model was trained on, by the tour's dataset name (the marker scenes apart)."""
    dataset_names = {preset: dataset for dataset, preset in IMAGE_MODELS.items()}
    return {dataset_names.get(name, trained.config.dataset): trained.dataset for name, trained in models.items()}


def _split_size(split) -> int:
    return len(split) if hasattr(split, "x") else len(split[1])


def _input_shape(dataset) -> tuple:
    return tuple(dataset.test.x.shape[1:]) if hasattr(dataset.test, "x") else (dataset.num_features,)


def dataset_table(datasets: dict) -> pd.DataFrame:
    """One row per dataset: the sizes of its splits, the input shape and the number of classes."""
    return pd.DataFrame([
        {"dataset": name, "train": _split_size(d.train), "val": _split_size(d.val), "test": _split_size(d.test),
         "input shape": _input_shape(d), "classes": d.num_classes}
        for name, d in datasets.items()])


def marker_rates(split) -> pd.DataFrame:
    """The share of each label's images that carry the spurious marker (rows ``has marker``, columns ``label``)."""
    rates = pd.crosstab(split.y.numpy(), split.marker.numpy(), normalize="index").round(2)
    rates.index.name, rates.columns.name = "label", "has marker"
    return rates.T


def marker_rate(split, label: int) -> float:
    """The share of the images of ``label`` that carry the marker."""
    return float(split.marker[split.y == label].float().mean())


def chance(trained) -> float:
    """The accuracy of guessing: one over the number of classes."""
    return 1 / trained.dataset.num_classes


def model_table(models: dict, under_trained) -> pd.DataFrame:
    """One row per model (and the under-trained scene CNN): architecture, dataset, epochs, chance, test accuracy."""
    def row(name, trained, variant="well"):
        return {"model": name, "variant": variant, "architecture": trained.config.architecture,
                "dataset": trained.config.dataset, "epochs": trained.config.epochs,
                "chance": round(chance(trained), 3), "test accuracy": round(trained.test_accuracy, 4)}

    return pd.DataFrame([row(name, trained) for name, trained in models.items()]
                        + [row("scene_cnn", under_trained, "under")])


def accuracy_above_chance(models: dict) -> dict:
    """Test accuracy minus chance, per model."""
    return {name: trained.test_accuracy - chance(trained) for name, trained in models.items()}


def skill_over_chance(models: dict) -> dict:
    """The share of the way from chance (0) to perfect accuracy (1), (accuracy - chance) / (1 - chance): comparable
    across 2-, 3- and 10-class tasks."""
    return {name: gap / (1 - chance(models[name])) for name, gap in accuracy_above_chance(models).items()}


def registry_table() -> pd.DataFrame:
    """Every registered method: its family, the shape of its maps and the first line of its description."""
    return pd.DataFrame([{"method": m, "family": method_spec(m).family,
                          "map shape": "(N,C,H,W)" if method_spec(m).channels == "input" else "(N,1,H,W)",
                          "description": method_spec(m).description.splitlines()[0]}
                         for m in available_methods()])


def pointing_game(model, x, y, boxes, methods=POINTING_METHODS) -> pd.DataFrame:
    """The standard and energy pointing games (SP, EP in %) of each method's maps for the true class ``y``
    (gradient maps as the absolute sum over colour channels), from the Opti-CAM study's
    :func:`~xai_nb_utils.studies.opticam_tables.localization_table`; indexed by registry name, rounded to 0.1."""
    maps = {method: timed_maps(method, model, x, y, channels="abs_sum").maps for method in methods}
    table = localization_table(model, x, y, maps, boxes, label=str)
    return table.set_index("method")[["SP", "EP"]].round(1)


def box_area_percent(split, n: int) -> float:
    """The mean share (%) of the image that the first ``n`` boxes of ``split`` cover: a random map's expected EP."""
    return 100 * split.box_masks()[:n].float().mean().item()


def draw_gallery(models: dict, datasets: dict, dataset: str, image: int, method: str, device="cpu"):
    """The gallery widget's figure: one image of ``dataset``'s test split and ``method``'s map for the class its
    model predicts."""
    split, model = datasets[dataset].test, models[IMAGE_MODELS[dataset]].model
    x = split.x[image:image + 1].to(device)
    target = model(x).argmax(1)
    boxes = None if split.boxes is None else split.boxes[image:image + 1]
    fig, _ = method_gallery(model, x, target, [method], row_titles=[f"label {int(split.y[image])}, pred {int(target)}"],
                            boxes=boxes)
    return fig
