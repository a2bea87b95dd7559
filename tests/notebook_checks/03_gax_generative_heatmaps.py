"""What notebook 03 (GAX) must have recorded, even on the smoke profile."""
import math

from xai_nb_utils.metrics.statistics import VERDICTS


def check_results(results: dict) -> None:
    records = results["records"]
    convergence = {row["model"]: row for row in records["gax_convergence"]}
    assert {"MNIST", "DigitScenes"} <= set(convergence)
    for row in convergence.values():
        assert 0.0 <= row["share_converged"] <= 1.0
        assert row["not_converged"] == round(row["images"] * (1 - row["share_converged"]))
        assert row["seconds_per_image"] > 0 and math.isfinite(row["co_start_median"])
        if row["share_converged"] > 0:
            assert row["median_iterations_to_target"] <= row["max_iterations_to_target"]
    for row in records["extreme_intensity_mass"]:
        assert 0.0 <= row["mass_share"] <= 1.0 and 0.0 < row["pixel_share"] <= 1.0
    marker = {row["model"]: row for row in records["marker_study"]}
    assert set(marker) == {"shortcut model", "clean model"}
    for row in marker.values():
        assert row["GAX marker mass ratio (median)"] >= 0.0
    claims = {claim["claim_id"]: claim for claim in results["paper_claims"]}
    assert {"Fig. 5F false feature"} | {f"{where}, {model}" for where in ("Fig. 4 target", "Sec. 4.2 GAX vs AX")
                                        for model in ("MNIST", "DigitScenes")} <= set(claims)
    assert {f"Fig. 5 extreme intensities, {model}, {heatmap}" for model in ("MNIST", "DigitScenes")
            for heatmap in ("GAX h", "GAX h - h0")} <= set(claims)
    for claim in claims.values():
        assert claim["verdict"] in VERDICTS and claim["n"] > 0
        assert claim["ci_low"] <= claim["difference"] <= claim["ci_high"]
    for model, row in convergence.items():
        assert claims[f"Fig. 4 target, {model}"]["n"] == row["images"]
        assert math.isclose(claims[f"Fig. 4 target, {model}"]["mean_b"], row["target"])
    assert claims["Fig. 5F false feature"]["n"] == marker["shortcut model"]["images"]
