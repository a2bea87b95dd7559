"""Checks on what notebooks/01_gax_toy_2d_rotation.ipynb recorded (run on the smoke profile)."""
import math

from xai_nb_utils.metrics.statistics import VERDICTS

RANGE_CLAIMS = {f"{where} non-negative range, a1 = {a1}, {part}"
                for where, a1 in (("Sec. 2.1", 0.95), ("App. A.1", 0.7), ("App. A.1", 0.51))
                for part in ("inside", "below", "above")}


def check_results(results: dict):
    records = results["records"]
    assert records["autograd_max_abs_diff"] < 1e-6  # eq. (4) is exact for a linear objective
    hand = {(row["theta/pi"], row["a1"], row["a2"]): row for row in records["hand_values"]}
    assert math.isclose(hand[(0.0, 1.0, 0.0)]["h1"], 1 + records["settings"]["k_eta"], abs_tol=1e-12)
    figure1 = {row["a1"]: row for row in records["figure1_summary"]}
    assert set(figure1) == set(records["settings"]["figure1_a1"])
    for a1, row in figure1.items():
        a2, k_eta = row["a2"], records["settings"]["k_eta"]
        assert math.isclose(row["h1_over_x1_at_0"], 1 + k_eta * a1, abs_tol=1e-9)  # by hand from eq. (4)
        assert math.isclose(row["h1_over_x1_at_pi4"], 1 + k_eta * (a1 - a2), abs_tol=1e-9)
        assert row["co_min"] > 0  # Delta grows by k eta ||grad||^2 > 0 and LeakyReLU keeps the order
    agreement = records["autograd_agreement"]
    assert {(row["objective"], row["activation"]) for row in agreement} == \
        {("delta", "-"), ("co", "leaky_relu"), ("co", "sigmoid")}
    assert all(math.isfinite(row["max_abs_diff"]) for row in agreement)
    scores = records["gax_co_by_activation"]
    assert scores["sigmoid"]["max"] < scores["leaky_relu"]["min"]
    assert len(records["nonnegative_ranges"]) >= 2
    assert all(claim["passed"] for claim in results["claims"])
    claims = {claim["claim_id"]: claim for claim in results["paper_claims"]}
    assert RANGE_CLAIMS <= set(claims)
    for claim in claims.values():
        assert claim["verdict"] in VERDICTS and claim["n"] > 0
        assert claim["ci_low"] <= claim["difference"] <= claim["ci_high"]
    # deterministic maths: x is positive just below the quoted lower end pi/8 for a1 = 0.7 (it is so from -pi/8 on)
    assert claims["App. A.1 non-negative range, a1 = 0.7, below"]["verdict"] == "contradicted"
