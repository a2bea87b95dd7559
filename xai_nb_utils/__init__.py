"""xai_nb_utils: the helper package of the saliency-map workbook.

The notebooks use ``import xai_nb_utils as nbu`` and these names; the sub-packages hold the rest:
``core`` (paths, caches, results, parameters, tensor conventions), ``data``, ``models``, ``methods`` (the registry,
the baselines and one module per paper method), ``metrics``, ``studies`` (one module per notebook), ``viz``.
"""
from xai_nb_utils.core.exercises import Exercise, answer_exercises
from xai_nb_utils.core.params import PROFILES, check_choice, check_float, check_int, resolve_device, seed_everything, setup
from xai_nb_utils.core.paths import MissingDataError, data_dir, figures_dir, reports_dir
from xai_nb_utils.core.tensors import normalize_maps, reduce_channels
from xai_nb_utils.data.embedded import ImageDataset, ImageSplit, load_digit_scenes, load_mnist, load_tabular, with_marker
from xai_nb_utils.methods import available_methods, explain, method_spec, register_method
from xai_nb_utils.metrics.perturbation import average_drop_increase_gain, co_score, insertion_deletion
from xai_nb_utils.models.networks import get_layer
from xai_nb_utils.models.training import trained_model
from xai_nb_utils.viz.plotting import overlay, save_figure, show_maps
from xai_nb_utils.viz.widgets import live

__all__ = [
    "ImageDataset", "ImageSplit", "load_digit_scenes", "load_mnist", "load_tabular", "with_marker",
    "available_methods", "explain", "method_spec", "reduce_channels", "register_method",
    "average_drop_increase_gain", "co_score", "insertion_deletion", "normalize_maps", "get_layer",
    "PROFILES", "check_choice", "check_float", "check_int", "resolve_device", "seed_everything", "setup",
    "MissingDataError", "data_dir", "figures_dir", "reports_dir", "overlay", "save_figure", "show_maps",
    "trained_model", "live", "Exercise", "answer_exercises",
]
