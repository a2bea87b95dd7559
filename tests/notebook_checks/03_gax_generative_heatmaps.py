"""What notebook 03 (GAX) must have recorded, even on the smoke profile."""
import math

from xai_nb_utils.core.claims import VERDICTS
from xai_nb_utils.studies.gax_claims import CLAIMS


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
        assert row["target"] == records["gax_targets"][row["model"]]
    for row in records["extreme_intensity_mass"]:
        assert 0.0 <= row["mass_share"] <= 1.0 and 0.0 < row["pixel_share"] <= 1.0
    marker = {row["model"]: row for row in records["marker_study"]}
    assert set(marker) == {"shortcut model", "clean model"}
    for row in marker.values():
        assert row["GAX marker mass ratio (median)"] >= 0.0

    declared = {claim.claim_id: claim for claim in CLAIMS}
    headline = {row["claim_id"]: row for row in results["headline_claims"]}
    assert set(headline) == {"H4", "H5"}
    for claim_id, row in headline.items():
        claim = declared[claim_id]
        assert (row["paper"], row["quote"], row["test"], row["planned_n"], row["hypothesis"]) == \
            ("GAX", claim.quote, claim.test, claim.planned_n, claim.hypothesis)
        assert [p["name"] for p in row["premises_checked"]] == list(claim.premises)
    # H4: one exact binomial per model, n = its images, estimate = share reaching the target - 1
    reach = {c["label"].split(":")[0]: c for c in headline["H4"]["components"]}
    assert set(reach) == set(convergence)
    for model, component in reach.items():
        assert component["n"] == convergence[model]["images"]
        assert math.isclose(component["estimate"], convergence[model]["share_converged"] - 1, abs_tol=1e-6)  # float32
    (target,) = headline["H4"]["premises_checked"]
    assert target["passed"]  # the default targets follow the paper's rule by construction
    # H5: near-binary MNIST has no intensity headroom; DigitScenes does
    (headroom,) = headline["H5"]["premises_checked"]
    assert "MNIST" in headroom["detail"] and "used: DigitScenes" in headroom["detail"]
    assert [c["label"].split(":")[0] for c in headline["H5"]["components"]] == ["DigitScenes"]
    assert all(-1 <= c["estimate"] <= 1 for c in headline["H5"]["components"])
    assert records["finding"].startswith("GAX brought")

    rows = {row["claim_id"]: row for row in results["paper_claims"]}
    assert {"Fig. 5F false feature"} | {f"Sec. 4.2 GAX vs AX, {model}" for model in convergence} == set(rows)
    for row in rows.values():
        assert row["verdict"] in VERDICTS and row["n"] > 0 and row["kind"] == "reading of a remark"
        assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    assert rows["Fig. 5F false feature"]["n"] == marker["shortcut model"]["images"]
