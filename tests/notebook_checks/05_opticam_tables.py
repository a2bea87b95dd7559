"""Checks on what notebooks/05_opticam_tables.ipynb recorded (run on the smoke profile by tests/test_notebooks.py)."""
import math

METHODS = {"Fake-CAM", "Grad-CAM", "Grad-CAM++", "Score-CAM", "Ablation-CAM", "XGrad-CAM", "Layer-CAM", "HiRes-CAM",
           "LIME", "GradientShap", "Opti-CAM"}
SECONDARY = ("Table 1 Fake-CAM AI, DigitScenes / SceneCNN", "Table 3 I", "Table 3 D", "Table 5 AD", "Table 6 AG")


def _finite(value):
    return value is not None and math.isfinite(value)


def _rows(records, key):
    rows = records[key]
    assert rows, f"{key} is empty"
    return rows


def check_headline_claims(results: dict) -> None:
    """H1-H4 recorded with one component per compared pair (H1: AD and AG against each of the 7 CAM methods on
    both systems; H2: AI against 9 baselines on both; H3: Fake-CAM's AD and AG on DigitScenes; H4: LE against
    Grad-CAM), each on the smoke images; the premises carry their measured numbers. (The declarations themselves
    are checked by tests/test_notebooks.py.)"""
    rows = {row["claim_id"]: row for row in results["headline_claims"]}
    assert set(rows) == {"H1", "H2", "H3", "H4"}
    sizes = {"H1": 28, "H2": 18, "H3": 14, "H4": 1}
    for claim_id, row in rows.items():
        assert len(row["components"]) == sizes[claim_id], claim_id
        assert all(0 < c["n"] <= 4 for c in row["components"]), claim_id  # smoke: 4 images per system
        assert all(any(ch.isdigit() for ch in p["detail"]) for p in row["premises_checked"]), claim_id
    h3 = rows["H3"]["premises_checked"][0]
    assert h3["passed"] and "DigitScenes" in h3["detail"], h3  # photo crops: the corner pixel is rarely black
    assert all("MNIST" not in c["label"] for c in rows["H3"]["components"])
    assert results["records"]["fake_cam_black_pixel_share"]["MNIST / MnistCNN"] == 1.0  # why MNIST is left out
    assert "localization error" in results["records"]["finding"]


def check_paper_claims(results: dict) -> None:
    """The secondary rows are the table cells (no duplicate of a headline claim, no timing row), each decided on
    n > 0 paired images with its CI around the effect."""
    claims = {claim["claim_id"]: claim for claim in results["paper_claims"]}
    assert set(claims) == set(SECONDARY), sorted(claims)
    for claim in claims.values():
        assert claim["paper"] == "Opti-CAM" and claim["kind"] == "table cell", claim
        assert claim["n"] > 0 and claim["ci_low"] <= claim["difference"] <= claim["ci_high"], claim
        assert claim["ours"].startswith(claim["verdict"]) and claim["paper_value"], claim
    assert claims[SECONDARY[0]]["test"] == "exact McNemar"


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
    check_headline_claims(results)
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
