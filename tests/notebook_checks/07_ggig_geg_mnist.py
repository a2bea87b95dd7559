"""Checks on what notebooks/07_ggig_geg_mnist.ipynb recorded (run on the smoke profile)."""
import math

from xai_nb_utils.studies import ggig_claims

METHODS = {"GRAD", "IG", "GGIG", "GEG"}
METRICS = {"pearson", "spearman", "weighted_jaccard", "ssim", "reverse_mse"}
VERDICTS = {"reproduced", "contradicted", "no effect", "inconclusive", "not testable here"}
#: claim id -> (the n setting it runs on, its compared pairs, its premises)
HEADLINE = {
    "H1": ("n_images", {"GEG vs GRAD"}, {ggig_claims.HEADROOM, ggig_claims.GEG_ACCEPTED}),
    "H2": ("n_images", {"GEG vs IG"}, {ggig_claims.HEADROOM, ggig_claims.GEG_ACCEPTED}),
    "H3": ("n_images", {"GGIG vs GRAD"}, {ggig_claims.HEADROOM}),
    "H4": ("n_images", {"GGIG vs IG"}, {ggig_claims.HEADROOM}),
    "H5": ("n_randomization_images", {f"{a} vs {b}" for a in ("GGIG", "GEG") for b in ("GRAD", "IG")},
           {ggig_claims.BASELINES_CHANGE}),
    "H6": ("n_background_images", {f"{m} vs uniform" for m in METHODS}, {ggig_claims.DIGITS_RECOGNISED}),
}
SECONDARY = {"Fig. 2: GEG performs the best (vs GGIG)": "n_images",
             "Fig. 7: GGIG retains the digit better than GRAD and IG": "n_background_images",
             "Fig. 7: GEG retains the digit better than GRAD and IG": "n_background_images"}


def check_headline(results: dict):
    settings = results["records"]["settings"]
    rows = {row["claim_id"]: row for row in results["headline_claims"]}
    assert set(rows) == set(HEADLINE)
    for claim_id, (n_key, pairs, premises) in HEADLINE.items():
        row = rows[claim_id]
        assert row["paper"] == "GGIG/GEG" and row["notebook"] == "07_ggig_geg_mnist"
        assert {c["label"] for c in row["components"]} == pairs
        assert all(c["n"] == settings[n_key] > 0 and c["test"] == "paired t" for c in row["components"])
        assert all(len(c["intervals"]) == len(HEADLINE) for c in row["components"])  # one per Holm level
        assert {p["name"] for p in row["premises_checked"]} == premises
        assert all(p["detail"] for p in row["premises_checked"])
    # smoke runs fewer digits than planned: every claim is below its planned n
    assert all(settings[n_key] < rows[claim_id]["planned_n"] for claim_id, (n_key, _, _) in HEADLINE.items())
    # H1's single comparison is GEG's mean Pearson minus GRAD's, as in the similarity table
    means = {(row["method"], row["metric"]): row["mean"] for row in results["records"]["similarity_table"]}
    (h1,) = rows["H1"]["components"]
    assert math.isclose(h1["estimate"], means["GEG", "pearson"] - means["GRAD", "pearson"], abs_tol=1e-9)


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
    check_headline(results)
    secondary = {claim["claim_id"]: claim for claim in results["paper_claims"]}
    assert set(secondary) == set(SECONDARY)
    for claim_id, claim in secondary.items():
        assert claim["kind"] == "reading of a remark" and claim["verdict"] in VERDICTS
        assert claim["n"] == records["settings"][SECONDARY[claim_id]]
    assert {row["pair"] for row in records["metric_differences"]} == {
        "GEG - GRAD", "GEG - IG", "GGIG - GRAD", "GGIG - IG", "GEG - GGIG"}
    finding = records["finding"]
    assert all(f"H{k} " in finding for k in range(1, 7)) and "underpowered" in finding
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
