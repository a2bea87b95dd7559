"""Checks on what notebooks/06_dre_skewed_distributions.ipynb recorded (run on the smoke profile)."""
import math

from xai_nb_utils.core.claims import VERDICTS
from xai_nb_utils.studies.dre_claims import CLAIMS, CONVERGED, HEADROOM, SKEW

TABLE_METHODS = {"DRE", "MGnet", "MPert", "Grad-CAM", "Grad-CAM++", "VGrad", "SmoothGrad", "IntGrad"}
LEFT, RIGHT = "eta=1.5, h=0.5", ("eta=0.5, h=2.5", "eta=1.5, h=2.5", "eta=1.5, h=1.5", "eta=2.5, h=2.5")
OTHERS = TABLE_METHODS - {"DRE"}
#: headline claim -> its compared pairs
PAIRS = {"H1": {f"DRE vs {other}" for other in OTHERS}, "H2": {f"DRE vs {other}" for other in OTHERS},
         "H3": {"DRE range vs MGnet range"}, "H4": {"DRE+ vs DRE"}, "H5": {f"{LEFT} vs {right}" for right in RIGHT}}
PREMISES = {"H1": {HEADROOM}, "H2": set(), "H3": {CONVERGED}, "H4": set(), "H5": {SKEW, CONVERGED}}
SECONDARY = {"Sec. 3.4 Principle 2, DRE masks right-skewed": "reading of a remark",
             "Fig. 10c M_E, DRE all constraints vs none": "reading of a remark",
             "Fig. 10c M_E, DRE lambda_av = 0 matches all constraints": "reading of a remark",
             "Fig. 10c M_E, MGnet lambda_av = 0 vs all constraints": "reading of a remark"}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def check_results(results: dict) -> None:
    records = results["records"]
    # every density of the paper checked: integral 1 and KS below its tolerance, for all input families
    checks = records["density_checks"]
    assert {row["input"] for row in checks} == {"normal", "uniform", "skew_normal", "mixture"}
    assert len(checks) == 1 + 1 + 7 + 20
    for row in checks:
        assert abs(row["integral"] - 1) < 1e-4, row
        assert row["KS"] < row["KS tolerance"], row
        assert _finite(row["CoS x"]) and _finite(row["CoS z"]), row
    assert records["eta_1_5_h_1_cdf_gap_to_uniform"] < 0.03
    # Tables 3/4 analog: all methods, finite metrics in range, normalised M_F in [0, 100]
    table = records["table3_4"]
    assert {row["method"] for row in table} == TABLE_METHODS
    for row in table:
        assert 0 <= row["M_F (normalised)"] <= 100 and 0 <= row["M_F (raw)"] <= 100, row
        assert 0 <= row["M_E"] <= 100 and row["seconds / image"] > 0, row
    assert max(row["M_F (normalised)"] for row in table) > 0
    summary = records["table_summary"]
    assert summary["best_mf_method"] in TABLE_METHODS and summary["best_me_method"] in TABLE_METHODS
    assert {row["method"] for row in records["fig10a_dre_plus"]} == {"DRE+", "DRE", "MGnet"}
    # the ablations: every setting of Figures 10(b) and 10(c); only h = 0.5 is pre-configured left-skewed
    assert {row["setting"]: row["pre-configured CoS"] < 0 for row in records["fig10b_distributions"]} == {
        LEFT: True, **{right: False for right in RIGHT}}
    assert all(_finite(row["CoS of X"]) for row in records["fig10b_distributions"])
    assert len(records["fig10c_constraints"]) == 10
    for row in records["fig10b_distributions"] + records["fig10c_constraints"]:
        assert 0 <= row["M_F (raw)"] <= 100 and 0 <= row["M_E"] <= 100, row
    assert {row["kind"] for row in records["fig10c_constraints"]} == {"dre", "mgnet"}
    for training in list(records["generator_training"].values()) + list(records["ablation_training"].values()):
        assert training["seconds"] > 0 and _finite(training["final_loss"])
        assert 1 <= training["epochs"] <= training["max_epochs"] and isinstance(training["converged"], bool)
    # one classifier for every table
    assert isinstance(records["classifier_fingerprint"], str) and records["classifier_fingerprint"]
    claims_checked = {c["name"]: c for c in results["claims"]}
    assert claims_checked["every table's estimators were fitted on the one cached classifier (same weights, same "
                          "training images)"]["passed"]
    # the headline claims: all five declared and recorded with their pairs, premises and the smoke n
    headline = {row["claim_id"]: row for row in results["headline_claims"]}
    assert set(headline) == {claim.claim_id for claim in CLAIMS}
    n = None
    for claim in CLAIMS:
        row = headline[claim.claim_id]
        assert row["paper"] == "DRE" and row["quote"] == claim.quote and row["margin"] == claim.margin, row
        assert row["planned_n"] == 64 and row["hypothesis"] == claim.hypothesis, row
        assert {c["label"] for c in row["components"]} == PAIRS[claim.claim_id], row["components"]
        assert {p["name"] for p in row["premises_checked"]} == PREMISES[claim.claim_id]
        sizes = {c["n"] for c in row["components"]}
        assert len(sizes) == 1 and (n is None or sizes == {n}), sizes  # every claim on the same images
        n = sizes.pop()
        assert n < row["planned_n"]  # smoke: underpowered, not decided
    skew = next(p for p in headline["H5"]["premises_checked"] if p["name"] == SKEW)
    assert "pre-configured" in skew["detail"] and "masks" in skew["detail"]  # the measured skew is printed
    assert records["finding"].startswith("On DigitScenes") and all(f"H{i}" in records["finding"] for i in range(1, 6))
    # secondary rows: the readings of the paper's remarks, no duplicate of a headline comparison
    secondary = {row["claim_id"]: row for row in results["paper_claims"]}
    assert {k: row["kind"] for k, row in secondary.items()} == SECONDARY
    for row in secondary.values():
        assert row["paper"] == "DRE" and row["verdict"] in VERDICTS and row["n"] == n, row
        assert row["ci_low"] <= row["difference"] <= row["ci_high"], row
    equivalence = secondary["Fig. 10c M_E, DRE lambda_av = 0 matches all constraints"]
    assert equivalence["hypothesis"] == "equivalence" and equivalence["margin"] == 2.0
