"""Checks on what notebooks/04_igos_pp_ablations.ipynb recorded (run on the smoke profile)."""
import math


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def check_results(results: dict):
    records = results["records"]
    resolutions = list(records["system"]["resolutions"])
    assert len(resolutions) == 3
    table1 = records["table1"]
    methods = {(row["method"], row["resolution"]) for row in table1}
    for label in resolutions:
        assert {("I-GOS", label), ("iGOS++", label)} <= methods
    assert {"Grad-CAM", "Integrated Gradients", "Random"} <= {m for m, _ in methods}
    for row in table1:
        assert 0 <= row["deletion"] <= 1 and 0 <= row["insertion"] <= 1, row
        assert row["images"] == records["settings"]["n_images"]
        assert _finite(row["seconds_per_image"]) and row["seconds_per_image"] > 0
    assert set(records["igos_pp_beats_igos_insertion"]) == set(resolutions)
    assert records["igos_pp_beats_igos_insertion_at_every_resolution"] == all(
        records["igos_pp_beats_igos_insertion"].values())
    # Table 3: all seven ablation rows at two resolutions, each on the same images
    table3 = records["table3"]
    assert len(table3) == 14 and len({row["images"] for row in table3}) == 1
    # Table 5: M_x, M_y, M_xy at two resolutions
    assert {row["method"] for row in records["table5"]} == {"M_x", "M_y", "M_xy"}
    # Table 7: naive and iGOS++ for each lambda setting (a subset of the paper's four on smoke), finite objectives
    table7 = records["table7"]
    settings = {(row["lambda1"], row["lambda2"]) for row in table7}
    assert settings <= {(1.0, 2.0), (1.0, 20.0), (10.0, 20.0), (10.0, 200.0)}
    assert len(table7) == 2 * len(settings) and all(_finite(row["objective"]) for row in table7)
    assert 0 <= records["table7_igos_pp_lower_in"] <= len(settings)
    # sanity checks: cascading levels + random labels, 3 methods each, correlations in [-1, 1]
    sanity = records["sanity"]
    assert "random labels" in {row["model"] for row in sanity} and len(sanity) % 3 == 0
    assert all(-1 - 1e-9 <= row["spearman"] <= 1 + 1e-9 for row in sanity)
    adversarial = records["adversarial"]
    assert 0 <= adversarial["attack success rate"] <= 1
    assert set(records["marker_lift"]) == {"Grad-CAM (8x8)", "iGOS++ 28x28"}
    assert all(_finite(v) and v >= 0 for v in records["marker_lift"].values())
    assert {row["index"] for row in records["table4"]} == {
        "marker model, test with markers", "marker model, marker-free test", "cleaned model, marker-free test"}
    assert all(claim["passed"] for claim in results["claims"])
