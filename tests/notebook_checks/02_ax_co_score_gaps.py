"""What notebook 02 (AX process, CO-score gaps, Table 2 analog) must have recorded, even on the smoke profile."""
import math

from xai_nb_utils.metrics.statistics import VERDICTS

METHODS = {"Saliency", "InputXGradient", "LayerGradCam", "Deconvolution", "GuidedBackprop", "DeepLift"}


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

    # the gap on the MNIST CNN, the best-trained image model even at smoke size
    mnist = [row for row in records["gaps"] if row["model"] == "MNIST, MnistCNN" and row["combination"] == "add"
             and row["output"] == "logit"]
    assert {row["method"] for row in mnist} == METHODS
    assert sorted(row["auroc"] for row in mnist)[len(mnist) // 2] > 0.5

    table = {row["model"]: row for row in records["table2_accuracy"]}
    assert set(table) == set(systems)
    for model, row in table.items():
        assert math.isclose(row["Baseline"], systems[model]["accuracy on the sample"], abs_tol=1e-6)  # float32
        for method in METHODS - ({"LayerGradCam"} if model.endswith("TabularMLP") else set()):
            assert 0.0 <= row[method] <= 1.0, (model, method)

    assert {row["combination"] for row in records["gradcam_layers_median_co"]} == {"add", "mul"}
    share = records["share_methods_wider_gap_when_well_trained"]  # None: no method has both AUROCs (tiny models)
    assert share is None or 0.0 <= share <= 1.0

    claims = {claim["claim_id"]: claim for claim in results["paper_claims"]}
    assert "Fig. 8, x * h" in claims
    assert ("Fig. 2 vs 3A" in claims) == (share is not None)  # examined when some method has both AUROCs
    assert {f"Table 2, {method}" for method in METHODS} <= set(claims)
    assert {f"Table 2, InputXGradient, {model}" for model in systems} <= set(claims)
    if min(row["n_wrong"] for row in mnist) >= 5:  # the gap claims need 5 wrong predictions (smoke: about 5 of 32)
        assert {f"Fig. 2-3 gap, MNIST, MnistCNN, {method}" for method in METHODS} <= set(claims)
    for claim in claims.values():
        assert claim["verdict"] in VERDICTS and claim["n"] > 0
        assert claim["ci_low"] <= claim["difference"] <= claim["ci_high"]
    gap = claims.get("Fig. 2-3 gap, MNIST, MnistCNN, Saliency")
    mnist_saliency = next(row for row in mnist if row["method"] == "Saliency")
    assert gap is not None or mnist_saliency["n_wrong"] < 5
    assert gap is None or gap["n"] == mnist_saliency["n_wrong"] and math.isclose(gap["mean_a"], mnist_saliency["auroc"], abs_tol=1e-9)
