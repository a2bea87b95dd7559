import pytest
import torch

from xai_nb_utils.models import training
from xai_nb_utils.core.params import check_choice, check_float, check_int, setup


def test_training_is_cached_by_config_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path))
    first = training.trained_model("tabular_wine", profile="smoke", device="cpu", epochs=3)
    files = list((tmp_path / "models").glob("*.pt"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns
    again = training.trained_model("tabular_wine", profile="smoke", device="cpu", epochs=3)
    assert files[0].stat().st_mtime_ns == mtime  # loaded, not retrained
    assert again.test_accuracy == first.test_accuracy
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    other = training.trained_model("tabular_wine", profile="smoke", device="cpu", epochs=4)
    assert len(list((tmp_path / "models").glob("*.pt"))) == 2
    assert other.config.epochs == 4


def test_a_corrupt_model_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path))
    training.trained_model("tabular_wine", profile="smoke", device="cpu", epochs=2)
    path = next((tmp_path / "models").glob("*.pt"))
    path.write_bytes(b"not a model")
    rebuilt = training.trained_model("tabular_wine", profile="smoke", device="cpu", epochs=2)
    assert rebuilt.test_accuracy > 0.5


def test_same_seed_same_model(tmp_path, monkeypatch):
    configs = []
    for sub in ("a", "b"):
        monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path / sub))
        configs.append(training.trained_model("tabular_wine", profile="smoke", device="cpu", epochs=2))
    for a, b in zip(*(c.model.state_dict().values() for c in configs)):
        assert torch.equal(a, b)


def test_variants():
    well = training.preset_config("scene_cnn", "default")
    under = training.preset_config("scene_cnn", "default", variant="under")
    assert under.epochs < well.epochs and under.lr < well.lr
    assert training.preset_config("mnist_cnn", "default", variant="random_labels").random_labels
    assert training.preset_config("mnist_cnn").optimizer == "sgd"  # the GGIG paper's recipe


def test_parameter_validation_names_parameter_and_choices():
    with pytest.raises(ValueError, match="'profile' = 'fast'.*smoke"):
        setup("x", profile="fast")
    with pytest.raises(ValueError, match="'variant'"):
        training.preset_config("scene_cnn", variant="over")
    with pytest.raises(ValueError, match="'n_images' must be an integer"):
        check_int("n_images", 2.5)
    with pytest.raises(ValueError, match=r"'lr' = -1.*\[0"):
        check_float("lr", -1, minimum=0)
    assert check_choice("mode", "a", ["a", "b"]) == "a"


def test_setup_records_results_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_REPORTS_DIR", str(tmp_path))
    run = setup("nb_test", profile="smoke", device="cpu", seed=3)
    assert run.pick(smoke=1, default=2) == 1
    run.record("table", [{"a": float("nan"), "b": 1}])
    run.claim("it works", True, "detail")
    from xai_nb_utils.core.results import load_results

    saved = load_results("nb_test", tmp_path)
    assert saved["records"]["table"] == [{"a": None, "b": 1}]
    assert saved["claims"] == [{"name": "it works", "passed": True, "detail": "detail"}]
    assert saved["profile"] == "smoke" and saved["seed"] == 3
