"""Checks on what 00_workbench_tour recorded (called by tests/test_notebooks.py after a smoke run)."""
import math

IMAGE_MODELS = ("mnist_cnn", "scene_cnn", "scene_cnn_marker")
TABULAR_MODELS = ("tabular_wine", "tabular_breast_cancer", "tabular_digits")


def check_results(results: dict) -> None:
    records = results["records"]
    accuracy = records["test_accuracy"]
    assert set(accuracy) == set(IMAGE_MODELS + TABULAR_MODELS)
    assert all(0 <= value <= 1 for value in accuracy.values())
    # even at smoke size the MNIST CNN and the tabular MLPs learn (the scene CNNs need the default profile)
    skill = records["skill_over_chance"]  # (accuracy - chance) / (1 - chance)
    assert all(skill[name] > 0.5 for name in ("mnist_cnn", *TABULAR_MODELS)), skill
    assert {row["dataset"] for row in records["datasets"]} >= {"mnist", "digit_scenes", "digit_scenes_marker"}
    assert 0 <= records["test_accuracy_scene_cnn_under"] <= 1
    # the under-trained variant, as the notebook describes it: two fifths of the epochs (at least one)
    scene_epochs = {row["variant"]: row["epochs"] for row in records["models"] if row["model"] == "scene_cnn"}
    assert scene_epochs["under"] == max(1, 2 * scene_epochs["well"] // 5), scene_epochs
    assert records["n_methods"] >= 17  # 10 captum + 7 pytorch-grad-cam baselines at least, plus references
    pointing = {row["method"]: row for row in records["pointing_game"]}
    assert all(0 <= row[key] <= 100 for row in pointing.values() for key in ("SP", "EP"))
    # a uniform random map puts, on average, the box's share of the image inside the box
    assert math.isclose(pointing["random"]["EP"], records["box_area_percent"], abs_tol=3.0)
    if results["profile"] != "smoke":
        claims = {claim["name"] for claim in results["claims"]}
        assert any(name.startswith("every embedded model beats chance") for name in claims)
