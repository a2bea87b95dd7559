"""Checks on what notebooks/06_dre_skewed_distributions.ipynb recorded (run on the smoke profile)."""
import math

TABLE_METHODS = {"DRE", "MGnet", "MPert", "Grad-CAM", "Grad-CAM++", "VGrad", "SmoothGrad", "IntGrad"}
VERDICTS = {"reproduced", "contradicted", "inconclusive"}
LEFT, RIGHT = "eta=1.5, h=0.5", ("eta=0.5, h=2.5", "eta=1.5, h=2.5", "eta=1.5, h=1.5", "eta=2.5, h=2.5")
OTHERS = TABLE_METHODS - {"DRE"}
MARGIN_CLAIMS = {"Table 4 M_E, DRE matches MGnet": "|difference| < 2",  # equivalence
                 "Table 4 M_E, DRE not below Grad-CAM++": "difference > -2",  # non-inferiority
                 "Fig. 10c M_E, DRE lambda_av = 0 matches all constraints": "|difference| < 2"}
PAPER_CLAIMS = (
    {f"Table 3 M_F, DRE vs {other}" for other in OTHERS} | {"Table 3 M_F, DRE vs every other method"}
    | {f"Table 4 M_E, DRE vs {other}" for other in OTHERS - {"MGnet", "Grad-CAM++"}} | set(MARGIN_CLAIMS)
    | {"Sec. 3.4 Principle 2, DRE masks right-skewed"}
    | {f"Fig. 10b M_E, {LEFT} vs {right}" for right in RIGHT} | {f"Fig. 10b mask CoS, {LEFT} vs eta=1.5, h=2.5"}
    | {"Fig. 10c M_E sensitivity, DRE vs MGnet", "Fig. 10c M_F (raw) sensitivity, DRE vs MGnet",
       "Fig. 10c M_E, DRE all constraints vs none", "Fig. 10c M_E, DRE lambda_av = 0 matches all constraints",
       "Fig. 10c M_E, MGnet lambda_av = 0 vs all constraints"})


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
    # the ablations: every setting of Figures 10(b) and 10(c); only h = 0.5 is left-skewed
    assert {row["setting"]: row["pre-configured CoS"] < 0 for row in records["fig10b_distributions"]} == {
        LEFT: True, **{right: False for right in RIGHT}}
    assert len(records["fig10c_constraints"]) == 10
    for row in records["fig10b_distributions"] + records["fig10c_constraints"]:
        assert 0 <= row["M_F (raw)"] <= 100 and 0 <= row["M_E"] <= 100, row
    assert {row["kind"] for row in records["fig10c_constraints"]} == {"dre", "mgnet"}
    for training in records["generator_training"].values():
        assert training["seconds"] > 0 and _finite(training["final_loss"])
    # every paper claim the notebook examines is in the ledger, decided on the same images
    claims = {claim["claim_id"]: claim for claim in results["paper_claims"]}
    assert set(claims) == PAPER_CLAIMS, set(claims) ^ PAPER_CLAIMS
    for claim in claims.values():
        assert claim["paper"] == "DRE" and claim["verdict"] in VERDICTS and claim["n"] > 0, claim
        assert claim["ci_low"] <= claim["difference"] <= claim["ci_high"], claim
        assert claim["ours"].startswith(claim["verdict"]), claim
    assert len({claim["n"] for claim in claims.values()}) == 1
    for claim_id, expected in MARGIN_CLAIMS.items():  # margin claims state their margin
        assert claims[claim_id]["expected"] == expected and "2 M_E points" in claims[claim_id]["claim"], claim_id
