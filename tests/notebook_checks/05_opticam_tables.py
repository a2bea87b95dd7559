"""Checks on what notebooks/05_opticam_tables.ipynb recorded (run on the smoke profile by tests/test_notebooks.py)."""
import math

METHODS = {"Fake-CAM", "Grad-CAM", "Grad-CAM++", "Score-CAM", "Ablation-CAM", "XGrad-CAM", "Layer-CAM", "HiRes-CAM",
           "LIME", "GradientShap", "Opti-CAM"}
VERDICTS = {"reproduced", "contradicted", "inconclusive"}
TABLE1_CLAIMS = ("AD", "AG", "Fake-CAM AD", "Fake-CAM AI", "Fake-CAM AG", "T")
OTHER_CLAIMS = ("Table 3 I", "Table 3 D", "Table A7 OM", "Table A7 LE", "Table 5 AD", "Table 6 AG")


def _finite(value):
    return value is not None and math.isfinite(value)


def _rows(records, key):
    rows = records[key]
    assert rows, f"{key} is empty"
    return rows


def check_paper_claims(results: dict) -> None:
    """The main claims are in the ledger, each decided on n > 0 paired images (batches for T), with its CI
    around the effect; Table 1's pairings compare two methods on exactly the images both have."""
    records = results["records"]
    claims = {claim["claim_id"]: claim for claim in results["paper_claims"]}
    systems = list(records["accuracy"])
    expected = {f"Table 1 {name}, {system}" for name in TABLE1_CLAIMS for system in systems} | set(OTHER_CLAIMS)
    assert expected <= set(claims), sorted(expected - set(claims))
    for claim in claims.values():
        assert claim["paper"] == "Opti-CAM" and claim["verdict"] in VERDICTS, claim
        assert claim["n"] > 0 and claim["ci_low"] <= claim["difference"] <= claim["ci_high"], claim
        assert claim["ours"].startswith(claim["verdict"]) and claim["paper_value"], claim
    for key, system in zip(("table1_pairings_scenes", "table1_pairings_digits"), systems):
        n_images = {row["method"]: row["n_images"] for row in records[key.replace("_pairings", "")]}
        for pairing in _rows(records, key):
            assert pairing["n"] == min(n_images[pairing["method"]], n_images[pairing["compared with"]]), pairing
            assert pairing["verdict"] in VERDICTS, pairing
        for name in ("AD", "AG", "Fake-CAM AD"):  # the ledger shows the pairing that decides "every baseline"
            claim = claims[f"Table 1 {name}, {system}"]
            decisive = [p for p in records[key] if p["claim"] == claim["claim_id"]
                        and p["compared with"] == claim["labels"][1]]
            assert decisive and decisive[0]["verdict"] == claim["verdict"], claim


def check_results(results: dict) -> None:
    records = results["records"]
    for key in ("table1_scenes", "table1_digits"):
        rows = _rows(records, key)
        assert {row["method"] for row in rows} == METHODS, key
        for row in rows:
            assert all(_finite(row[score]) and 0 <= row[score] <= 100 for score in ("AD", "AG", "AI")), row
            assert row["T (s / 8 images)"] > 0, row
    # Fake-CAM masks one pixel: whatever the model, the class probability barely moves
    for key in ("table1_scenes", "table1_digits"):
        fake = next(row for row in records[key] if row["method"] == "Fake-CAM")
        assert fake["AD"] < 1 and fake["AG"] < 1, fake
    timings = records["seconds_per_batch_of_8"]
    assert all(_finite(t["Opti-CAM"]) and _finite(t["Score-CAM"]) for t in timings.values())
    check_paper_claims(results)
    for row in _rows(records, "table3_scenes"):
        assert 0 <= row["I"] <= 100 and 0 <= row["D"] <= 100, row
    table6 = _rows(records, "table6_objective_normalization")
    assert {(row["objective"], row["normalization"]) for row in table6} == {
        (o, n) for o in ("mask", "diff") for n in ("range", "max", "sigmoid")} | {("iomask", "range"), ("iodiff", "range")}
    assert len(_rows(records, "table_a13_layers")) >= 2
    assert {row["lr"] for row in _rows(records, "figure_a5_convergence")} == {0.01, 0.1, 1.0}
    assert {row["explained class"] for row in _rows(records, "table_a9_classes")} >= {
        "ground truth", "most probable", "second", "least"}
    box_rows = {row["method"]: row for row in _rows(records, "table5_boxes")}
    assert {"S := B", "S := I \\ B", "Opti-CAM"} <= set(box_rows)
    assert all(_finite(box_rows["Opti-CAM"][f"{s} {r}"]) for s in ("AD", "AG", "AI") for r in ("S", "B ∩ S", "S \\ B"))
    for row in _rows(records, "table_a7_localization"):
        assert all(0 <= row[k] <= 100 for k in ("OM", "LE", "F1", "BA", "SP", "EP")), row
        assert _finite(row["SM"]), row
    assert _finite(records["table_a14_unnormalized"]["accuracy"])
    for row in _rows(records, "appendix_g_sanity"):
        assert -1 <= row["rank correlation"] <= 1 and _finite(row["SSIM"]), row
