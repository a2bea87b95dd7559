"""Checks on what notebooks/06_dre_skewed_distributions.ipynb recorded (run on the smoke profile)."""
import math

TABLE_METHODS = {"DRE", "MGnet", "MPert", "Grad-CAM", "Grad-CAM++", "VGrad", "SmoothGrad", "IntGrad"}


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
    # min-max over methods per image: some method is best (1) and some worst (0) on each image
    assert max(row["M_F (normalised)"] for row in table) > 0
    verdict = records["verdict"]
    assert verdict["best_mf_method"] in TABLE_METHODS and verdict["best_me_method"] in TABLE_METHODS
    assert isinstance(verdict["dre_beats_mgnet_mf_normalised"], bool)
    paired = verdict["dre_minus_mgnet_mf_raw"]
    assert _finite(paired["mean"]) and _finite(paired["sem"]) and 0 <= paired["share_a_better"] <= 1
    assert {row["method"] for row in records["fig10a_dre_plus"]} == {"DRE+", "DRE", "MGnet"}
    assert records["fig10b_distributions"] and records["fig10c_constraints"]
    for row in records["fig10b_distributions"] + records["fig10c_constraints"]:
        assert 0 <= row["M_F (raw)"] <= 100 and 0 <= row["M_E"] <= 100, row
    assert {row["kind"] for row in records["fig10c_constraints"]} == {"dre", "mgnet"}
    for training in records["generator_training"].values():
        assert training["seconds"] > 0 and _finite(training["final_loss"])
    # the claims of Tables 3 and 4 in the paper-claims ledger
    assert {claim["claim_id"] for claim in results["paper_claims"]} == {
        "Table 3 M_F, DRE vs MGnet", "Table 3 M_F, DRE vs the best other method", "Table 4 M_E, DRE vs Grad-CAM"}
