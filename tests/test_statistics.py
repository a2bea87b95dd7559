"""The tests that decide claims and the verdict rule, on cases whose answer is known by hand."""
import numpy as np
import pytest

from xai_nb_utils.core.claims import HeadlineClaim, decide_family, holm, interval_verdict
from xai_nb_utils.metrics.statistics import (component, delong_auroc, exact_binomial, exact_mcnemar,
                                             one_sample_comparison, paired_binary_comparison, paired_bootstrap,
                                             paired_comparison, paired_t, planned_n_paired_t)


def test_paired_t_by_hand():
    # differences 1, 2, 3: mean 2, sd 1, se 1/sqrt(3); t(0.975, 2 df) = 4.3027 (any t table)
    result = paired_t([2, 3, 4], [1, 1, 1])
    assert result.estimate == 2 and result.n == 3 and result.stats["sd"] == pytest.approx(1)
    low, high = result.interval(0.05)
    assert (low, high) == pytest.approx((2 - 4.3027 / 3 ** 0.5, 2 + 4.3027 / 3 ** 0.5), abs=1e-3)
    # t = 2 sqrt(3) = 3.464 on 2 df: two-sided p = 1 - 2 * atan(t / sqrt 2) / pi ... = 0.0742
    assert result.p_value(0) == pytest.approx(0.0742, abs=1e-4)
    assert result.p_value(2) == 1.0


def test_exact_tests_by_hand():
    # 8 images only a hits, none only b hits, 12 ties: p = 2 * 0.5^8, estimate 8 / 20
    result = exact_mcnemar([1] * 8 + [0] * 6 + [1] * 6, [0] * 8 + [0] * 6 + [1] * 6)
    assert result.estimate == pytest.approx(0.4) and result.p_value(0) == pytest.approx(2 * 0.5 ** 8)
    # all 10 of 10 against one half: p = 2 * 0.5^10; the Clopper-Pearson lower end of 10/10 is (alpha/2)^(1/10)
    result = exact_binomial([1] * 10, 0.5)
    assert result.p_value(0) == pytest.approx(2 * 0.5 ** 10)
    assert result.interval(0.05)[0] == pytest.approx(0.025 ** 0.1 - 0.5)
    # no discordant pair at all: the difference lies within the upper limit of a zero rate, 1 - (alpha/2)^(1/n)
    tied = exact_mcnemar([1, 0] * 30, [1, 0] * 30)
    assert tied.estimate == 0 and tied.interval(0.05) == pytest.approx((-(1 - 0.025 ** (1 / 60)),
                                                                        1 - 0.025 ** (1 / 60)))


def test_delong_on_separated_and_mixed_groups():
    separated = delong_auroc([5, 6, 7, 1, 2, 3], [True, True, True, False, False, False])
    assert separated.mean_a == 1.0 and separated.estimate == 0.5 and separated.stats["se"] == 0
    # one positive below one negative of 3 x 3 pairs: AUROC 8/9
    mixed = delong_auroc([5, 6, 2.5, 1, 2, 3], [True, True, True, False, False, False])
    assert mixed.mean_a == pytest.approx(8 / 9)


@pytest.mark.parametrize("make", [
    lambda rng: paired_t(rng.normal(0.3, 1, 25), rng.normal(0, 1, 25)),
    lambda rng: exact_mcnemar(rng.integers(0, 2, 40), rng.integers(0, 2, 40)),
    lambda rng: exact_binomial(rng.integers(0, 2, 30), 0.4),
    lambda rng: delong_auroc(rng.normal(0, 1, 30) + np.r_[np.ones(15), np.zeros(15)], np.r_[np.ones(15),
                                                                                          np.zeros(15)] > 0)])
def test_the_interval_excludes_a_value_exactly_when_its_p_value_is_below_the_level(make):
    rng = np.random.default_rng(3)
    for _ in range(5):
        result = make(rng)
        for level in (0.05, 0.0125):
            low, high = result.interval(level)
            for value in np.linspace(low - 0.2, high + 0.2, 41):
                if abs(value - low) > 1e-6 and abs(value - high) > 1e-6:
                    assert (result.p_value(value) < level) == (not low <= value <= high)


def test_bootstrap_interval_and_p_value_agree():
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 2, 60), rng.integers(0, 2, 60)
    result = paired_bootstrap(lambda x, y: x.mean() - y.mean(), a, b, n_boot=2000)
    low, high = result.interval(0.05)
    assert result.p_value(low - 1e-9) <= 0.05 + 1e-9 and result.p_value((low + high) / 2) > 0.05


def test_power_of_a_paired_t():
    # the textbook value: d = 0.5, two-sided alpha 0.05, 80% power -> 34 pairs
    assert planned_n_paired_t(0.5, 0.05) == 34
    assert planned_n_paired_t(0.5, 0.01) > 34


@pytest.mark.parametrize("hypothesis, margin, estimate, low, high, verdict", [
    ("superiority", 0.0, 0.1, 0.05, 0.15, "reproduced"),
    ("superiority", 0.0, -0.1, -0.15, -0.05, "contradicted"),
    ("superiority", 0.0, 0.01, -0.05, 0.07, "inconclusive"),
    ("superiority", 0.2, 0.1, 0.05, 0.15, "no effect"),  # significant but shown below the minimum effect
    ("superiority", 0.1, 0.12, 0.02, 0.22, "reproduced"),
    ("superiority", 0.1, 0.08, 0.02, 0.14, "inconclusive"),  # real, but not shown to reach or miss 0.1
    ("superiority", 0.1, 0.0, -0.05, 0.05, "no effect"),
    ("non-inferiority", 0.1, -0.02, -0.08, 0.04, "reproduced"),
    ("non-inferiority", 0.1, -0.3, -0.4, -0.2, "contradicted"),
    ("non-inferiority", 0.1, -0.1, -0.2, 0.0, "inconclusive"),
    ("equivalence", 0.1, 0.0, -0.05, 0.05, "reproduced"),
    ("equivalence", 0.1, 0.3, 0.2, 0.4, "contradicted"),
    ("equivalence", 0.1, 0.05, -0.02, 0.12, "inconclusive"),
])
def test_the_verdict_rule(hypothesis, margin, estimate, low, high, verdict):
    assert interval_verdict(hypothesis, "greater", margin, estimate, low, high) == verdict
    # the same in the other direction: "less" flips the signs
    assert interval_verdict(hypothesis, "less", margin, -estimate, -high, -low) == verdict


def test_holm_by_hand():
    adjusted, levels = holm([0.01, 0.04, 0.03])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06]) and levels == [3, 1, 2]


def _claim(claim_id, **changes):
    fields = dict(paper="P", claim_id=claim_id, label=claim_id, quote="q", section="Abstract", metric="m",
                  comparison="a vs b", hypothesis="superiority", direction="greater", margin=0.0, test="paired t",
                  planned_n=20, n_reason="n >= 20", notebook="09")
    return HeadlineClaim(**{**fields, **changes})


def _row(claim, results, premises=()):
    return {**claim.as_dict(), "premises_checked": list(premises),
            "components": [component(r, f"pair {i}", claim.hypothesis, claim.direction, claim.margin, 4)
                           for i, r in enumerate(results)]}


def test_a_family_is_decided_with_holm_premises_and_planned_n():
    rng = np.random.default_rng(5)
    base = rng.uniform(0, 1, 40)
    strong = paired_t(base + 0.2 + rng.normal(0, 0.05, 40), base)
    opposite = paired_t(base - 0.2 + rng.normal(0, 0.05, 40), base)
    rows = decide_family([
        _row(_claim("H1"), [strong, strong]),
        _row(_claim("H2"), [strong, opposite]),  # one of its pairs goes the other way
        _row(_claim("H3"), [paired_t(base[:10] + 0.2, base[:10])]),  # n = 10 < 20 planned
        _row(_claim("H4"), [strong], [{"name": "headroom", "passed": False, "detail": "ceiling 0.99"}]),
    ])
    verdicts = {row["claim_id"]: row["verdict"] for row in rows}
    assert verdicts == {"H1": "reproduced", "H2": "contradicted", "H3": "inconclusive", "H4": "not testable here"}
    h3, h4 = rows[2], rows[3]
    assert h3["underpowered"] and "below the planned 20" in h3["reason"] and h3["p_holm"] is None
    assert "headroom: ceiling 0.99" in h4["reason"]
    assert sorted(row["level"] for row in rows[:2]) == [0.025, 0.05]  # two claims in the family


def test_holm_stops_a_claim_that_its_own_interval_supports():
    rng = np.random.default_rng(6)
    base = rng.uniform(0, 1, 30)
    noise = rng.normal(0, 1, 30)
    weak = paired_t(base + 0.02 * noise - (0.02 * noise).mean(), base)  # p about 1
    borderline = paired_t(base + 0.3 + rng.normal(0, 0.8, 30), base)
    rows = decide_family([_row(_claim("H1"), [weak]), _row(_claim("H2"), [borderline])])
    # H2's p is below 0.05 / 1 only if it comes second; with H1 not rejected first, Holm allows it at 0.025
    h2 = rows[1]
    assert h2["level"] == 0.025
    assert (h2["verdict"] == "reproduced") == (h2["p_claim"] < 0.025)


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="planned n 6 is below 20"):
        _claim("H1", planned_n=6)
    with pytest.raises(ValueError, match="needs a positive margin"):
        _claim("H1", hypothesis="equivalence", margin=0.0)
    with pytest.raises(ValueError, match="test 'wilcoxon'"):
        _claim("H1", test="wilcoxon")


def test_secondary_comparisons():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.4, 0.6, 40)
    evidence = paired_comparison(b + 0.1 + rng.normal(0, 0.01, 40), b, expected="greater")
    assert evidence.verdict == "reproduced" and evidence.n == 40 and evidence.test == "paired t"
    assert evidence.ci_low > 0.09 and evidence.ci_high < 0.11 and evidence.p_value < 1e-6
    assert paired_comparison(b - 0.2, b, expected="greater").verdict == "contradicted"
    assert paired_comparison([0.5] * 10, [0.5] * 10).verdict == "inconclusive"
    assert paired_comparison(b, b + 0.001, hypothesis="equivalence", margin=0.01).verdict == "reproduced"
    assert one_sample_comparison(rng.uniform(0.6, 0.9, 25), 0.5).verdict == "reproduced"
    lowered = paired_binary_comparison([0] * 12 + [1] * 48, [1] * 60, expected="less")
    assert lowered.verdict == "reproduced" and lowered.test == "exact McNemar"
    assert "exact McNemar p = " in lowered.sentence("after", "before")


def test_a_secondary_row_below_the_minimum_n_is_not_decided():
    """Six images that all agree give the smallest p a paired t allows here, yet no verdict: n is below 20."""
    b = np.linspace(0.4, 0.6, 6)
    few = paired_comparison(b + 0.1 + np.linspace(0, 0.01, 6), b)
    assert few.ci_low > 0 and few.p_value < 1e-4 and few.verdict == "inconclusive"
    assert "(n below 20: not decided)" in few.sentence()
    b = np.linspace(0.4, 0.6, 20)
    assert paired_comparison(b + 0.1 + np.linspace(0, 0.01, 20), b).verdict == "reproduced"


def test_bad_pairs_are_errors():
    with pytest.raises(ValueError, match="same non-zero number"):
        paired_comparison([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        paired_comparison([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="'expected'"):
        paired_comparison([1, 2], [0, 1], expected="higher")
    with pytest.raises(ValueError, match="yes/no"):
        exact_mcnemar([0.5, 1], [1, 0])
