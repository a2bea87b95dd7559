"""Checks on what notebooks/08_cross_paper_benchmark.ipynb recorded (run on the smoke profile by test_notebooks.py)."""
import math

from xai_nb_utils.studies import cross_benchmark as study


def check_results(results: dict) -> None:
    records = results["records"]
    scores, board = records["scores"], records["leaderboard"]
    methods = set(study.benchmark_methods())
    # every method and control (DRE, MGnet and the ground-truth controls on the scene model only) under every
    # metric of each model, on the same 3 smoke images; the blurred copy of each metric's best method beside them
    for model in study.MODELS:
        expected = {m for m in methods if study.applicable(model, m)} | {"blurred_best"}
        for metric in study.metric_names(model):
            rows = [r for r in board if r["model"] == model and r["metric"] == metric]
            assert {r["method"] for r in rows} == expected - ({"blurred_best"} if metric == "seconds" else set()), \
                (model, metric)
            assert {r["n"] for r in rows} == {3}, (model, metric, "every method on the same 3 smoke images")
            for r in rows:
                assert r["ci_low"] - 1e-9 <= r["mean"] <= r["ci_high"] + 1e-9, r
                assert r["control"] == (r["method"] in study.CONTROLS)
            if model == study.GROUND_TRUTH_MODEL and metric != "seconds":  # ranked: tiers from Friedman + Nemenyi
                assert min(r["tier"] for r in rows) == 1 and all(r["n ranked"] == 3 for r in rows)
                top_controls = [r["label"] for r in rows if r["tier"] == 1 and r["control"]]
                assert all(r["note"] == (f"control in the top group: {', '.join(top_controls)}"
                                         if top_controls else "") for r in rows) or top_controls
            if model != study.GROUND_TRUTH_MODEL and records["mnist_saturation"]["saturated"]:
                assert all(r.get("tier") is None or (isinstance(r["tier"], float) and math.isnan(r["tier"]))
                           for r in rows), "a saturated model is not ranked"
    assert {s["method"] for s in scores} >= methods
    # the ground-truth testbed's health, the report cards, the top groups, the costs, the narration
    health = records["testbed_health"]
    assert health["n"] == 3 and 0 <= health["accuracy"] <= 1 and 0 < health["digit area (share of the pixels)"] < 1
    cards = records["report_cards"]
    carded = [m for m in study.metric_names(study.GROUND_TRUTH_MODEL) if m not in study.NOT_CARDED]
    assert [c["metric"] for c in cards] == carded
    for card in cards:
        assert card["passed"] == (card["why not"] == "")
        assert card["passed"] <= card["order holds"]
    assert {g["metric"] for g in records["top_groups"]} == set(carded)
    assert all(g["n ranked"] == g["fast n ranked"] == 3 for g in records["top_groups"])
    costs = {(c["model"], c["method"]): c for c in records["method_costs"]}
    assert all(c["n"] == 3 and c["seconds per image"] >= 0 for c in costs.values())
    sat = records["mnist_saturation"]
    assert sat["saturated"] == (sat["random insertion AUC"] >= study.SATURATION_SHARE * sat["best insertion AUC"])
    assert records["narration"] and records["finding"].startswith("On the ground-truth scenes")
    tau = records["metric_agreement_scene_cnn"]  # one dict per row, in the columns' order
    for i, row in enumerate(tau):
        assert math.isclose(list(row.values())[i], 1.0), i
    assert not results.get("paper_claims"), "the benchmark records benchmark results, not paper claims"
