"""The ``paper`` profile's loaders against fixture files in the real formats, and notebook 07 on the paper code
path (``paper_scale="tiny"``): exactly what a user would put under data/external/."""
import pytest
import torch

from paper_fixtures import write_idx, write_mnist_idx
from xai_nb_utils import report
from xai_nb_utils.core.paths import MissingDataError, notebooks_dir
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


@pytest.fixture
def paper_data(tmp_path, monkeypatch):
    """``XAI_DATA_DIR`` with the fixture MNIST under external/mnist (models trained on it are cached there)."""
    root = tmp_path / "data"
    write_mnist_idx(root / "external" / "mnist", n_train=1200, n_test=100)
    monkeypatch.setenv("XAI_DATA_DIR", str(root))
    monkeypatch.setenv("XAI_FIGURES_DIR", str(tmp_path / "figures"))
    return root


NOTEBOOK_07 = "07_ggig_geg_mnist.ipynb"


@pytest.mark.notebook
@pytest.mark.xdist_group("notebooks")
def test_notebook_07_runs_on_the_paper_path(paper_data, tmp_path):
    results, _ = report.run_notebook(notebooks_dir() / NOTEBOOK_07, "paper", tmp_path / "reports",
                                     {"device": "auto", "paper_scale": "tiny"})
    assert results["profile"] == "paper" and results["paper_scale"] == "tiny"
    model = results["records"]["model"]
    assert model["train_images"] == 1200 - 120  # the fixture's training digits minus the held-out tenth
    assert all(claim["passed"] for claim in results["claims"])


@pytest.mark.notebook
@pytest.mark.xdist_group("notebooks")
def test_notebook_07_on_paper_names_a_missing_mnist_file(paper_data, tmp_path):
    (paper_data / "external" / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(report.NotebookFailed, match=r"t10k-labels-idx1-ubyte \(or \.gz\) not found"):
        report.run_notebook(notebooks_dir() / NOTEBOOK_07, "paper", tmp_path / "reports",
                            {"device": "auto", "paper_scale": "tiny"})
