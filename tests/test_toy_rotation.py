"""The 2D rotation toy (Tjoa & Guan, section 2): hand-derived values, the closed forms eq. (3)/(4) vs autograd."""
import math

import numpy as np
import pytest
import torch

from xai_nb_utils.methods import toy_rotation as tr
from xai_nb_utils.studies import gax_toy

K_ETA = 1.2


def test_unrotated_pure_class_one_by_hand():
    # theta = 0, a1 = 1, a2 = 0: x = (1, 0), grad Delta = (x1 (1 - 0), -(1 - 0) x2) = (1, 0), h = (1 + k eta, 0)
    assert torch.allclose(tr.sample(0.0, 1.0, 0.0), torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    assert torch.allclose(tr.delta_gradient(0.0, 1.0, 0.0), torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    assert torch.allclose(tr.closed_form_heatmap(0.0, 1.0, 0.0, K_ETA), torch.tensor([[2.2, 0.0]], dtype=torch.float64))


def test_quarter_turn_by_hand():
    # theta = pi/2, a1 = 1, a2 = 0: x = (0, 1); W^-1 = [[0, 1], [-1, 0]], grad_2 = -(0 - 1) * 1 = 1 -> h = (0, 2.2)
    h = tr.closed_form_heatmap(math.pi / 2, 1.0, 0.0, K_ETA)
    assert torch.allclose(h, torch.tensor([[0.0, 2.2]], dtype=torch.float64), atol=1e-12)


def test_delta_matches_paper_eq3_written_out():
    theta, a1, a2 = 0.4, 0.8, 0.15
    w = torch.tensor([[1.3, -0.7]], dtype=torch.float64)
    c, s = math.cos(theta), math.sin(theta)
    w11, w12, w21, w22 = c, -s, s, c
    i11, i12, i21, i22 = c, s, -s, c  # W^-1
    by_hand = (1.3 * (i11 - i21) * (a1 * w11 + a2 * w12) - (-0.7) * (i22 - i12) * (a1 * w21 + a2 * w22))
    assert tr.delta(w, theta, a1, a2).item() == pytest.approx(by_hand, abs=1e-12)


@pytest.mark.parametrize("k", [-2, -1, 0, 1])
def test_homogeneous_angles_leave_one_component_and_scale_the_other(k):
    # At theta = (2k+1) pi/4 one coefficient W^-1_1i - W^-1_2i vanishes (h_i = x_i); the other component is scaled
    # by 1 + k eta (a1 - a2), and the gain ||grad Delta||^2 is (a1 - a2)^2.
    theta, a1, a2 = (2 * k + 1) * math.pi / 4, 0.8, 0.3
    x, h = tr.sample(theta, a1, a2)[0], tr.closed_form_heatmap(theta, a1, a2, K_ETA)[0]
    ratios = sorted((h / x).tolist())
    assert ratios == pytest.approx([1.0, 1.0 + K_ETA * (a1 - a2)], abs=1e-12)
    assert tr.ascent_gain(theta, a1, a2).item() == pytest.approx((a1 - a2) ** 2, abs=1e-12)
    assert tr.homogeneous_angles() == pytest.approx([-3 * math.pi / 4, -math.pi / 4, math.pi / 4, 3 * math.pi / 4])


def test_gain_extremes_over_theta_by_hand():
    # ||grad||^2 = S + (D/2) sin 4t + (P/2)(cos 4t - 1) with S = a1^2 + a2^2, D = a1^2 - a2^2, P = 2 a1 a2:
    # min (a1 - a2)^2 / 2, max 3/2 S - a1 a2.
    a1, a2 = 0.9, 0.2
    gain = tr.ascent_gain(torch.linspace(-math.pi, math.pi, 20001, dtype=torch.float64), a1, a2)
    assert gain.min().item() == pytest.approx((a1 - a2) ** 2 / 2, abs=1e-7)
    assert gain.max().item() == pytest.approx(1.5 * (a1**2 + a2**2) - a1 * a2, abs=1e-7)


def test_perfect_classifier_undoes_the_rotation():
    theta = torch.linspace(-3, 3, 7, dtype=torch.float64)
    for name in tr.ACTIVATIONS:
        f = tr.perfect_classifier(tr.sample(theta, 0.9, -0.4), theta, name)
        expected = tr.activation(name)(torch.tensor([0.9, -0.4], dtype=torch.float64)).expand(7, 2)
        assert torch.allclose(f, expected, atol=1e-12)


def test_co_weights_and_class_two():
    # class 2 (a2 > a1): omega = (-1, 1); h = x with LeakyReLU raises the score by a2 - a1
    x = tr.sample(0.3, 0.2, 0.6)
    assert tr.co_score(x, x, 0.3, torch.tensor([1]), "leaky_relu").item() == pytest.approx(0.4, abs=1e-12)
    assert tr.co_score(x, x, 0.3, torch.tensor([0]), "leaky_relu").item() == pytest.approx(-0.4, abs=1e-12)


@pytest.mark.parametrize("steps", [1, 7, 40])
def test_closed_form_equals_autograd_ascent_on_delta(steps):
    gen = torch.Generator().manual_seed(0)
    theta = (torch.rand(200, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi
    a1, a2 = torch.rand(2, 200, generator=gen, dtype=torch.float64) * 2 - 0.5  # both classes, some negative
    closed = tr.closed_form_heatmap(theta, a1, a2, K_ETA)
    ascent = tr.gradient_ascent_heatmap(theta, a1, a2, steps, K_ETA / steps, "delta")
    assert (closed - ascent).abs().max().item() < 1e-6
    # Delta is linear in w: k steps raise it by exactly k eta ||grad||^2
    w_closed = closed / tr.sample(theta, a1, a2)
    gained = tr.delta(w_closed, theta, a1, a2) - tr.delta(torch.ones_like(w_closed), theta, a1, a2)
    assert torch.allclose(gained, K_ETA * tr.ascent_gain(theta, a1, a2), atol=1e-10)


def test_co_ascent_equals_closed_form_for_positive_leaky_relu_but_not_sigmoid():
    table = gax_toy.autograd_agreement([0.7, 0.95], k_eta=K_ETA, steps=12, n_theta=181).set_index(["a1", "activation"])
    assert table.loc[(0.7, "leaky_relu"), "positive_share"] == 1.0
    assert table.loc[(0.7, "leaky_relu"), "max_abs_diff"] < 1e-9
    assert table.loc[(0.95, "leaky_relu"), "max_abs_diff_positive"] < 1e-9
    assert table.loc[(0.95, "leaky_relu"), "max_abs_diff"] > 1e-3  # a2 + B turns negative for some angles
    assert table.loc[(0.7, "sigmoid"), "max_abs_diff"] > 0.1  # sigma' <= 1/4 damps the ascent


def test_identity_heatmap_score_leaky_relu_vs_sigmoid():
    a1 = torch.tensor([0.95, 3.0, 10.0], dtype=torch.float64)
    a2 = a1 - torch.tensor([0.9, 0.9, 0.9], dtype=torch.float64)
    assert torch.allclose(tr.identity_heatmap_score(a1, a2, "leaky_relu"), torch.full((3,), 0.9, dtype=torch.float64))
    sig = torch.sigmoid
    one = torch.tensor(1.0, dtype=torch.float64)
    assert tr.identity_heatmap_score(1.0, 0.0, "sigmoid").item() == pytest.approx((sig(2 * one) - sig(one)).item())
    assert abs(tr.identity_heatmap_score(10.0, 9.1, "sigmoid").item()) < 1e-3  # saturated although a1 - a2 = 0.9


def test_bad_choices_name_the_parameter():
    with pytest.raises(ValueError, match="activation"):
        tr.activation("relu6")
    with pytest.raises(ValueError, match="objective"):
        tr.gradient_ascent_heatmap(0.0, 1.0, 0.0, 3, 0.1, objective="loss")


def test_pi_text():
    assert [gax_toy.pi_text(v) for v in (0.0, 0.125, 0.375, -0.25, 0.5, 1.0, -0.125)] == \
        ["0", "pi/8", "3pi/8", "-pi/4", "pi/2", "pi", "-pi/8"]


def test_analytic_nonnegative_range_and_the_grid_self_check():
    # a1 = 0.7, a2 = 0.3: x2 = 0.7 sin t + 0.3 cos t >= 0 from t = -atan(3/7) = -0.129 pi, x1 >= 0 up to
    # atan(7/3) = 0.371 pi; a1 = 0.95, a2 = 0.05: [-atan(1/19), atan(19)] = [-0.017, 0.483] pi
    low, high = gax_toy.analytic_nonnegative_range(0.7, 0.3)
    assert (low, high) == pytest.approx((-math.atan(3 / 7) / math.pi, math.atan(7 / 3) / math.pi))
    assert high - low == pytest.approx(0.5)  # the range always spans pi/2
    summaries = gax_toy.summary_table([gax_toy.theta_sweep(a1, n_theta=161) for a1 in (0.7, 0.95)])
    ranges = gax_toy.compare_nonnegative_ranges([summaries])
    row = ranges.set_index("a1").loc[0.7]
    assert (row.analytic_from, row.analytic_to) == pytest.approx((low, high))
    assert not row.agrees  # the quoted [pi/8, 3pi/8] starts pi/4 above the analytic lower end
    assert ranges.set_index("a1").loc[0.95].agrees  # the quoted [0, pi/2] is within 0.05 pi
    passed, detail = gax_toy.range_self_check(ranges, n_theta=161)
    assert passed and "grid step 0.0125 pi" in detail
    wrong = ranges.assign(ours_to=ranges["ours_to"] + 0.1)  # a grid range one would get with a sign error
    assert not gax_toy.range_self_check(wrong, n_theta=161)[0]
