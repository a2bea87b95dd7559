"""Checks on what notebooks/04_igos_pp_ablations.ipynb recorded (run on the smoke profile)."""
import math

from xai_nb_utils.core.claims import VERDICTS
from xai_nb_utils.studies import igos_claims

ABLATION_ROWS = ("Insertion", "I-GOS + Insertion (naive)", "iGOS++ (no noise)", "iGOS++ (fixed step)",
                 "iGOS++ (no BTV)")  # the secondary Table 3 rows (I-GOS against iGOS++ is headline claim H1)
SECONDARY_KINDS = ("table cell", "reading of a remark")


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
    assert {("Mask", resolutions[0]), ("Mask", resolutions[2])} <= methods
    assert {"Grad-CAM", "Integrated Gradients", "Random"} <= {m for m, _ in methods}
    for row in table1:
        assert 0 <= row["deletion"] <= 1 and 0 <= row["insertion"] <= 1, row
        assert row["images"] == records["settings"]["n_images"]
        assert _finite(row["seconds_per_image"]) and row["seconds_per_image"] > 0
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
    fit = records["random_label_fit"]  # the random-label network's fit, judged from its last training loss
    assert fit["fit"] == ("fitted" if fit["final training loss"] < fit["chance loss"] / 2 else
                          "near chance" if fit["final training loss"] > 0.9 * fit["chance loss"] else "partly fitted")
    assert all(-1 - 1e-9 <= v <= 1 + 1e-9 for v in records["label_sanity_spearman"].values())
    adversarial = records["adversarial"]
    assert 0 <= adversarial["attack success rate"] <= 1
    assert set(records["marker_lift"]) == {"Grad-CAM (8x8)", "iGOS++ 28x28"}
    assert all(_finite(v) and v >= 0 for v in records["marker_lift"].values())
    assert {row["index"] for row in records["table4"]} == {
        "marker model, test with markers", "marker model, marker-free test", "cleaned model, marker-free test"}
    assert all(claim["passed"] for claim in results["claims"])
    assert 0 <= records["attack_success_rate_8_255"] <= 1
    assert all(0 <= v <= 1 for v in records["adversarial_pixels_to_half_score"].values())
    # the marker straddles the CAM grid: no single 8x8 cell holds all of it
    assert 0 < records["marker_share_in_one_cam_cell"] < 0.5
    assert all(_finite(row["mean |BTV - TV|"]) and -1 - 1e-9 <= row["spearman"] <= 1 + 1e-9
               for row in records["figure10_btv_vs_tv"])
    assert all(_finite(v) and v >= 0 for v in records["continuity_regions"].values())
    assert isinstance(records["finding"], str) and "H1" in records["finding"]
    assert _finite(records["seconds_per_added_headline_scene"]) and records["seconds_per_added_headline_scene"] > 0
    check_headline_claims(results)
    check_secondary_rows(results, resolutions, settings)


def check_headline_claims(results: dict) -> None:
    """Every declared claim is recorded with its declaration, its components on the planned scenes and its
    premises checked."""
    recorded = {row["claim_id"]: row for row in results["headline_claims"]}
    assert set(recorded) == {claim.claim_id for claim in igos_claims.CLAIMS}
    sizes = results["records"]["settings"]
    components = {"H1": 7, "H2": 1, "H3": 1, "H4": 2}
    for claim in igos_claims.CLAIMS:
        row = recorded[claim.claim_id]
        assert row["paper"] == "iGOS++" and row["quote"] == claim.quote and row["test"] == claim.test
        assert row["planned_n"] == claim.planned_n and row["hypothesis"] == claim.hypothesis
        assert len(row["components"]) == components[claim.claim_id], claim.claim_id
        assert {p["name"] for p in row["premises_checked"]} == set(claim.premises)
        if claim.claim_id != "H4":  # H4 is paired over every test scene
            assert all(c["n"] == sizes["n_images"] for c in row["components"]), claim.claim_id
    for name in ("headroom", "shortcut"):
        premise = results["records"][name]
        assert isinstance(premise["passed"], bool) and premise["detail"]


def check_secondary_rows(results: dict, resolutions: list, lambdas) -> None:
    """The secondary rows are in the ledger with their kind, each decided on the images of its table; none repeats a
    headline claim."""
    claims = {claim["claim_id"]: claim for claim in results["paper_claims"]}
    sizes = results["records"]["settings"]
    full, mid = resolutions[:2]
    expected = {f"Table 1 deletion, {label}": sizes["n_images"] for label in resolutions}
    expected |= {f"Table 3 insertion, {row}, {label}": sizes["n_side"] for label in (full, mid) for row in ABLATION_ROWS}
    expected |= {f"Table 5 insertion, M_xy vs M_y, {label}": sizes["n_images"] for label in (full, mid)}
    expected |= {f"Table 7, lambda1={l1:g}, lambda2={l2:g}": sizes["n_side"] for l1, l2 in lambdas}
    expected |= {name: sizes["n_side"] for name in ("Fig. 4 insertion AUC", "Fig. 4 insertion curve",
                                                     "Sec. 4 deletion AUC", "Fig. 5 marker lift",
                                                     "Fig. 5 top-6% insertion")}
    expected["Fig. 3 label randomisation"] = sizes["n_label_sanity"]
    missing = set(expected) - set(claims)
    assert not missing, f"secondary rows not recorded: {sorted(missing)}"
    assert not any(claim_id.startswith(("Table 1 insertion", "Table 4")) or "I-GOS, " in claim_id
                   for claim_id in claims), "a secondary row repeats a headline claim"
    for claim_id, n in expected.items():
        assert claims[claim_id]["n"] == n, (claim_id, claims[claim_id]["n"], n)
    for claim in claims.values():
        assert claim["paper"] == "iGOS++" and claim["verdict"] in VERDICTS and claim["n"] > 0, claim
        assert claim["kind"] in SECONDARY_KINDS, claim
        assert claim["ci_low"] <= claim["difference"] <= claim["ci_high"], claim
        assert claim["ours"].startswith(claim["verdict"]), claim
