"""Metrics on models whose answers a person can derive by hand."""
import numpy as np
import pytest
import torch
from torch import nn

from xai_nb_utils.core.tensors import blur_kernel_for
from xai_nb_utils.metrics import perturbation as metrics
from xai_nb_utils.models.networks import Normalizer


class MeanPixelModel(nn.Module):
    """Logits (m, -m) with m the mean pixel value: class 0 likes bright images."""

    def __init__(self, mean=0.0, std=1.0):
        super().__init__()
        self.normalizer = Normalizer([mean], [std])

    def forward_normalized(self, z):
        m = z.flatten(1).mean(1)
        return torch.stack([m, -m], 1)

    def forward(self, x):
        return self.forward_normalized(self.normalizer(x))


class LinearModel(nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = weight

    def forward(self, x):
        return x.flatten(1) @ self.weight.T


def test_co_score_of_a_linear_model_by_hand():
    weight = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])  # 3 classes, 2 inputs
    model = LinearModel(weight)
    x = torch.tensor([[1.0, 1.0]])
    h = torch.tensor([[0.5, -1.0]])
    # f(x+h) - f(x) = W h = (0.5, -2, -0.5); s = (1, -1/2, -1/2) for target 0
    expected = 0.5 - 0.5 * (-2.0) - 0.5 * (-0.5)
    assert metrics.co_score(model, x, h, torch.tensor([0])).item() == pytest.approx(expected)
    # x * h: f(x*h) - f(x) = W (x*h - x) = W (-0.5, -2) = (-0.5, -4, -2.5); target 2: s = (-1/2, -1/2, 1)
    expected_mul = 0.25 + 2.0 - 2.5
    assert metrics.co_score(model, x, h, torch.tensor([2]), combine="mul").item() == pytest.approx(expected_mul)


def test_co_weights_sum_to_zero_and_softmax_variant_is_bounded():
    weights = metrics.co_weights(torch.tensor([1, 0]), 5)
    assert torch.allclose(weights.sum(1), torch.zeros(2))
    assert weights[0].tolist() == [-0.25, 1.0, -0.25, -0.25, -0.25]
    model = LinearModel(torch.randn(4, 3))
    x, h = torch.randn(6, 3), 100 * torch.randn(6, 3)
    co = metrics.co_score(model, x, h, torch.zeros(6, dtype=torch.long), output="softmax")
    assert bool((co.abs() <= 1 + 1 / 3 + 1e-6).all())


def test_deletion_of_a_mean_pixel_model_is_linear_and_auc_is_one_half():
    model = MeanPixelModel()
    x = torch.ones(2, 1, 4, 4)
    curves = metrics.insertion_deletion(model, x, torch.rand(2, 1, 4, 4), 0, mode="deletion", score="logit",
                                        pixels_per_step=4)
    assert curves.fractions.tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert np.allclose(curves.scores, [[1, 0.75, 0.5, 0.25, 0]] * 2)
    assert np.allclose(curves.auc, 0.5)


def test_insertion_with_a_partial_last_step_uses_the_true_fractions():
    model = MeanPixelModel()
    x = torch.ones(1, 1, 4, 4)
    curves = metrics.insertion_deletion(model, x, torch.rand(1, 1, 4, 4), 0, mode="insertion", baseline="zeros",
                                        score="logit", pixels_per_step=3)
    assert curves.fractions.tolist() == [0, 3 / 16, 6 / 16, 9 / 16, 12 / 16, 15 / 16, 1]
    assert np.allclose(curves.scores[0], curves.fractions)  # the score is the revealed fraction
    assert curves.auc[0] == pytest.approx(0.5)
    left = metrics.insertion_deletion(model, x, torch.rand(1, 1, 4, 4), 0, mode="insertion", baseline="zeros",
                                      score="logit", pixels_per_step=3, auc="left")
    assert left.auc[0] == pytest.approx(sum(f * w for f, w in zip(curves.fractions[:-1], np.diff(curves.fractions))))


def test_deletion_follows_the_saliency_order():
    """A model that only sees pixel (0, 0): deleting it first drops the score at the first step."""

    class CornerModel(MeanPixelModel):
        def forward_normalized(self, z):
            v = z[:, 0, 0, 0]
            return torch.stack([v, -v], 1)

    x = torch.ones(1, 1, 3, 3)
    good = torch.zeros(1, 1, 3, 3)
    good[0, 0, 0, 0] = 1.0
    bad = 1.0 - good
    kwargs = dict(target=0, mode="deletion", score="logit", pixels_per_step=1)
    auc_good = metrics.insertion_deletion(CornerModel(), x, good, **kwargs).auc[0]
    auc_bad = metrics.insertion_deletion(CornerModel(), x, bad, **kwargs).auc[0]
    assert auc_good == pytest.approx(0.5 / 9)  # a triangle over the first ninth
    assert auc_bad == pytest.approx(1 - 0.5 / 9)


def test_steps_that_change_no_pixel_reuse_the_previous_score():
    """A 4 x 4 image with 3 bright pixels, deleted to zeros a pixel per step: only the unperturbed image and the 3
    steps that remove a bright pixel need the model (4 rows, not 17), and the curve equals the one computed by hand
    for every step (the mean pixel of what is left)."""

    class CountingModel(MeanPixelModel):
        rows = 0

        def forward(self, x):
            CountingModel.rows += len(x)
            return super().forward(x)

    x = torch.zeros(1, 1, 4, 4)
    bright = [(0, 1), (2, 2), (3, 0)]
    for row, column in bright:
        x[0, 0, row, column] = 1.0
    saliency = torch.arange(16.0).flip(0).view(1, 1, 4, 4)  # delete in reading order
    curves = metrics.insertion_deletion(CountingModel(), x, saliency, 0, mode="deletion", score="logit",
                                        pixels_per_step=1)
    assert CountingModel.rows == 1 + 4  # the input check's one row, then the curve's distinct points
    left = [3 - sum(row * 4 + column < removed for row, column in bright) for removed in range(17)]
    np.testing.assert_allclose(curves.scores[0], np.array(left) / 16, atol=1e-7)


def test_masking_before_or_after_normalization_differs_as_documented():
    model = MeanPixelModel(mean=0.5, std=0.5)
    x = torch.ones(1, 1, 2, 2)
    sal = torch.tensor([[[[4.0, 3.0], [2.0, 1.0]]]])
    pixel = metrics.insertion_deletion(model, x, sal, 0, mode="deletion", score="logit", pixels_per_step=4)
    normalized = metrics.insertion_deletion(model, x, sal, 0, mode="deletion", score="logit", pixels_per_step=4,
                                            mask_space="normalized")
    # pixel space: zeros are black (normalised -1) -> final logit -1; normalised space: zeros are the mean -> 0
    assert pixel.scores[0, -1] == pytest.approx(-1.0)
    assert normalized.scores[0, -1] == pytest.approx(0.0)


def test_average_drop_increase_gain_by_hand():
    model = MeanPixelModel()
    x = torch.ones(2, 1, 2, 2)
    full = torch.ones(2, 1, 2, 2)
    half = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]]).repeat(2, 1, 1, 1)
    p = torch.sigmoid(torch.tensor(2.0)).item()  # softmax of (1, -1) for class 0
    result = metrics.average_drop_increase_gain(model, x, half, 0, map_normalization="range")
    o = torch.sigmoid(torch.tensor(1.0)).item()  # mean 0.5 -> logits (0.5, -0.5)
    assert result["AD"] == pytest.approx(100 * (p - o) / p, rel=1e-5)
    assert result["AI"] == 0.0 and result["AG"] == 0.0
    # a constant map normalises to ones: nothing changes, AD = AI = AG = 0, and no NaN
    constant = metrics.average_drop_increase_gain(model, x, 3 * full, 0)
    assert (constant["AD"], constant["AI"], constant["AG"]) == (0.0, 0.0, 0.0)
    # class 1 likes dark images: masking raises its score -> AI = 100 and AG = (o - p) / (1 - p)
    gain = metrics.average_drop_increase_gain(model, x, half, 1)
    assert gain["AI"] == 100.0
    assert gain["AG"] == pytest.approx(100 * ((1 - o) - (1 - p)) / p, rel=1e-5)


def test_normalize_maps_handles_constant_maps():
    maps = torch.stack([torch.full((1, 2, 2), 5.0), torch.tensor([[[0.0, 1.0], [2.0, 4.0]]])])
    ranged = metrics.normalize_maps(maps, "range")
    assert torch.isfinite(ranged).all() and ranged[0].eq(1).all()
    assert ranged[1].flatten().tolist() == [0.0, 0.25, 0.5, 1.0]
    assert metrics.normalize_maps(maps, "max")[1].flatten().tolist() == [0.0, 0.25, 0.5, 1.0]


def test_blur_kernel_scales_from_224_pixels():
    assert blur_kernel_for(224) == (11, 5.0)
    kernel, sigma = blur_kernel_for(224, 51, 50.0)
    assert (kernel, sigma) == (51, 50.0)
    assert blur_kernel_for(64, 51, 50.0)[0] % 2 == 1


def test_conventions_are_validated_with_clear_errors():
    model = MeanPixelModel()
    x = torch.ones(1, 1, 2, 2)
    with pytest.raises(ValueError, match="'baseline'.*blur"):
        metrics.insertion_deletion(model, x, x, 0, baseline="noise")
    with pytest.raises(ValueError, match="'score'"):
        metrics.insertion_deletion(model, x, x, 0, score="prob")
