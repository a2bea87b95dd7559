"""Per-image similarity between two stacks of 2-D maps (saliency vs input, or map vs map).

Every function takes two arrays or tensors of the same shape (N, H, W), (N, 1, H, W) or (N, C, H, W) and returns
a NumPy array of N values. ``core.tensors.normalize_maps_numpy`` applies the per-image min-max rescaling to
[0, 1] that the GGIG paper uses before comparing a map with its input (a constant map becomes 0);
:func:`similarity_to_input` bundles the paper's five metrics.

Conventions: correlations of a constant map are 0 (no association measurable; the authors' code also maps the
NaN to 0); Spearman uses average ranks for ties (as ``scipy.stats.spearmanr``); SSIM is scikit-image's
``structural_similarity`` with ``data_range=1`` on each 2-D map (channels are averaged).
"""
import numpy as np
import pandas as pd
from scipy import stats
from skimage.metrics import structural_similarity

from xai_nb_utils.core.tensors import normalize_maps_numpy

SIMILARITY_METRICS = ("pearson", "spearman", "weighted_jaccard", "ssim", "reverse_mse")


def _numpy(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    values = np.asarray(values, dtype=np.float64)
    return values[None] if values.ndim == 2 else values


def _flat_pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _numpy(a), _numpy(b)
    if a.shape != b.shape:
        raise ValueError(f"maps of shape {a.shape} and {b.shape} cannot be compared; shapes must match")
    return a.reshape(len(a), -1), b.reshape(len(b), -1)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    denominator = np.sqrt((a ** 2).sum(1) * (b ** 2).sum(1))
    return np.where(denominator > 0, (a * b).sum(1) / np.where(denominator > 0, denominator, 1.0), 0.0)


def pearson(a, b) -> np.ndarray:
    """Pearson correlation per image (0 where either map is constant)."""
    return _pearson_rows(*_flat_pair(a, b))


def spearman(a, b) -> np.ndarray:
    """Spearman rank correlation per image: Pearson correlation of average ranks."""
    a, b = _flat_pair(a, b)
    return _pearson_rows(stats.rankdata(a, axis=1), stats.rankdata(b, axis=1))


def weighted_jaccard(a, b) -> np.ndarray:
    """sum(min(a, b)) / sum(max(a, b)) per image, for non-negative maps (1 when both are all zero)."""
    a, b = _flat_pair(a, b)
    if (a < 0).any() or (b < 0).any():
        raise ValueError("weighted_jaccard needs non-negative maps; rescale them with core.tensors.normalize_maps_numpy first")
    top = np.maximum(a, b).sum(1)
    return np.where(top > 0, np.minimum(a, b).sum(1) / np.where(top > 0, top, 1.0), 1.0)


def ssim(a, b, data_range: float = 1.0) -> np.ndarray:
    """Structural similarity per image (scikit-image defaults: 7x7 uniform window), averaged over channels."""
    a, b = _numpy(a), _numpy(b)
    _flat_pair(a, b)
    a = a.reshape(len(a), -1, *a.shape[-2:])
    b = b.reshape(len(b), -1, *b.shape[-2:])
    return np.array([np.mean([structural_similarity(x, y, data_range=data_range) for x, y in zip(xs, ys)])
                     for xs, ys in zip(a, b)])


def reverse_mse(a, b) -> np.ndarray:
    """1 - mean squared error per image; in [0, 1] for maps in [0, 1], higher is more similar."""
    a, b = _flat_pair(a, b)
    return 1.0 - ((a - b) ** 2).mean(1)


METRIC_FUNCTIONS = {"pearson": pearson, "spearman": spearman, "weighted_jaccard": weighted_jaccard, "ssim": ssim,
                    "reverse_mse": reverse_mse}


def similarity_to_input(maps, images, absolute: bool = True) -> pd.DataFrame:
    """The GGIG paper's five map-vs-input metrics, one row per image.

    Both the maps (|maps| when ``absolute``, the authors' convention) and the images are rescaled to [0, 1] per
    image; multi-channel maps and images are averaged over channels first.
    """
    maps, images = _numpy(maps), _numpy(images)
    if maps.ndim == 4:
        maps = (np.abs(maps) if absolute else maps).mean(1)
    if images.ndim == 4:
        images = images.mean(1)
    maps, images = normalize_maps_numpy(maps, absolute=absolute), normalize_maps_numpy(images)
    return pd.DataFrame({name: fn(maps, images) for name, fn in METRIC_FUNCTIONS.items()})


def mean_with_ci(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, and the t-interval half-width for it, of every column: rows are columns, columns mean / ci."""
    n = len(table)
    half_width = stats.t.ppf(0.5 + confidence / 2, max(n - 1, 1)) * table.std(ddof=1) / np.sqrt(n)
    return pd.DataFrame({"mean": table.mean(), "ci": half_width.fillna(0.0)})
