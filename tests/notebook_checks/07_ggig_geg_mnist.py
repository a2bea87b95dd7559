"""Checks on what notebooks/07_ggig_geg_mnist.ipynb recorded (run on the smoke profile)."""
import math

METHODS = {"GRAD", "IG", "GGIG", "GEG"}
METRICS = {"pearson", "spearman", "weighted_jaccard", "ssim", "reverse_mse"}


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
    assert set(records["paper_order_holds"]) == METRICS
    assert all(isinstance(v, bool) for v in records["paper_order_holds"].values())
    costs = {row["method"]: row for row in records["costs"]}
    assert set(costs) == METHODS and all(row["seconds_per_image"] > 0 for row in costs.values())
    assert 0 < costs["GEG"]["acceptance_rate"] <= 1
    assert records["ggig_one_iteration_vs_ig_relative_difference"] < 1e-4
    agreement = {row["method"]: row for row in records["randomization_agreement"]}
    assert set(agreement) == METHODS and all(row["spearman"] < 0.9 for row in agreement.values())
    background = {row["method"]: row for row in records["background_study"]}
    assert set(background) == METHODS
    for row in background.values():
        assert 0 <= row["background_share_black"] <= 1 and 0 <= row["background_share_checkerboard"] <= 1
    sweeps = {(row["method"], row["parameter"]) for row in records["sensitivity"]}
    assert sweeps == {("geg", "sigma"), ("geg", "n_models"), ("ggig", "lr"), ("ggig", "iterations")}
    assert all(0 < row["acceptance_rate"] <= 1 for row in records["sensitivity"] if row["method"] == "geg")
