"""Opti-CAM: normalizations on hand-made maps, a model whose ideal map is known, per-image early stopping."""
import math

import numpy as np
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


def test_without_input_normalization_skips_the_normalizer():
    from xai_nb_utils.models.networks import MnistCNN
    from xai_nb_utils.studies.opticam_tables import without_input_normalization

    model = MnistCNN().eval()
    x = torch.rand(2, 1, 28, 28)
    plain = without_input_normalization(model)
    assert torch.allclose(plain(x), model.forward_normalized(x))
    assert torch.allclose(model.normalizer.mean, torch.tensor(0.1307))  # the original is untouched


def test_table1_time_is_seconds_per_batch_of_8(monkeypatch):
    """unit_maps times each batch of 8; Table 1's column is 8 times the seconds per image, whatever the number of
    images, and costly methods keep their own (fewer) images."""
    from xai_nb_utils.studies import opticam_tables as study
    from xai_nb_utils.studies.common import TimedMaps

    monkeypatch.setattr(study, "timed_maps", lambda method, model, x, *args, **kwargs:
                        TimedMaps(torch.ones(len(x), 1, SIZE, SIZE), 0.25))
    comparison = study.compare_methods(HalfPlaneModel(), torch.ones(11, 1, SIZE, SIZE),
                                       torch.zeros(11, dtype=torch.long), methods=("fake_cam", "scorecam"), n_costly=2)
    table = comparison.table
    assert study.TIME_COLUMN == "T (s / 8 images)"
    assert table[study.TIME_COLUMN].tolist() == [2.0, 2.0]
    assert table.method.tolist() == ["Fake-CAM", "Score-CAM"] and table.n_images.tolist() == [11, 2]
    assert comparison.batch_seconds["fake_cam"].tolist() == [2.0, 0.75]  # a batch of 8, then one of 3
    assert comparison.batch_seconds["scorecam"].tolist() == [0.5]
    assert len(comparison.maps["scorecam"]) == 2 and len(comparison.scores["scorecam"]["AD"]) == 2
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


# ---------------------------------------------------------------- per-image scores and the paper's claims (notebook 05)


class SumModel(nn.Module):
    """Two classes: logit 0 = sum of the pixels, logit 1 = 0, so p(class 0) = sigmoid(sum x)."""

    def forward(self, x):
        total = x.flatten(1).sum(1)
        return torch.stack([total, torch.zeros_like(total)], dim=1)


def test_per_image_drop_gain_increase_by_hand():
    """A 2x2 image of ones has p0 = sigmoid(4); masking half of it gives o0 = sigmoid(2): class 0 drops, class 1
    (p1 = 1 - p0) gains; a full mask changes nothing."""
    from xai_nb_utils.studies.opticam_tables import drop_gain_increase, image_scores

    x = torch.ones(2, 1, 2, 2)
    maps = torch.stack([torch.ones(1, 2, 2), torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])])
    sig = torch.sigmoid
    p, o = sig(torch.tensor(4.0)).item(), sig(torch.tensor(2.0)).item()
    for target, drop, gain in ((0, 100 * (p - o) / p, 0.0), (1, 0.0, 100 * (p - o) / p)):
        # class 1: p1 = 1 - p, o1 = 1 - o, gain = (o1 - p1) / (1 - p1) = (p - o) / p
        scores = image_scores(SumModel(), x, torch.full((2,), target), maps, map_normalization="none")
        assert scores["AD"] == pytest.approx([0.0, drop], abs=1e-4)
        assert scores["AG"] == pytest.approx([0.0, gain], abs=1e-4)
        assert scores["AI"].tolist() == [0.0, 100.0 * (target == 1)]
        target = torch.full((2,), target)
        assert drop_gain_increase(SumModel(), x, target, maps, "none")["AD"] == pytest.approx(drop / 2)


def test_paired_uses_the_images_both_have():
    from xai_nb_utils.studies.opticam_tables import paired

    a, b = [3.0, 2.0, 5.0, 4.0, 9.0], [1.0, 1.0, 1.0]
    evidence = paired(a, b, "greater")
    assert evidence.n == 3 and evidence.mean_a == pytest.approx(10 / 3) and evidence.mean_b == 1.0


def cam_scores(opticam_ad=1.0, baseline_ad=20.0, n=6, n_costly=4):
    """Per-image scores of Fake-CAM, Opti-CAM and every CAM baseline of Table 1 (each baseline's AD and AG shifted
    by its index k = 0..6), the costly Score-CAM and Ablation-CAM on the first ``n_costly`` images only."""
    from xai_nb_utils.studies.opticam_claims import CAM_BASELINES, OTHER_BASELINES

    ramp = np.arange(n, dtype=float)

    def scores(ad, ag, ai):
        return {"AD": np.asarray(ad, float), "AG": np.asarray(ag, float), "AI": np.asarray(ai, float)}

    per_image = {"fake_cam": scores(np.zeros(n), np.zeros(n), 100.0 * (ramp % 2 == 0)),
                 "opticam": scores(opticam_ad + 0.1 * ramp, 60 + ramp, np.full(n, 100.0))}
    for k, method in enumerate(CAM_BASELINES + OTHER_BASELINES):
        size = n_costly if method in ("scorecam", "ablationcam", "lime") else n
        per_image[method] = scores(baseline_ad + k + ramp[:size], 10 + k + 0.5 * ramp[:size],
                                   100.0 * (ramp[:size] == k % n))
    return per_image


def test_lead_tests_pair_opticam_with_each_cam_method_on_the_images_both_have():
    from xai_nb_utils.studies.opticam_claims import CAM_BASELINES, HEADROOM
    from xai_nb_utils.studies.opticam_tables import lead_tests

    tests, premises = lead_tests({"toy": cam_scores()}, {"toy": 1.0})
    assert len(tests) == 2 * len(CAM_BASELINES) and {t.test for t in tests.values()} == {"paired t"}
    score_cam = tests["toy: AD, Score-CAM - Opti-CAM"]  # k = 2, on 4 images: (22 + i) - (1 + 0.1 i)
    assert score_cam.n == 4 and score_cam.estimate == pytest.approx(21 + 0.9 * 1.5)
    grad_cam = tests["toy: AG, Opti-CAM - Grad-CAM"]  # k = 0, on 6 images: (60 + i) - (10 + 0.5 i)
    assert grad_cam.n == 6 and grad_cam.estimate == pytest.approx(50 + 0.5 * 2.5)
    passed, detail = premises[HEADROOM]
    # on the 4 images all baselines have, Grad-CAM (k = 0) has the lowest AD (21.5), HiRes-CAM (k = 6) the best AG
    assert passed and "best CAM AD 21.50 % (Grad-CAM)" in detail and "(HiRes-CAM)" in detail
    passed, detail = lead_tests({"toy": cam_scores(opticam_ad=0.0, baseline_ad=1.0)}, {"toy": 1.0})[1][HEADROOM]
    assert not passed and "best CAM AD 2.50 %" in detail  # no room for a lead of 3.5 points
    passed, detail = lead_tests({"toy": cam_scores()}, {"toy": 0.18})[1][HEADROOM]
    assert not passed and "16.75 % (HiRes-CAM) of at most 18.0 %" in detail  # AG cannot exceed 18 here


def test_increase_tests_compare_yes_no_outcomes_with_every_baseline():
    from xai_nb_utils.studies.opticam_claims import AI_HEADROOM, CAM_BASELINES, OTHER_BASELINES
    from xai_nb_utils.studies.opticam_tables import increase_tests

    tests, premises = increase_tests({"toy": cam_scores()}, {"toy": 1.0})
    assert len(tests) == len(CAM_BASELINES + OTHER_BASELINES)
    grad_cam = tests["toy: AI, Opti-CAM vs Grad-CAM"]  # Opti-CAM raises all 6, Grad-CAM only image 0
    assert grad_cam.test == "exact McNemar" and grad_cam.estimate == pytest.approx(5 / 6)
    assert tests["toy: AI, Opti-CAM vs LIME"].n == 4  # LIME is costly
    passed, detail = premises[AI_HEADROOM]
    assert passed and "the highest baseline share 0.25" in detail  # one image of the 4 all baselines have
    assert not increase_tests({"toy": cam_scores()}, {"toy": 0.4})[1][AI_HEADROOM][0]  # 0.4 - 0.25 < 0.18


def test_raisable_share_counts_images_whose_probability_is_below_one():
    from xai_nb_utils.studies.opticam_tables import raisable_share

    x = torch.tensor([0.0, 1.0, 200.0]).view(3, 1, 1, 1)  # SumModel: p(class 0) = sigmoid(x), 1.0 at x = 200
    assert raisable_share(SumModel(), x, torch.zeros(3, dtype=torch.long)) == pytest.approx(2 / 3)


def test_fake_cam_premise_fails_where_the_corner_pixel_is_already_black():
    from xai_nb_utils.studies.opticam_claims import CAM_BASELINES, FAKE_CAM_MASKS
    from xai_nb_utils.studies.opticam_tables import fake_cam_premise, fake_cam_tests

    x = torch.rand(4, 3, 5, 5) + 0.1
    assert fake_cam_premise(x, "toy")[FAKE_CAM_MASKS][0]
    x[0, :, 0, 0] = 0
    passed, detail = fake_cam_premise(x, "toy")[FAKE_CAM_MASKS]
    assert not passed and "black on 25% of the images" in detail
    tests, _ = fake_cam_tests(cam_scores(), x, "toy")
    assert len(tests) == 2 * len(CAM_BASELINES)
    assert tests["toy: AD, Fake-CAM vs Grad-CAM"].estimate == pytest.approx(-(20 + 2.5))
    assert tests["toy: AG, Fake-CAM vs Ablation-CAM"].n == 4


def test_misalignment_tests_pair_localization_errors_given_the_classification_premise():
    from xai_nb_utils.studies.opticam_claims import CLASSIFICATION_FAVOURS
    from xai_nb_utils.studies.opticam_tables import misalignment_tests

    localization = {"opticam": {"LE": np.array([80.0, 70, 90])}, "gradcam": {"LE": np.array([60.0, 65, 70])}}
    tests, premises = misalignment_tests(localization, cam_scores(), "toy")
    ((label, result),) = tests.items()
    assert label == "toy: LE, Opti-CAM vs Grad-CAM" and result.estimate == pytest.approx(15.0) and result.n == 3
    passed, detail = premises[CLASSIFICATION_FAVOURS]
    assert passed and "AD Opti-CAM 1.10 % vs Grad-CAM 21.00 % on 3 images" in detail


def test_fake_cam_increase_claim_is_a_table_cell_decided_by_mcnemar():
    from xai_nb_utils.studies.opticam_tables import PAPER, fake_cam_increase_claim

    claim = fake_cam_increase_claim(cam_scores(), "toy", "VGG16")
    # on the 4 images all baselines have, 7 baselines raise one (share 0.25) and XGrad-CAM and Layer-CAM none: the
    # median of the 9 ranked (stable order) is the 5th, HiRes-CAM
    assert claim["paper"] == PAPER and claim["kind"] == "table cell" and claim["labels"] == ("Fake-CAM", "HiRes-CAM")
    assert claim["evidence"].test == "exact McNemar" and claim["evidence"].mean_a == pytest.approx(0.5)
    assert claim["paper_value"] == "VGG16, AI: Fake-CAM 42.6 vs median baseline Ablation-CAM 36.9"


def test_finding_and_decided_sentence_are_printed_from_the_numbers():
    from xai_nb_utils.studies.opticam_tables import decided_sentence, finding

    localization = {"opticam": {"LE": np.array([80.0, 70])}, "gradcam": {"LE": np.array([60.0, 64])}}
    sentence = finding(cam_scores(), localization, "toy")
    assert "gain 62.5 % against the best CAM method's 21.5 % (Grad-CAM)" in sentence
    assert "Fake-CAM drops 0.00 % but gains only 0.00 %" in sentence
    assert "localization error is 75.0 against Grad-CAM's 62.0" in sentence
    assert decided_sentence([]) == "No headline claim of Opti-CAM recorded yet."
    assert decided_sentence([{"claim_id": "H1", "label": "x", "verdict": "inconclusive", "n": 4}]).endswith(
        "H1 x: inconclusive (n = 4).")


def test_insertion_deletion_claims_compare_with_the_best_baseline():
    from xai_nb_utils.studies.opticam_tables import insertion_deletion_claims

    scores = {"fake_cam": {"I": np.full(4, 99.0), "D": np.full(4, 1.0)},
              "gradcam": {"I": np.array([60.0, 62, 61, 63]), "D": np.array([10.0, 12, 11, 9])},
              "scorecam": {"I": np.array([70.0, 72]), "D": np.array([20.0, 22])},
              "opticam": {"I": np.array([50.0, 52, 51, 53]), "D": np.array([15.0, 16, 14, 15])}}
    insertion, deletion = insertion_deletion_claims(scores, "VGG16")
    assert insertion["labels"] == ("Opti-CAM", "Score-CAM") and insertion["evidence"].n == 2  # Fake-CAM left out
    assert deletion["labels"] == ("Opti-CAM", "Grad-CAM") and deletion["evidence"].expected == "greater"
    assert insertion["paper_value"] == "VGG16, I: Opti-CAM 59.2 vs best baseline Grad-CAM 64.1"


def test_localization_scores_are_the_per_image_terms_of_the_table():
    """Two 4x4 images with a box on the top-left 2x2 quarter: a map peaking inside the box wins the pointing game
    (SP 100), one peaking outside loses it (SP 0); the table's means are the means of these terms."""
    from xai_nb_utils.studies.opticam_tables import localization_scores, localization_table

    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    x, y = torch.rand(2, 1, 4, 4), torch.tensor([0, 1])
    maps = torch.zeros(2, 1, 4, 4)
    maps[0, 0, 0, 0] = 1.0
    maps[1, 0, 3, 3] = 1.0
    boxes = [[(0, 0, 2, 2)], [(0, 0, 2, 2)]]
    per_image = localization_scores(model, x, y, {"m": maps}, boxes)["m"]
    assert per_image["SP"].tolist() == [100.0, 0.0]
    table = localization_table(model, x, y, {"m": maps}, boxes, label=str).iloc[0]
    for key, values in per_image.items():
        assert table[key] == pytest.approx(values.mean())


def test_box_study_returns_the_box_rows_per_image():
    from xai_nb_utils.studies.opticam_tables import box_claim, box_study_table, image_scores

    x = torch.ones(3, 1, 2, 2)
    box = torch.zeros(3, 1, 2, 2, dtype=torch.bool)
    box[:, :, 0] = True
    target = torch.zeros(3, dtype=torch.long)
    table, box_scores = box_study_table(SumModel(), x, target, {}, box)
    assert table.method.tolist() == ["S := B", "S := I \\ B"]
    expected = image_scores(SumModel(), x, target, box.float(), "none")
    assert np.allclose(box_scores["S := B"]["AD"], expected["AD"])
    claim = box_claim(box_scores, "VGG16")
    assert claim["evidence"].difference == pytest.approx(0.0)  # by symmetry both halves keep half the sum
    assert claim["paper_value"] == "VGG16, AD S: S := I \\ B 44.0 vs S := B 67.2"


def test_objective_claim_picks_mask_and_diff_with_range_normalization():
    from xai_nb_utils.studies.opticam_tables import OBJECTIVE_VARIANTS, objective_claim

    scores = [{"AG": np.full(3, float(i))} for i in range(len(OBJECTIVE_VARIANTS))]
    claim = objective_claim(OBJECTIVE_VARIANTS, scores)
    mask, diff = (OBJECTIVE_VARIANTS.index(dict(objective=o, normalization="range")) for o in ("mask", "diff"))
    assert claim["evidence"].mean_a == mask and claim["evidence"].mean_b == diff
    assert claim["paper_value"] == "VGG16, AG: mask / range 66.3 vs diff / range 18.5"


def test_black_corner_share_and_cam_channels():
    from xai_nb_utils.studies.opticam_tables import black_corner_share, cam_channels

    x = torch.ones(4, 3, 2, 2)
    x[:3, :, 0, 0] = 0
    x[2, 1, 0, 0] = 0.5  # one channel not black
    assert black_corner_share(x) == 0.5
    assert cam_channels(HalfPlaneModel(), torch.ones(1, 1, SIZE, SIZE)) == 3


def test_spread_keeps_evenly_spaced_layers_and_the_last():
    from xai_nb_utils.studies.opticam_tables import spread

    layers = [f"conv{i}" for i in range(10)]
    assert spread(layers, 11) == layers and spread(layers[:2], 2) == ["conv0", "conv1"]
    assert spread(layers, 4) == ["conv0", "conv3", "conv6", "conv9"] and spread(layers, 1) == ["conv9"]


def test_without_costly_drops_the_one_pass_per_channel_methods():
    from xai_nb_utils.studies.opticam_tables import CLASS_CHOICE_METHODS, without_costly

    assert without_costly(CLASS_CHOICE_METHODS) == ("gradcam", "gradcam_pp", "opticam")
