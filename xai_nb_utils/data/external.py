"""User-supplied paper-scale data and weights (the ``paper`` profile). Nothing is ever downloaded.

Default locations (each loader also takes explicit paths)::

    data/external/imagenet/val/           ILSVRC2012 validation images: wnid sub-folders, or a flat folder
                                          with val_labels.txt ("<file name> <class index or wnid>" per line)
    data/external/imagenet/bbox/          optional ILSVRC2012 bounding-box XMLs (ILSVRC2012_bbox_val_v3)
    data/external/imagenet/synset_words.txt  optional list of the 1000 wnids in class-index order
    data/external/chest_xray/             Kaggle "Chest X-Ray Images (Pneumonia)": {train,val,test}/{NORMAL,PNEUMONIA}
    data/external/weights/                torchvision ImageNet weights under their standard file names
                                          (the torch hub cache, torch.hub.get_dir()/checkpoints/, is searched too)

Images come back as lazy :class:`ImageFolderSplit` objects: labels and boxes are read at once, pixels only
when asked for (``head``, ``subset``, ``batches``, indexing), resized and centre-cropped into [0, 1].
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torchvision
from torch import nn
from torchvision.transforms import functional as TF

from xai_nb_utils.core.params import by_profile
from xai_nb_utils.core.paths import MissingDataError, data_dir
from xai_nb_utils.data.embedded import MNIST_CLASSES, ImageDataset, ImageSplit, boxes_to_masks

IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
WNID_PATTERN = re.compile(r"^n\d{8}$")
LABEL_FILES = ("val_labels.txt", "val.txt")
SYNSET_FILES = ("synset_words.txt", "LOC_synset_mapping.txt")
CHEST_CLASSES = ["NORMAL", "PNEUMONIA"]
# GAX paper, Sec. 3: Kaggle train+val pooled, then 266/1083 healthy and 790/3093 pneumonia drawn for val/train.
GAX_CHEST_VALIDATION = {"NORMAL": (266, 266 + 1083), "PNEUMONIA": (790, 790 + 3093)}


#: image sides at ``paper_scale="tiny"``: the paper profile's loaders, models and settings on far fewer pixels.
#: AlexNet needs at least 63 pixels; the ResNet50 / VGG16 notebooks (the 224 protocol) run at 32, where their
#: many one-pass-per-channel and per-iteration steps would otherwise dominate the test suite
TINY_SIDES = {256: 64, 224: 32}


def paper_side(side: int) -> int:
    """The image side the ``paper`` profile uses where a paper uses ``side`` (224 or 256): ``side`` itself, or
    its :data:`TINY_SIDES` entry when the process runs at ``paper_scale="tiny"``."""
    return by_profile("paper", TINY_SIDES[side], side)


def paper_crop(crop: int = 224) -> dict:
    """``size`` and ``resize`` of :func:`load_imagenet_val` for the standard protocol (resize the short side to
    256, centre-crop 224), scaled like :func:`paper_side`."""
    size = paper_side(crop)
    return {"size": size, "resize": round(size * 256 / 224)}


def external_dir() -> Path:
    return data_dir() / "external"


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet class names in the standard (sorted-wnid) index order, as torchvision ships them."""
    return list(torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


# --------------------------------------------------------------------------------------------- lazy splits


@dataclass
class ImageFolderSplit:
    """An :class:`~xai_nb_utils.data.ImageSplit` whose pixels stay on disk until needed.

    ``resize`` is the short side to resize to (int) or an exact (H, W); ``crop`` an optional centre-crop size.
    ``boxes`` (N,4) are (x0, y0, x1, y1) in output pixels, x1/y1 exclusive, when annotations were given.
    Indexing gives ``(image, label)`` so the split also works as a torch ``Dataset``.
    """

    files: list[Path]
    y: torch.Tensor
    resize: int | tuple[int, int]
    crop: int | None = None
    grayscale: bool = False
    boxes: torch.Tensor | None = None
    classes: list[str] = field(default_factory=list)
    _x: torch.Tensor | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.files)

    def load_image(self, i: int) -> torch.Tensor:
        """Image ``i`` as a float (C,H,W) tensor in [0,1] (grayscale stacked to 3 channels)."""
        from PIL import Image

        with Image.open(self.files[i]) as image:
            image = image.convert("L" if self.grayscale else "RGB")
            x = TF.pil_to_tensor(image)
        x = TF.resize(x, self.resize, antialias=True)
        if self.crop is not None:
            x = TF.center_crop(x, [self.crop, self.crop])
        x = x.float() / 255.0
        return x.expand(3, -1, -1).contiguous() if self.grayscale else x

    def __getitem__(self, i: int):
        return self.load_image(i), self.y[i]

    def subset(self, index) -> ImageSplit:
        """The chosen images loaded into an in-memory ImageSplit."""
        index = torch.as_tensor(index, dtype=torch.long).flatten()
        x = torch.stack([self.load_image(int(i)) for i in index]) if len(index) else torch.empty(0)
        return ImageSplit(x, self.y[index], None if self.boxes is None else self.boxes[index])

    def head(self, n: int) -> ImageSplit:
        return self.subset(torch.arange(min(n, len(self))))

    def batches(self, batch_size: int = 32):
        """Iterate over the split as in-memory ImageSplits of at most ``batch_size`` images."""
        for start in range(0, len(self), batch_size):
            yield self.subset(torch.arange(start, min(start + batch_size, len(self))))

    @property
    def x(self) -> torch.Tensor:
        """All images in memory (loaded once; only sensible for a few thousand images)."""
        if self._x is None:
            self._x = self.head(len(self)).x
        return self._x

    def box_masks(self) -> torch.Tensor:
        """Boolean (N,1,H,W) masks of the boxes (empty where an image had no annotation)."""
        if self.boxes is None or self.crop is None:
            raise ValueError("this split has no bounding boxes")
        return boxes_to_masks(self.boxes, (self.crop, self.crop))


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _pick(n: int | None, seed: int | None, total: int) -> np.ndarray:
    """Indices of the images to keep: all, the first ``n``, or ``n`` drawn at random with ``seed``."""
    order = np.arange(total) if seed is None else np.random.default_rng(seed).permutation(total)
    return np.sort(order[:n]) if n is not None else order


# --------------------------------------------------------------------------------------------- ImageNet


def _read_synsets(paths: list[Path]) -> list[str] | None:
    for path in paths:
        if path.is_file():
            return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    return None


def _read_label_file(path: Path) -> dict[str, str]:
    """``<file name> <label>`` per line -> {file stem: label text}."""
    labels = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"{path}, line {number}: expected '<file name> <class index or wnid>', got {line!r}")
        label = parts[1]
        if not (WNID_PATTERN.match(label) or (label.isdigit() and int(label) < 1000)):
            raise ValueError(f"{path}, line {number}: the label {label!r} is neither a class index in [0, 1000) nor "
                             f"a wnid like n01440764")
        labels[Path(parts[0]).stem] = label
    return labels


def read_ilsvrc_xml(path: Path) -> tuple[tuple[int, int], list[tuple[str, list[int]]]]:
    """An ILSVRC annotation -> ((width, height), [(wnid, [xmin, ymin, xmax, ymax]), ...]) with inclusive maxima."""
    root = ElementTree.parse(path).getroot()
    size = (int(root.findtext("size/width")), int(root.findtext("size/height")))
    objects = []
    for obj in root.iter("object"):
        box = [int(float(obj.findtext(f"bndbox/{key}"))) for key in ("xmin", "ymin", "xmax", "ymax")]
        objects.append((obj.findtext("name").strip(), box))
    return size, objects


def transform_box(box, image_size: tuple[int, int], resize: int, crop: int | None) -> list[int]:
    """Map an inclusive (xmin, ymin, xmax, ymax) box of a (width, height) image through "resize the short side
    to ``resize``, centre-crop ``crop``" to (x0, y0, x1, y1) output pixels with x1/y1 exclusive."""
    width, height = image_size
    scale = resize / min(width, height)
    new_w, new_h = (resize, int(resize * height / width)) if width <= height else (int(resize * width / height), resize)
    left = int(round((new_w - crop) / 2.0)) if crop else 0
    top = int(round((new_h - crop) / 2.0)) if crop else 0
    limit_w, limit_h = (crop, crop) if crop else (new_w, new_h)
    x0, y0, x1, y1 = box[0] * scale - left, box[1] * scale - top, (box[2] + 1) * scale - left, (box[3] + 1) * scale - top
    clip = lambda v, hi: int(min(max(v, 0), hi))
    return [clip(np.floor(x0), limit_w), clip(np.floor(y0), limit_h), clip(np.ceil(x1), limit_w), clip(np.ceil(y1), limit_h)]


IMAGENET_LAYOUT = """expected an ILSVRC2012 validation folder, either
  {root}/n01440764/ILSVRC2012_val_00000293.JPEG ...   (one sub-folder per wnid), or
  {root}/ILSVRC2012_val_00000001.JPEG ... with {root}/val_labels.txt ("<file name> <class index or wnid>" per line)
  or the bounding-box XMLs (ILSVRC2012_bbox_val_v3) in {bbox} naming each image's class.
Class indices follow the sorted-wnid order; give {synsets} (1000 wnids in order) unless all 1000 wnids occur."""


def load_imagenet_val(root: str | Path | None = None, annotations_dir: str | Path | None = None,
                      synset_file: str | Path | None = None, n: int | None = None, seed: int | None = None,
                      size: int = 224, resize: int = 256) -> ImageFolderSplit:
    """The ImageNet (ILSVRC2012) validation set as a lazy split: resize the short side to ``resize``, centre-crop
    ``size``. ``n`` keeps the first ``n`` images (or ``n`` drawn at random when ``seed`` is given). Boxes come from
    the ILSVRC XMLs in ``annotations_dir`` when present: per image, the box enclosing all objects of its class.
    Defaults: ``data/external/imagenet/{val,bbox,synset_words.txt}``."""
    base = external_dir() / "imagenet"
    root = Path(root) if root is not None else base / "val"
    annotations_dir = Path(annotations_dir) if annotations_dir is not None else base / "bbox"
    layout = IMAGENET_LAYOUT.format(root=root, bbox=annotations_dir, synsets=base / SYNSET_FILES[0])
    if not root.is_dir():
        raise MissingDataError(f"ImageNet validation folder {root} not found; {layout}")
    xml_files = {p.stem: p for p in annotations_dir.rglob("*.xml")} if annotations_dir.is_dir() else {}

    class_folders = sorted(p for p in root.iterdir() if p.is_dir() and WNID_PATTERN.match(p.name))
    if class_folders:
        files, raw_labels = [], []
        for folder in class_folders:
            images = _image_files(folder)
            files += images
            raw_labels += [folder.name] * len(images)
    else:
        files = _image_files(root)
        label_file = next((root / name for name in LABEL_FILES if (root / name).is_file()), None)
        if label_file is not None:
            by_stem = _read_label_file(label_file)
        elif xml_files:
            by_stem = {stem: read_ilsvrc_xml(path)[1][0][0] for stem, path in xml_files.items()}
        else:
            raise MissingDataError(f"no labels for the images in {root}; {layout}")
        missing = [f.name for f in files if f.stem not in by_stem]
        if missing:
            raise MissingDataError(f"{len(missing)} images have no label (e.g. {missing[0]}); {layout}")
        raw_labels = [by_stem[f.stem] for f in files]
    if not files:
        raise MissingDataError(f"no images (.JPEG/.jpg/.png) in {root}; {layout}")

    wnids = _imagenet_wnids(raw_labels, synset_file, root, base, layout)
    keep = _pick(n, seed, len(files))
    files, raw_labels = [files[i] for i in keep], [raw_labels[i] for i in keep]
    labels = [int(label) if label.isdigit() else wnids.index(label) for label in raw_labels]
    boxes = None
    if xml_files:
        boxes = torch.tensor([_class_box(xml_files.get(f.stem), wnids[label] if wnids else None, resize, size)
                              for f, label in zip(files, labels)], dtype=torch.long)
    return ImageFolderSplit(files, torch.tensor(labels, dtype=torch.long), resize, size, boxes=boxes,
                            classes=imagenet_classes())


def _imagenet_wnids(raw_labels, synset_file, root, base, layout) -> list[str]:
    """The wnid of every class index (empty when all labels are already indices)."""
    if all(label.isdigit() for label in raw_labels):
        return []
    candidates = [Path(synset_file)] if synset_file else [d / name for d in (root, root.parent, base)
                                                          for name in SYNSET_FILES]
    wnids = _read_synsets(candidates)
    if wnids is None:
        wnids = sorted(set(raw_labels))
        if len(wnids) != 1000:
            raise MissingDataError(f"only {len(wnids)} of the 1000 wnids occur, so class indices are unknown; "
                                   f"put a synset list at {candidates[0]}; {layout}")
    unknown = sorted(set(label for label in raw_labels if not label.isdigit()) - set(wnids))
    if unknown:
        raise ValueError(f"wnids {unknown[:3]} are not in the synset list")
    return wnids


def _class_box(xml_path: Path | None, wnid: str | None, resize: int, crop: int) -> list[int]:
    """The box enclosing every object of class ``wnid`` (all objects when unknown); (-1,)*4 without annotation."""
    if xml_path is None:
        return [-1, -1, -1, -1]
    image_size, objects = read_ilsvrc_xml(xml_path)
    boxes = [box for name, box in objects if wnid is None or name == wnid] or [box for _, box in objects]
    enclosing = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
    return transform_box(enclosing, image_size, resize, crop)


# --------------------------------------------------------------------------------------------- chest X-ray


def gax_validation_count(cls: str, pooled: int) -> int:
    """How many of the ``pooled`` (Kaggle train + val) images of class ``cls`` go to validation: the GAX paper's
    fraction, which gives exactly 266 (NORMAL) and 790 (PNEUMONIA) on the full Kaggle folder."""
    paper_val, paper_total = GAX_CHEST_VALIDATION[cls]
    return int(round(pooled * paper_val / paper_total))


def load_chest_xray(root: str | Path | None = None, size: int = 256, seed: int = 0) -> ImageDataset:
    """The Kaggle chest X-ray pneumonia set with the GAX paper's re-split: Kaggle's train and val are pooled per
    class and ``seed`` draws 266 healthy and 790 pneumonia images for validation (the rest, 1083 and 3093, train);
    Kaggle's test (234/390) stays the test set. For folders of other sizes the same validation fractions apply.
    Images are resized to ``size`` x ``size`` and the grayscale stacked to 3 channels. Labels: 0 NORMAL, 1 PNEUMONIA.
    Default root: ``data/external/chest_xray``."""
    root = Path(root) if root is not None else external_dir() / "chest_xray"
    layout = (f"expected the Kaggle 'chest_xray' folder at {root} with sub-folders train/, val/ and test/, each "
              f"holding NORMAL/ and PNEUMONIA/ image folders")
    folders = {(split, cls): root / split / cls for split in ("train", "val", "test") for cls in CHEST_CLASSES}
    missing = [str(path) for path in folders.values() if not path.is_dir()]
    if missing:
        raise MissingDataError(f"missing {missing[0]}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
                               + f"; {layout}")
    rng = np.random.default_rng(seed)
    parts = {"train": ([], []), "val": ([], []), "test": ([], [])}
    for label, cls in enumerate(CHEST_CLASSES):
        pooled = _image_files(folders["train", cls]) + _image_files(folders["val", cls])
        n_val = gax_validation_count(cls, len(pooled))
        order = rng.permutation(len(pooled))
        for split, chosen in (("val", np.sort(order[:n_val])), ("train", np.sort(order[n_val:]))):
            parts[split][0].extend(pooled[i] for i in chosen)
            parts[split][1].extend([label] * len(chosen))
        test_files = _image_files(folders["test", cls])
        parts["test"][0].extend(test_files)
        parts["test"][1].extend([label] * len(test_files))
    splits = {name: ImageFolderSplit(files, torch.tensor(labels, dtype=torch.long), (size, size), grayscale=True,
                                     classes=CHEST_CLASSES) for name, (files, labels) in parts.items()}
    counts = {name: {cls: int((split.y == k).sum()) for k, cls in enumerate(CHEST_CLASSES)}
              for name, split in splits.items()}
    return ImageDataset("chest_xray", splits["train"], splits["val"], splits["test"], CHEST_CLASSES,
                        info={"root": str(root), "size": size, "seed": seed, "counts": counts})


# ------------------------------------------------------------------------------------------------ MNIST (IDX)

MNIST_FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
               "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
IDX_MAGIC = {3: 2051, 1: 2049}  # IDX magic numbers of unsigned-byte images (3 dimensions) and labels (1)
MNIST_VALIDATION = 5000  # training digits held out (seeded) for validation and temperature scaling


def read_idx(path: Path, dimensions: int) -> torch.Tensor:
    """An IDX file of unsigned bytes (LeCun's MNIST format, gzip or not) as a uint8 tensor; a wrong header is a
    clear error naming the file."""
    import gzip

    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic != IDX_MAGIC[dimensions]:
        raise ValueError(f"{path} is not an IDX file of {dimensions}-dimensional unsigned bytes (magic number "
                         f"{magic}, expected {IDX_MAGIC[dimensions]}): is it the right MNIST file, fully downloaded?")
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dimensions)]
    body = raw[4 + 4 * dimensions:]
    if len(body) != int(np.prod(shape)):
        raise ValueError(f"{path} declares shape {shape} but holds {len(body)} bytes: the file is truncated")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(shape)


def mnist_idx_files(root: Path) -> dict[str, Path]:
    """The four MNIST files in ``root`` (each as ``<name>`` or ``<name>.gz``); missing ones are a MissingDataError
    that names them and the folder."""
    found, missing = {}, []
    for key, name in MNIST_FILES.items():
        candidates = [root / name, root / f"{name}.gz"]
        present = [path for path in candidates if path.is_file()]
        if present:
            found[key] = present[0]
        else:
            missing.append(name)
    if missing:
        raise MissingDataError(f"MNIST: {', '.join(missing)} (or .gz) not found in {root}; put the four IDX files "
                               f"of yann.lecun.com/exdb/mnist ({', '.join(MNIST_FILES.values())}, gzip or not) there, "
                               "or pass root= (torchvision's MNIST/raw/ folder has them)")
    return found


def load_mnist_idx(root: str | Path | None = None, seed: int = 0) -> ImageDataset:
    """The full MNIST from its IDX files (default root ``data/external/mnist``): the 60,000 training digits minus
    :data:`MNIST_VALIDATION` drawn with ``seed`` for validation, and the 10,000 test digits; pixels in [0, 1]."""
    root = Path(root) if root is not None else external_dir() / "mnist"
    files = mnist_idx_files(root)
    arrays = {key: read_idx(path, 3 if key.endswith("images") else 1) for key, path in files.items()}
    for part in ("train", "test"):
        if len(arrays[f"{part}_images"]) != len(arrays[f"{part}_labels"]):
            raise ValueError(f"MNIST {part}: {len(arrays[f'{part}_images'])} images but "
                             f"{len(arrays[f'{part}_labels'])} labels in {root}")
    x_train = arrays["train_images"].float().div(255.0).unsqueeze(1)
    y_train = arrays["train_labels"].long()
    n_val = min(MNIST_VALIDATION, len(y_train) // 10)
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(y_train)))
    val, train = order[:n_val].sort().values, order[n_val:].sort().values
    test = ImageSplit(arrays["test_images"].float().div(255.0).unsqueeze(1), arrays["test_labels"].long())
    sizes = {key: path.stat().st_size for key, path in files.items()}  # in the model cache key: other files retrain
    return ImageDataset("mnist_full", ImageSplit(x_train[train], y_train[train]), ImageSplit(x_train[val], y_train[val]),
                        test, classes=MNIST_CLASSES, info={"root": str(root), "seed": seed,
                                                                          "file_sizes": sizes})
