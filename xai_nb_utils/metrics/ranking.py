"""Ranking several methods on the same images (Demsar 2006): the Friedman test, then Nemenyi's critical difference.

Per image (a block), the methods are ranked 1..k under a metric (ties share their average rank, rank 1 = best);
the Friedman test asks whether their mean ranks differ at all; Nemenyi's critical difference
``CD = q_alpha(k) / sqrt(2) * sqrt(k (k + 1) / (6 n))`` says which two mean ranks differ. A method is "better" than
another only when their mean ranks differ by more than CD; the *top group* is every method within CD of the best
mean rank. When Friedman's test does not reject, every method is in the top group.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from xai_nb_utils.core.claims import ALPHA


@dataclass(frozen=True)
class Ranking:
    """Mean ranks (rank 1 = best) of k methods over n images, Friedman's p-value and Nemenyi's CD."""

    mean_ranks: pd.Series  # method -> mean rank, best first
    n: int
    friedman_p: float
    critical_difference: float
    alpha: float = ALPHA

    @property
    def k(self) -> int:
        return len(self.mean_ranks)

    @property
    def differs(self) -> bool:
        """Whether Friedman's test rejects equal mean ranks at ``alpha``."""
        return self.friedman_p < self.alpha

    def top_group(self) -> list:
        """The methods not significantly worse than the best one (all of them when Friedman does not reject)."""
        if not self.differs:
            return list(self.mean_ranks.index)
        best = self.mean_ranks.iloc[0]
        return list(self.mean_ranks.index[self.mean_ranks <= best + self.critical_difference])

    def tiers(self) -> pd.Series:
        """method -> tier: 1 for the top group; then, among the methods left, the group within CD of the best
        of them is tier 2, and so on (a tier is better than a later one only where the CD diagram says so)."""
        if not self.differs:
            return pd.Series(1, index=self.mean_ranks.index)
        tier, out, left = 1, {}, self.mean_ranks
        while len(left):
            group = left[left <= left.iloc[0] + self.critical_difference]
            out.update({method: tier for method in group.index})
            left, tier = left.drop(group.index), tier + 1
        return pd.Series(out)

    def cliques(self) -> list:
        """Maximal runs of methods (in mean-rank order) whose mean ranks span at most CD: the bars of a
        critical-difference diagram (lists of at least two methods)."""
        values, names = self.mean_ranks.to_numpy(), list(self.mean_ranks.index)
        runs = []
        for i in range(len(values)):
            j = int(np.searchsorted(values, values[i] + self.critical_difference, side="right"))
            if j - i >= 2 and not any(start <= i and j <= stop for start, stop in runs):
                runs.append((i, j))
        return [names[i:j] for i, j in runs]

    def better(self, a: str, b: str) -> bool:
        """Whether ``a`` is significantly better than ``b`` (Friedman rejects and the mean ranks differ by > CD)."""
        return self.differs and self.mean_ranks[b] - self.mean_ranks[a] > self.critical_difference


def per_image_ranks(values: pd.DataFrame, higher_is_better: bool) -> pd.DataFrame:
    """Images x methods values -> images x methods ranks, 1 = best on that image, ties averaged."""
    oriented = -values.to_numpy(dtype=float) if higher_is_better else values.to_numpy(dtype=float)
    return pd.DataFrame(stats.rankdata(oriented, axis=1), index=values.index, columns=values.columns)


def critical_difference(k: int, n: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical difference of mean ranks for k methods on n images (Demsar 2006, eq. 5)."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6 * n)))


def friedman_nemenyi(values: pd.DataFrame, higher_is_better: bool, alpha: float = ALPHA) -> Ranking:
    """The :class:`Ranking` of the methods (columns) over the images (rows, every method on every image)."""
    if values.isna().to_numpy().any():
        raise ValueError("every method needs a value on every image (complete blocks)")
    n, k = values.shape
    if k < 3 or n < 2:
        raise ValueError(f"Friedman's test needs at least 3 methods and 2 images, got {k} and {n}")
    ranks = per_image_ranks(values, higher_is_better)
    mean_ranks = ranks.mean().sort_values(kind="stable")
    if np.ptp(values.to_numpy(dtype=float), axis=1).max() == 0:  # every method ties on every image
        p = 1.0
    else:
        p = float(stats.friedmanchisquare(*[values[c].to_numpy(dtype=float) for c in values.columns]).pvalue)
    return Ranking(mean_ranks, n, p, critical_difference(k, n, alpha), alpha)
