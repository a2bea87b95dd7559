"""Bad input at every public boundary gets a clear error: the exception type and the words its message must hold.

Each case is (id, call, exception type, regular expression the message must match)."""
import json
import os
import re

import nbformat
import numpy as np
import pytest
import torch

from xai_nb_utils import report
from xai_nb_utils.core import paths
from xai_nb_utils.core.cache import cached_torch, save_torch
from xai_nb_utils.core.params import by_profile, check_choice, check_float, check_int, resolve_device, setup
from xai_nb_utils.core.paths import MissingDataError
from xai_nb_utils.core.results import Recorder
from xai_nb_utils.core.tensors import normalize_maps, reduce_channels
from xai_nb_utils.data.embedded import load_tabular
from xai_nb_utils.data.external import load_chest_xray, load_imagenet_val
from xai_nb_utils.methods import explain
from xai_nb_utils.metrics.perturbation import average_drop_increase_gain, co_score, insertion_deletion
from xai_nb_utils.metrics.similarity import pearson
from xai_nb_utils.models.networks import MnistCNN
from xai_nb_utils.models.pretrained import pretrained_model
from xai_nb_utils.models.training import preset_config, trained_model

torch.manual_seed(0)
MODEL = MnistCNN().eval()
X = torch.rand(2, 1, 28, 28)
MAPS = torch.rand(2, 1, 28, 28)
T = torch.tensor([1, 2])


def with_value(x, index, value):
    x = x.clone()
    x.view(-1)[index] = value
    return x


class NaNModel(torch.nn.Module):
    def forward(self, x):
        return torch.full((len(x), 3), float("nan"))


EXPLAIN_CASES = [
    ("3-D input", lambda: explain("saliency", MODEL, X[0], 1), ValueError, r"4 dimensions.*unsqueeze"),
    ("5-D input", lambda: explain("saliency", MODEL, X[None], 1), ValueError, r"4 dimensions"),
    ("uint8 pixels", lambda: explain("saliency", MODEL, (X * 255).to(torch.uint8), 1), TypeError, r"uint8.*/ 255"),
    ("int64 pixels", lambda: explain("saliency", MODEL, X.long(), 1), TypeError, r"float tensor"),
    ("0-255 float pixels", lambda: explain("saliency", MODEL, X * 255, 1), ValueError, r"\[0, 1\]"),
    ("normalised pixels", lambda: explain("saliency", MODEL, X - 0.5, 1), ValueError, r"\[0, 1\].*unnormalised"),
    ("NaN pixel", lambda: explain("saliency", MODEL, with_value(X, 5, float("nan")), 1), ValueError, r"NaN"),
    ("inf pixel", lambda: explain("gradcam", MODEL, with_value(X, 5, float("inf")), 1), ValueError, r"infinite"),
    ("empty batch", lambda: explain("saliency", MODEL, X[:0], 1), ValueError, r"empty batch"),
    ("a list, not a tensor", lambda: explain("saliency", MODEL, X.tolist(), 1), TypeError, r"torch.Tensor"),
    ("64x64 to the MNIST CNN", lambda: explain("saliency", MODEL, torch.rand(2, 1, 64, 64), 1), ValueError,
     r"does not accept x of shape \(2, 1, 64, 64\).*\(N, 1, 28, 28\)"),
    ("3 channels to the MNIST CNN", lambda: explain("gradcam", MODEL, torch.rand(2, 3, 28, 28), 1), ValueError,
     r"expects \(N, 1, 28, 28\)"),
    ("target -1", lambda: explain("saliency", MODEL, X, -1), ValueError, r"\[0, 10\).*10 classes"),
    ("target 10", lambda: explain("gradcam", MODEL, X, 10), ValueError, r"\[0, 10\)"),
    ("target tensor out of range", lambda: explain("saliency", MODEL, X, torch.tensor([1, 12])), ValueError,
     r"\[0, 10\)"),
    ("3 targets for 2 images", lambda: explain("saliency", MODEL, X, torch.tensor([1, 2, 3])), ValueError,
     r"one class per image: 2"),
    ("1 target tensor for 2 images", lambda: explain("saliency", MODEL, X, torch.tensor([1])), ValueError,
     r"one class per image"),
    ("2-D target tensor", lambda: explain("saliency", MODEL, X, torch.tensor([[1], [2]])), ValueError,
     r"one class per image"),
    ("float target", lambda: explain("saliency", MODEL, X, 1.7), TypeError, r"integer class index.*1\.7"),
    ("float target tensor", lambda: explain("saliency", MODEL, X, torch.tensor([1.0, 2.0])), TypeError,
     r"integer class indices.*float32"),
    ("string target", lambda: explain("saliency", MODEL, X, "cat"), TypeError, r"int or an integer tensor"),
    ("bool target", lambda: explain("saliency", MODEL, X, True), TypeError, r"int or an integer tensor"),
    ("None target", lambda: explain("saliency", MODEL, X, None), TypeError, r"int or an integer tensor"),
    ("unknown method", lambda: explain("gradcamm", MODEL, X, 1), ValueError, r"unknown saliency method.*gradcam"),
    ("unknown keyword", lambda: explain("fake_cam", MODEL, X, 1, foo=1), TypeError, r"no argument 'foo'"),
    ("misspelt seed", lambda: explain("random", MODEL, X, 1, sead=1), TypeError, r"'sead'.*\['seed'\]"),
    ("misspelt lime keyword", lambda: explain("lime", MODEL, X, 1, cells=4), TypeError, r"'cells'.*'cell'"),
    ("lime cell 0", lambda: explain("lime", MODEL, X, 1, cell=0), ValueError, r"cell must be a positive integer"),
    ("lime n_samples 0", lambda: explain("lime", MODEL, X, 1, n_samples=0), ValueError, r"n_samples"),
    ("smoothgrad 0 samples", lambda: explain("smoothgrad", MODEL, X, 1, nt_samples=0), ValueError, r"nt_samples"),
    ("gradient_shap -1 samples", lambda: explain("gradient_shap", MODEL, X, 1, n_samples=-1), ValueError,
     r"n_samples"),
    ("unknown layer", lambda: explain("gradcam", MODEL, X, 1, layer="conv9"), ValueError,
     r"layer 'conv9' not found.*features.conv2"),
    ("NaN model output", lambda: explain("saliency", NaNModel(), X, 1), ValueError, r"not finite"),
]

METRIC_CASES = [
    ("NaN map", lambda: insertion_deletion(MODEL, X, with_value(MAPS, 3, float("nan")), T), ValueError, r"NaN"),
    ("map of another size", lambda: insertion_deletion(MODEL, X, torch.rand(2, 1, 14, 14), T), ValueError,
     r"\(14, 14\).*\(28, 28\).*upsample"),
    ("maps for 3 images", lambda: insertion_deletion(MODEL, X, torch.rand(3, 1, 28, 28), T), ValueError,
     r"3 maps for 2 images"),
    ("3-D map", lambda: insertion_deletion(MODEL, X, MAPS[:, 0], T), ValueError, r"4 dimensions"),
    ("map with 2 channels", lambda: insertion_deletion(MODEL, X, torch.rand(2, 2, 28, 28), T), ValueError,
     r"1 or 1 channels"),
    ("pixels_per_step 0", lambda: insertion_deletion(MODEL, X, MAPS, T, pixels_per_step=0), ValueError,
     r"pixels_per_step must be a positive integer"),
    ("pixels_per_step -3", lambda: insertion_deletion(MODEL, X, MAPS, T, pixels_per_step=-3), ValueError,
     r"pixels_per_step"),
    ("pixels_per_step 1.5", lambda: insertion_deletion(MODEL, X, MAPS, T, pixels_per_step=1.5), ValueError,
     r"pixels_per_step"),
    ("chunk 0", lambda: insertion_deletion(MODEL, X, MAPS, T, chunk=0), ValueError, r"chunk"),
    ("unknown mode", lambda: insertion_deletion(MODEL, X, MAPS, T, mode="insert"), ValueError,
     r"'mode' = 'insert'.*insertion"),
    ("unknown baseline", lambda: insertion_deletion(MODEL, X, MAPS, T, baseline="noise"), ValueError,
     r"'baseline'.*blur"),
    ("unknown score", lambda: insertion_deletion(MODEL, X, MAPS, T, score="prob"), ValueError, r"'score'.*softmax"),
    ("unknown AUC rule", lambda: insertion_deletion(MODEL, X, MAPS, T, auc="simpson"), ValueError,
     r"'auc'.*trapezoid"),
    ("unknown mask space", lambda: insertion_deletion(MODEL, X, MAPS, T, mask_space="z"), ValueError,
     r"'mask_space'.*pixel"),
    ("unknown channel reduction", lambda: insertion_deletion(MODEL, X, MAPS, T, channel_reduce="max"), ValueError,
     r"'channel_reduce'"),
    ("empty batch in a metric", lambda: insertion_deletion(MODEL, X[:0], MAPS[:0], T[:0]), ValueError,
     r"empty batch"),
    ("target out of range in a metric", lambda: insertion_deletion(MODEL, X, MAPS, 11), ValueError, r"\[0, 10\)"),
    ("metric on uint8 images", lambda: insertion_deletion(MODEL, (X * 255).byte(), MAPS, T), TypeError, r"uint8"),
    ("AD of a NaN map", lambda: average_drop_increase_gain(MODEL, X, with_value(MAPS, 0, float("nan")), T),
     ValueError, r"NaN"),
    ("AD with maps for 1 image", lambda: average_drop_increase_gain(MODEL, X, MAPS[:1], T), ValueError,
     r"1 maps for 2 images"),
    ("AD with 3 targets", lambda: average_drop_increase_gain(MODEL, X, MAPS, torch.tensor([1, 2, 3])), ValueError,
     r"one class per image"),
    ("AD unknown score", lambda: average_drop_increase_gain(MODEL, X, MAPS, T, score="p"), ValueError, r"'score'"),
    ("AD unknown map normalisation", lambda: average_drop_increase_gain(MODEL, X, MAPS, T, map_normalization="z"),
     ValueError, r"'how'.*range"),
    ("CO of a NaN heatmap", lambda: co_score(MODEL, X, with_value(X, 1, float("nan")), T), ValueError, r"finite"),
    ("CO heatmap of another shape", lambda: co_score(MODEL, X, torch.rand(2, 1, 14, 14), T), ValueError,
     r"does not broadcast"),
    ("CO unknown combination", lambda: co_score(MODEL, X, X, T, combine="sub"), ValueError, r"'combine'.*add"),
    ("CO unknown output", lambda: co_score(MODEL, X, X, T, output="prob"), ValueError, r"'output'.*logit"),
    ("CO float target", lambda: co_score(MODEL, X, X, 0.5), TypeError, r"integer"),
    ("unknown normalisation", lambda: normalize_maps(MAPS, "minmax"), ValueError, r"'how'.*range"),
    ("unknown constant policy", lambda: normalize_maps(MAPS, constant="half"), ValueError, r"'constant'.*ones"),
    ("unknown channel reduction", lambda: reduce_channels(MAPS, "mean"), ValueError, r"'how'.*abs_sum"),
    ("similarity of mismatched maps", lambda: pearson(np.zeros((2, 4, 4)), np.zeros((2, 5, 5))), ValueError,
     r"shapes must match"),
]

PARAMETER_CASES = [
    ("float parameter NaN", lambda: check_float("lr", float("nan"), 0, 1), ValueError, r"'lr'.*finite"),
    ("float parameter inf", lambda: check_float("lr", float("inf")), ValueError, r"'lr'.*finite"),
    ("float parameter text", lambda: check_float("lr", "0.1"), ValueError, r"'lr' must be a number"),
    ("float parameter above range", lambda: check_float("lr", 2.0, 0, 1), ValueError, r"'lr' = 2.0.*\[0, 1\]"),
    ("int parameter float", lambda: check_int("n_images", 1.5), ValueError, r"'n_images' must be an integer"),
    ("int parameter bool", lambda: check_int("n_images", True), ValueError, r"'n_images'"),
    ("int parameter below range", lambda: check_int("n_images", 0, minimum=1), ValueError, r"'n_images' = 0"),
    ("choice parameter", lambda: check_choice("method", "gradcamm", ["gradcam"]), ValueError,
     r"'method' = 'gradcamm'.*\['gradcam'\]"),
    ("misspelt profile", lambda: setup("00_x", profile="smok"), ValueError, r"'profile' = 'smok'.*smoke"),
    ("unknown device", lambda: setup("00_x", device="gpu"), ValueError, r"'device' = 'gpu'.*cuda"),
    ("negative seed", lambda: setup("00_x", seed=-1), ValueError, r"'seed' = -1"),
    ("float seed", lambda: setup("00_x", seed=1.5), ValueError, r"'seed' must be an integer"),
    ("profile value", lambda: by_profile("Default", 1, 2), ValueError, r"'profile'"),
    ("device text", lambda: resolve_device("CPU"), ValueError, r"'device' = 'CPU'"),
]

DATA_CASES = [
    ("unknown table", lambda: load_tabular("iris"), ValueError, r"iris"),
    ("unknown preset", lambda: preset_config("resnet"), ValueError, r"'model name' = 'resnet'.*mnist_cnn"),
    ("unknown variant", lambda: preset_config("mnist_cnn", variant="over"), ValueError, r"'variant'.*under"),
    ("misspelt profile of a preset", lambda: preset_config("mnist_cnn", profile="smok"), ValueError, r"'profile'"),
    ("trained model of an unknown preset", lambda: trained_model("vgg"), ValueError, r"'model name'"),
]


def _case_ids(cases):
    return [case[0] for case in cases]


@pytest.mark.parametrize("name, call, error, words", EXPLAIN_CASES + METRIC_CASES + PARAMETER_CASES + DATA_CASES,
                         ids=_case_ids(EXPLAIN_CASES + METRIC_CASES + PARAMETER_CASES + DATA_CASES))
def test_bad_input_gets_a_clear_error(name, call, error, words):
    with pytest.raises(error, match=words):
        call()


# ------------------------------------------------------------------------------- files, folders and weights

def _write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


FILE_CASES = [
    ("weights of random bytes", lambda d: pretrained_model("resnet34", _write(d / "w.pth", os.urandom(4096))),
     ValueError, r"w.pth is not a torch weights file.*resnet34-b627a593.pth"),
    ("weights as text", lambda d: pretrained_model("resnet34", _write(d / "w.pth", b"not weights\n")), ValueError,
     r"not a torch weights file"),
    ("empty weights file", lambda d: pretrained_model("resnet34", _write(d / "w.pth", b"")), ValueError,
     r"not a torch weights file"),
    ("weights of a tensor", lambda d: pretrained_model("resnet34", _tensor_file(d / "w.pth")), ValueError,
     r"holds a Tensor, not a state dict"),
    ("weights of another network", lambda d: pretrained_model("resnet34", _state_file(d / "w.pth")), ValueError,
     r"does not hold resnet34 weights"),
    ("missing weights", lambda d: pretrained_model("resnet34", d / "absent.pth"), MissingDataError,
     r"absent.pth.*resnet34-b627a593.pth.*nothing is downloaded"),
    ("unknown architecture", lambda d: pretrained_model("resnet18", d / "w.pth"), ValueError,
     r"'arch' = 'resnet18'.*resnet34"),
    ("missing ImageNet folder", lambda d: load_imagenet_val(d / "imagenet" / "val"), MissingDataError,
     r"imagenet/val"),
    ("label out of range in val_labels.txt", lambda d: load_imagenet_val(_flat_imagenet(d, "5000")), ValueError,
     r"val_labels.txt, line 1: the label '5000'.*\[0, 1000\)"),
    ("label that is no wnid", lambda d: load_imagenet_val(_flat_imagenet(d, "cat")), ValueError,
     r"neither a class index.*wnid"),
    ("missing chest X-ray folder", lambda d: load_chest_xray(d / "chest_xray"), MissingDataError, r"chest_xray"),
    ("XAI_DATA_DIR is a file", lambda d: _with_env("XAI_DATA_DIR", _write(d / "file", b"x"), paths.cache_dir),
     NotADirectoryError, r"XAI_DATA_DIR=.*file is a file, not a folder"),
    ("XAI_FIGURES_DIR is a file", lambda d: _with_env("XAI_FIGURES_DIR", _write(d / "f", b"x"), paths.figures_dir),
     NotADirectoryError, r"XAI_FIGURES_DIR"),
    ("recording a set", lambda d: Recorder("00_x").record("k", {1, 2}), TypeError, r"cannot record a set"),
    ("recording under a number", lambda d: Recorder("00_x").record(3, 1), TypeError, r"record key"),
]


def _tensor_file(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(torch.zeros(3), path)
    return path


def _state_file(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(MnistCNN().state_dict(), path)
    return path


def _flat_imagenet(d, label):
    from PIL import Image

    folder = d / "imagenet" / "val"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "ILSVRC2012_val_00000001.JPEG")
    (folder / "val_labels.txt").write_text(f"ILSVRC2012_val_00000001.JPEG {label}\n")
    return folder


def _with_env(name, value, call):
    old = os.environ.get(name)
    os.environ[name] = str(value)
    try:
        return call()
    finally:
        os.environ.pop(name) if old is None else os.environ.__setitem__(name, old)


@pytest.mark.parametrize("name, call, error, words", FILE_CASES, ids=_case_ids(FILE_CASES))
def test_bad_file_or_folder_gets_a_clear_error(name, call, error, words, tmp_path):
    with pytest.raises(error, match=words):
        call(tmp_path)


def test_a_failed_record_stores_nothing_and_later_records_work():
    recorder = Recorder("00_x")
    with pytest.raises(TypeError):
        recorder.record("bad", {1, 2})
    recorder.record("good", 1)
    saved = json.loads(recorder.path.read_text())
    assert saved["records"] == {"good": 1}


def test_an_old_format_cache_file_is_rebuilt(tmp_path):
    path = tmp_path / "entry.pt"
    save_torch({"state_dict": {}}, path)  # written before "history" existed
    rebuilt = cached_torch(path, lambda: {"state_dict": {}, "history": [1]}, ("state_dict", "history"))
    assert rebuilt["history"] == [1]


# ------------------------------------------------------------------------------------------------- the runner

def _notebook(folder, stem="01_tiny", extra_parameters="n_images = 2"):
    folder.mkdir(parents=True, exist_ok=True)
    cells = [nbformat.v4.new_code_cell(f'profile = "default"\ndevice = "auto"\nseed = 0\n{extra_parameters}',
                                       metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell("x = 1")]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / f"{stem}.ipynb")
    return folder


RUNNER_CASES = [
    ("misspelt -p name", lambda d: report.run_all("smoke", notebooks_dir=_notebook(d / "nb"), output_dir=d / "r",
                                                    parameters={"n_imagess": 3}),
     r"-p n_imagess: not a parameter of 01_tiny.ipynb; its parameters are profile, device, seed, n_images"),
    ("-p profile", lambda d: report.run_all("default", notebooks_dir=_notebook(d / "nb"), output_dir=d / "r",
                                              parameters={"profile": "smoke"}), r"set profile with --profile"),
    ("-p device", lambda d: report.run_all("smoke", notebooks_dir=_notebook(d / "nb"), output_dir=d / "r",
                                             parameters={"device": "cpu"}), r"set device with --device"),
    ("--output-dir is a file", lambda d: report.run_all("smoke", notebooks_dir=_notebook(d / "nb"),
                                                          output_dir=_write(d / "out", b"")),
     r"the report folder \(--output-dir\) .*out is a file"),
    ("figures folder is a file", lambda d: _with_env("XAI_FIGURES_DIR", _write(d / "figs", b""), lambda: report.run_all(
        "smoke", notebooks_dir=_notebook(d / "nb"), output_dir=d / "r")), r"figs is a file|XAI_FIGURES_DIR"),
    ("no notebook matches", lambda d: report.run_all("smoke", only=["99"], notebooks_dir=_notebook(d / "nb"),
                                                       output_dir=d / "r"), r"no notebook matches \['99'\]"),
]


@pytest.mark.parametrize("name, call, words", RUNNER_CASES, ids=_case_ids(RUNNER_CASES))
def test_the_runner_refuses_a_bad_run_before_any_notebook_runs(name, call, words, tmp_path, capsys):
    assert call(tmp_path) == 2
    error = capsys.readouterr().err
    assert re.search(words, error), error
    assert not list((tmp_path / "r").glob("*.ipynb")) if (tmp_path / "r").is_dir() else True


def test_a_second_run_into_a_locked_report_folder_is_refused(tmp_path, capsys):
    from filelock import FileLock

    (tmp_path / "r").mkdir()
    with FileLock(str(tmp_path / "r" / ".report.lock")):
        assert report.run_all("smoke", notebooks_dir=_notebook(tmp_path / "nb"), output_dir=tmp_path / "r") == 2
    assert "another run is writing into" in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [(["--profile", "smok"], "invalid choice: 'smok'"),
                                         (["--device", "gpu"], "invalid choice: 'gpu'"),
                                         (["-p", "n images=3"], "key=value with a Python name")])
def test_the_command_line_rejects_bad_options(argv, words, capsys):
    with pytest.raises(SystemExit):
        report.main(argv)
    assert words in capsys.readouterr().err
