"""Notebook 08's ranking (Friedman + Nemenyi), its ground truth (a hand-set network, the digit masks) and the metric
report card, on cases whose answer is known by hand."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from xai_nb_utils.methods import explain
from xai_nb_utils.metrics.ranking import critical_difference, friedman_nemenyi, per_image_ranks
from xai_nb_utils.studies import cross_benchmark as study
from xai_nb_utils.studies import ground_truth
from xai_nb_utils.studies.metric_cards import report_card


def test_critical_difference_matches_demsars_table():
    # Demsar 2006, Table 5(a): q_0.05 = 2.343 for k = 3 and 3.164 for k = 10; CD = q sqrt(k (k + 1) / (6 N))
    assert critical_difference(3, 10) == pytest.approx(2.343 * np.sqrt(3 * 4 / 60), abs=2e-3)
    assert critical_difference(10, 30) == pytest.approx(3.164 * np.sqrt(10 * 11 / 180), abs=2e-3)


def test_per_image_ranks_share_ties_and_follow_the_direction():
    values = pd.DataFrame({"a": [3.0, 1.0], "b": [2.0, 1.0], "c": [1.0, 5.0]})
    assert per_image_ranks(values, higher_is_better=True).to_numpy().tolist() == [[1, 2, 3], [2.5, 2.5, 1]]
    assert per_image_ranks(values, higher_is_better=False).to_numpy().tolist() == [[3, 2, 1], [1.5, 1.5, 3]]


def test_friedman_nemenyi_groups_a_clear_order_and_keeps_ties_together():
    rng = np.random.default_rng(0)
    n = 40
    # a and b are the same method up to noise; c is clearly worse, d worse still
    base = rng.normal(size=n)
    values = pd.DataFrame({"a": base + 3 + rng.normal(0, 0.1, n), "b": base + 3 + rng.normal(0, 0.1, n),
                           "c": base + 1, "d": base - 1})
    ranking = friedman_nemenyi(values, higher_is_better=True)
    assert ranking.differs and ranking.friedman_p < 1e-10
    assert set(ranking.top_group()) == {"a", "b"}
    assert ranking.tiers().to_dict() == {"a": 1, "b": 1, "c": 2, "d": 3}
    assert ranking.better("a", "d") and not ranking.better("a", "b") and not ranking.better("d", "a")
    assert ["a", "b"] in ranking.cliques()
    # every method equal on every image: Friedman cannot reject, everything is in the top group
    flat = friedman_nemenyi(pd.DataFrame(np.ones((5, 3)), columns=list("xyz")), higher_is_better=True)
    assert flat.friedman_p == 1.0 and flat.top_group() == ["x", "y", "z"]
    with pytest.raises(ValueError, match="complete blocks"):
        friedman_nemenyi(values.mask(values == values.iloc[0, 0]), higher_is_better=True)


def test_the_hand_set_network_has_its_exact_attribution():
    regions = ground_truth.quadrant_regions(8)
    net = ground_truth.AdditiveRegionNet(regions)
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    target = torch.tensor([0, 2, 3])
    exact = ground_truth.exact_attribution(net, x, target)
    # by hand: logit of class 0 of image 0 is the sum of its top-left quadrant; the attribution is that quadrant of x
    assert net(x)[0, 0] == pytest.approx(float(x[0, 0, :4, :4].sum()))
    assert torch.equal(exact[0, 0, :4, :4], x[0, 0, :4, :4]) and exact[0, 0, 4:].abs().sum() == 0
    # completeness: the attribution sums to the logit minus the logit of the black baseline (0)
    assert torch.allclose(exact.flatten(1).sum(1), net(x)[torch.arange(3), target])
    for method in ("integrated_gradients", "input_x_gradient"):
        assert torch.allclose(explain(method, net, x, target), exact, atol=1e-5), method
    assert torch.allclose(explain("saliency", net, x, target), regions[target][:, None].float())


def test_mask_mass_is_the_share_of_the_map_on_the_mask():
    masks = torch.zeros(2, 1, 2, 2, dtype=torch.bool)
    masks[:, 0, 0, 0] = True
    maps = torch.tensor([[[[3.0, 1.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])
    # image 0: 3 of 4 on the mask; image 1: a zero map gets the mask's area share, 1 of 4 pixels
    assert ground_truth.mask_mass(maps, masks).tolist() == [0.75, 0.25]


def test_the_controls_are_what_they_say():
    x = torch.zeros(1, 3, 9, 9)
    x[:, :, :, 5:] = 1.0  # a vertical edge between columns 4 and 5
    edges = study.sobel_edges(x)[0, 0]
    assert edges[:, 4:6].min() > 0 and edges[:, :3].abs().max() == 0 and edges[:, 7:].abs().max() == 0
    prior = study.centre_prior(x)[0, 0]
    assert prior.argmax() == 40 and prior[4, 4] == 1.0  # the centre pixel of 9 x 9
    impulse = torch.zeros(1, 1, 32, 32)
    impulse[0, 0, 16, 16] = 1.0
    smooth = study.blurred(impulse)
    assert smooth.sum() == pytest.approx(1.0, abs=1e-3) and smooth.max() < 0.1 and smooth[0, 0, 16, 16] == smooth.max()


def _card_values(metric_of, n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Per-image values of a metric computed by ``metric_of(mass on the evidence, map uniformity)`` for methods of
    known ground-truth mass, and controls."""
    rng = np.random.default_rng(seed)
    # (mean evidence mass, uniformity) of each map
    maps = {"good": (0.7, 0.2), "fair": (0.5, 0.3), "poor": (0.3, 0.4), "gt_mask": (1.0, 0.1),
            "gt_inverse": (0.0, 0.8), "random": (0.15, 0.9), "fake_cam": (0.15, 1.0), "edge_sobel": (0.3, 0.5),
            "centre_prior": (0.2, 0.6), "blurred_best": (0.55, 0.5)}
    return pd.DataFrame({name: metric_of(mass + rng.normal(0, 0.05, n), uniform + rng.normal(0, 0.05, n))
                         for name, (mass, uniform) in maps.items()})


AGREEMENT = pd.Series({"good": 0.7, "fair": 0.5, "poor": 0.3})


def test_the_report_card_passes_a_metric_that_follows_the_evidence():
    card = report_card("evidence", _card_values(lambda mass, uniform: mass), True, AGREEMENT)
    assert card["passed"] and card["order holds"] and card["best method"] == "good", card["why not"]
    assert card["spearman rho with ground truth"] == pytest.approx(1.0)
    # the same metric read as "lower is better" reverses every link
    assert not report_card("evidence", _card_values(lambda mass, uniform: mass), False, AGREEMENT)["order holds"]


def test_the_report_card_fails_a_metric_that_a_uniform_map_wins():
    card = report_card("uniformity", _card_values(lambda mass, uniform: uniform), True, AGREEMENT)
    assert not card["passed"] and not card["order holds"]
    assert "random" in card["gamed by"] and "fake_cam" in card["gamed by"]
    assert card["spearman rho with ground truth"] == pytest.approx(-1.0)
    assert "gamed by" in card["why not"] and "not ground truth > best method" in card["why not"]


def test_images_per_method_and_the_blurred_control_in_the_scores():
    config = study.benchmark_config("default")
    assert (config.n_for("scene_cnn", "gradcam"), config.n_for("scene_cnn", "igos_pp")) == (100, 40)
    assert config.n_for("scene_cnn", "blurred:igos_pp") == 40 and config.n_for("mnist_cnn", "gradcam") == 16
    assert config.n_common("scene_cnn") == 40
    assert study.applicable("scene_cnn", "gt_mask") and not study.applicable("mnist_cnn", "gt_inverse")
    table = study.scores_table({("scene_cnn", "blurred:gradcam", 1, "AD"): np.array([1.0, 2.0])}, config)
    assert table.to_dict("records") == [
        {"model": "scene_cnn", "method": "blurred_best", "metric": "AD", "image": 20, "value": 1.0, "source": "gradcam"},
        {"model": "scene_cnn", "method": "blurred_best", "metric": "AD", "image": 21, "value": 2.0, "source": "gradcam"}]


def test_the_randomisation_metric_scores_the_first_n_randomized_images():
    """The copy's maps exist for the first ``n_randomized`` images only: the metric scores those, and a copy whose
    maps equal the model's (up to a positive scale) has Spearman 1 on each."""
    config = study.benchmark_config("default")
    assert config.n_randomized == 10 and study.benchmark_config("smoke").n_randomized == 3
    split = SimpleNamespace(x=torch.rand(config.chunk, 3, 8, 8), y=torch.zeros(config.chunk, dtype=torch.long))
    maps = torch.rand(config.chunk, 1, 8, 8)
    values = study.score("randomization", SimpleNamespace(model=None), split, config, 0, {"maps": maps},
                         {"maps": 3 * maps[:config.n_randomized]})
    assert np.allclose(values, np.ones(config.n_randomized))
