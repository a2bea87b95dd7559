"""Checks on what notebooks/07_ggig_geg_mnist.ipynb recorded (run on the smoke profile)."""
import math

METHODS = {"GRAD", "IG", "GGIG", "GEG"}
METRICS = {"pearson", "spearman", "weighted_jaccard", "ssim", "reverse_mse"}
VERDICTS = {"reproduced", "contradicted", "inconclusive"}
ORDER_PAIRS = (("GEG", "GGIG"), ("GGIG", "IG"), ("IG", "GRAD"))
MAIN_CLAIMS = ({f"Fig. 2 ({metric}): {a} > {b}" for metric in METRICS for a, b in ORDER_PAIRS}
               | {f"Model randomisation ({method}): maps change" for method in METHODS}
               | {f"Model randomisation: {a} as sensitive as {b}" for a in ("GGIG", "GEG") for b in ("GRAD", "IG")}
               | {f"Fig. 7 / D.4 ({method}): background below a uniform share" for method in METHODS}
               | {f"Fig. 7 / D.4 ({method}): checkerboard no more salient than black" for method in METHODS}
               | {f"Fig. 7 / D.4: {a} keeps the digit better than {b}" for a in ("GGIG", "GEG")
                  for b in ("GRAD", "IG")})
N_SETTINGS = {"Fig. 2": "n_images", "Model randomisation": "n_randomization_images", "Fig. 7": "n_background_images"}


def check_results(results: dict):
    records = results["records"]
    assert all(claim["passed"] for claim in results["claims"])
    assert 0.1 < records["model"]["test_accuracy"] <= 1.0
    assert (records["model"]["optimizer"], records["model"]["lr"], records["model"]["batch_size"]) == ("sgd", 4e-4, 64)
    table = records["similarity_table"]
    assert {(row["method"], row["metric"]) for row in table} == {(m, k) for m in METHODS for k in METRICS}
    for row in table:
        assert math.isfinite(row["mean"]) and row["ci"] >= 0
        assert -1 <= row["mean"] <= 1
        if row["metric"] in ("weighted_jaccard", "reverse_mse"):
            assert 0 <= row["mean"] <= 1  # both maps are in [0, 1]
    for key in ("paper_order_holds", "paper_order_reproduced"):
        assert set(records[key]) == METRICS and all(isinstance(v, bool) for v in records[key].values())
    claims = {claim["claim_id"]: claim for claim in results["paper_claims"]}
    assert set(claims) == MAIN_CLAIMS
    for claim_id, claim in claims.items():
        assert claim["paper"] == "GGIG/GEG" and claim["verdict"] in VERDICTS
        n_key = next(key for prefix, key in N_SETTINGS.items() if claim_id.startswith(prefix))
        assert claim["n"] == records["settings"][n_key] > 0
        assert claim["ci_low"] <= claim["difference"] <= claim["ci_high"] and 0 <= claim["p_value"] <= 1
    for metric, reproduced in records["paper_order_reproduced"].items():
        assert reproduced == all(claims[f"Fig. 2 ({metric}): {a} > {b}"]["verdict"] == "reproduced"
                                 for a, b in ORDER_PAIRS)
    costs = {row["method"]: row for row in records["costs"]}
    assert set(costs) == METHODS and all(row["seconds_per_image"] > 0 for row in costs.values())
    assert 0 < costs["GEG"]["acceptance_rate"] <= 1
    assert records["ggig_one_iteration_vs_ig_relative_difference"] < 1e-4
    agreement = {row["method"]: row for row in records["randomization_agreement"]}
    assert set(agreement) == METHODS and all(-1 <= row["spearman"] <= 1 for row in agreement.values())
    background = {row["method"]: row for row in records["background_study"]}
    assert set(background) == METHODS
    for row in background.values():
        assert 0 <= row["background_share_black"] <= 1 and 0 <= row["background_share_checkerboard"] <= 1
        assert math.isclose(row["background_area"], records["background_study_context"]["background_area"],
                            rel_tol=1e-6)
    sweeps = {(row["method"], row["parameter"]) for row in records["sensitivity"]}
    assert sweeps == {("geg", "sigma"), ("geg", "n_models"), ("ggig", "lr"), ("ggig", "iterations")}
    assert all(0 < row["acceptance_rate"] <= 1 for row in records["sensitivity"] if row["method"] == "geg")
