"""The ``paper`` profile against fixture files in the real formats (exactly what a user would put under
data/external/): the MNIST IDX loader, every notebook with a paper path (02-07) run on it at ``paper_scale="tiny"``,
and the errors for a missing file (one per loader) and a wrong weights file. The other loaders' unit tests are in
test_external.py."""
import hashlib
import os
import shutil
from pathlib import Path

import pytest
import torch
from filelock import FileLock

import paper_fixtures
from paper_fixtures import write_idx, write_mnist_idx
from xai_nb_utils import report
from xai_nb_utils.core.paths import MissingDataError, cache_dir, notebooks_dir
from xai_nb_utils.data.external import MNIST_FILES, MNIST_VALIDATION, load_mnist_idx


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_mnist_idx_reads_what_was_written(tmp_path, gz):
    arrays = write_mnist_idx(tmp_path, n_train=200, n_test=30, gz=gz)
    dataset = load_mnist_idx(tmp_path, seed=1)
    assert (len(dataset.train), len(dataset.val), len(dataset.test)) == (180, 20, 30)  # a tenth, below 5,000
    assert torch.equal(dataset.test.x[:, 0], arrays["test_images"].float() / 255)
    assert torch.equal(dataset.test.y, arrays["test_labels"].long())
    pooled = torch.cat([dataset.train.y, dataset.val.y]).sort().values
    assert torch.equal(pooled, arrays["train_labels"].long().sort().values)
    assert dataset.info["seed"] == 1 and MNIST_VALIDATION == 5000


@pytest.mark.parametrize("key", list(MNIST_FILES))
def test_mnist_idx_missing_file_is_named_with_where_to_put_it(tmp_path, key):
    write_mnist_idx(tmp_path, n_train=50, n_test=10)
    (tmp_path / f"{MNIST_FILES[key]}.gz").unlink()
    with pytest.raises(MissingDataError, match=rf"{MNIST_FILES[key]} \(or \.gz\) not found in {tmp_path}"):
        load_mnist_idx(tmp_path)


def test_mnist_idx_wrong_or_truncated_file_is_a_clear_error(tmp_path):
    write_mnist_idx(tmp_path, n_train=50, n_test=10, gz=False)
    labels = tmp_path / MNIST_FILES["train_labels"]
    write_idx(tmp_path / MNIST_FILES["train_images"], torch.zeros(50, dtype=torch.uint8))  # a labels file
    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        load_mnist_idx(tmp_path)
    write_mnist_idx(tmp_path, n_train=50, n_test=10, gz=False)
    labels.write_bytes(labels.read_bytes()[:-5])
    with pytest.raises(ValueError, match="declares shape \\[50\\] but holds 45 bytes"):
        load_mnist_idx(tmp_path)


# ------------------------------------------------------------------------------ the notebooks on the paper path

@pytest.fixture(scope="module")
def paper_data_dir():
    """The fixture data of every paper loader (:func:`paper_fixtures.write_paper_data`), written once under the
    shared cache (``<cache>/test_fixtures/paper``, rewritten when the fixture writer changes), so the models
    fine-tuned or trained on it stay cached between test sessions like every other model."""
    root = cache_dir() / "test_fixtures" / "paper"
    stamp = root / "fixture-writer.sha256"
    version = hashlib.sha256(Path(paper_fixtures.__file__).read_bytes()).hexdigest()
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{root}.lock"):  # test workers that start together write it once
        if not stamp.is_file() or stamp.read_text() != version:
            shutil.rmtree(root, ignore_errors=True)
            paper_fixtures.write_paper_data(root)
            stamp.write_text(version)
    return root


@pytest.fixture
def paper_env(paper_data_dir, monkeypatch):
    """``XAI_DATA_DIR`` at the fixture data; the model cache stays the shared one (the smoke models the paper
    notebooks also use, e.g. the marker studies', are the notebook tests')."""
    monkeypatch.setenv("XAI_CACHE_DIR", str(cache_dir()))
    monkeypatch.setenv("XAI_DATA_DIR", str(paper_data_dir))
    return paper_data_dir


def run_on_paper(stem: str, tmp_path, **parameters) -> dict:
    results, _ = report.run_notebook(notebooks_dir() / f"{stem}.ipynb", "paper", tmp_path / "reports",
                                     {"device": "auto", "paper_scale": "tiny", **parameters})
    assert results["profile"] == "paper" and results["paper_scale"] == "tiny"
    assert all(claim["passed"] for claim in results["claims"]), [c for c in results["claims"] if not c["passed"]]
    return results


def check_02(records):
    systems = {row["model"]: row for row in records["systems"]}
    assert set(systems) == {"Pneu, Resnet34_1", "Pneu, Resnet34_sub", "Pneu, Alexnet_sub", "IMN, Resnet34",
                            "IMN, Alexnet"}
    chest = systems["Pneu, Resnet34_1"]
    assert chest["samples"] == 8 and chest["fine-tuning iterations"] == 4  # the fixture's test X-rays; tiny schedule
    assert {row["model"] for row in records["table2_accuracy"]} == set(systems)


def check_03(records):
    assert set(records["gax_targets"]) == {"IMN, Resnet34", "IMN, Alexnet", "Pneu, Resnet34_1"}
    assert set(records["gax_targets"].values()) == {48.0}  # the paper's target on ImageNet and pneumonia


def check_04(records):
    assert records["system"]["name"] == "ResNet50 on ImageNet val (32x32)"  # the tiny side of the 224 protocol
    assert list(records["system"]["resolutions"].values()) == [32, 28, 2]
    assert "random labels" not in {row["model"] for row in records["sanity"]}


def check_05(records):
    assert set(records["accuracy"]) == {"ImageNet / VGG16", "ImageNet / ResNet50"}  # the paper's two networks
    assert {row["method"] for row in records["table1_scenes"]} >= {"Opti-CAM", "Score-CAM", "Grad-CAM"}
    n_images = {row["method"]: row["n_images"] for row in records["table1_scenes"]}
    assert n_images["Score-CAM"] < n_images["Opti-CAM"]  # the costly methods on fewer images, paired on those
    assert set(records["raisable_share"]) == set(records["accuracy"]) and "ImageNet / VGG16" in records["finding"]
    assert len(records["table_a13_layers"]) == 2  # ResNet50's convolutions spread to the tiny scale's two


def check_06(records):
    assert records["classifier_test_accuracy"] is None  # not measured on the paper's data
    assert set(records["generator_training"]) == {"dre", "mgnet"}


def check_07(records):
    model = records["model"]
    assert model["train_images"] == 1200 - 120  # the fixture's training digits minus the held-out tenth


PAPER_NOTEBOOKS = {"02_ax_co_score_gaps": check_02, "03_gax_generative_heatmaps": check_03,
                   "04_igos_pp_ablations": check_04, "05_opticam_tables": check_05,
                   "06_dre_skewed_distributions": check_06, "07_ggig_geg_mnist": check_07}


@pytest.mark.notebook
@pytest.mark.parametrize("stem", list(PAPER_NOTEBOOKS))
def test_notebook_runs_on_the_paper_path(stem, paper_env, tmp_path):
    """The paper's data, models and code path at tiny size, against fixture files in the real formats."""
    PAPER_NOTEBOOKS[stem](run_on_paper(stem, tmp_path)["records"])


def linked_copy(source: Path, target: Path) -> Path:
    """``source`` as a tree of folders and file symlinks (cheap to copy, safe to remove files from)."""
    shutil.copytree(source, target, copy_function=os.symlink)
    return target


#: (notebook, fixture path removed, what the error must say): one per loader on the paper path
MISSING = [("02_ax_co_score_gaps", "external/chest_xray/test/PNEUMONIA", r"missing .*chest_xray/test/PNEUMONIA"),
           ("03_gax_generative_heatmaps", "external/weights/resnet34-b627a593.pth",
            r"resnet34-b627a593\.pth.*external/weights"),
           ("04_igos_pp_ablations", "external/imagenet/val", r"ImageNet validation folder .*imagenet/val not found"),
           ("06_dre_skewed_distributions", "external/imagenet/bbox", r"bounding boxes.*imagenet/bbox"),
           ("07_ggig_geg_mnist", "external/mnist/t10k-labels-idx1-ubyte.gz", r"t10k-labels-idx1-ubyte \(or \.gz\) not found")]


@pytest.mark.notebook
@pytest.mark.parametrize("stem, removed, message", MISSING, ids=[m[0][:2] + "-" + Path(m[1]).name for m in MISSING])
def test_paper_notebook_names_a_missing_file(stem, removed, message, paper_data_dir, tmp_path, monkeypatch):
    data = linked_copy(paper_data_dir, tmp_path / "data")
    target = data / removed
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    monkeypatch.setenv("XAI_DATA_DIR", str(data))
    with pytest.raises(report.NotebookFailed, match=message):
        report.run_notebook(notebooks_dir() / f"{stem}.ipynb", "paper", tmp_path / "reports",
                            {"device": "auto", "paper_scale": "tiny"})


@pytest.mark.notebook
def test_paper_notebook_rejects_a_wrong_weights_file(paper_data_dir, tmp_path, monkeypatch):
    """VGG16 weights under ResNet50's file name: the run stops and names the file."""
    data = linked_copy(paper_data_dir, tmp_path / "data")
    resnet50 = data / "external" / "weights" / "resnet50-0676ba61.pth"
    resnet50.unlink()
    resnet50.symlink_to(paper_data_dir / "external" / "weights" / "vgg16-397923af.pth")
    monkeypatch.setenv("XAI_DATA_DIR", str(data))
    with pytest.raises(report.NotebookFailed, match=r"resnet50-0676ba61\.pth does not hold resnet50 weights"):
        report.run_notebook(notebooks_dir() / "04_igos_pp_ablations.ipynb", "paper", tmp_path / "reports",
                            {"device": "auto", "paper_scale": "tiny"})
