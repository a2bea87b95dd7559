"""Fixture data in the real on-disk formats of the ``paper`` profile, written by the tests (never committed)."""
import gzip
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image

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


# ----------------------------------------------------------------------------- ImageNet, chest X-ray, weights

#: the torchvision weight files the notebooks read on `paper` (02/03 ResNet34 and AlexNet, 04-06 ResNet50, 05 VGG16)
FIXTURE_ARCHITECTURES = ("resnet34", "resnet50", "alexnet", "vgg16")


def write_weights(folder: Path, architectures=FIXTURE_ARCHITECTURES, seed: int = 0) -> dict:
    """Randomly initialised torchvision models saved as state dicts under their standard file names
    (``resnet34-b627a593.pth``, ...); returns architecture -> path."""
    from xai_nb_utils.models.pretrained import ARCHITECTURES, weights_filename

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for arch in architectures:
        torch.manual_seed(seed)
        paths[arch] = folder / weights_filename(arch)
        torch.save(ARCHITECTURES[arch].build(weights=None).state_dict(), paths[arch])
    return paths


def fixture_wnid(index: int) -> str:
    """A wnid-shaped name for class ``index`` (sorted like the index, as the real ones)."""
    return f"n{10_000_000 + index:08d}"


def _jpeg(path: Path, pixels: np.ndarray) -> None:
    Image.fromarray(pixels).save(path, format="JPEG", quality=90)


def write_imagenet_val(root: Path, labels, size=(320, 280), seed: int = 0) -> list:
    """An ILSVRC2012-style validation folder with one image per entry of ``labels``:
    ``root/val/<wnid>/ILSVRC2012_val_<8 digits>.JPEG`` (noise with one bright rectangle), ``root/bbox/<stem>.xml``
    with that rectangle, ``root/synset_words.txt`` listing 1000 wnids in class-index order. Returns the
    (stem, class, box) of every image."""
    rng = np.random.default_rng(seed)
    (root / "bbox").mkdir(parents=True, exist_ok=True)
    (root / "synset_words.txt").write_text("".join(f"{fixture_wnid(k)} class {k}\n" for k in range(1000)))
    width, height = size
    written = []
    for number, label in enumerate(labels, start=1):
        stem = f"ILSVRC2012_val_{number:08d}"
        pixels = rng.integers(0, 120, (height, width, 3), dtype=np.uint8)
        x0, y0 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        box = (x0, y0, x0 + width // 3, y0 + height // 3)
        pixels[box[1]:box[3] + 1, box[0]:box[2] + 1] = rng.integers(150, 255, 3, dtype=np.uint8)
        (root / "val" / fixture_wnid(label)).mkdir(parents=True, exist_ok=True)
        _jpeg(root / "val" / fixture_wnid(label) / f"{stem}.JPEG", pixels)
        (root / "bbox" / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}</filename><size><width>{width}</width><height>{height}</height>"
            f"<depth>3</depth></size><object><name>{fixture_wnid(label)}</name><bndbox><xmin>{box[0]}</xmin>"
            f"<ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object></annotation>")
        written.append((stem, label, box))
    return written


def write_chest_xray(root: Path, per_folder=None, size=(300, 280), seed: int = 0) -> dict:
    """A Kaggle "chest_xray" folder: ``{train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg`` grayscale X-ray stand-ins
    (pneumonia ones with a bright patch); returns (split, class) -> count."""
    from xai_nb_utils.data.external import CHEST_CLASSES

    per_folder = per_folder or {"train": 8, "val": 2, "test": 4}
    rng = np.random.default_rng(seed)
    width, height = size
    counts = {}
    for split, count in per_folder.items():
        for label, cls in enumerate(CHEST_CLASSES):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                pixels = np.zeros((height, width), dtype=np.uint8)  # a black border, as real X-rays
                pixels[10:-10, 20:-20] = rng.integers(40, 140, (height - 20, width - 40), dtype=np.uint8)
                if label:
                    pixels[height // 3:2 * height // 3, width // 4:width // 2] = 220
                _jpeg(folder / f"{cls.lower()}-{split}-{i:03d}.jpeg", pixels)
            counts[split, cls] = count
    return counts


#: the image protocol of each fixture model's notebooks at the tiny side: 02/03 resize to the side (ResNet34,
#: AlexNet), 04-06 resize and centre-crop (ResNet50, VGG16)
FIXTURE_PROTOCOLS = {"resnet34": "square", "alexnet": "square", "resnet50": "crop", "vgg16": "crop"}
#: images labelled with what each fixture model predicts (correct for it); ResNet50's notebooks (04-06) split theirs
IMAGES_PER_MODEL = {"resnet34": 4, "resnet50": 12, "alexnet": 4, "vgg16": 4}
UNRELATED_IMAGES = (0, 999)  # labels of two images no model is made to get right


def imagenet_labelled_by_predictions(root: Path, weights: dict) -> list:
    """Write the fixture ImageNet folder, then label each model's images (:data:`IMAGES_PER_MODEL`) with the class
    that model predicts on them (read through the loader, as a notebook reads them), so every model has images it
    classifies correctly and images it gets wrong. Returns the labels."""
    from xai_nb_utils.data.external import TINY_SIDES, load_imagenet_val
    from xai_nb_utils.models.pretrained import pretrained_model

    starts = np.cumsum([0] + [IMAGES_PER_MODEL[arch] for arch in weights])
    write_imagenet_val(root, [0] * int(starts[-1]) + list(UNRELATED_IMAGES))
    square, crop = TINY_SIDES[256], TINY_SIDES[224]
    crop = {"square": dict(size=square, resize=square), "crop": dict(size=crop, resize=round(crop * 256 / 224))}
    labels = []
    for k, (arch, path) in enumerate(weights.items()):
        split = load_imagenet_val(root / "val", root / "bbox", root / "synset_words.txt", **crop[FIXTURE_PROTOCOLS[arch]])
        part = split.subset(torch.arange(int(starts[k]), int(starts[k + 1])))
        with torch.no_grad():
            labels += pretrained_model(arch, path)(part.x).argmax(1).tolist()
    shutil.rmtree(root)
    write_imagenet_val(root, labels + list(UNRELATED_IMAGES))  # the same pixels (same seed), now labelled
    return labels + list(UNRELATED_IMAGES)


def write_paper_data(data_dir: Path) -> dict:
    """Everything the `paper` profile reads, under ``data_dir/external``: weights, ImageNet validation folder
    (:func:`imagenet_labelled_by_predictions`), chest X-ray folder and MNIST IDX files. Returns what was written."""
    external = data_dir / "external"
    weights = write_weights(external / "weights")
    return {"weights": weights, "imagenet_labels": imagenet_labelled_by_predictions(external / "imagenet", weights),
            "chest_xray": write_chest_xray(external / "chest_xray"),
            "mnist": write_mnist_idx(external / "mnist", n_train=1200, n_test=100)}
