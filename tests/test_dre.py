"""DRE: controller densities against quadrature and Monte Carlo, the controller's monotonicity, M_E / M_F / DRE+
on hand-made maps and a model that only looks at one known region, MPert, and the generator's training cache."""
import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from xai_nb_utils import explain
from xai_nb_utils.methods import dre
from xai_nb_utils.models.networks import SceneCNN

N_MONTE_CARLO = 200_000
CASES = [
    ("normal", 1.5, 2.5, {}), ("normal", 0.5, 2.5, {}), ("normal", 2.5, 2.5, {}), ("normal", 1.5, 0.5, {}),
    ("normal", 1.5, 1.0, {}), ("uniform", 1.5, 2.5, {}), ("uniform", 0.5, 1.5, {}),
    ("skew_normal", 1.5, 2.5, {"a": -20.0}), ("skew_normal", 1.5, 2.5, {"a": 5.0}),
    ("mixture", 1.5, 2.5, {"r1": 0.1, "mu2": 16.0}), ("mixture", 1.5, 2.5, {"r1": 0.9, "mu2": 2.0}),
    ("mixture", 1.5, 2.5, {"r1": 0.5, "mu2": 4.0, "sigma2": 2.0}),
]


@pytest.mark.parametrize("kind, eta, h, params", CASES)
def test_density_integrates_to_one_and_matches_the_controller_output(kind, eta, h, params):
    check = dre.density_check(kind, eta, h, n=N_MONTE_CARLO, seed=1, **params)
    assert check["integral"] == pytest.approx(1.0, abs=1e-6)
    # tolerance: 2 x the Kolmogorov critical value at alpha = 1e-3 for n = 2e5 (0.0087), see ks_tolerance
    assert check["ks"] < check["ks_tolerance"] == pytest.approx(2 * 1.9495 / math.sqrt(N_MONTE_CARLO), rel=1e-3)


def test_ks_check_has_power_against_wrong_densities():
    """The tolerance rejects the paper's misprinted skew-normal mean and a 0.1 error in eta."""
    z = dre.controller_samples(dre.sample_input("skew_normal", N_MONTE_CARLO, seed=1, a=5.0))
    misprinted_mean = math.sqrt(2) * 5 / math.sqrt(6 * math.pi)
    _, var = dre.skew_normal_moments(5.0)
    misprinted = lambda t: dre.transformed_density(t, dre._standardized(stats.skewnorm(5.0).pdf, misprinted_mean, var))
    tolerance = dre.ks_tolerance(N_MONTE_CARLO)
    assert dre.ks_distance(z, misprinted) > 10 * tolerance
    assert dre.ks_distance(z, dre.input_density("skew_normal", eta=1.6, a=5.0)) > 2 * tolerance


def test_eq8_typed_literally_equals_the_transformation_rule():
    z = np.linspace(1e-4, 1 - 1e-4, 501)
    for eta, h in [(0.5, 2.5), (1.5, 2.5), (2.5, 1.0), (1.5, 0.5)]:
        np.testing.assert_allclose(dre.density_normal(z, eta, h), dre.density_normal_closed_form(z, eta, h),
                                   rtol=1e-10, atol=1e-12)


def test_eta_1_5_h_1_is_close_to_uniform():
    """With h = 1, sigmoid(1.5 y) approximates the normal CDF (1.5 ~ 0.9 sqrt(pi)), so z is nearly uniform: the
    CDF of p(z) stays within 0.03 of F(z) = z (computed: 0.0285) and its L1 distance to the uniform density is
    0.11, against 0.26 / 1.02 (eta = 0.5) and 0.09 / 0.38 (eta = 2.5)."""
    z = np.linspace(0, 1, 200_001)[1:-1]
    cdf_gap, l1 = {}, {}
    for eta in (0.5, 1.5, 2.5):
        cdf_gap[eta] = dre.uniform_gap(eta, 1.0)
        l1[eta] = np.trapezoid(np.abs(dre.density_normal(z, eta, 1.0) - 1), z)
    assert cdf_gap[1.5] < 0.03 and l1[1.5] < 0.12
    assert cdf_gap[1.5] < cdf_gap[2.5] / 3 < cdf_gap[0.5] / 3
    assert l1[1.5] < l1[2.5] / 3 < l1[0.5] / 3


def test_uniform_input_support_matches_eq26():
    eta, h = 1.5, 2.5
    low, high = dre.uniform_support(eta, h)
    assert (low, high) == pytest.approx(((math.exp(math.sqrt(3) * eta) + 1) ** -h, (math.exp(-math.sqrt(3) * eta) + 1) ** -h))
    inside = np.linspace(low, high, 9)[1:-1]
    assert np.all(dre.density_uniform(inside, eta, h) > 0)
    assert np.all(dre.density_uniform(np.array([low * 0.9, high * 1.01]), eta, h) == 0)


def test_controller_standardises_and_preserves_ranking():
    generator = torch.Generator().manual_seed(0)
    scale = torch.tensor([1.0, 10.0, 0.1, 3.0], dtype=torch.float64).view(4, 1, 1, 1)
    x = torch.randn(4, 1, 16, 16, generator=generator, dtype=torch.float64) * scale + 5
    y = dre.instance_normalize(x)
    torch.testing.assert_close(y.mean(dim=(2, 3)), torch.zeros(4, 1, dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(y.var(dim=(2, 3), unbiased=False), torch.ones(4, 1, dtype=torch.float64), atol=1e-3, rtol=0)
    z = dre.controller(x)
    assert torch.all((z > 0) & (z < 1))
    assert torch.equal(torch.argsort(z.flatten(1), dim=1), torch.argsort(x.flatten(1), dim=1))


def test_pearson_skewness_signs_and_values():
    rng = np.random.default_rng(0)
    assert dre.pearson_skewness(rng.exponential(size=200_000), "moment") == pytest.approx(2.0, abs=0.1)
    # exponential: 3 (mean - median) / std = 3 (1 - ln 2)
    assert dre.pearson_skewness(rng.exponential(size=200_000)) == pytest.approx(3 * (1 - math.log(2)), abs=0.03)
    assert abs(dre.pearson_skewness(rng.uniform(size=100_000))) < 0.03
    with pytest.raises(ValueError, match="kind"):
        dre.pearson_skewness([1, 2, 3], kind="third")


def test_bad_controller_parameters_are_rejected():
    with pytest.raises(ValueError, match="eta"):
        dre.DistributionController(eta=0)
    with pytest.raises(ValueError, match="h must"):
        dre.density_normal(np.array([0.5]), 1.5, -1)
    with pytest.raises(ValueError, match="kind"):
        dre.sample_input("cauchy", 10)


# ----------------------------------------------------------------------------------------------- M_E


def _box_mask(size=16, box=(3, 5, 9, 12)):
    x0, y0, x1, y1 = box
    mask = torch.zeros(1, 1, size, size, dtype=torch.bool)
    mask[..., y0:y1, x0:x1] = True
    return mask


def test_m_e_of_the_box_itself_is_100_and_constant_map_is_the_box_area():
    box = _box_mask()
    assert dre.explainability(box.float(), box)[0] == pytest.approx(100.0)
    area = box.float().mean().item()
    assert dre.explainability(torch.ones(1, 1, 16, 16), box)[0] == pytest.approx(100 * area)


def test_m_e_of_the_reversed_box_by_hand():
    """Outside pixels (tied) come first, then the box's b pixels (tied): one step of recall 0 -> 1 at precision
    b / N."""
    box = _box_mask()
    b, n = box.sum().item(), box.numel()
    assert dre.explainability(1 - box.float(), box)[0] == pytest.approx(100 * b / n)
    # strictly ordered: box pixels at ranks n - b + 1 .. n, the j-th with precision j / (n - b + j)
    ramp = torch.arange(n, dtype=torch.float32).view(1, 1, 16, 16)
    ordered = torch.where(box, -1.0 - ramp, ramp)
    expected = 100 * np.mean([j / (n - b + j) for j in range(1, b + 1)])
    assert dre.explainability(ordered, box)[0] == pytest.approx(expected)


# ----------------------------------------------------------------------------- M_F, DRE+, MPert


class RegionModel(nn.Module):
    """Two classes; the target logit is 12 * (mean of channel 0 over a fixed region R - 0.5): only R matters."""

    def __init__(self, region: torch.Tensor):
        super().__init__()
        self.register_buffer("region", region.float())
        self.normalizer = nn.Identity()

    def forward(self, x):
        inside = (x[:, :1] * self.region).sum(dim=(1, 2, 3)) / self.region.sum()
        logit = 12 * (inside - 0.5)
        return torch.stack([logit, torch.zeros_like(logit)], dim=1)


def _region_setup(size=32):
    region = torch.zeros(1, 1, size, size)
    region[..., 4:12, 6:14] = 1  # 64 pixels: within one M_F step (1/32 of the pixels) from 64 x 64 images up
    x = torch.zeros(2, 3, size, size)
    x[:, :, 4:12, 6:14] = 1.0
    return RegionModel(region), x, region, torch.zeros(2, dtype=torch.long)


def test_m_f_by_hand_for_ideal_and_reversed_maps():
    model, x, region, target = _region_setup(size=64)  # 4096 px, 128 per step >= the 64 region pixels
    clean = model(x).softmax(1)[0, 0].item()
    blurred = model(dre.blur(x)).softmax(1)[0, 0].item()
    ideal = dre.faithfulness(model, x, region.expand(2, 1, 64, 64), target)
    reversed_ = dre.faithfulness(model, x, 1 - region.expand(2, 1, 64, 64), target)
    np.testing.assert_allclose(ideal, 100 * clean, rtol=1e-5)  # Q_i = f(x) from the first step on
    np.testing.assert_allclose(reversed_, 100 * (31 / 32 * blurred + clean / 32), rtol=1e-5)
    assert clean > 0.99 and blurred < 0.5


def test_m_f_rejects_a_delta_that_does_not_split_the_image():
    model, x, region, target = _region_setup()
    with pytest.raises(ValueError, match="delta"):
        dre.faithfulness(model, x, region.expand(2, 1, 32, 32), target, delta=1 / 3)


def test_dre_plus_zeroes_pixels_revealed_after_the_probability_peaks():
    """The region (64 px, ranked first) is fully in after the first step of 128 px, where Q reaches Q_max: the
    weights Q_max - Q_k fall linearly to 0 over that step and stay 0, so only the first 128 pixels survive."""
    model, x, region, target = _region_setup(size=64)
    noise = torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    noisy = region.expand(2, 1, 64, 64) * 0.5 + 0.4 * noise
    tuned = dre.dre_plus(model, x, noisy, target)
    assert torch.all(tuned[region.expand_as(tuned) == 1] > 0)
    assert torch.all((tuned.flatten(1) > 0).sum(1) <= 128)


def test_mpert_mask_covers_the_region_the_model_uses():
    model, x, region, target = _region_setup()
    maps = explain("mpert", model, x, target, iterations=60)
    assert maps.shape == (2, 1, 32, 32)
    inside = maps[region.expand_as(maps) == 1].mean()
    outside = maps[region.expand_as(maps) == 0].mean()
    assert inside > outside + 0.3


# ------------------------------------------------------------------------------------------- the generator


@pytest.fixture
def tiny_scene_model():
    torch.manual_seed(0)
    return SceneCNN(num_classes=3).eval()


def test_generator_trains_caches_and_registers(tiny_scene_model, tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path / "cache"))
    images = torch.rand(24, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    config = dre.generator_config("dre", "smoke", n_train=24, batch_size=8)
    trained = dre.train_generator(tiny_scene_model, images, 3, config, device="cpu")
    again = dre.train_generator(tiny_scene_model, images, 3, config, device="cpu")  # from the cache
    for a, b in zip(trained.generator.state_dict().values(), again.generator.state_dict().values()):
        assert torch.equal(a, b)
    assert len(list((tmp_path / "cache" / "dre").glob("dre-*.pt"))) == 1
    x, target = images[:5], torch.tensor([0, 1, 2, 0, 1])
    maps = explain("dre", tiny_scene_model, x, target)  # the default generator just trained
    assert maps.shape == (5, 1, 32, 32) and torch.all((maps >= 0) & (maps <= 1))
    torch.testing.assert_close(maps, explain("dre", tiny_scene_model, x, target, generator=trained.generator))
    dre._TRAINED.clear()  # a fresh process finds it on disk
    torch.testing.assert_close(maps, explain("dre", tiny_scene_model, x, target))
    with pytest.raises(ValueError, match="train one first"):
        explain("mgnet", tiny_scene_model, x, target)


def test_generator_configs_and_errors():
    assert dre.generator_config("mgnet").lambda_av > 0 and dre.generator_config("dre").lambda_av == 0
    with pytest.raises(ValueError, match="kind"):
        dre.generator_config("gan")
    with pytest.raises(ValueError, match="stages"):
        dre.encoder_features(nn.Linear(2, 2), torch.zeros(1, 2))
