"""Fixture data in the real on-disk formats of the ``paper`` profile, written by the tests (never committed)."""
import gzip
from pathlib import Path

import torch

from xai_nb_utils.data.external import IDX_MAGIC, MNIST_FILES


def write_idx(path: Path, array: torch.Tensor) -> None:
    """``array`` (uint8) as an IDX file (big-endian magic number and sizes, then the bytes); gzip for ``.gz``."""
    header = IDX_MAGIC[array.dim()].to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    data = header + array.contiguous().numpy().tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def write_mnist_idx(root: Path, n_train: int = 600, n_test: int = 100, gz: bool = True) -> dict:
    """The four MNIST IDX files in ``root``, with digits of the embedded MNIST (so a model can learn them);
    returns the arrays written."""
    from xai_nb_utils.data.embedded import load_mnist

    digits = load_mnist(seed=0)
    pool_x = torch.cat([digits.train.x, digits.val.x, digits.test.x]).mul(255).round().to(torch.uint8)[:, 0]
    pool_y = torch.cat([digits.train.y, digits.val.y, digits.test.y]).to(torch.uint8)
    arrays = {"train_images": pool_x[:n_train], "train_labels": pool_y[:n_train],
              "test_images": pool_x[n_train:n_train + n_test], "test_labels": pool_y[n_train:n_train + n_test]}
    root.mkdir(parents=True, exist_ok=True)
    for key, name in MNIST_FILES.items():
        write_idx(root / (name + (".gz" if gz else "")), arrays[key])
    return arrays
