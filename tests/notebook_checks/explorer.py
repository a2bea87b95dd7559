"""Checks on what notebooks/explorer.ipynb recorded (its default state, drawn once on the smoke profile)."""
import math


def check_results(results: dict):
    drawn = results["records"]["last_drawn"]
    assert drawn["system"] == "DigitScenes / SceneCNN" and drawn["image"] == 0 and drawn["target"] == -1
    rows = {row["method"]: row for row in drawn["scores"]}
    assert set(rows) == {"Grad-CAM", "Integrated Gradients", "SmoothGrad"}, rows
    for row in rows.values():
        assert all(math.isfinite(value) for key, value in row.items() if key != "method"), row
        assert 0 <= row["insertion AUC"] <= 1 and 0 <= row["deletion AUC"] <= 1, row
        assert 0 <= row["AD (%)"] <= 100 and row["AI (%)"] in (0.0, 100.0), row
