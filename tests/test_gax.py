"""GAX paper: AX heatmaps and scores, CO-score gap statistics and the GAX generator on models whose numbers are
derivable."""
import math

import numpy as np
import pandas as pd
import pytest
import torch
from types import SimpleNamespace
from torch import nn

from xai_nb_utils.methods import gax as G
from xai_nb_utils.methods.registry import explain
from xai_nb_utils.metrics import error_detection as E
from xai_nb_utils.studies import ax_co_gaps as A
from xai_nb_utils.studies import gax_heatmaps as H
from xai_nb_utils.studies import gax_systems as S


def linear_model(weight: torch.Tensor) -> nn.Module:
    """f(x) = W flatten(x), no bias: every CO score is linear in h and computable by hand."""
    num_classes, num_features = weight.shape
    layer = nn.Linear(num_features, num_classes, bias=False)
    layer.weight.data.copy_(weight)
    return nn.Sequential(nn.Flatten(), layer).eval()


def co_weights(label: int, num_classes: int) -> torch.Tensor:
    """The paper's score constants: +1 for the label, -1/(C-1) for the other classes."""
    weights = torch.full((num_classes,), -1.0 / (num_classes - 1))
    weights[label] = 1.0
    return weights


@pytest.fixture
def setup():
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(3, 2 * 4 * 4, generator=generator)
    x = torch.rand(6, 2, 4, 4, generator=generator)
    return linear_model(weight), weight, x


def test_normalize_max_abs_is_global_per_sample():
    h = torch.tensor([[[[1.0, -4.0]], [[2.0, 0.5]]], [[[0.1, 0.2]], [[-0.05, 0.0]]]])
    normalized = G.normalize_max_abs(h)
    assert torch.allclose(normalized[0], h[0] / 4.0)
    assert torch.allclose(normalized[1], h[1] / 0.2)


def test_ax_input_x_gradient_co_matches_hand_computation(setup):
    model, weight, x = setup
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    scores = S.ax_scores(model, x, labels, methods=["input_x_gradient"], outputs=["logit"], progress=False)
    pred = (x.flatten(1) @ weight.T).argmax(1)
    for combination in G.COMBINATIONS:
        part = scores[scores["combination"] == combination].sort_values("index")
        for i in range(len(x)):
            h = x[i].flatten() * weight[pred[i]]  # input x gradient of the predicted logit
            h = h / h.abs().max()
            combined = x[i].flatten() + h if combination == "add" else x[i].flatten() * h
            expected = co_weights(labels[i], 3) @ (weight @ combined - weight @ x[i].flatten())
            assert part["co"].iloc[i] == pytest.approx(float(expected), rel=1e-4, abs=1e-4)
            assert part["pred"].iloc[i] == pred[i]
            assert part["pred_after"].iloc[i] == int((weight @ combined).argmax())


def test_ax_scores_agree_with_the_metrics_co_score_for_every_variant():
    from xai_nb_utils.metrics.perturbation import co_score

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 2 * 2, 3)).eval()
    x, labels = torch.rand(5, 2, 4, 4), torch.tensor([0, 1, 2, 0, 1])
    scores = S.ax_scores(model, x, labels, methods=["guided_backprop"], progress=False)
    h = G.ax_heatmap(model, x, "guided_backprop")
    for (combination, output), part in scores.groupby(["combination", "output"]):
        expected = co_score(model, x, h, labels, combine=combination, output=output)
        assert torch.allclose(torch.tensor(part.sort_values("index")["co"].values), expected.double(), atol=1e-5)


def test_auroc_and_gap_on_known_distributions():
    correct = np.r_[np.ones(50, bool), np.zeros(20, bool)]
    separated = np.r_[np.linspace(5, 6, 50), np.linspace(0, 1, 20)]
    gap = E.co_gap(separated, correct, n_boot=200, seed=0)
    assert gap["auroc"] == 1.0 and gap["auroc_low"] == 1.0 and gap["auroc_high"] == 1.0
    assert gap["wasserstein"] == pytest.approx(5.0)  # two equally spread groups shifted by 5
    assert E.co_gap(-separated, correct, n_boot=10)["auroc"] == 0.0
    ties = E.co_gap(np.zeros(70), correct, n_boot=10)
    assert ties["auroc"] == 0.5 and ties["wasserstein"] == 0.0
    assert np.isnan(E.co_gap(separated[:50], correct[:50], n_boot=10)["auroc"])  # no wrong predictions


def test_auroc_matches_sklearn_and_bootstrap_is_seeded():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    correct = rng.random(300) < 0.7
    co = rng.normal(size=300) + correct
    assert E.auroc_wrong_detector(co, correct) == pytest.approx(roc_auc_score(correct, co))
    first, second = E.co_gap(co, correct, n_boot=100, seed=3), E.co_gap(co, correct, n_boot=100, seed=3)
    assert first == second
    assert first["auroc_low"] < first["auroc"] < first["auroc_high"]


def test_gax_first_step_is_the_adam_sign_step(setup):
    """Adam's first update is lr * sign(gradient); the gradient of eq. (6) is derived by hand for a linear model."""
    model, weight, x = setup
    target = torch.tensor([0, 1, 2, 0, 1, 2])
    result = G.gax(model, x, target, co_target=1e9, max_iter=1, bias=0.01, snapshot_iterations=[0, 1])
    flat, bias, eps, ls = x.flatten(1), 0.01, 1e-4, 100.0
    h0 = torch.tanh(flat + bias)
    co_gradient = torch.stack([co_weights(t, 3) @ weight for t in target])  # d CO / d h
    similarity = ((h0 - flat + eps) ** 2 / (flat + eps)).mean(1, keepdim=True)
    similarity_gradient = -ls / similarity**2 * 2 * (h0 - flat + eps) / (flat + eps) / flat.shape[1]
    loss_gradient_h = (-co_gradient + similarity_gradient) * (1 - h0**2)
    w1 = 1 - 0.1 * torch.sign(loss_gradient_h * flat)
    b1 = bias - 0.1 * torch.sign(loss_gradient_h)
    assert torch.allclose(result.snapshots[0].flatten(1), h0, atol=1e-6)
    assert torch.allclose(result.snapshots[1].flatten(1), torch.tanh(w1 * flat + b1), atol=1e-5)
    expected_co0 = (co_gradient * (h0)).sum(1)
    assert torch.allclose(result.co[:, 0], expected_co0, atol=1e-4)


def test_gax_without_similarity_loss_raises_co_monotonically_and_stops_at_target(setup):
    """With similarity_factor = 0 on a linear model, every d CO / d w_i keeps its sign (x > 0), so Adam moves each
    h_i monotonically towards sign(d CO / d h_i): the CO score rises at every step until the target is reached."""
    model, weight, x = setup
    target = torch.tensor([0, 1, 2, 0, 1, 2])
    co_target = 20.0
    result = G.gax(model, x, target, co_target=co_target, max_iter=100, similarity_factor=0.0)
    assert result.converged.all()
    for i in range(len(x)):
        trajectory = result.co[i, : result.iterations[i] + 1]
        assert not torch.isnan(trajectory).any() and torch.isnan(result.co[i, result.iterations[i] + 1:]).all()
        assert (trajectory[1:] > trajectory[:-1]).all()
        assert trajectory[-1] >= co_target and (trajectory[:-1] < co_target).all()
    final_co = torch.stack([co_weights(t, 3) @ (weight @ h) for t, h in zip(target, result.heatmaps.flatten(1))])
    assert (final_co >= co_target - 1e-4).all()


def test_gax_with_the_paper_loss_reaches_the_target(setup):
    """With the paper's similarity term (ls = 100) the CO score may dip first (the term pushes h away from x), but a
    model with a large enough gradient reaches the target; the heatmap stays in [-1, 1] (tanh)."""
    model, weight, x = setup
    result = G.gax(linear_model(10 * weight), x, torch.tensor([0, 1, 2, 0, 1, 2]), co_target=50.0, max_iter=300)
    assert result.converged.all() and (result.iterations > 0).all()
    last = result.co.gather(1, result.iterations.view(-1, 1)).squeeze(1)
    assert (last >= 50.0).all()
    assert result.heatmaps.abs().max() <= 1.0


def test_gax_reports_images_that_hit_the_cap(setup):
    model, _, x = setup
    result = G.gax(model, x, torch.zeros(6, dtype=torch.long), co_target=1e6, max_iter=5)
    assert not result.converged.any() and (result.iterations == 5).all() and result.share_converged == 0.0
    assert not torch.isnan(result.co).any()


def test_gax_per_image_stopping_is_independent_of_the_batch(setup):
    _, weight, x = setup
    target = torch.tensor([0, 1, 2, 0, 1, 2])
    model = linear_model(10 * weight)
    together = G.gax(model, x, target, co_target=50.0, max_iter=300)
    assert len(set(together.iterations.tolist())) > 1, "the batch should mix early and late stoppers"
    for i in (0, 3, 5):
        alone = G.gax(model, x[i:i + 1], target[i:i + 1], co_target=50.0, max_iter=300)
        assert alone.iterations[0] == together.iterations[i]
        assert torch.allclose(alone.heatmaps[0], together.heatmaps[i], atol=1e-6)
        assert torch.allclose(alone.co[0], together.co[i], atol=1e-5, equal_nan=True)


def test_gax_is_registered_and_validates_its_input(setup):
    model, _, x = setup
    with torch.no_grad():  # the optimisation enables gradients itself
        maps = explain("gax", model, x, torch.tensor([0, 1, 2, 0, 1, 2]), co_target=2.0, max_iter=20)
    assert maps.shape == x.shape and maps.device == x.device
    with pytest.raises(ValueError, match="output"):
        G.gax(model, x, 0, output="probabilities")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        G.gax(model, x - 0.5, 0)


def test_separate_block_relus_keeps_outputs_and_lets_deeplift_run_on_a_resnet():
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=3).eval()
    x = torch.rand(2, 3, 32, 32)
    before = net(x)
    net = S.separate_block_relus(net)
    assert torch.allclose(net(x), before, atol=1e-6)
    maps = explain("deeplift", net, x, torch.tensor([0, 1]))
    assert maps.shape == x.shape and torch.isfinite(maps).all()


def test_marker_lift_is_the_share_on_the_marker_over_its_area():
    """The marker region is the glyph data.with_marker stamps; the ratio is (share of sum|h| there) / (area share)."""
    x = torch.rand(3, 1, 20, 20)
    region = H.marker_region(x)
    assert region.shape == (3, 1, 20, 20) and region.dtype == torch.bool
    assert region[:, :, 1:4, 1:4].all() and region.sum() == 3 * 9  # a 3x3 glyph at (1, 1) on 20x20 images
    h = torch.zeros(3, 2, 20, 20)
    h[:, :, 1:4, 1:4] = -1.0  # the first image: all mass on the marker
    h[1:, :, 10:, 10:] = 1.0  # the others: also 100 pixels of the same magnitude off the marker
    area = 9 / 400
    assert H.marker_lift(h, region) == pytest.approx([1 / area, 9 / 109 / area, 9 / 109 / area])
    evidence = H.marker_evidence({"shortcut model": {"GAX": H.marker_lift(h, region)}})
    assert H.marker_claim(evidence)["evidence"].mean_a == pytest.approx((1 + 2 * 9 / 109) / area / 3)


def test_correctly_predicted_keeps_the_first_correct_samples(setup):
    from xai_nb_utils.studies.common import System

    model, weight, x = setup
    pred = (x.flatten(1) @ weight.T).argmax(1)
    labels = torch.where(torch.arange(6) % 2 == 0, pred, (pred + 1) % 3)  # samples 0, 2, 4 are correct
    kept = S.correctly_predicted(System("linear", model, x, labels), 2)
    assert torch.equal(kept.x, x[[0, 2]]) and torch.equal(kept.y, labels[[0, 2]])


# ------------------------------------------------------------------------ per-image evidence for the paper's claims

def test_wrong_placements_by_hand_average_to_the_auroc():
    # correct CO (3, 5), wrong CO (4, 5): wrong 4 is below one of two correct (1/2); wrong 5 ties one (1/4)
    co, correct = np.array([3.0, 5.0, 4.0, 5.0]), np.array([True, True, False, False])
    assert E.wrong_placements(co, correct) == pytest.approx([0.5, 0.25])
    assert E.auroc_wrong_detector(co, correct) == pytest.approx(0.375)
    rng = np.random.default_rng(2)
    co, correct = rng.normal(size=200), rng.random(200) < 0.8
    assert E.wrong_placements(co, correct).mean() == pytest.approx(E.auroc_wrong_detector(co, correct))
    assert len(E.wrong_placements(co[correct], correct[correct])) == 0


def score_rows(model, method, co, correct, after_correct, output="logit"):
    """Rows of an AX score table for one model and method (label 0; a wrong prediction predicts 1)."""
    return [{"index": i, "method": method, "combination": "add", "output": output, "co": c, "label": 0,
             "pred": 0 if ok else 1, "correct": ok, "pred_after": 0 if after else 1, "model": model}
            for i, (c, ok, after) in enumerate(zip(co, correct, after_correct))]


def test_table2_rows_use_exact_mcnemar_by_hand():
    before = [True] * 8 + [False] * 2
    scores = pd.DataFrame(score_rows("m", "Saliency", range(10), before, before)  # nothing changes
                          + score_rows("m", "InputXGradient", range(10), before, [False] * 6 + [True] * 4))
    table = A.accuracy_table(scores)
    assert table.loc["m"].to_dict() == {"Baseline": 0.8, "Saliency": 0.8, "InputXGradient": 0.4}
    (ixg,) = A.input_x_gradient_rows(scores)
    evidence = ixg["evidence"]
    assert ixg["claim_id"] == "Table 2, InputXGradient, m" and evidence.test == "exact McNemar" and evidence.n == 10
    assert (evidence.mean_a, evidence.mean_b, evidence.difference) == pytest.approx((0.4, 0.8, -0.4))
    # discordant pairs: 6 lost, 2 gained; two-sided exact binomial p = 2 P(X <= 2 | 8, 1/2) = 2 * 37/256
    assert evidence.p_value == pytest.approx(2 * 37 / 256) and evidence.verdict == "inconclusive"
    (no_gain,) = A.no_gain_rows(scores)
    assert no_gain["evidence"].hypothesis == "non-inferiority" and no_gain["evidence"].margin == A.NO_GAIN_MARGIN
    # 200 images, none changes: the exact bound 1 - 0.025^(1/200) = 0.018 lies below the margin 0.02
    unchanged = pd.DataFrame(score_rows("m", "Saliency", range(200), [True] * 200, [True] * 200))
    assert A.no_gain_rows(unchanged)[0]["evidence"].verdict == "reproduced"
    gained = pd.DataFrame(score_rows("m", "Saliency", range(40), [False] * 40, [True] * 30 + [False] * 10))
    assert A.no_gain_rows(gained)[0]["evidence"].verdict == "contradicted"  # +0.75 is far above the margin
    topped_up = pd.DataFrame(score_rows("m", "Saliency", range(10), before, before)).assign(
        random_sample=[True] * 9 + [False])  # the last image is a top-up wrong prediction: not in Table 2
    assert A.accuracy_table(topped_up).loc["m", "Baseline"] == pytest.approx(8 / 9)


def headline_scores(n: int = 20) -> pd.DataFrame:
    """Two models, two methods, n random images each: on model a method "A" scores 2 + i/n, "B" 1; on model b
    "A" scores 1 and "B" 3 (so each model has its own best method)."""
    rows = []
    for model, values in (("a, net", {"A": lambda i: 2 + i / n, "B": lambda i: 1.0}),
                          ("b, net", {"A": lambda i: 1.0, "B": lambda i: 3.0 + (i % 2)})):
        for method, value in values.items():
            rows += [{**row, "random_sample": True} for row in
                     score_rows(model, method, [value(i) for i in range(n)], [True] * n, [True] * n)]
    return pd.DataFrame(rows)


def test_best_method_is_chosen_on_one_half_and_tested_on_the_other():
    scores = headline_scores()
    half = A.selection_half(scores)
    assert half.groupby([scores["model"], scores["method"]]).sum().tolist() == [10] * 4  # 10 of 20 images each
    assert A.selection_half(scores, seed=0).equals(half) and not A.selection_half(scores, seed=1).equals(half)
    best = A.best_methods(scores, ["a, net", "b, net"])
    assert best == {"a, net": "A", "b, net": "B"}
    tests = A.improvement_tests(scores, best)
    test_images = sorted(set(range(20)) - set(scores[half & (scores["model"] == "a, net")]["index"]))
    a_result = tests["a, net: A vs no heatmap"]
    assert a_result.n == 10 and a_result.estimate == pytest.approx(np.mean([2 + i / 20 for i in test_images]))
    ranking = A.ranking_tests(scores, best)
    assert set(ranking) == {"a, net: A vs b's best B", "b, net: B vs a's best A"}
    assert ranking["a, net: A vs b's best B"].estimate == pytest.approx(a_result.estimate - 1.0)
    same = A.ranking_tests(scores, {"a, net": "A", "b, net": "A"})["b, net: A vs a's best A"]
    assert (same.estimate, same.interval()) == (0.0, (0.0, 0.0))  # one method best everywhere: exactly no effect


def test_shuffled_heatmap_test_by_hand():
    """f(x) = W x with only pixel 0 feeding class 0: Saliency's heatmap is (1, 0, 0, 0), whose CO is 1 - 0 = 1; the
    shuffled copy keeps its 1 on pixel 0 with probability 1/4 (CO 1), elsewhere CO 0."""
    from xai_nb_utils.studies.common import System

    weight = torch.zeros(2, 4)
    weight[0, 0] = 1.0
    model = linear_model(weight)
    n = 40
    x = torch.zeros(n, 1, 1, 4)
    x[:, 0, 0, 0] = 1.0  # predicted and labelled class 0
    system = System("m, lin", model, x, torch.zeros(n, dtype=torch.long), extra={"gradcam_layer": None})
    scores = pd.DataFrame(score_rows("m, lin", "Saliency", [1.0] * n, [True] * n, [True] * n)).assign(random_sample=True)
    (result,) = A.permutation_tests([system], scores, {"m, lin": "Saliency"}).values()
    assert result.n == n // 2 and result.mean_a == pytest.approx(1.0)
    assert 0.0 <= result.mean_b < 1.0 and result.estimate == pytest.approx(1.0 - result.mean_b)
    assert result.mean_b * result.n == pytest.approx(round(result.mean_b * result.n))  # each shuffled CO is 0 or 1


def test_gap_tests_are_delong_aurocs_over_all_images():
    correct = [True] * 20 + [False] * 6
    separated = pd.DataFrame(score_rows("m", "Saliency", list(range(10, 30)) + list(range(6)), correct, correct))
    (result,) = A.gap_tests(separated, ["m"]).values()
    assert result.test == "DeLong AUROC" and result.n == 6 and result.mean_a == 1.0  # every wrong one scores lower
    reversed_ = pd.DataFrame(score_rows("m", "Saliency", list(range(20)) + list(range(100, 106)), correct, correct))
    assert A.gap_tests(reversed_, ["m"])["m, Saliency"].estimate == -0.5
    one_wrong = pd.DataFrame(score_rows("m", "Saliency", range(5), [True] * 4 + [False], [True] * 5))
    assert A.gap_tests(one_wrong, ["m"]) == {}  # no AUROC test with a single wrong prediction
    gaps = pd.DataFrame([{"model": model, "method": f"M{i}", "auroc": auroc + 0.01 * i}
                         for i in range(6) for model, auroc in ((A.WELL_TRAINED, 0.9), (A.UNDER_TRAINED, 0.6))])
    assert A.wider_gap_when_well_trained(gaps).all()


def test_layer_evidence_pairs_the_images():
    rows = [{"index": i, "combination": "mul", "layer": layer, "co": i + shift}
            for layer, shift in (("deep", 2.0), ("first", 0.0)) for i in (3, 1, 2, 0)]
    evidence = A.layer_evidence(pd.DataFrame(rows), "first", "deep", "mul")
    assert evidence.n == 4 and evidence.difference == pytest.approx(2.0) and evidence.mean_b == pytest.approx(1.5)
    noisy = [{"index": i, "combination": combination, "layer": layer, "co": i + (0.1 * (i % 2) if layer == "deep" else 0)}
             for combination in ("add", "mul") for layer in ("deep", "first") for i in range(30)]
    mul, add = A.layer_rows(pd.DataFrame(noisy), "first", "deep")
    assert mul["claim_id"] == "Fig. 8, x * h" and add["claim_id"] == "Fig. 8, x + h"
    assert add["evidence"].hypothesis == "equivalence" and add["evidence"].verdict == "reproduced"  # +0.05 within 1


def test_extreme_intensity_share_per_image_and_pooled():
    x = torch.tensor([[[[0.0, 0.5], [0.95, 0.5]]], [[[0.5, 0.5], [0.5, 0.5]]]])  # image 0: half extreme
    h = torch.tensor([[[[3.0, 1.0], [0.0, 0.0]]], [[[1.0, 1.0], [1.0, 1.0]]]])
    share = H.extreme_intensity_share(x, h)
    assert share["mass_share"].tolist() == pytest.approx([0.75, 0.0])
    assert share["pixel_share"].tolist() == pytest.approx([0.5, 0.0])
    assert share["ratio"][0] == pytest.approx(1.5) and torch.isnan(share["ratio"][1])  # no extreme pixel
    pooled = H.extreme_intensity_share(x.reshape(1, -1), h.reshape(1, -1))
    assert (float(pooled["mass_share"][0]), float(pooled["ratio"][0])) == pytest.approx((3 / 8, 3 / 8 / (2 / 8)))


def test_gax_reach_test_and_ax_rows_use_each_images_final_co():
    co = torch.tensor([[1.0, 5.0, float("nan")], [1.0, 2.0, 3.0], [0.0, 6.0, float("nan")]])
    result = G.GaxResult(torch.zeros(3, 1), co, torch.tensor([1, 2, 1]), torch.tensor([True, False, True]),
                         target=5.0)
    assert H.final_co(result).tolist() == [5.0, 3.0, 6.0]
    (reach,) = H.reach_tests({"m": result}).values()
    assert reach.test == "exact binomial" and reach.n == 3 and reach.estimate == pytest.approx(2 / 3 - 1)
    scores = pd.DataFrame([{"model": "m", "index": i, "method": method, "co": value}
                           for method, values in (("A", (1.0, 4.0, 0.0)), ("B", (2.0, 1.0, 7.0)))
                           for i, value in enumerate(values)])
    assert H.best_ax_co(scores, "m").tolist() == [2.0, 4.0, 7.0]
    (versus,) = H.gax_vs_ax_rows({"m": result}, scores)
    assert versus["evidence"].difference == pytest.approx(((5 - 2) + (3 - 4) + (6 - 7)) / 3)


def test_rule_target_and_its_premise():
    scores = pd.DataFrame([{"model": "m", "method": method, "co": float(value)}
                           for method, top in (("A", 10), ("B", 30)) for value in range(top + 1)])
    assert H.rule_target(scores, "m") == 27.0  # B's 90th percentile is 27.0 (A's 9.0)
    assert H.gax_targets({"m": SimpleNamespace(extra={"dataset": "mnist"})}, scores) == {"m": 27.0}
    assert H.gax_targets({"m": SimpleNamespace(extra={"dataset": "imagenet"})}, scores) == {"m": 48.0}
    assert H.target_premise(scores, {"m": 27.0})[0] and not H.target_premise(scores, {"m": 20.0})[0]


def test_claims_summary_counts_the_verdicts():
    summary = S.claims_summary([{"claim_id": "A", "verdict": "reproduced", "n": 3, "kind": "table cell"},
                                {"claim_id": "B", "verdict": "inconclusive", "n": 2, "kind": "table cell"},
                                {"claim_id": "C", "verdict": "reproduced", "n": 5, "kind": "reading of a remark"}])
    assert summary.splitlines() == ["3 secondary rows: reproduced 2, inconclusive 1",
                                    "  [table cell] A: reproduced (n = 3)", "  [table cell] B: inconclusive (n = 2)",
                                    "  [reading of a remark] C: reproduced (n = 5)"]


def test_extremeness_correlation_and_the_intensity_headroom_premise():
    x = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]).view(1, 1, 1, 5).repeat(2, 1, 1, 1)
    change = torch.stack([torch.tensor([3.0, 1.0, 0.0, 1.5, 2.0]), torch.tensor([0.0, 1.0, 3.0, 1.0, 0.0])])
    rho = H.extremeness_correlation(x, change.view(2, 1, 1, 5))
    # image 0: |x - 0.5| ranks (4.5, 2.5, 1, 2.5, 4.5) against |change| ranks (5, 2, 1, 3, 4): deviations from 3
    # (1.5, -0.5, -2, -0.5, 1.5) and (2, -1, -2, 0, 1), covariance 9, variances 9 and 10; image 1 the reverse order
    assert rho[0] == pytest.approx(9 / math.sqrt(9 * 10)) and rho[1] == pytest.approx(-1.0)
    binary = SimpleNamespace(x=torch.tensor([0.0, 1.0, 1.0, 0.05, 0.5]).view(1, 1, 1, 5))  # 1 intermediate of 5
    grey = SimpleNamespace(x=torch.full((1, 1, 1, 4), 0.5))
    passed, detail, names = H.intensity_headroom({"binary": binary, "grey": grey})
    assert passed and names == ["grey"] and "binary: 20.0%" in detail
    assert not H.intensity_headroom({"binary": binary})[0]
    tests = H.extreme_intensity_tests({"m": SimpleNamespace(x=x)}, {"m": {"GAX h - h0": change.view(2, 1, 1, 5)}}, ["m"])
    assert tests["m: rank correlation of |h - h0| with |x - 0.5|"].estimate == pytest.approx((rho[0] + rho[1]) / 2)
    unchanged = torch.cat([change, torch.zeros(1, 5)]).view(3, 1, 1, 5)  # a third image GAX did not change
    x3 = torch.cat([x, x[:1]])
    assert np.isnan(H.extremeness_correlation(x3, unchanged)[2])
    kept = H.extreme_intensity_tests({"m": SimpleNamespace(x=x3)}, {"m": {"GAX h - h0": unchanged}}, ["m"])
    assert kept["m: rank correlation of |h - h0| with |x - 0.5|"].n == 2
    assert H.extreme_intensity_tests({"m": SimpleNamespace(x=x3[2:])}, {"m": {"GAX h - h0": unchanged[2:]}}, ["m"]) == {}
