"""What notebook 03 (GAX) must have recorded, even on the smoke profile."""
import math


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
