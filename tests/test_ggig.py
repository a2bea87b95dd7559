"""GGIG / G3 / GEG / unscaled IG on models whose attributions can be derived by hand."""
import pytest
import torch
from torch import nn

from xai_nb_utils.core.tensors import normalize_maps_numpy
from xai_nb_utils.methods import explain, ggig
from xai_nb_utils.metrics.regions import region_share
from xai_nb_utils.metrics.similarity import spearman, ssim
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
    sigma, n_models, max_draws, chunk = 0.3, 5, 40, 7
    result = ggig.geg_explain(model, x, target, n_models=n_models, sigma=sigma, max_draws=max_draws,
                              chunk_size=chunk, seed=3)
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
    result = ggig.geg_explain(model, x, 0, n_models=10_000, sigma=0.1, max_draws=4000, chunk_size=500)
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
                (ggig.ggig, dict(steps=5, iterations=3, lr=0.05, aggregate="trapezoid", batch_size=7)),
                (ggig.geg, dict(n_models=6, sigma=0.05, max_draws=60, chunk_size=8)),
                (ggig.geg, dict(n_models=6, sigma=0.05, max_draws=60, chunk_size=8, aggregate="mean", max_rows=8))]
    for method, kwargs in settings:
        batch = method(model, x, target, **kwargs)
        single = torch.cat([method(model, x[i:i + 1], target[i:i + 1], **kwargs) for i in range(len(x))])
        torch.testing.assert_close(batch, single, atol=1e-6, rtol=1e-5)
    stats = ggig.geg_explain(model, x, target, n_models=6, sigma=0.05, max_draws=60, chunk_size=8)
    other_chunks = ggig.geg_explain(model, x, target, n_models=6, sigma=0.05, max_draws=60, chunk_size=3)
    torch.testing.assert_close(stats.maps, other_chunks.maps, atol=1e-6, rtol=1e-5)
    assert torch.equal(stats.draws, other_chunks.draws) and torch.equal(stats.accepted, other_chunks.accepted)


def test_seeded_geg_on_a_batch_equals_one_image_at_a_time():
    # the "batch of N vs N calls of one": every image sees the same seeded sequence of perturbed models
    model, x = tiny_cnn(seed=2), torch.rand(3, 1, 8, 8)
    target = model(x).argmax(1)
    kwargs = dict(n_models=4, sigma=0.1, max_draws=40, chunk_size=6, seed=11)
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
    agreement, random_summary = ggig_study.randomization_test(model, x, target, methods, seed=4)
    randomized = randomized_copy(model, None, seed=4)
    for row in agreement.itertuples():
        method, kwargs = methods[row.method]
        trained_map = normalize_maps_numpy(explain(method, model, x, target, **kwargs), absolute=True)
        random_maps = explain(method, randomized, x, target, **kwargs)
        random_map = normalize_maps_numpy(random_maps, absolute=True)
        assert row.spearman == pytest.approx(spearman(trained_map, random_map).mean())
        assert row.ssim == pytest.approx(ssim(trained_map, random_map).mean())
        expected = ggig_study.similarity_summary({row.method: random_maps}, x)
        got = random_summary[random_summary.method == row.method].reset_index(drop=True)
        assert list(got["metric"]) == list(expected["metric"])
        torch.testing.assert_close(torch.tensor(got[["mean", "ci"]].to_numpy()),
                                   torch.tensor(expected[["mean", "ci"]].to_numpy()))


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


def test_paper_order_and_randomized_model():
    import pandas as pd

    rows = [{"method": m, "metric": "pearson", "mean": v, "ci": 0.0}
            for m, v in {"GEG": 0.9, "GGIG": 0.8, "IG": 0.5, "GRAD": 0.7}.items()]
    rows += [{"method": m, "metric": "ssim", "mean": v, "ci": 0.0}
             for m, v in {"GEG": 0.9, "GGIG": 0.6, "IG": 0.5, "GRAD": 0.7}.items()]
    assert ggig_study.paper_order_holds(pd.DataFrame(rows)) == {"pearson": True, "ssim": False}
    model = tiny_cnn()
    before = [p.clone() for p in model.parameters()]
    randomized = randomized_copy(model, None, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert not any(torch.equal(a, b) for a, b in zip(before, randomized.parameters()))
