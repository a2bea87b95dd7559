"""Deciding a paper's claim from per-image scores: a paired test, a bootstrap confidence interval, a verdict.

A claim is *reproduced* when the effect is significant in the paper's direction, *contradicted* when it is
significant in the opposite direction, and *inconclusive* otherwise. Significant means both: the bootstrap
confidence interval of the mean difference excludes zero, and the Wilcoxon signed-rank test (two-sided) gives
p < ``alpha``. Scores are paired: image i of ``a`` and image i of ``b`` are the same image.
"""
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from xai_nb_utils.core.params import check_choice

VERDICTS = ("reproduced", "contradicted", "inconclusive")
DIRECTIONS = ("greater", "less")


@dataclass(frozen=True)
class Evidence:
    """The outcome of a paired comparison of ``a`` against ``b`` (or of values against a reference)."""

    n: int
    mean_a: float
    mean_b: float
    difference: float  # mean of a - b
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float
    expected: str  # the paper's direction: a "greater" or "less" than b
    verdict: str

    def as_dict(self) -> dict:
        return asdict(self)

    def sentence(self, label_a: str = "a", label_b: str = "b") -> str:
        """One sentence with the numbers: the verdict, the means, the difference with its CI, n and p."""
        return (f"{self.verdict}: {label_a} {self.mean_a:.4g} vs {label_b} {self.mean_b:.4g}, difference "
                f"{self.difference:+.4g} ({self.confidence:.0%} CI [{self.ci_low:+.4g}, {self.ci_high:+.4g}]), "
                f"n = {self.n}, Wilcoxon p = {self.p_value:.3g}")


def bootstrap_mean_ci(values: np.ndarray, confidence: float = 0.95, n_boot: int = 4000,
                      seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values`` (seeded)."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n_boot, len(values)))].mean(1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def _wilcoxon_p(differences: np.ndarray) -> float:
    if len(differences) < 2 or np.allclose(differences, 0):
        return 1.0
    return float(stats.wilcoxon(differences, zero_method="zsplit").pvalue)


def decide(difference: float, ci_low: float, ci_high: float, p_value: float, expected: str,
           alpha: float = 0.05) -> str:
    """The verdict of an effect with its confidence interval and p-value, for the paper's ``expected`` sign."""
    check_choice("expected", expected, DIRECTIONS)
    significant = p_value < alpha and (ci_low > 0 or ci_high < 0)
    if not significant:
        return "inconclusive"
    return "reproduced" if (difference > 0) == (expected == "greater") else "contradicted"


def paired_comparison(a, b, expected: str = "greater", confidence: float = 0.95, n_boot: int = 4000,
                      seed: int = 0, alpha: float = 0.05) -> Evidence:
    """Compare per-image scores ``a`` and ``b`` (same images, same order); ``expected`` is the paper's claim
    (``"greater"``: a > b)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"paired scores need the same non-zero number of images, got {len(a)} and {len(b)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired scores must be finite")
    differences = a - b
    low, high = bootstrap_mean_ci(differences, confidence, n_boot, seed)
    p_value = _wilcoxon_p(differences)
    difference = float(differences.mean())
    return Evidence(len(a), float(a.mean()), float(b.mean()), difference, low, high, confidence, p_value, expected,
                    decide(difference, low, high, p_value, expected, alpha))


def one_sample_comparison(values, reference: float, expected: str = "greater", **kwargs) -> Evidence:
    """Compare per-image ``values`` with a fixed ``reference`` (chance level, a target): a paired comparison
    against a constant."""
    values = np.asarray(values, dtype=np.float64).ravel()
    return paired_comparison(values, np.full_like(values, reference), expected, **kwargs)
