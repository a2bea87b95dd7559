"""How well a score tells correct from wrong predictions (the GAX paper's CO-score "gap", Tjoa & Guan sec. 4.1).

A low score is read as a detector of wrong predictions; :func:`auroc_wrong_detector` is its AUROC and
:func:`co_gap` adds the group medians, the Wasserstein-1 distance and a bootstrap interval.
:func:`wrong_placements` gives the AUROC one value per wrong prediction (its mean), the per-image form a paired
test takes (``metrics.statistics.one_sample_comparison`` against 0.5).
"""
import numpy as np
from scipy.stats import rankdata, wasserstein_distance

from xai_nb_utils.core.params import check_float, check_int


def auroc_wrong_detector(co, correct) -> np.ndarray | float:
    """AUROC of "low CO score" as a detector of wrong predictions: P(CO of a wrong < CO of a correct), ties 1/2.

    0.5 = no information; 1 = every wrong prediction scores below every correct one (the paper's "gap"). ``co`` may
    be (n,) or (B, n) (B resamples, one AUROC each); NaN when a group is empty.
    """
    co, correct = np.asarray(co, float), np.asarray(correct, bool)
    n_correct, n_wrong = int(correct.sum()), int((~correct).sum())
    if n_correct == 0 or n_wrong == 0:
        return float("nan")
    ranks = rankdata(co, axis=-1)  # average ranks: ties count 1/2
    auroc = (ranks[..., correct].sum(-1) - n_correct * (n_correct + 1) / 2) / (n_correct * n_wrong)
    return float(auroc) if np.ndim(auroc) == 0 else auroc


def co_gap(co, correct, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """How well CO scores separate correct from wrong predictions.

    Returns the group sizes and medians, the Wasserstein-1 distance between the two empirical distributions, the
    AUROC of :func:`auroc_wrong_detector` and its percentile bootstrap interval at ``level`` (``n_boot`` stratified
    resamples of the correct and the wrong group, ``numpy`` generator seeded with ``seed``). NaN when a group is
    empty.
    """
    n_boot = check_int("n_boot", n_boot, minimum=1)
    level = check_float("level", level, minimum=0.0, maximum=1.0)
    co, correct = np.asarray(co, float), np.asarray(correct, bool)
    good, bad = co[correct], co[~correct]
    summary = {"n_correct": int(len(good)), "n_wrong": int(len(bad)), "median_correct": np.nan,
               "median_wrong": np.nan, "wasserstein": np.nan, "auroc": np.nan, "auroc_low": np.nan,
               "auroc_high": np.nan}
    if len(good) == 0 or len(bad) == 0:
        return summary
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(len(good), bool), np.zeros(len(bad), bool)]
    resamples = np.concatenate([rng.choice(good, (n_boot, len(good))), rng.choice(bad, (n_boot, len(bad)))], axis=1)
    boot = auroc_wrong_detector(resamples, labels)
    tail = (1 - level) / 2
    summary.update(median_correct=float(np.median(good)), median_wrong=float(np.median(bad)),
                   wasserstein=float(wasserstein_distance(good, bad)), auroc=auroc_wrong_detector(co, correct),
                   auroc_low=float(np.quantile(boot, tail)), auroc_high=float(np.quantile(boot, 1 - tail)))
    return summary


def wrong_placements(co, correct) -> np.ndarray:
    """Per wrong prediction: the share of correct predictions whose CO score is higher (ties 1/2).

    Their mean is :func:`auroc_wrong_detector` (DeLong's placement values of the wrong group); 0.5 per image = no
    information. Empty when there is no wrong or no correct prediction.
    """
    co, correct = np.asarray(co, float), np.asarray(correct, bool)
    good, bad = co[correct], co[~correct]
    if len(good) == 0:
        return np.empty(0)
    return ((good[None, :] > bad[:, None]).mean(1) + 0.5 * (good[None, :] == bad[:, None]).mean(1))
