"""xai_nb_utils: the helper package of the saliency-map workbook.

The notebooks use ``import xai_nb_utils as nbu`` and these names; the modules hold the rest.
"""
from .data import ImageDataset, ImageSplit, load_digit_scenes, load_mnist, load_tabular, with_marker
from .explainers import available_methods, explain, method_spec, reduce_channels, register_method
from .metrics import average_drop_increase_gain, co_score, insertion_deletion, normalize_maps
from .models import get_layer
from .params import PROFILES, check_choice, check_float, check_int, resolve_device, seed_everything, setup
from .paths import MissingDataError, data_dir, figures_dir, reports_dir
from .plotting import overlay, save_figure, show_maps
from .training import trained_model
from .widgets import live

__all__ = [
    "ImageDataset", "ImageSplit", "load_digit_scenes", "load_mnist", "load_tabular", "with_marker",
    "available_methods", "explain", "method_spec", "reduce_channels", "register_method",
    "average_drop_increase_gain", "co_score", "insertion_deletion", "normalize_maps", "get_layer",
    "PROFILES", "check_choice", "check_float", "check_int", "resolve_device", "seed_everything", "setup",
    "MissingDataError", "data_dir", "figures_dir", "reports_dir", "overlay", "save_figure", "show_maps",
    "trained_model", "live",
]
