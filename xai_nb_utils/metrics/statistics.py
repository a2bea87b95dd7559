"""Tests that decide a paper's claims, each giving its confidence interval and p-value from one procedure.

Every test returns a :class:`TestResult`: the estimate of a - b in the metric's units (or of a value minus a
reference), n, and the sufficient statistics from which :meth:`TestResult.interval` gives the two-sided interval at
any level and :meth:`TestResult.p_value` the two-sided p-value at any null value. The interval at level 1 - alpha
excludes a value exactly when the p-value there is below alpha, so a verdict read off the interval is the verdict
of the test.

* :func:`paired_t`: paired per-image scores (same images, same order): the mean difference, Student's t.
* :func:`one_sample_t`: per-image values against a fixed reference (chance level, a target).
* :func:`exact_mcnemar`: paired yes/no outcomes (two models or two methods on the same images): the difference of
  the two proportions, conditional exact binomial test on the discordant pairs and its Clopper-Pearson interval.
* :func:`exact_binomial`: one proportion against a reference (a share of images reaching a target, an accuracy
  against chance), Clopper-Pearson.
* :func:`delong_auroc`: the AUROC of a score between two groups of images against 0.5, DeLong's variance, normal.
* :func:`paired_bootstrap`: any statistic of paired per-image data (a precision, a ratio), percentile bootstrap;
  its p-value is the one the percentile interval inverts.

A deterministic formula gets no test: it is a self-check, not a claim.

The verdict rule is ``core.claims.interval_verdict`` (five verdicts); :func:`component` turns a test into the
numbers a headline claim records, :func:`paired_comparison` and friends give the :class:`Evidence` of a secondary
(uncorrected) row.
"""
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from scipy import stats

from xai_nb_utils.core.claims import ALPHA, HYPOTHESES, MIN_PLANNED_N, combine, interval_verdict, null_values
from xai_nb_utils.core.params import check_choice

DIRECTIONS = ("greater", "less")


@dataclass(frozen=True)
class TestResult:
    """One test's outcome: ``estimate`` of a - b, ``n``, the group means and the test's sufficient statistics."""

    test: str
    n: int
    estimate: float
    mean_a: float | None
    mean_b: float | None
    stats: dict = field(default_factory=dict)

    def interval(self, level: float = ALPHA) -> tuple:
        """The two-sided (1 - level) confidence interval of ``estimate``."""
        return _INTERVALS[self.test](self, level)

    def p_value(self, null: float = 0.0) -> float:
        """The two-sided p-value of the hypothesis estimate == ``null``."""
        return float(min(1.0, _P_VALUES[self.test](self, null)))

    def min_p(self) -> float:
        """The smallest p-value at 0 this test can give at this n (0 for the continuous tests)."""
        return _MIN_P.get(self.test, lambda r: 0.0)(self)


def _as_pairs(a, b) -> tuple:
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"paired scores need the same non-zero number of images, got {len(a)} and {len(b)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired scores must be finite")
    return a, b


# ---------------------------------------------------------------------------------------------- paired t


def paired_t(a, b) -> TestResult:
    """Student's paired t on per-image scores ``a`` and ``b`` (image i of both is the same image)."""
    a, b = _as_pairs(a, b)
    differences = a - b
    sd = float(differences.std(ddof=1)) if len(a) > 1 else 0.0
    return TestResult("paired t", len(a), float(differences.mean()), float(a.mean()), float(b.mean()),
                      {"sd": sd})


def one_sample_t(values, reference: float) -> TestResult:
    """Per-image ``values`` against a fixed ``reference``: a paired t against a constant."""
    values = np.asarray(values, dtype=np.float64).ravel()
    return paired_t(values, np.full_like(values, reference))


def _t_interval(result: TestResult, level: float) -> tuple:
    if result.n < 2:
        return -np.inf, np.inf
    half = stats.t.ppf(1 - level / 2, result.n - 1) * result.stats["sd"] / np.sqrt(result.n)
    return result.estimate - half, result.estimate + half


def _t_p(result: TestResult, null: float) -> float:
    if result.n < 2:
        return 1.0
    se = result.stats["sd"] / np.sqrt(result.n)
    if se == 0:  # every image has the same difference
        return 1.0 if result.estimate == null else 0.0
    return 2 * stats.t.sf(abs(result.estimate - null) / se, result.n - 1)


# -------------------------------------------------------------------------------- exact binomial tests


def _clopper_pearson(successes: int, trials: int, level: float) -> tuple:
    low = stats.beta.ppf(level / 2, successes, trials - successes + 1) if successes > 0 else 0.0
    high = stats.beta.ppf(1 - level / 2, successes + 1, trials - successes) if successes < trials else 1.0
    return float(low), float(high)


def _central_binomial_p(successes: int, trials: int, probability: float) -> float:
    """Twice the smaller tail: the two-sided p-value whose inversion is the Clopper-Pearson interval."""
    if probability <= 0:
        return 1.0 if successes == 0 else 0.0
    if probability >= 1:
        return 1.0 if successes == trials else 0.0
    return 2 * min(stats.binom.cdf(successes, trials, probability), stats.binom.sf(successes - 1, trials, probability))


def exact_mcnemar(a_hits, b_hits) -> TestResult:
    """Paired yes/no outcomes (1 = hit) of a and b on the same images: the difference of the hit rates, decided
    by the discordant pairs (exact conditional binomial)."""
    a, b = _as_pairs(a_hits, b_hits)
    if not np.isin(np.r_[a, b], (0, 1)).all():
        raise ValueError("McNemar's test needs yes/no outcomes (0 or 1)")
    a_only, b_only = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
    return TestResult("exact McNemar", len(a), (a_only - b_only) / len(a), float(a.mean()), float(b.mean()),
                      {"a_only": a_only, "b_only": b_only})


def _discordant(result: TestResult) -> tuple:
    a_only, b_only = result.stats["a_only"], result.stats["b_only"]
    return a_only, a_only + b_only


def _mcnemar_interval(result: TestResult, level: float) -> tuple:
    a_only, discordant = _discordant(result)
    if discordant == 0:  # no discordant pair: the difference is bounded by the discordant rate's upper limit
        bound = 1 - (level / 2) ** (1 / result.n)
        return -bound, bound
    low, high = _clopper_pearson(a_only, discordant, level)
    scale = discordant / result.n
    return scale * (2 * low - 1), scale * (2 * high - 1)


def _mcnemar_p(result: TestResult, null: float) -> float:
    a_only, discordant = _discordant(result)
    if discordant == 0:
        return 2 * (1 - min(abs(null), 1.0)) ** result.n if null else 1.0
    return _central_binomial_p(a_only, discordant, (null * result.n / discordant + 1) / 2)


def exact_binomial(hits, reference: float) -> TestResult:
    """Yes/no outcomes (1 = hit) against a reference proportion: the hit rate minus ``reference``."""
    hits = np.asarray(hits, dtype=np.float64).ravel()
    if len(hits) == 0 or not np.isin(hits, (0, 1)).all():
        raise ValueError("the binomial test needs a non-empty list of yes/no outcomes (0 or 1)")
    return TestResult("exact binomial", len(hits), float(hits.mean()) - reference, float(hits.mean()), reference,
                      {"hits": int(hits.sum()), "reference": float(reference)})


def _binomial_interval(result: TestResult, level: float) -> tuple:
    low, high = _clopper_pearson(result.stats["hits"], result.n, level)
    return low - result.stats["reference"], high - result.stats["reference"]


def _binomial_p(result: TestResult, null: float) -> float:
    return _central_binomial_p(result.stats["hits"], result.n, result.stats["reference"] + null)


def _exact_min_p(result: TestResult) -> float:
    """The smallest two-sided p-value an exact test on n yes/no outcomes can give."""
    return float(2 * 0.5 ** result.n)


# ------------------------------------------------------------------------------------------ DeLong AUROC


def delong_auroc(scores, positive) -> TestResult:
    """The AUROC of ``scores`` for telling the ``positive`` images from the others (P(positive scores higher),
    ties 1/2), minus 0.5, with DeLong's variance; n = the smaller group."""
    scores, positive = np.asarray(scores, dtype=np.float64).ravel(), np.asarray(positive, dtype=bool).ravel()
    pos, neg = scores[positive], scores[~positive]
    if len(pos) < 2 or len(neg) < 2:
        raise ValueError(f"the AUROC test needs at least 2 images in each group, got {len(pos)} and {len(neg)}")
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    placements_pos, placements_neg = psi.mean(1), psi.mean(0)
    auc = float(placements_pos.mean())
    se = float(np.sqrt(placements_pos.var(ddof=1) / len(pos) + placements_neg.var(ddof=1) / len(neg)))
    return TestResult("DeLong AUROC", int(min(len(pos), len(neg))), auc - 0.5, auc, 0.5,
                      {"se": se, "n_positive": int(len(pos)), "n_negative": int(len(neg))})


def _normal_interval(result: TestResult, level: float) -> tuple:
    half = stats.norm.ppf(1 - level / 2) * result.stats["se"]
    return result.estimate - half, result.estimate + half


def _normal_p(result: TestResult, null: float) -> float:
    if result.stats["se"] == 0:
        return 1.0 if result.estimate == null else 0.0
    return 2 * stats.norm.sf(abs(result.estimate - null) / result.stats["se"])


# -------------------------------------------------------------------------------------- paired bootstrap


def paired_bootstrap(statistic, a, b, n_boot: int = 4000, seed: int = 0) -> TestResult:
    """``statistic(a_rows, b_rows) -> float`` (e.g. a difference of precisions) on resamples of the images; ``a`` and
    ``b`` are per-image arrays (rows = images). The interval is the percentile interval of the resampled values."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"paired data need the same non-zero number of images, got {len(a)} and {len(b)}")
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(a[rows], b[rows]) for rows in rng.integers(0, len(a), (n_boot, len(a)))])
    return TestResult("paired bootstrap", len(a), float(statistic(a, b)), None, None,
                      {"draws": np.sort(draws).tolist()})


def _bootstrap_interval(result: TestResult, level: float) -> tuple:
    draws = np.asarray(result.stats["draws"])
    index = int(np.floor(level / 2 * len(draws)))
    return float(draws[index]), float(draws[len(draws) - 1 - index])


def _bootstrap_p(result: TestResult, null: float) -> float:
    draws = np.asarray(result.stats["draws"])
    return 2 * min((draws <= null).mean(), (draws >= null).mean())


def _bootstrap_min_p(result: TestResult) -> float:
    return 2 / len(result.stats["draws"])


_INTERVALS = {"paired t": _t_interval, "exact McNemar": _mcnemar_interval, "exact binomial": _binomial_interval,
              "DeLong AUROC": _normal_interval, "paired bootstrap": _bootstrap_interval}
_P_VALUES = {"paired t": _t_p, "exact McNemar": _mcnemar_p, "exact binomial": _binomial_p,
             "DeLong AUROC": _normal_p, "paired bootstrap": _bootstrap_p}
_MIN_P = {"exact McNemar": _exact_min_p, "exact binomial": _exact_min_p, "paired bootstrap": _bootstrap_min_p}


def bootstrap_mean_ci(values, confidence: float = 0.95, n_boot: int = 4000, seed: int = 0) -> tuple:
    """Percentile bootstrap interval of the mean of ``values`` (seeded): a descriptive interval for a table cell,
    not a test."""
    values = np.asarray(values, dtype=float)
    means = values[np.random.default_rng(seed).integers(0, len(values), (n_boot, len(values)))].mean(1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


# ---------------------------------------------------------------------------------- claims and evidence


def claim_p_value(result: TestResult, hypothesis: str, direction: str, margin: float) -> float:
    """The p-value of the hypothesis' null (the largest two-sided p at :func:`core.claims.null_values`)."""
    return max(result.p_value(value) for value in null_values(hypothesis, direction, margin))


def component(result: TestResult, label: str, hypothesis: str, direction: str, margin: float,
              family_size: int, alpha: float = ALPHA) -> dict:
    """One compared pair of a headline claim as recorded: the estimate, n, means, the p-value at the claim's
    null, and the interval at every Holm level alpha / k, k = 1..``family_size``."""
    return {"label": label, "test": result.test, "n": result.n, "estimate": result.estimate,
            "mean_a": result.mean_a, "mean_b": result.mean_b, "min_p": result.min_p(),
            "p_null": claim_p_value(result, hypothesis, direction, margin),
            "intervals": [list(result.interval(alpha / k)) for k in range(1, family_size + 1)]}


@dataclass(frozen=True)
class Evidence:
    """A secondary (uncorrected) comparison of ``a`` against ``b``: the test's numbers at level ``alpha`` and the
    verdict of ``core.claims.interval_verdict``."""

    n: int
    mean_a: float | None
    mean_b: float | None
    difference: float  # the estimate of a - b
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float  # at the hypothesis' null
    expected: str  # the paper's direction: a "greater" or "less" than b
    verdict: str
    test: str = "paired t"
    hypothesis: str = "superiority"
    margin: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    def sentence(self, label_a: str = "a", label_b: str = "b") -> str:
        """One sentence with the numbers: the verdict, the means, the difference with its CI, n and p."""
        means = (f"{label_a} {self.mean_a:.4g} vs {label_b} {self.mean_b:.4g}, "
                 if self.mean_a is not None and self.mean_b is not None else f"{label_a} vs {label_b}: ")
        margin = f", {self.hypothesis} margin {self.margin:g}" if self.margin else ""
        if self.n < MIN_PLANNED_N:
            margin += f" (n below {MIN_PLANNED_N}: not decided)"
        return (f"{self.verdict}: {means}difference {self.difference:+.4g} ({self.confidence:.0%} CI "
                f"[{self.ci_low:+.4g}, {self.ci_high:+.4g}]), n = {self.n}, {self.test} p = {self.p_value:.3g}"
                f"{margin}")


def all_of(evidences: dict) -> tuple:
    """Several comparisons that must all hold, as one secondary row: (the :class:`Evidence` of the deciding one,
    with the combined verdict of ``core.claims.combine``, its label). The deciding one is the first that
    contradicts or shows no effect, else the one with the largest p-value."""
    verdicts = [e.verdict for e in evidences.values()]
    verdict = combine(verdicts)
    hits = [label for label, e in evidences.items() if e.verdict == verdict and verdict != "reproduced"]
    label = hits[0] if hits else max(evidences, key=lambda name: evidences[name].p_value)
    return replace(evidences[label], verdict=verdict), label


def powered(effect_size: float, family_size: int, alpha: float = ALPHA) -> tuple:
    """(planned n, its reason) for a paired t that detects a standardised effect ``effect_size`` with 80% power
    at Holm's strictest level in a family of ``family_size`` claims."""
    n = planned_n_paired_t(effect_size, alpha / family_size)
    return n, (f"80% power of the paired t for a standardised effect d = {effect_size:g} at Holm's strictest "
               f"level {alpha:g}/{family_size}: n = {n}")


def evidence(result: TestResult, expected: str = "greater", hypothesis: str = "superiority", margin: float = 0.0,
             alpha: float = ALPHA) -> Evidence:
    """The :class:`Evidence` of ``result`` for the paper's ``expected`` direction, uncorrected at ``alpha``; below
    ``core.claims.MIN_PLANNED_N`` images a row is not decided (inconclusive, whatever its interval)."""
    check_choice("expected", expected, DIRECTIONS)
    check_choice("hypothesis", hypothesis, HYPOTHESES)
    low, high = result.interval(alpha)
    verdict = interval_verdict(hypothesis, expected, margin, result.estimate, low, high) \
        if result.n >= MIN_PLANNED_N else "inconclusive"
    return Evidence(result.n, result.mean_a, result.mean_b, result.estimate, float(low), float(high), 1 - alpha,
                    claim_p_value(result, hypothesis, expected, margin), expected, verdict, result.test,
                    hypothesis, margin)


def paired_comparison(a, b, expected: str = "greater", hypothesis: str = "superiority", margin: float = 0.0,
                      alpha: float = ALPHA) -> Evidence:
    """Per-image scores ``a`` and ``b`` (same images, same order), paired t; ``expected`` is the paper's claim
    (``"greater"``: a > b)."""
    check_choice("expected", expected, DIRECTIONS)
    return evidence(paired_t(a, b), expected, hypothesis, margin, alpha)


def one_sample_comparison(values, reference: float, expected: str = "greater", **kwargs) -> Evidence:
    """Per-image ``values`` against a fixed ``reference`` (chance level, a target)."""
    check_choice("expected", expected, DIRECTIONS)
    return evidence(one_sample_t(values, reference), expected, **kwargs)


def paired_binary_comparison(a_hits, b_hits, expected: str = "greater", **kwargs) -> Evidence:
    """Paired yes/no outcomes of a and b on the same images (exact McNemar)."""
    check_choice("expected", expected, DIRECTIONS)
    return evidence(exact_mcnemar(a_hits, b_hits), expected, **kwargs)


def planned_n_paired_t(effect_size: float, alpha: float, power: float = 0.8) -> int:
    """The smallest n at which a two-sided paired t-test at ``alpha`` detects a standardised mean difference
    ``effect_size`` (mean / sd of the differences) with probability ``power`` (non-central t)."""
    for n in range(2, 100000):
        critical = stats.t.ppf(1 - alpha / 2, n - 1)
        if stats.nct.sf(critical, n - 1, effect_size * np.sqrt(n)) >= power:
            return n
    raise ValueError(f"effect size {effect_size} needs more than 100000 images")
