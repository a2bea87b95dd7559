"""Checks on what notebooks/05_opticam_tables.ipynb recorded (run on the smoke profile by tests/test_notebooks.py)."""
import math

METHODS = {"Fake-CAM", "Grad-CAM", "Grad-CAM++", "Score-CAM", "Ablation-CAM", "XGrad-CAM", "Layer-CAM", "HiRes-CAM",
           "LIME", "GradientShap", "Opti-CAM"}


def _finite(value):
    return value is not None and math.isfinite(value)


def _rows(records, key):
    rows = records[key]
    assert rows, f"{key} is empty"
    return rows


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
    assert set(records["verdicts"]) == set(timings)
    for verdict in records["verdicts"].values():
        assert set(verdict) == {"opticam_best_ad_ag", "fake_cam_ad_ai_loophole", "ag_exposes_fake_cam"}
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
