"""What notebook 02 (AX process, CO-score gaps, Table 2 analog) must have recorded, even on the smoke profile."""
import math

from xai_nb_utils.core.claims import VERDICTS
from xai_nb_utils.studies.ax_co_gaps import MIN_WRONG
from xai_nb_utils.studies.gax_claims import CLAIMS

METHODS = {"Saliency", "InputXGradient", "LayerGradCam", "Deconvolution", "GuidedBackprop", "DeepLift"}
HEADLINE_MODELS = ("MNIST, MnistCNN", "DigitScenes, SceneCNN")


def check_results(results: dict) -> None:
    records = results["records"]
    systems = {row["model"]: row for row in records["systems"]}
    assert {"MNIST, MnistCNN", "DigitScenes, SceneCNN", "DigitScenes, SceneCNN_sub", "wine, TabularMLP",
            "breast cancer, TabularMLP"} <= set(systems)

    for row in records["gaps"]:
        if row["auroc"] is None:  # a group without wrong (or correct) predictions
            assert row["n_wrong"] == 0 or row["n_correct"] == 0
            continue
        assert 0.0 <= row["auroc_low"] <= row["auroc"] <= row["auroc_high"] <= 1.0
        assert row["wasserstein"] >= 0.0

    table = {row["model"]: row for row in records["table2_accuracy"]}
    assert set(table) == set(systems)
    for model, row in table.items():  # Table 2 is on the random sample, without the top-up
        assert math.isclose(row["Baseline"], systems[model]["accuracy on the sample"], abs_tol=1e-6)  # float32
        for method in METHODS - ({"LayerGradCam"} if model.endswith("TabularMLP") else set()):
            assert 0.0 <= row[method] <= 1.0, (model, method)
    assert {row["combination"] for row in records["gradcam_layers_median_co"]} == {"add", "mul"}

    # the headline claims H1-H3, as declared, on the two trained image models
    declared = {claim.claim_id: claim for claim in CLAIMS}
    headline = {row["claim_id"]: row for row in results["headline_claims"]}
    assert set(headline) == {"H1", "H2", "H3", "H6"}
    for claim_id, row in headline.items():
        claim = declared[claim_id]
        assert (row["paper"], row["quote"], row["test"], row["planned_n"], row["margin"]) == \
            ("GAX", claim.quote, claim.test, claim.planned_n, claim.margin)
        assert row["notebook"] == "02_ax_co_score_gaps" and row["components"]
        for component in row["components"]:
            assert component["test"] == claim.test and component["n"] > 0
            assert len(component["intervals"]) == len(CLAIMS)
    best = records["best_method_on_selection_half"]
    assert set(best) == set(HEADLINE_MODELS) and set(best.values()) <= METHODS
    half = systems["MNIST, MnistCNN"]["samples"] - systems["MNIST, MnistCNN"]["samples"] // 2
    assert {c["label"]: c["n"] for c in headline["H1"]["components"]} == \
        {f"{model}: {best[model]} vs no heatmap": systems[model]["samples"] - systems[model]["samples"] // 2
         for model in HEADLINE_MODELS}
    assert len(headline["H2"]["components"]) == 2 and all(c["n"] == half for c in headline["H2"]["components"])
    shuffled = {c["label"]: c for c in headline["H6"]["components"]}
    assert set(shuffled) == {f"{model}: {best[model]} vs its shuffled heatmap" for model in HEADLINE_MODELS}
    h1 = {c["label"].split(":")[0]: c for c in headline["H1"]["components"]}
    for label, component in shuffled.items():  # the real heatmap's CO is H1's, on the same test half
        assert component["n"] == half and math.isclose(component["mean_a"], h1[label.split(":")[0]]["mean_a"],
                                                       rel_tol=1e-3, abs_tol=1e-3)
    gaps = {(c["label"].rsplit(", ", 1)[0], c["label"].rsplit(", ", 1)[1]): c for c in headline["H3"]["components"]}
    assert set(gaps) == {(model, method) for model in HEADLINE_MODELS for method in METHODS}
    groups = {(row["model"], row["method"]): row for row in records["gaps"]
              if (row["combination"], row["output"]) == ("add", "logit")}
    for model in HEADLINE_MODELS:  # n = the smaller group: the wrong predictions with the top-up, on default
        assert groups[model, "Saliency"]["n_wrong"] == systems[model]["wrong predictions with the top-up"]
        assert systems[model]["wrong predictions with the top-up"] >= MIN_WRONG[results["profile"]]
        for method in METHODS:
            group = groups[model, method]
            assert gaps[model, method]["n"] == min(group["n_correct"], group["n_wrong"])
            assert math.isclose(gaps[model, method]["mean_a"], group["auroc"], abs_tol=1e-9)
    assert records["finding"].startswith("The best existing AX method")
    for verdict in VERDICTS:
        if f"is {verdict}" in records["finding"]:
            break
    else:
        raise AssertionError("the finding names no verdict")

    # secondary rows: Table 2 by exact McNemar, both halves of Figure 8, no duplicate of a headline claim
    rows = {row["claim_id"]: row for row in results["paper_claims"]}
    assert {f"Table 2 no gain, {model}" for model in systems} | {f"Table 2, InputXGradient, {model}"
                                                                 for model in systems} <= set(rows)
    assert {"Fig. 8, x * h", "Fig. 8, x + h"} <= set(rows)
    assert not any(claim_id.startswith("Fig. 2-3 gap") for claim_id in rows)
    for claim_id, row in rows.items():
        assert row["verdict"] in VERDICTS and row["n"] > 0
        assert row["ci_low"] <= row["difference"] <= row["ci_high"]
        assert row["kind"] in ("table cell", "reading of a remark")
        if claim_id.startswith("Table 2"):
            assert row["test"] == "exact McNemar"
    assert rows["Fig. 8, x + h"]["hypothesis"] == "equivalence"
