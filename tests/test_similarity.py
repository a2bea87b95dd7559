"""Map similarity metrics on values derivable by hand."""
import numpy as np
import pytest
import torch

from xai_nb_utils.core.tensors import normalize_maps_numpy
from xai_nb_utils.metrics import similarity as sim


def test_pearson_is_plus_and_minus_one_for_affine_maps_and_zero_for_constant():
    a = np.array([[0.0, 1.0, 3.0, 2.0]])
    assert sim.pearson(a, 2 * a + 1)[0] == pytest.approx(1.0)
    assert sim.pearson(a, -a)[0] == pytest.approx(-1.0)
    assert sim.pearson(a, np.ones_like(a))[0] == 0.0


def test_spearman_uses_average_ranks_for_ties():
    # ranks [1, 2.5, 2.5, 4] vs [1, 2, 3, 4]: covariance 4.5, variances 4.5 and 5 -> sqrt(0.9)
    a, b = np.array([[1.0, 2.0, 2.0, 3.0]]), np.array([[10.0, 20.0, 30.0, 40.0]])
    assert sim.spearman(a, b)[0] == pytest.approx(np.sqrt(0.9))
    assert sim.spearman(b, b ** 3)[0] == pytest.approx(1.0)


def test_weighted_jaccard_and_reverse_mse_by_hand():
    a, b = np.array([[0.0, 0.5, 1.0]]), np.array([[1.0, 0.5, 0.0]])
    assert sim.weighted_jaccard(a, b)[0] == pytest.approx(0.5 / 2.5)
    assert sim.reverse_mse(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]]))[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="non-negative"):
        sim.weighted_jaccard(-a, b)


def test_ssim_of_constant_images_follows_the_luminance_term():
    # sigma = 0 everywhere: SSIM = (2 a b + C1) / (a^2 + b^2 + C1), C1 = (0.01 * data_range)^2
    c1 = 1e-4
    ones, half = np.ones((1, 10, 10)), np.full((1, 10, 10), 0.5)
    assert sim.ssim(ones, half)[0] == pytest.approx((1 + c1) / (1.25 + c1))
    assert sim.ssim(ones, 0 * ones)[0] == pytest.approx(c1 / (1 + c1))
    noise = np.random.default_rng(0).random((2, 1, 12, 12))
    np.testing.assert_allclose(sim.ssim(noise, noise), [1.0, 1.0])


def test_rescale_and_similarity_to_input():
    maps = torch.tensor([[[[-2.0, 0.0], [1.0, 0.0]]]])
    np.testing.assert_allclose(normalize_maps_numpy(maps, absolute=True)[0, 0], [[1.0, 0.0], [0.5, 0.0]])
    np.testing.assert_allclose(normalize_maps_numpy(np.ones((1, 2, 2))), np.zeros((1, 2, 2)))
    image = torch.rand(2, 1, 8, 8)
    image[:, :, 0, 0], image[:, :, 0, 1] = 0.0, 1.0
    table = sim.similarity_to_input(-3 * image, image)  # |map| rescaled to [0, 1] equals the image
    assert list(table.columns) == list(sim.SIMILARITY_METRICS)
    np.testing.assert_allclose(table.to_numpy(), np.ones((2, 5)))


def test_mean_with_ci_is_the_t_interval():
    import pandas as pd
    from scipy import stats

    table = pd.DataFrame({"m": [1.0, 2.0, 3.0, 4.0]})
    summary = sim.mean_with_ci(table)
    assert summary.loc["m", "mean"] == 2.5
    assert summary.loc["m", "ci"] == pytest.approx(stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2)
