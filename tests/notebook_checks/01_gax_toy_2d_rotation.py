"""Checks on what notebooks/01_gax_toy_2d_rotation.ipynb recorded (run on the smoke profile)."""
import math



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
    ranges = {row["a1"]: row for row in records["nonnegative_ranges"]}
    assert {0.95, 0.7, 0.51} <= set(ranges)
    for a1, row in ranges.items():  # x is non-negative on [-atan(a2/a1), atan(a1/a2)], by hand
        assert math.isclose(row["analytic_from"], -math.atan((1 - a1) / a1) / math.pi, abs_tol=1e-12)
        assert math.isclose(row["analytic_to"], math.atan(a1 / (1 - a1)) / math.pi, abs_tol=1e-12)
    assert not ranges[0.7]["agrees"]  # the quoted pi/8 lower end is -0.129 pi analytically
    assert all(claim["passed"] for claim in results["claims"])
    # the toy is deterministic: self-checks only, no paper claims and no headline claims
    assert results["paper_claims"] == [] and results["headline_claims"] == []
    finding = records["finding"]
    assert f"{len(results['claims'])} of {len(results['claims'])} self-checks" in finding
