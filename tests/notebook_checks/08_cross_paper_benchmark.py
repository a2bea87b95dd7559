"""Checks on what notebooks/08_cross_paper_benchmark.ipynb recorded (run on the smoke profile by test_notebooks.py)."""
import math

from xai_nb_utils.studies import cross_benchmark as study


def check_results(results: dict) -> None:
    records = results["records"]
    scores, board = records["scores"], records["leaderboard"]
    methods = set(study.benchmark_methods())
    # every method (DRE and MGnet on the scene model only) under every metric of each model, on the same images
    for model in study.MODELS:
        expected_methods = {m for m in methods if study.applicable(model, m)}
        for metric in study.metric_names(model):
            rows = [r for r in board if r["model"] == model and r["metric"] == metric]
            assert {r["method"] for r in rows} == expected_methods, (model, metric)
            n = {r["n"] for r in rows}
            assert len(n) == 1 and n.pop() == 3, (model, metric, "every method on the same 3 smoke images")
            ranks = sorted(r["rank"] for r in rows)
            assert ranks[0] == 1 and ranks[-1] <= len(rows)
            for r in rows:
                assert r["ci_low"] - 1e-9 <= r["mean"] <= r["ci_high"] + 1e-9, r
    assert len(scores) == sum(3 * len(study.metric_names(m)) * sum(study.applicable(m, x) for x in methods)
                              for m in study.MODELS)
    for flag in records["control_flags"]:
        assert isinstance(flag["gameable"], bool)
    for model in study.MODELS:
        tau = records[f"metric_agreement_{model}"]  # one dict per row, in the columns' order
        for i, row in enumerate(tau):
            assert math.isclose(list(row.values())[i], 1.0), (model, i)
            assert all(-1 - 1e-9 <= v <= 1 + 1e-9 for v in row.values() if v is not None)
    claims = {c["claim_id"] for c in results["paper_claims"]}
    assert {f"{claim_id}, scene_cnn" for _, claim_id, *_ in study.CROSS_CLAIMS} == claims
