"""User-supplied data and weights, on tiny fake folders and a fake state dict made in tmp."""
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from xai_nb_utils.data import external
from xai_nb_utils.models import pretrained
from xai_nb_utils.models.networks import get_layer
from xai_nb_utils.core.paths import MissingDataError

WNIDS = ["n00000002", "n00000001", "n00000003"]  # deliberately not sorted: indices follow the synset file


def _half_black_half_white(path, width=20, height=10):
    """Left half black, right half white: after "resize short side 10, centre-crop 8" columns 0-3 are black."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, width // 2:] = 255
    Image.fromarray(pixels).save(path)


def _xml(path, stem, wnid, box, size=(20, 10)):
    objects = f"<object><name>{wnid}</name><bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin>" \
              f"<xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object>"
    path.write_text(f"<annotation><filename>{stem}</filename><size><width>{size[0]}</width>"
                    f"<height>{size[1]}</height><depth>3</depth></size>{objects}</annotation>")


@pytest.fixture
def imagenet_folders(tmp_path):
    """val/<wnid>/*.png, a flat copy with val_labels.txt, bbox/*.xml and synset_words.txt."""
    classed, flat, bbox = tmp_path / "val", tmp_path / "flat", tmp_path / "bbox"
    flat.mkdir()
    bbox.mkdir()
    lines = []
    for k, wnid in enumerate(["n00000001", "n00000002", "n00000003"]):
        (classed / wnid).mkdir(parents=True)
        for j in range(2):
            stem = f"ILSVRC2012_val_{2 * k + j + 1:08d}"
            _half_black_half_white(classed / wnid / f"{stem}.png")
            _half_black_half_white(flat / f"{stem}.png")
            _xml(bbox / f"{stem}.xml", stem, wnid, (12, 2, 19, 7))
            lines.append(f"{stem}.JPEG {wnid}")
    (flat / "val_labels.txt").write_text("\n".join(lines))
    (tmp_path / "synset_words.txt").write_text("\n".join(f"{w} class {w}" for w in WNIDS))
    return tmp_path


def test_imagenet_class_folders_labels_pixels_and_boxes(imagenet_folders):
    split = external.load_imagenet_val(imagenet_folders / "val", imagenet_folders / "bbox", size=8, resize=10)
    assert len(split) == 6
    # files sorted by wnid folder: n00000001 x2, n00000002 x2, n00000003 x2 -> indices in synset order 1, 0, 2
    assert split.y.tolist() == [1, 1, 0, 0, 2, 2]
    images = split.head(6)
    assert images.x.shape == (6, 3, 8, 8)
    assert torch.all(images.x[:, :, :, :4] == 0) and torch.all(images.x[:, :, :, 4:] == 1)
    # box (12,2)-(19,7) inclusive = [12,20)x[2,8); no scaling, crop offsets left 6, top 1 -> [6,14)x[1,7),
    # clipped to the 8x8 crop: (6, 1, 8, 7), i.e. 2 x 6 pixels
    assert split.boxes.tolist() == [[6, 1, 8, 7]] * 6
    assert split.box_masks().sum(dim=(1, 2, 3)).tolist() == [12] * 6
    assert split.classes[:2] == ["tench", "goldfish"]


def test_imagenet_flat_folder_with_label_file_or_xml_labels(imagenet_folders):
    from_file = external.load_imagenet_val(imagenet_folders / "flat", annotations_dir=imagenet_folders / "none",
                                           synset_file=imagenet_folders / "synset_words.txt", size=8, resize=10)
    assert from_file.y.tolist() == [1, 1, 0, 0, 2, 2] and from_file.boxes is None
    (imagenet_folders / "flat" / "val_labels.txt").unlink()
    from_xml = external.load_imagenet_val(imagenet_folders / "flat", imagenet_folders / "bbox",
                                          synset_file=imagenet_folders / "synset_words.txt", size=8, resize=10)
    assert from_xml.y.tolist() == [1, 1, 0, 0, 2, 2] and from_xml.boxes is not None


def test_imagenet_first_n_or_seeded_random_n(imagenet_folders):
    load = lambda **kw: external.load_imagenet_val(imagenet_folders / "val", size=8, resize=10, **kw)
    assert [f.name for f in load(n=2).files] == ["ILSVRC2012_val_00000001.png", "ILSVRC2012_val_00000002.png"]
    drawn = [f.name for f in load(n=3, seed=1).files]
    assert drawn == [f.name for f in load(n=3, seed=1).files] and len(set(drawn)) == 3
    image, label = load(n=1)[0]
    assert image.shape == (3, 8, 8) and int(label) == 1


def test_imagenet_missing_or_unlabelled_folders_say_what_is_expected(tmp_path, imagenet_folders):
    with pytest.raises(MissingDataError, match="ILSVRC2012 validation folder"):
        external.load_imagenet_val(tmp_path / "nowhere")
    (imagenet_folders / "flat" / "val_labels.txt").unlink()
    with pytest.raises(MissingDataError, match="val_labels.txt"):
        external.load_imagenet_val(imagenet_folders / "flat", annotations_dir=tmp_path / "nowhere")
    (imagenet_folders / "synset_words.txt").unlink()  # 3 wnids without synset list: indices unknown
    with pytest.raises(MissingDataError, match="synset"):
        external.load_imagenet_val(imagenet_folders / "val")
    assert issubclass(MissingDataError, FileNotFoundError)


def test_box_transform_by_hand():
    # 300x200 image, short side 200 -> 100 (scale 0.5) gives 150x100, centre crop 100 -> left offset 25
    assert external.transform_box([100, 50, 199, 149], (300, 200), 100, 100) == [25, 25, 75, 75]
    assert external.transform_box([0, 0, 299, 199], (300, 200), 100, 100) == [0, 0, 100, 100]


# --------------------------------------------------------------------------------------------- chest X-ray


@pytest.fixture
def chest_folder(tmp_path):
    counts = {("train", "NORMAL"): 20, ("val", "NORMAL"): 2, ("test", "NORMAL"): 3,
              ("train", "PNEUMONIA"): 30, ("val", "PNEUMONIA"): 2, ("test", "PNEUMONIA"): 4}
    rng = np.random.default_rng(0)
    for (split, cls), count in counts.items():
        folder = tmp_path / "chest_xray" / split / cls
        folder.mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (12, 16), dtype=np.uint8)).save(folder / f"{cls}-{i}.jpeg")
    return tmp_path / "chest_xray"


def test_gax_resplit_sizes_match_the_paper_on_the_full_kaggle_folder():
    # Kaggle: train+val = 1341+8 healthy, 3875+8 pneumonia -> 266/1083 and 790/3093
    assert external.gax_validation_count("NORMAL", 1341 + 8) == 266
    assert external.gax_validation_count("PNEUMONIA", 3875 + 8) == 790


def test_chest_xray_resplit_grayscale_and_determinism(chest_folder):
    dataset = external.load_chest_xray(chest_folder, size=8, seed=3)
    # 22 pooled healthy -> round(22*266/1349) = 4 val; 32 pooled pneumonia -> round(32*790/3883) = 7 val
    assert dataset.info["counts"] == {"train": {"NORMAL": 18, "PNEUMONIA": 25}, "val": {"NORMAL": 4, "PNEUMONIA": 7},
                                      "test": {"NORMAL": 3, "PNEUMONIA": 4}}
    train, val = set(dataset.train.files), set(dataset.val.files)
    assert not train & val and len(train | val) == 54
    assert all("test" in str(f) for f in dataset.test.files)
    batch = dataset.val.head(3)
    assert batch.x.shape == (3, 3, 8, 8)
    assert torch.equal(batch.x[:, 0], batch.x[:, 1]) and torch.equal(batch.x[:, 1], batch.x[:, 2])
    assert 0 <= batch.x.min() and batch.x.max() <= 1
    again = external.load_chest_xray(chest_folder, size=8, seed=3)
    assert again.val.files == dataset.val.files
    assert external.load_chest_xray(chest_folder, size=8, seed=4).val.files != dataset.val.files
    loader = torch.utils.data.DataLoader(dataset.test, batch_size=4)
    assert [len(y) for _, y in loader] == [4, 3]


def test_chest_xray_missing_folder_names_the_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_DATA_DIR", str(tmp_path))
    with pytest.raises(MissingDataError, match=r"external/chest_xray.*NORMAL/ and PNEUMONIA/"):
        external.load_chest_xray()


# --------------------------------------------------------------------------------------------- pretrained models


@pytest.fixture(scope="module")
def resnet34_state(tmp_path_factory):
    torch.manual_seed(0)
    net = torchvision.models.resnet34(weights=None)
    path = tmp_path_factory.mktemp("weights") / "random-resnet34.pth"
    torch.save(net.state_dict(), path)
    return path, net.eval()


def test_pretrained_model_loads_local_weights_and_normalises_inside(resnet34_state):
    path, reference = resnet34_state
    model = pretrained.pretrained_model("resnet34", weights_path=path)
    assert not model.training
    assert torch.equal(model.net.fc.weight, reference.fc.weight)
    x = torch.rand(2, 3, 64, 64)
    mean = torch.tensor(external.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(external.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        # the loaded model is channels_last (core.evaluation.fast_layout): the same sums in another order
        assert torch.allclose(model(x), reference((x - mean) / std), atol=1e-4, rtol=1e-5)
    assert all(not m.inplace for m in model.modules() if isinstance(m, torch.nn.ReLU))
    assert get_layer(model) is model.net.layer4


def test_pretrained_model_searches_data_external_then_torch_hub(resnet34_state, tmp_path, monkeypatch):
    path, _ = resnet34_state
    monkeypatch.setenv("XAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(MissingDataError, match=r"resnet34-b627a593\.pth.*external/weights"):
        pretrained.pretrained_model("resnet34")
    hub_file = tmp_path / "torch" / "hub" / "checkpoints" / "resnet34-b627a593.pth"
    hub_file.parent.mkdir(parents=True)
    hub_file.symlink_to(path)
    assert isinstance(pretrained.pretrained_model("resnet34"), pretrained.PretrainedClassifier)


def test_pretrained_model_rejects_wrong_weights_and_unknown_architectures(resnet34_state):
    path, _ = resnet34_state
    with pytest.raises(ValueError, match="does not hold resnet50 weights"):
        pretrained.pretrained_model("resnet50", weights_path=path)
    with pytest.raises(ValueError, match="arch"):
        pretrained.pretrained_model("resnet18", weights_path=path)


@pytest.mark.parametrize("arch", ["alexnet", "vgg16", "vgg19", "resnet50"])
def test_every_architecture_names_an_existing_cam_layer(arch):
    spec = pretrained.ARCHITECTURES[arch]
    with torch.device("meta"):  # structure only, no parameter initialisation
        model = pretrained.PretrainedClassifier(spec.build(weights=None), spec.cam_layer_name, arch)
    assert get_layer(model) is not None
    assert pretrained.weights_filename(arch).endswith(".pth")
