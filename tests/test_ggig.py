"""GGIG / G3 / GEG / unscaled IG on models whose attributions can be derived by hand."""
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from xai_nb_utils.core.tensors import normalize_maps_numpy
from xai_nb_utils.methods import explain, ggig
from xai_nb_utils.metrics.regions import region_share
from xai_nb_utils.metrics.similarity import SIMILARITY_METRICS, similarity_to_input, spearman, ssim
from xai_nb_utils.models.randomize import randomized_copy
from xai_nb_utils.studies import ggig_study


class Linear(nn.Module):
    """logits = W flatten(x) + b: every gradient method gives W[target]."""

    def __init__(self, weight, bias):
        super().__init__()
        self.fc = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.fc.weight.copy_(weight)
            self.fc.bias.copy_(bias)

    def forward(self, x):
        return self.fc(x.flatten(1))


class Quadratic(nn.Module):
    """Class 0 logit -||x - c||^2, class 1 logit 0: the gradient is -2 (x - c)."""

    def __init__(self, centre):
        super().__init__()
        self.register_buffer("centre", centre)

    def forward(self, x):
        score = -((x - self.centre) ** 2).flatten(1).sum(1)
        return torch.stack([score, torch.zeros_like(score)], 1)


class Square(nn.Module):
    """Class 0 logit sum(x^2): gradient 2x, so along the path from 0 the gradient at alpha is 2 alpha x."""

    def forward(self, x):
        score = (x ** 2).flatten(1).sum(1)
        return torch.stack([score, -score], 1)


def tiny_cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 3 * 3, 4)).eval()


def test_linear_model_every_method_gives_the_weight_row():
    torch.manual_seed(0)
    weight, bias = torch.randn(3, 8), torch.randn(3)
    model = Linear(weight, bias)
    x = torch.rand(2, 1, 2, 4)
    target = torch.tensor([2, 0])
    expected = weight[target].view(2, 1, 2, 4)
    for maps in (ggig.g3(model, x, target, iterations=5, lr=0.1),
                 ggig.ggig(model, x, target, steps=4, iterations=3, lr=0.1),
                 ggig.ggig(model, x, target, steps=4, iterations=3, lr=0.1, aggregate="trapezoid"),
                 ggig.ig_unscaled(model, x, target) * 51 / 50):
        torch.testing.assert_close(maps, expected)


def test_g3_on_a_quadratic_matches_the_closed_form():
    # x_{k+1} - c = (1 - 2 lr)(x_k - c), gradient g_k = -2 (1 - 2 lr)^k (x_0 - c): the max over k = 0..n-1 is
    # g_0 where x_0 < c (positive, shrinking) and g_{n-1} where x_0 > c (negative, growing towards 0).
    centre = torch.tensor([[[[0.5, 0.5, 0.5]]]])
    x = torch.tensor([[[[0.1, 0.9, 0.5]]]])
    lr, n = 0.1, 4
    maps = ggig.g3(Quadratic(centre), x, 0, iterations=n, lr=lr)
    shrink = (1 - 2 * lr) ** (n - 1)
    expected = torch.tensor([[[[-2 * (0.1 - 0.5), -2 * shrink * (0.9 - 0.5), 0.0]]]])
    torch.testing.assert_close(maps, expected)
    torch.testing.assert_close(ggig.g3(Quadratic(centre), x, 0, iterations=1), -2 * (x - centre))


def test_ggig_and_ig_on_x_squared_are_the_path_max_and_the_path_mean():
    x = torch.tensor([[[[0.2, -0.4, 1.0]]]])
    model = Square()
    # gradient 2 alpha x, alpha in {0, 1/4, ..., 1}: max is 2x where x > 0 and 0 where x < 0; integral is x
    maps_max = ggig.ggig(model, x, 0, steps=4, iterations=1)
    torch.testing.assert_close(maps_max, torch.tensor([[[[0.4, 0.0, 2.0]]]]))
    maps_trapezoid = ggig.ggig(model, x, 0, steps=4, iterations=1, aggregate="trapezoid")
    torch.testing.assert_close(maps_trapezoid, x)  # trapezoid rule is exact for a linear integrand
    torch.testing.assert_close(ggig.ig_unscaled(model, x, 0, n_steps=5), x * 4 / 5)  # captum's weights sum to 4/5


def test_ggig_trapezoid_with_one_iteration_equals_captum_unscaled_ig():
    model, x = tiny_cnn(), torch.rand(3, 1, 8, 8)
    target = torch.tensor([0, 1, 3])
    ours = ggig.ggig(model, x, target, steps=10, iterations=1, aggregate="trapezoid")
    torch.testing.assert_close(ours * 10 / 11, ggig.ig_unscaled(model, x, target, n_steps=11), atol=1e-6, rtol=1e-4)


def test_geg_acceptance_and_max_match_a_by_hand_replay():
    torch.manual_seed(1)
    model = Linear(torch.randn(3, 4), torch.tensor([2.0, 0.0, 0.5]))
    x = torch.rand(2, 1, 2, 2)
    target = model(x).argmax(1)
    sigma, n_models, max_draws = 0.3, 5, 40
    result = ggig.geg_explain(model, x, target, n_models=n_models, sigma=sigma, max_draws=max_draws, seed=3)
    # replay: the same draws (drawn all at once), evaluated by hand
    params = ggig.perturbed_parameters(model, sigma, max_draws, torch.Generator().manual_seed(3))
    flat = x.flatten(1)
    for i in range(len(x)):
        p0 = model(x[i:i + 1]).softmax(1)[0]
        kept = []
        for k in range(max_draws):
            weight, bias = params["fc.weight"][k], params["fc.bias"][k]
            probs = (weight @ flat[i] + bias).softmax(0)
            if probs.argmax() == target[i] and probs[target[i]] >= p0[target[i]] and len(kept) < n_models:
                kept.append((k, weight[target[i]]))
        assert result.accepted[i] == len(kept)
        expected_draws = kept[-1][0] + 1 if len(kept) == n_models else max_draws
        assert result.draws[i] == expected_draws
        torch.testing.assert_close(result.maps[i].flatten(), torch.stack([w for _, w in kept]).amax(0))


def test_geg_acceptance_rate_is_one_half_when_only_the_bias_matters():
    # x = 0: logits = b + db, two classes with a wide margin. The probability of class 0 does not drop iff
    # db0 - db1 >= 0, which has probability 1/2; the prediction then cannot change.
    model = Linear(torch.ones(2, 4), torch.tensor([5.0, 0.0]))
    x = torch.zeros(1, 1, 2, 2)
    result = ggig.geg_explain(model, x, 0, n_models=10_000, sigma=0.1, max_draws=4000)
    rate = result.acceptance_rate.item()
    assert result.draws.item() == 4000
    assert abs(rate - 0.5) < 4 * (0.25 / 4000) ** 0.5


def test_geg_no_accepted_draw_falls_back_to_the_gradient():
    # logit_0 = -||x - c||^2 with c a parameter and x = c: every perturbation of c lowers the logit, so with
    # accept_on="logit" no draw is accepted (the prediction also flips to class 1) and the budget is spent.
    model = Quadratic(torch.zeros(1, 1, 2, 2))
    model.centre = nn.Parameter(torch.rand(1, 1, 2, 2))
    x = model.centre.detach().clone()
    result = ggig.geg_explain(model, x, 0, n_models=3, sigma=0.01, max_draws=20, accept_on="logit")
    assert result.accepted.item() == 0 and result.draws.item() == 20
    torch.testing.assert_close(result.maps, ggig.logit_gradient(model, x, torch.tensor([0])))


def test_batching_gives_the_same_maps_as_one_by_one():
    model, x = tiny_cnn(), torch.rand(4, 1, 8, 8)
    target = model(x).argmax(1)
    settings = [(ggig.g3, dict(iterations=4, lr=0.05)),
                (ggig.ggig, dict(steps=5, iterations=3, lr=0.05)),
                (ggig.ggig, dict(steps=5, iterations=3, lr=0.05, aggregate="trapezoid", chunk=7)),
                (ggig.geg, dict(n_models=6, sigma=0.05, max_draws=60)),
                (ggig.geg, dict(n_models=6, sigma=0.05, max_draws=60, aggregate="mean", max_rows=3))]
    for method, kwargs in settings:
        batch = method(model, x, target, **kwargs)
        single = torch.cat([method(model, x[i:i + 1], target[i:i + 1], **kwargs) for i in range(len(x))])
        torch.testing.assert_close(batch, single, atol=1e-6, rtol=1e-5)
    stats = ggig.geg_explain(model, x, target, n_models=6, sigma=0.05, max_draws=60)
    other_blocks = ggig.geg_explain(model, x, target, n_models=6, sigma=0.05, max_draws=60, max_rows=3)
    torch.testing.assert_close(stats.maps, other_blocks.maps, atol=1e-6, rtol=1e-5)
    assert torch.equal(stats.draws, other_blocks.draws) and torch.equal(stats.accepted, other_blocks.accepted)


def test_seeded_geg_on_a_batch_equals_one_image_at_a_time():
    # the "batch of N vs N calls of one": every image sees the same seeded sequence of perturbed models
    model, x = tiny_cnn(seed=2), torch.rand(3, 1, 8, 8)
    target = model(x).argmax(1)
    kwargs = dict(n_models=4, sigma=0.1, max_draws=40, seed=11)
    batch = explain("geg", model, x, target, **kwargs)
    single = torch.cat([explain("geg", model, x[i:i + 1], target[i:i + 1], **kwargs) for i in range(len(x))])
    torch.testing.assert_close(batch, single, atol=1e-5, rtol=1e-5)
    reordered = explain("geg", model, x.flip(0), target.flip(0), **kwargs).flip(0)
    torch.testing.assert_close(reordered, batch, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(explain("geg", model, x, target, **{**kwargs, "seed": 12}), batch)


def test_randomization_test_compares_rescaled_maps_of_a_randomized_copy():
    model, x = tiny_cnn(), torch.rand(2, 1, 8, 8)
    target = model(x).argmax(1)
    methods = {"GRAD": ("saliency", {}), "GGIG": ("ggig", dict(steps=3, iterations=2, lr=0.05))}
    trained_maps = {name: explain(method, model, x, target, **kwargs) for name, (method, kwargs) in methods.items()}
    agreement, random_scores = ggig_study.randomization_test(model, x, target, methods, trained_maps, seed=4)
    randomized = randomized_copy(model, None, seed=4)
    assert list(agreement["method"]) == ["GRAD", "GRAD", "GGIG", "GGIG"]  # one row per method and image
    for name, (method, kwargs) in methods.items():
        got = agreement[agreement.method == name]
        trained_map = normalize_maps_numpy(trained_maps[name], absolute=True)
        random_maps = explain(method, randomized, x, target, **kwargs)
        random_map = normalize_maps_numpy(random_maps, absolute=True)
        np.testing.assert_allclose(got["spearman"], spearman(trained_map, random_map))
        np.testing.assert_allclose(got["ssim"], ssim(trained_map, random_map))
        pd.testing.assert_frame_equal(random_scores[name], similarity_to_input(random_maps, x))
    means = ggig_study.method_means(agreement)
    assert list(means["method"]) == ["GRAD", "GGIG"]
    assert means.set_index("method").loc["GGIG", "spearman"] == pytest.approx(
        agreement[agreement.method == "GGIG"]["spearman"].mean())


def scores_of(values: dict) -> dict:
    """Per-image scores where every metric of a method has the same values."""
    return {name: pd.DataFrame({metric: np.asarray(v, dtype=float) for metric in SIMILARITY_METRICS})
            for name, v in values.items()}


def cost_table(accepted_per_image: float) -> pd.DataFrame:
    return pd.DataFrame([{"method": "GEG", "seconds_per_image": 0.1, "acceptance_rate": 0.5,
                          "accepted_per_image": accepted_per_image}])


def test_similarity_claims_compare_each_proposed_method_with_each_baseline_on_pearson():
    base = np.linspace(0.2, 0.6, 12)
    # GEG = GRAD + 0.1 on every digit, GGIG = IG - 0.05 + a wiggle; other metrics are never read
    scores = scores_of({"GRAD": base, "IG": base + 0.05, "GGIG": base + np.linspace(0, 0.01, 12), "GEG": base + 0.1})
    scores["GEG"]["spearman"] = 0.0
    recorded = ggig_study.similarity_claims(scores, cost_table(10.0), n_models=10)
    assert set(recorded) == {"H1", "H2", "H3", "H4"}
    (h1,) = recorded["H1"]["tests"].items()
    assert h1[0] == "GEG vs GRAD" and (h1[1].n, h1[1].test) == (12, "paired t")
    assert h1[1].estimate == pytest.approx(0.1) and h1[1].stats["sd"] == pytest.approx(0.0, abs=1e-12)
    (h4,) = recorded["H4"]["tests"].values()
    assert h4.estimate == pytest.approx(0.005 - 0.05)  # GGIG's mean wiggle 0.005 minus IG's offset
    assert set(recorded["H1"]["premises"]) == {"headroom", "GEG accepted its models"}
    assert set(recorded["H3"]["premises"]) == {"headroom"}
    assert all(passed for claim in recorded.values() for passed, _ in claim["premises"].values())
    # 9 of 10 models per digit on average: GEG's premise fails; a baseline at 0.95 leaves no headroom
    scores["IG"]["pearson"] = 0.95
    failed = ggig_study.similarity_claims(scores, cost_table(9.0), n_models=10)
    assert not failed["H1"]["premises"]["GEG accepted its models"][0]
    assert not failed["H2"]["premises"]["headroom"][0] and failed["H1"]["premises"]["headroom"][0]


def test_geg_best_row_needs_the_minimum_effect():
    base = np.linspace(0.2, 0.6, 24)
    wiggle = np.tile([-0.001, 0.001], 12)
    row = ggig_study.geg_best_row(scores_of({"GEG": base + 0.005 + wiggle, "GGIG": base}))
    assert row["kind"] == "reading of a remark" and row["labels"] == ("GEG", "GGIG")  # 24 digits: decided
    # +0.005 on every digit is significant, but below the minimum effect 0.01 and its CI within +-0.01: no effect
    assert row["evidence"].difference == pytest.approx(0.005) and row["evidence"].verdict == "no effect"
    row = ggig_study.geg_best_row(scores_of({"GEG": base + 0.05 + wiggle, "GGIG": base}))
    assert row["evidence"].verdict == "reproduced"


def test_metric_differences_are_paired_means_with_intervals():
    base = np.linspace(0.2, 0.6, 12)
    table = ggig_study.metric_differences(scores_of({"GEG": base + 0.1, "GRAD": base}), [("GEG", "GRAD")])
    assert list(table.index) == ["GEG - GRAD"] and list(table.columns) == list(SIMILARITY_METRICS)
    assert table.loc["GEG - GRAD", "ssim"] == "+0.1000 [+0.1000, +0.1000]"


def test_randomization_claim_pairs_each_proposed_method_with_each_baseline():
    spearman_values = {"GRAD": [0.5, 0.4, 0.6, 0.5, 0.45, 0.55], "IG": [0.5, 0.4, 0.6, 0.5, 0.45, 0.55],
                       "GGIG": [0.8, 0.7, 0.9, 0.8, 0.75, 0.85], "GEG": [0.5, 0.4, 0.6, 0.5, 0.45, 0.55]}
    agreement = pd.concat([pd.DataFrame({"method": name, "spearman": v, "ssim": 0.1})
                           for name, v in spearman_values.items()], ignore_index=True)
    claim = ggig_study.randomization_claim(agreement)
    assert set(claim["tests"]) == {"GGIG vs GRAD", "GGIG vs IG", "GEG vs GRAD", "GEG vs IG"}
    # GGIG's Spearman is 0.3 higher on every digit (its maps change less); GEG's is the same as the baselines'
    assert claim["tests"]["GGIG vs GRAD"].estimate == pytest.approx(0.3)
    assert claim["tests"]["GEG vs IG"].estimate == pytest.approx(0.0)
    passed, detail = claim["premises"]["GRAD and IG change"]
    assert passed and "GRAD mean Spearman 0.500" in detail
    unchanged = agreement.assign(spearman=0.95)
    assert not ggig_study.randomization_claim(unchanged)["premises"]["GRAD and IG change"][0]


def test_background_study_shares_by_hand():
    # a linear model: every gradient method's map is W[target], the same on black and on the checkerboard
    weight = torch.zeros(2, 16)
    weight[0, 0], weight[0, 5], weight[1] = 3.0, 1.0, 1.0
    model = Linear(weight, torch.tensor([10.0, 0.0]))
    x = torch.zeros(2, 1, 4, 4)
    x[:, :, 0, 0] = 1.0
    x[1, :, 1, 1] = 1.0  # second digit: pixel 5 is a stroke too
    methods = {"GRAD": ("saliency", {})}
    clean = {"GRAD": explain("saliency", model, x, 0)}
    table, boarded, maps = ggig_study.background_study(model, x, torch.tensor([0, 0]), methods, clean, square=2)
    # |W[0]| has mass 3 on pixel 0 (a stroke) and 1 on pixel 5: background for digit 0, stroke for digit 1
    np.testing.assert_allclose(table["background_share_black"], [0.25, 0.0])
    np.testing.assert_allclose(table["background_share_checkerboard"], [0.25, 0.0])
    np.testing.assert_allclose(table["background_area"], [15 / 16, 14 / 16])
    assert table.attrs["accuracy_black"] == 1.0 and table.attrs["background_area"] == pytest.approx(29 / 32)
    torch.testing.assert_close(boarded, ggig_study.checkerboard_background(x, square=2))


def background_table(accuracy_checkerboard: float) -> pd.DataFrame:
    n, rows = 24, []  # secondary rows are decided from 20 digits on
    for name, clean_pearson in {"GRAD": 0.4, "IG": 0.5, "GGIG": 0.6, "GEG": 0.45}.items():
        rows.append(pd.DataFrame({"method": name, "background_share_black": np.linspace(0.3, 0.4, n),
                                  "background_share_checkerboard": np.linspace(0.3, 0.4, n) + 0.2,
                                  "background_area": 0.8,
                                  "pearson_with_clean_digit": clean_pearson + np.linspace(0, 0.01, n),
                                  "pearson_with_checkerboard_input": 0.3}))
    table = pd.concat(rows, ignore_index=True)
    table.attrs.update(accuracy_black=1.0, accuracy_checkerboard=accuracy_checkerboard)
    return table


def test_background_claim_compares_each_share_with_the_uniform_share():
    claim = ggig_study.background_claim(background_table(0.75))
    assert set(claim["tests"]) == {"GRAD vs uniform", "IG vs uniform", "GGIG vs uniform", "GEG vs uniform"}
    assert claim["tests"]["GGIG vs uniform"].estimate == pytest.approx(0.55 - 0.8)
    assert claim["premises"]["digits recognised on the checkerboard"][0]
    assert not ggig_study.background_claim(background_table(0.25))["premises"][
        "digits recognised on the checkerboard"][0]


def test_concept_rows_need_both_baselines():
    rows = {row["claim_id"]: row for row in ggig_study.concept_rows(background_table(1.0))}
    ggig_row = rows["Fig. 7: GGIG retains the digit better than GRAD and IG"]
    # GGIG beats GRAD by 0.2 and IG by 0.1 on every digit: both hold
    assert ggig_row["evidence"].verdict == "reproduced" and ggig_row["labels"][0] == "GGIG"
    # GEG beats GRAD by 0.05 but is 0.05 below IG on every digit: the IG pair decides
    geg_row = rows["Fig. 7: GEG retains the digit better than GRAD and IG"]
    assert geg_row["evidence"].verdict == "contradicted" and geg_row["labels"] == ("GEG", "IG")
    assert geg_row["evidence"].difference == pytest.approx(-0.05)


def test_finding_names_each_claim_with_its_verdict_and_interval():
    rows = [{"claim_id": "H1", "label": "GEG closer", "verdict": "reproduced", "reason": "all show it",
             "n": 103, "estimate": 0.02, "ci_low": 0.01, "ci_high": 0.03, "deciding_component": "GEG vs GRAD"},
            {"claim_id": "H5", "label": "as sensitive", "verdict": "inconclusive",
             "reason": "underpowered: n = 6 is below the planned 40", "n": 6, "estimate": 0.1, "ci_low": -0.1,
             "ci_high": 0.3, "deciding_component": "GGIG vs IG"}]
    text = ggig_study.finding(rows, 0.95)
    assert "H1 GEG closer: reproduced, GEG vs GRAD +0.02 [+0.01, +0.03], n = 103" in text
    assert "H5 as sensitive: inconclusive (underpowered), GGIG vs IG" in text and "95.0%" in text


def test_trained_vs_random_compares_the_same_digits():
    trained = scores_of({"GRAD": [0.6, 0.8]})
    random = scores_of({"GRAD": [0.2, 0.4]})
    agreement = pd.DataFrame({"method": ["GRAD"], "spearman": [0.5], "ssim": [0.1]})
    table = ggig_study.trained_vs_random(trained, random, agreement)
    assert table.loc["GRAD", "pearson trained"] == pytest.approx(0.7)
    assert table.loc["GRAD", "pearson random"] == pytest.approx(0.3)
    assert table.loc["GRAD", "spearman"] == 0.5


def test_bad_arguments_name_the_parameter():
    model, x = tiny_cnn(), torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match="aggregate"):
        ggig.ggig(model, x, 0, aggregate="mean")
    with pytest.raises(ValueError, match="accept_on"):
        ggig.geg(model, x, 0, accept_on="loss")
    with pytest.raises(ValueError, match="iterations"):
        ggig.g3(model, x, 0, iterations=0)


def test_checkerboard_keeps_strokes_and_fills_the_background():
    digit = torch.zeros(1, 1, 4, 4)
    digit[..., 0, 0] = 1.0
    out = ggig_study.checkerboard_background(digit, square=2, low=0.0, high=0.5)
    expected_board = torch.tensor([[0, 0, .5, .5], [0, 0, .5, .5], [.5, .5, 0, 0], [.5, .5, 0, 0]])
    expected = expected_board.clone()
    expected[0, 0] = 1.0
    torch.testing.assert_close(out[0, 0], expected)
    maps = torch.tensor([[[[1.0, -1.0], [2.0, 0.0]]]])
    background = torch.tensor([[[[False, True], [True, False]]]])
    assert region_share(maps, background, magnitude="abs").item() == pytest.approx(0.75)


def test_randomized_copy_leaves_the_model_unchanged():
    model = tiny_cnn()
    before = [p.clone() for p in model.parameters()]
    randomized = randomized_copy(model, None, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert not any(torch.equal(a, b) for a, b in zip(before, randomized.parameters()))
