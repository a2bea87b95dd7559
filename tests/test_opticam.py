"""Opti-CAM: normalizations on hand-made maps, a model whose ideal map is known, per-image early stopping."""
import math

import pytest
import torch
from torch import nn

from xai_nb_utils.models.networks import NormalizedClassifier
from xai_nb_utils.methods.opticam import optimize_opticam, opticam, saliency_mask

SIZE = 8


class HalfPlaneModel(NormalizedClassifier):
    """Class 0 logit = scale * (sum(left half of x) - sum(right half)); class 1 = its negative.

    It sees the normalized image z = x - mean. The layer ``features`` returns three fixed maps: left-half
    indicator, right-half indicator and a vertical ramp. For a positive image, the mask in
    [0, 1] maximising the class-0 logit is exactly the left-half indicator, which the span of the features
    approaches as the weight of the left map dominates.
    """

    cam_layer_name = "features"

    def __init__(self, scale=1.0, mean=0.0):
        super().__init__(mean=[mean], std=[1.0])
        self.scale = scale
        left = torch.zeros(SIZE, SIZE)
        left[:, : SIZE // 2] = 1
        ramp = torch.linspace(0, 1, SIZE).view(SIZE, 1).expand(SIZE, SIZE)
        self.register_buffer("sign", 2 * left - 1)
        self.register_buffer("maps", torch.stack([left, 1 - left, ramp]))
        self.features = FixedMaps(self.maps)

    def forward_normalized(self, z):
        self.features(z)
        score = self.scale * (z.sum(1) * self.sign).flatten(1).sum(1)
        return torch.stack([score, -score], dim=1)


class FixedMaps(nn.Module):
    def __init__(self, maps):
        super().__init__()
        self.maps = maps

    def forward(self, z):
        return self.maps.expand(len(z), *self.maps.shape)


def hand_made_mask(values, normalization):
    features = torch.tensor(values, dtype=torch.float32).view(1, 1, 2, 2)
    return saliency_mask(features, torch.zeros(1, 1), (2, 2), normalization).flatten()


def test_normalizations_on_hand_made_map():
    values = [[1.0, 2.0], [3.0, 4.0]]
    assert torch.allclose(hand_made_mask(values, "range"), torch.tensor([0, 1 / 3, 2 / 3, 1]))
    assert torch.allclose(hand_made_mask(values, "max"), torch.tensor([0.25, 0.5, 0.75, 1.0]))
    expected = torch.tensor([1 / (1 + math.exp(-v)) for v in (1.0, 2.0, 3.0, 4.0)])
    assert torch.allclose(hand_made_mask(values, "sigmoid"), expected)


def test_normalization_is_per_image():
    features = torch.tensor([[0.0, 1.0], [10.0, 30.0]]).view(2, 1, 1, 2)
    mask = saliency_mask(features, torch.zeros(2, 1), (1, 2), "range")
    assert torch.allclose(mask.flatten(1), torch.tensor([[0.0, 1.0], [0.0, 1.0]]))


@pytest.mark.parametrize("normalization", ["range", "max"])
def test_constant_map_gives_no_nan_and_finite_gradient(normalization):
    features = torch.full((2, 3, 4, 4), 0.0 if normalization == "max" else 5.0)
    u = torch.zeros(2, 3, requires_grad=True)
    mask = saliency_mask(features, u, (8, 8), normalization)
    mask.sum().backward()
    assert torch.isfinite(mask).all() and torch.isfinite(u.grad).all()


def test_bad_choice_names_parameter():
    x = torch.ones(1, 1, SIZE, SIZE)
    for name in ("objective", "normalization", "selector", "mask_space"):
        with pytest.raises(ValueError, match=name):
            opticam(HalfPlaneModel(), x, 0, **{name: "nonsense"})
    with pytest.raises(ValueError, match="nope"):
        opticam(HalfPlaneModel(), x, 0, layer="nope")


@pytest.mark.parametrize("objective,selector", [("mask", "logit"), ("mask", "probability"), ("iomask", "logit")])
def test_finds_the_known_ideal_map(objective, selector):
    # A small scale keeps the probability away from 1, where float32 saturates and the early stop would fire.
    model = HalfPlaneModel(scale=1.0 if selector == "logit" else 1 / SIZE**2)
    x = torch.ones(1, 1, SIZE, SIZE)
    result = optimize_opticam(model, x, torch.tensor([0]), objective=objective, selector=selector)
    ideal = model.maps[0]
    assert (result.maps[0, 0] - ideal).abs().max() < 0.05
    assert result.weights[0, 0] > 0.95
    best_logit = model(x * result.maps)[0, 0].item()
    assert best_logit > 0.95 * model.scale * SIZE * SIZE / 2  # the maximum is reached with the ideal mask


def test_other_class_gets_the_complementary_map():
    model = HalfPlaneModel()
    maps = opticam(model, torch.ones(1, 1, SIZE, SIZE), torch.tensor([1]))
    assert (maps[0, 0] - model.maps[1]).abs().max() < 0.05


def test_uniform_start_is_the_plain_average_of_feature_maps():
    """With max_iter=1 the best (only evaluated) u is the constant start: range-normalized mean feature map."""
    model = HalfPlaneModel()
    maps = opticam(model, torch.ones(1, 1, SIZE, SIZE), 0, max_iter=1)
    ramp = torch.linspace(0, 1, SIZE).view(SIZE, 1).expand(SIZE, SIZE)  # range-normalized (1 + ramp) / 3
    assert torch.allclose(maps[0, 0], ramp, atol=1e-6)


def test_early_stop_is_per_image_and_independent_of_batch_composition():
    model = HalfPlaneModel()
    blank, bright, dim = torch.zeros(1, 1, SIZE, SIZE), torch.ones(1, 1, SIZE, SIZE), torch.full((1, 1, SIZE, SIZE), 0.3)
    alone = optimize_opticam(model, bright, 0)
    batched = optimize_opticam(model, torch.cat([blank, bright, dim]), torch.zeros(3, dtype=torch.long))
    # The blank image's loss is constant (x * s = 0 whatever s): it stops after two evaluations...
    assert batched.n_iter[0] == 2
    # ...while the others keep going, and the bright image follows exactly its own trajectory.
    assert batched.n_iter[1] == alone.n_iter[0] > 2
    assert torch.allclose(batched.maps[1], alone.maps[0], atol=1e-6)
    assert torch.allclose(batched.weights[1], alone.weights[0], atol=1e-6)


def test_features_are_computed_once():
    model = HalfPlaneModel()
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    result = optimize_opticam(model, torch.ones(2, 1, SIZE, SIZE), 0, max_iter=7)
    assert len(calls) == 1 + int(result.n_iter.max())  # one clean pass, then one masked pass per iteration


def test_mask_space_decides_what_masking_removes():
    """A black image with mean 0.5: in pixel space masking changes nothing (the loss is constant and the image
    stops after two iterations); in normalized space z = -0.5 everywhere, so the class-0 logit
    -0.5 * (sum_left s - sum_right s) is maximal for the right-half mask."""
    model = HalfPlaneModel(mean=0.5)
    black = torch.zeros(1, 1, SIZE, SIZE)
    assert optimize_opticam(model, black, 0, mask_space="pixel").n_iter[0] == 2
    maps = opticam(model, black, 0, mask_space="normalized")
    assert (maps[0, 0] - model.maps[1]).abs().max() < 0.05


def test_snapshots_match_shorter_runs():
    model = HalfPlaneModel()
    x = torch.ones(1, 1, SIZE, SIZE)
    long = optimize_opticam(model, x, 0, max_iter=20, snapshot_iters=(5,))
    short = optimize_opticam(model, x, 0, max_iter=5)
    assert torch.allclose(long.snapshots[5], short.maps, atol=1e-6)


def test_diff_objective_preserves_the_clean_score():
    model = HalfPlaneModel()
    x = torch.ones(1, 1, SIZE, SIZE)
    x[..., SIZE // 2:] = 0.5  # clean class-0 logit: 32 - 16 = 16
    result = optimize_opticam(model, x, 0, objective="diff")
    gap = (model(x)[0, 0] - model(x * result.maps)[0, 0]).abs().item()
    assert gap < 0.5 and abs(result.objective.item() + gap) < 1e-4


# ---------------------------------------------------------------- small foundation additions used by notebook 05


def test_normalize_maps_none_keeps_maps():
    from xai_nb_utils.core.tensors import normalize_maps

    maps = torch.rand(2, 1, 3, 3)
    assert torch.equal(normalize_maps(maps, "none"), maps)


def test_randomized_copy_resets_only_the_named_layers():
    from xai_nb_utils.models.networks import MnistCNN
    from xai_nb_utils.models.randomize import randomized_copy

    model = MnistCNN()
    copy = randomized_copy(model, ["classifier"], seed=1)
    assert not torch.equal(copy.classifier.weight, model.classifier.weight)
    assert torch.equal(copy.features.conv1.weight, model.features.conv1.weight)
    assert torch.equal(randomized_copy(model, ["classifier"], seed=1).classifier.weight, copy.classifier.weight)


def test_works_inside_no_grad():
    with torch.no_grad():
        maps = opticam(HalfPlaneModel(), torch.ones(1, 1, SIZE, SIZE), 0)
    assert (maps[0, 0] - HalfPlaneModel().maps[0]).abs().max() < 0.05


# ---------------------------------------------------------------- study helpers of notebook 05 (studies.opticam_tables)


def test_reproduction_verdict_on_a_hand_made_table():
    import pandas as pd

    from xai_nb_utils.studies.opticam_tables import reproduction_verdict

    table = pd.DataFrame([
        {"method": "Fake-CAM", "AD": 0.5, "AG": 0.5, "AI": 50.0},  # baselines: median AI 47.5
        {"method": "Grad-CAM", "AD": 12.0, "AG": 15.0, "AI": 40.0},
        {"method": "Score-CAM", "AD": 9.0, "AG": 25.0, "AI": 55.0},
        {"method": "Opti-CAM", "AD": 1.5, "AG": 60.0, "AI": 90.0}])
    assert reproduction_verdict(table) == {"opticam_best_ad_ag": True, "fake_cam_ad_ai_loophole": True,
                                           "ag_exposes_fake_cam": True}
    table.loc[table.method == "Opti-CAM", "AG"] = 20.0  # below Score-CAM's
    assert not reproduction_verdict(table)["opticam_best_ad_ag"]


def test_without_input_normalization_skips_the_normalizer():
    from xai_nb_utils.models.networks import MnistCNN
    from xai_nb_utils.studies.opticam_tables import without_input_normalization

    model = MnistCNN().eval()
    x = torch.rand(2, 1, 28, 28)
    plain = without_input_normalization(model)
    assert torch.allclose(plain(x), model.forward_normalized(x))
    assert torch.allclose(model.normalizer.mean, torch.tensor(0.1307))  # the original is untouched


def test_table1_time_is_seconds_per_batch_of_8(monkeypatch):
    """timed_maps reports seconds per image; Table 1's column is 8 times that, whatever the number of images."""
    from xai_nb_utils.studies import opticam_tables as study
    from xai_nb_utils.studies.common import TimedMaps

    monkeypatch.setattr(study, "timed_maps", lambda method, model, x, *args, **kwargs:
                        TimedMaps(torch.ones(len(x), 1, SIZE, SIZE), 0.25))
    table, maps = study.compare_methods(HalfPlaneModel(), torch.ones(3, 1, SIZE, SIZE), torch.zeros(3, dtype=torch.long),
                                        methods=("fake_cam", "scorecam"), n_costly=2)
    assert study.TIME_COLUMN == "T (s / 8 images)"
    assert table[study.TIME_COLUMN].tolist() == [2.0, 2.0]
    assert table.method.tolist() == ["Fake-CAM", "Score-CAM"] and table.n_images.tolist() == [3, 2]
    assert len(maps["scorecam"]) == 2
    assert study.seconds_per_batch(table) == {"Fake-CAM": 2.0, "Score-CAM": 2.0}


def test_table_maps_are_channel_summed_and_range_normalized():
    """The maps every table scores: a signed 3-channel map is summed over channels (not abs-summed), then
    min-max scaled. Input x gradient of a linear model on a ones image is its weights."""
    from xai_nb_utils.studies.opticam_tables import unit_maps

    values = torch.arange(4.0).view(2, 2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.stack([torch.stack([values, -3 * values, values]).flatten(), torch.zeros(12)]))
    maps = unit_maps("input_x_gradient", model, torch.ones(9, 3, 2, 2), torch.zeros(9, dtype=torch.long)).maps
    assert maps.shape == (9, 1, 2, 2)
    assert torch.allclose(maps[0].flatten(), torch.tensor([1.0, 2 / 3, 1 / 3, 0.0]))  # sum = -values


def test_opticam_rank_excludes_fake_cam():
    import pandas as pd

    from xai_nb_utils.studies.opticam_tables import opticam_rank

    table3 = pd.DataFrame([{"method": "Fake-CAM", "I": 99.0, "D": 1.0}, {"method": "Grad-CAM", "I": 60.0, "D": 10.0},
                           {"method": "Score-CAM", "I": 40.0, "D": 30.0}, {"method": "Opti-CAM", "I": 50.0, "D": 20.0}])
    assert opticam_rank(table3) == {"insertion": 2, "deletion": 2, "of": 3}


def test_sanity_check_rows_come_in_one_block_per_method():
    from xai_nb_utils.models.networks import MnistCNN
    from xai_nb_utils.studies.common import randomization_order
    from xai_nb_utils.studies.opticam_tables import sanity_check_table

    torch.manual_seed(0)
    model = MnistCNN().eval()
    x, y = torch.rand(2, 1, 28, 28), torch.tensor([3, 7])
    table = sanity_check_table(model, x, y, methods=("gradcam", "fake_cam"), method_kwargs={})
    order = randomization_order(model)
    assert table.method.tolist() == ["Grad-CAM"] * len(order) + ["Fake-CAM"] * len(order)
    assert table["randomized up to"].tolist() == order * 2
    fake = table[table.method == "Fake-CAM"]
    assert (fake.SSIM > 0.999).all()  # Fake-CAM ignores the weights: every randomisation leaves it as it was


def test_misclassified_and_accuracy():
    from types import SimpleNamespace

    from xai_nb_utils.studies.opticam_tables import accuracy, misclassified

    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.eye(2))  # predicts the larger input
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([1, 1, 0, 0])  # images 0 and 3 are misclassified
    wrong_x, wrong_y = misclassified(model, SimpleNamespace(x=x, y=y), 5)
    assert torch.equal(wrong_x, x[[0, 3]]) and wrong_y.tolist() == [1, 0]
    assert torch.equal(misclassified(model, SimpleNamespace(x=x, y=y), 1)[0], x[[0]])
    assert accuracy(model, x, y) == 0.5
